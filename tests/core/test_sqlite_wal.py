"""WAL checkpoints from a thread of the server process rather than from committing requests."""

import os
import sqlite3
import threading
import time

import pytest
from django.db import connection

from comptoir.core import sqlite_wal

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's WAL only")


def _wal_database(path):
    database = sqlite3.connect(path, isolation_level=None)
    database.execute("PRAGMA journal_mode=WAL")
    database.execute("PRAGMA wal_autocheckpoint=0")
    database.execute("CREATE TABLE t (x TEXT)")
    return database


def test_a_checkpoint_copies_the_wal_into_the_database_file(tmp_path):
    path = tmp_path / "db.sqlite3"
    database = _wal_database(path)
    database.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,) for _ in range(500)])
    size_before = path.stat().st_size
    busy, in_wal, copied = sqlite_wal.checkpoint(sqlite3.connect(path))
    assert busy == 0 and in_wal > 100 and copied == in_wal
    assert path.stat().st_size > size_before + 400_000


def test_a_checkpoint_that_cannot_run_is_skipped_quietly(tmp_path):
    database = sqlite3.connect(tmp_path / "db.sqlite3")
    database.close()
    assert sqlite_wal.checkpoint(database) is None


def test_server_connections_leave_checkpoints_to_the_thread(
    tmp_path, monkeypatch, django_db_blocker
):
    from django.db.backends.sqlite3.base import DatabaseWrapper

    monkeypatch.setattr(sqlite_wal, "CHECKPOINT_SECONDS", 0.05)
    monkeypatch.setattr(sqlite_wal, "_running_in", None)
    path = tmp_path / "server.sqlite3"
    server = DatabaseWrapper({**connection.settings_dict, "NAME": str(path)}, alias="wal_test")
    with django_db_blocker.unblock():
        try:
            server.ensure_connection()
            sqlite_wal._on_connection(sender=None, connection=server)
            with server.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint")
                assert cursor.fetchone()[0] == 0
                cursor.execute("PRAGMA journal_mode")
                assert cursor.fetchone()[0] == "wal"
                cursor.execute("CREATE TABLE t (x TEXT)")
                rows = [("x" * 1000,) for _ in range(500)]
                cursor.executemany("INSERT INTO t VALUES (%s)", rows)
            server.commit()
            assert sqlite_wal._running_in == os.getpid()
            assert any(thread.name == "sqlite-checkpoint" for thread in threading.enumerate())
            # The thread, not this connection, copies the 500 rows into the database file.
            deadline = time.monotonic() + 10
            while path.stat().st_size < 400_000 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert path.stat().st_size > 400_000
        finally:
            server.close()


def test_nothing_to_do_on_an_in_memory_database(db):
    assert connection.is_in_memory_db()  # the tests' database
    assert sqlite_wal.checkpointer_start() is False
