"""``comptoir export``: the customers file from the command line, with a progress bar.

    comptoir export                                  # Comptoir's full profile, CSV, all customers
    comptoir export --profile brevo -o brevo.csv     # subscribers only, Brevo's columns
    comptoir export --filter "country=FR&newsletter=true" --format xlsx -o fr.xlsx
    comptoir export --profile shopify --columns email,first_name,last_name -o -   # to stdout

``--filter`` takes the customers list's query string (copy it from the list page's address).
"""

from __future__ import annotations

import sys
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from comptoir.core.actors import Actor
from comptoir.transfer.formats.profiles import DEFAULT_PROFILE, HEADER_STYLES, PROFILES
from comptoir.transfer.selectors.exporting import (
    ExportScope,
    ExportSpec,
    Scope,
    export_count,
    export_query_clean,
)
from comptoir.transfer.services.exporting import (
    CSV,
    DELIMITERS,
    FORMATS,
    XLSX_MAX_ROWS,
    FileOptions,
    export_file_write,
    export_filename,
    export_stdout_write,
)


class Command(BaseCommand):
    help = "Export customers to a CSV or XLSX file, in one of the export profiles."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE)
        parser.add_argument("--format", choices=FORMATS, default=CSV, dest="file_format")
        parser.add_argument(
            "--filter",
            default="",
            help='The customers list\'s query string, e.g. "country=FR&newsletter=true".',
        )
        parser.add_argument(
            "--ids", default="", help="Only these customer ids (comma-separated), among the filter."
        )
        parser.add_argument(
            "--columns",
            default="",
            help="The profile's column keys to write, in order (comma-separated); default: its "
            "usual columns.",
        )
        parser.add_argument("--delimiter", choices=sorted(DELIMITERS), default=None)
        bom = parser.add_mutually_exclusive_group()
        bom.add_argument("--bom", action="store_true", default=None, help="Start with a BOM.")
        bom.add_argument("--no-bom", action="store_false", dest="bom", help="No BOM.")
        parser.add_argument(
            "--headers",
            choices=HEADER_STYLES,
            default=None,
            help="Header style: column keys, English or French labels (default: LANGUAGE_CODE).",
        )
        parser.add_argument(
            "-o", "--output", default=None, help='The file to write; "-" for standard output.'
        )

    def handle(self, *args, **options) -> None:
        translation.activate(settings.LANGUAGE_CODE)
        spec = self._spec(options)
        file_options = FileOptions(
            format=options["file_format"],
            delimiter=DELIMITERS[options["delimiter"]] if options["delimiter"] else None,
            bom=options["bom"],
        )
        output = options["output"] or export_filename(spec=spec, options=file_options)
        try:
            total = export_count(spec=spec)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if file_options.format != CSV and total > XLSX_MAX_ROWS:
            raise CommandError(f"{total:,} customers do not fit in a spreadsheet: use CSV.")
        actor = Actor.system()
        if output == "-":
            if file_options.format != CSV:
                raise CommandError("Only CSV can be written to standard output.")
            export_stdout_write(
                spec=spec, options=file_options, actor=actor, stream=sys.stdout.buffer
            )
            return
        bar = _ProgressBar(total=total, enabled=options["verbosity"] > 0)
        with bar:
            try:
                written = export_file_write(
                    spec=spec,
                    options=file_options,
                    actor=actor,
                    path=output,
                    progress=bar.update,
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        if options["verbosity"] > 0:
            self.stdout.write(f"{written:,} customers written to {output}.")

    def _spec(self, options) -> ExportSpec:
        profile = PROFILES[options["profile"]]
        columns = [key.strip() for key in options["columns"].split(",") if key.strip()]
        unknown = [key for key in columns if key not in profile.columns_by_key]
        if unknown:
            raise CommandError(
                f"Unknown columns for {profile.key}: {', '.join(unknown)}. "
                f"Known: {', '.join(profile.columns_by_key)}."
            )
        ids = None
        if options["ids"]:
            try:
                ids = tuple(int(value) for value in options["ids"].split(",") if value.strip())
            except ValueError:
                raise CommandError("--ids takes whole numbers separated by commas.") from None
        query = export_query_clean(options["filter"])
        kind = Scope.SELECTION if ids is not None else Scope.FILTER if query else Scope.ALL
        headers = options["headers"] or (
            settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in HEADER_STYLES else "key"
        )
        return ExportSpec(
            profile=profile.key,
            columns=tuple(dict.fromkeys(columns)) or tuple(profile.default_columns),
            headers=headers,
            scope=ExportScope(kind=kind, query=query, ids=ids),
        )


class _ProgressBar:
    """A rich progress bar over customers, with customers written per second (on stderr)."""

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

        self.started = time.perf_counter()
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
        self.task = self.progress.add_task("Export", total=total, rate="")

    def __enter__(self) -> _ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.progress.stop()

    def update(self, done: int) -> None:
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, completed=done, rate=f"{rate:,.0f}/s", refresh=True)
