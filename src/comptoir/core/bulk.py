"""The fast write path for large loads: rows straight into a table through the connection.

Django's ``bulk_create`` builds model instances and, on SQLite, caps each INSERT at a few dozen
rows (~10k rows/s). This module writes plain tuples instead: ``executemany`` on SQLite (~100k+
rows/s) and ``COPY ... FROM STDIN`` on PostgreSQL, on Django's connection and inside its
transaction, so a bulk service still commits or rolls back as one unit.

Rows must already hold database values: ``str``, ``int``, ``float``, ``bool`` or ``None``.
Datetimes go in as text made by ``datetime_text`` or ``epoch_formatter`` (UTC, in the form
Django itself stores), decimals as text such as ``"12.50"``, JSON as its text.

Callers that insert explicit primary keys (so children can point at parents without reading
them back) take them from ``next_id`` and call ``sequence_reset`` afterwards.

For loads large next to the table, what the database maintains row by row can be put off and
done once at the end, inside the same transaction (a failure rolls everything back):
``indexes_deferred``, ``foreign_keys_deferred`` (PostgreSQL) and ``insert_triggers_deferred``
(SQLite triggers that copy new rows, such as the search index's). ``bulk_load_mode`` sets the
connection up for a load (cache, durability of intermediate commits).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connections, transaction
from django.db.models import Max, Model

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
logger = logging.getLogger(__name__)


def _batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def bulk_insert(
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    batch_size: int = 10_000,
    using: str = DEFAULT_DB_ALIAS,
) -> int:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table``; returns the count.

    Runs in a transaction (a savepoint when the caller already has one), so a bad row leaves
    nothing behind. ``rows`` may be a generator: it is consumed in batches of ``batch_size``.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    column_list = ", ".join(quote(column) for column in columns)
    written = 0
    # wrap_database_errors: the DB-API cursors below raise their driver's exceptions; callers
    # catch Django's (IntegrityError, ...) as with any other query.
    with transaction.atomic(using=using), connection.wrap_database_errors:
        connection.ensure_connection()
        if connection.vendor == "postgresql":
            sql = f"COPY {quote(table)} ({column_list}) FROM STDIN"
            # The DB-API cursor under Django's wrapper: COPY is psycopg's, not Django's.
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                write_row = copy.write_row
                for row in rows:
                    write_row(row)
                    written += 1
            return written
        if connection.vendor == "sqlite":
            # The raw sqlite3 cursor skips Django's per-query wrapper (and its "%s" rewriting).
            head = f"INSERT INTO {quote(table)} ({column_list}) VALUES "
            cursor = connection.connection.cursor()
            try:
                for batch in _batches(rows, batch_size):
                    values, batch = _sqlite_values(batch, len(columns))
                    cursor.executemany(head + values, batch)
                    written += len(batch)
            finally:
                cursor.close()
            return written
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {quote(table)} ({column_list}) VALUES ({placeholders})"
        with connection.cursor() as cursor:
            for batch in _batches(rows, batch_size):
                cursor.executemany(sql, batch)
                written += len(batch)
    return written


def _sqlite_values(batch: list[tuple], width: int) -> tuple[str, list[tuple]]:
    """The ``VALUES (...)`` of an SQLite insert of ``batch``, and the rows it then takes.

    The sqlite3 module binds a string or an integer directly, but a ``None`` or a ``bool``
    through its adaptation protocol: about 0.25 µs a value, a third of the cost of inserting a
    row of forty columns, most of them empty or false. So a column that holds the same
    ``None``, ``bool`` or integer in every row of the batch is written into the statement as a
    literal and left out of the rows, and a column of booleans goes in as the integers SQLite
    stores them as anyway. So is a column holding the same short text in every row (empty
    cells, a batch's timestamp, a choice's value): each bound text is copied, and a str
    subclass (a choices enum) goes through the adaptation protocol too. Rows of fifty columns
    like a customer's went in twice as fast into a bare table; an import's customers, with
    their indexes, a sixth faster.
    """
    if len(batch) < 2:
        return f"({', '.join('?' * width)})", batch
    literals: list[str] = []
    kept: list[tuple] = []
    size = len(batch)
    for column in zip(*batch, strict=True):
        first = column[0]
        if column.count(first) == size:  # every value equal to the first
            if first is None:
                literals.append("NULL")
                continue
            # One type only: 1, 1.0 and True are equal but not alike.
            if type(first) in (bool, int) and _alike(column) and _INT64[0] <= first <= _INT64[1]:
                literals.append(str(int(first)))
                continue
            if _literal_text(first):
                # (``replace`` gives a plain str of the value, an enum's too, never its name.)
                literals.append("'" + first.replace("'", "''") + "'")
                continue
        if type(first) is bool and _alike(column):
            column = tuple(map(int, column))
        literals.append("?")
        kept.append(column)
    return f"({', '.join(literals)})", list(zip(*kept, strict=True)) if kept else [()] * size


_INT64 = (-(2**63), 2**63 - 1)  # what SQLite keeps as an integer; a larger one is bound (refused)
_LITERAL_TEXT_MAX = 200


def _alike(column: tuple) -> bool:
    """Whether every value of ``column`` has the same type. (Asked only of a column whose
    first value calls for it: it costs a call a value, which most columns need not pay.)"""
    return len(set(map(type, column))) == 1


def _literal_text(value: Any) -> bool:
    """Whether ``value`` may go into an SQLite statement as a text literal: short, and free
    of the NUL character, which no statement may hold."""
    return isinstance(value, str) and len(value) <= _LITERAL_TEXT_MAX and "\x00" not in value


def datetime_text(value: datetime.datetime, *, using: str = DEFAULT_DB_ALIAS) -> str:
    """An aware datetime as ``bulk_insert`` expects it for a ``DateTimeField`` column."""
    utc = value.astimezone(datetime.UTC).replace(tzinfo=None)
    if connections[using].vendor == "sqlite":
        # What Django's SQLite backend stores: str() of the naive UTC datetime.
        return str(utc)
    return f"{utc.isoformat(' ')}+00:00"


def epoch_formatter(*, using: str = DEFAULT_DB_ALIAS) -> Callable[[int], str]:
    """A fast ``seconds since 1970 (UTC) -> DateTimeField text`` function for generated rows.

    Formatting a datetime costs about a microsecond; a bulk load formats millions, so the
    day part is cached and the time of day is looked up in a table of 86,400 strings.
    """
    suffix = "" if connections[using].vendor == "sqlite" else "+00:00"
    times = [
        f"{h:02d}:{m:02d}:{s:02d}{suffix}" for h in range(24) for m in range(60) for s in range(60)
    ]
    days: dict[int, str] = {}

    def text(seconds: int) -> str:
        day, second = divmod(seconds, 86_400)
        date = days.get(day)
        if date is None:
            date = days[day] = f"{(_EPOCH + datetime.timedelta(days=day)).date().isoformat()} "
        return date + times[second]

    return text


def _sequence_name(cursor, table: str, column: str) -> str | None:
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
    return cursor.fetchone()[0]


def next_id(model: type[Model], *, using: str = DEFAULT_DB_ALIAS) -> int:
    """The first primary key a bulk load may use for ``model``.

    Above the largest id in the table and above every id the database ever handed out (its
    sequence), so a new row never takes the id of a deleted one: events keep the id of the
    customer they were about, and must not come to point at someone else.
    """
    connection = connections[using]
    table, column = model._meta.db_table, model._meta.pk.column
    highest = model._default_manager.using(using).aggregate(top=Max("pk"))["top"] or 0
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # sqlite_sequence exists once any AUTOINCREMENT table has been written to.
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
            if cursor.fetchone():
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                found = cursor.fetchone()
                highest = max(highest, found[0] if found else 0)
        elif connection.vendor == "postgresql":
            sequence = _sequence_name(cursor, table, column)
            if sequence:
                cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
                last_value, is_called = cursor.fetchone()
                highest = max(highest, last_value if is_called else last_value - 1)
    return highest + 1


def sequence_reset(*models: type[Model], using: str = DEFAULT_DB_ALIAS) -> None:
    """After explicit ids were inserted, move each model's id sequence past them.

    PostgreSQL only: SQLite's AUTOINCREMENT counter follows explicit ids by itself. Unlike
    Django's ``sqlsequencereset`` this never moves a sequence backwards.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    for model in models:
        table, column = model._meta.db_table, model._meta.pk.column
        last_used = next_id(model, using=using) - 1
        if last_used < 1:
            continue
        with connection.cursor() as cursor:
            sequence = _sequence_name(cursor, table, column)
            if sequence:
                cursor.execute("SELECT setval(%s, %s, true)", [sequence, last_used])


