"""What the customers endpoints of the back-office API take and give, field by field.

Inputs are ``StrictSchema`` (unknown fields refused); the services clean and check the values.
Outputs never hold a password, its hash or a token. Dates and times are ISO 8601 (UTC), amounts
decimal strings, names of titles and groups in the request's language.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import StringConstraints

from comptoir.core.api import OutputSchema, StrictSchema
from comptoir.customers.forms.detail import NOTE_MAX_LENGTH
from comptoir.customers.models import Channel
from comptoir.customers.selectors.api import MAX_ID
from comptoir.customers.selectors.lifecycle import MERGE_FIELD_NAMES

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
TagName = Annotated[str, StringConstraints(max_length=64)]
ChannelName = Literal["newsletter", "partner_offers", "sms"]
OptInLevelName = Literal["single", "confirmed", "unknown"]
LanguageCode = Literal["fr", "en"]
DeleteModeName = Literal["allow", "deny", "anonymise"]
MergeFieldName = Literal[MERGE_FIELD_NAMES]  # type: ignore[valid-type]
MergeSide = Literal["survivor", "duplicate"]


# -------------------------------------------------------------------------------------------------
# Output
# -------------------------------------------------------------------------------------------------


def _staff_ref(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.get_username()}


class NamedRef(OutputSchema):
    id: int
    name: str = Field(description="In the request's language.")


class StaffRef(OutputSchema):
    id: int
    name: str = Field(description="The staff member's full name, or username.")


class ConsentState(OutputSchema):
    granted: bool
    changed_at: datetime.datetime | None = Field(description="When it last changed.")


class ConsentsOut(OutputSchema):
    newsletter: ConsentState
    partner_offers: ConsentState
    sms: ConsentState


def consents_of(customer) -> dict[str, dict[str, Any]]:
    return {
        channel: {
            "granted": getattr(customer, channel),
            "changed_at": getattr(customer, f"{channel}_at"),
        }
        for channel in Channel.values
    }


# Validated from the plain rows of ``selectors.api.customer_rows`` (its docstring is the
# OpenAPI description).
class CustomerOut(OutputSchema):
    """A customer, as the API shows it."""

    id: int
    title: NamedRef | None
    first_name: str
    last_name: str
    email: str
    phone: str = Field(description="E.164, e.g. +33612345678; empty when none.")
    mobile: str = Field(description="E.164; empty when none.")
    birthday: datetime.date | None
    language: str = Field(description="fr or en.")
    company: str
    siret: str
    ape_code: str
    vat_number: str
    website: str
    social_accounts: dict[str, str]
    external_id: str
    country: str = Field(description="ISO 3166 code of the default billing address's country.")
    is_guest: bool
    is_enabled: bool = Field(description="Whether the customer may log in to the shop.")
    is_blocked: bool = Field(description="Whether the customer is refused when ordering.")
    blocked_reason: str
    blocked_at: datetime.datetime | None
    blocked_by: StaffRef | None
    is_tax_exempt: bool
    tax_exemption_ref: str
    default_group: NamedRef = Field(description="The group whose price rules apply.")
    groups: list[NamedRef] = Field(description="Every group, the default one included.")
    tags: list[str]
    consents: ConsentsOut = Field(description="The current state; the history is /consents.")
    note: str = Field(description="The private note, seen by staff only.")
    orders_count: int = Field(description="Valid orders.")
    invalid_orders_count: int
    total_spent: Decimal = Field(description="Sales: the sum of the valid orders.")
    average_order: Decimal
    first_order_at: datetime.datetime | None
    last_order_at: datetime.datetime | None
    last_visit_at: datetime.datetime | None
    created_at: datetime.datetime = Field(description="Registration.")
    updated_at: datetime.datetime
    deleted_at: datetime.datetime | None = Field(
        description="Set when deleted with 'deny re-registration'."
    )
    anonymised_at: datetime.datetime | None
    version: int = Field(description="Changes with every update; send it back to PATCH safely.")


class CustomerPageOut(OutputSchema):
    results: list[CustomerOut]
    next: str | None = Field(description="The next page's URL; null on the last page.")
    previous: str | None = Field(description="The previous page's URL; null on the first page.")
    count: int | None = Field(description="How many customers match; only with count=true.")


class ConsentRecordOut(Schema):
    id: int
    channel: str
    granted: bool
    opt_in_level: str
    note: str
    source: str = Field(description="backoffice, storefront, api, import, system or demo.")
    staff: StaffRef | None = Field(description="The staff member who made the change, if any.")
    created_at: datetime.datetime

    @staticmethod
    def resolve_staff(obj) -> dict[str, Any] | None:
        return _staff_ref(obj.actor) if obj.actor_id else None


class ConsentsHistoryOut(Schema):
    current: ConsentsOut
    history: list[ConsentRecordOut] = Field(description="Every change, newest first.")


class ConsentChangeOut(Schema):
    channel: str
    granted: bool
    changed_at: datetime.datetime | None
    changed: bool = Field(description="False when the consent already was in that state.")


class AddressOut(Schema):
    id: int
    alias: str
    first_name: str
    last_name: str
    company: str
    vat_number: str
    address1: str
    address2: str
    postcode: str
    city: str
    state: str
    country: str
    phone: str
    is_default_shipping: bool
    is_default_billing: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_country(obj) -> str:
        return str(obj.country.code) if obj.country else ""


class TagsOut(Schema):
    tags: list[str]


class NoteOut(Schema):
    note: str


class EventOut(Schema):
    id: int
    kind: str = Field(description="What happened, e.g. customer_updated, consent_changed.")
    created_at: datetime.datetime
    source: str
    staff: StaffRef | None
    data: dict[str, Any] = Field(description="The details, e.g. each changed field's before/after.")

    @staticmethod
    def resolve_staff(obj) -> dict[str, Any] | None:
        return _staff_ref(obj.actor) if obj.actor_id else None


class EventPageOut(Schema):
    results: list[EventOut]
    next: str | None = Field(description="Older events; null at the oldest.")
    previous: str | None = Field(description="Newer events; null at the newest.")


class LoginOut(Schema):
    enabled: bool = Field(description="Whether the customer may log in to the shop now.")
    changed: bool = Field(description="False when the login already was in that state.")


class GuestConversionOut(Schema):
    customer: CustomerOut
    merged_guest_ids: list[int] = Field(
        description="The other guests with the same e-mail, folded into this customer (gone)."
    )


class DeletedOut(Schema):
    id: int
    mode: DeleteModeName
    changed: bool = Field(description="False when the customer already was in that state.")


class ProblemError(Schema):
    field: str
    message: str
    code: str


class ProblemOut(Schema):
    """An error (RFC 9457), as application/problem+json."""

    type: str = Field(description="Stable, e.g. urn:comptoir:problem:not-found.")
    title: str = Field(description="In the request's language.")
    status: int
    detail: str | None = None
    errors: list[ProblemError] | None = Field(None, description="One per field in error.")


# -------------------------------------------------------------------------------------------------
# Input
# -------------------------------------------------------------------------------------------------


class CustomerListQuery(Schema):
    """The customers list's query string: the list page's filters, search and sort (the same
    FilterSet reads them), and the page's cursor, size and whether to count."""

    q: str | None = Field(None, description="Search: names, e-mail, phones, company, cities.")
    id: str | None = None
    title: str | None = Field(None, description="A title's id.")
    first_name: str | None = Field(None, description="Contains, ignoring case and accents.")
    last_name: str | None = None
    email: str | None = None
    company: str | None = None
    group: str | None = Field(None, description="A group's id: customers in that group.")
    sales_min: str | None = None
    sales_max: str | None = None
    orders_min: str | None = None
    orders_max: str | None = None
    enabled: str | None = Field(None, description="true or false.")
    newsletter: str | None = Field(None, description="true or false.")
    partner_offers: str | None = Field(None, description="true or false.")
    sms: str | None = Field(None, description="true or false.")
    tax_exempt: str | None = Field(None, description="true or false.")
    blocked: str | None = Field(None, description="true or false.")
    guest: str | None = Field(None, description="true or false.")
    registration_after: str | None = Field(None, description="A date, YYYY-MM-DD.")
    registration_before: str | None = Field(None, description="A date, YYYY-MM-DD.")
    last_visit_after: str | None = Field(None, description="A date, YYYY-MM-DD.")
    last_visit_before: str | None = Field(None, description="A date, YYYY-MM-DD.")
    language: str | None = Field(None, description="fr or en.")
    country: str | None = Field(None, description="ISO 3166 code of the billing country.")
    tag: str | None = Field(None, description="A tag's name (any case).")
    lifecycle: str | None = Field(
        None, description="live (default), deleted (re-registration denied) or all."
    )
    sort: str | None = Field(
        None,
        description=(
            "id, title, first_name, last_name, email, groups, company, sales, orders, enabled, "
            "newsletter, partner_offers, registration, last_visit, country or tags; '-' first "
            "for descending. Default: -id (newest first). The id breaks ties."
        ),
    )
    cursor: str | None = Field(None, description="From a page's next or previous link.")
    limit: int = Field(50, ge=1, le=250, description="Customers per page, 1 to 250.")
    count: bool = Field(False, description="true to also count every matching customer.")


