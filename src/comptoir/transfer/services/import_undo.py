"""Undoing an import as a whole: the customers it created are removed, the fields it changed
are given back their values from before (read from its ``customer_updated`` events), the groups,
tags and consents it changed are restored and the addresses it added removed. A customer changed
since the import (another event about them, a newer version, an order, a visit...) is left as
it is and counted as skipped.

Batch by batch, newest first, each in one transaction with a mark on the batch, so an undo
that stops half-way goes on where it stopped.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.bulk import bulk_insert, tables_lock
from comptoir.core.events import event_record, events_written
from comptoir.core.models import Event
from comptoir.customers.models import Address, ConsentRecord, Customer, Membership
from comptoir.customers.search import search_text_build
from comptoir.customers.services import tags_get_or_create
from comptoir.transfer.models import ImportBatch, ImportJob, ImportState
from comptoir.transfer.services.import_plan import CONSENTS
from comptoir.transfer.services.import_write import (
    CONSENT_COLUMNS,
    EVENT_COLUMNS,
    TAGS_THROUGH,
    _event_rows,
    db_value,
)
from comptoir.transfer.services.importing import (
    LeaseLost,
    Progress,
    _beat,
    _claim,
    _enqueue,
    _failure,
    _release,
)

UNDOABLE = {ImportState.DONE, ImportState.FAILED, ImportState.UNDOING}
# The tables an import writes for a customer it creates; rows in any other table pointing at
# the customer (orders, carts, visits, messages...) mean it lived on after the import.
_OWN_CHILDREN = {Membership, Address, ConsentRecord, TAGS_THROUGH, Event}


@transaction.atomic
def import_undo_enqueue(*, job: ImportJob, actor: Actor) -> ImportJob:
    from comptoir.transfer.tasks.importing import import_undo_task

    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state not in {ImportState.DONE, ImportState.FAILED} or not job.batches.exists():
        raise ValidationError(_("Only an import that ran can be undone."))
    job.state = ImportState.UNDOING
    job.save(update_fields=["state"])
    _enqueue(job, import_undo_task, actor.user_id)
    return job


def import_undo(
    *, job: ImportJob, actor: Actor, progress: Progress | None = None, resume: bool = False
) -> ImportJob:
    """Revert every committed batch of the job (see the module docstring)."""
    token = _claim(job, state=ImportState.UNDOING, allowed=UNDOABLE)
    with translation.override(job.language):
        try:
            batches = job.batches.filter(undone_at__isnull=True).order_by("-number")
            for batch in batches.iterator():
                with transaction.atomic():
                    tables_lock(Customer, Address)
                    reverted, skipped = _batch_revert(batch, job=job, actor=actor)
                    ImportBatch.objects.filter(pk=batch.pk).update(undone_at=timezone.now())
                    _beat(
                        job,
                        token,
                        reverted=F("reverted") + reverted,
                        skipped=F("skipped") + skipped,
                    )
                if progress is not None:
                    job.refresh_from_db()
                    progress(job)
        except LeaseLost:
            job.refresh_from_db()
            return job
        except Exception as error:
            _release(job, token, state=ImportState.UNDOING, error=_failure(error))
            raise
        with transaction.atomic():
            finished = _release(job, token, state=ImportState.UNDONE, undone_at=timezone.now())
            job.refresh_from_db()
            if finished:
                event_record(
                    kind="import_undone",
                    actor=actor,
                    object_type="import",
                    object_id=job.pk,
                    data={"file": job.file_name, "reverted": job.reverted, "skipped": job.skipped},
                )
    return job


def _batch_revert(batch: ImportBatch, *, job: ImportJob, actor: Actor) -> tuple[int, int]:
    now = timezone.now()
    events: list[tuple[int, str, dict]] = []
    deleted, skipped_created = _created_remove(batch, job=job, events=events)
    restored, skipped_updated = _updated_restore(
        batch, job=job, actor=actor, now=now, events=events
    )
    bulk_insert(Event._meta.db_table, EVENT_COLUMNS, _event_rows(events, actor=actor, now=now))
    events_written()
    return deleted + restored, skipped_created + skipped_updated


def _in_chunks(ids: Sequence[int], size: int = 900) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# -------------------------------------------------------------------------------------------------
# Created customers


def _created_remove(batch: ImportBatch, *, job: ImportJob, events: list) -> tuple[int, int]:
    if batch.created_from is None:
        return 0, 0
    rows = dict(
        Customer.objects.filter(id__range=(batch.created_from, batch.created_to)).values_list(
            "id", "version"
        )
    )
    ids = sorted(rows)
    changed = {pk for pk, version in rows.items() if version != 1}
    changed |= _touched_by_others(ids, job=job)
    changed |= _referenced_elsewhere(ids)
    removable = [pk for pk in ids if pk not in changed]
    quote = connection.ops.quote_name
    details = dict(
        Customer.objects.filter(id__in=removable).values_list("id", "email")
    ) if removable else {}  # fmt: skip
    with connection.cursor() as cursor:
        for chunk in _in_chunks(removable):
            marks = ", ".join(["%s"] * len(chunk))
            for model in (TAGS_THROUGH, Membership, Address, ConsentRecord):
                cursor.execute(
                    f"DELETE FROM {quote(model._meta.db_table)}"
                    f" WHERE {quote('customer_id')} IN ({marks})",
                    list(chunk),
                )
            cursor.execute(
                f"DELETE FROM {quote(Customer._meta.db_table)} WHERE {quote('id')} IN ({marks})",
                list(chunk),
            )
    for pk in removable:
        events.append(
            (pk, "import_reverted", {"import": job.pk, "action": "deleted", "email": details[pk]})
        )
    return len(removable), len(ids) - len(removable)


def _touched_by_others(ids: Sequence[int], *, job: ImportJob) -> set[int]:
    """Customers with an event that this import did not write."""
    touched = set()
    for chunk in _in_chunks(ids):
        for customer_id, data in Event.objects.filter(customer_id__in=chunk).values_list(
            "customer_id", "data"
        ):
            if not isinstance(data, dict) or data.get("import") != job.pk:
                touched.add(customer_id)
    return touched


def _referenced_elsewhere(ids: Sequence[int]) -> set[int]:
    """Customers that rows of other tables (orders, carts, visits, messages...) point at."""
    found: set[int] = set()
    for relation in Customer._meta.related_objects:
        model = relation.related_model
        if model in _OWN_CHILDREN or not relation.field.concrete or relation.many_to_many:
            continue
        column = relation.field.attname
        for chunk in _in_chunks(ids):
            found.update(
                model._default_manager.filter(**{f"{column}__in": chunk}).values_list(
                    column, flat=True
                )
            )
    return found


# -------------------------------------------------------------------------------------------------
# Updated customers


def _updated_restore(
    batch: ImportBatch, *, job: ImportJob, actor: Actor, now, events: list
) -> tuple[int, int]:
    ids = list(batch.updated_ids)
    if not ids:
        return 0, 0
    ours: dict[int, Event] = {}
    later: dict[int, list[Event]] = {}
    for chunk in _in_chunks(ids):
        for event in Event.objects.filter(
            customer_id__in=chunk, created_at__gte=batch.created_at - datetime.timedelta(hours=1)
        ).order_by("id"):
            data = event.data if isinstance(event.data, dict) else {}
            if event.kind == "customer_updated" and data.get("import") == job.pk:
                ours[event.customer_id] = event
            else:
                later.setdefault(event.customer_id, []).append(event)
    versions = dict(Customer.objects.filter(id__in=ids).values_list("id", "version"))
    restorable = []
    for pk in ids:
        event = ours.get(pk)
        if event is None or versions.get(pk) != event.data.get("version"):
            continue
        if any(other.id > event.id for other in later.get(pk, [])):
            continue
        restorable.append(event)
    _fields_restore(restorable, now=now)
    _consents_restore(restorable, job=job, actor=actor, now=now)
    _groups_restore(restorable)
    _tags_restore(restorable)
    _addresses_remove(restorable)
    _search_text_refresh([event.customer_id for event in restorable])
    for event in restorable:
        changes = event.data.get("changes", {})
        events.append(
            (
                event.customer_id,
                "import_reverted",
                {
                    "import": job.pk,
                    "action": "restored",
                    "changes": {
                        name: {"before": change["after"], "after": change["before"]}
                        for name, change in changes.items()
                    },
                },
            )
        )
    return len(restorable), len(ids) - len(restorable)


_NOT_COLUMNS = {"groups", "tags", *CONSENTS}


def _decode(name: str, value: Any) -> Any:
    """A value from an event's before/after, back to what the column holds."""
    field = Customer._meta.get_field(name)
    if value is None:
        return None
    internal = field.get_internal_type()
    if internal == "DateTimeField":
        return parse_datetime(value) if isinstance(value, str) else value
    if internal == "DateField":
        return parse_date(value) if isinstance(value, str) else value
    return value


