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

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections
from django.db.models import Func, QuerySet, TextField
from django.db.models.expressions import RawSQL

from comptoir.core.bulk import execute_hinted
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


# pg_trgm keeps only letters and digits: any other character ends a word. An e-mail fragment
# such as "ain.l" then asks only for the trigrams of "ain" (and "l" at a word's start), which
# 6,145 customers of a million have for 876 matches, each read and re-checked (16-19 ms).
# A second GIN index (``customer_search_marks``, migration 0010, decision 0020) reads the
# search text with the punctuation of e-mails, phones and names turned into letters folded
# text hardly ever holds, so its trigrams keep "n.l": 933 candidates, 4 ms. A word without
# punctuation keeps the plain index, whose re-check is cheaper. ``PG_MARKED_SEARCH_TEXT`` is
# the index's expression, which a query must repeat exactly for PostgreSQL to use it.
MARKS = ".@-_+'"
MARK_LETTERS = "ǀǁǂǃʘɂ"
_MARKED = str.maketrans(MARKS, MARK_LETTERS)


def _pg_marked(column: str) -> str:
    # replace() is a memchr-like scan, one copy when the character is there: the index's
    # re-check costs about 1 µs a row, where translate() costs 4.
    expression = column
    for mark, letter in zip(MARKS, MARK_LETTERS, strict=True):
        literal = mark.replace("'", "''")
        expression = f"replace({expression}, '{literal}', '{letter}')"
    return expression


PG_MARKED_SEARCH_TEXT = _pg_marked("search_text")


def _pg_word_test(word: str) -> tuple[str, list[str]]:
    """The PostgreSQL test that ``search_text`` contains ``word`` (folded): through the plain
    trigram index, or, for a word holding punctuation, through the marked one. There ``strpos``
    keeps the test exact (a text holding one of the mark letters itself) and cannot use the
    plain index: with a LIKE, PostgreSQL would AND both indexes, the plain one reading the
    common trigrams this avoids."""
    if not any(mark in word for mark in MARKS):
        return "search_text LIKE %s", [f"%{like_escape(word)}%"]
    marked = f"%{like_escape(word.translate(_MARKED))}%"
    return f"{PG_MARKED_SEARCH_TEXT} LIKE %s AND strpos(search_text, %s) > 0", [marked, word]


