"""Exports: the customers file, written as CSV or XLSX from the export selector's rows, and
delivered three ways:

- ``export_start`` for the export screen: a download streamed as it is read (CSV), or built in
  a temporary file and then streamed (small XLSX), or handed to a background task;
- ``export_file_write`` for the command line and the task: the file written to a path;
- ``export_job_create`` / ``export_job_run``: a background export, kept under
  ``COMPTOIR_HOME/var/exports/`` with a JSON record beside it for
  ``COMPTOIR_EXPORT_RETENTION_HOURS``; ``exports_purge`` removes the expired ones.

Every export is an event (``customers_exported``: who, scope and filter, profile, format,
columns, how many customers). A streamed download records it before the first byte, so an
interrupted download is on record too; a file written to disk records it once complete.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import event_record
from comptoir.core.models import Source
from comptoir.transfer.formats.profiles import DECIMAL
from comptoir.transfer.selectors.export_lines import (
    LINES_CHUNK_SIZE,
    export_lines,
    export_lines_supported,
)
from comptoir.transfer.selectors.exporting import (
    ExportChunk,
    ExportChunks,
    ExportScope,
    ExportSpec,
    JobStatus,
    export_chunks,
    export_count,
    export_header,
    export_record_path,
    export_record_read,
    export_retention,
    exports_dir,
)
from comptoir.transfer.services.export_parts import (
    export_runs_plan,
    export_runs_write,
    lean_reads,
)

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DELIMITERS = {"semicolon": ";", "comma": ",", "tab": "\t"}
# A sheet holds 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575
# Above this, an XLSX download is prepared in the background: the workbook must be complete
# before its first byte can leave, and a browser would wait that long for an answer.
XLSX_STREAM_MAX = 50_000
_BOM = "\ufeff"


@dataclass(frozen=True)
class FileOptions:
    """How the file is written. ``None`` means "as the profile's destination expects"."""

    format: str = CSV
    delimiter: str | None = None
    bom: bool | None = None

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"Unknown export format: {self.format!r}")
        if self.delimiter is not None and self.delimiter not in DELIMITERS.values():
            raise ValueError(f"Unknown delimiter: {self.delimiter!r}")

    def delimiter_for(self, spec: ExportSpec) -> str:
        return self.delimiter or spec.profile_object.delimiter

    def bom_for(self, spec: ExportSpec) -> bool:
        return spec.profile_object.bom if self.bom is None else self.bom


def export_filename(*, spec: ExportSpec, options: FileOptions, now=None) -> str:
    moment = timezone.localtime(now or timezone.now())
    return f"customers-{spec.profile}-{moment:%Y%m%d-%H%M%S}.{options.format}"


def _event_data(spec: ExportSpec, options: FileOptions, customers: int, delivery: str) -> dict:
    return {
        **spec.scope.as_data(),
        "profile": spec.profile,
        "format": options.format,
        "columns": list(spec.columns),
        "rows": customers,
        "delivery": delivery,
    }


def _export_event_record(*, actor: Actor, data: dict) -> None:
    # Not about one customer: the audit trail's object is the export itself.
    with transaction.atomic():
        event_record(kind="customers_exported", actor=actor, object_type="export", data=data)


# Writing the file


def _csv_head(spec: ExportSpec, options: FileOptions) -> bytes:
    """The header line (after the BOM when the file has one)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=options.delimiter_for(spec), lineterminator="\r\n").writerow(
        export_header(spec=spec)
    )
    return ((_BOM if options.bom_for(spec) else "") + buffer.getvalue()).encode("utf-8")


def csv_body(
    spec: ExportSpec, options: FileOptions, chunks: Iterable[ExportChunk]
) -> Iterator[tuple[bytes, int]]:
    """The CSV lines, a piece per chunk of customers (a few megabytes at most), each with the
    number of customers it holds. Given ``export_chunks``'s own answer (not wrapped), the
    database writes the lines (``export_lines``: the same bytes for half the CPU or less);
    other chunks (rows) go through csv.writer."""
    if isinstance(chunks, ExportChunks) and export_lines_supported():
        pieces = export_lines(
            spec=chunks.spec,
            delimiter=options.delimiter_for(spec),
            # Larger pieces than the rows': a statement a chunk, planned each time.
            chunk_size=max(chunks.chunk_size, LINES_CHUNK_SIZE),
            after_id=chunks.after_id,
            upto_id=chunks.upto_id,
        )
        for piece in pieces:
            yield piece.data, piece.customers
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=options.delimiter_for(spec), lineterminator="\r\n")
    for chunk in chunks:
        buffer.seek(0)
        buffer.truncate(0)
        writer.writerows(chunk.rows)
        yield buffer.getvalue().encode("utf-8", errors="replace"), chunk.customers


def _csv_bytes(
    spec: ExportSpec,
    options: FileOptions,
    chunks: Iterable[ExportChunk],
    progress: Callable[[int], None] | None = None,
    counted: list[int] | None = None,
) -> Iterator[bytes]:
    """The CSV file, header first, then a piece per chunk of customers; ``counted[0]`` follows
    the customers written. Give ``export_chunks``' own answer, not wrapped, for the database to
    write the lines (``csv_body``)."""
    yield _csv_head(spec, options)
    done = 0
    for piece, customers in csv_body(spec, options, chunks):
        yield piece
        done += customers
        if counted is not None:
            counted[0] = done
        if progress is not None:
            progress(done)


