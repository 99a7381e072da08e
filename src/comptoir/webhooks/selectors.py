"""Reads of webhooks: the list with each one's latest delivery and what waits, a webhook's
deliveries log (a page, newest first, filtered by status), one delivery with its tries."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from comptoir.webhooks.models import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery

DELIVERIES_PER_PAGE = 50


def webhooks_list() -> QuerySet[Webhook]:
    """Every webhook with its latest delivery's status and code, and its pending deliveries:
    one query (the subqueries walk the (webhook, -id) index and the pending index)."""
    latest = WebhookDelivery.objects.filter(webhook=OuterRef("pk")).order_by("-id")
    pending = (
        WebhookDelivery.objects.filter(webhook=OuterRef("pk"), status=DeliveryStatus.PENDING)
        .order_by()
        .values("webhook")
        .annotate(count=Count("id"))
        .values("count")
    )
    return Webhook.objects.order_by("name", "id").annotate(
        latest_status=Subquery(latest.values("status")[:1]),
        latest_response_status=Subquery(latest.values("response_status")[:1]),
        latest_at=Subquery(latest.values("created_at")[:1]),
        pending_count=Subquery(pending),
    )


def webhook_get(*, pk: int) -> Webhook | None:
    return Webhook.objects.select_related("created_by").filter(pk=pk).first()


@dataclass(frozen=True)
class DeliveriesLog:
    page: Page
    status: str  # the filter, "" for all
    counts: dict[str, int]  # deliveries per status


def webhook_deliveries(
    *, webhook: Webhook, status: str = "", page: str | int | None = 1
) -> DeliveriesLog:
    """A page of the webhook's deliveries, newest first; ``status`` one of ``DeliveryStatus``
    or empty for all. A fixed number of queries: the counts, the page."""
    counts_row = WebhookDelivery.objects.filter(webhook=webhook).aggregate(
        **{value: Count("id", filter=Q(status=value)) for value in DeliveryStatus.values}
    )
    counts = {key: value or 0 for key, value in counts_row.items()}
    rows = WebhookDelivery.objects.filter(webhook=webhook).order_by("-id")
    if status in DeliveryStatus.values:
        rows = rows.filter(status=status)
        total = counts[status]
    else:
        status = ""
        total = sum(counts.values())
    paginator = Paginator(rows, DELIVERIES_PER_PAGE)
    # The count is known already: the paginator need not ask again.
    paginator.count = total
    return DeliveriesLog(page=paginator.get_page(page), status=status, counts=counts)


def delivery_get(*, pk: int) -> WebhookDelivery | None:
    return WebhookDelivery.objects.select_related("webhook").filter(pk=pk).first()


def delivery_attempts(*, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    """The delivery's tries, newest first."""
    return list(WebhookAttempt.objects.filter(delivery=delivery).order_by("-id"))
