"""A large CSV export written by several workers at once.

Above ``COMPTOIR_EXPORT_PARALLEL_MIN`` customers, the export is cut into runs of consecutive ids
of about the same size, one per worker (``COMPTOIR_EXPORT_WORKERS``, the machine's cores by
default); each worker writes its run's lines to a part file with the same code as a
single-process export, and the parts are appended to the file in id order. The file is byte for
byte what one process would have written.

On SQLite the lines are computed inside the process that reads them (SQLite runs in it), so the
workers are processes, forked: they start at once with everything already imported, the
caller's language active. Each opens its own database connection (the caller's are closed
before the fork, so no connection is shared across processes). Not when the database is SQLite
in memory (the tests'), which another process cannot open.

On PostgreSQL the server computes the lines and the client only waits and joins them, so the
workers are threads, each with its own connection (Django's are per thread) and the caller's
language: no fork, so no connection or socket can be shared.

Never when the caller is inside a transaction: the workers would not see its writes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import connection, connections
from django.utils import translation

from comptoir.transfer.selectors.exporting import (
    ExportSpec,
    export_chunks,
    export_count,
    export_id_runs,
)

Run = tuple[int, int | None]

# In a worker: the customers written so far by every worker, for the caller's progress bar.
_written = None


def export_workers() -> int:
    return max(1, int(getattr(settings, "COMPTOIR_EXPORT_WORKERS", 0) or os.cpu_count() or 1))


def _parallel_possible() -> bool:
    """Whether workers can read what the caller sees (see the module's docstring)."""
    if export_workers() < 2 or connection.in_atomic_block:
        return False
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and not connection.is_in_memory_db()


def export_runs_plan(*, spec: ExportSpec) -> list[Run] | None:
    """The runs of ids the workers take, or None when one process is the better choice (a
    small export, or workers that could not read the caller's data)."""
    if not _parallel_possible():
        return None
    total = export_count(spec=spec)
    if total < settings.COMPTOIR_EXPORT_PARALLEL_MIN:
        return None
    return export_id_runs(spec=spec, parts=export_workers(), total=total)


def _worker_start(written) -> None:
    global _written
    _written = written


@contextlib.contextmanager
def lean_reads():
    """An export reads each page once, in id order: SQLite's page cache and the file mapped
    into memory (64 MB and 1 GB allowed on the product's connections) would only hold pages
    it does not read again. A small cache and plain reads keep memory flat while it runs; the
    pages stay in the operating system's cache all the same. The connection's own settings
    come back afterwards."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA mmap_size")
        mmap_size = int((cursor.fetchone() or (0,))[0])
        cursor.execute("PRAGMA cache_size")
        cache_size = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA mmap_size=0")
        cursor.execute("PRAGMA cache_size=-4096")
    try:
        yield
    finally:
        if connection.connection is not None:  # not closed meanwhile (before the fork)
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA mmap_size={mmap_size}")
                cursor.execute(f"PRAGMA cache_size={cache_size}")


def _run_write(spec: ExportSpec, options, run: Run, path: str) -> int:
    """In a worker: write the CSV lines of one run of ids to ``path``; returns the customers."""
    from comptoir.transfer.services.exporting import csv_body

    after_id, upto_id = run
    customers = 0
    try:
        with lean_reads(), open(path, "wb") as part:
            chunks = export_chunks(spec=spec, after_id=after_id, upto_id=upto_id)
            for piece, count in csv_body(spec, options, chunks):
                part.write(piece)
                customers += count
                with _written.get_lock():
                    _written.value += count
    finally:
        connections.close_all()
    return customers


def export_runs_write(
    *,
    spec: ExportSpec,
    options,
    runs: list[Run],
    file: BinaryIO,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the lines of every run, in order, after what ``file`` already holds (the header).
    Returns the number of customers."""
    context = multiprocessing.get_context("fork")
    written = context.Value("q", 0)
    folder = Path(file.name).parent if isinstance(file.name, str) else None
    parts = [
        tempfile.mkstemp(dir=folder, prefix=".export-", suffix=f".{index}.part")
        for index, _run in enumerate(runs)
    ]
    for handle, _path in parts:
        os.close(handle)
    tasks = [(spec, options, run, path) for run, (_h, path) in zip(runs, parts, strict=True)]
    try:
        if connection.vendor == "postgresql":
            customers = _in_threads(tasks, written, progress)
        else:
            connections.close_all()  # each worker opens its own
            with context.Pool(len(runs), initializer=_worker_start, initargs=(written,)) as pool:
                result = pool.starmap_async(_run_write, tasks)
                while not result.ready():
                    result.wait(0.2)
                    if progress is not None:
                        progress(written.value)
                customers = sum(result.get())
        file.flush()
        for _handle, path in parts:
            with open(path, "rb") as part:
                shutil.copyfileobj(part, file, 1 << 20)
        if progress is not None:
            progress(customers)
        return customers
    finally:
        for _handle, path in parts:
            Path(path).unlink(missing_ok=True)


def _in_threads(tasks: list[tuple], written, progress: Callable[[int], None] | None) -> int:
    """PostgreSQL: each run written by a thread of this process, on its own connection, in
    the caller's language. Returns the customers written."""
    language = translation.get_language()
    _worker_start(written)

    def write(*task) -> int:
        with translation.override(language):
            return _run_write(*task)  # closes this thread's connection at the end

    with concurrent.futures.ThreadPoolExecutor(len(tasks)) as pool:
        futures = [pool.submit(write, *task) for task in tasks]
        while True:
            _done, pending = concurrent.futures.wait(futures, timeout=0.2)
            if progress is not None:
                progress(written.value)
            if not pending:
                break
        return sum(future.result() for future in futures)
