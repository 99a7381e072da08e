"""Writes of orders and visits, and the stored figures they move on the customer row."""

from __future__ import annotations

import datetime
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import event_record
from comptoir.customers.models import Customer
from comptoir.customers.selectors import customer_find_by_email
from comptoir.customers.services import customer_create
from comptoir.orders.models import (
    VALID_STATUSES,
    Cart,
    CartStatus,
    Order,
    OrderLine,
    OrderStatus,
    Visit,
)

CENT = Decimal("0.01")


class CustomerBlockedError(ValidationError):
    """The customer may not order. ``reason`` is for staff; the message is for the customer."""

    def __init__(self, customer: Customer):
        super().__init__(
            _("This customer account is blocked from ordering. Please contact the shop."),
            code="customer_blocked",
        )
        self.customer_id = customer.pk
        self.reason = customer.blocked_reason


@dataclass(frozen=True)
class LineInput:
    product_name: str
    quantity: int
    unit_price: Decimal
    product_reference: str = ""


def _reference_new() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(9))


def _order_insert(**fields) -> Order:
    """Insert an order under a fresh random reference, drawing again on the rare collision
    (26^9 references: with millions of orders a clash is possible, not likely)."""
    for _attempt in range(5):
        reference = _reference_new()
        try:
            with transaction.atomic():
                return Order.objects.create(reference=reference, **fields)
        except IntegrityError:
            if not Order.objects.filter(reference=reference).exists():
                raise  # another constraint refused the row: not a clash
    raise IntegrityError("no free order reference after 5 draws")


def _lines_clean(lines: Sequence[LineInput]) -> list[LineInput]:
    if not lines:
        raise ValidationError({"lines": _("An order needs at least one line.")}, code="required")
    for line in lines:
        if not line.product_name.strip():
            raise ValidationError({"lines": _("Each line needs a product name.")})
        if int(line.quantity) <= 0:
            raise ValidationError({"lines": _("Quantities must be at least 1.")})
        if Decimal(line.unit_price) < 0:
            raise ValidationError({"lines": _("Prices cannot be negative.")})
    return list(lines)


def _figures_after_order(*, is_valid: bool, total: Decimal, at: datetime.datetime) -> dict:
    """The F() updates an order applies to its customer's stored figures."""
    figures = {
        "first_order_at": Case(
            When(first_order_at__isnull=True, then=Value(at)),
            When(first_order_at__gt=at, then=Value(at)),
            default=F("first_order_at"),
        ),
        "last_order_at": Case(
            When(last_order_at__isnull=True, then=Value(at)),
            When(last_order_at__lt=at, then=Value(at)),
            default=F("last_order_at"),
        ),
    }
    if is_valid:
        figures.update(orders_count=F("orders_count") + 1, total_spent=F("total_spent") + total)
    else:
        figures.update(invalid_orders_count=F("invalid_orders_count") + 1)
    return figures


