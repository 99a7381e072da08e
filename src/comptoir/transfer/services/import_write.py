"""Writing one planned batch of an import, set-based: new customers with their groups, tags,
addresses and consent history go in with ``core.bulk.bulk_insert`` (executemany on SQLite, COPY
on PostgreSQL), their rows built beforehand without their ids (``import_rows``, often in the
reading process: decision 0023); updates with one ``executemany`` per set of changed columns;
one event per customer touched (``customer_created`` / ``customer_updated``, carrying the
import's id and the before/after that undo reads back). No query per row.

``batch_write`` runs inside the caller's transaction: the batch, its rejections and the job's
checkpoint commit together or not at all.
"""

from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.bulk import (
    bulk_insert,
    datetime_text,
    insert_triggers_deferred,
    next_id,
    sequence_reset,
    tables_lock,
)
from comptoir.core.events import events_written, jsonable
from comptoir.core.models import Event
from comptoir.customers.models import Address, ConsentRecord, Customer, Membership
from comptoir.customers.services import tags_get_or_create
from comptoir.groups.services import group_create
from comptoir.transfer.models import ImportJob, ImportRejection
from comptoir.transfer.services import import_rows
from comptoir.transfer.services.import_plan import BatchPlan, CustomerUpdate, Planner
from comptoir.transfer.services.import_rows import NewCustomerRows, customer_columns

TAGS_THROUGH = Customer.tags.through


