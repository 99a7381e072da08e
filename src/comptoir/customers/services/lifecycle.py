"""One customer's lifecycle: merge a duplicate into it, turn a guest into a registered customer
(folding in the other guests of its e-mail), and hand over everything held on the person
(GDPR right of access). Delete, block and login have their services in ``bulk`` and
``profile``; the confirmation screens for all of them are in ``views.lifecycle``.

Each service runs in one transaction and records its events in it. Moving rows from one
customer to another is one UPDATE per table, whatever the number of rows.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import secrets
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connections, models, transaction
from django.db.models import Case, Count, F, Max, Min, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.csv_safety import cell_safe
from comptoir.core.events import changes_between, event_build, event_record, events_record_many
from comptoir.core.models import OutboxMessage
from comptoir.customers.models import Address, Channel, Customer, Membership
from comptoir.customers.search import search_text_for
from comptoir.customers.selectors.lifecycle import (
    DUPLICATE,
    MERGE_FIELDS,
    SURVIVOR,
    customer_guests_to_fold,
    customer_personal_data,
    merge_refusals,
    merge_value_empty,
)
from comptoir.customers.services.profile import tags_text_for

# How long the link of a guest conversion lets the customer choose a password.
PASSWORD_RESET_HOURS = 72


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


# -------------------------------------------------------------------------------------------------
# Folding customers into one (merge and guest conversion)
# -------------------------------------------------------------------------------------------------


def _movable() -> list[tuple[str, type[models.Model]]]:
    """The tables whose rows follow their customer into the survivor, as they are. Models of
    the apps that depend on customers are looked up by name, not imported."""
    from comptoir.core.models import Event
    from comptoir.customers.models import ConsentRecord

    return [
        ("orders", apps.get_model("orders", "Order")),
        ("carts", apps.get_model("orders", "Cart")),
        ("consents", ConsentRecord),
        ("threads", apps.get_model("support", "Thread")),
        ("visits", apps.get_model("orders", "Visit")),
        ("vouchers", apps.get_model("orders", "Voucher")),
        ("outbox_messages", OutboxMessage),
        ("events", Event),
    ]


def _id_list_sql(ids: Sequence[int]) -> tuple[str, list[int]]:
    return ", ".join(["%s"] * len(ids)), list(ids)


def _addresses_move(survivor: Customer, ids: Sequence[int]) -> int:
    """Give the others' addresses to the survivor. It keeps its default shipping and billing
    addresses; where it has none, the newest other default becomes its own."""
    defaults = Address.objects.filter(customer=survivor).aggregate(
        shipping=Count("id", filter=models.Q(is_default_shipping=True)),
        billing=Count("id", filter=models.Q(is_default_billing=True)),
    )
    candidates = list(
        Address.objects.filter(customer_id__in=ids)
        .filter(models.Q(is_default_shipping=True) | models.Q(is_default_billing=True))
        .order_by("-id")
        .values_list("id", "is_default_shipping", "is_default_billing")
    )
    shipping = None if defaults["shipping"] else next((a for a, s, _b in candidates if s), None)
    billing = None if defaults["billing"] else next((a for a, _s, b in candidates if b), None)

    def flag(address_id: int | None) -> Case:
        return Case(
            When(id=address_id, then=Value(True)),
            default=Value(False),
            output_field=models.BooleanField(),
        )

    return Address.objects.filter(customer_id__in=ids).update(
        customer_id=survivor.pk,
        is_default_shipping=flag(shipping),
        is_default_billing=flag(billing),
    )


def _links_copy(table: str, column: str, survivor: Customer, ids: Sequence[int], **extra) -> int:
    """Copy the others' rows of a customer ↔ thing link table (groups, tags) to the survivor,
    except those it already has; one INSERT ... SELECT. The others' own rows go with them."""
    if not ids:  # "IN ()" is a syntax error on PostgreSQL (a guest converted alone)
        return 0
    connection = connections[Customer.objects.db]
    placeholders, params = _id_list_sql(ids)
    extra_columns = "".join(f", {name}" for name in extra)
    extra_values = "".join(", %s" for _name in extra)
    sql = (
        f"INSERT INTO {table} (customer_id, {column}{extra_columns})"
        f" SELECT DISTINCT %s, o.{column}{extra_values} FROM {table} o"
        f" WHERE o.customer_id IN ({placeholders}) AND NOT EXISTS (SELECT 1 FROM {table} s"
        f" WHERE s.customer_id = %s AND s.{column} = o.{column})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [survivor.pk, *extra.values(), *params, survivor.pk])
        return cursor.rowcount


def _rows_move(survivor: Customer, ids: Sequence[int], now: datetime.datetime) -> dict[str, int]:
    """Move everything that belongs to the customers ``ids`` to the survivor; returns how many
    rows of each kind moved (or were added, for groups and tags)."""
    moved = {
        key: model._base_manager.filter(customer_id__in=ids).update(customer_id=survivor.pk)
        for key, model in _movable()
    }
    moved["addresses"] = _addresses_move(survivor, ids)
    connection = connections[Customer.objects.db]
    moved["groups"] = _links_copy(
        Membership._meta.db_table,
        "group_id",
        survivor,
        ids,
        created_at=connection.ops.adapt_datetimefield_value(now),
    )
    moved["tags"] = _links_copy(Customer.tags.through._meta.db_table, "tag_id", survivor, ids)
    return moved


def _figures_from_rows(survivor: Customer, last_visits: Iterable[datetime.datetime | None]) -> dict:
    """The survivor's stored figures recomputed from the orders it now has, in SQL, and its
    last visit: the latest of the customers' own dates and of the visits it now has."""
    order_model = apps.get_model("orders", "Order")
    visit_model = apps.get_model("orders", "Visit")
    orders = order_model.objects.filter(customer_id=OuterRef("pk")).order_by().values("customer")
    valid, invalid = orders.filter(is_valid=True), orders.filter(is_valid=False)

    def aggregate(rows, expression):
        return Subquery(rows.annotate(value=expression).values("value")[:1])

    money = models.DecimalField(max_digits=14, decimal_places=2)
    latest_visit = visit_model.objects.filter(customer=survivor).aggregate(at=Max("created_at"))
    known = [at for at in (*last_visits, latest_visit["at"]) if at is not None]
    return {
        "orders_count": Coalesce(aggregate(valid, Count("id")), 0),
        "invalid_orders_count": Coalesce(aggregate(invalid, Count("id")), 0),
        "total_spent": Coalesce(
            aggregate(valid, Sum("total")), Value(Decimal("0")), output_field=money
        ),
        "first_order_at": aggregate(orders, Min("created_at")),
        "last_order_at": aggregate(orders, Max("created_at")),
        "last_visit_at": max(known) if known else None,
    }


def _column_values(customer: Customer, columns: Iterable[str]) -> dict[str, Any]:
    """{attname: value} of the customer's columns (named by field name or attname)."""
    attnames = (Customer._meta.get_field(column).attname for column in columns)
    return {attname: getattr(customer, attname) for attname in attnames}


def _profile_merged(
    survivor: Customer, others: Sequence[Customer], donors: Mapping[str, Customer]
) -> dict[str, Any]:
    """The survivor's columns after the merge: the chosen values (``donors``: field → the
    customer whose value wins), and what is combined rather than chosen."""
    values: dict[str, Any] = {}
    for merge_field in MERGE_FIELDS:
        donor = donors.get(merge_field.name, survivor)
        values.update(_column_values(donor, merge_field.columns))
    everyone = [survivor, *others]
    values["note"] = "\n\n".join(c.note.strip() for c in everyone if c.note.strip())
    accounts: dict[str, str] = {}
    for customer in reversed(everyone):  # the survivor's handles win
        accounts.update(customer.social_accounts or {})
    values["social_accounts"] = accounts
    values["created_at"] = min(c.created_at for c in everyone)
    values["is_demo"] = any(c.is_demo for c in everyone)
    # The latest consent anyone of them gave or withdrew is the one that stands.
    for channel in Channel.values:
        latest = max(
            everyone,
            key=lambda c: (
                getattr(c, f"{channel}_at") or datetime.datetime.min.replace(tzinfo=datetime.UTC)
            ),
        )
        values[channel] = getattr(latest, channel)
        values[f"{channel}_at"] = getattr(latest, f"{channel}_at")
    # A block is never lost in a merge: ordering stays refused if any of them was refused.
    blocked = next((c for c in everyone if c.is_blocked), None)
    if blocked is not None:
        values.update(
            is_blocked=True,
            blocked_reason=blocked.blocked_reason,
            blocked_at=blocked.blocked_at,
            blocked_by_id=blocked.blocked_by_id,
        )
    return values


def _email_clash(key: str, *, exclude: Iterable[int]) -> Customer | None:
    if not key:
        return None
    return (
        Customer.objects.filter(email_key=key, is_guest=False).exclude(pk__in=list(exclude)).first()
    )


def _clash_error(existing: Customer, message: str) -> ValidationError:
    error = ValidationError(
        {"email": ValidationError(message, code="duplicate", params={"customer_id": existing.pk})}
    )
    error.existing_customer_id = existing.pk
    return error


@dataclass(frozen=True)
class Absorbed:
    changes: dict[str, dict]
    moved: dict[str, int]


def _absorb(
    *,
    survivor: Customer,
    others: Sequence[Customer],
    donors: Mapping[str, Customer],
    now: datetime.datetime,
    extra: Mapping[str, Any] | None = None,
) -> Absorbed:
    """Fold ``others`` into ``survivor``: their rows move, they are deleted, the survivor gets
    the merged profile (plus ``extra`` columns) and its figures recomputed. Callers have locked
    every row and checked that it may be done."""
    values = {**_profile_merged(survivor, others, donors), **(extra or {})}
    registered = not values.get("is_guest", survivor.is_guest)
    if registered:
        if not values["email_key"]:
            raise ValidationError(
                {
                    "email": ValidationError(
                        _("A registered customer needs an e-mail address."), code="required"
                    )
                }
            )
        existing = _email_clash(values["email_key"], exclude=[survivor.pk, *(c.pk for c in others)])
        if existing is not None:
            raise _clash_error(
                existing, _("Another registered customer already has this e-mail address.")
            )
    before = _column_values(survivor, values)
    ids = [customer.pk for customer in others]
    moved = _rows_move(survivor, ids, now)
    last_visits = [c.last_visit_at for c in (survivor, *others)]
    # The others go first: a registered duplicate's e-mail can then pass to the survivor.
    Customer.objects.filter(pk__in=ids).delete()
    for attname, value in values.items():
        setattr(survivor, attname, value)
    billing = survivor.addresses.order_by("-is_default_billing", "id").first()
    values.update(
        country=billing.country.code if billing else "",
        tags_text=tags_text_for(survivor.tags.all()),
        search_text=search_text_for(survivor),
        updated_at=now,
        version=F("version") + 1,
        **_figures_from_rows(survivor, last_visits),
    )
    try:
        with transaction.atomic():
            Customer.objects.filter(pk=survivor.pk).update(**values)
    except IntegrityError:  # a registration with that e-mail slipped in meanwhile
        existing = _email_clash(values["email_key"], exclude=[survivor.pk])
        if existing is None:
            raise
        raise _clash_error(
            existing, _("Another registered customer already has this e-mail address.")
        ) from None
    survivor.refresh_from_db()
    changes = changes_between(before, _column_values(survivor, before))
    # Machinery and secrets stay out of the timeline.
    for column in ("email_key", "password", "must_reset_password"):
        changes.pop(column, None)
    return Absorbed(changes=changes, moved=moved)


def _locked(*pks: int) -> dict[int, Customer]:
    """The customers, locked until the transaction ends, always in id order (no deadlock
    between two merges of the same pair)."""
    rows = Customer.objects.select_for_update().filter(pk__in=pks).order_by("pk")
    return {customer.pk: customer for customer in rows}


def _closed_refusal(customer: Customer) -> str | None:
    if customer.anonymised_at:
        return _("This customer is anonymised.")
    if customer.deleted_at:
        return _("This customer is deleted.")
    return None


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    duplicate: Customer,
    choices: Mapping[str, str],
    duplicate_version: int,
    survivor_version: int | None = None,
    actor: Actor,
) -> Customer:
    """Merge ``duplicate`` into ``survivor`` and remove it.

    ``choices`` says, per field of ``MERGE_FIELDS``, whose value wins (``"survivor"`` or
    ``"duplicate"``; a field left out keeps the survivor's). Orders, carts, addresses, consent
    history, support threads, visits, vouchers, messages and events move to the survivor; its
    groups and tags become the union; notes are put end to end; the latest consent of either
    stands; a block carries over; its figures are recomputed from the orders it now has.

    Refused (``ValidationError``, nothing written) when it cannot be done safely: the same
    customer, either deleted or anonymised, a registered duplicate into a guest, either changed
    since the preview (``*_version``), an e-mail another registered customer has.
    """
    rows = _locked(survivor.pk, duplicate.pk)
    if duplicate.pk not in rows or survivor.pk not in rows:
        raise ValidationError(_("One of the customers no longer exists."), code="gone")
    current, other = rows[survivor.pk], rows[duplicate.pk]
    refusals = merge_refusals(current, other)
    if refusals:
        raise ValidationError(refusals, code="refused")
    if other.version != duplicate_version or (
        survivor_version is not None and current.version != survivor_version
    ):
        raise ValidationError(
            _(
                "One of the customers was changed since the preview was shown. "
                "Check the values again before merging."
            ),
            code="stale",
        )
    unknown = [name for name, side in choices.items() if side not in (SURVIVOR, DUPLICATE)]
    unknown += [name for name in choices if name not in {f.name for f in MERGE_FIELDS}]
    if unknown:
        raise ValidationError(_("Choose whose value wins for every field."), code="invalid")
    donors = {name: other for name, side in choices.items() if side == DUPLICATE}
    summary = {"duplicate": other.pk, "name": other.full_name, "email": other.email}
    now = timezone.now()
    absorbed = _absorb(survivor=current, others=[other], donors=donors, now=now)
    # Recorded after the move, so this one stays under the removed id: the trail of where it went.
    events_record_many(
        [
            event_build(
                kind="customer_merged_into",
                actor=actor,
                customer_id=other.pk,
                data={"into": current.pk},
                created_at=now,
            ),
            event_build(
                kind="customer_merged",
                actor=actor,
                customer_id=current.pk,
                data={
                    **summary,
                    "changes": absorbed.changes,
                    "moved": absorbed.moved,
                    "version": current.version,
                },
                created_at=now,
            ),
        ]
    )
    return current


