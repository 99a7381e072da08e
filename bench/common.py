"""Shared benchmark machinery: Django set-up, timing, the result table."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")


def django_setup(*, server: bool = True) -> None:
    """Django set up as comptoir/wsgi.py sets it up in production (``server``), or as a
    management command has it (the dataset, the export: SQLite checkpoints at commit)."""
    import gc

    import django
    from django.urls import get_resolver

    django.setup()
    if server:
        from comptoir.core.sqlite_wal import checkpointer_start

        # SQLite's WAL checkpoints from a thread of the process, not from the committing request.
        checkpointer_start()
    # What start-up loaded is kept out of the garbage collector's full scans, which otherwise
    # pause a request every twenty or so.
    get_resolver().url_patterns  # noqa: B018
    gc.freeze()


@dataclass
class Result:
    name: str
    samples_ms: list[float] = field(default_factory=list)
    queries: int = 0

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(
    name: str,
    run: Callable[[int], object],
    *,
    repeat: int = 30,
    warmup: int = 3,
    count_queries: bool = True,
) -> Result:
    """Call ``run(i)`` ``warmup`` times, then ``repeat`` times timed; the query count of one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(warmup):
        run(i)
    result = Result(name)
    if count_queries:
        with CaptureQueriesContext(connection) as captured:
            run(0)
        result.queries = len(captured)
    for i in range(repeat):
        started = time.perf_counter()
        run(i)
        result.samples_ms.append((time.perf_counter() - started) * 1000)
    return result


def machine() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        version = connection.Database.sqlite_version
    else:
        version = str(connection.cursor().connection.info.server_version)
    return (
        f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"{connection.vendor} {version}"
    )


HEADER = (
    "| operation | median ms | p95 ms | queries | target p95 | peer median ms | peer p95 ms "
    "| peer p95 / ours |\n|---|---:|---:|---:|---:|---:|---:|---:|"
)


def table(rows: list[tuple[str, Result, Result | None, float | None]]) -> str:
    """A Markdown table: operation, ours (median/p95/queries), the peer's, the p95 ratio."""
    lines = [HEADER]
    for label, ours, peer, target in rows:
        if peer:
            peer_cells = f"{peer.median:.1f} | {peer.p95:.1f} | {peer.p95 / ours.p95:.1f}x"
        else:
            peer_cells = "n/a | n/a | n/a"
        target_cell = f"<= {target:g}" if target else "n/a"
        lines.append(
            f"| {label} | {ours.median:.1f} | {ours.p95:.1f} | {ours.queries} | "
            f"{target_cell} | {peer_cells} |"
        )
    return "\n".join(lines)