def _xlsx_write(
    spec: ExportSpec,
    chunks: Iterable[ExportChunk],
    target,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the workbook to ``target`` (a path or a binary file) in openpyxl's write-only
    mode, which streams rows to disk: memory stays flat whatever the size. Amounts are written
    as numbers; the rest as in the CSV. Returns the number of customers."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Customers")[:31])
    sheet.append(export_header(spec=spec))
    amounts = [i for i, column in enumerate(spec.column_objects) if column.kind == DECIMAL]
    illegal = ILLEGAL_CHARACTERS_RE
    lines = done = 0
    for chunk in chunks:
        lines += len(chunk.rows)
        if lines > XLSX_MAX_ROWS:
            raise ValidationError(_xlsx_too_many(), code="xlsx_too_large")
        for row in chunk.rows:
            for position in amounts:
                if row[position] is not None:
                    row[position] = Decimal(row[position])
            # A spreadsheet cell cannot hold control characters (a note pasted from elsewhere
            # may); they are left out rather than failing the whole file.
            sheet.append(
                [illegal.sub("", value) if isinstance(value, str) else value for value in row]
            )
        done += chunk.customers
        if progress is not None:
            progress(done)
    workbook.save(target)
    return done


def _xlsx_too_many() -> str:
    return _("A spreadsheet holds at most %(rows)s rows: choose CSV for this many customers.") % {
        "rows": number_format(XLSX_MAX_ROWS, force_grouping=True)
    }


def _counting(chunks: Iterable[ExportChunk], counter: list[int]) -> Iterator[ExportChunk]:
    for chunk in chunks:
        counter[0] += chunk.customers
        yield chunk


