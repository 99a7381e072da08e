"""What sets the background work going: the hook after each commit that wrote events, the
sender's run over the due deliveries, its wake-up for the next retry, and the log's pruning.

A shop without an active webhook pays one cached lookup per committed write: ``webhooks_active``
is cached (``ACTIVE_CACHE_SECONDS``) and forgotten whenever a webhook changes. The cache is per
process with the default backend, so another process sees a new webhook within that time; the
events written meanwhile are not lost (the dispatcher reads everything past its checkpoint), and
creating or switching on a webhook queues one more dispatch once that time has passed.
"""

from __future__ import annotations

import datetime
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from comptoir.webhooks.models import (
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    WebhookDispatchState,
)
from comptoir.webhooks.sending import deliveries_claim, deliveries_send

logger = logging.getLogger(__name__)

ACTIVE_CACHE_KEY = "webhooks:active"
ACTIVE_CACHE_SECONDS = 10
SEND_BATCH = 100
# A sender's run stops after this long and queues the next one, so other tasks get a worker.
SEND_BUDGET_SECONDS = 50.0
RETENTION_DAYS = 30
PRUNE_BATCH = 5000


def webhooks_active() -> bool:
    """Whether any webhook is switched on (cached)."""
    active = cache.get(ACTIVE_CACHE_KEY)
    if active is None:
        active = Webhook.objects.filter(is_active=True).exists()
        cache.set(ACTIVE_CACHE_KEY, active, ACTIVE_CACHE_SECONDS)
    return active


def webhooks_active_forget() -> None:
    """Drop the cached answer now and again after the commit (a read in between would cache
    the old answer)."""
    cache.delete(ACTIVE_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(ACTIVE_CACHE_KEY))


def _supports_defer(task) -> bool:
    return bool(getattr(task.get_backend(), "supports_defer", False))


def dispatch_enqueue(*, run_after: datetime.datetime | None = None) -> None:
    from comptoir.webhooks.tasks import webhooks_dispatch_task

    if run_after is not None:
        if not _supports_defer(webhooks_dispatch_task):
            return
        webhooks_dispatch_task.using(run_after=run_after).enqueue()
        return
    webhooks_dispatch_task.enqueue()


def send_enqueue(*, run_after: datetime.datetime | None = None) -> None:
    from comptoir.webhooks.tasks import webhooks_send_task

    if run_after is not None:
        if not _supports_defer(webhooks_send_task):
            return  # the immediate backend (tests) cannot wait; the next run picks it up
        webhooks_send_task.using(run_after=run_after).enqueue()
        return
    webhooks_send_task.enqueue()


def webhooks_events_committed() -> None:
    """After a commit that wrote events (``core.events``): queue the dispatcher, if a webhook
    listens."""
    if webhooks_active():
        dispatch_enqueue()


def webhooks_dispatch_and_send() -> int:
    """The dispatcher task's work: make the deliveries, then have them sent.

    The sender is also queued when older deliveries are due: a sender that died (worker
    stopped mid-run) left them leased, and its lease has run out; any later change sends
    them."""
    from comptoir.webhooks.dispatch import webhooks_dispatch

    created = webhooks_dispatch()
    if created or _deliveries_due():
        send_enqueue()
    return created


def _deliveries_due() -> bool:
    """Whether a pending delivery's try is due (the head of the pending index)."""
    return WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()
    ).exists()


def _wakeup_schedule() -> None:
    """Queue a sender for the next pending retry, unless one is already queued for then or
    earlier."""
    upcoming = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).aggregate(
        at=Min("next_attempt_at")
    )["at"]
    if upcoming is None:
        return
    from comptoir.webhooks.tasks import webhooks_send_task

    if not _supports_defer(webhooks_send_task):
        return  # the immediate backend (tests) cannot wait: nothing to queue
    now = timezone.now()
    with transaction.atomic():
        WebhookDispatchState.objects.get_or_create(pk=1)
        state = WebhookDispatchState.objects.select_for_update().get(pk=1)
        queued = state.sender_wakeup_at
        if queued is not None and now < queued <= upcoming:
            return
        state.sender_wakeup_at = max(upcoming, now)
        state.save(update_fields=["sender_wakeup_at"])
        transaction.on_commit(lambda: send_enqueue(run_after=max(upcoming, now)))


def deliveries_prune() -> int:
    """Forget finished deliveries older than the retention (``COMPTOIR_WEBHOOK_RETENTION_DAYS``),
    a bounded number per run."""
    days = float(getattr(settings, "COMPTOIR_WEBHOOK_RETENTION_DAYS", RETENTION_DAYS))
    cutoff = timezone.now() - datetime.timedelta(days=days)
    ids = list(
        WebhookDelivery.objects.filter(created_at__lt=cutoff)
        .exclude(status=DeliveryStatus.PENDING)
        .order_by("created_at")
        .values_list("id", flat=True)[:PRUNE_BATCH]
    )
    if ids:
        WebhookDelivery.objects.filter(id__in=ids).delete()
    return len(ids)


def webhooks_send(*, budget_seconds: float = SEND_BUDGET_SECONDS) -> dict[str, int]:
    """The sender task's work: send the due deliveries, a batch at a time, until none is due
    or the time is up (then another run is queued); queue a wake-up for the next retry."""
    started = time.monotonic()
    sent = delivered = 0
    while True:
        batch = deliveries_claim(limit=SEND_BATCH)
        if not batch:
            break
        outcomes = deliveries_send(batch)
        sent += len(batch)
        delivered += sum(1 for outcome in outcomes if outcome.delivered)
        if time.monotonic() - started > budget_seconds:
            send_enqueue()
            break
    _wakeup_schedule()
    pruned = deliveries_prune()
    return {"sent": sent, "delivered": delivered, "pruned": pruned}
