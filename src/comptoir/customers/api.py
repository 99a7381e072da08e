"""The back-office API's customers endpoints (mounted by comptoir.api under /api/v1/customers).

Each handler parses its input, calls the service or selector the back-office screens call, and
answers: the list reads the list page's FilterSet; creating and editing go through the edit
forms' services; the lifecycle actions through theirs. Every change is signed by the token's
staff member with the source "api" (``api_actor``).

Customers deleted with "deny re-registration" and anonymised ones are hidden (404) unless a
read asks for them with ``include_deleted=true``; DELETE takes it too, to delete one again in
another mode. No other write reaches them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from comptoir.core.api import Problem, not_found
from comptoir.customers.api_schemas import (
    AddressIn,
    AddressOut,
    AddressPatch,
    BlockIn,
    ChannelName,
    ConsentChangeOut,
    ConsentIn,
    ConsentsHistoryOut,
    CustomerCreateIn,
    CustomerListQuery,
    CustomerOut,
    CustomerPageOut,
    CustomerPatchIn,
    DeletedOut,
    DeleteModeName,
    EventPageOut,
    GuestConversionOut,
    LoginIn,
    LoginOut,
    MergeIn,
    NoteIn,
    NoteOut,
    ProblemOut,
    TagIn,
    TagsIn,
    TagsOut,
    consents_of,
)
from comptoir.customers.filters import CustomerFilterSet
from comptoir.customers.models import Customer, Title
from comptoir.customers.selectors.api import (
    KeysetPage,
    cursor_decode,
    cursor_encode,
    customer_address,
    customer_addresses,
    customer_consent_history,
    customer_events,
    customer_for_api,
    customer_keyset_columns,
    customer_row,
    customer_rows,
    events_in_order,
    keyset_page,
    timeline_keyset_columns,
)
from comptoir.customers.selectors.lifecycle import merge_default_choices
from comptoir.customers.selectors.listing import customer_search_walk, sort_index_walk_pays
from comptoir.customers.services import (
    AddressInput,
    ConcurrentUpdateError,
    address_create,
    address_defaults_set,
    address_delete,
    address_update,
    customer_block,
    customer_consent_set,
    customer_create_full,
    customer_delete,
    customer_edit,
    customer_enabled_set,
    customer_guest_convert,
    customer_merge,
    customer_note_set,
    customer_personal_data_export,
    customer_tags_set,
    customer_unblock,
    customers_bulk_tag_add,
    customers_bulk_tag_remove,
    delete_mode_default,
)
from comptoir.customers.validation import PROFILE_FIELDS
from comptoir.groups.models import Group
from comptoir.groups.selectors import group_default
from comptoir.staff.api_auth import api_actor

router = Router(tags=["customers"])

# The errors every operation may answer, for the OpenAPI document (bodies: problem+json).
READ_ERRORS = {400: ProblemOut, 401: ProblemOut, 404: ProblemOut, 429: ProblemOut}
WRITE_ERRORS = {**READ_ERRORS, 403: ProblemOut}
LIST_PARAMS = ("cursor", "limit", "count")
ADDRESS_FLAGS = ("default_shipping", "default_billing")


# -------------------------------------------------------------------------------------------------
# Parsing helpers
# -------------------------------------------------------------------------------------------------


def _customer(customer_id: int, *, include_deleted: bool = False) -> Customer:
    customer = customer_for_api(pk=customer_id, include_deleted=include_deleted)
    if customer is None:
        raise not_found(_("There is no customer #%(id)s.") % {"id": customer_id})
    return customer


def _customer_out(customer_id: int, *, include_deleted: bool = False) -> CustomerOut:
    """The customer as the API answers it, read as plain values (``customer_row``)."""
    row = customer_row(pk=customer_id, include_deleted=include_deleted)
    if row is None:
        raise not_found(_("There is no customer #%(id)s.") % {"id": customer_id})
    return CustomerOut.model_validate(row)


def _field_problem(field: str, message: str, code: str = "invalid") -> Problem:
    return Problem(
        status=400,
        slug="validation",
        title=_("The request is not valid."),
        errors=[{"field": field, "message": message, "code": code}],
    )


def _title(title_id: int | None) -> Title | None:
    if title_id is None:
        return None
    title = Title.objects.filter(pk=title_id).first()
    if title is None:
        raise _field_problem("title", _("There is no title #%(id)s.") % {"id": title_id})
    return title


def _groups(ids: list[int], field: str = "groups") -> list[Group]:
    found = {group.pk: group for group in Group.objects.filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise _field_problem(field, _("There is no group #%(id)s.") % {"id": missing[0]})
    return [found[pk] for pk in dict.fromkeys(ids)]


def _profile(payload: CustomerCreateIn | CustomerPatchIn) -> dict[str, Any]:
    """The profile fields the body gives (a field left out is not changed, or not required)."""
    given = payload.model_fields_set & PROFILE_FIELDS
    profile = {name: getattr(payload, name) for name in given}
    if "title" in profile:
        profile["title"] = _title(profile["title"])
    return profile


def _as_conflict(error: ValidationError, slug: str, **extra: Any) -> ValidationError:
    """A service's refusal that is about the current state (someone else's change, already
    blocked) is a 409 with a stable type, not a 400."""
    error.http_status = 409
    error.problem_type = slug
    error.problem_extra = extra
    return error


def _refusal_code(error: ValidationError) -> str | None:
    return getattr(error, "code", None)


def _url(request: HttpRequest, **params: str | None) -> str:
    query = request.GET.copy()
    for name, value in params.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    encoded = query.urlencode()
    return request.build_absolute_uri(request.path + (f"?{encoded}" if encoded else ""))


def _links(request: HttpRequest, page: KeysetPage, scope: str) -> dict[str, str | None]:
    """The next and previous pages' URLs: this one's, with the cursor to walk on."""

    def link(position, backward: bool) -> str:
        cursor = cursor_encode(position=position, backward=backward, scope=scope)
        return _url(request, cursor=cursor)

    following = link(page.next, False) if page.next else None
    if page.restart:  # nothing before: going on means the first page
        following = _url(request, cursor=None)
    return {
        "next": following,
        "previous": link(page.previous, True) if page.previous else None,
    }


def _list_scope(request: HttpRequest, sort_key: str) -> str:
    """What a cursor of the list belongs to: the sort and the filters as given."""
    filters = sorted(
        (name, value)
        for name in request.GET
        if name not in LIST_PARAMS
        for value in request.GET.getlist(name)
        if value.strip()
    )
    return f"customers|{sort_key}|{filters!r}"


# -------------------------------------------------------------------------------------------------
# Customers
# -------------------------------------------------------------------------------------------------


@router.get(
    "",
    response={200: CustomerPageOut, **READ_ERRORS},
    operation_id="customers_list",
    summary="List customers",
    description=(
        "The customers list: the same search (`q`), filters and sorts as the back-office list "
        "page, with the same query-string names. Deleted customers are left out unless "
        "`lifecycle=deleted` or `lifecycle=all`.\n\n"
        "Pages follow cursors: use the `next` and `previous` URLs as they are (they keep the "
        "filters, sort and limit). A cursor only works with the sort and filters it came "
        "from. `count=true` adds the number of matching customers. A filter value, sort or "
        "cursor that cannot be read is a 400 problem naming the parameter."
    ),
)
def list_customers(request: HttpRequest, params: Query[CustomerListQuery]):
    filterset = CustomerFilterSet(request.GET)
    if not filterset.is_valid():
        raise ValidationError(filterset.form.errors.as_data())
    sort_key = filterset.sort_key
    columns = customer_keyset_columns(sort_key)
    scope = _list_scope(request, sort_key)
    position, backward = None, False
    if params.cursor:
        position, backward = cursor_decode(params.cursor, scope=scope, columns=columns)
    queryset, search = filterset.qs, customer_search_walk(filterset)
    page = keyset_page(
        queryset=queryset,
        columns=columns,
        limit=params.limit,
        position=position,
        backward=backward,
        walk_sort_index=sort_key if not search and sort_index_walk_pays(queryset) else None,
        search=search,
    )
    return CustomerPageOut(
        results=customer_rows(page.ids),
        **_links(request, page, scope),
        count=queryset.count() if params.count else None,
    )


@router.get(
    "/{int:customer_id}",
    response={200: CustomerOut, **READ_ERRORS},
    operation_id="customer_get",
    summary="Get a customer",
    description=(
        "Every field of the customer, with its groups, tags, current consents and stored "
        "figures. A customer deleted with 'deny re-registration' or anonymised is a 404 unless "
        "`include_deleted=true`."
    ),
)
def get_customer(request: HttpRequest, customer_id: int, include_deleted: bool = False):
    return _customer_out(customer_id, include_deleted=include_deleted)


@router.post(
    "",
    response={201: CustomerOut, **WRITE_ERRORS},
    operation_id="customer_create",
    summary="Create a customer",
    description=(
        "Creates a registered customer with its groups, addresses, tags, consents and note, "
        "checked as the back-office form checks them (the shop's required fields included). "
        "Without `groups` the customer joins the default group. An e-mail address another "
        "registered customer has is a 400 on `email`, with `existing_customer_id`. Nothing is "
        "saved when anything is refused."
    ),
)
def create_customer(request: HttpRequest, payload: CustomerCreateIn):
    if payload.groups is None:
        default_group = (
            _groups([payload.default_group], "default_group")[0]
            if payload.default_group
            else group_default()
        )
        groups = [default_group]
    else:
        groups = _groups(payload.groups)
        default_group = None
        if payload.default_group is not None:
            default_group = _groups([payload.default_group], "default_group")[0]
        elif len(groups) == 1:
            default_group = groups[0]
        else:
            default_group = next((group for group in groups if group.is_default), None)
    consents = payload.consents.model_dump()
    try:
        customer = customer_create_full(
            actor=api_actor(request),
            profile=_profile(payload),
            groups=groups,
            default_group=default_group,
            addresses=[
                AddressInput(
                    fields=address.model_dump(exclude=set(ADDRESS_FLAGS)),
                    default_shipping=address.default_shipping,
                    default_billing=address.default_billing,
                )
                for address in payload.addresses
            ],
            tags=payload.tags,
            consents=consents,
            # The body saying "given" is the integration's confirmation that the customer agreed.
            confirmed_consents={channel for channel, given in consents.items() if given},
            note=payload.note,
        )
    except ValidationError as error:
        existing = getattr(error, "existing_customer_id", None)
        if existing is not None:
            error.problem_extra = {"existing_customer_id": existing}
        raise
    return Status(201, _customer_out(customer.pk))


@router.patch(
    "/{int:customer_id}",
    response={200: CustomerOut, 409: ProblemOut, **WRITE_ERRORS},
    operation_id="customer_update",
    summary="Update a customer",
    description=(
        "Changes the fields the body gives; the others keep their value. `groups` and `tags` "
        "replace the lists; `default_group` alone also joins that group. With `version` (the "
        "customer's `version` when it was read), a change made by someone else since is a "
        "409 problem listing what changed (`changed`, each field's before/after) and the "
        "`current_version`."
    ),
)
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerPatchIn):
    customer = _customer(customer_id)
    given = payload.model_fields_set
    groups = _groups(payload.groups) if "groups" in given else list(customer.groups.all())
    default_group = customer.default_group
    if "default_group" in given:
        default_group = _groups([payload.default_group], "default_group")[0]
        if "groups" not in given and default_group not in groups:
            groups.append(default_group)
    try:
        customer_edit(
            customer=customer,
            actor=api_actor(request),
            expected_version=payload.version if "version" in given else customer.version,
            profile=_profile(payload),
            groups=groups,
            default_group=default_group,
            tags=payload.tags if "tags" in given else [tag.name for tag in customer.tags.all()],
            note=payload.note if "note" in given else None,
        )
    except ConcurrentUpdateError as error:
        current = Customer.objects.filter(pk=customer_id).values_list("version", flat=True)
        raise _as_conflict(
            error, "stale", changed=error.changed, current_version=current.first()
        ) from None
    return _customer_out(customer_id)


@router.delete(
    "/{int:customer_id}",
    response={200: DeletedOut, **WRITE_ERRORS},
    operation_id="customer_delete",
    summary="Delete a customer",
    description=(
        "`mode`: `allow` (the row goes, orders stay; the e-mail can register again), `deny` "
        "(the row is kept hidden; the e-mail stays taken) or `anonymise` (personal data "
        "scrubbed, orders and figures kept). Without it, the shop's default mode. "
        "`include_deleted=true` reaches a customer already deleted, to delete it in another "
        "mode."
    ),
)
def delete_customer(
    request: HttpRequest,
    customer_id: int,
    mode: DeleteModeName | None = None,
    include_deleted: bool = False,
):
    customer = _customer(customer_id, include_deleted=include_deleted)
    mode = mode or delete_mode_default()
    changed = customer_delete(customer=customer, mode=mode, actor=api_actor(request))
    return {"id": customer_id, "mode": mode, "changed": changed}


@router.post(
    "/{int:customer_id}/block",
    response={200: CustomerOut, 409: ProblemOut, **WRITE_ERRORS},
    operation_id="customer_block",
    summary="Block a customer from ordering",
    description=(
        "The customer can still log in but orders are refused. `reason` is required and shown "
        "to staff. Blocking a blocked customer is a 409 `already-blocked` problem."
    ),
)
def block_customer(request: HttpRequest, customer_id: int, payload: BlockIn):
    customer = _customer(customer_id)
    try:
        customer_block(customer=customer, reason=payload.reason, actor=api_actor(request))
    except ValidationError as error:
        if _refusal_code(error) == "already_blocked":
            raise _as_conflict(error, "already-blocked") from None
        raise
    return _customer_out(customer_id)


@router.post(
    "/{int:customer_id}/unblock",
    response={200: CustomerOut, 409: ProblemOut, **WRITE_ERRORS},
    operation_id="customer_unblock",
    summary="Unblock a customer",
    description="Orders are accepted again. A customer who is not blocked is a 409 problem.",
)
def unblock_customer(request: HttpRequest, customer_id: int):
    customer = _customer(customer_id)
    try:
        customer_unblock(customer=customer, actor=api_actor(request))
    except ValidationError as error:
        if _refusal_code(error) == "not_blocked":
            raise _as_conflict(error, "not-blocked") from None
        raise
    return _customer_out(customer_id)


@router.put(
    "/{int:customer_id}/login",
    response={200: LoginOut, **WRITE_ERRORS},
    operation_id="customer_login_set",
    summary="Allow or refuse the customer's login",
    description=(
        "`enabled: false` stops the customer from logging in to the shop (a blocked customer "
        "can still log in, but not order). Setting the state it already has changes nothing "
        "(`changed: false`)."
    ),
)
def set_login(request: HttpRequest, customer_id: int, payload: LoginIn):
    customer = _customer(customer_id)
    changed = customer_enabled_set(
        customer=customer, enabled=payload.enabled, actor=api_actor(request)
    )
    return {"enabled": customer.is_enabled, "changed": changed}


# A refusal of the guest conversion is about the customer's state: its code -> problem type.
_CONVERSION_CONFLICTS = {
    "not_guest": "not-guest",
    "no_email": "no-email",
    "duplicate": "email-taken",
}


@router.post(
    "/{int:customer_id}/convert-guest",
    response={200: GuestConversionOut, 409: ProblemOut, **WRITE_ERRORS},
    operation_id="customer_guest_convert",
    summary="Turn a guest into a registered customer",
    description=(
        "The other guests with the same e-mail are folded into it (orders, carts, addresses, "
        "...); it gets no password: the message with a link to choose one is put in the "
        "outbox, in the customer's language. Refused with 409: `not-guest` (already "
        "registered), `no-email` (a guest without an e-mail address), `email-taken` (a "
        "registered customer has this e-mail: merge the guest into it, its id is "
        "`existing_customer_id`)."
    ),
)
def convert_guest(request: HttpRequest, customer_id: int):
    customer = _customer(customer_id)
    try:
        conversion = customer_guest_convert(customer=customer, actor=api_actor(request))
    except ValidationError as error:
        codes = (
            [item.code for item in error.error_list]
            if not hasattr(error, "error_dict")
            else [item.code for items in error.error_dict.values() for item in items]
        )
        slug = next((_CONVERSION_CONFLICTS[c] for c in codes if c in _CONVERSION_CONFLICTS), None)
        if slug is None:
            raise
        existing = getattr(error, "existing_customer_id", None)
        raise Problem(
            status=409,
            slug=slug,
            title=" ".join(error.messages),
            extra={"existing_customer_id": existing} if existing else None,
        ) from None
    return {
        "customer": _customer_out(customer_id),
        "merged_guest_ids": conversion.merged_guest_ids,
    }


@router.post(
    "/{int:customer_id}/merge",
    response={200: CustomerOut, 409: ProblemOut, **WRITE_ERRORS},
    operation_id="customer_merge",
    summary="Merge a duplicate into a customer",
    description=(
        "The duplicate's orders, carts, addresses, consent history, messages, visits, vouchers "
        "and timeline move to this customer; groups and tags are joined; notes put end to "
        "end; then the duplicate is removed. `choices` says whose value wins per field (by "
        "default this customer's, unless it has none). With `duplicate_version` or "
        "`survivor_version`, a change since is a 409 `stale` problem. Merging a customer into "
        "itself, a deleted one, or a registered customer into a guest is refused (400)."
    ),
)
def merge_customer(request: HttpRequest, customer_id: int, payload: MergeIn):
    survivor = _customer(customer_id)
    duplicate = Customer.objects.filter(pk=payload.duplicate_id).first()
    if duplicate is None:
        raise _field_problem(
            "duplicate_id", _("There is no customer #%(id)s.") % {"id": payload.duplicate_id}
        )
    choices = {**merge_default_choices(survivor, duplicate), **payload.choices}
    try:
        customer_merge(
            survivor=survivor,
            duplicate=duplicate,
            choices=choices,
            duplicate_version=(
                duplicate.version
                if payload.duplicate_version is None
                else payload.duplicate_version
            ),
            survivor_version=payload.survivor_version,
            actor=api_actor(request),
        )
    except ValidationError as error:
        if _refusal_code(error) == "stale":
            raise _as_conflict(error, "stale") from None
        raise
    return _customer_out(customer_id)


@router.get(
    "/{int:customer_id}/personal-data",
    response={200: None, **READ_ERRORS},
    operation_id="customer_personal_data",
    summary="Download a customer's personal data",
    description=(
        "A ZIP archive of everything held on the person (profile, addresses, consents, "
        "orders, carts, messages, visits, timeline), as JSON and CSV: the same archive as the "
        "back-office's. Each download is recorded on the customer's timeline."
    ),
    openapi_extra={
        "responses": {
            200: {
                "description": "The archive.",
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def export_personal_data(request: HttpRequest, customer_id: int, include_deleted: bool = False):
    customer = _customer(customer_id, include_deleted=include_deleted)
    archive = customer_personal_data_export(customer=customer, actor=api_actor(request))
    response = HttpResponse(archive.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{archive.filename}"'
    response["Cache-Control"] = "no-store"
    return response


# -------------------------------------------------------------------------------------------------
# Consents
# -------------------------------------------------------------------------------------------------


@router.get(
    "/{int:customer_id}/consents",
    response={200: ConsentsHistoryOut, **READ_ERRORS},
    operation_id="customer_consents",
    summary="A customer's consents and their history",
    description="The current state of each channel, and every change, newest first.",
)
def get_consents(request: HttpRequest, customer_id: int, include_deleted: bool = False):
    customer = _customer(customer_id, include_deleted=include_deleted)
    return {
        "current": consents_of(customer),
        "history": customer_consent_history(customer_id=customer.pk),
    }


@router.put(
    "/{int:customer_id}/consents/{channel}",
    response={200: ConsentChangeOut, **WRITE_ERRORS},
    operation_id="customer_consent_set",
    summary="Give or withdraw a consent",
    description=(
        "Sets one channel (`newsletter`, `partner_offers` or `sms`). A change writes a history "
        "row with the source `api` and the token's staff member; setting the state it already "
        "has changes nothing (`changed: false`)."
    ),
)
def set_consent(request: HttpRequest, customer_id: int, channel: ChannelName, payload: ConsentIn):
    customer = _customer(customer_id)
    changed = customer_consent_set(
        customer=customer,
        channel=channel,
        granted=payload.granted,
        actor=api_actor(request),
        opt_in_level=payload.opt_in_level,
        note=payload.note,
    )
    return {
        "channel": channel,
        "granted": getattr(customer, channel),
        "changed_at": getattr(customer, f"{channel}_at"),
        "changed": changed,
    }


# -------------------------------------------------------------------------------------------------
# Addresses
# -------------------------------------------------------------------------------------------------


def _address(customer: Customer, address_id: int):
    address = customer_address(customer_id=customer.pk, address_id=address_id)
    if address is None:
        raise not_found(_("This customer has no address #%(id)s.") % {"id": address_id})
    return address


@router.get(
    "/{int:customer_id}/addresses",
    response={200: list[AddressOut], **READ_ERRORS},
    operation_id="customer_addresses",
    summary="A customer's addresses",
    description="The default billing and shipping addresses first.",
)
def list_addresses(request: HttpRequest, customer_id: int, include_deleted: bool = False):
    customer = _customer(customer_id, include_deleted=include_deleted)
    return customer_addresses(customer_id=customer.pk)


@router.post(
    "/{int:customer_id}/addresses",
    response={201: AddressOut, **WRITE_ERRORS},
    operation_id="customer_address_create",
    summary="Add an address",
    description="The customer's first address becomes the default shipping and billing one.",
)
def create_address(request: HttpRequest, customer_id: int, payload: AddressIn):
    customer = _customer(customer_id)
    address = address_create(
        customer=customer,
        actor=api_actor(request),
        default_shipping=payload.default_shipping,
        default_billing=payload.default_billing,
        **payload.model_dump(exclude=set(ADDRESS_FLAGS)),
    )
    return Status(201, address)


@router.patch(
    "/{int:customer_id}/addresses/{int:address_id}",
    response={200: AddressOut, **WRITE_ERRORS},
    operation_id="customer_address_update",
    summary="Change an address",
    description=(
        "Changes the fields the body gives. `default_shipping: true` or `default_billing: "
        "true` makes it the default (the previous default stops being one)."
    ),
)
def update_address(request: HttpRequest, customer_id: int, address_id: int, payload: AddressPatch):
    customer = _customer(customer_id)
    address = _address(customer, address_id)
    fields = payload.model_dump(include=payload.model_fields_set - set(ADDRESS_FLAGS))
    actor = api_actor(request)
    with transaction.atomic():
        address = address_update(address=address, actor=actor, **fields)
        if payload.default_shipping or payload.default_billing:
            address_defaults_set(
                customer=customer,
                shipping=address if payload.default_shipping else None,
                billing=address if payload.default_billing else None,
                actor=actor,
            )
    return _address(customer, address_id)


@router.delete(
    "/{int:customer_id}/addresses/{int:address_id}",
    response={204: None, **WRITE_ERRORS},
    operation_id="customer_address_delete",
    summary="Remove an address",
    description="When it was a default address, the oldest remaining one becomes the default.",
)
def delete_address(request: HttpRequest, customer_id: int, address_id: int):
    customer = _customer(customer_id)
    address = _address(customer, address_id)
    actor = api_actor(request)
    with transaction.atomic():
        address_delete(address=address, actor=actor)
        address_defaults_set(customer=customer, shipping=None, billing=None, actor=actor)
    return Status(204, None)


# -------------------------------------------------------------------------------------------------
# Tags and note
# -------------------------------------------------------------------------------------------------


@router.get(
    "/{int:customer_id}/tags",
    response={200: TagsOut, **READ_ERRORS},
    operation_id="customer_tags",
    summary="A customer's tags",
)
def get_tags(request: HttpRequest, customer_id: int, include_deleted: bool = False):
    customer = _customer(customer_id, include_deleted=include_deleted)
    return {"tags": [tag.name for tag in customer.tags.all()]}


@router.put(
    "/{int:customer_id}/tags",
    response={200: TagsOut, **WRITE_ERRORS},
    operation_id="customer_tags_set",
    summary="Replace a customer's tags",
    description="Tags are matched ignoring case; new ones are created.",
)
def set_tags(request: HttpRequest, customer_id: int, payload: TagsIn):
    customer = _customer(customer_id)
    customer_tags_set(customer=customer, names=payload.tags, actor=api_actor(request))
    return {"tags": [tag.name for tag in _customer(customer_id).tags.all()]}


@router.post(
    "/{int:customer_id}/tags",
    response={200: TagsOut, **WRITE_ERRORS},
    operation_id="customer_tag_add",
    summary="Add one tag",
    description="Adding a tag the customer has changes nothing.",
)
def add_tag(request: HttpRequest, customer_id: int, payload: TagIn):
    customer = _customer(customer_id)
    customers_bulk_tag_add(
        selection=Customer.objects.filter(pk=customer.pk),
        name=payload.tag,
        actor=api_actor(request),
    )
    return {"tags": [tag.name for tag in _customer(customer_id).tags.all()]}


@router.delete(
    "/{int:customer_id}/tags/{path:tag}",
    response={200: TagsOut, **WRITE_ERRORS},
    operation_id="customer_tag_remove",
    summary="Remove one tag",
    description="Removing a tag the customer does not have changes nothing.",
)
def remove_tag(request: HttpRequest, customer_id: int, tag: str):
    customer = _customer(customer_id)
    customers_bulk_tag_remove(
        selection=Customer.objects.filter(pk=customer.pk), name=tag, actor=api_actor(request)
    )
    return {"tags": [tag.name for tag in _customer(customer_id).tags.all()]}


@router.get(
    "/{int:customer_id}/note",
    response={200: NoteOut, **READ_ERRORS},
    operation_id="customer_note",
    summary="A customer's private note",
    description="Seen by staff only, never by the customer.",
)
def get_note(request: HttpRequest, customer_id: int, include_deleted: bool = False):
    return {"note": _customer(customer_id, include_deleted=include_deleted).note}


@router.put(
    "/{int:customer_id}/note",
    response={200: NoteOut, **WRITE_ERRORS},
    operation_id="customer_note_set",
    summary="Replace a customer's private note",
    description="An empty note removes it.",
)
def set_note(request: HttpRequest, customer_id: int, payload: NoteIn):
    customer = _customer(customer_id)
    customer_note_set(customer=customer, note=payload.note, actor=api_actor(request))
    return {"note": customer.note}


# -------------------------------------------------------------------------------------------------
# Timeline
# -------------------------------------------------------------------------------------------------


@router.get(
    "/{int:customer_id}/events",
    response={200: EventPageOut, **READ_ERRORS},
    operation_id="customer_events",
    summary="A customer's timeline",
    description=(
        "Every change made to the customer, newest first, with who made it and from where "
        "(back-office, storefront, API, import). Pages follow cursors, like the list."
    ),
)
def list_events(
    request: HttpRequest,
    customer_id: int,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=250),
    include_deleted: bool = False,
):
    customer = _customer(customer_id, include_deleted=include_deleted)
    columns = timeline_keyset_columns()
    scope = f"events|{customer.pk}"
    position, backward = None, False
    if cursor:
        position, backward = cursor_decode(cursor, scope=scope, columns=columns)
    page = keyset_page(
        queryset=customer_events(customer_id=customer.pk),
        columns=columns,
        limit=limit,
        position=position,
        backward=backward,
    )
    return {"results": events_in_order(page.ids), **_links(request, page, scope)}
