"""Reads for the storefront: the session behind a token, the guest a registration turns into a
customer, the cart an order converts, the order an idempotency key placed, and the customer's
own account (groups, orders, addresses, consent history). Each runs a fixed number of queries
whatever the customer's history; lists are served by indexes that start with the customer.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from comptoir.core.normalise import email_key
from comptoir.customers.models import Address, ConsentRecord, Customer
from comptoir.groups.models import Group
from comptoir.orders.models import Cart, CartStatus, Order, OrderLine
from comptoir.storefront.models import CustomerSession, OrderIdempotencyKey, token_hash


def session_find(*, raw_token: str) -> CustomerSession | None:
    """The session behind a bearer token (revoked and expired ones included, so the caller can
    say which), with its customer, the customer's title and default group: one query."""
    if not raw_token or len(raw_token) > 200:
        return None
    return (
        CustomerSession.objects.select_related(
            "customer", "customer__default_group", "customer__title"
        )
        .filter(token_hash=token_hash(raw_token))
        .first()
    )


def customer_for_login(*, email: str) -> Customer | None:
    """The registered, live customer who logs in with this e-mail (there is at most one)."""
    key = email_key(email)
    if not key:
        return None
    return (
        Customer.objects.filter(
            email_key=key, is_guest=False, deleted_at__isnull=True, anonymised_at__isnull=True
        )
        .select_related("default_group", "title")
        .first()
    )


def guest_to_register(*, email: str) -> Customer | None:
    """The newest live guest of this e-mail: registering turns it into the customer (the others
    are folded into it by the guest conversion)."""
    key = email_key(email)
    if not key:
        return None
    return (
        Customer.objects.filter(
            email_key=key, is_guest=True, deleted_at__isnull=True, anonymised_at__isnull=True
        )
        .order_by("-id")
        .first()
    )


def cart_for_order(*, cart_id: int) -> Cart | None:
    return Cart.objects.select_related("customer").filter(pk=cart_id).first()


def cart_open_newest(*, customer_id: int) -> Cart | None:
    """The customer's newest open cart: the one an order without a cart id converts."""
    return (
        Cart.objects.filter(customer_id=customer_id, status=CartStatus.OPEN)
        .order_by("-created_at", "-id")
        .first()
    )


def cart_id_of_order(*, order_id: int) -> int | None:
    """The cart an order converted, if any."""
    return (
        Cart.objects.filter(order_id=order_id).order_by("id").values_list("pk", flat=True).first()
    )


def order_by_idempotency_key(*, key: str) -> OrderIdempotencyKey | None:
    """The order placed with this ``Idempotency-Key``, with its customer and the group whose
    discount it got: one query."""
    return (
        OrderIdempotencyKey.objects.select_related(
            "order", "order__customer", "order__customer__default_group", "group"
        )
        .filter(key=key)
        .first()
    )


def account_groups(*, customer: Customer) -> list[Group]:
    """The groups the customer belongs to (the default one among them), oldest first."""
    return list(Group.objects.filter(memberships__customer=customer).order_by("id"))


def account_addresses(*, customer_id: int) -> QuerySet[Address]:
    return Address.objects.filter(customer_id=customer_id).order_by("id")


def account_address(*, customer_id: int, address_id: int) -> Address | None:
    """One of the customer's addresses; None for another customer's (the caller answers 404)."""
    return Address.objects.filter(customer_id=customer_id, pk=address_id).first()


CONSENT_HISTORY_LIMIT = 100


def account_consent_history(*, customer_id: int) -> list[ConsentRecord]:
    """The customer's consent changes, newest first (the latest ``CONSENT_HISTORY_LIMIT``)."""
    return list(
        ConsentRecord.objects.filter(customer_id=customer_id)
        .order_by("-created_at", "-id")
        .only("channel", "granted", "created_at", "source", "opt_in_level")[:CONSENT_HISTORY_LIMIT]
    )


@dataclass(frozen=True)
class OrdersPage:
    orders: list[Order]
    next_cursor: str | None


def _cursor_encode(order: Order) -> str:
    raw = f"{order.created_at.isoformat()}|{order.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[datetime.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, pk = raw.split("|")
        created_at = datetime.datetime.fromisoformat(at)
        if created_at.tzinfo is None:
            raise ValueError("naive")
        return created_at, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationError(
            {"cursor": ValidationError(_("This cursor is not valid."), code="invalid")}
        ) from None


def account_orders(*, customer_id: int, limit: int, cursor: str | None = None) -> OrdersPage:
    """A page of the customer's orders with their lines, newest first: a seek along the
    ``order_customer_recent`` index (customer, -created_at, -id), then the lines; two queries."""
    orders = Order.objects.filter(customer_id=customer_id)
    if cursor:
        created_at, pk = _cursor_decode(cursor)
        orders = orders.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    rows = list(
        orders.order_by("-created_at", "-id").prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.order_by("id"))
        )[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return OrdersPage(orders=rows, next_cursor=_cursor_encode(rows[-1]) if more else None)
