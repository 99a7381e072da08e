"""The customer create and edit pages, and the customers settings page (required fields,
default delete mode, titles).

Views read the request, call one service, and render: the saves and their rules are
``services.editing`` and ``services.settings``; a service's errors come back next to the fields,
and a save refused because someone else saved first shows what they changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from comptoir.core.actors import actor_from_request
from comptoir.customers.forms import (
    AddressFormSet,
    CustomerForm,
    CustomerSettingsForm,
    TitleForm,
    service_errors_apply,
    title_forms,
)
from comptoir.customers.models import Customer, Title
from comptoir.customers.services import (
    ConcurrentUpdateError,
    customer_create_full,
    customer_edit,
    customer_settings_get,
    customer_settings_update,
    delete_mode_default,
    title_create,
    title_delete,
    title_update,
)
from comptoir.groups.selectors import group_default

TITLES_PER_PAGE = 50


def customer_url(pk: int) -> str:
    """The customer's page: the detail page, or the edit page while there is none."""
    try:
        return reverse("customers:detail", args=[pk])
    except NoReverseMatch:
        return reverse("customers:edit", args=[pk])


def _duplicate_url(form: CustomerForm) -> str:
    """The existing customer's page when the e-mail is taken, for the link under the field."""
    for error in form.errors.as_data().get("email", []):
        if error.code == "duplicate" and error.params and "customer_id" in error.params:
            return customer_url(error.params["customer_id"])
    return ""


def _service_arguments(form: CustomerForm, formset) -> dict:
    data = form.cleaned_data
    return {
        "profile": form.profile_values(),
        "groups": list(data["groups"]),
        "default_group": data["default_group"],
        "addresses": [address for _form, address in formset.rows()],
        "tags": form.tag_names(),
        "consents": form.consent_values(),
        "confirmed_consents": form.confirmed_consents(),
        "note": data["note"],
    }