def tables_lock(*models: type[Model], using: str = DEFAULT_DB_ALIAS) -> None:
    """Hold off other writers to these tables until the current transaction ends.

    A bulk load picks its ids before inserting; on PostgreSQL another writer could take one
    meanwhile. On SQLite the transaction already holds the database's write lock (Django opens
    it with BEGIN IMMEDIATE here), so there is nothing to do.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not models:
        return
    quote = connection.ops.quote_name
    tables = ", ".join(quote(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        # SHARE ROW EXCLUSIVE blocks writers (and itself) but not readers.
        cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")


def tables_analyze(*models: type[Model], using: str = DEFAULT_DB_ALIAS) -> None:
    """PostgreSQL: refresh the planner's statistics of tables a large load just filled, so the
    first queries after it are planned for a million rows, not for an empty table (autovacuum
    would get there, minutes later). SQLite: nothing; its plans here are made without
    statistics, and gathering some would change them under everyone's feet."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not models:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(quote(m._meta.db_table) for m in models)}")


def _secondary_indexes(connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes of ``table`` that nothing else depends on:
    not the primary key, not those behind a UNIQUE column or constraint."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Indexes SQLite makes for PRIMARY KEY/UNIQUE columns have no SQL of their own.
            cursor.execute(
                "SELECT name, sql FROM sqlite_master"
                " WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL ORDER BY name",
                [table],
            )
            return list(cursor.fetchall())
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid"
                " JOIN pg_class t ON t.oid = x.indrelid"
                " WHERE t.oid = to_regclass(%s) AND NOT x.indisprimary"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)"
                " ORDER BY i.relname",
                [connection.ops.quote_name(table)],
            )
            return list(cursor.fetchall())
    return []


