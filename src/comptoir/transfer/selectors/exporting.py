"""Reads for the export: which customers an export covers (its scope) and their rows, in a
profile's columns, in bulk.

The rows are read in chunks keyed on the id (``id > last ORDER BY id LIMIT n``), so a million
customers never sit in memory and every chunk costs the same whatever its place. Each chunk is one
SQL statement that already writes dates, booleans and amounts as the file wants them (the
driver's per-value conversions are what makes ORM exports slow), plus at most one statement each
for the chunk's group memberships, tags and addresses. Text cells are made formula-safe
(``core.csv_safety``) here, so whatever writes the rows (CSV, XLSX) cannot forget it.

The scope is the customers list's own: its FilterSet over the list's query string, optionally
narrowed to ticked ids. Mailing profiles keep only live customers with an e-mail address whose
newsletter consent is given now.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.http import QueryDict
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus

from comptoir.core.csv_safety import NEEDS_CHECK, cell_safe
from comptoir.customers.filters import CustomerFilterSet
from comptoir.customers.models import Address, Customer, Membership, Tag, Title
from comptoir.customers.selectors import customer_selection
from comptoir.groups.models import Group
from comptoir.transfer.formats import comptoir
from comptoir.transfer.formats.profiles import (
    ADDRESS_ROWS,
    BOOL,
    DATE,
    DATETIME,
    DECIMAL,
    HEADER_STYLES,
    JSON,
    PROFILES,
    ExportColumn,
    Profile,
)

CHUNK_SIZE = 2000

# The customer fields an export may read. Anything else (the password hash, the search text,
# internal keys) cannot be named by a profile: the plan refuses it.
EXPORTABLE_FIELDS = frozenset(
    {
        "id", "external_id", "first_name", "last_name", "email", "phone", "mobile", "birthday",
        "language", "company", "siret", "ape_code", "vat_number", "website", "social_accounts",
        "country", "is_guest", "is_enabled", "is_blocked", "blocked_reason", "blocked_at",
        "is_tax_exempt", "tax_exemption_ref", "newsletter", "newsletter_at", "partner_offers",
        "partner_offers_at", "sms", "sms_at", "note", "orders_count", "invalid_orders_count",
        "total_spent", "first_order_at", "last_order_at", "last_visit_at", "created_at",
        "updated_at", "tags_text",
    }
)  # fmt: skip
# The address fields, in the order the address query reads them.
ADDRESS_FIELDS = (
    "alias", "first_name", "last_name", "company", "vat_number", "address1", "address2",
    "postcode", "city", "state", "country", "phone", "default_billing", "default_shipping",
)  # fmt: skip
_ADDRESS_BOOLEANS = {
    "default_billing": "is_default_billing",
    "default_shipping": "is_default_shipping",
}
# Mailchimp's one-cell address: these parts, double-space separated, the country last.
_ONELINE_PARTS = ("address1", "address2", "city", "state", "postcode", "country")
_ONELINE = len(ADDRESS_FIELDS)  # where the one-cell form sits in an address's tuple


class Scope:
    ALL = "all"
    FILTER = "filter"
    SELECTION = "selection"


@dataclass(frozen=True)
class ExportScope:
    """Which customers: all, those matching the list's filter (``query``, the list's query
    string), or a selection: the ticked ``ids`` among them, or all matching when ``ids`` is
    None."""

    kind: str = Scope.ALL
    query: str = ""
    ids: tuple[int, ...] | None = None

    def as_data(self) -> dict:
        """The scope as events and export records keep it."""
        data: dict = {"scope": self.kind}
        if self.kind != Scope.ALL:
            data["filter"] = self.query
        if self.kind == Scope.SELECTION:
            data["ids"] = list(self.ids) if self.ids is not None else "all matching"
        return data

    @classmethod
    def from_data(cls, data: dict) -> ExportScope:
        ids = data.get("ids")
        return cls(
            kind=data.get("scope", Scope.ALL),
            query=data.get("filter", ""),
            ids=tuple(ids) if isinstance(ids, list) else None,
        )


@dataclass(frozen=True)
class ExportSpec:
    """What to export: a profile, its columns in order, the header style, the scope."""

    profile: str
    columns: tuple[str, ...]
    headers: str = "key"
    scope: ExportScope = field(default_factory=ExportScope)

    def __post_init__(self):
        if self.profile not in PROFILES:
            raise ValueError(f"Unknown export profile: {self.profile!r}")
        unknown = set(self.columns) - set(PROFILES[self.profile].columns_by_key)
        if unknown or not self.columns:
            raise ValueError(f"Unknown or no columns for {self.profile}: {sorted(unknown)}")
        if self.headers not in HEADER_STYLES:
            raise ValueError(f"Unknown header style: {self.headers!r}")

    @property
    def profile_object(self) -> Profile:
        return PROFILES[self.profile]

    @property
    def column_objects(self) -> list[ExportColumn]:
        by_key = self.profile_object.columns_by_key
        return [by_key[key] for key in self.columns]


def export_filterset(*, query: str) -> CustomerFilterSet:
    """The customers list's FilterSet over its query string, exactly as the list reads it."""
    return CustomerFilterSet(QueryDict(query[:4000]))


