"""Reads the back-office API needs beyond the screens': keyset (seek) pages with opaque cursors,
along the customers list's sorts and along one customer's timeline; one customer as the API
shows it, with everything its output needs in a fixed number of queries; a customer's consent
history and addresses.

Keyset pages never use OFFSET: a page is "the ``limit`` rows after this position" in the sort's
order, the position being the sort's values and the id of a row. The id breaks ties, so the
order is total and no row is skipped or repeated, whatever the sort. The list's own pages
(``listing.customer_page``) number their pages; these follow cursors instead.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import hashlib
import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import F, FloatField, Prefetch, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Cast
from django.db.models.lookups import GreaterThan, LessThan
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from comptoir.core.models import Event
from comptoir.core.search import search_prefix_ids
from comptoir.customers.models import (
    Address,
    Channel,
    ConsentRecord,
    Customer,
    Membership,
    Tag,
)
from comptoir.customers.selectors.listing import (
    SEARCH_WALK_ROWS,
    SearchWalk,
    rows_along_sort_index,
    sort_index_hint,
)
from comptoir.groups.models import Group

# The largest id the databases store (a signed 64-bit integer); larger ones cannot exist.
MAX_ID = 2**63 - 1
CURSOR_MAX_LENGTH = 2000
FORWARD, BACKWARD = "n", "p"


# -------------------------------------------------------------------------------------------------
# Keyset pages
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeysetColumn:
    """One column of a keyset order: what to order and compare on, which way, and the model
    field that turns a cursor's JSON value back into a Python value."""

    path: str
    descending: bool
    field: models.Field
    nullable: bool = False

    def reversed(self) -> KeysetColumn:
        return KeysetColumn(self.path, not self.descending, self.field, self.nullable)


@dataclass(frozen=True)
class Position:
    """Where a page starts or ends: the ordering columns' values of a row, its id last."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class KeysetPage:
    """The ids of one page, in order, and the positions to go on from. ``next`` is None at the
    end, ``previous`` None at the start. ``restart``: walking back found nothing before the
    position (rows were removed meanwhile), so the way on is the first page."""

    ids: list[int]
    next: Position | None
    previous: Position | None
    restart: bool = False


def customer_keyset_columns(sort_key: str) -> list[KeysetColumn]:
    """The keyset order of a sort of the customers list (``filters.SORTS``), exactly the order
    the list page shows: a sort on a relation orders by the related model's own ordering, as
    Django does (the title by its position), and the id breaks ties."""
    from comptoir.customers.filters import SORTS

    descending = sort_key.startswith("-")
    name = SORTS[sort_key.lstrip("-")]
    id_column = KeysetColumn("id", descending, Customer._meta.pk)
    if name == "id":
        return [id_column]
    field = Customer._meta.get_field(name)
    if not field.is_relation:
        return [KeysetColumn(name, descending, field, nullable=field.null), id_column]
    related = field.related_model._meta
    columns = []
    for ordering in related.ordering or ["pk"]:
        flip = ordering.startswith("-")
        related_field = related.pk if ordering.lstrip("-") in ("pk", related.pk.name) else None
        related_field = related_field or related.get_field(ordering.lstrip("-"))
        # The related row's id is the foreign key column itself: no join for it.
        path = field.attname if related_field is related.pk else f"{name}__{related_field.name}"
        columns.append(KeysetColumn(path, descending != flip, related_field, nullable=field.null))
    return [*columns, id_column]


def timeline_keyset_columns() -> list[KeysetColumn]:
    """A customer's timeline, newest first (the ``event_customer_timeline`` index)."""
    return [
        KeysetColumn("created_at", True, Event._meta.get_field("created_at")),
        KeysetColumn("id", True, Event._meta.pk),
    ]


def _float_decimals(column: KeysetColumn, vendor: str) -> bool:
    # SQLite keeps the sums the order services add up as floating point (99.80000000000001):
    # read back as a rounded Decimal, such a value would not compare equal to itself. The
    # cursor keeps the stored float and compares with it as it is.
    return vendor == "sqlite" and isinstance(column.field, models.DecimalField)


