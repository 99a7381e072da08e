"""Import jobs: upload, configure, dry run, run, undo, and recovery after a dead worker.

The web wizard, the ``comptoir import`` command and the background tasks all go through these
services. The work itself is in ``import_plan`` (reading, cleaning, matching: no writes) and
``import_write`` (the set-based writes of one batch); ``import_undo`` reverts a run.

How a run survives a killed worker: the file is read in batches of ``BATCH_SIZE`` customers;
each batch is planned and written in one transaction together with its ``ImportBatch`` row and
the job's checkpoint (``last_line``, ``rows_done``, the figures) and heartbeat. A worker that
dies loses at most the batch it had not committed; the next run skips the lines up to the
checkpoint (only re-reading them to know which e-mails the file already used) and goes on.
Whoever runs a job holds a lease: ``run_token`` plus a heartbeat renewed by every batch. A job
whose heartbeat is older than ``stale_after()`` is taken over with a new token; the old
holder's next batch then finds the token changed and rolls back (fencing).
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import logging
import multiprocessing
import os
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from queue import Full
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.bulk import (
    bulk_load_mode,
    commits_unsynced,
    foreign_keys_drop,
    indexes_create,
    indexes_drop,
    tables_analyze,
    tables_lock,
)
from comptoir.core.events import event_record
from comptoir.core.models import Event
from comptoir.core.search import search_index_load
from comptoir.customers.models import Address, ConsentRecord, Customer, Membership, OptInLevel
from comptoir.groups.models import Group
from comptoir.transfer.formats import registry
from comptoir.transfer.formats.base import Record
from comptoir.transfer.formats.reading import FileFormatError, FileInfo, file_inspect
from comptoir.transfer.formats.targets import TARGETS
from comptoir.transfer.models import (
    EmptyCells,
    ImportBatch,
    ImportJob,
    ImportMode,
    ImportRejection,
    ImportState,
    MatchKey,
    PasswordPolicy,
)
from comptoir.transfer.services.import_plan import CleanBatch, Planner, Unparsed
from comptoir.transfer.services.import_write import batch_write, rejections_write

BATCH_SIZE = 2_000
logger = logging.getLogger(__name__)
Progress = Callable[[ImportJob], None]

# States in which the mapping and options may still change.
CONFIGURABLE = {ImportState.UPLOADED, ImportState.ANALYSED}
# States from which a run may start or resume.
RUNNABLE = {
    ImportState.UPLOADED,
    ImportState.ANALYSED,
    ImportState.QUEUED,
    ImportState.RUNNING,
    ImportState.FAILED,
}


class LeaseLost(Exception):
    """Another worker took the job over (this one was thought dead): stop without writing."""


# -------------------------------------------------------------------------------------------------
# Settings


def import_dir() -> Path:
    """Where uploaded files are kept: ``COMPTOIR_IMPORT_DIR``, by default ``var/imports``."""
    return Path(getattr(settings, "COMPTOIR_IMPORT_DIR", settings.VAR_DIR / "imports"))


def import_max_bytes() -> int:
    """The largest file accepted: ``COMPTOIR_IMPORT_MAX_MB`` megabytes (default 1 GB)."""
    return int(getattr(settings, "COMPTOIR_IMPORT_MAX_MB", 1024)) * 1024 * 1024


def defer_indexes_rows() -> int:
    """From how many rows a run into a (nearly) empty table builds its indexes at the end:
    ``COMPTOIR_IMPORT_DEFER_INDEXES_ROWS`` (default 100,000)."""
    return int(getattr(settings, "COMPTOIR_IMPORT_DEFER_INDEXES_ROWS", 100_000))


def stale_after() -> datetime.timedelta:
    """How long a running job may go without a heartbeat before it counts as abandoned."""
    return datetime.timedelta(seconds=int(getattr(settings, "COMPTOIR_IMPORT_STALE_SECONDS", 60)))


# -------------------------------------------------------------------------------------------------
# Upload and configure


def _file_store(source: IO[bytes] | Any, file_name: str) -> tuple[str, int, int]:
    """Copy the upload under the imports directory; returns (relative path, size, number of
    line breaks: what the progress bar counts on until the dry run gives the exact figure)."""
    now = timezone.now()
    suffix = Path(file_name).suffix.lower()[:10]
    relative = Path(f"{now:%Y/%m}") / f"{uuid.uuid4().hex}{suffix}"
    target = import_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    limit = import_max_bytes()
    size = lines = 0
    chunks = (
        source.chunks() if hasattr(source, "chunks") else iter(lambda: source.read(1 << 20), b"")
    )
    try:
        with open(target, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        {"file": _("The file is larger than %(size)s MB.") % {"size": limit >> 20}}
                    )
                out.write(chunk)
                lines += chunk.count(b"\n")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return str(relative), size, lines


def import_job_create(
    *, source: IO[bytes] | Any, file_name: str, actor: Actor, language: str | None = None
) -> ImportJob:
    """Store an uploaded file, read its header and recognise its format. The job then waits for
    its mapping and options (``import_job_configure``)."""
    file_name = Path(file_name or "import.csv").name[:255]
    relative, size, lines = _file_store(source, file_name)
    path = import_dir() / relative
    try:
        info = file_inspect(path)
    except FileFormatError as error:
        path.unlink(missing_ok=True)
        raise ValidationError({"file": str(error)}) from None
    detection = registry.detect(info.header)
    platform = detection.format.key if detection.format else registry.CUSTOM.key
    with transaction.atomic():
        job = ImportJob.objects.create(
            created_by=actor.user,
            language=(language or translation.get_language() or settings.LANGUAGE_CODE)[:2],
            file_name=file_name,
            file_path=relative,
            file_size=size,
            file_info={**info.as_dict(), "lines": lines if info.kind == "csv" else None},
            platform=platform,
            variant=detection.variant,
            mapping=detection.mapping,
            consent_note=_("Import of %(file)s") % {"file": file_name},
        )
        event_record(
            kind="import_uploaded",
            actor=actor,
            object_type="import",
            object_id=job.pk,
            data={"file": file_name, "size": size, "format": platform, "variant": job.variant},
        )
    return job


def import_mapping_proposal(*, job: ImportJob, platform: str) -> list[str]:
    """The mapping a format proposes for the job's header (for "it came from elsewhere")."""
    fmt = registry.format_get(platform)
    header = FileInfo.from_dict(job.file_info).header
    if fmt is registry.CUSTOM:
        return job.mapping if job.platform == platform else _guess(header)
    return fmt.mapping_for(header)


