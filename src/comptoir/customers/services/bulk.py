"""The customers list's bulk actions and the three delete modes, set-based whatever the number
of customers."""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models, transaction
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.customers.models import (
    Address,
    BulkAction,
    Channel,
    ConsentRecord,
    Customer,
    DeleteMode,
    Membership,
    OptInLevel,
    Tag,
)
from comptoir.customers.selectors import customers_bulk_targets
from comptoir.customers.services.profile import tags_get_or_create
from comptoir.customers.services.settings import customer_settings_cached
from comptoir.groups.models import Group

# -------------------------------------------------------------------------------------------------
# Bulk actions
#
# Each service takes ``selection``, the customers the action applies to (the list's filter,
# maybe narrowed to the ticked rows: ``selectors.customer_selection``), and works set-based,
# whatever the number of customers: the ids that really change (``customers_bulk_targets``) go
# into a temporary table with one INSERT ... SELECT, then one statement per table touched and one
# INSERT ... SELECT for their events (and consent history). No row is loaded into Python. Only
# customers that really change are counted and get an event.
# -------------------------------------------------------------------------------------------------

_TARGETS = "comptoir_bulk_targets"
ANONYMOUS_FIRST_NAME = "Anonymous"


def _targets_sql() -> RawSQL:
    """The ids in the temporary table, for ``id__in=`` / ``customer_id__in=`` filters."""
    return RawSQL(f"SELECT id FROM {_TARGETS}", ())


@contextlib.contextmanager
def _targets(targets: QuerySet[Customer], *, lock: bool) -> Iterator[int]:
    """Put the ids of ``targets`` into the temporary table; yields how many there are.

    ``lock`` (PostgreSQL) locks those customer rows until the transaction ends, so a concurrent
    change cannot slip between choosing the rows and changing them: every id in the table is
    really changed and gets its event. SQLite already serialises writers (BEGIN IMMEDIATE).
    """
    connection = connections[targets.db]
    query = targets.order_by().values("id")
    if lock and connection.features.has_select_for_update_of:
        query = query.select_for_update(of=("self",))
    sql, params = query.query.sql_with_params()
    # INTEGER PRIMARY KEY is SQLite's rowid: the table is then the id index itself.
    id_type = "INTEGER" if connection.vendor == "sqlite" else "bigint"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_TARGETS}")
        cursor.execute(f"CREATE TEMPORARY TABLE {_TARGETS} (id {id_type} PRIMARY KEY)")
        cursor.execute(f"INSERT INTO {_TARGETS} (id) {sql}", params)
        count = cursor.rowcount
        if connection.vendor == "postgresql":
            # A fresh temporary table has no statistics; without them the planner guesses the
            # joins below badly for a large selection.
            cursor.execute(f"ANALYZE {_TARGETS}")
    yield count
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_TARGETS}")


def _json_param(connection) -> str:
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "json(%s)"


def _ip_param(connection) -> str:
    return "CAST(%s AS inet)" if connection.vendor == "postgresql" else "%s"


def _json_object_sql(connection, pairs: Iterable[tuple[str, str]]) -> str:
    """A JSON object built in SQL from (key, SQL expression) pairs; keys are code, not input."""
    function = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
    return f"{function}(" + ", ".join(f"'{key}', {expression}" for key, expression in pairs) + ")"