# -------------------------------------------------------------------------------------------------
# Guest conversion
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuestConversion:
    customer: Customer
    merged_guest_ids: list[int]
    message: OutboxMessage


def _password_reset_token_create(customer: Customer, now: datetime.datetime) -> str:
    """A fresh one-time token for the customer (earlier unused ones stop working); only its
    hash is stored. Returns the token itself, for the message."""
    # Looked up by name: the storefront app depends on customers, not the other way round.
    from comptoir.storefront.models import token_hash

    token_model = apps.get_model("storefront", "PasswordResetToken")
    token_model.objects.filter(customer=customer, used_at__isnull=True).delete()
    raw = secrets.token_urlsafe(32)
    hours = _setting("COMPTOIR_PASSWORD_RESET_HOURS", PASSWORD_RESET_HOURS)
    token_model.objects.create(
        customer=customer,
        token_hash=token_hash(raw),
        created_at=now,
        expires_at=now + datetime.timedelta(hours=hours),
    )
    return raw


def _account_ready_message(customer: Customer, raw_token: str) -> OutboxMessage:
    """The message telling a converted guest how to choose a password, in their language."""
    template = _setting("COMPTOIR_PASSWORD_RESET_URL", "/account/reset-password/?token={token}")
    hours = _setting("COMPTOIR_PASSWORD_RESET_HOURS", PASSWORD_RESET_HOURS)
    with translation.override(customer.language):
        subject = _("Your customer account is ready")
        body = _(
            "Hello %(name)s,\n\n"
            "A customer account has been opened for you with the e-mail address %(email)s: "
            "you can follow your orders and manage your details there.\n\n"
            "To choose your password, open this link within %(hours)s hours:\n%(link)s\n\n"
            "If you did not expect this message, you can ignore it."
        ) % {
            "name": customer.full_name,
            "email": customer.email,
            "hours": hours,
            "link": template.format(token=raw_token),
        }
    return OutboxMessage.objects.create(
        kind="account_ready",
        to=customer.email,
        subject=subject,
        body=body,
        language=customer.language,
        customer=customer,
    )


