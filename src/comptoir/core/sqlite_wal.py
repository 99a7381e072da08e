"""SQLite's WAL checkpoints, moved out of the requests that commit.

In WAL mode SQLite writes each commit to the ``-wal`` file; by default the commit that takes
that file past 1,000 pages (4 MB) then copies them into the database file itself, in the
request that happened to commit: a storefront order every fifty or so paid 10-20 ms for it (a
p95 of 15-25 ms where the others take 4). A server process instead turns that automatic
checkpoint off on its connections and has a thread of its own checkpoint every second
(``PASSIVE``: it copies what no reader still needs and never waits for a lock), outside any
request; the sqlite3 module lets go of the GIL while SQLite works, so it runs beside requests.

``checkpointer_start()`` is called by the WSGI and ASGI entry points; management commands, the
tests and the import (which checkpoints itself) keep SQLite's own checkpoints. A process forked
after the start (a server preloading the application) starts its own thread on its first
connection. Other databases: nothing to do.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

from django.db import connections
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

# Seconds between two checkpoints: the WAL then holds about a second of commits.
CHECKPOINT_SECONDS = 1.0

_lock = threading.Lock()
_running_in: int | None = None  # the process whose thread checkpoints


def checkpointer_start(alias: str = "default") -> bool:
    """Checkpoint ``alias``'s SQLite database from a thread of this process, and stop the
    connections of this process from checkpointing at commit. False on another database."""
    connection = connections[alias]
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return False
    connection_created.connect(_on_connection, dispatch_uid="comptoir_sqlite_wal")
    _thread_ensure(str(connection.settings_dict["NAME"]))
    if connection.connection is not None:  # already open (the start-up's own queries)
        _autocheckpoint_off(connection)
    return True


def _on_connection(sender, connection, **kwargs) -> None:
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return
    _thread_ensure(str(connection.settings_dict["NAME"]))
    _autocheckpoint_off(connection)


def _autocheckpoint_off(connection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=0")


def _thread_ensure(path: str) -> None:
    """The checkpointing thread of this process, started if it has none (a fork has none)."""
    global _running_in
    with _lock:
        if _running_in == os.getpid():
            return
        _running_in = os.getpid()
        thread = threading.Thread(
            target=_checkpoint_forever, args=(path,), name="sqlite-checkpoint", daemon=True
        )
        thread.start()


def _checkpoint_forever(path: str) -> None:
    # A connection of its own, outside Django's: it lives as long as the process.
    database = sqlite3.connect(path, timeout=0, check_same_thread=False)
    while True:
        time.sleep(CHECKPOINT_SECONDS)
        checkpoint(database)


def checkpoint(database: sqlite3.Connection) -> tuple[int, int, int] | None:
    """One passive checkpoint: (busy, pages in the WAL, pages copied); None if it could not
    run (it is tried again a second later; never raised)."""
    try:
        return tuple(database.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
    except sqlite3.Error:  # e.g. another process checkpointing at that moment
        logger.debug("SQLite WAL checkpoint skipped", exc_info=True)
        return None