def _events_insert(
    *,
    kind: str,
    actor: Actor,
    now: datetime.datetime,
    data: Mapping[str, Any] | None = None,
    data_sql: str = "",
    data_params: Iterable[Any] = (),
) -> int:
    """One event per id in the temporary table, with one INSERT ... SELECT.

    ``data`` is the same for every customer; ``data_sql`` is a JSON expression over the
    customer's row (alias ``c``) for data that differs per customer, such as a previous value.
    """
    from comptoir.core.events import events_written, jsonable
    from comptoir.core.models import Event

    connection = connections[Event.objects.db]
    columns = (
        "created_at, kind, source, actor_id, ip_address, customer_id, object_type, object_id, data"
    )
    head = f"INSERT INTO {Event._meta.db_table} ({columns}) SELECT %s, %s, %s, %s, "
    params: list[Any] = [
        connection.ops.adapt_datetimefield_value(now),
        kind,
        actor.source,
        actor.user_id,
        actor.ip_address,
    ]
    if data_sql:
        sql = (
            f"{head}{_ip_param(connection)}, c.id, 'customer', c.id, {data_sql} "
            f"FROM {Customer._meta.db_table} c WHERE c.id IN (SELECT id FROM {_TARGETS})"
        )
        params += list(data_params)
    else:
        sql = (
            f"{head}{_ip_param(connection)}, t.id, 'customer', t.id, {_json_param(connection)} "
            f"FROM {_TARGETS} t"
        )
        params.append(json.dumps({key: jsonable(value) for key, value in (data or {}).items()}))
    events_written()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _consents_insert(*, channel: str, granted: bool, actor: Actor, now: datetime.datetime) -> None:
    """One consent history row per id in the temporary table (append-only, like the others)."""
    connection = connections[ConsentRecord.objects.db]
    sql = (
        f"INSERT INTO {ConsentRecord._meta.db_table} (customer_id, channel, granted, created_at,"
        " source, actor_id, ip_address, opt_in_level, note)"
        f" SELECT t.id, %s, %s, %s, %s, %s, {_ip_param(connection)}, %s, '' FROM {_TARGETS} t"
    )
    params = [
        channel,
        granted,
        connection.ops.adapt_datetimefield_value(now),
        actor.source,
        actor.user_id,
        actor.ip_address,
        OptInLevel.UNKNOWN,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _tags_text_refresh() -> None:
    """Recompute ``tags_text`` for the customers in the temporary table, as ``tags_text_for``
    does: names sorted by their lower case (``name_key`` is exactly that), comma-joined, cut at
    1,000 characters. Code-point order on both databases, as Python sorts."""
    connection = connections[Customer.objects.db]
    customers, tags = Customer._meta.db_table, Tag._meta.db_table
    through = Customer.tags.through._meta.db_table
    if connection.vendor == "postgresql":
        joined = (
            f"SELECT left(string_agg(tg.name, ', ' ORDER BY tg.name_key COLLATE \"C\"), 1000)"
            f" FROM {tags} tg JOIN {through} ct ON ct.tag_id = tg.id"
            f" WHERE ct.customer_id = {customers}.id"
        )
    else:
        # SQLite before 3.44 has no ORDER BY inside group_concat: it follows the subquery's order.
        joined = (
            "SELECT substr(group_concat(name, ', '), 1, 1000) FROM ("
            f"SELECT tg.name FROM {tags} tg JOIN {through} ct ON ct.tag_id = tg.id"
            f" WHERE ct.customer_id = {customers}.id ORDER BY tg.name_key)"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {customers} SET tags_text = COALESCE(({joined}), '')"
            f" WHERE id IN (SELECT id FROM {_TARGETS})"
        )


@transaction.atomic
def customers_bulk_enabled_set(
    *, selection: QuerySet[Customer], enabled: bool, actor: Actor
) -> int:
    """Enable or disable the storefront login of the selected customers; returns how many
    changed."""
    action = BulkAction.ENABLE if enabled else BulkAction.DISABLE
    targets = customers_bulk_targets(selection=selection, action=action)
    with _targets(targets, lock=True) as count:
        if count:
            Customer.objects.filter(id__in=_targets_sql()).update(
                is_enabled=enabled, version=F("version") + 1
            )
            _events_insert(
                kind="customer_enabled" if enabled else "customer_disabled",
                actor=actor,
                now=timezone.now(),
            )
    return count


@transaction.atomic
def customers_bulk_consent_set(
    *, selection: QuerySet[Customer], channel: str, granted: bool, actor: Actor
) -> int:
    """Give or withdraw a marketing consent for the selected customers, with one history row
    and one event each (as ``customer_consent_set`` writes them)."""
    if channel not in Channel.values:
        raise ValidationError(_("Unknown consent channel."), code="invalid_channel")
    now = timezone.now()
    with _targets(selection.exclude(**{channel: granted}), lock=True) as count:
        if count:
            Customer.objects.filter(id__in=_targets_sql()).update(
                **{channel: granted, f"{channel}_at": now}
            )
            _consents_insert(channel=channel, granted=granted, actor=actor, now=now)
            _events_insert(
                kind="consent_changed",
                actor=actor,
                now=now,
                data={"channel": channel, "granted": granted, "opt_in_level": OptInLevel.UNKNOWN},
            )
    return count


@transaction.atomic
def customers_bulk_group_add(*, selection: QuerySet[Customer], group: Group, actor: Actor) -> int:
    """Add the selected customers to ``group``; those already in it are left alone."""
    targets = customers_bulk_targets(selection=selection, action=BulkAction.ADD_GROUP, group=group)
    now = timezone.now()
    connection = connections[Membership.objects.db]
    with _targets(targets, lock=False) as count:
        if count:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {Membership._meta.db_table} (customer_id, group_id, created_at)"
                    f" SELECT t.id, %s, %s FROM {_TARGETS} t",
                    [group.pk, connection.ops.adapt_datetimefield_value(now)],
                )
            _events_insert(kind="groups_added", actor=actor, now=now, data={"groups": [group.pk]})
    return count