class AddressIn(StrictSchema):
    alias: str = ""
    first_name: str
    last_name: str
    company: str = ""
    vat_number: str = ""
    address1: str
    address2: str = ""
    postcode: str = ""
    city: str
    state: str = ""
    country: str = Field(description="ISO 3166 code, e.g. FR.")
    phone: str = ""
    default_shipping: bool = Field(False, description="Make it the default shipping address.")
    default_billing: bool = Field(False, description="Make it the default billing address.")


class AddressPatch(StrictSchema):
    """The fields to change; the others keep their value."""

    alias: str = None  # type: ignore[assignment]  (absent: unchanged; null refused)
    first_name: str = None  # type: ignore[assignment]
    last_name: str = None  # type: ignore[assignment]
    company: str = None  # type: ignore[assignment]
    vat_number: str = None  # type: ignore[assignment]
    address1: str = None  # type: ignore[assignment]
    address2: str = None  # type: ignore[assignment]
    postcode: str = None  # type: ignore[assignment]
    city: str = None  # type: ignore[assignment]
    state: str = None  # type: ignore[assignment]
    country: str = Field(None, description="ISO 3166 code, e.g. FR.")
    phone: str = None  # type: ignore[assignment]
    default_shipping: Literal[True] = Field(
        None, description="true makes it the default shipping address."
    )
    default_billing: Literal[True] = Field(
        None, description="true makes it the default billing address."
    )