def _guess(header: list[str]) -> list[str]:
    from comptoir.transfer.formats.base import mapping_guess

    return mapping_guess(header, registry.FORMATS)


_UNSET: Any = object()


@transaction.atomic
def import_job_configure(
    *,
    job: ImportJob,
    actor: Actor,
    platform: str | None = None,
    mapping: list[str] | None = None,
    mode: str | None = None,
    match: str | None = None,
    empty_cells: str | None = None,
    default_group: Group | None = _UNSET,
    consent_note: str | None = None,
    opt_in_level: str | None = None,
    passwords: str | None = None,
) -> ImportJob:
    """Set the format, mapping and options. A changed job needs a new dry run."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state not in CONFIGURABLE:
        raise ValidationError(_("This import has already started; it cannot be changed."))
    errors: dict[str, str] = {}
    header = FileInfo.from_dict(job.file_info).header
    if platform is not None:
        job.platform = registry.format_get(platform).key
        job.variant = "" if platform != job.platform else job.variant
    if mapping is not None:
        mapping = [(target or "").strip() for target in mapping][: len(header)]
        mapping += [""] * (len(header) - len(mapping))
        unknown = [target for target in mapping if target and target not in TARGETS]
        if unknown:
            errors["mapping"] = _("Unknown field: %(field)s.") % {"field": unknown[0]}
        elif not any(mapping):
            errors["mapping"] = _("Choose a field for at least one column.")
        job.mapping = mapping
    for name, value, choices in (
        ("mode", mode, ImportMode.values),
        ("match", match, MatchKey.values),
        ("empty_cells", empty_cells, EmptyCells.values),
        ("opt_in_level", opt_in_level, OptInLevel.values),
        ("passwords", passwords, PasswordPolicy.values),
    ):
        if value is None:
            continue
        if value not in choices:
            errors[name] = _("Choose one of the options.")
        setattr(job, name, value)
    if default_group is not _UNSET:
        job.default_group = default_group
    if consent_note is not None:
        job.consent_note = consent_note.strip()[:255]
    if job.match not in job.mapping and "match" not in errors:
        errors["match"] = _(
            "No column is imported as “%(field)s”: choose another match key or map a column to it."
        ) % {"field": TARGETS[job.match].label}
    if errors:
        raise ValidationError(errors)
    job.state = ImportState.UPLOADED
    job.analysed_at = None
    job.save()
    event_record(
        kind="import_configured",
        actor=actor,
        object_type="import",
        object_id=job.pk,
        data={
            "format": job.platform,
            "mode": job.mode,
            "match": job.match,
            "empty_cells": job.empty_cells,
            "default_group": job.default_group_id,
            "passwords": job.passwords,
        },
    )
    return job


# -------------------------------------------------------------------------------------------------
# Leases


def _claim(job: ImportJob, *, state: str, allowed: Iterable[str]) -> str:
    """Take the job for this worker: a new token, a fresh heartbeat. Refused (ValidationError)
    when the job is not in an allowed state or another live worker holds it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        current = ImportJob.objects.select_for_update().get(pk=job.pk)
        if current.state not in allowed:
            raise ValidationError(_("This import cannot do that in its current state."))
        if (
            current.state == state
            and current.run_token
            and current.heartbeat_at
            and now - current.heartbeat_at < stale_after()
        ):
            raise ValidationError(_("This import is already running."), code="running")
        ImportJob.objects.filter(pk=job.pk).update(
            state=state,
            run_token=token,
            heartbeat_at=now,
            error="",
            resumed_at=now,
            resumed_rows=current.rows_done if state == ImportState.RUNNING else 0,
        )
    job.refresh_from_db()
    return token


