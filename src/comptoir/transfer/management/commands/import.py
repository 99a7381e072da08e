"""``comptoir import FILE``: import a customer file from the command line, with a progress bar.

    comptoir import customers.csv --dry-run          # what would happen, nothing written
    comptoir import customers.csv                    # import (create or update, match on e-mail)
    comptoir import export.csv --format shopify --mode update --match external_id
    comptoir import list.csv --map "Courriel=email" --map "Nom complet=full_name"

Thin: the same services as the web wizard (``transfer.services.importing``), run in this
process instead of a background worker. Rejected rows are listed with their line number, column
and reason; ``--rejections FILE`` writes them all to a CSV file.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from comptoir.core.actors import Actor
from comptoir.transfer.formats import registry
from comptoir.transfer.models import EmptyCells, ImportMode, MatchKey, PasswordPolicy
from comptoir.transfer.selectors.importing import (
    import_group_find,
    import_rejections,
    import_rows_estimate,
)
from comptoir.transfer.services.importing import (
    import_dry_run,
    import_job_configure,
    import_job_create,
    import_mapping_proposal,
    import_run,
)


class Command(BaseCommand):
    help = "Import customers from a CSV or XLSX file (PrestaShop, Shopify, WooCommerce, ...)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the CSV or XLSX file")
        parser.add_argument(
            "--format",
            choices=sorted(registry.FORMATS_BY_KEY),
            help="the file's platform, when detection gets it wrong",
        )
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument("--mode", choices=ImportMode.values, default=ImportMode.UPSERT)
        parser.add_argument("--match", choices=MatchKey.values, default=MatchKey.EMAIL)
        parser.add_argument("--empty", choices=EmptyCells.values, default=EmptyCells.KEEP)
        parser.add_argument("--default-group", help="group of new customers (name or id)")
        parser.add_argument(
            "--passwords", choices=PasswordPolicy.values, default=PasswordPolicy.RESET
        )
        parser.add_argument("--consent-note", help="where the file's consents were collected")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="HEADER=FIELD",
            help="import a column into a field (repeat as needed; FIELD empty to leave it out)",
        )
        parser.add_argument("--rejections", help="write every rejected row to this CSV file")
        parser.add_argument("--language", choices=["fr", "en"], help="language of the messages")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        language = options["language"] or translation.get_language() or "en"
        translation.activate(language)
        actor = Actor.importer()
        try:
            with open(path, "rb") as source:
                job = import_job_create(
                    source=source, file_name=path.name, actor=actor, language=language
                )
            job = self._configure(job, actor, options)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        fmt = registry.format_get(job.platform)
        self.stdout.write(f"Format: {fmt.label}" + (f" ({job.variant})" if job.variant else ""))
        started = time.perf_counter()
        run = import_dry_run if options["dry_run"] else import_run
        with self._progress(job, options["dry_run"]) as report:
            job = run(job=job, actor=actor, progress=report)
        elapsed = time.perf_counter() - started
        self._summary(job, dry_run=options["dry_run"], elapsed=elapsed)
        if options["rejections"]:
            self._rejections_write(job, Path(options["rejections"]), dry_run=options["dry_run"])

    def _configure(self, job, actor, options):
        mapping = None
        platform = options["format"]
        if platform:
            mapping = import_mapping_proposal(job=job, platform=platform)
        if options["map"]:
            header = job.file_info["header"]
            mapping = list(mapping or job.mapping)
            for item in options["map"]:
                column, _sep, target = item.partition("=")
                if column not in header:
                    raise CommandError(f"No column named {column!r} in the file.")
                mapping[header.index(column)] = target.strip()
        extra = {}
        if options["default_group"]:
            extra["default_group"] = import_group_find(options["default_group"])
            if extra["default_group"] is None:
                raise CommandError(f"No group named {options['default_group']!r}.")
        if options["consent_note"]:
            extra["consent_note"] = options["consent_note"]
        return import_job_configure(
            job=job,
            actor=actor,
            platform=platform,
            mapping=mapping,
            mode=options["mode"],
            match=options["match"],
            empty_cells=options["empty"],
            passwords=options["passwords"],
            **extra,
        )

    def _progress(self, job, dry_run: bool):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        command = self
        estimate = import_rows_estimate(job=job)

        class Report:
            def __enter__(self):
                self.progress = Progress(
                    TextColumn("[bold]{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[rate]:>9} rows/s"),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                    console=None,
                    transient=False,
                    disable=command.stdout.isatty() is False and not _rich_forced(),
                )
                self.progress.__enter__()
                self.task = self.progress.add_task(
                    "Checking" if dry_run else "Importing", total=estimate or None, rate="-"
                )
                self.started = time.perf_counter()
                return self

            def __call__(self, job):
                done = job.dry_rows if dry_run else job.rows_done
                rate = done / max(time.perf_counter() - self.started, 1e-6)
                total = max(estimate or 0, done)
                self.progress.update(self.task, completed=done, total=total, rate=f"{rate:,.0f}")

            def __exit__(self, *exc):
                return self.progress.__exit__(*exc)

        return Report()

    def _summary(self, job, *, dry_run: bool, elapsed: float) -> None:
        if dry_run:
            figures = (job.dry_rows, job.dry_created, job.dry_updated, job.dry_unchanged,
                       job.dry_rejected)  # fmt: skip
            self.stdout.write(self.style.SUCCESS("Dry run: nothing was written."))
        else:
            figures = (job.rows_done, job.created, job.updated, job.unchanged, job.rejected)
        rows, created, updated, unchanged, rejected = figures
        self.stdout.write(
            f"{rows} rows in {elapsed:.1f} s ({rows / max(elapsed, 1e-6):,.0f} rows/s): "
            f"{created} created, {updated} updated, {unchanged} unchanged, {rejected} rejected."
        )
        for rejection in import_rejections(job=job, dry_run=dry_run, limit=20):
            column = f" [{rejection.column}]" if rejection.column else ""
            self.stdout.write(self.style.WARNING(f"  line {rejection.line}{column}: ") +
                              rejection.reason)  # fmt: skip
        if rejected > 20:
            self.stdout.write(f"  ... and {rejected - 20} more (--rejections FILE lists them all).")
        if not dry_run:
            self.stdout.write(f"Import #{job.pk}; undo it from the back-office's import page.")

    def _rejections_write(self, job, path: Path, *, dry_run: bool) -> None:
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "column", "reason"])
            for rejection in import_rejections(job=job, dry_run=dry_run):
                writer.writerow([rejection.line, rejection.column, rejection.reason])
        self.stdout.write(f"Rejected rows written to {path}.")


def _rich_forced() -> bool:
    import os

    return bool(os.environ.get("FORCE_COLOR"))
