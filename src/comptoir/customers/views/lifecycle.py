"""The confirmation screens of one customer's lifecycle actions: delete (three modes), block
and unblock, enable or disable the login, convert a guest, merge a duplicate, export the
personal data.

GET shows what the action will do; POST does it through one service and goes back to the
customer's page (the list, when the customer is gone). Refusals and bad input come back as a
message or a form error on the same screen, never an error page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from comptoir.core.actors import actor_from_request
from comptoir.customers.forms.lifecycle import (
    BlockForm,
    DeleteForm,
    LoginForm,
    MergeForm,
    MergeSearchForm,
)
from comptoir.customers.models import Customer, DeleteMode
from comptoir.customers.selectors import (
    customer_guests_to_fold,
    customer_merge_candidates,
    customer_merge_preview,
)
from comptoir.customers.services import (
    customer_block,
    customer_delete,
    customer_enabled_set,
    customer_guest_convert,
    customer_merge,
    customer_personal_data_export,
    customer_unblock,
    delete_mode_default,
)

MERGE_CANDIDATES_PER_PAGE = 20


def _customer(pk: int) -> Customer:
    return get_object_or_404(Customer.objects.select_related("title", "default_group"), pk=pk)


def _detail_url(customer_id: int) -> str:
    try:
        return reverse("customers:detail", args=[customer_id])
    except NoReverseMatch:  # the detail page is another screen family's; never a 500 for it
        return reverse("customers:list")


def _closed(customer: Customer) -> str:
    """Why an action that needs a live account cannot be done on this one ('' if it can)."""
    if customer.anonymised_at:
        return _("This customer is anonymised: there is no account left to act on.")
    if customer.deleted_at:
        return _("This customer is deleted: there is no account left to act on.")
    return ""


def _errors_add(form, error: ValidationError) -> None:
    """A service's refusal, next to its field when the form has it, else above the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _render(request, template: str, customer: Customer, **context) -> HttpResponse:
    return render(
        request,
        f"customers/lifecycle/{template}",
        {"customer": customer, "detail_url": _detail_url(customer.pk), **context},
    )


