"""The dispatcher: turns the new events of the log into deliveries.

It reads the events past its checkpoint (``WebhookDispatchState``), a batch at a time, and for
each batch makes every delivery the active webhooks subscribed to with a fixed number of
queries: one read of the events, one read per table for the customers and groups they name
(``payloads``), one multi-row insert. A bulk action over 100,000 customers is 100,000 events:
about twenty batches, not 100,000 queries. Each batch commits with the checkpoint moved past it,
so a dispatcher that stops goes on where it was.

Event ids come from a sequence: on PostgreSQL a transaction that started first may commit after
one that took higher ids. The ids the checkpoint moves past without having seen them are kept as
gaps and looked at again on each run (see ``WebhookDispatchState``); on SQLite writers commit in
order and there are none.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Case, F, JSONField, Max, Q, Value, When
from django.db.models.functions import JSONObject
from django.utils import timezone

from comptoir.core.models import Event
from comptoir.webhooks.models import (
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    WebhookDispatchState,
)
from comptoir.webhooks.payloads import CHUNK, objects_data
from comptoir.webhooks.topics import (
    COALESCED,
    CUSTOMER_DELETED,
    ID_ONLY,
    IMPORT_REVERTED,
    event_topics,
    topic_kinds,
)

# Events read per transaction (of every kind: the gaps are found among all of them).
BATCH_SIZE = 5000
# How long ids skipped by the checkpoint are looked for. A transaction still open after that
# long is not one of ours; the ids are those of rolled-back transactions or deleted events.
GAP_SECONDS = 3600
MAX_GAPS = 500
# Kinds whose event data decides what is sent (``topics.event_topics``).
DATA_KINDS = ("customer_merged", "customer_merged_into", "group_default_changed", IMPORT_REVERTED)

EventRow = tuple[int, str, str, int | None, Any]


@dataclass(frozen=True)
class Subscriber:
    id: int
    topics: frozenset[str]
    since_event_id: int


def _state_locked() -> WebhookDispatchState:
    WebhookDispatchState.objects.get_or_create(pk=1)
    return WebhookDispatchState.objects.select_for_update().get(pk=1)


def _subscribers() -> list[Subscriber]:
    return [
        Subscriber(pk, frozenset(topics or ()), since)
        for pk, topics, since in Webhook.objects.filter(is_active=True).values_list(
            "id", "topics", "since_event_id"
        )
    ]


def _events(condition: Q, kinds: Iterable[str], limit: int | None = None) -> list[EventRow]:
    """(id, kind, object type, object id, data) of every visible event matching ``condition``,
    in id order; ``data`` only for the kinds that need it. One statement, so the ids read and
    the rows read are the same snapshot."""
    wanted_data = [kind for kind in DATA_KINDS if kind in set(kinds)]
    data = Case(
        When(kind__in=wanted_data, then=F("data")), default=Value(None), output_field=JSONField()
    )
    rows = (
        Event.objects.filter(condition)
        .order_by("id")
        .annotate(wanted_data=data)
        .values_list("id", "kind", "object_type", "object_id", "wanted_data")
    )
    return list(rows[:limit] if limit else rows)


def _missing(ids: Sequence[int], after: int, until: int) -> list[tuple[int, int]]:
    """The ranges of ids in (after, until] that are not in ``ids`` (sorted)."""
    ranges, expected = [], after + 1
    for pk in ids:
        if pk > until:
            break
        if pk > expected:
            ranges.append((expected, pk - 1))
        expected = max(expected, pk + 1)
    if expected <= until:
        ranges.append((expected, until))
    return ranges


def _plan(rows: Iterable[EventRow], subscribers: Sequence[Subscriber]) -> dict[tuple, tuple]:
    """The deliveries the events ask for: {key: (webhook, topic, object type, object id, event
    id, extra)}. Updates of one object are folded into one (the newest event), since the body
    carries the object as it is now; other topics keep one delivery per event."""
    by_topic: dict[str, list[Subscriber]] = {}
    for subscriber in subscribers:
        for topic in subscriber.topics:
            by_topic.setdefault(topic, []).append(subscriber)
    planned: dict[tuple, tuple] = {}
    for event_id, kind, object_type, object_id, data in rows:
        for topic, target_type, target_id, extra in event_topics(
            kind=kind, object_type=object_type, object_id=object_id, data=data
        ):
            for subscriber in by_topic.get(topic, ()):
                if event_id <= subscriber.since_event_id:
                    continue
                key = (subscriber.id, topic, target_type, target_id)
                if topic not in COALESCED:
                    key += (event_id,)
                planned[key] = (subscriber.id, topic, target_type, target_id, event_id, extra)
    return planned


def _deliveries_create(rows: Sequence[EventRow], subscribers: Sequence[Subscriber]) -> int:
    """Make the deliveries for ``rows``; returns how many."""
    planned = _plan(rows, subscribers)
    if not planned:
        return 0
    wanted = {
        (kind, pk) for _w, topic, kind, pk, _e, _x in planned.values() if topic not in ID_ONLY
    }
    found = objects_data(sorted(wanted))
    now = timezone.now()
    deliveries = []
    for webhook_id, topic, object_type, object_id, event_id, extra in planned.values():
        data = None if topic in ID_ONLY else found.get((object_type, object_id))
        payload = {**data, **extra} if data is not None else {"id": object_id, **extra}
        deliveries.append(
            WebhookDelivery(
                webhook_id=webhook_id,
                topic=topic,
                object_type=object_type,
                object_id=object_id,
                event_id=event_id,
                payload=payload,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                created_at=now,
            )
        )
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000, ignore_conflicts=True)
    erased = sorted(
        {pk for _w, topic, kind, pk, _e, _x in planned.values() if topic == CUSTOMER_DELETED}
    )
    _erased_scrub(erased, since=now)
    return len(deliveries)


def _erased_scrub(customer_ids: Sequence[int], *, since) -> None:
    """Earlier deliveries about customers now deleted keep their id only: a pending one sends
    no personal data of someone gone, and the log keeps none."""
    for start in range(0, len(customer_ids), CHUNK):
        WebhookDelivery.objects.filter(
            object_type="customer",
            object_id__in=customer_ids[start : start + CHUNK],
            created_at__lt=since,
        ).exclude(topic=CUSTOMER_DELETED).update(payload=JSONObject(id=F("object_id")))


def _gaps_kept(gaps: list, floor: int) -> list:
    """The gaps still worth looking at: recent enough and above every webhook's start."""
    now = time.time()
    kept = [gap for gap in gaps if now - gap[2] < GAP_SECONDS and gap[1] > floor]
    return kept[-MAX_GAPS:]