def _beat(job: ImportJob, token: str, **changes: Any) -> None:
    """Inside a batch's transaction: check the lease is still ours, renew it, save progress."""
    updated = ImportJob.objects.filter(pk=job.pk, run_token=token).update(
        heartbeat_at=timezone.now(), **changes
    )
    if not updated:
        raise LeaseLost(job.pk)


def _release(job: ImportJob, token: str, **changes: Any) -> bool:
    return bool(
        ImportJob.objects.filter(pk=job.pk, run_token=token).update(
            run_token="", heartbeat_at=timezone.now(), **changes
        )
    )


def _line(record: Record | Unparsed) -> int:
    return record.line if isinstance(record, Record) else record[0]


def _batches(records: Iterable[Record | Unparsed]) -> Iterator[list[Record | Unparsed]]:
    iterator = iter(records)
    while batch := list(islice(iterator, BATCH_SIZE)):
        yield batch


class ImportReadError(Exception):
    """Reading the file failed in the reading process; the message holds its traceback."""


# From this size on, the file is read and cleaned in a forked child process while this one
# writes (see ``_ahead``); smaller files are not worth a process.
PARALLEL_MIN_BYTES = 4 << 20


def _parallel(job: ImportJob) -> bool:
    return (
        job.file_size >= PARALLEL_MIN_BYTES
        and (os.cpu_count() or 1) > 1
        and "fork" in multiprocessing.get_all_start_methods()
    )