def _pending_checks_run(connection) -> None:
    """PostgreSQL refuses to alter or index a table while deferred foreign-key checks are
    pending on it: run them now (they would run at commit anyway), then defer again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextlib.contextmanager
def indexes_deferred(*models: type[Model], using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Drop the secondary indexes of these models' tables and build them again at the end.

    For loads that add many rows with random keys (e-mails, names, dates): keeping such an
    index sorted row by row costs several times more than sorting once and building it.
    Everything happens in one transaction (a savepoint inside the caller's), so if the load or a
    rebuild fails (a duplicate under a unique index), the rollback brings the indexes back as
    they were. Other sessions wait on the tables meanwhile (the DROP locks them until commit).
    Primary keys and UNIQUE columns or constraints stay in place.
    """
    connection = connections[using]
    with transaction.atomic(using=using):
        dropped: list[str] = []
        if models:
            _pending_checks_run(connection)
        for model in models:
            for name, create in _secondary_indexes(connection, model._meta.db_table):
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                dropped.append(create)
        yield
        if dropped:
            _pending_checks_run(connection)
        with connection.cursor() as cursor:
            for create in dropped:
                cursor.execute(create)


# The first column of an index in its CREATE statement (SQLite's and pg_get_indexdef's shapes).
_FIRST_COLUMN = re.compile(
    r"\bON\s+\S+\s+(?:USING\s+\w+\s*)?\(\s*\"?(?P<column>\w+)", re.IGNORECASE
)
_CREATE_INDEX = re.compile(
    r"^\s*CREATE\s+(?P<unique>UNIQUE\s+)?INDEX\s+(?!IF\s+NOT\s+EXISTS)", re.I
)