@transaction.atomic
def _gaps_dispatch() -> int:
    """Deliver the events that appeared in the gaps since the last run."""
    state = _state_locked()
    if not state.gaps:
        return 0
    subscribers = _subscribers()
    floor = min((s.since_event_id for s in subscribers), default=state.checkpoint)
    gaps = _gaps_kept(state.gaps, floor)
    created = 0
    if subscribers and gaps:
        condition = Q()
        for first, last, _seen in gaps:
            condition |= Q(id__gte=first, id__lte=last)
        kinds = topic_kinds(set().union(*(s.topics for s in subscribers)))
        rows = _events(condition, kinds)
        created = _deliveries_create([row for row in rows if row[1] in kinds], subscribers)
        ids = [row[0] for row in rows]
        gaps = [
            [first, last, seen]
            for gap_first, gap_last, seen in gaps
            for first, last in _missing(ids, gap_first - 1, gap_last)
        ]
    state.gaps = gaps if subscribers else []
    state.updated_at = timezone.now()
    state.save(update_fields=["gaps", "updated_at"])
    return created


@transaction.atomic
def _batch_dispatch(batch_size: int) -> tuple[int, bool]:
    """Deliver the next batch of events; returns (deliveries made, whether more may follow)."""
    state = _state_locked()
    subscribers = _subscribers()
    if not subscribers:
        # Nothing listens: the checkpoint just follows the log.
        latest = Event.objects.aggregate(latest=Max("id"))["latest"] or 0
        state.checkpoint = max(state.checkpoint, latest)
        state.gaps = []
        state.updated_at = timezone.now()
        state.save(update_fields=["checkpoint", "gaps", "updated_at"])
        return 0, False
    # Events before every webhook's start go to none of them.
    floor = min(s.since_event_id for s in subscribers)
    start = max(state.checkpoint, floor)
    kinds = topic_kinds(set().union(*(s.topics for s in subscribers)))
    rows = _events(Q(id__gt=start), kinds, limit=batch_size)
    if not rows:
        if start != state.checkpoint:
            state.checkpoint = start
            state.save(update_fields=["checkpoint"])
        return 0, False
    end = rows[-1][0]
    ids = [row[0] for row in rows]
    seen = time.time()
    new_gaps = [[first, last, seen] for first, last in _missing(ids, start, end)]
    created = _deliveries_create([row for row in rows if row[1] in kinds], subscribers)
    state.checkpoint = end
    state.gaps = _gaps_kept(list(state.gaps) + new_gaps, floor)
    state.updated_at = timezone.now()
    state.save(update_fields=["checkpoint", "gaps", "updated_at"])
    return created, len(rows) == batch_size


def webhooks_dispatch(*, batch_size: int = BATCH_SIZE) -> int:
    """Make the deliveries for every event not dispatched yet; returns how many were made.

    Safe to run concurrently: each batch holds the state row's lock (PostgreSQL) or the write
    lock (SQLite), and a batch another run has handled is past the checkpoint.
    """
    created = _gaps_dispatch()
    more = True
    while more:
        count, more = _batch_dispatch(batch_size)
        created += count
    return created