def _param(column: KeysetColumn, value: Any, vendor: str) -> Any:
    if _float_decimals(column, vendor):
        return Value(float(value), output_field=FloatField())
    return value


def _nulls_after(column: KeysetColumn, vendor: str) -> bool:
    """Whether NULLs come after every value in the walk along ``column``. PostgreSQL sorts
    NULLs as larger than any value, SQLite as smaller; the ORDER BY keeps each database's own
    way, so that the (column, id) indexes serve it."""
    nulls_largest = vendor == "postgresql"
    return nulls_largest != column.descending


def _beyond(column: KeysetColumn, value: Any, vendor: str) -> Q | None:
    """Rows strictly after ``value`` along ``column``; None when nothing can be."""
    if value is None:
        return None if _nulls_after(column, vendor) else Q(**{f"{column.path}__isnull": False})
    lookup = "lt" if column.descending else "gt"
    condition = Q(**{f"{column.path}__{lookup}": _param(column, value, vendor)})
    if column.nullable and _nulls_after(column, vendor):
        condition |= Q(**{f"{column.path}__isnull": True})
    return condition


def _equal(column: KeysetColumn, value: Any, vendor: str) -> Q:
    if value is None:
        return Q(**{f"{column.path}__isnull": True})
    return Q(**{column.path: _param(column, value, vendor)})


class _RowBefore(TupleLessThan):
    """(a, b) < (x, y), written as a row value on SQLite too (3.15 and later read it), where
    Django spells it out in ANDs and ORs."""

    def as_sqlite(self, compiler, connection):
        return LessThan.as_sql(self, compiler, connection)


class _RowAfter(TupleGreaterThan):
    """(a, b) > (x, y); see ``_RowBefore``."""

    def as_sqlite(self, compiler, connection):
        return GreaterThan.as_sql(self, compiler, connection)


def _row_comparable(columns: Sequence[KeysetColumn], position: Position) -> bool:
    """Whether "after ``position``" can be one row-value comparison, (a, id) > (va, vid): every
    column read on the customer's own row, walked the same way, never NULL."""
    return len({column.descending for column in columns}) == 1 and all(
        "__" not in column.path and not column.nullable and value is not None
        for column, value in zip(columns, position.values, strict=True)
    )


def _after(columns: Sequence[KeysetColumn], position: Position, vendor: str) -> Q | Any:
    """Rows after ``position`` in the walk: (a, b, id) > (va, vb, vid). As a row-value
    comparison where it can be: both databases start the walk of the (a, id) index right at
    the position, where the spelled-out form below makes them read every row sharing ``va``
    from the index's edge first (measured: a deep page of the sort on sales, whose many
    customers without orders share 0.00, 157 ms on PostgreSQL; 7 ms as a row value). Else
    written out as a > va OR (a = va AND b > vb) OR (a = va AND b = vb AND id > vid)."""
    if _row_comparable(columns, position):
        beyond = _RowBefore if columns[0].descending else _RowAfter
        return beyond(
            Tuple(*(F(column.path) for column in columns)),
            tuple(_param(c, v, vendor) for c, v in zip(columns, position.values, strict=True)),
        )
    terms, same_so_far = [], Q()
    for column, value in zip(columns, position.values, strict=True):
        beyond = _beyond(column, value, vendor)
        if beyond is not None:
            terms.append(same_so_far & beyond)
        same_so_far &= _equal(column, value, vendor)
    condition = functools.reduce(operator.or_, terms)
    first, value = columns[0], position.values[0]
    if (
        len(columns) > 1
        and value is not None
        and not (first.nullable and _nulls_after(first, vendor))
    ):
        # Redundant, but a plain range the database can start the index walk from (a >= va),
        # rather than reading the index from its start and filtering.
        bound = "lte" if first.descending else "gte"
        condition = Q(**{f"{first.path}__{bound}": _param(first, value, vendor)}) & condition
    return condition


