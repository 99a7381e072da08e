"""A large import into an (almost) empty table drops the customers' sort and search indexes and
the events' indexes for the run and builds them once at the end, whatever happens meanwhile:
a killed worker leaves them to whoever resumes the job, a failed run builds them at once.
On both databases (``deferrable`` makes sure of it for the tests of the mechanism)."""

from __future__ import annotations

import pytest
from django.db import connection

from comptoir.core.models import Event
from comptoir.core.search import FTS_TABLE
from comptoir.customers.filters import CustomerFilterSet
from comptoir.customers.models import Customer
from comptoir.transfer.models import ImportJob, ImportState
from comptoir.transfer.services import import_plan, importing
from comptoir.transfer.services.import_undo import import_undo
from comptoir.transfer.services.importing import import_dry_run, import_job_watch, import_run
from tests.transfer.importing_helpers import csv_bytes, dry_then_run, upload

pytestmark = pytest.mark.django_db
HEADER = ["Email", "First name", "Last name", "External id", "City", "Street", "Country"]
MAPPING = ["email", "first_name", "last_name", "external_id", "address.city",
           "address.address1", "address.country"]  # fmt: skip


@pytest.fixture(autouse=True)
def _small_is_large(settings, tmp_path, monkeypatch):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"
    settings.COMPTOIR_IMPORT_DEFER_INDEXES_ROWS = 6
    monkeypatch.setattr(importing, "BATCH_SIZE", 3)


@pytest.fixture
def deferrable(monkeypatch):
    """The indexes are put off on this database."""
    monkeypatch.setattr(importing, "_indexes_deferrable", lambda: True)


def _rows(count: int) -> list[list[str]]:
    return [
        [f"p{n}@example.com", "Léa", f"Nom{n}", f"x-{n}", "Lyon", f"{n} rue Neuve", "FR"]
        for n in range(1, count + 1)
    ]


def _job(count: int, *, actor):
    from comptoir.transfer.services.importing import import_job_configure

    job = upload(csv_bytes(HEADER, _rows(count)), actor=actor)
    return import_job_configure(job=job, actor=actor, mapping=MAPPING)


def _indexes(model) -> dict[str, tuple]:
    """Name -> (columns, unique) of the table's indexes, primary key left out."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {
        name: (tuple(info["columns"]), bool(info["unique"]))
        for name, info in found.items()
        if info["index"] and not info["primary_key"]
    }


def _foreign_keys() -> dict[tuple[str, str], tuple]:
    """(table, column) -> (referenced table, column) of the imported tables' foreign keys."""
    found = {}
    with connection.cursor() as cursor:
        for model in importing.IMPORTED_MODELS:
            table = model._meta.db_table
            for info in connection.introspection.get_constraints(cursor, table).values():
                if info["foreign_key"]:
                    found[(table, info["columns"][0])] = info["foreign_key"]
    return found


def _watch_batches(monkeypatch, keys: list | None = None):
    """What the customer indexes (and, into ``keys``, the foreign keys) are while each batch
    is written."""
    seen: list[dict[str, tuple]] = []
    real = importing.batch_write

    def watching(**kwargs):
        seen.append(_indexes(Customer))
        if keys is not None:
            keys.append(_foreign_keys())
        return real(**kwargs)

    monkeypatch.setattr(importing, "batch_write", watching)
    return seen