def export_queryset(*, spec: ExportSpec) -> QuerySet[Customer]:
    """The customers ``spec`` covers. A filter the list could not read is refused (exporting
    everything instead would hand out more customers than the staff member saw)."""
    scope = spec.scope
    filterset = export_filterset(query="" if scope.kind == Scope.ALL else scope.query)
    if not filterset.is_valid():
        raise ValidationError(
            _("Correct the filters before exporting the customers matching them."), code="filter"
        )
    queryset = filterset.qs
    if scope.kind == Scope.SELECTION and scope.ids is not None:
        queryset = customer_selection(queryset=queryset, ids=scope.ids)
    if spec.profile_object.newsletter_only:
        queryset = queryset.filter(
            newsletter=True, deleted_at__isnull=True, anonymised_at__isnull=True
        ).exclude(email="")
    return queryset


def export_count(*, spec: ExportSpec) -> int:
    """How many customers the export covers (rows may be more: one per address in Comptoir's
    layout)."""
    return export_queryset(spec=spec).count()


def export_id_runs(*, spec: ExportSpec, parts: int, total: int) -> list[tuple[int, int | None]]:
    """The export's customers cut into ``parts`` runs of consecutive ids, about ``total /
    parts`` customers each: ``[(after_id, upto_id), ...]`` in id order, the last open-ended.
    One indexed ``LIMIT 1 OFFSET`` read per cut."""
    ids = export_queryset(spec=spec).order_by("id").values_list("id", flat=True)
    cuts = [ids[total * part // parts - 1] for part in range(1, parts)]
    bounds = [0, *cuts]
    return [(bounds[i], cuts[i] if i < len(cuts) else None) for i in range(parts)]


def export_header(*, spec: ExportSpec) -> list[str]:
    style = "en" if spec.profile_object.fixed_headers else spec.headers
    return [column.header(style) for column in spec.column_objects]


def export_names_language(spec: ExportSpec) -> str:
    """The language of group and title names in the file: the headers', else the user's."""
    if spec.headers in ("fr", "en"):
        return spec.headers
    return "en" if (get_language() or "fr").startswith("en") else "fr"


class ExportChunk(NamedTuple):
    customers: int  # how many customers these rows are (Comptoir's layout: rows >= customers)
    rows: list[list]


class ExportChunks(Iterator[ExportChunk]):
    """What ``export_chunks`` returns: an iterator over the chunks, read when iterated, which
    keeps what it was asked (the spec, chunk size and run of ids) so that a CSV writer can have
    the database build the same lines instead (``selectors.export_lines``)."""

    def __init__(self, *, spec: ExportSpec, chunk_size: int, after_id: int, upto_id: int | None):
        self.spec = spec
        self.chunk_size = chunk_size
        self.after_id = after_id
        self.upto_id = upto_id
        self._chunks: Iterator[ExportChunk] | None = None

    def __next__(self) -> ExportChunk:
        if self._chunks is None:
            self._chunks = _chunks(
                spec=self.spec,
                chunk_size=self.chunk_size,
                after_id=self.after_id,
                upto_id=self.upto_id,
            )
        return next(self._chunks)


def export_chunks(
    *,
    spec: ExportSpec,
    chunk_size: int = CHUNK_SIZE,
    after_id: int = 0,
    upto_id: int | None = None,
) -> ExportChunks:
    """The export's rows, chunk by chunk of customers, in id order. Cells are ``str``, ``int``
    or ``None`` (empty); text is formula-safe. ``after_id``/``upto_id`` narrow it to a run of
    ids (one part of an export written by several processes)."""
    return ExportChunks(spec=spec, chunk_size=chunk_size, after_id=after_id, upto_id=upto_id)


def _chunks(
    *, spec: ExportSpec, chunk_size: int, after_id: int, upto_id: int | None
) -> Iterator[ExportChunk]:
    plan = _Plan(spec)
    queryset = export_queryset(spec=spec)
    if upto_id is not None:
        queryset = queryset.filter(id__lte=upto_id)
    # Django 5.2 selects values_list()'s names in the order given: the columns, then the id.
    select = (
        queryset.order_by("id").annotate(**plan.annotations).values_list(*plan.annotations, "id")
    )
    last_id = after_id
    while True:
        try:
            sql, params = select.filter(id__gt=last_id)[:chunk_size].query.sql_with_params()
        except EmptyResultSet:  # a scope that can match nothing (an empty selection)
            return
        rows = _fetch(sql, params)
        if not rows:
            return
        last_id = rows[-1][-1]
        yield ExportChunk(len(rows), plan.rows(rows))
        if len(rows) < chunk_size:
            return


def _fetch(sql: str, params: Sequence) -> list[tuple]:
    # Django's cursor, not the queryset: the values are already what the file wants, and the
    # ORM's per-value conversion is most of an export's time.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _among(column: str, ids: list[int]) -> tuple[str, list]:
    """``column`` is one of ``ids``, as one parameter rather than thousands (binding each id
    of a chunk separately costs more than the lookup itself)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    if connection.vendor == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


class _Sql:
    """SQL that reads a column already written the way the file wants it, per database."""

    def __init__(self, table: str):
        self.quote = connection.ops.quote_name
        self.table = self.quote(table)
        self.postgres = connection.vendor == "postgresql"

    def column(self, name: str) -> str:
        return f"{self.table}.{self.quote(name)}"

    def value(self, name: str, kind: str) -> str:
        column = self.column(name)
        if kind == BOOL:
            return f"CASE WHEN {column} THEN 1 ELSE 0 END"
        if kind == DATETIME:
            return self.datetime(column)
        if kind == DATE:
            return (
                f"to_char({column}, 'YYYY-MM-DD')" if self.postgres else f"CAST({column} AS TEXT)"
            )
        if kind == DECIMAL:
            # "%%": the statement goes through the driver's %s parameter style.
            return f"CAST({column} AS TEXT)" if self.postgres else f"printf('%%.2f', {column})"
        if kind == JSON:
            text = f"CAST({column} AS TEXT)" if self.postgres else column
            return f"NULLIF({text}, '{{}}')"
        return column

    def datetime(self, column: str) -> str:
        """ISO 8601 in UTC with its offset; microseconds only when there are some."""
        if self.postgres:
            # A whole second (the usual value) from the timestamp's own text, a third of the
            # cost of to_char(); to_char() for microseconds, which that text would write
            # without their trailing zeros.
            utc = f"({column} AT TIME ZONE 'UTC')"
            return (
                f"CASE WHEN date_trunc('second', {column}) = {column} "
                f"THEN replace({utc}::text, ' ', 'T') || '+00:00' "
                f'ELSE to_char({utc}, \'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\') END'
            )
        # SQLite keeps "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC, as Django writes it.
        return f"replace({column}, ' ', 'T') || '+00:00'"

    def birthday_mmdd(self) -> str:
        column = self.column("birthday")
        return f"to_char({column}, 'MM/DD')" if self.postgres else f"strftime('%%m/%%d', {column})"

    def phone_any(self) -> str:
        return f"COALESCE(NULLIF({self.column('phone')}, ''), {self.column('mobile')})"

    def sms_phone(self) -> str:
        mobile, phone = self.column("mobile"), self.column("phone")
        return f"CASE WHEN {self.column('sms')} THEN COALESCE(NULLIF({mobile}, ''), {phone}) END"


def _kind_of(name: str) -> str:
    internal = Customer._meta.get_field(name).get_internal_type()
    if internal.endswith(("IntegerField", "AutoField")):
        return comptoir.INTEGER
    return {
        "BooleanField": BOOL,
        "DateTimeField": DATETIME,
        "DateField": DATE,
        "DecimalField": DECIMAL,
        "JSONField": JSON,
    }.get(internal, comptoir.TEXT)


_TEXT_KINDS = {comptoir.TEXT, comptoir.LIST, JSON}


def _block(pairs: list[tuple[int, int]]) -> tuple[int, int, int, int] | None:
    """(start, stop, first, last) when the address columns sit side by side in the address's
    own order (Comptoir's layout), so a row takes them in one slice; else None."""
    if not pairs:
        return None
    positions = [position for position, _index in pairs]
    indexes = [index for _position, index in pairs]
    start, first = positions[0], indexes[0]
    if positions == list(range(start, start + len(pairs))) and indexes == list(
        range(first, first + len(pairs))
    ):
        return start, start + len(pairs), first, first + len(pairs)
    return None


class _Plan:
    """How to read one export: the SQL of each column, and the few per-row fix-ups (names
    looked up, addresses filled in, text made safe) by position, so the row loop stays short."""

    def __init__(self, spec: ExportSpec):
        self.spec = spec
        profile = spec.profile_object
        self.profile = profile
        self.columns = spec.column_objects
        self.width = len(self.columns)
        # Booleans as words (Shopify's yes/no) need a fix-up; 1/0 come straight from SQL.
        self.yes, self.no = profile.booleans
        self.words = profile.booleans != ("1", "0")
        sql = _Sql(Customer._meta.db_table)
        self.annotations: dict[str, RawSQL] = {}
        self.text: list[int] = []  # cells to make formula-safe
        self.yes_no: list[int] = []  # booleans written as words (Shopify)
        self.titles: list[int] = []
        self.default_groups: list[int] = []
        self.groups: list[int] = []
        self.tags: list[int] = []
        self.address: list[tuple[int, int]] = []  # (position, index in the address tuple)
        self.oneline: list[int] = []
        for position, column in enumerate(self.columns):
            expression = self._expression(position, column, sql)
            self.annotations[f"c{position}"] = RawSQL(expression, ())
        self.has_address = bool(self.address or self.oneline)
        self.address_block = _block(self.address)
        self.address_rows = profile.layout == ADDRESS_ROWS and self.has_address
        # What a continuation row (one more address of the same customer) repeats.
        self.continuation = [
            position
            for position, column in enumerate(self.columns)
            if column.key in comptoir.CONTINUATION_KEYS
        ]
        language = export_names_language(spec)
        self.title_names = {
            title.pk: cell_safe(title.name_en if language == "en" else title.name_fr)
            for title in Title.objects.all()
        } if self.titles else {}  # fmt: skip
        self.group_names = (
            {
                group.pk: group.name_en if language == "en" else group.name_fr
                for group in Group.objects.all()
            }
            if self.default_groups or self.groups
            else {}
        )
        self.default_group_names = {pk: cell_safe(name) for pk, name in self.group_names.items()}

    def _expression(self, position: int, column: ExportColumn, sql: _Sql) -> str:
        source = column.source
        if source.startswith("address:"):
            name = source.removeprefix("address:")
            self.address.append((position, ADDRESS_FIELDS.index(name)))
            return "NULL"
        if source == "address_oneline":
            self.oneline.append(position)
            return "NULL"
        if source == "title":
            self.titles.append(position)
            return sql.column("title_id")
        if source == "default_group":
            self.default_groups.append(position)
            return sql.column("default_group_id")
        if source == "groups":
            self.groups.append(position)
            return "NULL"
        if source == "tags":
            # The stored tags text says whether the customer has tags at all (most have none);
            # the names themselves are read exactly, joined the way the format wants.
            self.tags.append(position)
            return sql.column("tags_text")
        if source == "phone_any":
            self.text.append(position)
            return sql.phone_any()
        if source == "sms_phone":
            self.text.append(position)
            return sql.sms_phone()
        if source == "birthday_mmdd":
            return sql.birthday_mmdd()
        if source not in EXPORTABLE_FIELDS:
            raise ValueError(f"Not an exportable customer field: {source!r}")
        kind = _kind_of(source)
        if kind in _TEXT_KINDS:
            self.text.append(position)
        if kind == BOOL and self.words:
            self.yes_no.append(position)
        return sql.value(source, kind)

    # One chunk

    def rows(self, raw: list[tuple]) -> list[list]:
        ids = [row[-1] for row in raw]
        groups = self._groups(ids) if self.groups else {}
        tags = self._tags([row[-1] for row in raw if row[self.tags[0]]]) if self.tags else {}
        addresses = self._addresses(ids) if self.has_address else {}
        text, yes_no, titles = self.text, self.yes_no, self.titles
        title_names, group_names = self.title_names, self.default_group_names
        triggers, yes, no = NEEDS_CHECK, self.yes, self.no
        out: list[list] = []
        for raw_row in raw:
            row = list(raw_row)
            customer_id = row.pop()
            for position in text:
                value = row[position]
                if value and value[0] in triggers:
                    row[position] = cell_safe(value)
            for position in yes_no:
                row[position] = yes if row[position] else no
            for position in titles:
                row[position] = title_names.get(row[position])
            for position in self.default_groups:
                row[position] = group_names.get(row[position])
            for position in self.groups:
                row[position] = groups.get(customer_id)
            for position in self.tags:
                if row[position]:
                    row[position] = tags.get(customer_id)
            if self.has_address:
                self._addresses_fill(out, row, addresses.get(customer_id, ()))
            else:
                out.append(row)
        return out

    def _addresses_fill(self, out: list[list], row: list, addresses: Sequence[tuple]) -> None:
        if addresses:
            self._address_put(row, addresses[0])
        out.append(row)
        # Comptoir's layout: each further address on a row of its own, under the same id/e-mail.
        for address in itertools.islice(addresses, 1, None):
            continuation = [None] * self.width
            for position in self.continuation:
                continuation[position] = row[position]
            self._address_put(continuation, address)
            out.append(continuation)

    def _address_put(self, row: list, address: tuple) -> None:
        if self.address_block:
            start, stop, first, last = self.address_block
            row[start:stop] = address[first:last]
        else:
            for position, index in self.address:
                row[position] = address[index]
        for position in self.oneline:
            row[position] = address[_ONELINE]

    # Per-chunk lookups: one statement each, whatever the chunk's size.

    def _groups(self, ids: list[int]) -> dict[int, str]:
        table = Membership._meta.db_table
        among, params = _among("customer_id", ids)
        sql = (
            f"SELECT customer_id, group_id FROM {table} WHERE {among} "
            "ORDER BY customer_id, group_id"
        )
        names, separator = self.group_names, self.profile.list_separator
        joined: dict[int, list[str]] = {}
        for customer_id, group_id in _fetch(sql, params):
            name = names.get(group_id, "")
            kept = joined.get(customer_id)
            if kept is None:
                joined[customer_id] = [name]
            else:
                kept.append(name)
        return {
            customer_id: cell_safe(separator.join(found)) for customer_id, found in joined.items()
        }

    def _tags(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        through = Customer.tags.through._meta.db_table
        tags = Tag._meta.db_table
        among, params = _among("ct.customer_id", ids)
        sql = (
            f"SELECT ct.customer_id, t.name FROM {through} ct JOIN {tags} t ON t.id = ct.tag_id "
            f"WHERE {among} ORDER BY ct.customer_id"
        )
        separator = self.profile.list_separator
        found: dict[int, str] = {}
        for customer_id, named in itertools.groupby(_fetch(sql, params), key=lambda r: r[0]):
            # Sorted as the stored tags text is: case-insensitively.
            ordered = sorted((name for _c, name in named), key=str.lower)
            found[customer_id] = cell_safe(separator.join(ordered))
        return found

    def _addresses(self, ids: list[int]) -> dict[int, list[tuple]]:
        """Each customer's addresses as cell tuples (``ADDRESS_FIELDS`` order, then the one-cell
        form), the default billing one first; in a one-row-per-customer layout, only the default
        shipping one (else the default billing one, else the first)."""
        sql = _Sql(Address._meta.db_table)
        selected = [
            sql.value(_ADDRESS_BOOLEANS[name], BOOL) if name in _ADDRESS_BOOLEANS
            else sql.column(name)
            for name in ADDRESS_FIELDS
        ]  # fmt: skip
        customer = sql.column("customer_id")
        among, params = _among(customer, ids)
        statement = (
            f"SELECT {customer}, {', '.join(selected)} FROM {sql.table} WHERE {among} "
            f"ORDER BY {customer}, {sql.column('is_default_billing')} DESC, {sql.column('id')}"
        )
        yes, no = (self.yes, self.no) if self.words else (1, 0)
        triggers, oneline = NEEDS_CHECK, bool(self.oneline)
        found: dict[int, list[tuple]] = {}
        for row in _fetch(statement, params):
            texts = [
                cell_safe(value) if value and value[0] in triggers else value for value in row[1:13]
            ]
            shipping = row[14]
            texts += [yes if row[13] else no, yes if shipping else no]
            if oneline:
                parts = (row[1 + ADDRESS_FIELDS.index(name)] for name in _ONELINE_PARTS)
                texts.append(cell_safe("  ".join(part for part in parts if part)))
            address = tuple(texts)
            kept = found.get(row[0])
            if kept is None:
                found[row[0]] = [address]
            elif self.address_rows:
                kept.append(address)
            elif shipping:
                kept[0] = address  # the default shipping address wins
        return found


# The list's query string, as the export reads it


def export_query_clean(query: str) -> str:
    """The list's query string reduced to its filters (no page, sort, columns or page size),
    empty values dropped: what an export records and carries as its filter."""
    data = QueryDict(query[:4000])
    filterset = export_filterset(query="")
    kept = QueryDict(mutable=True)
    for name, form_field in filterset.form.fields.items():
        if name == "sort":
            continue
        widget = form_field.widget
        suffixes = getattr(widget, "suffixes", None)
        for param in [widget.suffixed(name, s) for s in suffixes] if suffixes else [name]:
            values = [value for value in data.getlist(param) if value.strip()]
            if param == "lifecycle" and values == ["live"]:
                continue  # the default
            if values:
                kept.setlist(param, values)
    return kept.urlencode()


def export_filter_summary(*, query: str) -> list[tuple[str, str]]:
    """The filters of a list query as people read them: (label, value) pairs."""
    filterset = export_filterset(query=query)
    if not filterset.is_valid():
        return []
    summary = []
    for name, value in filterset.form.cleaned_data.items():
        if name == "sort" or value in (None, "", [], ()):
            continue
        form_field = filterset.form.fields[name]
        if isinstance(value, slice):
            if value.start is None and value.stop is None:
                continue
            shown = " \u2013 ".join(_bound_text(bound) for bound in (value.start, value.stop))
        elif isinstance(value, bool):
            shown = _("Yes") if value else _("No")
        elif hasattr(form_field, "choices") and not hasattr(value, "pk"):
            shown = str(dict(form_field.choices).get(value, value))
        else:
            shown = str(value)
        if name == "lifecycle" and value == "live":
            continue
        summary.append((str(form_field.label), shown))
    return summary


def _bound_text(bound) -> str:
    if bound is None:
        return "…"
    if hasattr(bound, "date") and callable(bound.date):
        return bound.date().isoformat()
    return str(bound)


@dataclass(frozen=True)
class ScopeOverview:
    """What the export screen shows about each scope it offers."""

    all: int
    filter: int | None  # None: no filter given, or one the list could not read
    selection: int | None  # None: nothing was selected in the list
    filter_valid: bool
    filter_summary: list[tuple[str, str]]


def export_scope_overview(
    *, query: str, ids: Sequence[int] | None, selection: bool
) -> ScopeOverview:
    """How many customers each scope would cover, and the filter as people read it."""
    everyone = export_filterset(query="").qs.count()
    filterset = export_filterset(query=query)
    valid = filterset.is_valid()
    matching = filterset.qs.count() if query and valid else None
    chosen = None
    if selection and valid:
        chosen = customer_selection(queryset=filterset.qs, ids=ids).count()
    return ScopeOverview(
        all=everyone,
        filter=matching,
        selection=chosen,
        filter_valid=valid,
        filter_summary=export_filter_summary(query=query) if query else [],
    )


# Background exports: their files and JSON records under COMPTOIR_HOME/var/exports/

JOB_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{8}$")


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    FINAL = frozenset({DONE, FAILED})


def exports_dir() -> Path:
    """Where background exports are kept (``COMPTOIR_EXPORT_DIR``, else ``var/exports``)."""
    configured = getattr(settings, "COMPTOIR_EXPORT_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "exports"


def export_retention() -> datetime.timedelta:
    """How long a background export is kept (``COMPTOIR_EXPORT_RETENTION_HOURS``, 72)."""
    return datetime.timedelta(hours=float(getattr(settings, "COMPTOIR_EXPORT_RETENTION_HOURS", 72)))


def export_record_path(job_id: str) -> Path:
    if not JOB_ID.match(job_id):
        raise ValueError(f"Not an export id: {job_id!r}")
    return exports_dir() / f"{job_id}.json"


@dataclass(frozen=True)
class ExportJob:
    """A background export as its JSON record describes it."""

    id: str
    status: str
    user_id: int | None
    user: str
    profile: str
    format: str
    scope: dict
    rows: int | None
    size: int | None
    file: str
    created: datetime.datetime
    expires: datetime.datetime
    finished: datetime.datetime | None
    task_id: str
    error: str
    data: dict

    @classmethod
    def from_record(cls, data: dict) -> ExportJob:
        def moment(key: str) -> datetime.datetime | None:
            value = data.get(key)
            return datetime.datetime.fromisoformat(value) if value else None

        return cls(
            id=data["id"],
            status=data.get("status", JobStatus.QUEUED),
            user_id=data.get("user_id"),
            user=data.get("user", ""),
            profile=data.get("profile", ""),
            format=data.get("format", "csv"),
            scope=data.get("scope", {}),
            rows=data.get("rows"),
            size=data.get("size"),
            file=data.get("file", ""),
            created=moment("created"),
            expires=moment("expires"),
            finished=moment("finished"),
            task_id=data.get("task_id", ""),
            error=data.get("error", ""),
            data=data,
        )

    @property
    def path(self) -> Path:
        return exports_dir() / self.file

    @property
    def is_final(self) -> bool:
        return self.status in JobStatus.FINAL

    @property
    def profile_label(self) -> str:
        profile = PROFILES.get(self.profile)
        return str(profile.label) if profile else self.profile

    @property
    def scope_text(self) -> str:
        """The scope as the exports page says it."""
        kind = self.scope.get("scope", Scope.ALL)
        if kind == Scope.SELECTION:
            ids = self.scope.get("ids")
            if isinstance(ids, list):
                return ngettext(
                    "%(count)s selected customer", "%(count)s selected customers", len(ids)
                ) % {"count": len(ids)}
            kind = Scope.FILTER
        if kind == Scope.FILTER and self.scope.get("filter"):
            summary = export_filter_summary(query=self.scope["filter"])
            return _("Filter: %(filter)s") % {
                "filter": ", ".join(f"{label} {value}" for label, value in summary)
                or self.scope["filter"]
            }
        return _("All customers")

    @property
    def downloadable(self) -> bool:
        return self.status == JobStatus.DONE and self.path.is_file()


def export_record_read(job_id: str) -> dict | None:
    """A background export's JSON record, or None (unknown id, or no longer kept)."""
    try:
        path = export_record_path(job_id)
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None


def export_job_get(*, job_id: str) -> ExportJob | None:
    data = export_record_read(job_id)
    if data is None:
        return None
    return _with_task_status([ExportJob.from_record(data)])[0]


@dataclass(frozen=True)
class ExportJobsPage:
    jobs: list[ExportJob]
    number: int
    pages: int
    total: int

    @property
    def pending(self) -> bool:
        return any(not job.is_final for job in self.jobs)


EXPORTS_PER_PAGE = 20


def export_jobs_page(*, page: int = 1, per_page: int = EXPORTS_PER_PAGE) -> ExportJobsPage:
    """The background exports still kept, newest first, one page of them, each with the status
    its task reports (a worker that died leaves a record saying "running": the task says)."""
    records = []
    folder = exports_dir()
    if folder.is_dir():
        for path in folder.glob("*.json"):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # a record being written, or damaged: not listed
    records.sort(key=lambda data: (data.get("created", ""), data.get("id", "")), reverse=True)
    total = len(records)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    chosen = records[(page - 1) * per_page : page * per_page]
    jobs = _with_task_status([ExportJob.from_record(data) for data in chosen])
    return ExportJobsPage(jobs=jobs, number=page, pages=pages, total=total)


def _with_task_status(jobs: list[ExportJob]) -> list[ExportJob]:
    """Jobs whose record is not final, corrected by what the task backend knows (one query)."""
    pending = {job.task_id: job for job in jobs if not job.is_final and job.task_id}
    if not pending:
        return jobs
    statuses = _task_statuses(list(pending))
    corrected = []
    for job in jobs:
        status = statuses.get(job.task_id) if job.task_id in pending else None
        if status == TaskResultStatus.FAILED:
            job = dataclasses.replace(job, status=JobStatus.FAILED)
        elif status == TaskResultStatus.RUNNING and job.status == JobStatus.QUEUED:
            job = dataclasses.replace(job, status=JobStatus.RUNNING)
        corrected.append(job)
    return corrected


def _task_statuses(task_ids: list[str]) -> dict[str, str]:
    from django_tasks import default_task_backend
    from django_tasks.exceptions import TaskResultDoesNotExist

    try:
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.models import DBTaskResult
    except ImportError:  # another backend (RQ): ask it one by one
        DatabaseBackend = DBTaskResult = None
    if DatabaseBackend is not None and isinstance(default_task_backend, DatabaseBackend):
        rows = DBTaskResult.objects.filter(id__in=task_ids).values_list("id", "status")
        return {str(task_id): status for task_id, status in rows}
    statuses = {}
    for task_id in task_ids:
        try:
            statuses[task_id] = default_task_backend.get_result(task_id).status
        except (TaskResultDoesNotExist, ValueError):
            continue
    return statuses