def _ahead(
    read: Callable[[], Iterator[list[Record | Unparsed]]],
    clean: Callable[[list[Record | Unparsed]], CleanBatch],
    *,
    language: str,
    parallel: bool,
) -> Iterator[CleanBatch]:
    """The batches of ``read()``, cleaned with ``clean``, made ahead of the consumer.

    With ``parallel``, in a forked child process: reading and cleaning (pure Python, no
    database) then runs on the second core while this process matches and writes, the way
    ``customers.demo`` generates its rows. The child never touches the database connection it
    inherits; the queue holds two batches, so memory stays flat; the child gives up if this
    process dies. Without, in this process, one batch at a time.

    The two processes share the cleaning: a batch the child has read while this process is
    about to run out of work (``_consumer_idle``) goes over as it was read, and this process
    cleans it itself.
    Otherwise the one whose part is lighter (this one, in a dry run or when the file changes
    nothing; the child, when a fresh import's writes dominate) would sit idle half the time.
    Cleaning reads no shared state, so it gives the same result in either process.
    """
    if not parallel:
        with translation.override(language):
            for batch in read():
                yield clean(batch)
        return
    context = multiprocessing.get_context("fork")
    queue = context.Queue(maxsize=2)
    _pipe_widened(queue)
    child = context.Process(target=_produce, args=(queue, read, clean, language), daemon=True)
    child.start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, str):
                raise ImportReadError(item)
            yield clean(item) if isinstance(item, list) else item
        child.join()
    finally:
        if child.is_alive():
            child.terminate()
            child.join()


# What the queue's pipe holds (Linux's largest for an unprivileged process by default): a
# pickled batch then goes across in one or two writes instead of sixteen of the default 64 KB,
# each of which woke the other process and waited for it to read.
QUEUE_PIPE_BYTES = 1 << 20


def _pipe_widened(queue) -> None:
    """Give ``queue``'s pipe ``QUEUE_PIPE_BYTES`` where the system allows it. The dry run of a
    million rows, whose two processes send each other every batch, took a tenth less time."""
    import fcntl  # here: only a platform that forks gets this far

    setter = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setter is None:
        return
    with contextlib.suppress(OSError):  # over the system's limit: the default pipe works too
        fcntl.fcntl(queue._writer.fileno(), setter, QUEUE_PIPE_BYTES)


def _consumer_idle(queue) -> bool:
    """Whether the consuming process is about to run out of work: at most one batch on its
    way. A batch counts from the moment it is put until the consumer has received all of it,
    so the one just put (still being pickled and sent) is nearly always there; "none" would
    almost never be seen. A consumer that falls behind keeps two. Where the queue cannot tell
    (``qsize`` is not implemented on macOS), it is taken as busy: the child cleans it all."""
    try:
        return queue.qsize() <= 1
    except NotImplementedError:
        return False


def _produce(queue, read, clean, language: str) -> None:
    """The child process of ``_ahead``: every batch into the queue, cleaned or (when the
    consumer waits) as read, then None (or the error)."""
    parent = os.getppid()

    def put(item: Any) -> None:
        while True:
            try:
                queue.put(item, timeout=1)
                return
            except Full:
                if os.getppid() != parent:  # the parent is gone: nobody will ever read
                    raise SystemExit(1) from None

    try:
        with translation.override(language), _gc_relaxed():
            for batch in read():
                put(batch if _consumer_idle(queue) else clean(batch))
        put(None)
    except Exception:
        put(traceback.format_exc())


# -------------------------------------------------------------------------------------------------
# Dry run


def import_dry_run(*, job: ImportJob, actor: Actor, progress: Progress | None = None) -> ImportJob:
    """Go through the whole file as the run would, writing nothing but the list of rejected
    rows: how many customers would be created, updated, left unchanged, rejected, and why."""
    token = _claim(job, state=ImportState.ANALYSING, allowed=(*CONFIGURABLE, ImportState.ANALYSING))
    with translation.override(job.language):
        try:
            ImportRejection.objects.filter(job=job, dry_run=True).delete()
            with _no_memory_map():  # it reads the known rows (import_known)
                planner = Planner(job, actor=actor, counting_only=True)
            totals = dict(dry_rows=0, dry_created=0, dry_updated=0, dry_unchanged=0, dry_rejected=0)

            def batches_read() -> Iterator[list[Record | Unparsed]]:
                return _batches(planner.records(parsed=False))

            batches = _ahead(
                batches_read, planner.clean, language=job.language, parallel=_parallel(job)
            )
            # closing(): stops the reading process if this one fails. Unsynced: a batch's
            # progress and rejected rows are done again if the machine stops (PostgreSQL's
            # 500 commits a million rows had each waited for the disk).
            with _gc_relaxed(), commits_unsynced(), contextlib.closing(batches):
                for cleaned in batches:
                    plan = planner.plan_cleaned(cleaned)
                    totals["dry_rows"] += plan.rows
                    totals["dry_created"] += len(plan.creates)
                    totals["dry_updated"] += len(plan.updates)
                    totals["dry_unchanged"] += plan.unchanged
                    totals["dry_rejected"] += plan.rejected
                    with transaction.atomic():
                        _beat(job, token, **totals)
                        rejections_write(job=job, plan=plan, dry_run=True)
                    _progress(job, progress, **totals)
            _release(
                job,
                token,
                state=ImportState.ANALYSED,
                analysed_at=timezone.now(),
                rows_total=totals["dry_rows"],
                **totals,
            )
        except LeaseLost:
            pass
        except Exception as error:
            _release(job, token, state=ImportState.UPLOADED, error=_failure(error))
            raise
    job.refresh_from_db()
    return job


