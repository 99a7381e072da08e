"""Placing an order from the storefront's checkout: the order itself is ``order_write``'s (it
links the customer by e-mail or creates a guest, refuses a blocked customer before writing
anything, applies the default group's discount and moves the stored figures); this adds what the
checkout brings with it: the cart it converts, the shipping address it was sent to, and the
``Idempotency-Key`` that makes a retried checkout get the first order back instead of a second.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.normalise import email_clean, email_key
from comptoir.customers.models import Address, Customer
from comptoir.customers.selectors import customer_find_by_email
from comptoir.customers.services import address_create
from comptoir.groups.models import Group
from comptoir.orders.models import Cart, CartStatus, Order, OrderStatus
from comptoir.orders.services import LineInput, order_write
from comptoir.storefront.errors import IdempotencyKeyRefused
from comptoir.storefront.models import OrderIdempotencyKey
from comptoir.storefront.selectors import (
    cart_for_order,
    cart_id_of_order,
    cart_open_newest,
    order_by_idempotency_key,
)

# Order.total has 14 digits, 2 of them decimals.
ORDER_TOTAL_MAX = Decimal("999999999999.99")


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    customer: Customer  # as read to place the order: its stored figures are those before it
    group: Group  # the default group whose discount was applied
    cart_id: int | None
    customer_created: bool  # a guest was created for this order
    replayed: bool = False  # an earlier call with the same Idempotency-Key placed it


def _cart_check(cart_id: int, key: str) -> Cart:
    """The cart an order converts: it exists, is not converted yet, and belongs to nobody or to
    a customer of the order's e-mail (a guest of it, or its account)."""
    cart = cart_for_order(cart_id=cart_id)
    if cart is None:
        raise ValidationError({"cart_id": ValidationError(_("No such cart."), code="not_found")})
    if cart.status == CartStatus.CONVERTED:
        raise ValidationError(
            {"cart_id": ValidationError(_("This cart is already an order."), code="converted")}
        )
    if cart.customer is not None and cart.customer.email_key != key:
        raise ValidationError(
            {
                "cart_id": ValidationError(
                    _("This cart belongs to another customer."), code="foreign"
                )
            }
        )
    return cart


def _shipping_keep(customer: Customer, shipping: Mapping[str, Any], actor: Actor) -> None:
    """Keep the shipping address in the customer's address book, unless they have it already."""
    same = {
        field: shipping.get(field) or ""
        for field in ("first_name", "last_name", "address1", "postcode", "city")
    }
    country = str(shipping.get("country") or "").upper()
    if Address.objects.filter(customer=customer, country=country, **same).exists():
        return
    try:
        address_create(customer=customer, actor=actor, **shipping)
    except ValidationError as exc:
        raise ValidationError(
            {f"shipping.{field}": errors for field, errors in exc.error_dict.items()}
        ) from None