@transaction.atomic
def customers_bulk_group_remove(
    *, selection: QuerySet[Customer], group: Group, actor: Actor
) -> int:
    """Take the selected customers out of ``group``. Customers whose default group it is stay
    in it (the default group cannot be left) and are not counted."""
    targets = customers_bulk_targets(
        selection=selection, action=BulkAction.REMOVE_GROUP, group=group
    )
    with _targets(targets, lock=False) as count:
        if count:
            Membership.objects.filter(group=group, customer_id__in=_targets_sql()).delete()
            _events_insert(
                kind="groups_removed", actor=actor, now=timezone.now(), data={"groups": [group.pk]}
            )
    return count


@transaction.atomic
def customers_bulk_groups_reset(*, selection: QuerySet[Customer], actor: Actor) -> int:
    """'Remove from all groups': only each customer's default group remains."""
    targets = customers_bulk_targets(selection=selection, action=BulkAction.RESET_GROUPS)
    connection = connections[Customer.objects.db]
    memberships = Membership._meta.db_table
    with _targets(targets, lock=True) as count:
        if count:
            # The event names the groups each customer leaves, so it is written before they go.
            if connection.vendor == "postgresql":
                removed = (
                    f"(SELECT jsonb_agg(m.group_id ORDER BY m.group_id) FROM {memberships} m"
                    " WHERE m.customer_id = c.id AND m.group_id <> c.default_group_id)"
                )
            else:
                removed = (
                    f"json((SELECT json_group_array(group_id) FROM (SELECT m.group_id"
                    f" FROM {memberships} m WHERE m.customer_id = c.id"
                    " AND m.group_id <> c.default_group_id ORDER BY m.group_id)))"
                )
            _events_insert(
                kind="groups_removed",
                actor=actor,
                now=timezone.now(),
                data_sql=_json_object_sql(connection, [("groups", removed)]),
            )
            Membership.objects.filter(customer_id__in=_targets_sql()).exclude(
                group_id=F("customer__default_group_id")
            ).delete()
    return count