def _fields_restore(events: list[Event], *, now) -> None:
    quote = connection.ops.quote_name
    by_columns: dict[tuple[str, ...], list[tuple]] = {}
    for event in events:
        changes = {
            name: change
            for name, change in event.data.get("changes", {}).items()
            if name not in _NOT_COLUMNS
        }
        if not changes:
            continue
        names = tuple(sorted(changes))
        values = [db_value(_decode(name, changes[name]["before"])) for name in names]
        if "email" in changes:
            names += ("email_key",)
            values.append((changes["email"]["before"] or "").strip().lower())
        by_columns.setdefault(names, []).append((*values, db_value(now), event.customer_id))
    with connection.cursor() as cursor:
        for names, rows in by_columns.items():
            assignments = "".join(f"{quote(name)} = %s, " for name in names)
            cursor.executemany(
                f"UPDATE {quote(Customer._meta.db_table)} SET {assignments}"
                f"{quote('updated_at')} = %s, {quote('version')} = {quote('version')} + 1"
                f" WHERE {quote('id')} = %s",
                rows,
            )


def _consents_restore(events: list[Event], *, job: ImportJob, actor: Actor, now) -> None:
    quote = connection.ops.quote_name
    history = []
    with connection.cursor() as cursor:
        for channel in CONSENTS:
            rows = [
                (event.data["changes"][channel]["before"], event.customer_id)
                for event in events
                if channel in event.data.get("changes", {})
            ]
            if not rows:
                continue
            cursor.executemany(
                f"UPDATE {quote(Customer._meta.db_table)} SET {quote(channel)} = %s,"
                f" {quote(channel + '_at')} = %s WHERE {quote('id')} = %s",
                [(granted, db_value(now), pk) for granted, pk in rows],
            )
            history += [
                (pk, channel, granted, db_value(now), "unknown", _("Import undone")[:255],
                 actor.source, actor.user_id, actor.ip_address)
                for granted, pk in rows
            ]  # fmt: skip
    bulk_insert(ConsentRecord._meta.db_table, CONSENT_COLUMNS, history)