def _progress(job: ImportJob, progress: Progress | None, **figures: Any) -> None:
    for name, value in figures.items():
        setattr(job, name, value)
    if progress is not None:
        progress(job)


def _failure(error: Exception) -> str:
    return _("The import stopped: %(error)s") % {"error": str(error)[:500] or type(error).__name__}


# -------------------------------------------------------------------------------------------------
# Run


def import_run(*, job: ImportJob, actor: Actor, progress: Progress | None = None) -> ImportJob:
    """Import the file, batch after batch, from the job's checkpoint (the start, or where a
    previous run stopped). Each batch commits with its checkpoint."""
    if job.state == ImportState.DONE:
        return job
    token = _claim(job, state=ImportState.RUNNING, allowed=RUNNABLE)
    with translation.override(job.language):
        try:
            _run_batches(job, token, actor, progress)
        except LeaseLost:
            job.refresh_from_db()
            return job
        except Exception as error:
            _release(job, token, state=ImportState.FAILED, error=_failure(error))
            raise
        with transaction.atomic():
            finished = _release(
                job, token, state=ImportState.DONE, finished_at=timezone.now(), error=""
            )
            job.refresh_from_db()
            if finished:
                event_record(
                    kind="import_finished",
                    actor=actor,
                    object_type="import",
                    object_id=job.pk,
                    data={
                        "file": job.file_name,
                        "rows": job.rows_done,
                        "created": job.created,
                        "updated": job.updated,
                        "unchanged": job.unchanged,
                        "rejected": job.rejected,
                    },
                )
    return job


def _run_batches(job: ImportJob, token: str, actor: Actor, progress: Progress | None) -> None:
    with _no_memory_map():  # it reads the known rows (import_known)
        planner = Planner(job, actor=actor)
    if not job.started_at:
        ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now())
        ImportRejection.objects.filter(job=job, dry_run=False).delete()
    checkpoint = job.last_line
    if checkpoint:
        _keys_before_checkpoint(job, checkpoint, planner)

    def batches_read() -> Iterator[list[Record | Unparsed]]:
        records = planner.records(parsed=False)
        if checkpoint:
            records = (record for record in records if _line(record) > checkpoint)
        return _batches(records)

    number = job.batches.count()
    statistics = _Statistics()
    with _no_memory_map(), _gc_relaxed(), contextlib.ExitStack() as stack:
        _indexes_put_off(job)
        stack.push(_indexes_after_failure(job))
        # SQLite's page cache: the indexes with random keys (e-mail, name) want a large one
        # while they are kept up to date; put off, a smaller one leaves room for the batches.
        cache_mb = LOAD_CACHE_MB_INDEXES_PUT_OFF if job.deferred_indexes else LOAD_CACHE_MB
        stack.enter_context(bulk_load_mode(cache_mb=cache_mb))
        batches = _ahead(
            batches_read, planner.clean, language=job.language, parallel=_parallel(job)
        )
        for cleaned in stack.enter_context(contextlib.closing(batches)):
            number += 1
            with transaction.atomic():
                # Hold off other writers of customers while this batch is matched and written,
                # so what the plan read is still true when it writes (PostgreSQL; SQLite's
                # write transaction already does).
                tables_lock(Customer, Address)
                plan = planner.plan_cleaned(cleaned)
                written = batch_write(plan=plan, planner=planner, job=job, actor=actor)
                ImportBatch.objects.create(
                    job=job,
                    number=number,
                    first_line=plan.first_line,
                    last_line=plan.last_line,
                    rows=plan.rows,
                    created=len(plan.creates),
                    updated=len(plan.updates),
                    unchanged=plan.unchanged,
                    rejected=plan.rejected,
                    **written,
                )
                _beat(
                    job,
                    token,
                    last_line=plan.last_line,
                    rows_done=F("rows_done") + plan.rows,
                    created=F("created") + len(plan.creates),
                    updated=F("updated") + len(plan.updates),
                    unchanged=F("unchanged") + plan.unchanged,
                    rejected=F("rejected") + plan.rejected,
                )
            statistics.batch_written(len(plan.creates))
            if progress is not None:
                job.refresh_from_db()
                progress(job)
        if not _indexes_bring_back(job):
            statistics.run_ended()


