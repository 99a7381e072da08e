"""Writes to customers. Each service runs in one transaction and writes its event in it.

Besides the one-customer services: the bulk actions of the customers list (set-based SQL, see
"Bulk actions" below), the delete modes, and the list page's remembered columns and saved views.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, models, transaction
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import changes_between, event_record
from comptoir.core.normalise import email_key
from comptoir.customers.models import (
    Address,
    BulkAction,
    Channel,
    ConsentRecord,
    Customer,
    DeleteMode,
    ListPreference,
    Membership,
    OptInLevel,
    SavedView,
    Tag,
)
from comptoir.customers.search import search_text_for
from comptoir.customers.selectors import customers_bulk_targets
from comptoir.customers.validation import profile_clean
from comptoir.groups.models import Group
from comptoir.groups.selectors import group_default


class ConcurrentUpdateError(ValidationError):
    """Someone else saved the customer since the form was opened."""

    def __init__(self, *, changed: dict[str, dict]):
        super().__init__(
            _("Another staff member changed this customer meanwhile. Review their changes."),
            code="stale",
        )
        self.changed = changed


def _email_taken(key: str, *, exclude_pk: int | None = None) -> Customer | None:
    if not key:
        return None
    taken = Customer.objects.filter(email_key=key, is_guest=False)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    return taken.first()


def _duplicate_email_error(existing: Customer) -> ValidationError:
    error = ValidationError(
        {
            "email": ValidationError(
                _("A customer with this e-mail address already exists."),
                code="duplicate",
                params={"customer_id": existing.pk},
            )
        }
    )
    error.existing_customer_id = existing.pk
    return error


def _save_unique(customer: Customer, **save_kwargs: Any) -> None:
    """Save, turning the database's unique-email refusal (a race) into a field error."""
    try:
        with transaction.atomic():
            customer.save(**save_kwargs)
    except IntegrityError:
        existing = _email_taken(customer.email_key, exclude_pk=customer.pk)
        if existing is None:
            raise
        raise _duplicate_email_error(existing) from None


def _profile_snapshot(customer: Customer, fields: Iterable[str]) -> dict[str, Any]:
    return {field: getattr(customer, field) for field in fields}


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    first_name: str,
    last_name: str,
    email: str = "",
    is_guest: bool = False,
    password: str | None = None,
    groups: Iterable[Group] = (),
    default_group: Group | None = None,
    consents: Mapping[str, bool] | None = None,
    opt_in_level: str = OptInLevel.UNKNOWN,
    tags: Iterable[str] = (),
    note: str = "",
    is_demo: bool = False,
    phone_region: str | None = None,
    **profile: Any,
) -> Customer:
    """Create a registered customer or a guest, in its groups, with its initial consents."""
    cleaned = profile_clean(
        {"first_name": first_name, "last_name": last_name, "email": email, **profile},
        phone_region=phone_region,
    )
    key = email_key(cleaned["email"])
    if not is_guest:
        if not key:
            raise ValidationError(
                {"email": ValidationError(_("This field is required."), code="required")}
            )
        existing = _email_taken(key)
        if existing is not None:
            raise _duplicate_email_error(existing)
    default_group = default_group or group_default()
    member_of = {group.pk: group for group in groups}
    member_of.setdefault(default_group.pk, default_group)

    customer = Customer(
        **cleaned,
        email_key=key,
        is_guest=is_guest,
        note=note.strip(),
        is_demo=is_demo,
        default_group=default_group,
        password=make_password(password) if password else "",
    )
    customer.search_text = search_text_for(customer)
    _save_unique(customer, force_insert=True)
    Membership.objects.bulk_create(
        Membership(customer=customer, group_id=group_id) for group_id in member_of
    )
    if tags:
        _tags_apply(customer, tags_get_or_create(names=tags))
    event_record(
        kind="customer_created",
        actor=actor,
        customer_id=customer.pk,
        data={"guest": is_guest, "email": customer.email, "name": customer.full_name},
    )
    for channel, granted in (consents or {}).items():
        customer_consent_set(
            customer=customer,
            channel=channel,
            granted=granted,
            actor=actor,
            opt_in_level=opt_in_level,
        )
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    actor: Actor,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
    phone_region: str | None = None,
) -> Customer:
    """Change profile fields. With ``expected_version``, refuse if someone saved meanwhile."""
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    cleaned = profile_clean(changes, phone_region=phone_region)
    if expected_version is not None and current.version != expected_version:
        raise ConcurrentUpdateError(changed=_changes_since(current, expected_version))
    if "email" in cleaned:
        key = email_key(cleaned["email"])
        if not current.is_guest and not key:
            raise ValidationError(
                {"email": ValidationError(_("This field is required."), code="required")}
            )
        if not current.is_guest:
            existing = _email_taken(key, exclude_pk=current.pk)
            if existing is not None:
                raise _duplicate_email_error(existing)
        cleaned["email_key"] = key
    before = _profile_snapshot(current, cleaned)
    diff = changes_between(before, cleaned)
    diff.pop("email_key", None)
    if not diff:
        return current
    for field, value in cleaned.items():
        setattr(current, field, value)
    current.search_text = search_text_for(current)
    current.updated_at = timezone.now()
    current.version += 1
    _save_unique(
        current,
        update_fields=[*cleaned, "search_text", "updated_at", "version"],
    )
    event_record(
        kind="customer_updated",
        actor=actor,
        customer_id=current.pk,
        data={"changes": diff, "version": current.version},
    )
    return current


