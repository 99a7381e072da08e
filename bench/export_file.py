"""The export at scale: the whole customer base in each profile, through the product's own paths
(the service writing a file, and the streamed download of the export screen), with rows per
second and the peak memory of the process doing it.

Each run happens in a child process of its own (forked), so the memory it reports is that
export's alone: the peak resident set (``VmHWM``), and the peak of its anonymous part
(``RssAnon``, sampled at every chunk: the heap, without the database file pages SQLite maps
into the process, which the kernel can drop at will). CPU seconds are given beside wall-clock
seconds, which a busy machine inflates. Usage: see bench/README.md; prints a Markdown table,
``--out`` appends it to a file.

    COMPTOIR_HOME=/tmp/comptoir-bench .venv/bin/python bench/export_file.py
    COMPTOIR_HOME=/tmp/comptoir-bench .venv/bin/python bench/export_file.py --only comptoir-csv
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass

from common import django_setup, machine

# Targets from the issue (1M customers, full profile, CSV).
TARGET_SECONDS = 8.0
TARGET_RSS_MB = 100


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    profile: str
    file_format: str = "csv"
    through_http: bool = False


CASES = (
    Case("comptoir-csv", "Comptoir full profile, CSV, service to file", "comptoir"),
    Case(
        "comptoir-http",
        "Comptoir full profile, CSV, streamed HTTP download",
        "comptoir",
        through_http=True,
    ),
    Case("prestashop-csv", "PrestaShop, CSV", "prestashop"),
    Case("shopify-csv", "Shopify, CSV", "shopify"),
    Case("brevo-csv", "Brevo (subscribers only), CSV", "brevo"),
    Case("prestashop-xlsx", "PrestaShop, XLSX (background path)", "prestashop", "xlsx"),
)


class _Memory:
    """The process's anonymous resident memory, sampled; its peak in MB."""

    def __init__(self):
        self.peak_kb = 0
        self.sample()

    def sample(self, *_args) -> None:
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("RssAnon:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                        return
        except OSError:  # not Linux: only the overall peak is reported
            return

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def _run(case: Case, queue) -> None:
    """One export in this (child) process; reports customers, seconds and memory."""
    from django.db import connections

    connections.close_all()  # the parent's connection is not shared across the fork
    from comptoir.core.actors import Actor
    from comptoir.transfer.formats.profiles import PROFILES
    from comptoir.transfer.selectors.exporting import ExportScope, ExportSpec, export_count
    from comptoir.transfer.services.exporting import FileOptions, export_file_write

    spec = ExportSpec(
        profile=case.profile,
        columns=tuple(PROFILES[case.profile].default_columns),
        headers="en",
        scope=ExportScope(),
    )
    memory = _Memory()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, cpu_started = time.perf_counter(), time.process_time()
    if case.through_http:
        customers, size = _download(case, memory)
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, f"export.{case.file_format}")
            customers = export_file_write(
                spec=spec,
                options=FileOptions(format=case.file_format),
                actor=Actor.system(),
                path=path,
                delivery="benchmark",
                progress=memory.sample,
            )
            size = os.path.getsize(path)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # A large CSV export is shared among worker processes (transfer.services.export_parts):
    # their CPU counts, and the largest one's peak memory is reported beside this process's.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu += (children.ru_utime - children_before.ru_utime) + (
        children.ru_stime - children_before.ru_stime
    )
    worker_kb = children.ru_maxrss
    memory.sample()
    if not customers and not case.through_http:
        customers = export_count(spec=spec)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((customers, seconds, cpu, peak_kb / 1024, memory.peak_mb, size, worker_kb / 1024))


def _download(case: Case, memory: _Memory) -> tuple[int, int]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from comptoir.transfer.formats.profiles import PROFILES

    staff, _created = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(staff)
    response = client.post(
        "/transfer/export/",
        {
            "scope": "all",
            "profile": case.profile,
            f"columns_{case.profile}": PROFILES[case.profile].default_columns,
            "file_format": case.file_format,
            "delimiter": "auto",
            "encoding": "auto",
            "headers": "en",
            "delivery": "download",
        },
    )
    if response.status_code != 200 or not response.streaming:
        raise SystemExit(f"the export screen answered {response.status_code}")
    size = 0
    for piece in response.streaming_content:  # read and dropped, as a browser saving it would
        size += len(piece)
        memory.sample()
    return -1, size


def measure(case: Case, repeat: int) -> dict:
    context = multiprocessing.get_context("fork")
    runs = []
    for _ in range(repeat):
        queue = context.Queue()
        child = context.Process(target=_run, args=(case, queue))
        child.start()
        result = queue.get()
        child.join()
        if child.exitcode:
            raise SystemExit(f"{case.key} failed (exit {child.exitcode})")
        runs.append(result)
    customers = max(run[0] for run in runs)
    seconds = [run[1] for run in runs]
    return {
        "case": case,
        "customers": customers,
        "median": statistics.median(seconds),
        "best": min(seconds),
        "cpu": statistics.median(run[2] for run in runs),
        "rss": max(run[3] for run in runs),
        "anon": max(run[4] for run in runs),
        "size": runs[0][5],
        "workers_rss": max(run[6] for run in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=[case.key for case in CASES])
    parser.add_argument("--out", help="append the table to this Markdown file")
    args = parser.parse_args()
    django_setup(server=False)

    from django.db import connections

    from comptoir.customers.models import Customer

    total = Customer.objects.count()
    where = machine()
    connections.close_all()
    results = []
    for case in CASES:
        if args.only and case.key not in args.only:
            continue
        result = measure(case, args.repeat)
        if result["customers"] < 0:  # the HTTP path does not count; the others did
            result["customers"] = next(
                (r["customers"] for r in results if r["case"].profile == case.profile), total
            )
        results.append(result)
        print(
            f"{case.key}: {result['median']:.1f} s ({result['cpu']:.1f} s CPU), "
            f"peak RSS {result['rss']:.0f} MB, heap {result['anon']:.0f} MB, "
            f"workers' peak RSS {result['workers_rss']:.0f} MB",
            flush=True,
        )

    lines = [
        f"### Export, {total:,} customers ({where})",
        "",
        "| export | customers | median s | best s | CPU s | customers/s (CPU) | peak RSS MB "
        "| peak anon RSS MB | worker peak RSS MB | file MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r["customers"] / r["cpu"] if r["cpu"] else 0
        lines.append(
            f"| {r['case'].label} | {r['customers']:,} | {r['median']:.1f} | {r['best']:.1f} | "
            f"{r['cpu']:.1f} | {rate:,.0f} | {r['rss']:.0f} | {r['anon']:.0f} | "
            f"{r['workers_rss'] or 0:.0f} | {r['size'] / 1e6:.0f} |"
        )
    lines += [
        "",
        f"Target at 1M, full profile CSV: <= {TARGET_SECONDS:g} s, peak RSS <= {TARGET_RSS_MB} MB.",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "a", encoding="utf-8") as file:
            file.write(table + "\n")


if __name__ == "__main__":
    main()