# Indexes a large import into an empty table builds once at the end rather than row by row: the
# customers' sort and search indexes and the events' (a trigram GIN entry and twenty B-tree
# entries a row cost more than the row itself). Those the planner looks customers up by, and
# those that enforce a rule (unique e-mail), stay. The plain index on the e-mail goes too: the
# planner looks registered customers up through the unique one, naming its condition
# (``import_plan._REGISTERED``); only guests are found through the plain one. Two B-trees
# with random keys in each batch were one too many (1M rows: 74.5 -> 73.0 s, one run each).
_KEPT_CUSTOMER_INDEXES = ("external_id",)


# The page cache of a run (``core.bulk.bulk_load_mode``), in MB.
LOAD_CACHE_MB = 128
LOAD_CACHE_MB_INDEXES_PUT_OFF = 64


def _indexes_deferrable() -> bool:
    """Batches commit one by one, so other sessions see the tables without the dropped indexes
    while the run lasts: slower, not wrong. On SQLite the list page names its sort and summary
    indexes in its queries (``INDEXED BY``); meanwhile it reads without those hints
    (``core.bulk.execute_hinted``). See decision 0016."""
    return connection.vendor in ("postgresql", "sqlite")


def _indexes_put_off(job: ImportJob) -> None:
    """Drop the indexes for the run when the file holds at least ``defer_indexes_rows()``
    rows and twice as many as the customers already stored. The statements to build them
    again are saved on the job in the same transaction: if this worker dies, whoever resumes
    the job builds them when it ends."""
    if job.deferred_indexes or not _indexes_deferrable():
        return  # dropped by an earlier run of this job (not built yet), or never
    expected = job.rows_total or (job.file_info or {}).get("lines") or 0
    if expected < defer_indexes_rows() or 2 * Customer.objects.count() > expected:
        return
    with transaction.atomic():
        statements = [
            *indexes_drop(Customer, keep_columns=_KEPT_CUSTOMER_INDEXES),
            *indexes_drop(Event),
            *(key for model in IMPORTED_MODELS for key in foreign_keys_drop(model)),
            *search_index_load(),
        ]
        ImportJob.objects.filter(pk=job.pk).update(deferred_indexes=statements)
    job.deferred_indexes = statements


def _indexes_bring_back(job: ImportJob) -> bool:
    """Build the indexes and add back the foreign keys the job dropped (what is still
    missing), on both cores, then forget the statements and refresh the tables' statistics.
    Whether there was anything to bring back."""
    statements = ImportJob.objects.values_list("deferred_indexes", flat=True).get(pk=job.pk)
    if not statements:
        return False
    indexes_create(statements, workers=2)
    ImportJob.objects.filter(pk=job.pk).update(deferred_indexes=[])
    job.deferred_indexes = []
    tables_analyze(*IMPORTED_MODELS)
    return True


# The tables an import writes to.
IMPORTED_MODELS = (Customer, Address, Membership, ConsentRecord, Customer.tags.through, Event)