def _changes_since(customer: Customer, version: int) -> dict[str, dict]:
    """What the updates after ``version`` changed, merged from their events."""
    from comptoir.core.models import Event

    merged: dict[str, dict] = {}
    updates = Event.objects.filter(
        customer_id=customer.pk, kind="customer_updated", data__version__gt=version
    ).order_by("id")
    for event in updates:
        for field, change in event.data.get("changes", {}).items():
            merged.setdefault(field, {"before": change["before"]})["after"] = change["after"]
    return merged


@transaction.atomic
def customer_consent_set(
    *,
    customer: Customer,
    channel: str,
    granted: bool,
    actor: Actor,
    opt_in_level: str = OptInLevel.UNKNOWN,
    note: str = "",
) -> bool:
    """Set one marketing consent; a change writes a history row. Returns whether it changed."""
    if channel not in Channel.values:
        raise ValidationError(_("Unknown consent channel."), code="invalid_channel")
    if opt_in_level not in OptInLevel.values:
        raise ValidationError(_("Unknown opt-in level."), code="invalid_opt_in")
    current = Customer.objects.select_for_update().only(channel).get(pk=customer.pk)
    if getattr(current, channel) == granted:
        return False
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(**{channel: granted, f"{channel}_at": now})
    setattr(customer, channel, granted)
    setattr(customer, f"{channel}_at", now)
    ConsentRecord.objects.create(
        customer=customer,
        channel=channel,
        granted=granted,
        created_at=now,
        source=actor.source,
        actor_id=actor.user_id,
        ip_address=actor.ip_address,
        opt_in_level=opt_in_level if granted else OptInLevel.UNKNOWN,
        note=note[:255],
    )
    event_record(
        kind="consent_changed",
        actor=actor,
        customer_id=customer.pk,
        created_at=now,
        data={"channel": channel, "granted": granted, "opt_in_level": opt_in_level},
    )
    return True


@transaction.atomic
def customer_groups_add(*, customer: Customer, groups: Iterable[Group], actor: Actor) -> list[int]:
    """Add the customer to groups; returns the ids of the groups actually added."""
    wanted = {group.pk for group in groups}
    already = set(
        customer.memberships.filter(group_id__in=wanted).values_list("group_id", flat=True)
    )
    added = sorted(wanted - already)
    if added:
        Membership.objects.bulk_create(
            Membership(customer=customer, group_id=group_id) for group_id in added
        )
        event_record(
            kind="groups_added", actor=actor, customer_id=customer.pk, data={"groups": added}
        )
    return added


@transaction.atomic
def customer_groups_remove(
    *, customer: Customer, groups: Iterable[Group], actor: Actor
) -> list[int]:
    """Remove the customer from groups; the default group cannot be removed."""
    wanted = {group.pk for group in groups}
    if customer.default_group_id in wanted:
        raise ValidationError(
            _("The default group cannot be removed; choose another default group first."),
            code="default_group",
        )
    removed = sorted(
        customer.memberships.filter(group_id__in=wanted).values_list("group_id", flat=True)
    )
    if removed:
        customer.memberships.filter(group_id__in=removed).delete()
        event_record(
            kind="groups_removed", actor=actor, customer_id=customer.pk, data={"groups": removed}
        )
    return removed


