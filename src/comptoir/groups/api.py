"""The back-office API's groups endpoints (mounted by comptoir.api under /api/v1/groups): list
with member counts, get, create, update, delete (moving the members), and members added or
removed in bulk. Thin over the groups' selectors and services and the customers' bulk
services, as the groups screens and the list's bulk bar are."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from comptoir.core.api import Problem, ProblemOut, StrictSchema, not_found
from comptoir.customers.api_bulk import (
    MAX_ID,
    CustomerSelection,
    Text,
    customers_selected,
    field_problem,
)
from comptoir.customers.services import customers_bulk_group_add, customers_bulk_group_remove
from comptoir.groups.models import Group, PriceDisplay
from comptoir.groups.selectors import group_member_counts, group_page
from comptoir.groups.services import group_create, group_delete, group_update
from comptoir.staff.api_auth import api_actor

router = Router(tags=["groups"])


class GroupOut(Schema):
    id: int
    name: str = Field(description="The name in the request's language.")
    name_fr: str
    name_en: str
    description: str
    discount: Decimal = Field(description="Percent, 0 to 100, two decimals.")
    price_display: PriceDisplay
    show_prices: bool
    css_class: str
    is_default: bool
    members: int = Field(description="Live customers in the group (not closed or anonymised).")
    created_at: datetime.datetime
    updated_at: datetime.datetime


class GroupPageOut(Schema):
    items: list[GroupOut]
    page: int
    pages: int
    count: int


class GroupCreateIn(StrictSchema):
    name_fr: Text
    name_en: Text
    description: Text = ""
    # NaN and infinities reach the service, which refuses them in the user's language.
    discount: Decimal = Field(Decimal("0"), allow_inf_nan=True, description="Percent, 0 to 100.")
    price_display: PriceDisplay = PriceDisplay.TAX_INCLUDED
    show_prices: bool = True
    css_class: Text = Field("", description="CSS class names for the storefront.")
    is_default: bool = Field(False, description="Make it the default group in place of the "
                             "current one.")  # fmt: skip


class GroupUpdateIn(StrictSchema):
    """Only the fields given change. The default group cannot be un-defaulted: make another
    group the default instead."""

    name_fr: Text | None = None
    name_en: Text | None = None
    description: Text | None = None
    discount: Decimal | None = Field(None, allow_inf_nan=True, description="Percent, 0 to 100.")
    price_display: PriceDisplay | None = None
    show_prices: bool | None = None
    css_class: Text | None = None
    is_default: bool | None = None


class GroupDeletionOut(Schema):
    deleted: int = Field(description="The deleted group's id.")
    members: int = Field(description="Customers who were in the group.")
    joined: int = Field(description="Of them, customers who joined move_to.")
    defaults_moved: int = Field(
        description="Of them, customers whose default group became move_to."
    )


class GroupMembersOut(Schema):
    group: int
    matched: int = Field(description="Customers in the selection.")
    changed: int = Field(description="Of them, customers who joined or left the group.")


def _group(group_id: int) -> Group:
    group = Group.objects.filter(pk=group_id).first() if 0 < group_id <= MAX_ID else None
    if group is None:
        raise not_found(_("There is no group with this id."))
    return group


def _group_out(group: Group, members: int) -> dict:
    return {
        **{field: getattr(group, field) for field in GroupOut.model_fields if field != "members"},
        "members": members,
    }


@router.get(
    "",
    response=GroupPageOut,
    summary="List the groups",
    description="The default group first, then by name in the request's language; 50 a page.",
)
def groups_list(request: HttpRequest, page: int = Query(1, ge=1, le=1_000_000)):
    current, rows = group_page(page=page)
    return {
        "items": [_group_out(row.group, row.members) for row in rows],
        "page": current.number,
        "pages": current.paginator.num_pages,
        "count": current.paginator.count,
    }


@router.get("/{group_id}", response=GroupOut, summary="Get a group")
def group_get(request: HttpRequest, group_id: int):
    group = _group(group_id)
    return _group_out(group, group_member_counts().get(group.pk, 0))


@router.post(
    "",
    response={201: GroupOut},
    summary="Create a group",
)
def group_create_endpoint(request: HttpRequest, body: GroupCreateIn):
    group = group_create(actor=api_actor(request), **body.model_dump())
    group.refresh_from_db()
    return Status(201, _group_out(group, 0))


@router.patch(
    "/{group_id}",
    response=GroupOut,
    summary="Change a group",
    description="Only the fields given change; is_default true makes the group the default.",
)
def group_update_endpoint(request: HttpRequest, group_id: int, body: GroupUpdateIn):
    group = _group(group_id)
    group_update(group=group, actor=api_actor(request), **body.model_dump(exclude_unset=True))
    group.refresh_from_db()
    return _group_out(group, group_member_counts().get(group.pk, 0))


@router.delete(
    "/{group_id}",
    response={200: GroupDeletionOut, 409: ProblemOut},
    summary="Delete a group",
    description=(
        "Its members move to the group move_to (required when it has members): customers for "
        "whom it was the only or the default group join move_to, which becomes the default "
        "group of the latter. The default group cannot be deleted (409)."
    ),
)
def group_delete_endpoint(
    request: HttpRequest,
    group_id: int,
    move_to: int | None = Query(None, ge=1, le=MAX_ID, description="The group the members join."),
):
    group = _group(group_id)
    target = Group.objects.filter(pk=move_to).first() if move_to is not None else None
    if move_to is not None and target is None:
        raise field_problem("move_to", _("There is no group with this id."), "invalid_choice")
    try:
        deletion = group_delete(group=group, move_to=target, actor=api_actor(request))
    except ValidationError as error:
        # The group itself cannot go (the default, or gone meanwhile): a conflict with its
        # state, not a mistake in the request.
        if hasattr(error, "error_dict") and "group" in error.error_dict:
            raise Problem(
                status=409,
                slug="group-not-deletable",
                title=error.message_dict["group"][0],
            ) from None
        raise
    return {
        "deleted": group_id,
        "members": deletion.members,
        "joined": deletion.joined,
        "defaults_moved": deletion.defaults_moved,
    }


@router.post(
    "/{group_id}/members",
    response=GroupMembersOut,
    summary="Add customers to a group",
    description="The selected customers join the group; those already in it are left alone.",
)
def group_members_add(request: HttpRequest, group_id: int, body: CustomerSelection):
    group = _group(group_id)
    selection = customers_selected(body)
    matched = selection.count()
    changed = customers_bulk_group_add(selection=selection, group=group, actor=api_actor(request))
    return {"group": group.pk, "matched": matched, "changed": changed}


@router.delete(
    "/{group_id}/members",
    response=GroupMembersOut,
    summary="Remove customers from a group",
    description=(
        "The selected customers leave the group, except those whose default group it is (a "
        "customer's default group cannot be left): they are not counted as changed."
    ),
)
def group_members_remove(request: HttpRequest, group_id: int, body: CustomerSelection):
    group = _group(group_id)
    selection = customers_selected(body)
    matched = selection.count()
    changed = customers_bulk_group_remove(
        selection=selection, group=group, actor=api_actor(request)
    )
    return {"group": group.pk, "matched": matched, "changed": changed}