def _fill_blanks_from(customer: Customer, others: Sequence[Customer]) -> dict[str, Customer]:
    """For each field the customer has no value for, the first of ``others`` that has one."""
    donors = {}
    for merge_field in MERGE_FIELDS:
        if merge_value_empty(customer, merge_field):
            donor = next((o for o in others if not merge_value_empty(o, merge_field)), None)
            if donor is not None:
                donors[merge_field.name] = donor
    return donors


@transaction.atomic
def customer_guest_convert(*, customer: Customer, actor: Actor) -> GuestConversion:
    """Turn a guest into a registered customer.

    The other guests with its e-mail are folded into it (their orders, carts, addresses, ...;
    its own values win, blanks are filled from the newest of them). It gets no password: a
    one-time password-reset token is made (only its hash is stored) and the message that would
    give it to the customer is stored in the outbox, in their language.
    """
    current = _locked(customer.pk).get(customer.pk)
    if current is None:
        raise ValidationError(_("This customer no longer exists."), code="gone")
    refusal = _closed_refusal(current)
    if refusal:
        raise ValidationError(refusal, code="closed")
    if not current.is_guest:
        raise ValidationError(_("This customer is already registered."), code="not_guest")
    if not current.email_key:
        raise ValidationError(
            _("A guest without an e-mail address cannot get an account: add one first."),
            code="no_email",
        )
    existing = _email_clash(current.email_key, exclude=[current.pk])
    if existing is not None:
        raise _clash_error(
            existing,
            _(
                "A registered customer already has this e-mail address: merge this guest "
                "into that customer instead."
            ),
        )
    others = list(customer_guests_to_fold(customer=current).select_for_update())
    now = timezone.now()
    absorbed = _absorb(
        survivor=current,
        others=others,
        donors=_fill_blanks_from(current, others),
        now=now,
        extra={"is_guest": False, "password": "", "must_reset_password": True},
    )
    raw_token = _password_reset_token_create(current, now)
    message = _account_ready_message(current, raw_token)
    merged_ids = [guest.pk for guest in others]
    events_record_many(
        [
            *(
                event_build(
                    kind="customer_merged_into",
                    actor=actor,
                    customer_id=guest_id,
                    data={"into": current.pk},
                    created_at=now,
                )
                for guest_id in merged_ids
            ),
            event_build(
                kind="guest_converted",
                actor=actor,
                customer_id=current.pk,
                data={
                    "merged_guests": merged_ids,
                    "moved": absorbed.moved if merged_ids else {},
                    "changes": absorbed.changes,
                    "outbox_message": message.pk,
                    "version": current.version,
                },
                created_at=now,
            ),
        ]
    )
    return GuestConversion(customer=current, merged_guest_ids=merged_ids, message=message)


