"""The export's CSV lines, written by the database.

``export_chunks`` reads cells and leaves Python to make text formula-safe, look names up and
write each row with ``csv.writer``: at a million customers that is most of an export's time
(the driver building some forty Python objects a row, then the fix-ups, then the writer). For a
CSV file, ``export_lines`` has the database write the lines and Python only joins them: byte
for byte what ``csv.writer`` (QUOTE_MINIMAL, the chosen delimiter, ``"`` doubled, ``\\r\\n``)
writes from ``export_chunks``'s rows. SQLite and PostgreSQL; any other database keeps the rows
and csv.writer (``export_lines_supported``).

One statement a chunk, over the customers table itself (a derived table in between would have
SQLite copy every value once more), for the ids the export's own queryset gives (scope, keyset
``id > last``, ``LIMIT``):

- each cell written as the file wants it: numbers, dates and booleans by the expressions of
  ``export_chunks``; text made formula-safe by the rule of ``core.csv_safety`` written in SQL
  (a leading apostrophe when the value, past any leading apostrophes, starts with ``= + - @``, a
  tab or a carriage return and is not a signed number, or when apostrophes come before a
  digit or "+" and a digit; the usual first characters, letters,
  digits or nothing, settled by a comparison or two); titles and default groups by a CASE over
  their ids with the cells Python wrote for each; group memberships and tags by correlated
  subqueries, in the order the rows use, whether a list needs the escape settled by Python for
  each possible first name; the cells joined by the delimiter in one ``printf``/``format``;
- addresses joined in: in Comptoir's layout every address of the customer, default billing first
  then by id, the customer's cells on the first line only and the id and e-mail on the others;
  in the other layouts the one address the rows use, found by a subquery.

Text comes back unquoted, except the cells that usually need CSV quoting (JSON, the stored tags
text with a comma delimiter), quoted by SQL, which also says how many quotes, delimiters and
line breaks that quoting put in. Python then counts those characters in the whole chunk at once
(one pass of C over its bytes): when the count is what the columns, the line ends and the quoted
cells account for, no other cell needs quoting. Otherwise the customers whose lines hold more
are read again with every text cell quoted by SQL: one more statement for that chunk, none for
the others.

SQLite hands each line over as a BLOB (its UTF-8 bytes, never decoded nor encoded again).

PostgreSQL (decision 0019) writes the file itself: each chunk's cells, one column each, go
through ``COPY (SELECT ...) TO STDOUT (FORMAT csv)``, whose writer quotes and joins them as
csv.writer does, save an empty string (quoted by COPY: every empty text cell is NULL instead),
its "\\n" line ends (made "\\r\\n" here) and, in a one-column file, a line of only ``\\.``. The
chunk's addresses (Comptoir's layout) and its group and tag lists are read in one pass each over
its run of ids and joined; the lines are handed on in pieces of about a megabyte. The JIT
compiler is off on every connection (settings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection

from comptoir.core.csv_safety import cell_is_dangerous, cell_safe
from comptoir.customers.models import Address, Customer, Membership, Tag, Title
from comptoir.groups.models import Group
from comptoir.transfer.formats import comptoir
from comptoir.transfer.formats.profiles import ADDRESS_ROWS, BOOL, JSON, ExportColumn
from comptoir.transfer.selectors.exporting import (
    _ADDRESS_BOOLEANS,
    _ONELINE_PARTS,
    _TEXT_KINDS,
    ADDRESS_FIELDS,
    CHUNK_SIZE,
    EXPORTABLE_FIELDS,
    ExportSpec,
    _kind_of,
    _Sql,
    export_names_language,
    export_queryset,
)

# What a spreadsheet may take for the start of a formula (core.csv_safety.FORMULA_TRIGGERS),
# "-" last: a literal in a bracket expression on both databases.
_TRIGGERS = "=+@\t\r-"
# Titles and groups named through a CASE of bound names up to this many; beyond, a lookup.
_CASE_MAX = 64
# Customers a chunk when writing a file: a statement a chunk, which PostgreSQL plans each time
# (tens of milliseconds for this one); a few megabytes of lines.
LINES_CHUNK_SIZE = 10_000
# COPY's lines are handed on in pieces of about this many bytes.
_PIECE = 1 << 20
# Arguments per printf() call (SQLite takes at most 127).
_ARGS_MAX = 90
# The stored tags text joins the names with this (customers.services.bulk).
_TAGS_TEXT_SEPARATOR = ", "

TEXT, PHONE, PLAIN, WRITTEN = "text", "phone", "plain", "written"
# What a text value usually starts with (the first test of the formula check; any is exact).
LETTER, EMPTY, DIGIT = "letter", "empty", "digit"
_USUALLY = {
    **dict.fromkeys(
        ("external_id", "company", "siret", "ape_code", "vat_number", "website", "note",
         "tax_exemption_ref", "blocked_reason", "tags_text", "address2", "state"),
        EMPTY,
    ),
    "address1": DIGIT,
    "postcode": DIGIT,
}  # fmt: skip
CUSTOMER, ADDRESS = "customer", "address"
# Bound in COPY's statement where a chunk's run of ids starts (exclusive) and ends.
_AFTER, _UPTO = object(), object()


class ExportLines(NamedTuple):
    customers: int  # how many customers these lines are (Comptoir's layout: lines >= customers)
    data: bytes  # the lines, each ended by "\r\n", in UTF-8: ready for the file


def export_lines_supported() -> bool:
    """Whether this database can write the CSV lines (else the rows and csv.writer do)."""
    return connection.vendor in ("sqlite", "postgresql")


def csv_cell(value: str, delimiter: str) -> str:
    """One text cell as csv.writer writes it."""
    if delimiter in value or '"' in value or "\r" in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def export_lines(
    *,
    spec: ExportSpec,
    delimiter: str,
    chunk_size: int = CHUNK_SIZE,
    after_id: int = 0,
    upto_id: int | None = None,
) -> Iterator[ExportLines]:
    """The export's CSV lines, chunk by chunk of customers, in id order: what csv.writer writes
    from ``export_chunks(spec=spec, ...)``'s rows with this delimiter, line for line.
    ``after_id``/``upto_id`` narrow it to a run of ids, as for ``export_chunks``."""
    plan = _LinePlan(spec, delimiter)
    queryset = export_queryset(spec=spec)
    if upto_id is not None:
        queryset = queryset.filter(id__lte=upto_id)
    if plan.copy:
        yield from _copied(plan, queryset, chunk_size, after_id)
        return
    last_id = after_id
    while True:
        try:
            sql, params = plan.statement(queryset.filter(id__gt=last_id), limit=chunk_size)
        except EmptyResultSet:  # a scope that can match nothing (an empty selection)
            return
        rows = _fetch(sql, params)
        if not rows:
            return
        last_id = rows[-1][-1]
        data, customers = plan.chunk(rows, queryset)
        yield ExportLines(customers, data)
        if customers < chunk_size:
            return


def _copied(plan: _LinePlan, queryset, chunk_size: int, after_id: int) -> Iterator[ExportLines]:
    """PostgreSQL: each chunk's lines written by ``COPY ... TO STDOUT`` in CSV, after one
    indexed read of how many customers the chunk holds and its last id (COPY's output is the
    file alone)."""
    last_id = after_id
    while True:
        ids = queryset.filter(id__gt=last_id).order_by("id").values("id")[:chunk_size]
        try:
            ids_sql, ids_params = ids.query.sql_with_params()
        except EmptyResultSet:  # a scope that can match nothing (an empty selection)
            return
        customers, upto = _fetch(f"SELECT count(*), max(id) FROM ({ids_sql}) AS chunk", ids_params)[
            0
        ]
        if not customers:
            return
        # The chunk's lines in pieces, its customers counted with the last: memory stays
        # flat however large the chunk.
        pieces = plan.copied(queryset, after_id=last_id, upto_id=upto)
        previous = next(pieces, b"")
        for piece in pieces:
            yield ExportLines(0, previous)
            previous = piece
        yield ExportLines(customers, previous)
        if customers < chunk_size:
            return
        last_id = upto


def _crlf(piece: bytearray, ends: list[int]) -> bytes:
    """COPY's lines (``ends``: where each ends, after its "\\n") ended by "\\r\\n" instead."""
    if piece.count(b"\n") == len(ends):  # no line feed inside a cell: one pass of C
        return bytes(piece).replace(b"\n", b"\r\n")
    # A cell holds a line feed (quoted, as csv.writer quotes it): only the lines' own ends.
    starts = [0, *ends[:-1]]
    return b"".join(
        piece[start : end - 1] + b"\r\n" for start, end in zip(starts, ends, strict=True)
    )


