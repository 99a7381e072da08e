"""Reads of one customer for their page: the customer with its key figures (the rank by sales
included) and the page's blocks (consents, groups, tags, addresses, orders, carts, products,
messages, vouchers, visits, timeline), each one page at a time.

The page runs a fixed number of queries whatever the customer's history: the customer; every
block's count in one statement; the invalid orders' sum; then one page per block,
read from an index that starts with the customer. A block alone (its htmx reload) runs its own
queries only. What would grow with the whole shop or a big customer is kept in the cache under
a key that changes with the data: the rank by sales and the group names (per data version),
the purchased products (per set of valid orders).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Case, IntegerField, Model, QuerySet, Value, When

from comptoir.core.models import Event
from comptoir.customers.models import Address, ConsentRecord, Customer, Membership, Tag
from comptoir.customers.selectors.listing import data_version
from comptoir.groups.models import Group
from comptoir.orders.models import Cart, CartStatus, Visit, Voucher
from comptoir.orders.selectors import (
    CartsSummary,
    OrdersSummary,
    customer_carts,
    customer_orders,
    customer_orders_summary,
    customer_products,
    customer_visits,
    customer_vouchers,
)
from comptoir.support.models import Thread
from comptoir.support.selectors import customer_threads, customer_threads_with_last_message


@dataclass(frozen=True)
class BlockPage:
    """One page of a block's rows. A page asked for past the end shows the last one."""

    rows: Sequence[Any]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.rows) - 1 if self.rows else 0


@dataclass(frozen=True)
class Block:
    """A block of the customer page: its page of rows and, for some, a summary (the orders'
    counts and totals, the carts by status)."""

    name: str
    page: BlockPage
    summary: Any = None