def order_write(
    *,
    actor: Actor,
    email: str,
    first_name: str,
    last_name: str,
    lines: Sequence[LineInput],
    status: str = OrderStatus.PAID,
    currency: str = "EUR",
    payment_method: str = "",
    created_at: datetime.datetime | None = None,
    cart: Cart | None = None,
    customer: Customer | None = None,
    customer_locked: bool = False,
) -> Order:
    """Record an order: link it to the customer of that e-mail (or a new guest), apply the
    default group's discount, and move the customer's figures. A blocked customer is refused
    before anything is written. Call it inside a transaction (``order_record`` holds one).

    ``customer_locked``: the given customer was read in this transaction with its row locked
    and its default group (``customer_find_by_email(lock=True)``), so it is not read again."""
    if status not in OrderStatus.values:
        raise ValidationError({"status": _("Unknown order status.")}, code="invalid_choice")
    lines = _lines_clean(lines)
    if customer is None:
        customer = customer_find_by_email(email=email, lock=True)
        customer_locked = True
    if customer is not None and (customer.deleted_at or customer.anonymised_at):
        customer = None
    if customer is None:
        customer = customer_create(
            actor=actor, first_name=first_name, last_name=last_name, email=email, is_guest=True
        )
        customer_locked = False
    if not customer_locked:
        # Only the customer's row is locked (OF self): locking its default group's row too
        # would make every checkout of that group wait for the one before to commit.
        customer = (
            Customer.objects.select_for_update(of=("self",))
            .select_related("default_group")
            .get(pk=customer.pk)
        )
    if customer.is_blocked:
        raise CustomerBlockedError(customer)

    at = created_at or timezone.now()
    total_products = sum(
        (Decimal(line.unit_price) * int(line.quantity) for line in lines), Decimal("0")
    ).quantize(CENT)
    discount_percent = customer.default_group.discount
    discount_amount = (total_products * discount_percent / 100).quantize(CENT, ROUND_HALF_UP)
    total = total_products - discount_amount
    is_valid = status in VALID_STATUSES
    order = _order_insert(
        customer=customer,
        customer_first_name=customer.first_name,
        customer_last_name=customer.last_name,
        customer_email=customer.email,
        created_at=at,
        status=status,
        is_valid=is_valid,
        total_products=total_products,
        discount_percent=discount_percent,
        discount_amount=discount_amount,
        total=total,
        currency=currency.upper(),
        payment_method=payment_method,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product_reference=line.product_reference,
            product_name=line.product_name.strip(),
            quantity=int(line.quantity),
            unit_price=Decimal(line.unit_price),
            total=(Decimal(line.unit_price) * int(line.quantity)).quantize(CENT),
        )
        for line in lines
    )
    Customer.objects.filter(pk=customer.pk).update(
        **_figures_after_order(is_valid=is_valid, total=total, at=at)
    )
    if cart is not None:
        Cart.objects.filter(pk=cart.pk).update(
            status=CartStatus.CONVERTED, order=order, updated_at=timezone.now()
        )
    event_record(
        kind="order_recorded",
        actor=actor,
        customer_id=customer.pk,
        data={
            "order": order.pk,
            "reference": order.reference,
            "total": total,
            "status": status,
            "valid": is_valid,
        },
    )
    return order


# The same, in a transaction of its own (a savepoint inside the caller's): for a caller that
# holds none, or that must go on after a refused order. The storefront's checkout, whose own
# transaction holds the whole order, calls order_write and spares the savepoint's round trips.
order_record = transaction.atomic(order_write)


@transaction.atomic
def order_status_set(*, order: Order, status: str, actor: Actor) -> Order:
    """Change an order's status; moving between valid and invalid moves the customer's figures."""
    if status not in OrderStatus.values:
        raise ValidationError({"status": _("Unknown order status.")}, code="invalid_choice")
    order = Order.objects.select_for_update().get(pk=order.pk)
    before, was_valid = order.status, order.is_valid
    if before == status:
        return order
    order.status, order.is_valid = status, status in VALID_STATUSES
    order.save(update_fields=["status", "is_valid"])
    if order.customer_id and was_valid != order.is_valid:
        sign = 1 if order.is_valid else -1
        Customer.objects.filter(pk=order.customer_id).update(
            orders_count=F("orders_count") + sign,
            invalid_orders_count=F("invalid_orders_count") - sign,
            total_spent=F("total_spent") + sign * order.total,
        )
    if order.customer_id:
        event_record(
            kind="order_status_changed",
            actor=actor,
            customer_id=order.customer_id,
            data={
                "order": order.pk,
                "reference": order.reference,
                "before": before,
                "after": status,
            },
        )
    return order


@transaction.atomic
def visit_record(
    *,
    customer: Customer,
    ip_address: str | None = None,
    referrer: str = "",
    at: datetime.datetime | None = None,
) -> Visit:
    """Record a storefront visit and move the customer's last-visit date.

    No event: a visit is a fact of its own table, not a change someone made to the customer.
    """
    at = at or timezone.now()
    visit = Visit.objects.create(
        customer=customer, created_at=at, ip_address=ip_address or None, referrer=referrer[:512]
    )
    Customer.objects.filter(pk=customer.pk).update(
        last_visit_at=Case(
            When(last_visit_at__isnull=True, then=Value(at)),
            When(last_visit_at__lt=at, then=Value(at)),
            default=F("last_visit_at"),
        )
    )
    return visit