def _render_form(request, *, form, formset, customer=None, conflict=None, status=200):
    return render(
        request,
        "customers/form.html",
        {
            "form": form,
            "formset": formset,
            "customer": customer,
            "conflict": conflict,
            "duplicate_url": _duplicate_url(form) if form.is_bound else "",
            "cancel_url": customer_url(customer.pk) if customer else reverse("customers:list"),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def customer_create_view(request: HttpRequest) -> HttpResponse:
    """New customer: profile, addresses, groups, tags, consents; the settings' required
    fields apply."""
    settings = customer_settings_get()
    data = request.POST if request.method == "POST" else None
    form = CustomerForm(data, settings=settings, default_group=group_default())
    formset = AddressFormSet(data)
    if data is None:
        formset.extra = 1  # a blank address to fill in; left blank, it is ignored
        return _render_form(request, form=form, formset=formset)
    if form.is_valid() & formset.is_valid():  # both, so that every error shows at once
        arguments = _service_arguments(form, formset)
        try:
            customer = customer_create_full(actor=actor_from_request(request), **arguments)
        except ValidationError as error:
            service_errors_apply(error, form=form, formset=formset, address_rows=formset.rows())
        else:
            messages.success(
                request, _("Customer %(name)s created.") % {"name": customer.full_name}
            )
            return redirect(customer_url(customer.pk))
    return _render_form(request, form=form, formset=formset)


@require_http_methods(["GET", "POST"])
def customer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a customer. The form carries the version it was opened at: a save after someone
    else's is refused and shows their changes beside the user's input, which is kept."""
    customer = get_object_or_404(Customer, pk=pk)
    if customer.anonymised_at is not None:
        messages.warning(request, _("An anonymised customer cannot be edited."))
        return redirect("customers:list")
    data = request.POST if request.method == "POST" else None
    form = CustomerForm(data, customer=customer)
    formset = AddressFormSet(data, addresses=list(customer.addresses.order_by("id")))
    if data is None or not (form.is_valid() & formset.is_valid()):
        return _render_form(request, form=form, formset=formset, customer=customer)
    rows = formset.rows()
    try:
        customer_edit(
            customer=customer,
            actor=actor_from_request(request),
            expected_version=form.cleaned_data["version"],
            **_service_arguments(form, formset),
        )
    except ConcurrentUpdateError as error:
        return _render_conflict(request, customer_pk=pk, stale_form=form, error=error)
    except ValidationError as error:
        service_errors_apply(error, form=form, formset=formset, address_rows=rows)
        return _render_form(request, form=form, formset=formset, customer=customer)
    messages.success(request, _("Changes to %(name)s saved.") % {"name": customer.full_name})
    return redirect(customer_url(pk))


def _render_conflict(request, *, customer_pk: int, stale_form, error: ConcurrentUpdateError):
    """The form again with the user's input, now at the current version (so saving again
    replaces the other changes knowingly), and the table of what changed meanwhile."""
    conflict = {"message": error.messages[0], "rows": stale_form.conflict_rows(error.changed)}
    fresh = Customer.objects.get(pk=customer_pk)
    data = request.POST.copy()
    data["version"] = str(fresh.version)
    form = CustomerForm(data, customer=fresh)
    formset = AddressFormSet(data, addresses=list(fresh.addresses.order_by("id")))
    form.is_valid(), formset.is_valid()  # so that what no longer fits shows next to its field
    return _render_form(
        request, form=form, formset=formset, customer=fresh, conflict=conflict, status=409
    )


# -------------------------------------------------------------------------------------------------
# Settings
# -------------------------------------------------------------------------------------------------


def _titles_page(request: HttpRequest):
    titles = Title.objects.annotate(in_use=Exists(Customer.objects.filter(title=OuterRef("pk"))))
    return Paginator(titles.order_by("position", "id"), TITLES_PER_PAGE).get_page(
        request.GET.get("page")
    )


def _render_settings(
    request: HttpRequest,
    *,
    settings_form: CustomerSettingsForm | None = None,
    new_title_form: TitleForm | None = None,
    bound_title_form: tuple[int, TitleForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    if settings_form is None:
        current = customer_settings_get()
        settings_form = CustomerSettingsForm(
            initial={
                "required_fields": current.required_fields,
                "delete_mode": current.delete_mode or delete_mode_default(),
            }
        )
    page = _titles_page(request)
    rows = title_forms(page.object_list)
    if bound_title_form is not None:
        rows = [
            (title, bound_title_form[1] if title.pk == bound_title_form[0] else title_form)
            for title, title_form in rows
        ]
    return render(
        request,
        "customers/settings.html",
        {
            "settings_form": settings_form,
            "new_title_form": new_title_form or TitleForm(prefix="new-title"),
            "title_rows": rows,
            "titles_page": page,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def customers_settings_view(request: HttpRequest) -> HttpResponse:
    """Which optional fields are required on creation, the default delete mode, the titles."""
    if request.method == "GET":
        return _render_settings(request)
    form = CustomerSettingsForm(request.POST)
    if form.is_valid():
        try:
            customer_settings_update(
                actor=actor_from_request(request),
                required_fields=form.cleaned_data["required_fields"],
                delete_mode=form.cleaned_data["delete_mode"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Customer settings saved."))
            return redirect("customers:settings")
    return _render_settings(request, settings_form=form)


def _title_values(form: TitleForm) -> dict:
    return {
        "name_fr": form.cleaned_data["name_fr"],
        "name_en": form.cleaned_data["name_en"],
        "gender": form.cleaned_data["gender"],
    }


@require_POST
def title_create_view(request: HttpRequest) -> HttpResponse:
    form = TitleForm(request.POST, prefix="new-title")
    if form.is_valid():
        try:
            title = title_create(
                actor=actor_from_request(request),
                position=form.cleaned_data["position"],
                **_title_values(form),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Title “%(title)s” added.") % {"title": title.name})
            return redirect("customers:settings")
    return _render_settings(request, new_title_form=form)


@require_POST
def title_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    title = get_object_or_404(Title, pk=pk)
    form = TitleForm(request.POST, prefix=f"title-{pk}", form_id=f"title-form-{pk}")
    if form.is_valid():
        position = form.cleaned_data["position"]
        try:
            title = title_update(
                title=title,
                actor=actor_from_request(request),
                position=title.position if position is None else position,
                **_title_values(form),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Title “%(title)s” saved.") % {"title": title.name})
            return redirect("customers:settings")
    return _render_settings(request, bound_title_form=(pk, form))


@require_POST
def title_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    title = get_object_or_404(Title, pk=pk)
    name = title.name
    try:
        title_delete(title=title, actor=actor_from_request(request))
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("Title “%(title)s” deleted.") % {"title": name})
    return redirect("customers:settings")