# -------------------------------------------------------------------------------------------------
# Personal data export (GDPR right of access)
# -------------------------------------------------------------------------------------------------


def _csv_cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet will not run as a formula."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    elif isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, datetime.date | datetime.datetime):
        value = value.isoformat()
    return cell_safe(str(value))


def _csv_bytes(rows: Sequence[Mapping[str, Any]], header: Sequence[str] | None = None) -> bytes:
    header = list(header or (rows[0].keys() if rows else []))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(row.get(name)) for name in header])
    # With a BOM, so that Excel opens accented names right.
    return ("\ufeff" + out.getvalue()).encode()


def _csv_tables(data: Mapping[str, Any]) -> dict[str, tuple[list[dict], list[str] | None]]:
    """The sections as flat tables: orders and their lines apart, one row per message."""
    orders = [{k: v for k, v in order.items() if k != "lines"} for order in data["orders"]]
    lines = [
        {"order": order["reference"], **line} for order in data["orders"] for line in order["lines"]
    ]
    messages = [
        {"subject": thread["subject"], "thread_status": thread["status"], **message}
        for thread in data["messages"]
        for message in thread["messages"]
    ]
    return {
        "profile": ([{"field": k, "value": v} for k, v in data["profile"].items()], None),
        "addresses": (data["addresses"], None),
        "consents": (data["consents"], None),
        "orders": (orders, None),
        "order_lines": (lines, None),
        "carts": (data["carts"], None),
        "vouchers": (data["vouchers"], None),
        "messages": (messages, ["subject", "thread_status", "sent", "from", "message"]),
        "visits": (data["visits"], None),
        "events": (data["events"], None),
        "messages_to_customer": (data["messages_to_customer"], None),
    }


