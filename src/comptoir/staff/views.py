"""Staff sign-in and sign-out pages, and the API tokens screens: the list, create (the secret is
shown on the answer to that one POST and kept nowhere), revoke."""

from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from comptoir.core.actors import actor_from_request
from comptoir.staff.forms import ApiTokenForm, StaffLoginForm
from comptoir.staff.models import ApiToken
from comptoir.staff.selectors import api_token_get, api_token_list
from comptoir.staff.services import api_token_create, api_token_revoke


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """The one public page of the back-office; only staff accounts get past it."""

    template_name = "staff/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only, as Django requires) and say so on the login page."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # Added after the session is flushed, so the message survives into the next page.
        messages.success(request, _("You have been logged out."))
        return response


def _form_errors_add(form: forms.Form, error: ValidationError) -> None:
    """A service's errors onto the form: next to their field, else at the top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _visible_token(request: HttpRequest, pk: int) -> ApiToken:
    token = api_token_get(user=request.user, pk=pk)
    if token is None:
        raise Http404
    return token


@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    """The staff member's tokens (every one for a superuser), with when each was last used."""
    return render(
        request,
        "staff/tokens.html",
        {"tokens": api_token_list(user=request.user), "all_staff": request.user.is_superuser},
    )


# The answer to the POST holds the secret: no cache along the way may keep it.
@never_cache
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            token, secret = api_token_create(actor=actor_from_request(request), **form.cleaned_data)
        except ValidationError as error:
            _form_errors_add(form, error)
        else:
            # Rendered here rather than after a redirect: a redirect would have to carry the
            # secret through the session, that is, into the database.
            return render(request, "staff/token_created.html", {"token": token, "secret": secret})
    return render(request, "staff/token_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what revoking does. POST: revoke it."""
    token = _visible_token(request, pk)
    if request.method == "POST":
        api_token_revoke(token=token, actor=actor_from_request(request))
        messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
        return redirect("staff:tokens")
    return render(request, "staff/token_revoke.html", {"token": token})