def _fetch(sql: str, params: Sequence) -> list[tuple]:
    # (PostgreSQL's JIT compiler, which the statement's estimated cost would set off and which
    # took longer than the statement itself, every chunk, is off on every connection: settings.)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


class _F(NamedTuple):
    """A piece of SQL and the values bound to its placeholders, in order."""

    sql: str
    params: tuple = ()


def _f(template: str, *parts: _F | str) -> _F:
    """``template``'s ``{}`` slots filled with ``parts`` in order, their values kept in order."""
    texts, params = [], []
    for part in parts:
        if isinstance(part, _F):
            texts.append(part.sql)
            params.extend(part.params)
        else:
            texts.append(part)
    return _F(template.format(*texts), tuple(params))


def _bind(value) -> _F:
    return _F("%s", (value,))


def _literal(value: str | int | None) -> _F:
    """A constant written into the statement itself. SQLite copies a bound value each time an
    expression hands it on (for the yes/no words and the names of a CASE, once a cell a row:
    about 50 ns each), and a literal it does not; PostgreSQL's COPY takes no bound values
    at all (psycopg writes them in). A text holding a NUL, which a literal cannot, stays
    bound."""
    if value is None:
        return _F("NULL")
    if isinstance(value, int):
        return _F(str(int(value)))
    if "\x00" in value:
        return _bind(value)
    # "%" doubled: the statement goes through the driver's %s parameter style.
    return _F("'" + value.replace("'", "''").replace("%", "%%") + "'")


def _slots(count: int) -> str:
    return ", ".join(["{}"] * count)