def _request_digest(**asked: Any) -> str:
    """A digest of what an order call asked for: a retry must ask for the same."""

    def plain(value: Any) -> Any:
        if isinstance(value, LineInput):
            return [
                value.product_name,
                value.quantity,
                f"{Decimal(value.unit_price):.2f}",
                value.product_reference,
            ]
        if isinstance(value, Decimal):
            return f"{value:.2f}"
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return value

    text = json.dumps(plain(asked), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _order_replay(*, key: str, digest: str) -> PlacedOrder | None:
    """The order placed earlier with this key, as it was answered; None for a new key."""
    earlier = order_by_idempotency_key(key=key)
    if earlier is None:
        return None
    if earlier.request_hash != digest:
        raise IdempotencyKeyRefused("idempotency_key_reused")
    order = earlier.order
    customer = order.customer
    if customer is None:  # erased since (its orders stay, unlinked)
        raise IdempotencyKeyRefused("idempotency_key_spent")
    return PlacedOrder(
        order=order,
        customer=customer,
        group=earlier.group or customer.default_group,
        cart_id=cart_id_of_order(order_id=order.pk),
        customer_created=earlier.customer_created,
        replayed=True,
    )


def storefront_order_place(
    *,
    actor: Actor,
    email: str,
    first_name: str,
    last_name: str,
    lines: Sequence[LineInput],
    status: str = OrderStatus.PAID,
    currency: str = "EUR",
    payment_method: str = "",
    cart_id: int | None = None,
    shipping: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> PlacedOrder:
    """Place an order from the checkout.

    The cart converted is ``cart_id``, else the customer's newest open cart (an order is one
    cart: the others stay as they are). A blocked customer gets ``CustomerBlockedError`` and
    nothing is written: no customer, no order, no cart or address change, no event.

    With an ``idempotency_key`` a call is placed once: a later call with the same key and the
    same request gets the first order back (``replayed``), whatever happened since; with another
    request, ``IdempotencyKeyRefused``. Two calls racing with one key: the second waits on the
    key's unique index, is rolled back whole, and answers the first one's order. A call that was
    refused (a validation error, a blocked customer) keeps nothing, so its key may be retried.
    """
    asked = {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "lines": list(lines),
        "status": status,
        "currency": currency,
        "payment_method": payment_method,
        "cart_id": cart_id,
        "shipping": shipping,
    }
    if not idempotency_key:
        return _order_place(actor=actor, **asked)
    digest = _request_digest(**asked)
    earlier = _order_replay(key=idempotency_key, digest=digest)
    if earlier is not None:
        return earlier
    try:
        return _order_place(actor=actor, idempotency=(idempotency_key, digest), **asked)
    except IntegrityError:
        earlier = _order_replay(key=idempotency_key, digest=digest)
        if earlier is None:
            raise
        return earlier


@transaction.atomic
def _order_place(
    *,
    actor: Actor,
    email: str,
    first_name: str,
    last_name: str,
    lines: Sequence[LineInput],
    status: str = OrderStatus.PAID,
    currency: str = "EUR",
    payment_method: str = "",
    cart_id: int | None = None,
    shipping: Mapping[str, Any] | None = None,
    idempotency: tuple[str, str] | None = None,
) -> PlacedOrder:
    try:
        email = email_clean(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.error_list}) from None
    if not email:
        raise ValidationError(
            {"email": ValidationError(_("This field is required."), code="required")}
        )
    total = sum((Decimal(line.unit_price) * int(line.quantity) for line in lines), Decimal("0"))
    if total > ORDER_TOTAL_MAX:
        raise ValidationError(
            {"lines": ValidationError(_("The order total is too large."), code="too_large")}
        )
    key = email_key(email)
    cart = _cart_check(cart_id, key) if cart_id is not None else None
    # Read locked, with its default group, once: order_write does not read it again.
    existing = customer_find_by_email(email=email, lock=True)
    if existing is not None and (existing.deleted_at or existing.anonymised_at):
        existing = None
    if cart is None and existing is not None:
        cart = cart_open_newest(customer_id=existing.pk)
    order = order_write(
        actor=actor,
        email=email,
        first_name=first_name,
        last_name=last_name,
        lines=lines,
        status=status,
        currency=currency,
        payment_method=payment_method,
        cart=cart,
        customer=existing,
        customer_locked=existing is not None,
    )
    # The customer order_write locked and ordered for, with its default group: not read again.
    customer = order.customer
    if cart is not None and cart.customer_id is None:
        Cart.objects.filter(pk=cart.pk).update(customer=customer)
    if shipping:
        _shipping_keep(customer, shipping, actor)
    if idempotency is not None:
        # Last, so it holds the lock on the key for the shortest time: a concurrent call with
        # the same key waits here for this one, then fails on the unique key and replays it.
        OrderIdempotencyKey.objects.create(
            key=idempotency[0],
            request_hash=idempotency[1],
            order=order,
            group=customer.default_group,
            customer_created=existing is None,
            created_at=timezone.now(),
        )
    return PlacedOrder(
        order=order,
        customer=customer,
        group=customer.default_group,
        cart_id=cart.pk if cart is not None else None,
        customer_created=existing is None,
    )