@transaction.atomic
def customer_groups_reset(*, customer: Customer, actor: Actor) -> list[int]:
    """'Remove from all groups': only the default group remains."""
    others = Group.objects.filter(memberships__customer=customer).exclude(
        pk=customer.default_group_id
    )
    return customer_groups_remove(customer=customer, groups=list(others), actor=actor)


@transaction.atomic
def customer_default_group_set(*, customer: Customer, group: Group, actor: Actor) -> bool:
    """Make ``group`` the default group (the customer joins it if needed)."""
    if customer.default_group_id == group.pk:
        return False
    before = customer.default_group_id
    Membership.objects.get_or_create(customer=customer, group=group)
    Customer.objects.filter(pk=customer.pk).update(
        default_group=group, version=F("version") + 1, updated_at=timezone.now()
    )
    customer.default_group = group
    event_record(
        kind="default_group_changed",
        actor=actor,
        customer_id=customer.pk,
        data={"before": before, "after": group.pk},
    )
    return True


@transaction.atomic
def customer_block(*, customer: Customer, reason: str, actor: Actor) -> Customer:
    """Block the customer from ordering. The reason is required and shown to staff."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": ValidationError(_("Give a reason for blocking."), code="required")}
        )
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if current.is_blocked:
        raise ValidationError(_("This customer is already blocked."), code="already_blocked")
    now = timezone.now()
    fields = {
        "is_blocked": True,
        "blocked_reason": reason,
        "blocked_at": now,
        "blocked_by": actor.user,
    }
    Customer.objects.filter(pk=customer.pk).update(**fields, version=F("version") + 1)
    for field, value in fields.items():
        setattr(customer, field, value)
    event_record(
        kind="customer_blocked", actor=actor, customer_id=customer.pk, data={"reason": reason}
    )
    return customer


@transaction.atomic
def customer_unblock(*, customer: Customer, actor: Actor) -> Customer:
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if not current.is_blocked:
        raise ValidationError(_("This customer is not blocked."), code="not_blocked")
    fields = {"is_blocked": False, "blocked_reason": "", "blocked_at": None, "blocked_by": None}
    Customer.objects.filter(pk=customer.pk).update(**fields, version=F("version") + 1)
    for field, value in fields.items():
        setattr(customer, field, value)
    event_record(
        kind="customer_unblocked",
        actor=actor,
        customer_id=customer.pk,
        data={"reason": current.blocked_reason},
    )
    return customer


@transaction.atomic
def customer_enabled_set(*, customer: Customer, enabled: bool, actor: Actor) -> bool:
    """Enable or disable the customer's storefront login. Returns whether it changed."""
    changed = (
        Customer.objects.filter(pk=customer.pk)
        .exclude(is_enabled=enabled)
        .update(is_enabled=enabled, version=F("version") + 1)
    )
    customer.is_enabled = enabled
    if changed:
        event_record(
            kind="customer_enabled" if enabled else "customer_disabled",
            actor=actor,
            customer_id=customer.pk,
        )
    return bool(changed)


@transaction.atomic
def customer_note_set(*, customer: Customer, note: str, actor: Actor) -> bool:
    note = (note or "").strip()
    before = Customer.objects.filter(pk=customer.pk).values_list("note", flat=True).get()
    if before == note:
        return False
    Customer.objects.filter(pk=customer.pk).update(note=note)
    customer.note = note
    event_record(
        kind="note_changed",
        actor=actor,
        customer_id=customer.pk,
        data={"before": before, "after": note},
    )
    return True


@transaction.atomic
def customer_password_set(*, customer: Customer, raw_password: str, actor: Actor) -> None:
    """Set the storefront password (hashed with Argon2; never stored or logged as given)."""
    Customer.objects.filter(pk=customer.pk).update(
        password=make_password(raw_password), must_reset_password=False
    )
    event_record(kind="password_changed", actor=actor, customer_id=customer.pk)


