"""A large export shared among worker processes (``transfer.services.export_parts``): the runs
of ids cover every customer once, and the file is byte for byte the single-process one."""

from __future__ import annotations

import pytest
from django.db import connection

from comptoir.customers.services import address_create
from comptoir.transfer.formats.profiles import PROFILES
from comptoir.transfer.selectors.exporting import (
    ExportScope,
    ExportSpec,
    Scope,
    export_chunks,
    export_id_runs,
)
from comptoir.transfer.services import export_parts
from comptoir.transfer.services.exporting import FileOptions, export_file_write


def spec_for(profile: str, scope: ExportScope | None = None) -> ExportSpec:
    columns = tuple(column.key for column in PROFILES[profile].columns)
    return ExportSpec(profile=profile, columns=columns, scope=scope or ExportScope())


@pytest.fixture
def eleven(make_customer, actor):
    customers = [make_customer(first_name=f"Zoé{n}", last_name="=1+1") for n in range(11)]
    for customer in customers[::3]:  # continuation rows in Comptoir's layout
        for city in ("Lyon", "Nantes"):
            address_create(
                customer=customer,
                actor=actor,
                alias=city,
                first_name="Zoé",
                last_name="Martin",
                address1="1 rue de la Paix",
                postcode="69001",
                city=city,
                country="FR",
            )
    return customers


@pytest.mark.django_db
@pytest.mark.parametrize("parts", [1, 2, 3, 11])
def test_the_runs_cover_every_customer_once_in_order(eleven, parts):
    spec = spec_for("comptoir")
    runs = export_id_runs(spec=spec, parts=parts, total=11)
    assert len(runs) == parts and runs[0][0] == 0 and runs[-1][1] is None
    seen = [
        row[0]
        for after_id, upto_id in runs
        for chunk in export_chunks(spec=spec, after_id=after_id, upto_id=upto_id, chunk_size=2)
        for row in chunk.rows
        if row[0] is not None
    ]
    ids = [customer.pk for customer in eleven]
    assert sorted(set(seen)) == ids and seen == sorted(seen)
    sizes = [
        sum(c.customers for c in export_chunks(spec=spec, after_id=a, upto_id=u)) for a, u in runs
    ]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.django_db
def test_a_filtered_scope_is_cut_among_its_own_customers(eleven):
    spec = spec_for("comptoir", ExportScope(kind=Scope.FILTER, query="q=Zoé1"))  # Zoé1, Zoé10
    runs = export_id_runs(spec=spec, parts=2, total=2)
    assert runs == [(0, eleven[1].pk), (eleven[1].pk, None)]


@pytest.mark.django_db
def test_one_process_inside_a_transaction_or_for_a_small_export(eleven, settings):
    settings.COMPTOIR_EXPORT_PARALLEL_MIN = 1
    settings.COMPTOIR_EXPORT_WORKERS = 2
    # Here the test's transaction is open: workers would not see its rows.
    assert connection.in_atomic_block
    assert export_parts.export_runs_plan(spec=spec_for("comptoir")) is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_many_processes_only_for_a_large_export(eleven, settings, monkeypatch):
    settings.COMPTOIR_EXPORT_WORKERS = 2
    settings.COMPTOIR_EXPORT_PARALLEL_MIN = 12
    assert export_parts.export_runs_plan(spec=spec_for("comptoir")) is None
    settings.COMPTOIR_EXPORT_PARALLEL_MIN = 11
    plan = export_parts.export_runs_plan(spec=spec_for("comptoir"))
    # The tests' SQLite database lives in this process's memory: no other process can open
    # it. PostgreSQL's threads can read it.
    assert (plan is not None) == (connection.vendor == "postgresql")
    monkeypatch.setattr(export_parts, "_parallel_possible", lambda: True)
    plan = export_parts.export_runs_plan(spec=spec_for("comptoir"))
    assert plan == [(0, eleven[4].pk), (eleven[4].pk, None)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("profile", ["comptoir", "shopify"])
def test_workers_write_the_same_file_as_one_process(
    eleven, actor, settings, tmp_path, monkeypatch, profile
):
    # SQLite: a forked worker gets a copy of the in-memory database, enough to check the
    # cutting and the joining of the parts here (the benchmark runs them on a SQLite file).
    # PostgreSQL: threads, each on its own connection to the test database.
    monkeypatch.setattr(export_parts, "_parallel_possible", lambda: True)
    spec, options = spec_for(profile), FileOptions()
    settings.COMPTOIR_EXPORT_WORKERS = 1
    single = tmp_path / "single.csv"
    assert export_file_write(spec=spec, options=options, actor=actor, path=single) == 11
    settings.COMPTOIR_EXPORT_WORKERS = 3
    settings.COMPTOIR_EXPORT_PARALLEL_MIN = 5
    assert export_parts.export_runs_plan(spec=spec) is not None
    progress = []
    shared = tmp_path / "shared.csv"
    written = export_file_write(
        spec=spec, options=options, actor=actor, path=shared, progress=progress.append
    )
    assert written == 11 and progress[-1] == 11
    assert shared.read_bytes() == single.read_bytes()
    assert "'=1+1" in shared.read_text(encoding="utf-8-sig")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["shared.csv", "single.csv"]


@pytest.mark.django_db
def test_an_export_reads_with_a_small_cache_then_gives_the_connection_its_own_back(
    monkeypatch,
):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's page cache and mapped file")
    # The tests' database is in memory, which the export leaves alone; a file's is the case.
    monkeypatch.setattr(connection, "is_in_memory_db", lambda: False)

    def cache_size() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            return cursor.fetchone()[0]

    before = cache_size()
    assert before != -4096
    with export_parts.lean_reads():
        assert cache_size() == -4096
    assert cache_size() == before