def test_a_large_import_into_an_empty_table_builds_the_indexes_at_the_end(
    deferrable, actor, monkeypatch
):
    customers, events = _indexes(Customer), _indexes(Event)
    seen = _watch_batches(monkeypatch)
    automerge_seen, cache_seen, watching = [], [], importing.batch_write

    def watch_search_index(**kwargs):
        if connection.vendor == "sqlite":
            automerge_seen.append(_fts_automerge())
            cache_seen.append(_cache_mb())
        return watching(**kwargs)

    monkeypatch.setattr(importing, "batch_write", watch_search_index)
    job = dry_then_run(_job(9, actor=actor), actor=actor)
    assert (job.state, job.created) == (ImportState.DONE, 9)
    assert job.deferred_indexes == []
    assert _indexes(Customer) == customers and _indexes(Event) == events
    # While it ran: what matching reads and what enforces a rule stayed; the sorts were gone.
    during = set(seen[0].values())
    assert (("external_id",), False) in during
    # The e-mail's unique index (registered customers) stayed; its plain one (guests) did not.
    assert (("email_key",), True) in during and (("email_key",), False) not in during
    assert all(info in during for info in customers.values() if info[1])
    assert (("last_name", "id"), False) not in during
    assert len(seen) == 3 and all(batch == seen[0] for batch in seen)
    # The search finds the imported customers (SQLite's index is fed by its own step).
    assert Customer.objects.filter(search_text__contains="nom7").count() == 1
    assert list(CustomerFilterSet({"q": "Nom7"}).qs.values_list("last_name", flat=True)) == ["Nom7"]
    if connection.vendor == "sqlite":
        # Its segments were merged less often during the run, all at once at its end.
        assert automerge_seen == [16, 16, 16] and _fts_automerge() == 4
        # A smaller page cache: no index with random keys to keep up to date.
        assert cache_seen == [importing.LOAD_CACHE_MB_INDEXES_PUT_OFF] * 3
        assert _fts_segments() == 1


def test_the_e_mail_lookup_goes_through_the_unique_index_while_the_plain_one_is_put_off(
    deferrable, actor, monkeypatch
):
    """Each batch looks its e-mails up in the words of the unique index's condition, so the
    database reads that index rather than the whole table."""
    plans: list[str] = []
    real = import_plan._customer_rows

    def explained(where, params):
        if (("email_key",), False) not in _indexes(Customer).values():
            plans.append(_plan(f'SELECT "id" FROM "customers_customer" WHERE {where}', params))
        return real(where, params)

    monkeypatch.setattr(import_plan, "_customer_rows", explained)
    job = dry_then_run(_job(9, actor=actor), actor=actor)
    assert (job.state, job.created) == (ImportState.DONE, 9)
    assert len(plans) == 3, plans
    assert all("customer_email_unique_registered" in plan for plan in plans), plans


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return " ".join(str(row[-1]) for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table of a few rows: the index anyway
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
        return plan


def _fts_automerge() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT v FROM {FTS_TABLE}_config WHERE k = 'automerge'")
        found = cursor.fetchone()
    return found[0] if found else 4


def _cache_mb() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return -cursor.fetchone()[0] // 1024


def _fts_segments() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(DISTINCT segid) FROM {FTS_TABLE}_idx")
        return cursor.fetchone()[0]


def test_no_indexes_are_dropped_for_a_table_already_half_as_large_as_the_file(
    deferrable, actor, monkeypatch
):
    dry_then_run(_job(9, actor=actor), actor=actor)
    customers = _indexes(Customer)
    seen = _watch_batches(monkeypatch)
    again = dry_then_run(_job(9, actor=actor), actor=actor)
    assert (again.created, again.unchanged) == (0, 9)
    assert seen == [] or all(batch == customers for batch in seen)


def test_a_small_import_keeps_its_indexes(deferrable, actor, monkeypatch, settings):
    settings.COMPTOIR_IMPORT_DEFER_INDEXES_ROWS = 100
    customers = _indexes(Customer)
    seen, caches, watching = _watch_batches(monkeypatch), [], importing.batch_write

    def watch_cache(**kwargs):
        caches.append(_cache_mb() if connection.vendor == "sqlite" else None)
        return watching(**kwargs)

    monkeypatch.setattr(importing, "batch_write", watch_cache)
    dry_then_run(_job(9, actor=actor), actor=actor)
    assert seen and all(batch == customers for batch in seen)
    if connection.vendor == "sqlite":
        assert caches == [importing.LOAD_CACHE_MB] * 3


def test_a_killed_worker_leaves_the_indexes_to_whoever_resumes_the_job(
    deferrable, actor, monkeypatch
):
    customers = _indexes(Customer)
    job = import_dry_run(job=_job(9, actor=actor), actor=actor)
    real = importing.batch_write

    class Killed(BaseException):
        pass

    def dying(**kwargs):
        real(**kwargs)
        raise Killed

    monkeypatch.setattr(importing, "batch_write", dying)
    with pytest.raises(Killed):
        import_run(job=job, actor=actor)
    job.refresh_from_db()
    assert job.state == ImportState.RUNNING and job.deferred_indexes
    assert _indexes(Customer) != customers

    monkeypatch.setattr(importing, "batch_write", real)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=None)
    job.refresh_from_db()
    assert import_job_watch(job=job) == "resumed"
    job.refresh_from_db()
    assert (job.state, job.created, job.deferred_indexes) == (ImportState.DONE, 9, [])
    assert _indexes(Customer) == customers


