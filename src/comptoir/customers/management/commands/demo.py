"""``comptoir demo [--customers N]``: the demo basics, and optionally N generated customers.

Parses the options, calls the two services in ``customers.demo`` and reports; the progress bar
goes to stderr so stdout stays a plain summary.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from comptoir.customers.demo import (
    DEMO_EMAIL,
    DemoLoadError,
    demo_basics_install,
    demo_customers_generate,
    demo_customers_last_k,
)


class Command(BaseCommand):
    help = (
        "Create the demo data: the default group, two groups with discounts and the demo "
        "customer John Doe; with --customers N, also N generated customers with their orders. "
        "Safe to run again: what exists is kept, only what is missing is added."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers",
            type=int,
            default=0,
            metavar="N",
            help="Make sure generated customers 1..N exist (adds only the missing ones).",
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=50_000,
            metavar="N",
            help="Customers generated and written at a time; bounds memory (default 50000).",
        )
        parser.add_argument(
            "--serial",
            action="store_true",
            help="Generate rows in this process instead of a parallel child process.",
        )

    def handle(self, *args, customers: int, chunk_size: int, serial: bool, **options) -> None:
        if customers < 0:
            raise CommandError("--customers must be 0 or more.")
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        verbosity = options["verbosity"]

        basics = demo_basics_install()
        if basics.created:
            for what in basics.created:
                self.stdout.write(f"Created {what}.")
        else:
            self.stdout.write("Demo groups and demo customer John Doe: already there.")
        if basics.password:
            self.stdout.write(
                self.style.WARNING(
                    f"Storefront login of the demo customer: {DEMO_EMAIL} / {basics.password}\n"
                    "This password is shown only now. Delete the demo customer before opening "
                    "the shop to the public."
                )
            )
        if not customers:
            return

        started = time.perf_counter()
        try:
            missing = max(customers - demo_customers_last_k(), 0)
            with _ProgressBar(total=missing, enabled=verbosity > 0 and missing > 0) as bar:
                load = demo_customers_generate(
                    count=customers,
                    chunk_size=chunk_size,
                    progress=bar.advance,
                    parallel=False if serial else None,
                )
        except DemoLoadError as exc:
            raise CommandError(
                f"{exc}\nNothing was written; the demo basics are in place."
            ) from exc
        if not load.created:
            self.stdout.write(f"Generated customers 1..{customers}: already there.")
            return
        seconds = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated customers {load.existing + 1}..{customers}: {load.created:,} "
                f"customers, {load.rows_total:,} rows in {seconds:.1f} s "
                f"({load.rows_total / seconds:,.0f} rows/s, {connection.vendor})."
            )
        )
        if verbosity > 1:
            self.stdout.write(
                f"  of which {load.finishing_seconds:.1f} s after the last row "
                "(indexes, keys, search index, commit)"
            )
            for table, rows in sorted(load.rows.items()):
                self.stdout.write(f"  {table:28} {rows:>12,}")


class _ProgressBar:
    """A rich progress bar over customers, with rows written per second."""

    def __init__(self, *, total: int, enabled: bool):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.rows = 0
        self.started = time.perf_counter()
        # No refresh thread (auto_refresh off, redrawn at each chunk): the load forks a child
        # process, and a fork should not happen while another thread may hold a lock.
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not enabled,
            auto_refresh=False,
        )
        self.task = self.progress.add_task("Demo customers", total=total, rate="")

    def __enter__(self) -> _ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.progress.stop()

    def advance(self, customers: int, rows: int, note: str = "") -> None:
        if note:
            self.progress.update(self.task, description=f"Demo customers: {note}", refresh=True)
            return
        self.rows += rows
        rate = self.rows / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, advance=customers, rate=f"{rate:,.0f} rows/s", refresh=True)