def _search_walk_ids(
    search: SearchWalk, walk, position, ordering, limit: int, vendor: str
) -> list[int] | None:
    queryset = search.unsearched
    if position is not None:
        queryset = queryset.filter(_after(walk, position, vendor))
    query = queryset.order_by(*ordering).values_list("id", "search_text")[:SEARCH_WALK_ROWS]
    rewrite = None
    if search.walk_sort_index and vendor == "sqlite":
        rewrite = functools.partial(sort_index_hint, sort_key=search.walk_sort_index)
    return search_prefix_ids(query, search.text, wanted=limit + 1, rewrite=rewrite)


def keyset_page(
    *,
    queryset: QuerySet,
    columns: Sequence[KeysetColumn],
    limit: int,
    position: Position | None = None,
    backward: bool = False,
    walk_sort_index: str | None = None,
    search: SearchWalk | None = None,
) -> KeysetPage:
    """The ids of the ``limit`` rows after ``position`` (before it, with ``backward``), in
    ``columns``' order, in one query whatever the limit or how deep the page is.

    ``walk_sort_index`` (a customers sort key) reads them along that sort's index on SQLite,
    for a filter that matches many customers (decision 0010). ``search`` (``queryset`` being
    searched) first looks for the page among the first rows of the list without the search."""
    vendor = connections[queryset.db].vendor
    walk = [column.reversed() for column in columns] if backward else list(columns)
    names = {}
    for index, column in enumerate(walk[:-1]):
        read = F(column.path)
        if _float_decimals(column, vendor):
            read = Cast(column.path, FloatField())
        names[f"keyset_{index}"] = read
    ordering = [f"-{column.path}" if column.descending else column.path for column in walk]
    found = None
    if search is not None:
        found = _search_walk_ids(search, walk, position, ordering, limit, vendor)
    if found is not None:
        # The page's rows, by primary key, without the search's own (costly) condition.
        query = search.unsearched.annotate(**names).order_by(*ordering).filter(id__in=found)
    else:
        if position is not None:
            queryset = queryset.filter(_after(walk, position, vendor))
        query = queryset.annotate(**names).order_by(*ordering)
    if found is None and walk_sort_index and vendor == "sqlite":
        # The ids along the index, then their typed values (a primary-key read of the page).
        rows = rows_along_sort_index(query.values_list("id")[: limit + 1], walk_sort_index)
        query = query.filter(id__in=[row[0] for row in rows])
    rows = list(query.values_list(*names, walk[-1].path)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()
    positions = [Position(values=tuple(row)) for row in rows]
    ids = [row[-1] for row in rows]
    if backward:
        return KeysetPage(
            ids=ids,
            previous=positions[0] if more else None,
            next=positions[-1] if positions else None,
            restart=not positions,
        )
    return KeysetPage(
        ids=ids,
        next=positions[-1] if more else None,
        previous=positions[0] if position is not None and positions else None,
    )


# -------------------------------------------------------------------------------------------------
# Cursors: a position, a direction and what list they belong to, as an opaque URL-safe string
# -------------------------------------------------------------------------------------------------


def _scope_hash(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # Decimal, country codes


def cursor_encode(*, position: Position, backward: bool, scope: str) -> str:
    """The cursor to walk on from ``position``. ``scope`` names the list (its sort and
    filters): a cursor is refused by any other list."""
    body = {
        "s": _scope_hash(scope),
        "d": BACKWARD if backward else FORWARD,
        "v": [_json_value(value) for value in position.values],
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_error(message: str) -> ValidationError:
    return ValidationError({"cursor": ValidationError(message, code="invalid")})


def _value_decode(column: KeysetColumn, value: Any, vendor: str) -> Any:
    if value is None:
        return None
    if isinstance(value, list | dict):
        raise ValueError("not a scalar")
    if _float_decimals(column, vendor):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("not a number")
        return float(value)
    decoded = column.field.to_python(value)
    if isinstance(decoded, datetime.datetime) and decoded.tzinfo is None:
        raise ValueError("naive date and time")
    if isinstance(column.field, models.BigAutoField | models.AutoField) and not (
        isinstance(decoded, int) and 0 < decoded <= MAX_ID
    ):
        raise ValueError("not an id")
    return decoded


def cursor_decode(
    raw: str, *, scope: str, columns: Sequence[KeysetColumn], using: str = "default"
) -> tuple[Position, bool]:
    """The position and direction (backward or not) of a cursor made by ``cursor_encode``
    for this ``scope``. A cursor that was not, or was made for another list, is a
    ``ValidationError`` on the ``cursor`` field."""
    if len(raw) > CURSOR_MAX_LENGTH:
        raise _cursor_error(_("This cursor is not valid. Use the links of a previous page."))
    try:
        body = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _cursor_error(
            _("This cursor is not valid. Use the links of a previous page.")
        ) from None
    if not isinstance(body, dict) or body.get("d") not in (FORWARD, BACKWARD):
        raise _cursor_error(_("This cursor is not valid. Use the links of a previous page."))
    if body.get("s") != _scope_hash(scope):
        raise _cursor_error(
            _(
                "This cursor belongs to another sort or other filters. Start again without "
                "a cursor, or keep the sort and filters of the page it came from."
            )
        )
    values = body.get("v")
    if not isinstance(values, list) or len(values) != len(columns):
        raise _cursor_error(_("This cursor is not valid. Use the links of a previous page."))
    vendor = connections[using].vendor
    try:
        decoded = tuple(
            _value_decode(column, value, vendor)
            for column, value in zip(columns, values, strict=True)
        )
    except (ValidationError, ValueError, TypeError, ArithmeticError):
        raise _cursor_error(
            _("This cursor is not valid. Use the links of a previous page.")
        ) from None
    if decoded[-1] is None:
        raise _cursor_error(_("This cursor is not valid. Use the links of a previous page."))
    return Position(values=decoded), body["d"] == BACKWARD


# -------------------------------------------------------------------------------------------------
# One customer and its parts, as the API shows them
# -------------------------------------------------------------------------------------------------


def customers_for_api() -> QuerySet[Customer]:
    """Customers with everything the API's customer output reads, in a fixed number of queries
    for any number of them (title, groups, who blocked them, tags). The password hash and the
    search text are not read."""
    return (
        Customer.objects.select_related("title", "default_group", "blocked_by")
        .defer("password", "search_text", "blocked_by__password")
        .prefetch_related(
            Prefetch("groups", queryset=Group.objects.order_by("id")),
            Prefetch("tags", queryset=Tag.objects.order_by("name_key", "id")),
        )
    )


# The customer's own columns the API shows as they are stored.
_SHOWN_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "birthday",
    "language",
    "company",
    "siret",
    "ape_code",
    "vat_number",
    "website",
    "social_accounts",
    "external_id",
    "is_guest",
    "is_enabled",
    "is_blocked",
    "blocked_reason",
    "blocked_at",
    "is_tax_exempt",
    "tax_exemption_ref",
    "note",
    "orders_count",
    "invalid_orders_count",
    "total_spent",
    "first_order_at",
    "last_order_at",
    "last_visit_at",
    "created_at",
    "updated_at",
    "deleted_at",
    "anonymised_at",
    "version",
)
# Read beside them and shaped into the nested objects: the country code, the title, the default
# group and who blocked the customer (joined in the same query), the consents.
_SHAPED_COLUMNS = (
    "country",
    "title_id",
    "title__name_fr",
    "title__name_en",
    "default_group_id",
    "default_group__name_fr",
    "default_group__name_en",
    "blocked_by_id",
    "blocked_by__username",
    "blocked_by__first_name",
    "blocked_by__last_name",
    *Channel.values,
    *(f"{channel}_at" for channel in Channel.values),
)
_CHANNELS = tuple((channel, f"{channel}_at") for channel in Channel.values)
_CENT = Decimal("0.01")


def _in_english() -> bool:
    """Whether names are shown in English: the choice ``Title.name`` and ``Group.name`` make."""
    return (get_language() or "fr").startswith("en")


def _shown(row: dict[str, Any], groups: list, tags: list, english: bool) -> dict[str, Any]:
    shown = {name: row[name] for name in _SHOWN_COLUMNS}
    name = "name_en" if english else "name_fr"
    shown["title"] = (
        {"id": row["title_id"], "name": row[f"title__{name}"]} if row["title_id"] else None
    )
    shown["country"] = str(row["country"] or "")
    shown["default_group"] = {
        "id": row["default_group_id"],
        "name": row[f"default_group__{name}"],
    }
    shown["groups"] = groups
    shown["tags"] = tags
    # As the staff member's get_full_name(), else the username.
    blocker = f"{row['blocked_by__first_name']} {row['blocked_by__last_name']}".strip()
    shown["blocked_by"] = (
        {"id": row["blocked_by_id"], "name": blocker or row["blocked_by__username"]}
        if row["blocked_by_id"]
        else None
    )
    shown["consents"] = {
        channel: {"granted": row[channel], "changed_at": row[changed_at]}
        for channel, changed_at in _CHANNELS
    }
    # As Customer.average_order.
    count = row["orders_count"]
    shown["average_order"] = (row["total_spent"] / count).quantize(_CENT) if count else Decimal(0)
    return shown


@functools.cache
def _shown_queries() -> tuple[QuerySet, QuerySet, QuerySet]:
    """The three reads of ``customer_rows``, without their ids: built once, as setting up a
    values() query of this width costs more than running it (one row: ~0.8 ms -> ~0.45 ms).
    Each use filters a copy; these are never run themselves. Built on first use, when every
    model is loaded."""
    customers = Customer.objects.values(*_SHOWN_COLUMNS, *_SHAPED_COLUMNS)
    memberships = Membership.objects.order_by("group_id").values_list(
        "customer_id", "group_id", "group__name_fr", "group__name_en"
    )
    taggings = Customer.tags.through.objects.order_by("tag__name_key", "tag_id").values_list(
        "customer_id", "tag__name"
    )
    return customers, memberships, taggings


def customer_rows(ids: Sequence[int], *, hide_closed: bool = False) -> list[dict[str, Any]]:
    """The customers with these ids as the API shows them (every field of ``CustomerOut``,
    names in the request's language), in this order, the ones gone meanwhile left out;
    ``hide_closed`` leaves out the deleted and anonymised ones too.

    Three queries whatever their number (the rows with their title, default group and who
    blocked them; their groups; their tags), read as plain values: building model objects and
    their prefetched relations cost a page of 100 customers ~20 ms, the values ~3 ms."""
    if not ids:
        return []
    customers, memberships, taggings = _shown_queries()
    rows = {
        row["id"]: row
        for row in customers.filter(id__in=ids)
        if not (hide_closed and (row["deleted_at"] or row["anonymised_at"]))
    }
    if not rows:
        return []
    english = _in_english()
    groups: dict[int, list[dict[str, Any]]] = {pk: [] for pk in rows}
    for customer_id, group_id, name_fr, name_en in memberships.filter(customer_id__in=list(rows)):
        groups[customer_id].append({"id": group_id, "name": name_en if english else name_fr})
    tags: dict[int, list[str]] = {pk: [] for pk in rows}
    for customer_id, name in taggings.filter(customer_id__in=list(rows)):
        tags[customer_id].append(name)
    return [_shown(rows[pk], groups[pk], tags[pk], english) for pk in ids if pk in rows]


def _lists_sql(vendor: str) -> tuple[str, str]:
    """Correlated subqueries giving one customer's groups (id, French and English names, by
    group id) and tag names (in the tags' order), each as a JSON array in text: what the list's
    second and third queries read, in the customer's own query."""
    customer = f"{Customer._meta.db_table}.id"
    memberships, groups = Membership._meta.db_table, Group._meta.db_table
    taggings, tags = Customer.tags.through._meta.db_table, Tag._meta.db_table
    group_rows = (
        f"FROM {memberships} m JOIN {groups} g ON g.id = m.group_id WHERE m.customer_id = "
        f"{customer}"
    )
    tag_rows = (
        f"FROM {taggings} ct JOIN {tags} t ON t.id = ct.tag_id WHERE ct.customer_id = {customer}"
    )
    if vendor == "postgresql":
        return (
            "(SELECT json_agg(json_build_array(m.group_id, g.name_fr, g.name_en) "
            f"ORDER BY m.group_id)::text {group_rows})",
            f"(SELECT json_agg(t.name ORDER BY t.name_key, t.id)::text {tag_rows})",
        )
    # SQLite's aggregates follow the order of the subquery they read.
    return (
        "(SELECT json_group_array(json_array(k, f, e)) FROM (SELECT m.group_id AS k, "
        f"g.name_fr AS f, g.name_en AS e {group_rows} ORDER BY m.group_id))",
        f"(SELECT json_group_array(n) FROM (SELECT t.name AS n {tag_rows} "
        "ORDER BY t.name_key, t.id))",
    )


@functools.cache
def _one_query(vendor: str) -> QuerySet | None:
    """``customer_rows``' first query with the groups and tags read as JSON beside the
    columns: one customer in one round trip rather than three. SQLite and PostgreSQL."""
    if vendor not in ("sqlite", "postgresql"):
        return None
    groups, tags = _lists_sql(vendor)
    return _shown_queries()[0].annotate(groups_json=RawSQL(groups, ()), tags_json=RawSQL(tags, ()))


def customer_row(*, pk: int, include_deleted: bool = False) -> dict[str, Any] | None:
    """One customer as the API shows it (``customer_rows``); None when there is none, or when
    it is deleted or anonymised and ``include_deleted`` is not set. One query."""
    if not 0 < pk <= MAX_ID:
        return None
    query = _one_query(connections["default"].vendor)
    if query is None:
        rows = customer_rows([pk], hide_closed=not include_deleted)
        return rows[0] if rows else None
    row = next(iter(query.filter(id=pk)), None)
    if row is None or (not include_deleted and (row["deleted_at"] or row["anonymised_at"])):
        return None
    english = _in_english()
    groups = [
        {"id": group_id, "name": name_en if english else name_fr}
        for group_id, name_fr, name_en in json.loads(row.pop("groups_json") or "[]")
    ]
    return _shown(row, groups, json.loads(row.pop("tags_json") or "[]"), english)


def customer_is_closed(customer: Customer) -> bool:
    """Deleted with 'deny re-registration', or anonymised: the API hides it unless asked."""
    return customer.deleted_at is not None or customer.anonymised_at is not None


def customer_for_api(*, pk: int, include_deleted: bool = False) -> Customer | None:
    """One customer for the API; None when there is none, or when it is deleted or anonymised
    and ``include_deleted`` is not set."""
    if not 0 < pk <= MAX_ID:
        return None
    customers = customers_for_api().filter(pk=pk)
    if not include_deleted:
        customers = customers.filter(deleted_at__isnull=True, anonymised_at__isnull=True)
    return customers.first()


def events_in_order(ids: Sequence[int]) -> list[Event]:
    """Timeline events with these ids, in this order, with their staff member."""
    if not ids:
        return []
    events = Event.objects.filter(id__in=ids).select_related("actor").defer("actor__password")
    by_id = {event.pk: event for event in events}
    return [by_id[pk] for pk in ids if pk in by_id]


def customer_events(*, customer_id: int) -> QuerySet[Event]:
    return Event.objects.filter(customer_id=customer_id)


def customer_consent_history(*, customer_id: int) -> list[ConsentRecord]:
    """Every consent change of the customer, newest first, with its staff member."""
    return list(
        ConsentRecord.objects.filter(customer_id=customer_id)
        .select_related("actor")
        .defer("actor__password")
        .order_by("-created_at", "-id")
    )


def customer_addresses(*, customer_id: int) -> list[Address]:
    """The customer's addresses, the default billing then shipping one first (as the page)."""
    return list(
        Address.objects.filter(customer_id=customer_id).order_by(
            "-is_default_billing", "-is_default_shipping", "id"
        )
    )


def customer_address(*, customer_id: int, address_id: int) -> Address | None:
    if not 0 < address_id <= MAX_ID:
        return None
    return (
        Address.objects.filter(customer_id=customer_id, pk=address_id)
        .select_related("customer")
        .first()
    )
