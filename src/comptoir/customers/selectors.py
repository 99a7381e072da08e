"""Reads of customers. Views and the API call these; none of them writes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone

from comptoir.customers.models import Customer


def customers_live() -> QuerySet[Customer]:
    """Customers staff normally see: not deleted (soft) and not anonymised."""
    return Customer.objects.filter(deleted_at__isnull=True, anonymised_at__isnull=True)


def customer_find_by_email(*, email: str, registered_only: bool = False) -> Customer | None:
    """The customer an e-mail belongs to: the registered account first, else the latest guest."""
    from comptoir.core.normalise import email_key

    key = email_key(email)
    if not key:
        return None
    candidates = Customer.objects.filter(email_key=key, anonymised_at__isnull=True)
    if registered_only:
        candidates = candidates.filter(is_guest=False)
    return candidates.order_by("is_guest", "-id").first()


@dataclass(frozen=True)
class CustomerSummary:
    customers: int
    new_this_month: int
    newsletter_subscribers: int
    average_lifetime_value: Decimal


def customer_summary(queryset: QuerySet[Customer] | None = None) -> CustomerSummary:
    """The summary cards: one aggregate query over the given customers (default: all live)."""
    queryset = customers_live() if queryset is None else queryset
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    figures = queryset.aggregate(
        customers=Count("id"),
        new_this_month=Count("id", filter=Q(created_at__gte=month_start)),
        newsletter_subscribers=Count("id", filter=Q(newsletter=True)),
        average_lifetime_value=Avg("total_spent"),
    )
    average = figures["average_lifetime_value"] or Decimal("0")
    return CustomerSummary(
        customers=figures["customers"],
        new_this_month=figures["new_this_month"],
        newsletter_subscribers=figures["newsletter_subscribers"],
        average_lifetime_value=Decimal(average).quantize(Decimal("0.01")),
    )


def demo_customer_exists() -> bool:
    return Customer.objects.filter(is_demo=True).exists()


@dataclass(frozen=True)
class CustomerPage:
    rows: list[Customer]
    number: int
    per_page: int
    total: int
    pages: int
    # Set when the requested page did not exist and another was shown instead.
    clamped_from: int | None = None

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


PAGE_SIZES = (10, 20, 50, 100, 250)


def _ordering(sort_key: str) -> tuple[list[str], list[str]]:
    """The ORDER BY for a sort key, and its exact reverse; id breaks ties so both are stable."""
    from comptoir.customers.filters import SORTS

    descending = sort_key.startswith("-")
    column = SORTS[sort_key.lstrip("-")]
    if column == "id":
        forward = ["-id" if descending else "id"]
    else:
        forward = [f"-{column}", "-id"] if descending else [column, "id"]
    reverse = [field[1:] if field.startswith("-") else f"-{field}" for field in forward]
    return forward, reverse


def customer_page(
    *, queryset: QuerySet[Customer], sort_key: str, page: int, per_page: int
) -> CustomerPage:
    """One page of customers, in a fixed number of queries whatever the page size or number.

    The page's ids come from the (column, id) index alone, read from whichever end of the sort is
    nearer, so the last page costs what the first does; the rows are then fetched by id.
    """
    total = queryset.count()
    pages = max(1, -(-total // per_page))
    clamped_from = None
    if page > pages or page < 1:
        clamped_from, page = page, min(max(page, 1), pages)
    offset = (page - 1) * per_page
    forward, reverse = _ordering(sort_key)
    if offset > total // 2:
        # Nearer the end: read the reversed order from the end and flip the result.
        end = total - offset
        start = max(0, end - per_page)
        ids = list(queryset.order_by(*reverse).values_list("id", flat=True)[start:end])[::-1]
    else:
        ids = list(
            queryset.order_by(*forward).values_list("id", flat=True)[offset : offset + per_page]
        )
    by_id = {
        customer.pk: customer
        for customer in Customer.objects.filter(id__in=ids)
        .select_related("title", "default_group")
        .prefetch_related("groups")
    }
    rows = [by_id[pk] for pk in ids if pk in by_id]
    return CustomerPage(
        rows=rows,
        number=page,
        per_page=per_page,
        total=total,
        pages=pages,
        clamped_from=clamped_from,
    )