def test_a_failed_run_builds_the_indexes_again_at_once(deferrable, actor, monkeypatch):
    customers, events = _indexes(Customer), _indexes(Event)
    job = import_dry_run(job=_job(9, actor=actor), actor=actor)
    real = importing.batch_write
    calls = {"n": 0}

    def failing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(importing, "batch_write", failing)
    with pytest.raises(RuntimeError):
        import_run(job=job, actor=actor)
    job.refresh_from_db()
    assert (job.state, job.created, job.deferred_indexes) == (ImportState.FAILED, 3, [])
    assert _indexes(Customer) == customers and _indexes(Event) == events
    # And it can be undone as usual.
    import_undo(job=job, actor=actor)
    assert not Customer.objects.exists()


def test_a_worker_whose_job_was_taken_over_leaves_the_indexes_to_the_new_holder(
    deferrable, actor, monkeypatch
):
    job = import_dry_run(job=_job(9, actor=actor), actor=actor)
    real = importing.batch_write

    def taken_over_meanwhile(**kwargs):
        ImportJob.objects.filter(pk=job.pk).update(run_token="someone-else")
        return real(**kwargs)

    monkeypatch.setattr(importing, "batch_write", taken_over_meanwhile)
    import_run(job=job, actor=actor)
    job.refresh_from_db()
    assert job.deferred_indexes  # the worker that holds the job now builds them when it ends


def test_both_databases_put_the_indexes_off_by_default(actor, monkeypatch):
    customers, keys, keys_seen = _indexes(Customer), _foreign_keys(), []
    seen = _watch_batches(monkeypatch, keys_seen)
    job = dry_then_run(_job(9, actor=actor), actor=actor)
    assert job.created == 9 and _indexes(Customer) == customers
    assert _foreign_keys() == keys
    if connection.vendor == "postgresql":
        # The trigram index of the search, among others, was built once at the end; the
        # foreign keys were dropped and are back, checked.
        assert (("search_text",), False) in customers.values()
        assert (("search_text",), False) not in seen[0].values()
        assert ("customers_address", "customer_id") in keys
        assert keys_seen == [{}, {}, {}]
        with connection.cursor() as cursor:
            cursor.execute("SELECT bool_and(convalidated) FROM pg_constraint WHERE contype = 'f'")
            assert cursor.fetchone()[0] is True
    else:
        # The list's sort indexes were built once at the end (its queries that name them run
        # without the hints meanwhile); SQLite cannot drop a foreign key, nor needs to.
        assert (("last_name", "id"), False) in customers.values()
        assert (("last_name", "id"), False) not in seen[0].values()
        assert keys_seen == [keys, keys, keys]


def test_a_run_refreshes_the_planner_statistics_as_the_tables_grow(actor, monkeypatch):
    """Each time the customers doubled (here from 3 on) and at the end when the run added a
    tenth: what the batches' lookups are planned with (``tables_analyze``, PostgreSQL)."""
    monkeypatch.setattr(importing._Statistics, "FIRST", 3)
    refreshed: list[int] = []

    def analyze(*models):
        assert models == importing.IMPORTED_MODELS
        refreshed.append(Customer.objects.count())

    monkeypatch.setattr(importing, "tables_analyze", analyze)
    dry_then_run(_job(9, actor=actor), actor=actor)
    # 3 (the first 3), 6 (3 more: as many as at the last refresh), then 9 at the end only.
    assert refreshed == [3, 6, 9]

    refreshed.clear()
    again = dry_then_run(_job(9, actor=actor), actor=actor)
    assert again.unchanged == 9 and refreshed == []  # nothing added