class _Statistics:
    """Keeps PostgreSQL's statistics of the imported tables in step with a large run.

    Each batch looks its customers up by e-mail (and an update, their groups, tags and
    addresses) with lists of 2,000 keys; the planner picks an index for that only when it knows
    the table is large. Autovacuum refreshes the figures after a table grew by a tenth, within
    a minute or so, if it runs at all; a million customers imported into an empty table were
    otherwise looked up as if it were still empty, by reading all of it: 150 ms a batch by the
    end, and 230 ms a batch for the addresses when the same file came again. So a run
    refreshes them itself (``ANALYZE``, a fraction of a second) each time the customers grew
    by as many as there were at the last refresh (from 20,000 on), and at its end when it
    added a tenth. Nothing on SQLite (see ``tables_analyze``)."""

    FIRST = 20_000

    def __init__(self) -> None:
        self.base = Customer.objects.count() if connection.vendor == "postgresql" else 0
        self.added = 0

    def batch_written(self, created: int) -> None:
        self.added += created
        if self.added >= max(self.FIRST, self.base):
            self._refresh()

    def run_ended(self) -> None:
        if self.added and self.added >= self.base // 10:
            self._refresh()

    def _refresh(self) -> None:
        tables_analyze(*IMPORTED_MODELS)
        self.base += self.added
        self.added = 0


def _indexes_after_failure(job: ImportJob) -> Callable[..., bool]:
    """For the exit of a run: when it failed, build the indexes again (the job may never be
    resumed); when another worker took it over, leave them to that worker. A failure to build
    them is logged, not raised over the error that stopped the run (the job keeps the
    statements; its next run builds them)."""

    def on_exit(kind: type[BaseException] | None, error, trace) -> bool:
        if kind is None or not issubclass(kind, Exception) or issubclass(kind, LeaseLost):
            return False
        try:
            _indexes_bring_back(job)
        except Exception:
            logger.exception("Import %s: its indexes could not be built again", job.pk)
        return False

    return on_exit


@contextlib.contextmanager
def _gc_relaxed() -> Iterator[None]:
    """Fewer runs of Python's cycle collector while a file is read, cleaned and written.

    Every batch allocates hundreds of thousands of small dicts, lists and tuples (cells,
    values, rows, and the batches unpickled from the reading process); by default every 700 of
    them start a collection that walks the young objects, and every so often all of them,
    the process's own included. The import makes next to no reference cycles, so: what existed
    before is frozen out of the walks (``gc.freeze``) and a collection starts every 50,000
    allocations. At 100,000 rows: the dry run 7.4 -> 6.2 CPU s, unpickling the cleaned batches
    2.4 -> 0.5 s. Restored afterwards (the process may be a long-lived worker).
    """
    thresholds, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen_before:  # wsgi.py freezes its start-up objects: they stay frozen
            gc.unfreeze()