def _case(selector: str, values: dict[int, str]) -> _F:
    """``selector`` looked up among ``values`` (NULL when absent), the values written in."""
    if not values:
        return _F("NULL")
    whens = [_f("WHEN {} THEN {}", _literal(key), _literal(value)) for key, value in values.items()]
    return _f("CASE {} " + " ".join(["{}"] * len(whens)) + " END", selector, *whens)


def _usual(name: str) -> str:
    return _USUALLY.get(name, LETTER)


class _Dialect:
    """The SQL that differs between SQLite and PostgreSQL."""

    def __init__(self, delimiter: str):
        self.delimiter = delimiter
        self.postgres = connection.vendor == "postgresql"

    def join(self, cells: list[_F | None], separator: str | None = None) -> _F:
        """SQLite: the cells' text joined with ``separator`` (the delimiter), NULL as empty; a
        cell given as None is empty in the format itself (no argument to pass)."""
        separator = self.delimiter if separator is None else separator
        calls = []
        for start in range(0, len(cells), _ARGS_MAX):
            part = cells[start : start + _ARGS_MAX]
            text = separator.join("" if cell is None else "%s" for cell in part)
            text = separator + text if start else text
            given = [cell for cell in part if cell is not None]
            if given:
                calls.append(_f(f"printf({{}}, {_slots(len(given))})", _bind(text), *given))
            else:
                calls.append(_bind(text))
        return _f(" || ".join(["{}"] * len(calls)), *calls)

    def safe(self, x: _F, usual: str = LETTER) -> _F:
        """``x`` formula-safe, as ``core.csv_safety.cell_safe`` makes it; NULL kept, and
        empty text made NULL (an empty cell either way: printf() takes NULL without copying,
        and COPY would quote an empty string). ``x`` is named several times: a column, or an
        aggregate (computed once). ``usual``: what the value usually starts with, tested
        first."""
        if self.postgres:
            # The usual first characters settled by one comparison of ascii() (0 for empty
            # text, the code point beyond ASCII): above "@", or one of . / 0-9 : ; <.
            tests = {
                LETTER: _f("WHEN ascii({}) > 64 THEN {}", x, x),
                EMPTY: _f("WHEN {} = '' THEN NULL", x),
                DIGIT: _f("WHEN ascii({}) BETWEEN 46 AND 60 THEN {}", x, x),
            }
            order = [usual, *(kind for kind in tests if kind != usual)]
            return _f(
                "CASE {} {} {} WHEN ascii({}) NOT IN (9, 13, 39, 43, 45, 61, 64) THEN {} "
                "WHEN {} ~ {} AND ltrim({}, '''') !~ {} THEN '''' || {} "
                "WHEN {} ~ {} THEN '''' || {} ELSE {} END",
                *[tests[kind] for kind in order], x, x,
                x, _literal(f"^'*[{_TRIGGERS}]"), x, _literal(r"^[+-][0-9]+([.,][0-9]+)?$"), x,
                x, _literal(r"^'+\+?[0-9]"), x, x,
            )  # fmt: skip
        rest = _f("ltrim({}, '''')", x)
        # Past the apostrophes: not [+-]digits([.,]digits)? (the second character a digit,
        # then only digits and at most one separator, not last).
        signed = _f(
            "({} GLOB '[+-][0-9]*' AND {} NOT GLOB '?*[^0-9.,]*' AND {} NOT GLOB '*[.,]' "
            "AND {} NOT GLOB '*[.,]*[.,]*')",
            rest, rest, rest, rest,
        )  # fmt: skip
        # Comparisons first (they copy nothing): a letter or any character that is not ASCII,
        # empty, or one of . / 0-9 : ; < first.
        tests = {
            LETTER: _f("WHEN {} >= 'A' THEN {}", x, x),
            EMPTY: _f("WHEN {} = '' THEN NULL", x),
            DIGIT: _f("WHEN {} >= '.' AND {} < '=' THEN {}", x, x, x),
        }
        order = [usual, *(kind for kind in tests if kind != usual)]
        # Apostrophes, then a digit or "+" and a digit: escaped too (the importer would take
        # the apostrophes for a spreadsheet's guard, as Shopify writes its ids).
        number = _f("({} GLOB '''*' AND ({} GLOB '[0-9]*' OR {} GLOB '+[0-9]*'))", x, rest, rest)
        return _f(
            "CASE {} {} {} WHEN {} GLOB {} AND NOT {} THEN '''' || {} "
            "WHEN {} THEN '''' || {} ELSE {} END",
            *[tests[kind] for kind in order], rest, _bind(f"[{_TRIGGERS}]*"), signed, x,
            number, x, x,
        )  # fmt: skip

    def phone(self, x: _F) -> _F:
        """``safe``, with a short way for the usual phone: "+" and digits (a signed number)."""
        if self.postgres:
            # A regular expression (compiled once a statement) costs half the three
            # functions that tested the same.
            plain = _f("{} ~ {}", x, _literal(r"^\+[0-9]+$"))
        else:
            plain = _f("({} >= '+0' AND {} < '+:' AND {} NOT GLOB '?*[^0-9]*')", x, x, x)
        return _f(
            "CASE WHEN {} = '' THEN NULL WHEN {} THEN {} ELSE {} END", x, plain, x, self.safe(x)
        )

    def needs_quote(self, x: _F) -> _F:
        """SQLite: whether csv.writer quotes ``x``: it holds the delimiter, a quote or a line
        break."""
        return _f("{} GLOB {}", x, _bind(f'*[{self.delimiter}"\r\n]*'))

    def quote(self, x: _F) -> _F:
        """SQLite: ``x`` CSV-quoted when csv.writer would quote it."""
        return _f(
            "CASE WHEN {} THEN '\"' || replace({}, '\"', '\"\"') || '\"' ELSE {} END",
            self.needs_quote(x), x, x,
        )  # fmt: skip

    def specials(self, x: _F) -> _F:
        """SQLite: how many quotes, delimiters and line breaks ``x`` quoted holds (0 when
        unquoted)."""
        return _f(
            "CASE WHEN {} THEN 2 + 5 * length({}) - 2 * length(replace({}, '\"', '')) "
            "- length(replace({}, {}, '')) - length(replace({}, char(13), '')) "
            "- length(replace({}, char(10), '')) ELSE 0 END",
            self.needs_quote(x), x, x, x, _bind(self.delimiter), x, x,
        )  # fmt: skip

    def concat(self, parts: list[_F]) -> _F:
        """Text run together, NULL as empty."""
        if self.postgres:
            return _f(f"concat({_slots(len(parts))})", *parts)
        return self.join(parts, separator="")