def indexes_drop(
    model: type[Model], *, keep_columns: Sequence[str] = (), using: str = DEFAULT_DB_ALIAS
) -> list[str]:
    """Drop the secondary indexes of ``model``'s table, except those that enforce uniqueness
    and those whose first column is one of ``keep_columns`` (what the load itself looks rows
    up by); returns the statements that build them again, for ``indexes_create``.

    Unlike ``indexes_deferred`` this outlives the transaction: for a load made of many
    transactions (an import commits each batch). The caller keeps the statements somewhere
    durable, so that whoever finishes the load, even after a crash, builds them again.
    """
    connection = connections[using]
    _pending_checks_run(connection)
    statements = []
    for name, create in _secondary_indexes(connection, model._meta.db_table):
        shape, first = _CREATE_INDEX.match(create), _FIRST_COLUMN.search(create)
        if shape is None or shape["unique"]:
            continue  # a constraint (or a shape not understood): left alone
        if first and first["column"] in keep_columns and "_pattern_ops" not in create:
            continue  # (a pattern-ops index serves LIKE 'x%', not the load's lookups)
        # (An index over an expression, ``first`` None, is never a load's lookup: dropped.)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
        statements.append(create)
    return statements


_INDEX_HINT = re.compile(r'\s+INDEXED\s+BY\s+"?\w+"?', re.IGNORECASE)


def index_hints_removed(sql: str) -> str:
    """``sql`` without its SQLite ``INDEXED BY`` clauses."""
    return _INDEX_HINT.sub("", sql)


def execute_hinted(execute: Callable[[str], Any], sql: str) -> Any:
    """``execute(sql)`` for an SQLite query that names indexes (``INDEXED BY``), run without
    those hints when one of them is missing: a large import into an empty table builds them
    at its end (``indexes_drop``, decision 0016), and meanwhile a query naming one would fail.
    Slower then, not wrong."""
    try:
        return execute(sql)
    except OperationalError as error:
        if "no such index" not in str(error):
            raise
        return execute(index_hints_removed(sql))


def foreign_keys_drop(model: type[Model], *, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """PostgreSQL: drop the foreign keys of ``model``'s table; returns the statements that add
    them back, for ``indexes_create``. Like ``indexes_drop``, for a load made of many
    transactions: PostgreSQL checks each inserted row's key with a trigger queued until commit
    (a tenth of a second a batch of 2,000 customers with their children), where adding the
    constraint back checks every row with one join. Nothing on SQLite, which checks a key as
    the row goes in and cannot drop one."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    _pending_checks_run(connection)
    table = connection.ops.quote_name(model._meta.db_table)
    statements = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = to_regclass(%s) AND contype = 'f' ORDER BY conname",
            [table],
        )
        for name, definition in cursor.fetchall():
            name = connection.ops.quote_name(name)
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            statements.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    return statements


_ADD_CONSTRAINT = re.compile(
    r"^ALTER\s+TABLE\s+(?P<table>\S+)\s+ADD\s+CONSTRAINT\s+(?P<name>\S+)\s", re.IGNORECASE
)


def indexes_create(
    statements: Iterable[str], *, using: str = DEFAULT_DB_ALIAS, workers: int = 1
) -> None:
    """Build the indexes ``indexes_drop`` dropped and add back the foreign keys
    ``foreign_keys_drop`` dropped. What exists already is skipped, so a second attempt after a
    failure is harmless.

    A foreign key is added without checking the rows (``NOT VALID``: a moment), then checked
    (``VALIDATE``), which locks neither table against writes. Should rows written meanwhile by
    someone else point nowhere, that check fails: the key is left unvalidated (still enforced
    on every new row) and the failure logged, rather than failing the load at its very end.

    ``workers`` > 1 (PostgreSQL, outside a transaction only: each worker has its own
    connection, which must see the tables as they are; SQLite writes with one connection at a
    time): the builds and checks are shared among that many threads,
    one server process each; the largest first (a trigram index takes as long as the rest).
    """
    connection = connections[using]
    statements = list(statements)
    _pending_checks_run(connection)
    steps = [_if_not_exists(s) for s in statements if not _ADD_CONSTRAINT.match(s)]
    steps.sort(key=lambda step: " USING gin " not in step)  # stable: the given order otherwise
    for statement in statements:
        match = _ADD_CONSTRAINT.match(statement)
        if match and _foreign_key_add(connection, statement, match):
            steps.append(f"ALTER TABLE {match['table']} VALIDATE CONSTRAINT {match['name']}")
    shared = workers > 1 and connection.vendor == "postgresql" and len(steps) > 1
    if shared and not connection.in_atomic_block:
        _steps_shared(steps, using=using, workers=workers)
        return
    for step in steps:
        _step_run(connection, step)


def _if_not_exists(create: str) -> str:
    return _CREATE_INDEX.sub(
        lambda match: f"CREATE {match['unique'] or ''}INDEX IF NOT EXISTS ", create, count=1
    )


def _foreign_key_add(connection, statement: str, match: re.Match) -> bool:
    """Add the key unchecked unless it exists; whether it is there unvalidated now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT convalidated FROM pg_constraint WHERE conrelid = to_regclass(%s)"
            " AND conname = %s",
            [match["table"], match["name"].strip('"')],
        )
        row = cursor.fetchone()
        if row is None:
            cursor.execute(f"{statement} NOT VALID")
            return True
        return not row[0]


