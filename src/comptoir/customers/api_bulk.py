"""The back-office API's bulk actions on customers (mounted by comptoir.api under
/api/v1/bulk/), and what every endpoint acting on many customers shares: the selection
(``{"ids": [...]}`` or ``{"filter": {...}}``), read with the customers list's own FilterSet and
selection selector, and how a form's errors become a problem.

The list page's bulk bar, the groups' member endpoints and the exports all go through the same
FilterSet (``customers.filters``) and the same set-based services (``customers.services.bulk``);
nothing here decides which customers change or how.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Literal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from comptoir.core.api import Problem, StrictSchema
from comptoir.customers.filters import CustomerFilterSet, LifecycleChoice
from comptoir.customers.forms.listing import BulkActionForm
from comptoir.customers.models import BulkAction, Customer, DeleteMode, Language
from comptoir.customers.selectors import customer_selection
from comptoir.customers.services import customers_bulk_apply
from comptoir.staff.api_auth import api_actor

router = Router(tags=["bulk"])

# The largest id a database row can have (a signed 64-bit integer): beyond it SQLite cannot
# even compare, so larger numbers are refused as input rather than reaching a query.
MAX_ID = 2**63 - 1
# Ids per call: beyond this, select with a filter (an id list is sent and checked whole).
MAX_SELECTED_IDS = 10_000

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def no_null_character(value: str) -> str:
    # PostgreSQL cannot store U+0000 in text; refused here rather than failing at the write.
    if "\x00" in value:
        raise PydanticCustomError("null_character", _("Null characters are not allowed."))
    return value


Text = Annotated[str, AfterValidator(no_null_character)]


# -------------------------------------------------------------------------------------------------
# Errors


def field_problem(field: str, message: str, code: str = "invalid") -> Problem:
    """A 400 problem about one input field."""
    return Problem(
        status=400,
        slug="validation",
        title=message,
        errors=[{"field": field, "message": message, "code": code}],
    )


def form_problem(form: forms.Form, *, fields: dict[str, str] | None = None) -> Problem:
    """A form's errors as a 400 problem; ``fields`` renames form fields to the API's names."""
    fields = fields or {}
    errors = [
        {
            "field": "" if name == NON_FIELD_ERRORS else fields.get(name, name),
            "message": error["message"],
            "code": error["code"] or "invalid",
        }
        for name, items in form.errors.get_json_data().items()
        for error in items
    ]
    return Problem(
        status=400,
        slug="validation",
        title=_("The request is not valid."),
        detail=_("Correct the fields listed in errors and send it again."),
        errors=errors,
    )


# -------------------------------------------------------------------------------------------------
# The selection


class CustomerFilter(StrictSchema):
    """The customers list's filters (the same FilterSet as the list page). Every filter given
    must hold; none given means every live customer."""

    q: Text | None = Field(None, description="Search in names, e-mail, phones, company, cities.")
    id: RowId | None = None
    title: RowId | None = Field(None, description="A title's id.")
    first_name: Text | None = Field(None, description="Contains (case and accents ignored).")
    last_name: Text | None = Field(None, description="Contains (case and accents ignored).")
    email: Text | None = Field(None, description="Contains (case ignored).")
    company: Text | None = Field(None, description="Contains (case and accents ignored).")
    group: RowId | None = Field(None, description="Member of this group (its id).")
    sales_min: Decimal | None = Field(None, description="Total spent, at least.")
    sales_max: Decimal | None = Field(None, description="Total spent, at most.")
    orders_min: int | None = Field(None, ge=0, le=MAX_ID, description="Orders, at least.")
    orders_max: int | None = Field(None, ge=0, le=MAX_ID, description="Orders, at most.")
    enabled: bool | None = None
    newsletter: bool | None = None
    partner_offers: bool | None = None
    sms: bool | None = None
    tax_exempt: bool | None = None
    blocked: bool | None = None
    guest: bool | None = None
    registration_after: datetime.date | None = Field(None, description="Registered on or after.")
    registration_before: datetime.date | None = Field(None, description="Registered on or before.")
    last_visit_after: datetime.date | None = None
    last_visit_before: datetime.date | None = None
    language: Literal[tuple(Language.values)] | None = None  # type: ignore[valid-type]
    country: Text | None = Field(None, description="ISO 3166 country code, e.g. FR.")
    tag: Text | None = Field(None, description="Has this tag (its name, case ignored).")
    lifecycle: Literal[tuple(value for value, _label in LifecycleChoice.choices)] | None = Field(  # type: ignore[valid-type]
        None,
        description="live (the default: neither deleted nor anonymised), deleted, or all.",
    )


def _query_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def filter_query(customer_filter: CustomerFilter | None) -> QueryDict:
    """The filter as the list page's query string carries it."""
    query = QueryDict(mutable=True)
    if customer_filter is None:
        return query
    for name, value in customer_filter.model_dump(exclude_none=True).items():
        if name == "tag":
            value = value.strip().lower()  # the list's tag menu sends the tag's key
        query[name] = _query_value(value)
    return query


