"""Writing events. Services call these inside their own transaction.

Every path that writes events (``event_record``, ``events_record_many``, the bulk services'
``INSERT ... SELECT`` and the import's ``COPY``) calls ``events_written``: once the transaction
commits, the listeners registered with ``events_committed_connect`` run, once per transaction
(the webhooks' dispatcher is one). A rolled-back transaction runs nothing.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.models import Event


def jsonable(value: Any) -> Any:
    """A value as it is kept in an event's before/after (dates ISO 8601, decimals as strings)."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, list | tuple | set):
        return [jsonable(item) for item in value]
    if value is not None and not isinstance(value, str | int | float | bool | dict):
        return str(value)
    return value


def event_build(
    *,
    kind: str,
    actor: Actor,
    customer_id: int | None = None,
    object_type: str = "",
    object_id: int | None = None,
    data: Mapping[str, Any] | None = None,
    created_at: datetime.datetime | None = None,
) -> Event:
    return Event(
        kind=kind,
        source=actor.source,
        actor_id=actor.user_id,
        ip_address=actor.ip_address,
        customer_id=customer_id,
        object_type=object_type or ("customer" if customer_id else ""),
        object_id=object_id if object_id is not None else customer_id,
        data={key: jsonable(value) for key, value in (data or {}).items()},
        created_at=created_at or timezone.now(),
    )


def event_record(**kwargs: Any) -> Event:
    """Write one event (see ``event_build`` for the arguments)."""
    event = event_build(**kwargs)
    event.save(force_insert=True)
    events_written()
    return event


def events_record_many(events: Iterable[Event], batch_size: int = 2000) -> None:
    Event.objects.bulk_create(events, batch_size=batch_size)
    events_written()


# Called after the commit of a transaction that wrote events; apps add theirs in ``ready()``.
_committed_listeners: list[Callable[[], None]] = []


def events_committed_connect(listener: Callable[[], None]) -> None:
    """Run ``listener()`` after each commit of a transaction that wrote events. It must be
    cheap when it has nothing to do: it runs after nearly every write."""
    if listener not in _committed_listeners:
        _committed_listeners.append(listener)


def _events_committed() -> None:
    for listener in _committed_listeners:
        listener()


def events_written(using: str | None = None) -> None:
    """Note that the current transaction wrote events: the listeners run once it commits.

    Queued at most once per transaction (a scan of the few callbacks already queued); nothing
    at all while no app listens. ``robust``: the change is committed by then, so a listener's
    failure is logged, not raised at the person who made it.
    """
    if not _committed_listeners:
        return
    connection = transaction.get_connection(using)
    if any(entry[1] is _events_committed for entry in connection.run_on_commit):
        return
    transaction.on_commit(_events_committed, using=using, robust=True)


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict]:
    """{field: {"before": old, "after": new}} for the fields whose value changed."""
    return {
        field: {"before": jsonable(before.get(field)), "after": jsonable(value)}
        for field, value in after.items()
        if before.get(field) != value
    }