def _step_run(connection, step: str) -> None:
    if " VALIDATE CONSTRAINT " not in step:
        with connection.cursor() as cursor:
            cursor.execute(step)
        return
    try:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(step)
    except DatabaseError:
        logger.exception("Left unvalidated (rows point nowhere): %s", step)


def _steps_shared(steps: list[str], *, using: str, workers: int) -> None:
    """Run ``steps`` in ``workers`` threads, each taking the next step when done with one."""
    pending = iter(steps)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def work() -> None:
        connection = connections[using]  # this thread's own
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '256MB'")
            while not failures:
                with lock:
                    step = next(pending, None)
                if step is None:
                    return
                _step_run(connection, step)
        except BaseException as error:  # re-raised in the calling thread
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


@contextlib.contextmanager
def foreign_keys_deferred(*models: type[Model], using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """PostgreSQL: drop the foreign keys of these tables for the load, add them back at the end.

    PostgreSQL checks a foreign key with a trigger per inserted row, queued until commit;
    adding the constraint back checks every row with one join, many times faster. A row that
    points nowhere makes that fail with ``IntegrityError``, and the rollback of the savepoint
    puts the constraints back as they were. SQLite checks a foreign key with one index lookup
    as each row goes in and cannot drop one: nothing is done there.
    """
    connection = connections[using]
    if connection.vendor != "postgresql" or not models:
        yield
        return
    with transaction.atomic(using=using):
        # Added back as they were, checked at once: a row pointing nowhere fails the load.
        statements = [key for model in models for key in foreign_keys_drop(model, using=using)]
        yield
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


# An SQLite row trigger that only copies the new row elsewhere (such as the one keeping a
# full-text index in step): "... AFTER INSERT ON t [FOR EACH ROW] BEGIN INSERT INTO x(..)
# VALUES (new.a, ..); END". It can be replayed for many rows with one INSERT ... SELECT.
_COPYING_TRIGGER = re.compile(
    r"^CREATE\s+TRIGGER\s+.+?\s+AFTER\s+INSERT\s+ON\s+\S+\s+(?:FOR\s+EACH\s+ROW\s+)?"
    r"BEGIN\s+INSERT\s+INTO\s+(?P<target>[^;]+?)\s+VALUES\s*\((?P<values>[^;]*)\)\s*;\s*END$",
    re.IGNORECASE | re.DOTALL,
)


@contextlib.contextmanager
def insert_triggers_deferred(
    model: type[Model], *, first_pk: int, using: str = DEFAULT_DB_ALIAS
) -> Iterator[None]:
    """SQLite: run the table's copying AFTER INSERT triggers once for the whole load.

    A row trigger feeding an FTS5 index costs far more per row than the insert itself; the
    same copy done by one ``INSERT ... SELECT`` over the new rows (primary key ``first_pk`` and
    up, which the caller's transaction holds) takes a fraction of the time. Triggers of any
    other shape are left alone and fire row by row. Nothing to do on other databases.
    """
    connection = connections[using]
    if connection.vendor != "sqlite":
        yield
        return
    table = model._meta.db_table
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s"
                " ORDER BY name",
                [table],
            )
            copying = [
                (name, sql, match)
                for name, sql in cursor.fetchall()
                if (match := _COPYING_TRIGGER.match(sql.strip()))
            ]
            for name, _sql, _match in copying:
                cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
        yield
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for _name, sql, match in copying:
                # No query parameters: the trigger's own text may hold a literal "%".
                cursor.execute(
                    f"INSERT INTO {match['target']} SELECT {match['values']}"
                    f" FROM {quote(table)} AS new"
                    f" WHERE new.{quote(model._meta.pk.column)} >= {int(first_pk)}"
                )
                cursor.execute(sql)