def db_value(value: Any) -> Any:
    """A Python value as ``bulk_insert`` and raw ``executemany`` take it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.datetime):
        return datetime_text(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, Model):
        return value.pk
    return str(value)


# -------------------------------------------------------------------------------------------------


def batch_write(
    *, plan: BatchPlan, planner: Planner, job: ImportJob, actor: Actor
) -> dict[str, Any]:
    """Write a planned batch (inside the caller's transaction). Returns what undo needs: the
    range of the created customers' ids and the updated customers' ids."""
    now = timezone.now()
    _groups_create(plan, planner, actor)
    _groups_resolve(plan, planner)
    created_from = created_to = None
    if plan.creates:
        creates = [
            new if isinstance(new, NewCustomerRows) else planner.rows_of(new, now=now)
            for new in plan.creates
        ]
        created_from, created_to = _creates_write(creates, actor=actor, now=now)
    if plan.updates:
        _updates_write(plan.updates, job=job, actor=actor, now=now)
    rejections_write(job=job, plan=plan, dry_run=False)
    return {
        "created_from": created_from,
        "created_to": created_to,
        "updated_ids": [update.customer_id for update in plan.updates],
    }


def _storable(text: str) -> str:
    """``text`` as a database text column takes it: a header or a quoted cell of a damaged file
    may hold NUL characters, which PostgreSQL refuses in text."""
    return text.replace("\x00", "\ufffd")


def rejections_write(*, job: ImportJob, plan: BatchPlan, dry_run: bool) -> None:
    if not plan.rejections:
        return
    bulk_insert(
        ImportRejection._meta.db_table,
        ("job_id", "dry_run", "line", "column", "reason"),
        (
            (
                job.pk,
                dry_run,
                rejection.line,
                _storable(rejection.column)[:255],
                _storable(rejection.reason),
            )
            for rejection in plan.rejections
        ),
    )


def _group_id(group: int | str, planner: Planner) -> int:
    if isinstance(group, int):
        return group
    return planner.groups[_fold(group)]


def _fold(name: str) -> str:
    from comptoir.core.text import fold

    return fold(name).strip()


def _groups_create(plan: BatchPlan, planner: Planner, actor: Actor) -> None:
    """Groups the file names that do not exist yet are created (through the groups service,
    with their event) before the customers join them."""
    for name in sorted(plan.new_groups):
        if _fold(name) in planner.groups:
            continue
        group = group_create(actor=actor, name_fr=name[:64], name_en=name[:64])
        planner.group_created(name, group.pk)


def _groups_resolve(plan: BatchPlan, planner: Planner) -> None:
    """Group names planned for creation become the ids of the groups now made."""
    for new in plan.creates:
        if isinstance(new, NewCustomerRows):
            continue  # built by the reading process, with known groups only
        new.default_group = _group_id(new.default_group, planner)
        new.groups = list(dict.fromkeys(_group_id(group, planner) for group in new.groups))
    for update in plan.updates:
        if "default_group_id" in update.changes:
            before, after = update.changes["default_group_id"]
            update.changes["default_group_id"] = (before, _group_id(after, planner))
        if update.groups:
            before, after = update.groups
            update.groups = (before, list(dict.fromkeys(_group_id(g, planner) for g in after)))


def _tag_ids(names: Iterable[str]) -> dict[str, int]:
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    return {tag.name_key: tag.pk for tag in tags_get_or_create(names=names)}


EVENT_COLUMNS = (
    "created_at",
    "kind",
    "source",
    "actor_id",
    "ip_address",
    "customer_id",
    "object_type",
    "object_id",
    "data",
)
CONSENT_COLUMNS = ("customer_id", *import_rows.CONSENT_COLUMNS)
ADDRESS_COLUMNS = ("id", "customer_id", *import_rows.ADDRESS_COLUMNS)


def _event_rows(events: Iterable[tuple[int, str, dict]], *, actor: Actor, now) -> Iterable[tuple]:
    head = (datetime_text(now),)
    who = (actor.source, actor.user_id, actor.ip_address)
    dumps = json.dumps
    for customer_id, kind, data in events:
        # ``default``: only what JSON cannot hold (dates, decimals) goes through ``jsonable``.
        yield (
            *head,
            kind,
            *who,
            customer_id,
            "customer",
            customer_id,
            dumps(data, default=jsonable),
        )


def _consent_row(customer_id, channel, granted, when, level, *, job, actor) -> tuple:
    return (
        customer_id,
        channel,
        granted,
        datetime_text(when),
        level if granted else "unknown",
        job.consent_note[:255],
        actor.source,
        actor.user_id,
        actor.ip_address,
    )


def _address_rows(
    customer_id: int, addresses: Sequence[dict[str, Any]], first_id: int, now
) -> list[tuple]:
    stamp = datetime_text(now)
    return [
        (first_id + offset, customer_id, *import_rows.address_values(address, stamp))
        for offset, address in enumerate(addresses)
    ]


# -------------------------------------------------------------------------------------------------
# New customers


def _creates_write(creates: list[NewCustomerRows], *, actor: Actor, now) -> tuple[int, int]:
    """Write the new customers' rows, built ahead without their ids: each gets its ids here,
    in front of its values."""
    # Ids are chosen here so that children can point at their customer without reading it back;
    # the lock keeps another writer from taking them meanwhile (PostgreSQL; SQLite's write
    # transaction already excludes other writers).
    tables_lock(Customer, Address)
    first = next_id(Customer)
    address_id = next_id(Address)
    tag_ids = _tag_ids(tag for new in creates for tag in new.tags)
    stamp = datetime_text(now)
    created = (stamp, "customer_created", actor.source, actor.user_id, actor.ip_address)
    customers, memberships, tags, addresses, consents, events = [], [], [], [], [], []
    for customer_id, new in enumerate(creates, first):
        customers.append((customer_id, *new.customer))
        memberships.extend((customer_id, group, stamp) for group in new.groups)
        tags.extend((customer_id, tag_ids[name.lower()]) for name in new.tags)
        for address in new.addresses:
            addresses.append((address_id, customer_id, *address))
            address_id += 1
        consents.extend((customer_id, *consent) for consent in new.consents)
        events.append((*created, customer_id, "customer", customer_id, new.event))
    with insert_triggers_deferred(Customer, first_pk=first):
        bulk_insert(Customer._meta.db_table, ("id", *customer_columns()), customers)
    bulk_insert(Membership._meta.db_table, ("customer_id", "group_id", "created_at"), memberships)
    bulk_insert(TAGS_THROUGH._meta.db_table, ("customer_id", "tag_id"), tags)
    bulk_insert(Address._meta.db_table, ADDRESS_COLUMNS, addresses)
    bulk_insert(ConsentRecord._meta.db_table, CONSENT_COLUMNS, consents)
    bulk_insert(Event._meta.db_table, EVENT_COLUMNS, events)
    events_written()
    sequence_reset(Customer, Address)
    return first, first + len(creates) - 1


# -------------------------------------------------------------------------------------------------
# Updates


def _updates_write(updates: list[CustomerUpdate], *, job: ImportJob, actor: Actor, now) -> None:
    ops = connection.ops
    quote = ops.quote_name
    table = Customer._meta.db_table
    stamp = db_value(now)
    # One executemany per set of changed columns.
    by_columns: dict[tuple[str, ...], list[tuple]] = {}
    for update in updates:
        names = tuple(sorted(update.changes))
        values = [db_value(update.changes[name][1]) for name in names]
        by_columns.setdefault(names, []).append((*values, stamp, update.customer_id))
    with connection.cursor() as cursor:
        for names, rows in by_columns.items():
            assignments = "".join(f"{quote(name)} = %s, " for name in names)
            cursor.executemany(
                f"UPDATE {quote(table)} SET {assignments}"
                f"{quote('updated_at')} = %s, {quote('version')} = {quote('version')} + 1"
                f" WHERE {quote('id')} = %s",
                rows,
            )
    _consents_write(updates, job=job, actor=actor, now=now)
    _memberships_write(updates)
    _tags_write(updates)
    added = _addresses_add(updates, now=now)
    passwords = [(u.password, u.customer_id) for u in updates if u.password]
    if passwords:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {quote(table)} SET {quote('password')} = %s,"
                f" {quote('must_reset_password')} = %s WHERE {quote('id')} = %s",
                [(hashed, False, pk) for hashed, pk in passwords],
            )
    events = []
    for update in updates:
        changes = {
            name: {"before": before, "after": after}
            for name, (before, after) in update.changes.items()
            if name not in ("search_text", "email_key", "tags_text")
        }
        for channel, granted, _when, _level in update.consents:
            changes[channel] = {"before": not granted, "after": granted}
        if update.groups:
            changes["groups"] = {"before": update.groups[0], "after": update.groups[1]}
        if update.tags:
            changes["tags"] = {"before": update.tags[0], "after": update.tags[1]}
        data = {"import": job.pk, "line": update.line, "changes": changes}
        data["version"] = update.version
        if update.customer_id in added:
            data["addresses_added"] = added[update.customer_id]
        if update.password:
            data["password_set"] = True
        if update.fingerprint:
            data["fingerprint"] = update.fingerprint  # see import_known
        events.append((update.customer_id, "customer_updated", data))
    bulk_insert(Event._meta.db_table, EVENT_COLUMNS, _event_rows(events, actor=actor, now=now))
    events_written()


def _consents_write(updates: list[CustomerUpdate], *, job: ImportJob, actor: Actor, now) -> None:
    rows, history = [], []
    for update in updates:
        for channel, granted, when, level in update.consents:
            rows.append((channel, granted, when, update.customer_id))
            history.append(
                _consent_row(
                    update.customer_id, channel, granted, when, level, job=job, actor=actor
                )
            )
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(Customer._meta.db_table)
    with connection.cursor() as cursor:
        for channel in ("newsletter", "partner_offers", "sms"):
            params = [
                (granted, db_value(when), pk) for name, granted, when, pk in rows if name == channel
            ]
            if params:
                cursor.executemany(
                    f"UPDATE {table} SET {quote(channel)} = %s, {quote(channel + '_at')} = %s"
                    f" WHERE {quote('id')} = %s",
                    params,
                )
    bulk_insert(ConsentRecord._meta.db_table, CONSENT_COLUMNS, history)


def _memberships_write(updates: list[CustomerUpdate]) -> None:
    removals, additions = [], []
    stamp = datetime_text(timezone.now())
    for update in updates:
        if update.groups:
            before, after = update.groups
            removals += [(update.customer_id, group) for group in set(before) - set(after)]
            additions += [(update.customer_id, group, stamp) for group in set(after) - set(before)]
    if removals:
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.executemany(
                f"DELETE FROM {quote(Membership._meta.db_table)}"
                f" WHERE {quote('customer_id')} = %s AND {quote('group_id')} = %s",
                removals,
            )
    bulk_insert(Membership._meta.db_table, ("customer_id", "group_id", "created_at"), additions)


def _tags_write(updates: list[CustomerUpdate]) -> None:
    changed = [update for update in updates if update.tags]
    if not changed:
        return
    tag_ids = _tag_ids(name for update in changed for name in update.tags[1])
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"DELETE FROM {quote(TAGS_THROUGH._meta.db_table)} WHERE {quote('customer_id')} = %s",
            [(update.customer_id,) for update in changed],
        )
    bulk_insert(
        TAGS_THROUGH._meta.db_table,
        ("customer_id", "tag_id"),
        [
            (update.customer_id, tag_ids[name.lower()])
            for update in changed
            for name in update.tags[1]
        ],
    )


def _addresses_add(updates: list[CustomerUpdate], *, now) -> dict[int, list[int]]:
    """Add the new addresses; a new default takes over from the old one."""
    with_addresses = [update for update in updates if update.addresses]
    if not with_addresses:
        return {}
    quote = connection.ops.quote_name
    table = quote(Address._meta.db_table)
    with connection.cursor() as cursor:
        for flag in ("is_default_billing", "is_default_shipping"):
            taking_over = [
                (False, update.customer_id)
                for update in with_addresses
                if any(address.get(flag) for address in update.addresses)
            ]
            if taking_over:
                cursor.executemany(
                    f"UPDATE {table} SET {quote(flag)} = %s WHERE {quote('customer_id')} = %s",
                    taking_over,
                )
    tables_lock(Address)
    first = next_id(Address)
    rows, added = [], {}
    for update in with_addresses:
        added[update.customer_id] = list(range(first, first + len(update.addresses)))
        rows += _address_rows(update.customer_id, update.addresses, first, now)
        first += len(update.addresses)
    bulk_insert(Address._meta.db_table, ADDRESS_COLUMNS, rows)
    sequence_reset(Address)
    return added
