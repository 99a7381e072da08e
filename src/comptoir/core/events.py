"""Writing events. Services call these inside their own transaction."""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Iterable, Mapping
from typing import Any

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
    return event


def events_record_many(events: Iterable[Event], batch_size: int = 2000) -> None:
    Event.objects.bulk_create(events, batch_size=batch_size)


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict]:
    """{field: {"before": old, "after": new}} for the fields whose value changed."""
    return {
        field: {"before": jsonable(before.get(field)), "after": jsonable(value)}
        for field, value in after.items()
        if before.get(field) != value
    }
