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