def _groups_restore(events: list[Event]) -> None:
    quote = connection.ops.quote_name
    removals, additions = [], []
    stamp = db_value(timezone.now())
    for event in events:
        change = event.data.get("changes", {}).get("groups")
        if not change:
            continue
        before, after = set(change["before"]), set(change["after"])
        removals += [(event.customer_id, group) for group in after - before]
        additions += [(event.customer_id, group, stamp) for group in before - after]
    if removals:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"DELETE FROM {quote(Membership._meta.db_table)}"
                f" WHERE {quote('customer_id')} = %s AND {quote('group_id')} = %s",
                removals,
            )
    bulk_insert(Membership._meta.db_table, ("customer_id", "group_id", "created_at"), additions)


def _tags_restore(events: list[Event]) -> None:
    changed = [
        (event.customer_id, event.data["changes"]["tags"]["before"])
        for event in events
        if "tags" in event.data.get("changes", {})
    ]
    if not changed:
        return
    tag_ids = {
        tag.name_key: tag.pk
        for tag in tags_get_or_create(names=[name for _pk, names in changed for name in names])
    }
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"DELETE FROM {quote(TAGS_THROUGH._meta.db_table)} WHERE {quote('customer_id')} = %s",
            [(pk,) for pk, _names in changed],
        )
        cursor.executemany(
            f"UPDATE {quote(Customer._meta.db_table)} SET {quote('tags_text')} = %s"
            f" WHERE {quote('id')} = %s",
            [(", ".join(sorted(names, key=str.lower))[:1000], pk) for pk, names in changed],
        )
    bulk_insert(
        TAGS_THROUGH._meta.db_table,
        ("customer_id", "tag_id"),
        [(pk, tag_ids[name.strip().lower()]) for pk, names in changed for name in names],
    )


def _addresses_remove(events: list[Event]) -> None:
    ids = [pk for event in events for pk in event.data.get("addresses_added", [])]
    if ids:
        Address.objects.filter(id__in=ids)._raw_delete(Address.objects.db)


def _search_text_refresh(ids: list[int]) -> None:
    """The search text and country of restored customers, from their restored rows."""
    if not ids:
        return
    places: dict[int, list[tuple[str, str]]] = {}
    billing: dict[int, str] = {}
    for customer_id, city, postcode, country, is_billing in Address.objects.filter(
        customer_id__in=ids
    ).values_list("customer_id", "city", "postcode", "country", "is_default_billing"):
        places.setdefault(customer_id, []).append((city, postcode))
        if is_billing:
            billing[customer_id] = country
    rows = []
    for row in Customer.objects.filter(id__in=ids).values(
        "id", "first_name", "last_name", "email", "phone", "mobile", "company", "country"
    ):
        text = search_text_build(
            first_name=row["first_name"],
            last_name=row["last_name"],
            email=row["email"],
            phone=row["phone"],
            mobile=row["mobile"],
            company=row["company"],
            places=places.get(row["id"], []),
        )
        rows.append((text, billing.get(row["id"], row["country"]), row["id"]))
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {quote(Customer._meta.db_table)} SET {quote('search_text')} = %s,"
            f" {quote('country')} = %s WHERE {quote('id')} = %s",
            rows,
        )
