"""Substring search over the stored, accent-folded ``search_text`` column.

SQLite: an FTS5 table with the trigram tokenizer over ``customers_customer.search_text`` (external
content, kept in step by triggers). PostgreSQL: a pg_trgm GIN index on the same column. Terms of
fewer than three characters cannot use a trigram index and fall back to a plain LIKE.

``Fold`` is the database twin of ``core.text.fold`` for per-column filters: it is only ever applied
to rows the index has already narrowed down.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db import connection, connections
from django.db.models import Func, QuerySet, TextField
from django.db.models.expressions import RawSQL

from comptoir.core.text import fold

FTS_TABLE = "customer_search_fts"
MIN_TRIGRAM = 3


class Fold(Func):
    """Case- and accent-folded text: ``comptoir_fold(x)`` on SQLite (a Python function registered
    on each connection), ``lower(unaccent(x))`` on PostgreSQL."""

    function = "comptoir_fold"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            function="lower",
            template="%(function)s(unaccent(%(expressions)s))",
            **extra_context,
        )


def like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts_phrase(term: str) -> str:
    # A quoted FTS5 string matches the term as a substring with the trigram tokenizer.
    return '"' + term.replace('"', '""') + '"'


def search_ids_sql(words: list[str], *, table: str) -> tuple[str, list[str]]:
    """SQL selecting the ids whose search text contains every one of ``words`` (already folded).

    One subquery for all the words: SQLite's FTS5 intersects them in one MATCH, PostgreSQL's
    bitmap scans AND their trigram lookups; a word too short for a trigram is checked on the
    rows the others leave (or on every row, if all are short)."""
    long_words = [word for word in words if len(word) >= MIN_TRIGRAM]
    patterns = [f"%{like_escape(word)}%" for word in words]
    if connection.vendor == "postgresql":
        likes = " AND ".join("search_text LIKE %s" for _ in patterns)
        # MATERIALIZED forces the bitmap scan on the trigram index; left to itself the planner
        # sometimes walks the sort index and filters row by row (seconds instead of milliseconds).
        return (
            f"WITH m AS MATERIALIZED (SELECT id FROM {table} WHERE {likes}) SELECT id FROM m",
            patterns,
        )
    if not long_words:
        likes = " AND ".join("search_text LIKE %s ESCAPE '\\'" for _ in patterns)
        return f"SELECT id FROM {table} WHERE {likes}", patterns
    match = " AND ".join(_fts_phrase(word) for word in long_words)
    fts = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"
    short = [f"%{like_escape(word)}%" for word in words if len(word) < MIN_TRIGRAM]
    if not short:
        return fts, [match]
    likes = " AND ".join("search_text LIKE %s ESCAPE '\\'" for _ in short)
    return f"SELECT id FROM {table} WHERE id IN ({fts}) AND {likes}", [match, *short]


# search_ids_sql's PostgreSQL form inside search_filter's condition (the exact id optional).
_PG_SUBQUERY = re.compile(
    r'"(?P<table>\w+)"\."id" IN \(WITH m AS MATERIALIZED \(SELECT id FROM (?P=table) WHERE '
    r"(?P<likes>search_text LIKE %s(?: AND search_text LIKE %s)*)\) SELECT id FROM m"
    r"(?P<exact> UNION ALL SELECT %s)?\)"
)


def search_tested_on_rows(sql: str) -> str:
    """``sql`` with each PostgreSQL search subquery of ``search_filter`` turned into the same
    test on the rows themselves, its placeholders in the same order.

    For a query that reads every match anyway (the summary's aggregate): one bitmap scan that
    tests and aggregates each match, where the subquery reads each match's row to find its id,
    then again for the aggregate (29,000 matches: 164 -> 79 ms at 1M). Not for a sorted page:
    there the planner may walk the sort's index and test row by row (see search_ids_sql)."""

    def tested(match: re.Match) -> str:
        table = match["table"]
        likes = match["likes"].replace("search_text", f'"{table}".search_text')
        if match["exact"]:
            return f'(({likes}) OR "{table}"."id" = %s)'
        return f"({likes})"

    return _PG_SUBQUERY.sub(tested, sql)


def _exact_id(text: str) -> int | None:
    """The id a search asks for as well ("1234" or "#1234"), if it is one."""
    stripped = text.strip().lstrip("#")
    return int(stripped) if stripped.isdigit() and len(stripped) <= 18 else None


def search_filter(queryset: QuerySet, text: str) -> QuerySet:
    """Rows whose search text contains every word of ``text`` (or whose id is ``text``).

    The exact id joins the matches inside the one id subquery: as ``OR id = n`` beside it,
    PostgreSQL could not use the subquery as a join and read the whole table (400 ms at 1M)."""
    words = fold(text).split()
    if not words:
        return queryset
    sql, params = search_ids_sql(words, table=queryset.model._meta.db_table)
    exact_id = _exact_id(text)
    if exact_id is not None:
        sql, params = f"{sql} UNION ALL SELECT %s", [*params, exact_id]
    return queryset.filter(id__in=RawSQL(sql, params))


def search_prefix_ids(
    query: QuerySet,
    text: str,
    *,
    wanted: int,
    rewrite: Callable[[str], str] | None = None,
    partial: bool = False,
) -> list[int] | None:
    """The first ``wanted`` ids, in ``query``'s order, of the rows of ``query`` that
    ``search_filter`` would keep for ``text``, looked for only among the rows ``query`` reads:
    None when fewer match there (the search's index must answer), or with ``partial`` those
    fewer.

    ``query``: ``values_list("id", "search_text")``, ordered, sliced to a bounded number of rows,
    without the search. A frequent term (a common name: thousands of matches) is found within a
    few thousand rows of the list's order, read in a few milliseconds along its index; through
    the trigram index, each of its matches is one more table row to check (hundreds of ms at 1M
    on PostgreSQL, where the rows are scattered over the table). ``rewrite`` may edit the
    compiled SQL of ``query`` (an index hint).

    The outer query keeps the inner one's order: both databases stream a subquery with a LIMIT
    row by row into the outer filter, so the outer LIMIT stops at the first matches."""
    words = fold(text).split()
    if not words:
        return [] if partial else None
    sql, params = query.query.sql_with_params()
    if rewrite is not None:
        sql = rewrite(sql)
    condition = " AND ".join("w.search_text LIKE %s ESCAPE '\\'" for _ in words)
    params = [*params, *(f"%{like_escape(word)}%" for word in words)]
    exact_id = _exact_id(text)
    if exact_id is not None:
        condition = f"({condition}) OR w.id = %s"
        params.append(exact_id)
    outer = f"SELECT w.id FROM ({sql}) w WHERE {condition} LIMIT {int(wanted)}"
    with connections[query.db].cursor() as cursor:
        cursor.execute(outer, params)
        ids = [row[0] for row in cursor.fetchall()]
    return ids if partial or len(ids) == wanted else None


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """Give each SQLite connection the ``comptoir_fold`` function used by ``Fold``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("comptoir_fold", 1, fold, deterministic=True)