@contextlib.contextmanager
def _no_memory_map() -> Iterator[None]:
    """SQLite: read the database through its page cache, not a memory map, for the run.

    The settings map up to 1 GB of the file; an import reads index pages all over it, and every
    page read through the map stays in this process's memory (its RSS) until the run ends.
    The page cache (``bulk_load_mode``) holds what the writes need, within a fixed size.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA mmap_size")
        row = cursor.fetchone()
    if row is None:  # an in-memory database has no map
        yield
        return
    before = int(row[0])
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA mmap_size=0")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA mmap_size={before}")


def _keys_before_checkpoint(job: ImportJob, checkpoint: int, planner: Planner) -> None:
    """On resuming: the rows up to the checkpoint claim their e-mails (and match keys) again,
    so a duplicate after the checkpoint is still recognised. In this process, before the
    reading one starts: the duplicates are told apart where the batches are planned."""
    before: list[Record] = []
    for record in planner.records():
        if record.line > checkpoint:
            break
        before.append(record)
        if len(before) >= BATCH_SIZE:
            planner.keys_remember(before)
            before = []
    if before:
        planner.keys_remember(before)


# -------------------------------------------------------------------------------------------------
# Queueing (the web wizard) and recovery


def _enqueue(job: ImportJob, task, *args: Any, run_after: datetime.datetime | None = None) -> None:
    def send() -> None:
        runner = task.using(run_after=run_after) if run_after else task
        result = runner.enqueue(job.pk, *args)
        ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])

    transaction.on_commit(send)


@transaction.atomic
def import_dry_run_enqueue(*, job: ImportJob, actor: Actor) -> ImportJob:
    """Start the dry run in the background."""
    from comptoir.transfer.tasks.importing import import_dry_run_task

    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state not in CONFIGURABLE:
        raise ValidationError(_("This import cannot do that in its current state."))
    job.state = ImportState.ANALYSING
    job.save(update_fields=["state"])
    _enqueue(job, import_dry_run_task, actor.user_id)
    return job


@transaction.atomic
def import_run_enqueue(*, job: ImportJob, actor: Actor) -> ImportJob:
    """Start (or resume) the import in the background."""
    from comptoir.transfer.tasks.importing import import_run_task

    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.state not in {ImportState.ANALYSED, ImportState.FAILED}:
        raise ValidationError(_("Run the dry run first."))
    job.state = ImportState.QUEUED
    job.error = ""
    job.save(update_fields=["state", "error"])
    event_record(
        kind="import_started",
        actor=actor,
        object_type="import",
        object_id=job.pk,
        data={"file": job.file_name, "rows": job.rows_total},
    )
    _enqueue(job, import_run_task, actor.user_id)
    return job


def import_jobs_recover() -> list[int]:
    """Put back in the queue the jobs a dead worker left behind. Called when a worker starts
    (``comptoir db_worker``); each job gets a watch task that waits for its lease to expire,
    then takes it over and goes on from the checkpoint. Harmless for jobs that are alive."""
    from comptoir.transfer.tasks.importing import import_watch_task

    pending = list(
        ImportJob.objects.filter(
            state__in=[
                ImportState.ANALYSING,
                ImportState.QUEUED,
                ImportState.RUNNING,
                ImportState.UNDOING,
            ]
        ).values_list("pk", "heartbeat_at")
    )
    for pk, heartbeat in pending:
        due = (heartbeat + stale_after()) if heartbeat else None
        runner = import_watch_task.using(run_after=due) if due and due > timezone.now() else None
        (runner or import_watch_task).enqueue(pk)
    return [pk for pk, _heartbeat in pending]


def _task_waiting(task_id: str) -> bool:
    """Whether the task is still in the queue, not started."""
    from django_tasks import TaskResultStatus, default_task_backend
    from django_tasks.exceptions import TaskResultDoesNotExist

    if not task_id:
        return False
    try:
        return default_task_backend.get_result(task_id).status == TaskResultStatus.READY
    except (TaskResultDoesNotExist, ValueError, NotImplementedError):
        return False


def import_job_watch(*, job: ImportJob) -> str:
    """What a watch task does: nothing if the job is finished or alive; otherwise take it over
    where it stopped. Returns what it did."""
    from comptoir.transfer.tasks.importing import import_watch_task

    now = timezone.now()
    if job.state not in {
        ImportState.ANALYSING,
        ImportState.QUEUED,
        ImportState.RUNNING,
        ImportState.UNDOING,
    }:
        return "finished"
    if job.run_token and job.heartbeat_at and now - job.heartbeat_at < stale_after():
        import_watch_task.using(run_after=job.heartbeat_at + stale_after()).enqueue(job.pk)
        return "alive"
    if not job.run_token and _task_waiting(job.task_id):
        return "queued"  # its task has not started yet: a worker will take it
    actor = Actor.importer(user=job.created_by)
    if job.state == ImportState.ANALYSING:
        ImportJob.objects.filter(pk=job.pk).update(state=ImportState.UPLOADED, run_token="")
        job.refresh_from_db()
        import_dry_run(job=job, actor=actor)
        return "analysed"
    if job.state == ImportState.UNDOING:
        from comptoir.transfer.services.import_undo import import_undo

        import_undo(job=job, actor=actor, resume=True)
        return "undone"
    import_run(job=job, actor=actor)
    return "resumed"