def filterset_valid(customer_filter: CustomerFilter | None) -> CustomerFilterSet:
    """The list's FilterSet over the filter; a filter it cannot read is a 400 problem naming
    each field (``filter.<name>``)."""
    filterset = CustomerFilterSet(filter_query(customer_filter))
    if not filterset.is_valid():
        raise form_problem(
            filterset.form, fields={name: f"filter.{name}" for name in filterset.form.fields}
        )
    return filterset


class CustomerSelection(StrictSchema):
    """Which customers: ``ids``, or every customer matching ``filter``. With both, the ids that
    match the filter. Ids of deleted or anonymised customers count only with a ``lifecycle``
    filter that shows them, as on the list page."""

    ids: list[RowId] | None = Field(
        None, description=f"Customer ids, at most {MAX_SELECTED_IDS} (use a filter for more)."
    )
    filter: CustomerFilter | None = Field(
        None, description="The list's filters; {} selects every live customer."
    )


def ids_check(ids: list[int] | None) -> None:
    """Refuse an empty id list, or one longer than one call may carry."""
    if ids is not None and not ids:
        raise field_problem("ids", _("Give at least one customer id."), "empty")
    if ids is not None and len(ids) > MAX_SELECTED_IDS:
        message = _("Give at most %(count)s ids in one call; select more with a filter.")
        raise field_problem("ids", message % {"count": MAX_SELECTED_IDS}, "too_many")


def customers_selected(selection: CustomerSelection) -> QuerySet[Customer]:
    """The customers a selection names, as the list page's bulk bar reads them."""
    if selection.ids is None and selection.filter is None:
        message = _("Give the customers' ids, or a filter they match.")
        raise field_problem("ids", message, "required")
    ids_check(selection.ids)
    filterset = filterset_valid(selection.filter)
    return customer_selection(queryset=filterset.qs, ids=selection.ids)


# -------------------------------------------------------------------------------------------------
# Bulk actions


class BulkActionIn(CustomerSelection):
    group: RowId | None = Field(None, description="add_group, remove_group: the group's id.")
    reason: Text | None = Field(None, description="block: the reason, kept on each customer.")
    tag: Text | None = Field(None, description="add_tag, remove_tag: the tag's name.")
    delete_mode: Literal[tuple(DeleteMode.values)] | None = Field(  # type: ignore[valid-type]
        None,
        description="delete: allow (re-registration allowed), deny (re-registration denied) "
        "or anonymise.",
    )


class BulkActionOut(Schema):
    action: BulkAction
    matched: int = Field(description="Customers in the selection.")
    changed: int = Field(description="Of them, customers the action changed.")


@router.post(
    "/customers/{action}",
    response=BulkActionOut,
    summary="Run a bulk action on customers",
    description=(
        "One of the customers list's bulk actions on the selected customers, in one call and "
        "one transaction: enable, disable, newsletter_on/off, partner_offers_on/off, "
        "add_group/remove_group (with group), reset_groups (keep only the default group), "
        "tax_exempt_on/off, block (with reason), unblock, add_tag/remove_tag (with tag), "
        "delete (with delete_mode). Customers the action would not change are counted in "
        "matched, not in changed, and get no event."
    ),
)
def customers_bulk(request: HttpRequest, action: BulkAction, body: BulkActionIn):
    selection = customers_selected(body)
    form = BulkActionForm(
        {
            "action": action.value,
            "group": body.group or "",
            "reason": body.reason or "",
            "tag": body.tag or "",
            "delete_mode": body.delete_mode or "",
        }
    )
    if not form.is_valid():
        raise form_problem(form)
    matched = selection.count()
    changed = customers_bulk_apply(
        selection=selection, action=action.value, actor=api_actor(request), **form.params
    )
    return {"action": action, "matched": matched, "changed": changed}