LOAD_CHECKPOINT_PAGES = 16_384


@contextlib.contextmanager
def commits_unsynced(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """PostgreSQL: for the duration, a commit does not wait for its write-ahead log to reach
    the disk (``synchronous_commit=off``), restored afterwards. For a long series of small
    transactions whose loss in a crash only means doing them again, such as a dry run's
    progress and rejected rows: a crash may lose the last few, never consistency. (SQLite in
    WAL mode with ``synchronous=NORMAL``, our setting, already commits that way.)"""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        before = cursor.fetchone()[0]
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', %s, false)", [before])


@contextlib.contextmanager
def bulk_load_mode(*, cache_mb: int = 512, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Settings for the duration of a large load, restored afterwards.

    SQLite: a page cache of ``cache_mb``, because rows with random keys (e-mail, name, date)
    land all over their indexes, and once those outgrow the default cache every insert evicts
    and rewrites pages; and ``synchronous=OFF`` (no fsync per commit: WAL keeps the file
    consistent, a power cut may lose the last commits, which an incremental load makes again).
    SQLite refuses the latter inside a transaction, where it is then left as it is. Outside
    one, the write-ahead log is folded back into the database file at the end (it grows as
    large as the load), so the disk does not hold the data twice.
    PostgreSQL: ``synchronous_commit=off`` for this session, the same trade, and
    ``maintenance_work_mem`` of ``cache_mb`` for building indexes.
    """
    connection = connections[using]
    connection.ensure_connection()
    # (statement that reads the current value, statement that sets ours, restore with params)
    changes: list[tuple[str, str, str]] = []
    if connection.vendor == "sqlite":
        changes.append(
            ("PRAGMA cache_size", f"PRAGMA cache_size=-{cache_mb * 1024}", "PRAGMA cache_size=%s")
        )
        if not connection.in_atomic_block:
            changes.append(
                ("PRAGMA synchronous", "PRAGMA synchronous=OFF", "PRAGMA synchronous=%s")
            )
        # Fold the write-ahead log back into the database every 64 MB rather than every 4: the
        # index pages a load touches batch after batch are then copied once, not each time.
        changes.append(
            (
                "PRAGMA wal_autocheckpoint",
                f"PRAGMA wal_autocheckpoint={LOAD_CHECKPOINT_PAGES}",
                "PRAGMA wal_autocheckpoint=%s",
            )
        )
    elif connection.vendor == "postgresql":
        # (``synchronous_commit=off``: ``commits_unsynced`` below.)
        # Memory for building indexes (see indexes_deferred): sorts in memory, not on disk.
        changes.append(
            (
                "SHOW maintenance_work_mem",
                f"SET maintenance_work_mem = '{cache_mb}MB'",
                "SELECT set_config('maintenance_work_mem', %s, false)",
            )
        )
    restores: list[tuple[str, object]] = []
    try:
        with connection.cursor() as cursor:
            for read, write, restore in changes:
                cursor.execute(read)
                restores.append((restore, cursor.fetchone()[0]))
                cursor.execute(write)
        with commits_unsynced(using=using):
            yield
    finally:
        with connection.cursor() as cursor:
            for restore, before in reversed(restores):
                if connection.vendor == "sqlite":
                    # PRAGMA takes no parameters; the value read back is an integer.
                    cursor.execute(restore % int(before))
                else:
                    cursor.execute(restore, [before])
            if connection.vendor == "sqlite" and not connection.in_atomic_block:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