def tags_get_or_create(*, names: Iterable[str]) -> list[Tag]:
    """The tags with these names (case-insensitive), created when missing."""
    wanted: dict[str, str] = {}
    for name in names:
        if name and name.strip():
            # The first spelling wins: "VIP" and "vip" are one tag.
            wanted.setdefault(name.strip().lower(), name.strip())
    for name in wanted.values():
        if len(name) > 64:
            raise ValidationError(_("A tag has at most 64 characters."), code="tag_too_long")
    existing = {tag.name_key: tag for tag in Tag.objects.filter(name_key__in=wanted)}
    missing = [Tag(name=name, name_key=key) for key, name in wanted.items() if key not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    return list(Tag.objects.filter(name_key__in=wanted))


def tags_text_for(tags: Iterable[Tag]) -> str:
    """The tag names as the list shows and sorts them: sorted case-insensitively, comma-joined."""
    return ", ".join(sorted((tag.name for tag in tags), key=str.lower))[:1000]


def _tags_apply(customer: Customer, tags: list[Tag]) -> None:
    customer.tags.set(tags)
    customer.tags_text = tags_text_for(tags)
    Customer.objects.filter(pk=customer.pk).update(tags_text=customer.tags_text)


@transaction.atomic
def customer_tags_set(*, customer: Customer, names: Iterable[str], actor: Actor) -> None:
    before = sorted(customer.tags.values_list("name", flat=True))
    tags = tags_get_or_create(names=names)
    after = sorted(tag.name for tag in tags)
    if before == after:
        return
    _tags_apply(customer, tags)
    event_record(
        kind="tags_changed",
        actor=actor,
        customer_id=customer.pk,
        data={"before": before, "after": after},
    )


ADDRESS_FIELDS = (
    "alias",
    "first_name",
    "last_name",
    "company",
    "vat_number",
    "address1",
    "address2",
    "postcode",
    "city",
    "state",
    "country",
    "phone",
)


def _address_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    from django_countries import countries

    from comptoir.core.normalise import name_clean, phone_to_e164

    errors: dict[str, ValidationError] = {}
    cleaned: dict[str, Any] = {}
    for field, value in values.items():
        if field not in ADDRESS_FIELDS:
            raise TypeError(f"Not an address field: {field}")
        cleaned[field] = name_clean(value) if isinstance(value, str) else value
    for field in ("first_name", "last_name", "address1", "city", "country"):
        if field in cleaned and not cleaned[field]:
            errors[field] = ValidationError(_("This field is required."), code="required")
    if cleaned.get("country"):
        cleaned["country"] = str(cleaned["country"]).upper()
        if cleaned["country"] not in dict(countries):
            errors["country"] = ValidationError(
                _("Choose a country from the list."), code="invalid_choice"
            )
    if cleaned.get("phone") and "country" not in errors:
        try:
            cleaned["phone"] = phone_to_e164(cleaned["phone"], cleaned.get("country"))
        except ValidationError as exc:
            errors["phone"] = exc
    if errors:
        raise ValidationError(errors)
    return cleaned


def _refresh_from_addresses(customer: Customer) -> None:
    """Copy what the list needs from the addresses: the search text and the default billing
    address's country."""
    billing = customer.addresses.order_by("-is_default_billing", "id").first()
    customer.country = billing.country.code if billing else ""
    customer.search_text = search_text_for(customer)
    Customer.objects.filter(pk=customer.pk).update(
        search_text=customer.search_text, country=customer.country
    )


@transaction.atomic
def address_create(
    *,
    customer: Customer,
    actor: Actor,
    default_shipping: bool = False,
    default_billing: bool = False,
    **fields: Any,
) -> Address:
    for required in ("first_name", "last_name", "address1", "city", "country"):
        fields.setdefault(required, "")
    cleaned = _address_clean(fields)
    first = not customer.addresses.exists()
    default_shipping, default_billing = default_shipping or first, default_billing or first
    if default_shipping:
        customer.addresses.update(is_default_shipping=False)
    if default_billing:
        customer.addresses.update(is_default_billing=False)
    address = Address.objects.create(
        customer=customer,
        is_default_shipping=default_shipping,
        is_default_billing=default_billing,
        **cleaned,
    )
    _refresh_from_addresses(customer)
    event_record(
        kind="address_added",
        actor=actor,
        customer_id=customer.pk,
        data={"address": address.pk, "city": address.city},
    )
    return address


@transaction.atomic
def address_update(*, address: Address, actor: Actor, **fields: Any) -> Address:
    cleaned = _address_clean(fields)
    diff = changes_between(_profile_snapshot(address, cleaned), cleaned)
    if not diff:
        return address
    for field, value in cleaned.items():
        setattr(address, field, value)
    address.updated_at = timezone.now()
    address.save()
    _refresh_from_addresses(address.customer)
    event_record(
        kind="address_changed",
        actor=actor,
        customer_id=address.customer_id,
        data={"address": address.pk, "changes": diff},
    )
    return address


@transaction.atomic
def address_delete(*, address: Address, actor: Actor) -> None:
    customer = address.customer
    address_id = address.pk
    address.delete()
    _refresh_from_addresses(customer)
    event_record(
        kind="address_removed", actor=actor, customer_id=customer.pk, data={"address": address_id}
    )


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
    from comptoir.core.events import jsonable
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
    """The delete mode offered first: ``COMPTOIR_DELETE_MODE`` in settings, else 'deny
    re-registration' (the one that can be looked back on: the row and its history stay)."""
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


def _customers_anonymise(now: datetime.datetime) -> None:
    """Scrub the personal data of the customers in the temporary table, keeping what the shop
    needs: figures, orders (with their snapshot, an accounting record), groups, tags and the
    consent history (without IP addresses)."""
    Customer.objects.filter(id__in=_targets_sql()).update(
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
        vat_number="",
        website="",
        social_accounts={},
        external_id="",
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
    # Every IP address recorded about them (visits, consent history, events) and the e-mail
    # copies kept beside them (support threads), wherever a related table has such a column.
    for relation in Customer._meta.related_objects:
        field_names = {field.name for field in relation.related_model._meta.concrete_fields}
        scrub = {name: None for name in ("ip_address",) if name in field_names}
        if "email" in field_names:
            scrub["email"] = ""
        if scrub:
            relation.related_model._base_manager.filter(
                **{f"{relation.field.attname}__in": _targets_sql()}
            ).update(**scrub)


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


# -------------------------------------------------------------------------------------------------
# The list page's memory: each staff member's columns and page size, and their saved views.
# Personal display settings, not shop data: they write no event.
# -------------------------------------------------------------------------------------------------

SAVED_VIEW_QUERY_MAX = 2000
# Parameters that describe one visit rather than the view: not kept in a saved view.
_TRANSIENT_PARAMS = frozenset({"page", "csrfmiddlewaretoken"})


def list_preference_remember(
    *, user, columns: Sequence[str] | None = None, per_page: int | None = None
) -> bool:
    """Remember the columns and/or page size the staff member chose; False if already so."""
    preference, _created = ListPreference.objects.get_or_create(user=user)
    changes: dict[str, Any] = {}
    if columns is not None and list(columns) != preference.columns:
        changes["columns"] = list(columns)
    if per_page is not None and per_page != preference.per_page:
        changes["per_page"] = per_page
    if not changes:
        return _created
    ListPreference.objects.filter(pk=preference.pk).update(**changes, updated_at=timezone.now())
    return True


def saved_view_query_clean(query: str) -> str:
    """The list's query string as a saved view keeps it: without the page number, empty values
    or a leading '?'."""
    pairs = [
        (key, value)
        for key, value in parse_qsl((query or "").lstrip("?"), keep_blank_values=False)
        if key not in _TRANSIENT_PARAMS
    ]
    return urlencode(pairs)


def _saved_view_name_clean(*, owner, name: str, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ValidationError(_("Name the view."), code="required")})
    if len(name) > 100:
        raise ValidationError(
            {
                "name": ValidationError(
                    _("A view name has at most 100 characters."), code="max_length"
                )
            }
        )
    taken = SavedView.objects.filter(owner=owner, name=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError(
            {
                "name": ValidationError(
                    _("You already have a view with this name."), code="duplicate"
                )
            }
        )
    return name


@transaction.atomic
def saved_view_create(*, owner, name: str, query: str) -> SavedView:
    """Save the list's current state under a name, for its owner only."""
    name = _saved_view_name_clean(owner=owner, name=name)
    query = saved_view_query_clean(query)
    if len(query) > SAVED_VIEW_QUERY_MAX:
        raise ValidationError(_("This view has too many filters to be saved."), code="too_long")
    return SavedView.objects.create(owner=owner, name=name, query=query)


@transaction.atomic
def saved_view_rename(*, saved_view: SavedView, name: str) -> SavedView:
    saved_view.name = _saved_view_name_clean(
        owner=saved_view.owner_id, name=name, exclude_pk=saved_view.pk
    )
    saved_view.save(update_fields=["name"])
    return saved_view


@transaction.atomic
def saved_view_delete(*, saved_view: SavedView) -> None:
    saved_view.delete()