def _page_number(number: int, total: int, per_page: int) -> int:
    return min(max(number, 1), max(1, -(-total // per_page)))


def _page_of(queryset: QuerySet, *, name: str, number: int, total: int) -> BlockPage:
    """The page of ``queryset`` (already ordered, stable): one query, always run, so that an
    empty block costs what a full one does.

    A page past the middle is read from the other end, in the reversed order, then flipped
    back (as the customers list does): the last page of 10,000 orders costs what the first
    does instead of stepping over 9,990 rows."""
    per_page = PER_PAGE[name]
    shown = _page_number(number, total, per_page)
    offset = (shown - 1) * per_page
    if offset > total // 2:
        end = total - offset
        rows = list(queryset.reverse()[max(0, end - per_page) : end])[::-1]
    else:
        rows = list(queryset[offset : offset + per_page])
    return BlockPage(rows=rows, number=shown, per_page=per_page, total=total)


def _page_of_list(items: Sequence[Any], *, name: str, number: int) -> BlockPage:
    per_page = PER_PAGE[name]
    shown = _page_number(number, len(items), per_page)
    offset = (shown - 1) * per_page
    return BlockPage(
        rows=list(items[offset : offset + per_page]),
        number=shown,
        per_page=per_page,
        total=len(items),
    )


# Rows a page of each block shows: the main lists get ten, the side ones five (the page is long
# and each renders its rows). Groups and tags are short lists: one page nearly always.
PER_PAGE = {
    "consents": 5,
    "groups": 20,
    "tags": 30,
    "addresses": 4,
    "orders": 10,
    "invalid_orders": 5,
    "carts": 5,
    "products": 10,
    "messages": 5,
    "vouchers": 5,
    "visits": 5,
    "timeline": 10,
}
BLOCK_NAMES = tuple(PER_PAGE)


# The rows each count is taken of: (model, extra column = value conditions), each on an index
# that starts with the customer.
COUNTED: dict[str, tuple[type[Model], dict[str, str]]] = {
    "consents": (ConsentRecord, {}),
    "groups": (Membership, {}),
    "tags": (Customer.tags.through, {}),
    "addresses": (Address, {}),
    "carts_open": (Cart, {"status": CartStatus.OPEN}),
    "carts_abandoned": (Cart, {"status": CartStatus.ABANDONED}),
    "carts_converted": (Cart, {"status": CartStatus.CONVERTED}),
    "messages": (Thread, {}),
    "vouchers": (Voucher, {}),
    "visits": (Visit, {}),
    "timeline": (Event, {}),
}


def _counts(pk: int, names: Sequence[str]) -> dict[str, int]:
    """The named counts of one customer's rows, in one statement of scalar subqueries.

    Written out rather than built by the ORM: the same eleven counts as ``Subquery``
    annotations took some 4 ms a page to compile, more than the database takes to answer them
    for a customer with 10,000 orders.
    """
    if not names:
        return {}
    quote = connection.ops.quote_name
    selects, params = [], []
    for name in names:
        model, conditions = COUNTED[name]
        where = [f"{quote(model._meta.get_field('customer').column)} = %s"]
        params.append(pk)
        for column, value in conditions.items():
            where.append(f"{quote(column)} = %s")
            params.append(str(value))
        selects.append(
            f"(SELECT COUNT(*) FROM {quote(model._meta.db_table)} WHERE {' AND '.join(where)})"
        )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(selects)}", params)
        return dict(zip(names, cursor.fetchone(), strict=True))


# The counts a block needs (the orders' come from their summary, the products are a list).
COUNTS_OF_BLOCK = {
    "carts": ("carts_open", "carts_abandoned", "carts_converted"),
    "orders": (),
    "invalid_orders": (),
    "products": (),
}


def _counts_for(blocks: Iterable[str]) -> list[str]:
    return [count for block in blocks for count in COUNTS_OF_BLOCK.get(block, (block,))]


class _Reads:
    """Reads the blocks of one customer. The counts that page them were read at once
    (``counts``); the orders' summary (shared by both order lists and the products) and the
    data version are read once, when first needed."""

    def __init__(self, customer: Customer, counts: Mapping[str, int]):
        self.customer = customer
        self.pk = customer.pk
        self.counts = counts
        self._orders_summary: OrdersSummary | None = None
        self._version: int | None = None

    def version(self) -> int:
        if self._version is None:
            self._version = data_version()
        return self._version

    def orders_summary(self) -> OrdersSummary:
        if self._orders_summary is None:
            self._orders_summary = customer_orders_summary(customer=self.customer)
        return self._orders_summary

    def _block(self, name: str, rows: QuerySet, number: int, summary: Any = None) -> Block:
        page = _page_of(rows, name=name, number=number, total=self.counts[name])
        return Block(name, page, summary)

    def consents(self, number: int) -> Block:
        history = ConsentRecord.objects.filter(customer_id=self.pk).select_related("actor")
        return self._block("consents", history.order_by("-created_at", "-id"), number)

    def groups(self, number: int) -> Block:
        # The default group first, then the others in the order they were made.
        default_first = Case(
            When(group_id=self.customer.default_group_id, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        rows = Membership.objects.filter(customer_id=self.pk).select_related("group")
        return self._block("groups", rows.order_by(default_first, "group_id"), number)

    def tags(self, number: int) -> Block:
        return self._block(
            "tags", Tag.objects.filter(customers=self.pk).order_by("name", "id"), number
        )

    def addresses(self, number: int) -> Block:
        rows = Address.objects.filter(customer_id=self.pk).order_by(
            "-is_default_billing", "-is_default_shipping", "id"
        )
        return self._block("addresses", rows, number)

    def orders(self, number: int) -> Block:
        summary = self.orders_summary()
        orders = customer_orders(customer_id=self.pk, valid=True)
        page = _page_of(orders, name="orders", number=number, total=summary.valid_count)
        return Block("orders", page, summary)

    def invalid_orders(self, number: int) -> Block:
        summary = self.orders_summary()
        orders = customer_orders(customer_id=self.pk, valid=False)
        page = _page_of(orders, name="invalid_orders", number=number, total=summary.invalid_count)
        return Block("invalid_orders", page, summary)

    def products(self, number: int) -> Block:
        products = customer_products(customer_id=self.pk, summary=self.orders_summary())
        return Block("products", _page_of_list(products, name="products", number=number))

    def carts(self, number: int) -> Block:
        summary = CartsSummary(
            open=self.counts["carts_open"],
            abandoned=self.counts["carts_abandoned"],
            converted=self.counts["carts_converted"],
        )
        rows = customer_carts(customer_id=self.pk).select_related("order")
        page = _page_of(rows, name="carts", number=number, total=summary.count)
        return Block("carts", page, summary)

    def messages(self, number: int) -> Block:
        threads = customer_threads_with_last_message(customer_threads(customer_id=self.pk))
        return self._block("messages", threads, number)

    def vouchers(self, number: int) -> Block:
        return self._block("vouchers", customer_vouchers(customer_id=self.pk), number)

    def visits(self, number: int) -> Block:
        return self._block("visits", customer_visits(customer_id=self.pk), number)

    def timeline(self, number: int) -> Block:
        rows = (
            Event.objects.filter(customer_id=self.pk)
            .select_related("actor")
            .order_by("-created_at", "-id")
        )
        return self._block("timeline", rows, number, groups_by_id(version=self.version()))

    def block(self, name: str, number: int) -> Block:
        read: Callable[[int], Block] = getattr(self, name)
        return read(number)


GROUPS_CACHE_SECONDS = 600


def groups_by_id(*, version: int | None = None) -> dict[int, Group]:
    """Every group by id, to name those the timeline's events mention (they keep ids only).
    A shop has a handful of groups; kept until the data changes (group services write events).
    ``version``: the data version, when the caller already read it."""
    key = f"customers:groups_by_id:{data_version() if version is None else version}"
    groups = cache.get(key)
    if groups is None:
        groups = {group.pk: group for group in Group.objects.only("id", "name_fr", "name_en")}
        cache.set(key, groups, GROUPS_CACHE_SECONDS)
    return groups


def customer_for_page(*, pk: int) -> Customer | None:
    """The customer a page shows, with what its header and personal data need (title, default
    group, who blocked them) in the same query. The password hash is not read."""
    return (
        Customer.objects.select_related("title", "default_group", "blocked_by")
        .defer("password", "search_text")
        .filter(pk=pk)
        .first()
    )


def _reads_for(pk: int, blocks: Iterable[str]) -> _Reads | None:
    customer = customer_for_page(pk=pk)
    if customer is None:
        return None
    return _Reads(customer, _counts(pk, _counts_for(blocks)))


SALES_RANK_CACHE_SECONDS = 600
HALF_CENT = Decimal("0.005")


def customer_sales_rank(*, customer: Customer, version: int | None = None) -> int | None:
    """The customer's place when all customers are ranked by sales (1 = the best); None
    without sales. Ties share a place (1 + how many customers sold at least a cent more).

    Counted on the ``customer_sort_total_spent`` (total_spent, id) index alone, from the
    customer's amount upwards, so the best customers cost least; then kept per amount until
    the data changes (the data version is the newest event id, and every order writes one), so
    a page view usually costs one cache lookup. Every customer row counts, deleted and
    anonymised ones too: their orders were real sales. ``version``: the data version, when the
    caller already read it.
    """
    if not customer.total_spent:
        return None
    version = data_version() if version is None else version
    key = f"customers:sales_rank:{customer.total_spent}:{version}"
    rank = cache.get(key)
    if rank is None:
        # "At least half a cent more" rather than "more": SQLite keeps the sums the order
        # services add up as floating point (99.80000000000001), so a customer would otherwise
        # outrank themselves, or tie with someone a rounding error above them.
        more = customer.total_spent + HALF_CENT
        rank = Customer.objects.filter(total_spent__gte=more).count() + 1
        cache.set(key, rank, SALES_RANK_CACHE_SECONDS)
    return rank


@dataclass(frozen=True)
class KeyFigures:
    lifetime_value: Decimal
    orders: int
    average_order: Decimal
    first_order_at: Any
    last_order_at: Any
    last_visit_at: Any
    sales_rank: int | None


def customer_key_figures(*, customer: Customer, version: int | None = None) -> KeyFigures:
    """The figures at the top of the page: the stored ones (moved by the order and visit
    services) and the rank by sales."""
    return KeyFigures(
        lifetime_value=customer.total_spent,
        orders=customer.orders_count,
        average_order=customer.average_order,
        first_order_at=customer.first_order_at,
        last_order_at=customer.last_order_at,
        last_visit_at=customer.last_visit_at,
        sales_rank=customer_sales_rank(customer=customer, version=version),
    )


@dataclass(frozen=True)
class CustomerDetail:
    customer: Customer
    figures: KeyFigures
    blocks: dict[str, Block] = field(default_factory=dict)


def customer_detail(*, pk: int, pages: Mapping[str, int] | None = None) -> CustomerDetail | None:
    """Everything the customer page shows, each block on the page asked for in ``pages``
    (block name -> page number; page 1 when absent). None when there is no such customer."""
    reads = _reads_for(pk, BLOCK_NAMES)
    if reads is None:
        return None
    pages = pages or {}
    return CustomerDetail(
        customer=reads.customer,
        figures=customer_key_figures(customer=reads.customer, version=reads.version()),
        blocks={name: reads.block(name, pages.get(name, 1)) for name in BLOCK_NAMES},
    )


@dataclass(frozen=True)
class CustomerBlock:
    customer: Customer
    block: Block


def customer_detail_block(*, pk: int, name: str, number: int = 1) -> CustomerBlock | None:
    """One block of the customer page on one page (for its htmx reload). None when there is no
    such customer; ``name`` must be one of ``BLOCK_NAMES``."""
    if name not in PER_PAGE:
        raise ValueError(f"Unknown block: {name!r}")
    reads = _reads_for(pk, [name])
    if reads is None:
        return None
    return CustomerBlock(customer=reads.customer, block=reads.block(name, number))
