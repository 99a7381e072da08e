"""The storefront API's bodies. Inputs are ``StrictSchema`` (unknown fields refused) with the
database's limits on every text and number, so nothing the database would refuse gets that far.
Outputs list their fields one by one: no password hash or token can slip into an answer (the
only token ever given is the session token, once, in the log-in and registration answers).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from comptoir.core.api import ProblemOut, StrictSchema
from comptoir.orders.models import OrderStatus

# The largest id a bigint column holds: a larger one would be a database error, not a 404.
ID_MAX = 2**63 - 1

OrderStatusValue = Literal[tuple(OrderStatus.values)]  # type: ignore[valid-type]
ChannelValue = Literal["newsletter", "partner_offers", "sms"]


# --- problems ---------------------------------------------------------------------------------


def with_problems(responses: dict, *statuses: int) -> dict:
    """An operation's responses, with the problem statuses of its own it may answer beyond the
    common ones (400, 401, 403, 404, 413, 429), which the foundation documents for every
    operation. The storefront's refusals add a ``reason`` code to the problem document; which
    one each operation may answer is said in its description."""
    return {**responses, **dict.fromkeys(statuses, ProblemOut)}


# --- shared pieces ------------------------------------------------------------------------------


class GroupOut(Schema):
    id: int
    name: str
    discount: Decimal = Field(description="Percent taken off the products' total.")
    price_display: str
    show_prices: bool
    css_class: str


class TitleOut(Schema):
    id: int
    name: str


class ConsentStateOut(Schema):
    granted: bool
    changed_at: datetime.datetime | None


class ConsentsOut(Schema):
    newsletter: ConsentStateOut
    partner_offers: ConsentStateOut
    sms: ConsentStateOut


class MeOut(Schema):
    id: int
    email: str
    title: TitleOut | None
    first_name: str
    last_name: str
    phone: str
    mobile: str
    birthday: datetime.date | None
    language: str
    company: str
    vat_number: str
    siret: str
    website: str
    can_order: bool = Field(description="False when the shop has blocked this customer.")
    default_group: GroupOut = Field(description="The group whose prices and discount apply.")
    groups: list[GroupOut]
    consents: ConsentsOut
    orders_count: int
    total_spent: Decimal
    last_order_at: datetime.datetime | None
    created_at: datetime.datetime


class TokenOut(Schema):
    token: str = Field(description="Send it as 'Authorization: Bearer <token>'. Shown once.")
    token_type: str = "Bearer"
    expires_at: datetime.datetime


# --- log in, register, password reset ---------------------------------------------------------


class LoginIn(StrictSchema):
    email: str = Field(max_length=254)
    # Argon2 hashes whatever it is given: a bound keeps one request from costing seconds.
    password: str = Field(max_length=4096)


class LoginOut(Schema):
    session: TokenOut
    customer: MeOut


class ConsentsIn(StrictSchema):
    """Each consent the customer gave (true) or refused (false); one left out is not changed."""

    newsletter: bool | None = None
    partner_offers: bool | None = None
    sms: bool | None = None


class RegisterIn(StrictSchema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=4096)
    first_name: str = Field(max_length=255)
    last_name: str = Field(max_length=255)
    language: Literal["fr", "en"] | None = None
    consents: ConsentsIn = Field(default_factory=ConsentsIn)


class RegisterOut(Schema):
    customer: MeOut
    session: TokenOut | None = Field(description="None when the account is disabled.")
    converted_guest: bool = Field(description="An earlier guest of this e-mail became it.")
    merged_guests: int = Field(description="Other guests of this e-mail folded into it.")


class PasswordResetIn(StrictSchema):
    email: str = Field(max_length=254)


class PasswordResetConfirmIn(StrictSchema):
    token: str = Field(max_length=200)
    password: str = Field(max_length=4096)


class AcceptedOut(Schema):
    detail: str


# --- orders -------------------------------------------------------------------------------------


class LineIn(StrictSchema):
    product_name: str = Field(min_length=1, max_length=255)
    reference: str = Field("", max_length=64)
    quantity: int = Field(ge=1, le=100_000)
    unit_price: Decimal = Field(ge=0, le=Decimal("1000000000"), decimal_places=2)


class AddressFields(StrictSchema):
    alias: str = Field("", max_length=32)
    first_name: str = Field(max_length=255)
    last_name: str = Field(max_length=255)
    company: str = Field("", max_length=255)
    vat_number: str = Field("", max_length=32)
    address1: str = Field(max_length=255)
    address2: str = Field("", max_length=255)
    postcode: str = Field("", max_length=16)
    city: str = Field(max_length=128)
    state: str = Field("", max_length=64)
    country: str = Field(max_length=2, description="ISO 3166-1 alpha-2, e.g. FR.")
    phone: str = Field("", max_length=40)


class OrderIn(StrictSchema):
    email: str = Field(max_length=254)
    first_name: str = Field(max_length=255)
    last_name: str = Field(max_length=255)
    lines: list[LineIn] = Field(min_length=1, max_length=500)
    status: OrderStatusValue = "paid"
    currency: str = Field("EUR", pattern=r"^[A-Za-z]{3}$")
    payment_method: str = Field("", max_length=64)
    cart_id: int | None = Field(None, ge=1, le=ID_MAX, description="The cart it converts.")
    shipping: AddressFields | None = Field(
        None, description="Kept in the customer's address book unless already there."
    )


class LineOut(Schema):
    reference: str
    product_name: str
    quantity: int
    unit_price: Decimal
    total: Decimal


class OrderOut(Schema):
    id: int
    reference: str
    created_at: datetime.datetime
    status: str
    currency: str
    payment_method: str
    total_products: Decimal
    discount_percent: Decimal
    discount_amount: Decimal
    total: Decimal
    lines: list[LineOut]


class DiscountOut(Schema):
    group_id: int
    group_name: str
    percent: Decimal
    amount: Decimal


class OrderCustomerOut(Schema):
    id: int
    email: str
    is_guest: bool
    created: bool = Field(description="A guest was created for this order.")


class PlacedOrderOut(OrderOut):
    discount: DiscountOut
    customer: OrderCustomerOut
    cart_id: int | None


class OrdersPageOut(Schema):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="Pass it as 'cursor' for the next page.")


# --- my account -------------------------------------------------------------------------------


class MePatchIn(StrictSchema):
    """The fields to change; those left out stay. The e-mail is the login and is not changed
    here."""

    title_id: int | None = Field(None, ge=1, le=ID_MAX)
    first_name: str = Field(None, max_length=255)
    last_name: str = Field(None, max_length=255)
    phone: str | None = Field(None, max_length=40)
    mobile: str | None = Field(None, max_length=40)
    birthday: datetime.date | None = None
    language: Literal["fr", "en"] = None
    company: str | None = Field(None, max_length=255)
    vat_number: str | None = Field(None, max_length=32)
    siret: str | None = Field(None, max_length=20)
    website: str | None = Field(None, max_length=200)


class AddressIn(AddressFields):
    default_shipping: bool = False
    default_billing: bool = False


class AddressPatchIn(StrictSchema):
    alias: str = Field(None, max_length=32)
    first_name: str = Field(None, max_length=255)
    last_name: str = Field(None, max_length=255)
    company: str = Field(None, max_length=255)
    vat_number: str = Field(None, max_length=32)
    address1: str = Field(None, max_length=255)
    address2: str = Field(None, max_length=255)
    postcode: str = Field(None, max_length=16)
    city: str = Field(None, max_length=128)
    state: str = Field(None, max_length=64)
    country: str = Field(None, max_length=2)
    phone: str = Field(None, max_length=40)
    default_shipping: bool = Field(None, description="true makes it the default.")
    default_billing: bool = Field(None, description="true makes it the default.")


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


class ConsentChangeOut(Schema):
    channel: str
    granted: bool
    opt_in_level: str
    source: str
    at: datetime.datetime


class ConsentsHistoryOut(Schema):
    current: ConsentsOut
    history: list[ConsentChangeOut] = Field(description="Newest first (the latest 100).")


class ConsentSetIn(StrictSchema):
    granted: bool


class ConsentSetOut(Schema):
    channel: str
    granted: bool
    changed: bool = Field(description="False when it already was so (no history row).")
    changed_at: datetime.datetime | None


class EraseIn(StrictSchema):
    password: str = Field(max_length=4096, description="The customer confirms with it.")


class EraseOut(Schema):
    status: Literal["erased", "pending"] = Field(
        description="'pending': kept for the shop's staff to handle (a blocked account)."
    )
    mode: str | None = Field(description="The delete mode applied: allow, deny or anonymise.")
