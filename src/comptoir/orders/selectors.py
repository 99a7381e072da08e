"""Reads of the commerce facts kept beside one customer: their orders (valid and invalid apart,
with totals), the products they bought, their carts, vouchers and visits.

Each function takes a customer id and returns a queryset in a stable order (id breaks ties) or a
small summary, so the caller pages through it with a fixed number of queries whatever the
customer's history; every one of them is served by an index that starts with the customer.
Where the id may be an ``OuterRef``, the caller can count the rows in a subquery of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from comptoir.orders.models import Cart, Order, OrderLine, Visit, Voucher

if TYPE_CHECKING:
    from comptoir.customers.models import Customer

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class OrdersSummary:
    """How many orders a customer has on each side of the valid/invalid line, and their sums.

    ``key`` tells one set of valid orders from another (see ``customer_orders_summary``), so
    what is derived from the valid orders can be cached under it.
    """

    valid_count: int = 0
    valid_total: Decimal = ZERO
    invalid_count: int = 0
    invalid_total: Decimal = ZERO
    invalid_ids_sum: int = 0

    @property
    def count(self) -> int:
        return self.valid_count + self.invalid_count

    @property
    def key(self) -> str:
        return ":".join(
            str(part)
            for part in (
                self.valid_count,
                self.valid_total,
                self.invalid_count,
                self.invalid_ids_sum,
            )
        )


def customer_orders_summary(*, customer: Customer) -> OrdersSummary:
    """Counts and totals of the customer's valid and invalid orders.

    The valid side and the invalid count are the figures stored on the customer (moved by
    ``order_record`` and ``order_status_set``); only the invalid orders' sum is read, from the
    ``order_customer_split`` index alone. Summing all 10,000 orders of a big customer took 2-4
    ms a page; the invalid ones are a few.

    The sum of the invalid orders' ids makes ``key`` change with the set of valid orders: a new
    order changes a count, a status change a count or (two orders of the same amount swapping
    sides) the invalid ids; orders never leave a customer otherwise.
    """
    invalid = Order.objects.filter(customer_id=customer.pk, is_valid=False).aggregate(
        total=Coalesce(Sum("total"), ZERO), ids_sum=Sum("id")
    )
    return OrdersSummary(
        valid_count=customer.orders_count,
        valid_total=Decimal(customer.total_spent).quantize(ZERO),
        invalid_count=customer.invalid_orders_count,
        invalid_total=Decimal(invalid["total"]).quantize(ZERO),
        invalid_ids_sum=int(invalid["ids_sum"] or 0),
    )


def customer_orders(*, customer_id: int, valid: bool) -> QuerySet[Order]:
    """The customer's valid (or invalid) orders, newest first: a range of the
    ``order_customer_split`` index (customer, is_valid, -created_at, -id)."""
    return (
        Order.objects.filter(customer_id=customer_id, is_valid=valid)
        .order_by("-created_at", "-id")
        .only(
            "id",
            "reference",
            "created_at",
            "status",
            "is_valid",
            "total",
            "currency",
            "payment_method",
        )
    )


@dataclass(frozen=True)
class PurchasedProduct:
    reference: str
    name: str
    quantity: int
    total: Decimal


PRODUCTS_CACHE_SECONDS = 3600


def customer_products(*, customer_id: int, summary: OrdersSummary) -> list[PurchasedProduct]:
    """What the customer bought in their valid orders, one row per product (reference and
    name) with the quantity and the amount, most bought first; grouped by the database.

    Grouping a big customer's lines takes a while (some 17,000 lines for 10,000 orders: ~15 ms
    on SQLite), so the result is kept under the customer's set of valid orders (see
    ``OrdersSummary.key``): lines never change once an order is recorded, so the same valid
    orders mean the same products, and any change to them makes a new key.
    """
    if not summary.valid_count:
        return []
    key = f"orders:products:{customer_id}:{summary.key}"
    products = cache.get(key)
    if products is None:
        rows = (
            OrderLine.objects.filter(order__customer_id=customer_id, order__is_valid=True)
            .values("product_reference", "product_name")
            .annotate(quantity=Sum("quantity"), total=Sum("total"))
            .order_by("-quantity", "product_name", "product_reference")
        )
        products = [
            PurchasedProduct(
                reference=row["product_reference"],
                name=row["product_name"],
                quantity=row["quantity"],
                total=Decimal(row["total"]).quantize(ZERO),
            )
            for row in rows
        ]
        cache.set(key, products, PRODUCTS_CACHE_SECONDS)
    return products


@dataclass(frozen=True)
class CartsSummary:
    """How many of a customer's carts are open, abandoned, converted into an order."""

    open: int = 0
    abandoned: int = 0
    converted: int = 0

    @property
    def count(self) -> int:
        return self.open + self.abandoned + self.converted


def customer_carts(*, customer_id, status: str | None = None) -> QuerySet[Cart]:
    """The customer's carts (those in ``status`` only, if given), newest first.
    ``customer_id`` may be an ``OuterRef`` (to count them in a subquery)."""
    carts = Cart.objects.filter(customer_id=customer_id)
    if status is not None:
        carts = carts.filter(status=status)
    return carts.order_by("-created_at", "-id")


def customer_vouchers(*, customer_id) -> QuerySet[Voucher]:
    """The vouchers reserved to the customer: unused first, then the newest."""
    return Voucher.objects.filter(customer_id=customer_id).order_by("is_used", "-created_at", "-id")


def customer_visits(*, customer_id) -> QuerySet[Visit]:
    """The customer's storefront visits (date, IP, referrer), newest first."""
    return Visit.objects.filter(customer_id=customer_id).order_by("-created_at", "-id")