@transaction.atomic
def customers_bulk_tax_exempt_set(
    *, selection: QuerySet[Customer], tax_exempt: bool, actor: Actor
) -> int:
    """Make the selected customers tax exempt, or not. Recorded as a profile update, like an
    edit of the field on the customer's form (the exemption reference is kept)."""
    action = BulkAction.TAX_EXEMPT_ON if tax_exempt else BulkAction.TAX_EXEMPT_OFF
    targets = customers_bulk_targets(selection=selection, action=action)
    connection = connections[Customer.objects.db]
    now = timezone.now()
    with _targets(targets, lock=True) as count:
        if count:
            changes = {"is_tax_exempt": {"before": not tax_exempt, "after": tax_exempt}}
            _events_insert(
                kind="customer_updated",
                actor=actor,
                now=now,
                data_sql=_json_object_sql(
                    connection,
                    [("changes", _json_param(connection)), ("version", "c.version + 1")],
                ),
                data_params=[json.dumps(changes)],
            )
            Customer.objects.filter(id__in=_targets_sql()).update(
                is_tax_exempt=tax_exempt, version=F("version") + 1, updated_at=now
            )
    return count


@transaction.atomic
def customers_bulk_block(*, selection: QuerySet[Customer], reason: str, actor: Actor) -> int:
    """Block the selected customers from ordering, with one reason for all of them. Customers
    already blocked keep their own reason and are not counted."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": ValidationError(_("Give a reason for blocking."), code="required")}
        )
    targets = customers_bulk_targets(selection=selection, action=BulkAction.BLOCK)
    now = timezone.now()
    with _targets(targets, lock=True) as count:
        if count:
            Customer.objects.filter(id__in=_targets_sql()).update(
                is_blocked=True,
                blocked_reason=reason,
                blocked_at=now,
                blocked_by=actor.user,
                version=F("version") + 1,
            )
            _events_insert(kind="customer_blocked", actor=actor, now=now, data={"reason": reason})
    return count


@transaction.atomic
def customers_bulk_unblock(*, selection: QuerySet[Customer], actor: Actor) -> int:
    """Unblock the selected customers; each event keeps the reason they had been blocked for."""
    targets = customers_bulk_targets(selection=selection, action=BulkAction.UNBLOCK)
    connection = connections[Customer.objects.db]
    with _targets(targets, lock=True) as count:
        if count:
            _events_insert(
                kind="customer_unblocked",
                actor=actor,
                now=timezone.now(),
                data_sql=_json_object_sql(connection, [("reason", "c.blocked_reason")]),
            )
            Customer.objects.filter(id__in=_targets_sql()).update(
                is_blocked=False,
                blocked_reason="",
                blocked_at=None,
                blocked_by=None,
                version=F("version") + 1,
            )
    return count


@transaction.atomic
def customers_bulk_tag_add(*, selection: QuerySet[Customer], name: str, actor: Actor) -> int:
    """Tag the selected customers (the tag is created if new); refreshes their ``tags_text``."""
    if not (name or "").strip():
        raise ValidationError({"tag": ValidationError(_("Name the tag."), code="required")})
    (tag,) = tags_get_or_create(names=[name])
    targets = customers_bulk_targets(
        selection=selection, action=BulkAction.ADD_TAG, tag_name=tag.name
    )
    connection = connections[Customer.objects.db]
    through = Customer.tags.through._meta.db_table
    with _targets(targets, lock=True) as count:
        if count:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {through} (customer_id, tag_id)"
                    f" SELECT t.id, %s FROM {_TARGETS} t",
                    [tag.pk],
                )
            _tags_text_refresh()
            _events_insert(
                kind="tags_added", actor=actor, now=timezone.now(), data={"tags": [tag.name]}
            )
    return count


@transaction.atomic
def customers_bulk_tag_remove(*, selection: QuerySet[Customer], name: str, actor: Actor) -> int:
    """Untag the selected customers; refreshes their ``tags_text``. The tag itself stays."""
    if not (name or "").strip():
        raise ValidationError({"tag": ValidationError(_("Name the tag."), code="required")})
    tag = Tag.objects.filter(name_key=name.strip().lower()).first()
    if tag is None:
        return 0
    targets = customers_bulk_targets(
        selection=selection, action=BulkAction.REMOVE_TAG, tag_name=tag.name
    )
    with _targets(targets, lock=True) as count:
        if count:
            Customer.tags.through.objects.filter(tag=tag, customer_id__in=_targets_sql()).delete()
            _tags_text_refresh()
            _events_insert(
                kind="tags_removed", actor=actor, now=timezone.now(), data={"tags": [tag.name]}
            )
    return count


def delete_mode_default() -> str:
    """The delete mode offered first: the one chosen on the customers settings page, else
    ``COMPTOIR_DELETE_MODE`` in settings, else 'deny re-registration' (the one that can be
    looked back on: the row and its history stay). Read through the cache: the list page shows
    it and pays no query for it."""
    chosen = customer_settings_cached().delete_mode
    if chosen in DeleteMode.values:
        return chosen
    mode = getattr(settings, "COMPTOIR_DELETE_MODE", DeleteMode.DENY_REREGISTRATION)
    return mode if mode in DeleteMode.values else DeleteMode.DENY_REREGISTRATION


def _customers_erase() -> None:
    """Delete the customers in the temporary table and what belongs only to them.

    The rows that point at a customer are found from the model relations, so a table added
    later is handled by its ``on_delete``: rows that belong to the customer go (CASCADE), rows
    that outlive it (orders, support threads) lose the link (SET_NULL), the event log keeps its
    ids (DO_NOTHING). Carts are the exception the product asks for: a cart that became an order
    stays with that order, the others go.
    """
    from django.apps import apps

    cart = apps.get_model("orders", "Cart")
    cart.objects.filter(customer_id__in=_targets_sql(), order__isnull=True).delete()
    Customer.tags.through.objects.filter(customer_id__in=_targets_sql()).delete()
    for relation in Customer._meta.related_objects:
        related = relation.related_model._base_manager.filter(
            **{f"{relation.field.attname}__in": _targets_sql()}
        )
        if relation.on_delete is models.CASCADE:
            related.delete()
        elif relation.on_delete is models.SET_NULL:
            related.update(**{relation.field.attname: None})
        elif relation.on_delete is not models.DO_NOTHING:
            raise NotImplementedError(f"{relation} needs handling before a bulk delete")
    connection = connections[Customer.objects.db]
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {Customer._meta.db_table} WHERE id IN (SELECT id FROM {_TARGETS})"
        )


# What anonymising puts in place of free text that may name the person (support messages,
# voucher names, a block reason, an outbox body): stored data, so not translated.
ANONYMISED_TEXT = "[anonymised]"

# Profile and address fields whose before/after values an event may hold under "changes"
# (``customer_updated``, ``address_changed``, ``customer_merged``): anonymising blanks them.
EVENT_PERSONAL_FIELDS = (
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "phone_input",
    "mobile",
    "mobile_input",
    "birthday",
    "company",
    "siret",
    "vat_number",
    "website",
    "social_accounts",
    "external_id",
    "note",
    "tax_exemption_ref",
    "alias",
    "address1",
    "address2",
    "postcode",
    "city",
    "state",
)
# Keys at the top of an event's data that hold personal values (``customer_created`` keeps the
# name and e-mail, ``address_added`` the city, block events the reason, merges the duplicate's
# name and e-mail, ...). A service that records personal data in an event uses one of these.
EVENT_PERSONAL_KEYS = (
    "fingerprint",  # an import's hash of the customer's row (transfer.services.import_known)
    "name",
    "email",
    "first_name",
    "last_name",
    "phone",
    "mobile",
    "birthday",
    "company",
    "city",
    "reason",
    "note",
    "to",
)
# Event kinds whose top-level before/after are personal values (not ids or states).
EVENT_KINDS_WITH_PERSONAL_VALUES = ("note_changed",)


def _event_personal_paths() -> list[tuple[str, ...]]:
    return [
        *((key,) for key in EVENT_PERSONAL_KEYS),
        *(
            ("changes", field, side)
            for field in EVENT_PERSONAL_FIELDS
            for side in ("before", "after")
        ),
    ]


def _json_nulls_sql(connection, column: str, paths: list[tuple[str, ...]]) -> str:
    """``column`` with the value at each path set to JSON null, paths that are absent left
    absent (SQLite ``json_replace``; PostgreSQL ``jsonb_set`` with ``create_missing`` off).
    Paths are code, never input."""
    if connection.vendor == "postgresql":
        sql = column
        for path in paths:
            sql = f"jsonb_set({sql}, '{{{','.join(path)}}}', 'null'::jsonb, false)"
        return sql
    sql = column
    # SQLite caps a function's arguments (127 by default): a few paths per call.
    for start in range(0, len(paths), 40):
        pairs = ", ".join(f"'$.{'.'.join(path)}', NULL" for path in paths[start : start + 40])
        sql = f"json_replace({sql}, {pairs})"
    return sql


def _events_scrub() -> None:
    """Blank the personal values kept in the events of the customers in the temporary table
    (the kinds of change stay on the timeline, the values go), and every IP address."""
    from comptoir.core.models import Event

    connection = connections[Event.objects.db]
    kinds = ", ".join(f"'{kind}'" for kind in EVENT_KINDS_WITH_PERSONAL_VALUES)
    scrubbed = _json_nulls_sql(connection, "data", _event_personal_paths())
    with_values = _json_nulls_sql(connection, scrubbed, [("before",), ("after",)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Event._meta.db_table} SET ip_address = NULL, data = CASE"
            f" WHEN kind IN ({kinds}) THEN {with_values} ELSE {scrubbed} END"
            f" WHERE customer_id IN (SELECT id FROM {_TARGETS})"
        )


def _storefront_credentials() -> list[type[models.Model]]:
    """The storefront's reset tokens and sessions: an anonymised customer keeps none.
    Looked up by name: the storefront app depends on customers, not the other way round."""
    from django.apps import apps

    return [
        apps.get_model("storefront", name) for name in ("PasswordResetToken", "CustomerSession")
    ]


def _related_scrubs() -> dict[type[models.Model], dict[str, Any]]:
    """What anonymising writes over in each table that points at a customer.

    Every IP address and every e-mail copy, wherever a related table has such a column (a table
    added later is covered), plus what each known table holds that could name the person. Order
    snapshots lose the name and e-mail too: the order stays readable (reference, date, status,
    lines, totals, payment method) but no longer says whose it was; a shop that must keep the
    buyer's name with its orders deletes with "deny re-registration" instead.
    """
    from django.apps import apps
    from django.db.models.functions import Cast, Concat

    scrubs: dict[type[models.Model], dict[str, Any]] = {}
    for relation in Customer._meta.related_objects:
        model = relation.related_model
        field_names = {field.name for field in model._meta.concrete_fields}
        generic: dict[str, Any] = {}
        if "ip_address" in field_names:
            generic["ip_address"] = None
        if "email" in field_names:
            generic["email"] = ""
        if generic:
            scrubs.setdefault(model, {}).update(generic)
    voucher_code = Concat(
        models.Value("ANON-"), Cast("id", models.CharField()), output_field=models.CharField()
    )
    known = {
        ("customers", "ConsentRecord"): {"note": ""},
        ("orders", "Order"): {
            "customer_first_name": ANONYMOUS_FIRST_NAME,
            "customer_last_name": "",
            "customer_email": "",
        },
        ("orders", "Visit"): {"referrer": ""},
        ("orders", "Voucher"): {"code": voucher_code, "name": ANONYMISED_TEXT},
        ("support", "Thread"): {"subject": ANONYMISED_TEXT},
        ("core", "OutboxMessage"): {"to": "", "body": ANONYMISED_TEXT},
    }
    for (app_label, model_name), fields in known.items():
        scrubs.setdefault(apps.get_model(app_label, model_name), {}).update(fields)
    from comptoir.core.models import Event

    scrubs.pop(Event, None)  # its IPs and payloads: ``_events_scrub``
    for model in _storefront_credentials():  # deleted outright
        scrubs.pop(model, None)
    return scrubs


def _customers_anonymise(now: datetime.datetime) -> None:
    """Scrub, irreversibly, the personal data of the customers in the temporary table, keeping
    what the shop needs: figures, orders (lines and totals, see ``_related_scrubs``), carts,
    groups, tags, consent history (states and dates, without IP addresses or notes) and the
    timeline (kinds of change, without the personal values: ``_events_scrub``).

    One statement per table, whatever the number of customers; this is also the bulk path.
    """
    from django.apps import apps
    from django.db.models import Case, Value, When

    Customer.objects.filter(id__in=_targets_sql()).update(
        title=None,
        first_name=ANONYMOUS_FIRST_NAME,
        last_name="",
        email="",
        email_key="",
        phone="",
        phone_input="",
        mobile="",
        mobile_input="",
        birthday=None,
        company="",
        siret="",
        ape_code="",
        vat_number="",
        website="",
        social_accounts={},
        external_id="",
        tax_exemption_ref="",
        # A blocked customer stays blocked (the constraint wants a reason), but the reason staff
        # wrote may name or describe the person.
        blocked_reason=Case(When(is_blocked=True, then=Value(ANONYMISED_TEXT)), default=Value("")),
        note="",
        password="",
        must_reset_password=False,
        is_enabled=False,
        search_text="",
        anonymised_at=now,
        updated_at=now,
        version=F("version") + 1,
    )
    Address.objects.filter(customer_id__in=_targets_sql()).delete()
    for model in _storefront_credentials():  # reset tokens, logged-in sessions: gone
        model.objects.filter(customer_id__in=_targets_sql()).delete()
    for model, fields in _related_scrubs().items():
        customer_field = next(
            field.attname
            for field in model._meta.concrete_fields
            if field.is_relation and field.related_model is Customer
        )
        model._base_manager.filter(**{f"{customer_field}__in": _targets_sql()}).update(**fields)
    # Both sides of the conversation: staff replies greet and quote the customer too.
    apps.get_model("support", "Message")._base_manager.filter(
        thread__customer_id__in=_targets_sql()
    ).update(body=ANONYMISED_TEXT)
    _events_scrub()


@transaction.atomic
def customers_bulk_delete(*, selection: QuerySet[Customer], mode: str, actor: Actor) -> int:
    """Delete the selected customers in one of the three modes (``DeleteMode``):

    - allow re-registration: the rows go (orders stay, unlinked; see ``_customers_erase``);
    - deny re-registration: ``deleted_at`` is set, the e-mail stays taken, the row is hidden;
    - anonymise: personal data scrubbed (``_customers_anonymise``), ``anonymised_at`` set.

    Every customer gets a ``customer_deleted`` or ``customer_anonymised`` event, which outlives
    the row.
    """
    if mode not in DeleteMode.values:
        raise ValidationError(
            {"delete_mode": ValidationError(_("Choose how to delete."), code="invalid_choice")}
        )
    targets = customers_bulk_targets(
        selection=selection, action=BulkAction.DELETE, delete_mode=mode
    )
    now = timezone.now()
    with _targets(targets, lock=True) as count:
        if not count:
            return 0
        if mode == DeleteMode.ALLOW_REREGISTRATION:
            _events_insert(kind="customer_deleted", actor=actor, now=now, data={"mode": mode})
            _customers_erase()
        elif mode == DeleteMode.DENY_REREGISTRATION:
            Customer.objects.filter(id__in=_targets_sql()).update(
                deleted_at=now, updated_at=now, version=F("version") + 1
            )
            _events_insert(kind="customer_deleted", actor=actor, now=now, data={"mode": mode})
        else:
            _customers_anonymise(now)
            # After the scrub, so this event keeps the staff member's address.
            _events_insert(kind="customer_anonymised", actor=actor, now=now)
    return count


def customer_delete(*, customer: Customer, mode: str, actor: Actor) -> bool:
    """Delete one customer in one of the three modes; False if that changed nothing."""
    return bool(
        customers_bulk_delete(
            selection=Customer.objects.filter(pk=customer.pk), mode=mode, actor=actor
        )
    )


def customers_bulk_apply(
    *,
    selection: QuerySet[Customer],
    action: str,
    actor: Actor,
    group: Group | None = None,
    reason: str = "",
    tag_name: str = "",
    delete_mode: str | None = None,
) -> int:
    """Run one bulk action by its name (``BulkAction``) with its parameters; returns how many
    customers changed. What the list's bulk form calls."""
    simple = {
        BulkAction.ENABLE: lambda: customers_bulk_enabled_set(
            selection=selection, enabled=True, actor=actor
        ),
        BulkAction.DISABLE: lambda: customers_bulk_enabled_set(
            selection=selection, enabled=False, actor=actor
        ),
        BulkAction.NEWSLETTER_ON: lambda: customers_bulk_consent_set(
            selection=selection, channel=Channel.NEWSLETTER, granted=True, actor=actor
        ),
        BulkAction.NEWSLETTER_OFF: lambda: customers_bulk_consent_set(
            selection=selection, channel=Channel.NEWSLETTER, granted=False, actor=actor
        ),
        BulkAction.PARTNER_OFFERS_ON: lambda: customers_bulk_consent_set(
            selection=selection, channel=Channel.PARTNER_OFFERS, granted=True, actor=actor
        ),
        BulkAction.PARTNER_OFFERS_OFF: lambda: customers_bulk_consent_set(
            selection=selection, channel=Channel.PARTNER_OFFERS, granted=False, actor=actor
        ),
        BulkAction.RESET_GROUPS: lambda: customers_bulk_groups_reset(
            selection=selection, actor=actor
        ),
        BulkAction.TAX_EXEMPT_ON: lambda: customers_bulk_tax_exempt_set(
            selection=selection, tax_exempt=True, actor=actor
        ),
        BulkAction.TAX_EXEMPT_OFF: lambda: customers_bulk_tax_exempt_set(
            selection=selection, tax_exempt=False, actor=actor
        ),
        BulkAction.BLOCK: lambda: customers_bulk_block(
            selection=selection, reason=reason, actor=actor
        ),
        BulkAction.UNBLOCK: lambda: customers_bulk_unblock(selection=selection, actor=actor),
        BulkAction.ADD_TAG: lambda: customers_bulk_tag_add(
            selection=selection, name=tag_name, actor=actor
        ),
        BulkAction.REMOVE_TAG: lambda: customers_bulk_tag_remove(
            selection=selection, name=tag_name, actor=actor
        ),
        BulkAction.DELETE: lambda: customers_bulk_delete(
            selection=selection, mode=delete_mode or "", actor=actor
        ),
    }
    if action in (BulkAction.ADD_GROUP, BulkAction.REMOVE_GROUP):
        if group is None:
            raise ValidationError({"group": ValidationError(_("Choose a group."), code="required")})
        service = (
            customers_bulk_group_add
            if action == BulkAction.ADD_GROUP
            else customers_bulk_group_remove
        )
        return service(selection=selection, group=group, actor=actor)
    if action not in simple:
        raise ValidationError(
            {"action": ValidationError(_("Choose an action."), code="invalid_choice")}
        )
    return simple[action]()