@dataclass
class _Cell:
    key: str
    level: str  # CUSTOMER or ADDRESS (read from the joined address)
    kind: str  # TEXT, PHONE (usually "+digits"), PLAIN (never quoted), WRITTEN (by ``write``)
    value: _F | None = None  # the raw value (NULL for an empty cell)
    write: Callable[[bool], _F] | None = None  # WRITTEN: the cell's text, quoted or not
    quoted: bool = False  # usually needs CSV quoting: quoted by SQL even on the fast path
    usual: str = LETTER  # what the text usually starts with


@dataclass
class _Run:
    """Consecutive cells of one level: one piece of text in the line."""

    level: str
    positions: list[int]
    repeated: bool = False  # Comptoir's layout: holds a column continuation lines repeat


class _LinePlan:
    """The statements that read one export's lines, and the Python that finishes a chunk."""

    def __init__(self, spec: ExportSpec, delimiter: str):
        self.spec = spec
        self.profile = profile = spec.profile_object
        self.delimiter = delimiter
        self.sql = _Dialect(delimiter)
        # PostgreSQL writes the file with COPY, which quotes and joins the cells itself.
        self.copy = self.sql.postgres
        self.width = len(spec.columns)
        self.language = export_names_language(spec)
        # The customers table as "cu" (a short name: each text cell names its column a few
        # times, and the statement is sent, and its placeholders rewritten, for every chunk).
        self.customers = _Sql("cu")
        self.table = f"{connection.ops.quote_name(Customer._meta.db_table)} {self.customers.table}"
        self.address_table = connection.ops.quote_name(Address._meta.db_table)
        self._names: dict = {}
        self.cells = [self._cell(column) for column in spec.column_objects]
        self.has_address = any(cell.level == ADDRESS for cell in self.cells)
        self.address_rows = profile.layout == ADDRESS_ROWS and self.has_address
        self.runs = self._runs()
        self.counted = any(cell.quoted for cell in self.cells)
        self.specials = f'"\r\n{delimiter}'.encode()  # what makes csv.writer quote a cell
        if self.copy:
            self.copy_joins: list[_F] = []  # the lists' joins (``_list``)
            self.copy_select = self._copy_select()
        else:
            self.select = {quoted: self._select(quoted) for quoted in (False, True)}

    # The cells

    def _cell(self, column: ExportColumn) -> _Cell:
        source, sql, key = column.source, self.customers, column.key
        if source.startswith("address:"):
            return self._address_cell(key, source.removeprefix("address:"))
        if source == "address_oneline":
            return _Cell(key, ADDRESS, TEXT, self._oneline())
        if source in ("title", "default_group"):
            model, name = (Title, "title_id") if source == "title" else (Group, "default_group_id")
            return _Cell(key, CUSTOMER, WRITTEN, write=self._named(model, sql.column(name)))
        if source == "groups":
            return _Cell(key, CUSTOMER, WRITTEN, write=self._groups)
        if source == "tags":
            return _Cell(key, CUSTOMER, WRITTEN, write=self._tags)
        if source in ("phone_any", "sms_phone"):
            return _Cell(key, CUSTOMER, PHONE, _F(getattr(sql, source)()))
        if source == "birthday_mmdd":
            return _Cell(key, CUSTOMER, PLAIN, _F(sql.birthday_mmdd()))
        if source not in EXPORTABLE_FIELDS:
            raise ValueError(f"Not an exportable customer field: {source!r}")
        kind = _kind_of(source)
        if kind == BOOL and self.profile.booleans != ("1", "0"):
            value = _f("CASE WHEN {} THEN {} ELSE {} END", sql.column(source), *self._words())
            return _Cell(key, CUSTOMER, PLAIN, value)
        if kind not in _TEXT_KINDS:
            return _Cell(key, CUSTOMER, PLAIN, _F(sql.value(source, kind)))
        # The stored tags text joins the names with a comma: with a comma delimiter, quoted.
        quoted = not self.copy and (
            kind == JSON or (source == "tags_text" and self.delimiter in _TAGS_TEXT_SEPARATOR)
        )
        cell_kind = PHONE if source in ("phone", "mobile") else TEXT
        value = _F(sql.value(source, kind))
        return _Cell(key, CUSTOMER, cell_kind, value, quoted=quoted, usual=_usual(source))

    def _words(self) -> tuple[_F, _F]:
        """Yes and no, as csv.writer writes them ("yes" and "no" need no quoting); as they
        are for COPY, an empty word as NULL."""
        words = self.profile.booleans
        if self.copy:
            return tuple(_literal(word or None) for word in words)
        return tuple(_literal(csv_cell(word, self.delimiter)) for word in words)

    def _address_cell(self, key: str, name: str) -> _Cell:
        if name not in ADDRESS_FIELDS:
            raise ValueError(f"Not an exportable address field: {name!r}")
        if name in _ADDRESS_BOOLEANS:
            column = f'a."{_ADDRESS_BOOLEANS[name]}"'
            value = _f(
                f'CASE WHEN a."id" IS NULL THEN NULL WHEN {column} THEN {{}} ELSE {{}} END',
                *self._words(),
            )
            return _Cell(key, ADDRESS, PLAIN, value)
        kind = PHONE if name == "phone" else TEXT
        return _Cell(key, ADDRESS, kind, _F(f'a."{name}"'), usual=_usual(name))

    def _oneline(self) -> _F:
        """Mailchimp's one cell: the parts that are not empty, double-space separated."""
        parts = [
            _F(f"""CASE WHEN a."{name}" <> '' THEN '  ' || a."{name}" END""")
            for name in _ONELINE_PARTS
        ]
        return _f("substr({}, 3)", self.sql.concat(parts))

    def _write(self, x: _F, quoted: bool) -> _F:
        """A text value as its cell: formula-safe, and CSV-quoted when ``quoted``."""
        safe = self.sql.safe(x)
        return self.sql.quote(safe) if quoted else safe

    def _name_of(self, model) -> tuple[str, dict[int, str] | None]:
        """The name column in the file's language, and the names by id when there are few."""
        name = "name_en" if self.language == "en" else "name_fr"
        if model not in self._names:
            names = dict(model.objects.order_by("pk").values_list("pk", name)[: _CASE_MAX + 1])
            self._names[model] = names if len(names) <= _CASE_MAX else None
        return name, self._names[model]

    def _named(self, model, key: str) -> Callable[[bool], _F]:
        """The cell of the title or group whose id is ``key``: a CASE over the few there are,
        their cells written by Python into the statement (an empty name as NULL); else a
        lookup."""
        name, names = self._name_of(model)
        if names is not None:
            safe = {pk: cell_safe(value) for pk, value in names.items() if value}
            quoted = {pk: csv_cell(value, self.delimiter) for pk, value in safe.items()}
            return lambda quote: _case(key, quoted if quote else safe)
        table = connection.ops.quote_name(model._meta.db_table)
        return lambda quote: _f(
            f'(SELECT {{}} FROM {table} n WHERE n."id" = {key})',
            self._write(_F(f'n."{name}"'), quote),
        )

    def _raw_name(self, model, key: str) -> _F:
        """The name of the title or group whose id is ``key``, '' when there is none."""
        name, names = self._name_of(model)
        if names is not None:
            return _f("COALESCE({}, '')", _case(key, names))
        table = connection.ops.quote_name(model._meta.db_table)
        return _F(f"""COALESCE((SELECT n."{name}" FROM {table} n WHERE n."id" = {key}), '')""")

    def _list(self, rows: _F, names: dict, quoted: bool) -> _F:
        """A list cell: the names of ``rows`` (a derived table of ``k``, the ordering key, and
        ``n``, the name) in ``k`` order, joined by the list separator, all in one aggregate
        subquery (SQLite would compute an aggregate again each time a test named it).

        Whether the cell needs the formula escape depends only on its first name and on
        whether that name is alone, so Python settles it for every name beforehand: ``names``
        maps each ordering key to its name."""
        separator = self.profile.list_separator
        if self.sql.postgres:
            joined = _f("string_agg(n, {} ORDER BY k)", _bind(separator))
        else:
            joined = _f("group_concat(n, {})", _bind(separator))
        if set(separator) <= set("0123456789.,'"):
            # A separator that could make a list look like a signed number: the full test.
            cell = self.sql.safe(joined)
        else:
            # A list of several names is then no signed number, and its first character is
            # its first name's (past the apostrophes, the separator's at the latest).
            alone = [key for key, name in names.items() if cell_is_dangerous(name)]
            several = [key for key, name in names.items() if cell_is_dangerous(name + separator)]
            tests = []
            for keys, count in ((alone, "= 1"), (several, "> 1")):
                if keys:
                    among = _f(_slots(len(keys)), *[_bind(key) for key in keys])
                    tests.append(_f(f"(count(*) {count} AND min(k) IN ({{}}))", among))
            cell = joined
            if tests:
                test = _f(" OR ".join(["{}"] * len(tests)), *tests)
                cell = _f("CASE WHEN {} THEN '''' ELSE '' END || {}", test, joined)
        if quoted:
            cell = self.sql.quote(cell)
        if self.copy:
            # The lists of the chunk's run of ids in one grouped pass, joined: a third
            # cheaper than a subquery for each customer. An empty list (one group without a
            # name) as NULL: COPY would quote ''.
            alias = f"l{len(self.copy_joins)}"
            customer = self.customers.column("id")
            self.copy_joins.append(
                _f(
                    "LEFT JOIN (SELECT c, NULLIF({}, '') AS v FROM {} AS listed GROUP BY c) "
                    f'{alias} ON {alias}."c" = {customer}',
                    cell,
                    rows,
                )
            )
            return _F(f'{alias}."v"')
        # SQLite before 3.44 has no ORDER BY inside group_concat: it follows the subquery's.
        return _f("(SELECT {} FROM (SELECT k, n FROM {} ORDER BY k))", cell, rows)

    def _owner(self, column: str) -> tuple[_F]:
        """What a list's rows select first: with COPY, whose they are (``c``)."""
        return (_F(f"{column} AS c, ") if self.copy else _F(""),)

    def _owned(self, column: str) -> _F:
        """Which rows a list reads: the customer's, or with COPY the chunk's run of ids."""
        if self.copy:
            return _F(f"{column} > %s AND {column} <= %s", (_AFTER, _UPTO))
        return _F(f"{column} = {self.customers.column('id')}")

    def _groups(self, quoted: bool) -> _F:
        """The customer's groups' names in group id order, joined by the list separator."""
        table = connection.ops.quote_name(Membership._meta.db_table)
        name, names = self._name_of(Group)
        rows = _f(
            f'(SELECT {{}}m."group_id" AS k, {{}} AS n FROM {table} m WHERE {{}})',
            *self._owner('m."customer_id"'), self._raw_name(Group, 'm."group_id"'),
            self._owned('m."customer_id"'),
        )  # fmt: skip
        if names is None:
            names = dict(Group.objects.values_list("pk", name))
        return self._list(rows, names, quoted)

    def _tags(self, quoted: bool) -> _F:
        """The customer's tag names, sorted as the rows sort them (by their lower case),
        joined by the list separator; read only for a customer whose stored tags text says it
        has tags, as the rows do."""
        through = connection.ops.quote_name(Customer.tags.through._meta.db_table)
        tags = connection.ops.quote_name(Tag._meta.db_table)
        text = self.customers.column("tags_text")
        order, names = self._tags_order()
        rows = _f(
            f'(SELECT {{}}{{}} AS k, t."name" AS n FROM {through} ct JOIN {tags} t '
            'ON t."id" = ct."tag_id" WHERE {})',
            *self._owner('ct."customer_id"'), order, self._owned('ct."customer_id"'),
        )  # fmt: skip
        return _f(f"CASE WHEN {text} <> '' THEN {{}} END", self._list(rows, names, quoted))

    def _tags_order(self) -> tuple[_F, dict]:
        """How the tags sort, and their names by that key: code-point order of their lower
        case, which ``name_key`` is when the tag services wrote it; else each tag's rank,
        computed here."""
        if "tags" not in self._names:
            self._names["tags"] = list(Tag.objects.values_list("pk", "name", "name_key"))
        tags = self._names["tags"]
        if all(key == name.lower() for _pk, name, key in tags):
            order = _F('t."name_key" COLLATE "C"' if self.sql.postgres else 't."name_key"')
            return order, {key: name for _pk, name, key in tags}
        ranked = sorted(tags, key=lambda tag: (tag[1].lower(), tag[0]))
        order = _case('t."id"', {tag[0]: rank for rank, tag in enumerate(ranked)})
        return order, {rank: tag[1] for rank, tag in enumerate(ranked)}

    # The statement

    def _runs(self) -> list[_Run]:
        """The cells cut where the line passes from customer cells to address cells."""
        runs: list[_Run] = []
        for position, cell in enumerate(self.cells):
            if runs and runs[-1].level == cell.level:
                runs[-1].positions.append(position)
            else:
                runs.append(_Run(cell.level, [position]))
        for run in runs:
            keys = {self.cells[position].key for position in run.positions}
            run.repeated = self.address_rows and bool(keys & set(comptoir.CONTINUATION_KEYS))
        return runs

    def _cell_text(self, cell: _Cell, quoted: bool) -> _F:
        """A cell as the file has it: formula-safe text, CSV-quoted when ``quoted`` (and for
        the cells quoted anyway)."""
        sql = self.sql
        if cell.kind == PLAIN:
            return cell.value
        if cell.kind == WRITTEN:
            return cell.write(quoted)
        safe = sql.phone(cell.value) if cell.kind == PHONE else sql.safe(cell.value, cell.usual)
        return sql.quote(safe) if quoted or cell.quoted else safe

    def _text(self, run: _Run, quoted: bool, continuation: bool = False) -> _F:
        """One run of cells joined; on a continuation line only the columns it repeats."""
        cells = []
        for position in run.positions:
            cell = self.cells[position]
            if continuation and cell.key not in comptoir.CONTINUATION_KEYS:
                cells.append(None)
            else:
                cells.append(self._cell_text(cell, quoted))
        return self.sql.join(cells)

    def _first(self) -> str:
        """Comptoir's layout: whether the row's address goes on the customer's own line, the
        first: the default billing address, else the first by id (or none at all)."""
        customer, table = self.customers.column("id"), self.address_table
        return (
            f'(a."id" IS NULL OR a."is_default_billing" OR (NOT EXISTS (SELECT 1 FROM {table} b '
            f'WHERE b."customer_id" = {customer} AND b."is_default_billing") AND a."id" = '
            f'(SELECT min(b."id") FROM {table} b WHERE b."customer_id" = {customer})))'
        )

    def _select(self, quoted: bool) -> tuple[_F, str]:
        """The statement's columns (the line, [what its quoted cells hold], the customer's id)
        and what follows its FROM's customers table.

        Comptoir's layout: a row per address, the customer's runs of cells written on the
        first only; the others (continuation lines) repeat the id and the e-mail."""
        customer = self.customers.column("id")
        first = self._first() if self.address_rows else ""
        pieces = []
        for run in self.runs:
            text = self._text(run, quoted)
            if self.address_rows and run.level == CUSTOMER:
                if run.repeated:
                    other = self._text(run, quoted, continuation=True)
                else:
                    other = _bind(self.delimiter * (len(run.positions) - 1))
                text = _f(f"CASE WHEN {first} THEN {{}} ELSE {{}} END", text, other)
            pieces.append(text)
        line = pieces[0] if len(pieces) == 1 else self.sql.join(pieces)
        if not self.sql.postgres:
            # SQLite hands a BLOB over as it is: its UTF-8 bytes, neither decoded into a str
            # nor encoded back for the file.
            line = _f("CAST({} AS BLOB)", line)
        columns = [line]
        if self.counted:
            counts = [
                self.sql.specials(cell.value) for cell in self.cells if cell.quoted and not quoted
            ]
            count = _f(" + ".join(["{}"] * len(counts)), *counts) if counts else _F("0")
            if self.address_rows:  # the quoted cells are the customer's: on its line only
                count = _f(f"CASE WHEN {first} THEN {{}} ELSE 0 END", count)
            columns.append(count)
        columns.append(_F(customer))
        return _f(_slots(len(columns)), *columns), self._select_tail()

    def _select_tail(self) -> tuple[str, str]:
        """What follows the statement's customers table (the address joined in), and its
        order."""
        customer = self.customers.column("id")
        if self.address_rows:
            joined = f'LEFT JOIN {self.address_table} a ON a."customer_id" = {customer}'
            return joined, f'{customer}, a."is_default_billing" DESC, a."id"'
        if self.has_address:
            # The address the rows use: default shipping, else default billing, else the first.
            joined = (
                f'LEFT JOIN {self.address_table} a ON a."id" = (SELECT "id" FROM '
                f'{self.address_table} WHERE "customer_id" = {customer} ORDER BY '
                '"is_default_shipping" DESC, "is_default_billing" DESC, "id" LIMIT 1)'
            )
            return joined, customer
        return "", customer

    def statement(self, queryset, *, limit: int | None = None, quoted: bool = False):
        """The SQL and values that read the lines of ``queryset``'s customers (the first
        ``limit`` of them by id), every text cell CSV-quoted by SQL when ``quoted``."""
        ids = queryset.order_by("id").values("id")
        if limit is not None:
            ids = ids[:limit]
        ids_sql, ids_params = ids.query.sql_with_params()
        columns, (joined, order) = self.select[quoted]
        customer = self.customers.column("id")
        sql = (
            f"SELECT {columns.sql} FROM {self.table} {joined} "
            f"WHERE {customer} IN ({ids_sql}) ORDER BY {order}"
        )
        return sql, (*columns.params, *ids_params)

    def _copy_select(self) -> tuple[_F, str, str]:
        """PostgreSQL: the statement's columns, a cell each (COPY quotes and joins them), what
        follows its FROM's customers table, and its order.

        Comptoir's layout: the addresses of the chunk's run of ids numbered in the file's
        order (default billing first, then by id) in one indexed pass, so that a line knows
        whether it is its customer's first by a comparison, rather than by the subqueries of
        ``_first`` for each of its cells."""
        customer = self.customers.column("id")
        columns = []
        for cell in self.cells:
            text = self._cell_text(cell, quoted=False)
            if (
                self.address_rows
                and cell.level == CUSTOMER
                and cell.key not in comptoir.CONTINUATION_KEYS
            ):
                text = _f('CASE WHEN a."line" > 1 THEN NULL ELSE {} END', text)
            if self.width == 1:
                # csv.writer writes a row of one empty cell as "" (an empty line would be no
                # row at all), as COPY writes an empty string.
                text = _f("COALESCE({}, '')", text)
            columns.append(text)
        if self.address_rows:
            joined = _F(
                f'LEFT JOIN (SELECT b.*, row_number() OVER (PARTITION BY b."customer_id" '
                f'ORDER BY b."is_default_billing" DESC, b."id") AS "line" '
                f'FROM {self.address_table} b WHERE b."customer_id" > %s '
                'AND b."customer_id" <= %s) a '
                f'ON a."customer_id" = {customer}',
                (_AFTER, _UPTO),
            )
            order = f'{customer}, a."line"'
        else:
            tail, order = self._select_tail()
            joined = _F(tail)
        joins = _f(_slots(len(self.copy_joins) + 1).replace(",", ""), joined, *self.copy_joins)
        return _f(_slots(len(columns)), *columns), joins, order

    def copied(self, queryset, *, after_id: int, upto_id: int) -> Iterator[bytes]:
        """PostgreSQL: the lines of ``queryset``'s customers with an id after ``after_id`` up
        to ``upto_id`` (a chunk), written by ``COPY ... TO STDOUT`` in CSV, in pieces of
        about ``_PIECE`` bytes: what csv.writer writes, save COPY's line end ("\\n", here
        "\\r\\n") and, in a file of one column, its quoting of a line holding only ``\\.``
        (its end-of-data mark), put right here."""
        ids = queryset.filter(id__gt=after_id, id__lte=upto_id).order_by().values("id")
        ids_sql, ids_params = ids.query.sql_with_params()
        columns, joined, order = self.copy_select
        customer = self.customers.column("id")
        # The run of ids said of the customers table itself too: PostgreSQL then reads it
        # by one range of its primary key (merged with the scope's ids) rather than two
        # lookups a customer, which it would share among parallel workers.
        sql = (
            f"COPY (SELECT {columns.sql} FROM {self.table} {joined.sql} "
            f"WHERE {customer} > %s AND {customer} <= %s AND {customer} IN ({ids_sql}) "
            f"ORDER BY {order}) TO STDOUT WITH (FORMAT csv, DELIMITER %s)"
        )
        bound = (*columns.params, *joined.params, _AFTER, _UPTO, *ids_params, self.delimiter)
        params = [
            after_id if value is _AFTER else upto_id if value is _UPTO else value for value in bound
        ]
        alone = b'"\\."\n' if self.width == 1 else None
        piece, ends = bytearray(), []
        with connection.cursor() as cursor, cursor.cursor.copy(sql, params) as copy:
            for line in copy:  # a line a message: PostgreSQL sends each row in one
                piece += b"\\.\n" if line == alone else line
                ends.append(len(piece))
                if len(piece) >= _PIECE:
                    yield _crlf(piece, ends)
                    piece, ends = bytearray(), []
        if piece:
            yield _crlf(piece, ends)

    # Python's part

    def chunk(self, rows: list[tuple], queryset) -> tuple[bytes, int]:
        """A chunk's bytes and how many customers they are; the customers whose cells need
        more quoting than the statement gave are read again, quoted."""
        lines, counts, customers = self._assemble(rows)
        data = self._joined(lines)
        # Counted in the UTF-8 bytes, where these ASCII characters are single bytes: the
        # length they take away (one pass, rather than a count for each).
        width, count = self.width, len(lines)
        found = len(data) - len(data.translate(None, self.specials))
        expected = 2 * count + count * (width - 1) + (sum(counts) if counts else 0)
        if found != expected or width == 1:
            if found != expected:
                lines = self._requoted(rows, lines, counts, queryset)
            if width == 1:
                # csv.writer writes a row of one empty cell as "" (an empty line: no row).
                empty, quoted = (b"", b'""') if isinstance(lines[0], bytes) else ("", '""')
                lines = [quoted if line == empty else line for line in lines]
            data = self._joined(lines)
        return data, customers

    @staticmethod
    def _joined(lines: list) -> bytes:
        """The lines (bytes from SQLite, str from PostgreSQL), each ended by "\\r\\n", in
        UTF-8."""
        if lines and isinstance(lines[0], bytes):
            return b"\r\n".join([*lines, b""])
        return "\r\n".join([*lines, ""]).encode("utf-8", errors="replace")

    def _specials_in(self, line) -> int:
        """How many quotes, delimiters and line breaks a line holds."""
        if isinstance(line, str):
            line = line.encode("utf-8", errors="replace")
        return len(line) - len(line.translate(None, self.specials))

    def _assemble(self, rows: list[tuple]) -> tuple[list, list[int] | None, int]:
        """The rows' lines, what the quoted cells of each hold (None: no such cells), and how
        many customers they are."""
        lines = [row[0] for row in rows]
        counts = [row[1] for row in rows] if self.counted else None
        if not self.address_rows:
            return lines, counts, len(rows)
        ids = [row[-1] for row in rows]
        return lines, counts, 1 + sum(map(int.__ne__, ids[1:], ids))

    def _requoted(self, rows, lines, counts, queryset) -> list:
        """The lines again, those of the customers with a cell needing quoting read quoted."""
        base = self.width - 1
        again = set()
        for index, line in enumerate(lines):
            if self._specials_in(line) != base + (counts[index] if counts else 0):
                again.add(rows[index][-1])
        if not again:
            return lines
        sql, params = self.statement(queryset.filter(id__in=sorted(again)), quoted=True)
        quoted_rows = _fetch(sql, params)
        quoted_lines = self._assemble(quoted_rows)[0]
        by_customer: dict[int, list] = {}
        for line, row in zip(quoted_lines, quoted_rows, strict=True):
            by_customer.setdefault(row[-1], []).append(line)
        kept: list = []
        for line, row in zip(lines, rows, strict=True):
            customer_id = row[-1]
            if customer_id not in again:
                kept.append(line)
            elif customer_id in by_customer:
                kept.extend(by_customer.pop(customer_id))
        return kept