def export_file_write(
    *,
    spec: ExportSpec,
    options: FileOptions,
    actor: Actor,
    path: Path | str,
    delivery: str = "command",
    progress: Callable[[int], None] | None = None,
    extra: dict | None = None,
) -> int:
    """Write the export to ``path`` (through a temporary file beside it, so a half-written file
    never takes its name), then record the event. Returns the number of customers."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".export-", suffix=".part")
    counted = [0]
    try:
        with lean_reads(), os.fdopen(handle, "wb") as file:
            chunks = export_chunks(spec=spec)
            runs = export_runs_plan(spec=spec) if options.format == CSV else None
            if runs:
                file.write(_csv_head(spec, options))
                counted[0] = export_runs_write(
                    spec=spec, options=options, runs=runs, file=file, progress=progress
                )
            elif options.format == XLSX:
                _xlsx_write(spec, _counting(chunks, counted), file, progress)
            else:
                for piece in _csv_bytes(spec, options, chunks, progress, counted):
                    file.write(piece)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    data = _event_data(spec, options, counted[0], delivery)
    _export_event_record(actor=actor, data={**data, "file": path.name, **(extra or {})})
    return counted[0]


def export_stdout_write(
    *, spec: ExportSpec, options: FileOptions, actor: Actor, stream, progress=None
) -> int:
    """Write a CSV export to a binary stream (the command line's standard output)."""
    if options.format != CSV:
        raise ValueError("Only CSV can be written to a stream.")
    counted = [0]
    for piece in _csv_bytes(spec, options, export_chunks(spec=spec), progress, counted):
        stream.write(piece)
    _export_event_record(actor=actor, data=_event_data(spec, options, counted[0], "command"))
    return counted[0]


# The export screen


@dataclass
class ExportDownload:
    filename: str
    content_type: str
    chunks: Iterator[bytes]
    customers: int


@dataclass
class ExportStarted:
    """What ``export_start`` did: a download to stream, or a background job."""

    download: ExportDownload | None = None
    job: dict | None = None
    switched_to_background: bool = False


def export_start(
    *, spec: ExportSpec, options: FileOptions, actor: Actor, background: bool = False
) -> ExportStarted:
    """Start an export asked for on the export screen.

    Raises ``ValidationError`` keyed by the form field to blame: ``scope`` (a filter the list
    cannot read) or ``file_format`` (more rows than a spreadsheet holds).
    """
    try:
        customers = export_count(spec=spec)
    except ValidationError as error:
        raise ValidationError({"scope": error}) from None
    if options.format == XLSX and customers > XLSX_MAX_ROWS:
        raise ValidationError({"file_format": ValidationError(_xlsx_too_many(), code="too_large")})
    large_xlsx = options.format == XLSX and customers > XLSX_STREAM_MAX
    if background or large_xlsx:
        job = export_job_create(spec=spec, options=options, actor=actor)
        return ExportStarted(job=job, switched_to_background=large_xlsx and not background)
    _export_event_record(actor=actor, data=_event_data(spec, options, customers, "download"))
    if options.format == XLSX:
        chunks = _xlsx_bytes(spec)
    else:
        chunks = _csv_bytes(spec, options, export_chunks(spec=spec))
    return ExportStarted(
        download=ExportDownload(
            filename=export_filename(spec=spec, options=options),
            content_type=CONTENT_TYPES[options.format],
            chunks=chunks,
            customers=customers,
        )
    )


def _xlsx_bytes(spec: ExportSpec, block: int = 256 * 1024) -> Iterator[bytes]:
    # The workbook is a zip written at the end: build it in a temporary file (gone when closed),
    # then send it in blocks.
    with tempfile.TemporaryFile() as file:
        _xlsx_write(spec, export_chunks(spec=spec), file)
        file.seek(0)
        while piece := file.read(block):
            yield piece


# Background exports


def _record_write(data: dict) -> None:
    """Replace a job's JSON record in one step (readers never see half a record)."""
    path = export_record_path(data["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(temporary, path)


def export_job_create(*, spec: ExportSpec, options: FileOptions, actor: Actor) -> dict:
    """Record a background export and queue its task. Returns the job's record."""
    from comptoir.transfer.tasks.exporting import export_file_task

    now = timezone.now()
    job_id = f"{timezone.localtime(now):%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"
    user = actor.user
    data = {
        "id": job_id,
        "status": JobStatus.QUEUED,
        "user_id": actor.user_id,
        "user": (user.get_username() if user is not None else _("command line")),
        "source": actor.source,
        "ip_address": actor.ip_address,
        "scope": spec.scope.as_data(),
        "profile": spec.profile,
        "columns": list(spec.columns),
        "headers": spec.headers,
        "format": options.format,
        "delimiter": options.delimiter,
        "bom": options.bom,
        "rows": None,
        "size": None,
        "file": f"customers-{spec.profile}-{job_id}.{options.format}",
        "created": now.isoformat(),
        "expires": (now + export_retention()).isoformat(),
        "finished": None,
        "task_id": "",
        "error": "",
    }
    _record_write(data)
    result = export_file_task.enqueue(job_id=job_id)
    # The immediate backend (tests) has already run the job: keep what it wrote.
    data = export_record_read(job_id) or data
    data["task_id"] = str(result.id)
    _record_write(data)
    return data


def _job_actor(data: dict) -> Actor:
    from django.contrib.auth import get_user_model

    user = None
    if data.get("user_id") is not None:
        user = get_user_model().objects.filter(pk=data["user_id"]).first()
    return Actor(
        source=data.get("source") or Source.SYSTEM, user=user, ip_address=data.get("ip_address")
    )


def export_job_run(*, job_id: str) -> dict:
    """Write a background export's file (the task calls this). Running it again after it
    finished changes nothing. Returns the job's record."""
    data = export_record_read(job_id)
    if data is None:
        raise ValueError(f"No export {job_id!r} (expired or never created)")
    if data["status"] == JobStatus.DONE:
        return data
    data.update(status=JobStatus.RUNNING, started=timezone.now().isoformat(), error="")
    _record_write(data)
    spec = ExportSpec(
        profile=data["profile"],
        columns=tuple(data["columns"]),
        headers=data["headers"],
        scope=ExportScope.from_data(data["scope"]),
    )
    options = FileOptions(format=data["format"], delimiter=data["delimiter"], bom=data["bom"])
    path = exports_dir() / data["file"]
    try:
        customers = export_file_write(
            spec=spec,
            options=options,
            actor=_job_actor(data),
            path=path,
            delivery="background",
            extra={"job": job_id},
        )
    except ValidationError as error:
        data.update(status=JobStatus.FAILED, error=" ".join(error.messages))
        _record_write(data)
        raise
    except Exception:
        data.update(status=JobStatus.FAILED, error=_("The export failed; try again."))
        _record_write(data)
        raise
    data.update(
        status=JobStatus.DONE,
        rows=customers,
        size=path.stat().st_size,
        finished=timezone.now().isoformat(),
    )
    _record_write(data)
    exports_purge()
    return data


def export_job_downloaded(*, job_id: str, actor: Actor) -> None:
    """Record that someone downloaded a kept export (the file leaves the server again)."""
    with transaction.atomic():
        event_record(
            kind="customers_export_downloaded",
            actor=actor,
            object_type="export",
            data={"job": job_id},
        )


def exports_purge(*, now: datetime.datetime | None = None) -> int:
    """Remove the background exports whose time is up (file and record), and files left
    behind by a write that never finished. Returns how many exports were removed."""
    folder = exports_dir()
    if not folder.is_dir():
        return 0
    now = now or timezone.now()
    removed = 0
    for record in folder.glob("*.json"):
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            expires = datetime.datetime.fromisoformat(data["expires"])
        except (OSError, ValueError, KeyError):
            continue
        if expires <= now:
            (folder / Path(data.get("file", "")).name).unlink(missing_ok=True)
            record.unlink(missing_ok=True)
            removed += 1
    stale = now - export_retention()
    for leftover in folder.glob(".export-*.part"):
        modified = datetime.datetime.fromtimestamp(leftover.stat().st_mtime, tz=datetime.UTC)
        if modified < stale:
            leftover.unlink(missing_ok=True)
    return removed