class ConsentsIn(StrictSchema):
    newsletter: bool | None = None
    partner_offers: bool | None = None
    sms: bool | None = None


class CustomerCreateIn(StrictSchema):
    """A new registered customer. Without groups, the customer joins the shop's default group.
    Giving a consent here records it as given by this token's staff member."""

    title: Id | None = Field(None, description="A title's id; null for none.")
    first_name: str
    last_name: str
    email: str
    phone: str = Field("", description="Any usual notation; stored as E.164.")
    mobile: str = Field("", description="Any usual notation; stored as E.164.")
    birthday: datetime.date | None = None
    language: LanguageCode = "fr"
    company: str = ""
    siret: str = ""
    ape_code: str = ""
    vat_number: str = ""
    website: str = ""
    social_accounts: dict[str, str] = Field(default_factory=dict)
    external_id: str = ""
    is_tax_exempt: bool = False
    tax_exemption_ref: str = ""
    groups: list[Id] | None = Field(None, description="Group ids, the default one included.")
    default_group: Id | None = Field(None, description="The id of the group whose prices apply.")
    tags: list[TagName] = Field(default_factory=list, max_length=200)
    note: str = Field("", max_length=NOTE_MAX_LENGTH, description="Private, seen by staff only.")
    addresses: list[AddressIn] = Field(default_factory=list, max_length=50)
    consents: ConsentsIn = Field(default_factory=ConsentsIn)


class CustomerPatchIn(StrictSchema):
    """The fields to change; the others keep their value. ``groups`` replaces the groups,
    ``tags`` the tags. Consents and addresses have their own endpoints."""

    title: Id | None = Field(None, description="A title's id; null for none.")
    first_name: str = None  # type: ignore[assignment]  (absent: unchanged; null refused)
    last_name: str = None  # type: ignore[assignment]
    email: str = None  # type: ignore[assignment]
    phone: str = None  # type: ignore[assignment]
    mobile: str = None  # type: ignore[assignment]
    birthday: datetime.date | None = None
    language: LanguageCode = None  # type: ignore[assignment]
    company: str = None  # type: ignore[assignment]
    siret: str = None  # type: ignore[assignment]
    ape_code: str = None  # type: ignore[assignment]
    vat_number: str = None  # type: ignore[assignment]
    website: str = None  # type: ignore[assignment]
    social_accounts: dict[str, str] = None  # type: ignore[assignment]
    external_id: str = None  # type: ignore[assignment]
    is_tax_exempt: bool = None  # type: ignore[assignment]
    tax_exemption_ref: str = None  # type: ignore[assignment]
    groups: list[Id] = Field(None, description="Group ids; replaces the groups.")
    default_group: Id = Field(None, description="The id of the group whose prices apply.")
    tags: list[TagName] = Field(None, max_length=200, description="Replaces the tags.")
    note: str = Field(None, max_length=NOTE_MAX_LENGTH, description="The private note.")
    version: int = Field(
        None,
        description=(
            "The version the change is based on; if the customer changed since, the update "
            "is refused with 409 and what changed."
        ),
    )


class LoginIn(StrictSchema):
    enabled: bool = Field(description="true: may log in to the shop; false: may not.")


class BlockIn(StrictSchema):
    reason: str = Field(max_length=2000, description="Why, shown to staff.")


class ConsentIn(StrictSchema):
    granted: bool
    opt_in_level: OptInLevelName = Field(
        "unknown", description="How the customer gave it (single or confirmed opt-in)."
    )
    note: str = Field("", max_length=255)


class TagsIn(StrictSchema):
    tags: list[TagName] = Field(max_length=200)


class TagIn(StrictSchema):
    tag: TagName = Field(description="The tag's name; created if new.")


class NoteIn(StrictSchema):
    note: str = Field(max_length=NOTE_MAX_LENGTH)


class MergeIn(StrictSchema):
    duplicate_id: Id = Field(description="The customer merged into this one, then removed.")
    choices: dict[MergeFieldName, MergeSide] = Field(
        default_factory=dict,
        description=(
            "Whose value wins, per field: survivor (this customer) or duplicate. A field left "
            "out keeps this customer's value, unless it has none and the duplicate has one."
        ),
    )
    duplicate_version: int | None = Field(
        None, description="Refuse the merge (409) if the duplicate changed since this version."
    )
    survivor_version: int | None = Field(
        None, description="Refuse the merge (409) if this customer changed since this version."
    )