@require_http_methods(["GET", "POST"])
def customer_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Choose one of the three delete modes (the shop's default first) and confirm."""
    customer = _customer(pk)
    form = DeleteForm(
        request.POST if request.method == "POST" else None,
        initial={"mode": delete_mode_default()},
    )
    if request.method == "POST" and form.is_valid():
        mode = form.cleaned_data["mode"]
        try:
            changed = customer_delete(
                customer=customer, mode=mode, actor=actor_from_request(request)
            )
        except ValidationError as error:
            _errors_add(form, error)
        else:
            if not changed:
                messages.info(
                    request, _("Nothing changed: the customer already was in that state.")
                )
            elif mode == DeleteMode.ALLOW_REREGISTRATION:
                messages.success(
                    request,
                    _("Customer #%(id)s deleted. Their orders are kept.") % {"id": customer.pk},
                )
                return redirect("customers:list")
            elif mode == DeleteMode.ANONYMISE:
                messages.success(request, _("Customer #%(id)s anonymised.") % {"id": customer.pk})
            else:
                messages.success(
                    request,
                    _("Customer #%(id)s deleted; their e-mail address stays taken.")
                    % {"id": customer.pk},
                )
            return redirect(_detail_url(customer.pk))
    return _render(
        request,
        "delete.html",
        customer,
        form=form,
        modes=DeleteMode,
        orders_kept=customer.orders_count + customer.invalid_orders_count,
    )


@require_http_methods(["GET", "POST"])
def customer_block_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Block from ordering, with the reason staff will see."""
    customer = _customer(pk)
    closed = _closed(customer)
    form = BlockForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not closed and form.is_valid():
        try:
            customer_block(
                customer=customer,
                reason=form.cleaned_data["reason"],
                actor=actor_from_request(request),
            )
        except ValidationError as error:
            _errors_add(form, error)
        else:
            messages.success(
                request, _("%(customer)s can no longer order.") % {"customer": customer}
            )
            return redirect(_detail_url(customer.pk))
    return _render(request, "block.html", customer, form=form, closed=closed)


@require_http_methods(["GET", "POST"])
def customer_unblock_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(pk)
    closed = _closed(customer)
    problem = ""
    if request.method == "POST" and not closed:
        try:
            customer_unblock(customer=customer, actor=actor_from_request(request))
        except ValidationError as error:
            problem = " ".join(error.messages)
        else:
            messages.success(request, _("%(customer)s can order again.") % {"customer": customer})
            return redirect(_detail_url(customer.pk))
    return _render(request, "unblock.html", customer, closed=closed, problem=problem)


@require_http_methods(["GET", "POST"])
def customer_login_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Enable or disable the customer's storefront login."""
    customer = _customer(pk)
    closed = _closed(customer)
    form = LoginForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not closed and form.is_valid():
        enabled = form.cleaned_data["enabled"]
        changed = customer_enabled_set(
            customer=customer, enabled=enabled, actor=actor_from_request(request)
        )
        if not changed:
            messages.info(request, _("Nothing changed: the login already was in that state."))
        elif enabled:
            messages.success(request, _("%(customer)s can log in again.") % {"customer": customer})
        else:
            messages.success(
                request, _("%(customer)s can no longer log in.") % {"customer": customer}
            )
        return redirect(_detail_url(customer.pk))
    return _render(request, "login.html", customer, form=form, closed=closed)


@require_http_methods(["GET", "POST"])
def customer_convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Turn a guest into a registered customer; shows the guests that will be folded in."""
    customer = _customer(pk)
    problem = _closed(customer)
    existing_id = None
    if request.method == "POST" and not problem:
        try:
            conversion = customer_guest_convert(
                customer=customer, actor=actor_from_request(request)
            )
        except ValidationError as error:
            problem = " ".join(error.messages)
            existing_id = getattr(error, "existing_customer_id", None)
        else:
            merged = len(conversion.merged_guest_ids)
            text = _("%(customer)s is now a registered customer.") % {"customer": customer}
            if merged:
                text += " " + ngettext(
                    "%(count)s other guest with the same e-mail was merged into it.",
                    "%(count)s other guests with the same e-mail were merged into it.",
                    merged,
                ) % {"count": merged}
            text += " " + _("The message with the link to choose a password is in the outbox.")
            messages.success(request, text)
            return redirect(_detail_url(customer.pk))
    guests = list(customer_guests_to_fold(customer=customer)[:50]) if customer.is_guest else []
    return _render(
        request,
        "convert.html",
        customer,
        problem=problem,
        existing_url=_detail_url(existing_id) if existing_id else "",
        guests=guests,
    )


@require_http_methods(["GET", "POST"])
def customer_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge a duplicate into this customer: find it, preview both side by side choosing whose
    value wins per field, confirm."""
    customer = _customer(pk)
    data = request.POST if request.method == "POST" else request.GET
    duplicate_id = data.get("duplicate", "")
    if not duplicate_id.isdigit():
        return _merge_search(request, customer)
    duplicate = (
        Customer.objects.filter(pk=int(duplicate_id))
        .select_related("title", "default_group")
        .first()
    )
    if duplicate is None:
        messages.error(request, _("There is no customer #%(id)s.") % {"id": duplicate_id})
        return redirect(reverse("customers:merge", args=[customer.pk]))
    preview = customer_merge_preview(survivor=customer, duplicate=duplicate)
    form = MergeForm(request.POST if request.method == "POST" else None, preview=preview)
    if request.method == "POST" and preview.possible and form.is_valid():
        try:
            customer_merge(
                survivor=customer,
                duplicate=duplicate,
                choices=form.choices,
                duplicate_version=form.cleaned_data["duplicate_version"],
                survivor_version=form.cleaned_data["survivor_version"],
                actor=actor_from_request(request),
            )
        except ValidationError as error:
            _errors_add(form, error)
        else:
            messages.success(
                request,
                _("Customer #%(duplicate)s was merged into %(customer)s.")
                % {"duplicate": duplicate.pk, "customer": customer},
            )
            return redirect(_detail_url(customer.pk))
    return _render(request, "merge_preview.html", customer, preview=preview, form=form)


def _merge_search(request: HttpRequest, customer: Customer) -> HttpResponse:
    form = MergeSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    paginator = Paginator(
        customer_merge_candidates(customer=customer, query=query), MERGE_CANDIDATES_PER_PAGE
    )
    page = paginator.get_page(request.GET.get("page"))
    return _render(
        request,
        "merge_search.html",
        customer,
        form=form,
        query=query,
        page=page,
        closed=_closed(customer),
    )


@require_http_methods(["GET", "POST"])
def customer_personal_data_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET explains what the archive holds; POST builds it, records the download and sends it."""
    customer = _customer(pk)
    if request.method == "POST":
        archive = customer_personal_data_export(
            customer=customer, actor=actor_from_request(request)
        )
        response = HttpResponse(archive.content, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{archive.filename}"'
        response["Cache-Control"] = "no-store"
        return response
    return _render(request, "personal_data.html", customer)