def search_ids_sql(words: list[str], *, table: str) -> tuple[str, list[str]]:
    """SQL selecting the ids whose search text contains every one of ``words`` (already folded).

    One subquery for all the words: SQLite's FTS5 intersects them in one MATCH, PostgreSQL's
    bitmap scans AND their trigram lookups; a word too short for a trigram is checked on the
    rows the others leave (or on every row, if all are short)."""
    long_words = [word for word in words if len(word) >= MIN_TRIGRAM]
    patterns = [f"%{like_escape(word)}%" for word in words]
    if connection.vendor == "postgresql":
        tests = [_pg_word_test(word) for word in words]
        condition = " AND ".join(sql for sql, _params in tests)
        # MATERIALIZED forces the bitmap scan on the trigram index; left to itself the planner
        # sometimes walks the sort index and filters row by row (seconds instead of milliseconds).
        return (
            f"WITH m AS MATERIALIZED (SELECT id FROM {table} WHERE {condition}) SELECT id FROM m",
            [param for _sql, params in tests for param in params],
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


# search_ids_sql's PostgreSQL form inside search_filter's condition (the exact id optional);
# its tests are written by _pg_word_test, whose text never holds ") SELECT id FROM m".
_PG_SUBQUERY = re.compile(
    r'"(?P<table>\w+)"\."id" IN \(WITH m AS MATERIALIZED \(SELECT id FROM (?P=table) WHERE '
    r"(?P<likes>.+?)\) SELECT id FROM m"
    r"(?P<exact> UNION ALL SELECT %s)?\)"
)
_SEARCH_TEXT = re.compile(r"\bsearch_text\b")


def search_tested_on_rows(sql: str) -> str:
    """``sql`` with each PostgreSQL search subquery of ``search_filter`` turned into the same
    test on the rows themselves, its placeholders in the same order.

    For a query that reads every match anyway (the summary's aggregate): one bitmap scan that
    tests and aggregates each match, where the subquery reads each match's row to find its id,
    then again for the aggregate (29,000 matches: 164 -> 79 ms at 1M). Not for a sorted page:
    there the planner may walk the sort's index and test row by row (see search_ids_sql)."""

    def tested(match: re.Match) -> str:
        table = match["table"]
        likes = _SEARCH_TEXT.sub(f'"{table}".search_text', match["likes"])
        if match["exact"]:
            return f'(({likes}) OR "{table}"."id" = %s)'
        return f"({likes})"

    return _PG_SUBQUERY.sub(tested, sql)


def search_page_ids(query: QuerySet) -> list[int]:
    """The ids ``query`` reads (``values_list("id", flat=True)``, searched with
    ``search_filter``, ordered and sliced to one page), read on PostgreSQL through the trigram
    index alone: the search tested on the rows the index hands over, then those sorted.

    As ``search_filter`` writes it, PostgreSQL reads every match through the trigram index and
    then joins them back to the table along the sort's index, walking it from the start of the
    order to the page's last match: for a term that 425 customers of a million match, 107,000
    index entries (29 ms) after a 5 ms bitmap scan. Tested on the rows, left to itself, it walks
    the sort's index instead, testing each row (44 ms for the same term), as it estimates a
    search matches 1 % of the table. With plain index scans off for this one query, it can only
    read the trigram index's matches (a bitmap scan, which stays allowed) and sort them: 5.5 ms.
    For a rare term only: a frequent one is read along the list (``search_prefix_ids``).

    The setting, the read and the reset go in one message, one round trip where a transaction
    around ``SET LOCAL`` took four (BEGIN, SET, SELECT, ROLLBACK: 0.6 ms more). Django's
    psycopg cursors bind parameters on the client (its default), which allows several
    statements in one call; if the read fails, the failed (implicit or caller's) transaction
    undoes the setting with it."""
    database = connections[query.db]
    if database.vendor != "postgresql":
        return list(query)
    try:
        sql, params = query.query.sql_with_params()
    except EmptyResultSet:
        return []
    statements = f"SET enable_indexscan = off; {search_tested_on_rows(sql)}; RESET enable_indexscan"
    with database.cursor() as cursor:
        cursor.execute(statements, params)
        cursor.nextset()  # from the SET's result to the read's
        return [row[0] for row in cursor.fetchall()]


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
        execute_hinted(lambda sql: cursor.execute(sql, params), outer)
        ids = [row[0] for row in cursor.fetchall()]
    return ids if partial or len(ids) == wanted else None


# How many segments of a level SQLite's search index (FTS5) lets pile up before merging them:
# its default, and while a large load feeds it batch by batch (``search_index_load``).
FTS_AUTOMERGE = 4
FTS_AUTOMERGE_LOADING = 16


def search_index_load() -> list[str]:
    """SQLite: get the search index ready for a large load fed batch by batch, and return the
    statements that tidy it up once the load ends (nothing on PostgreSQL).

    Each batch's commit writes its terms to the index as a new segment, and FTS5 merges a
    level's segments as soon as there are ``automerge`` of them (4): a million customers fed
    in batches of 2,000 were merged over and over (7.9 s). Letting 16 pile up and merging
    them all once at the end (``optimize``) costs 5.2 + 1.4 s, and leaves the index in one
    segment, the quickest to search."""
    if connection.vendor != "sqlite":
        return []
    table = FTS_TABLE
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table}({table}, rank) VALUES ('automerge', {FTS_AUTOMERGE_LOADING})"
        )
    return [
        f"INSERT INTO {table}({table}) VALUES ('optimize')",
        f"INSERT INTO {table}({table}, rank) VALUES ('automerge', {FTS_AUTOMERGE})",
    ]


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    """Give each SQLite connection the ``comptoir_fold`` function used by ``Fold``."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("comptoir_fold", 1, fold, deterministic=True)