def _readme(customer: Customer, generated: datetime.datetime) -> bytes:
    with translation.override(customer.language):
        text = _(
            "Personal data held on customer #%(id)s, as of %(when)s.\n\n"
            "Each section is given twice: as JSON (complete, nested) and as CSV (one table per "
            "file, semicolon-separated, for spreadsheets). Passwords are never stored in a "
            "readable form and are not part of this archive.\n"
        ) % {"id": customer.pk, "when": generated.isoformat(timespec="seconds")}
    return text.encode()


@dataclass(frozen=True)
class PersonalDataArchive:
    filename: str
    content: bytes
    files: list[str]


def _archive_build(customer: Customer, data: Mapping[str, Any], now: datetime.datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _readme(customer, now))
        for name, section in data.items():
            archive.writestr(
                f"json/{name}.json",
                json.dumps(section, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            )
        for name, (rows, header) in _csv_tables(data).items():
            archive.writestr(f"csv/{name}.csv", _csv_bytes(rows, header))
    return buffer.getvalue()


@transaction.atomic
def customer_personal_data_export(*, customer: Customer, actor: Actor) -> PersonalDataArchive:
    """One ZIP archive of everything held on the customer (``customer_personal_data``), as JSON
    and CSV. Built in memory: one person's data is small. Handing it out is recorded."""
    now = timezone.now()
    data = customer_personal_data(customer=customer)
    content = _archive_build(customer, data, now)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        files = archive.namelist()
    event_record(
        kind="personal_data_exported",
        actor=actor,
        customer_id=customer.pk,
        created_at=now,
        data={"files": len(files), "bytes": len(content)},
    )
    filename = f"personal-data-customer-{customer.pk}-{now:%Y%m%d-%H%M%S}.zip"
    return PersonalDataArchive(filename=filename, content=content, files=files)
