"""The back-office screens of the WooCommerce key pairs: the list (with each pair's last
access), create (the key and the secret shown once), revoke with its confirmation.

Staff only (the staff login middleware); a staff member sees their own pairs, a superuser all.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from comptoir.core.actors import actor_from_request
from comptoir.woocommerce.forms import ConsumerKeyForm
from comptoir.woocommerce.models import ConsumerKey
from comptoir.woocommerce.selectors import consumer_key_get, consumer_keys_for
from comptoir.woocommerce.services import consumer_key_create, consumer_key_revoke


def _form_errors_add(form: forms.Form, error: ValidationError) -> None:
    """A service's errors onto the form: next to their field, else at the top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _visible_key(request: HttpRequest, pk: int) -> ConsumerKey:
    key = consumer_key_get(user=request.user, pk=pk)
    if key is None:
        raise Http404
    return key


def _store_url(request: HttpRequest) -> str:
    """The address a WooCommerce client is given as the store URL."""
    return request.build_absolute_uri("/").rstrip("/")


@require_GET
def key_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "woocommerce/keys.html",
        {
            "keys": consumer_keys_for(user=request.user),
            "all_staff": request.user.is_superuser,
            "store_url": _store_url(request),
            "customers_url": request.build_absolute_uri(reverse("woocommerce-api:customers")),
        },
    )


# The answer to the POST holds the secret: no cache along the way may keep it.
@never_cache
@require_http_methods(["GET", "POST"])
def key_create(request: HttpRequest) -> HttpResponse:
    form = ConsumerKeyForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            key, consumer_key, consumer_secret = consumer_key_create(
                actor=actor_from_request(request), **form.cleaned_data
            )
        except ValidationError as error:
            _form_errors_add(form, error)
        else:
            # Rendered here rather than after a redirect, which would have to carry the secret
            # through the session, that is, into the database.
            return render(
                request,
                "woocommerce/key_created.html",
                {
                    "key": key,
                    "consumer_key": consumer_key,
                    "consumer_secret": consumer_secret,
                    "store_url": _store_url(request),
                },
            )
    return render(request, "woocommerce/key_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what revoking does. POST: revoke it."""
    key = _visible_key(request, pk)
    if request.method == "POST":
        consumer_key_revoke(key=key, actor=actor_from_request(request))
        messages.success(
            request, _("WooCommerce key “%(name)s” revoked.") % {"name": key.description}
        )
        return redirect("woocommerce:keys")
    return render(request, "woocommerce/key_revoke.html", {"key": key})
