"""Reads of import jobs: the list of imports, one job with its progress, its mapping as the
wizard shows it, its rejected rows."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone

from comptoir.core.text import fold
from comptoir.groups.models import Group
from comptoir.transfer.formats import registry
from comptoir.transfer.formats.reading import FileInfo, file_inspect
from comptoir.transfer.formats.targets import ADDRESS_SLOTS, CUSTOMER_TARGETS, TARGETS
from comptoir.transfer.models import ImportJob, ImportRejection, ImportState

JOBS_PER_PAGE = 20
REJECTIONS_SHOWN = 20
ACTIVE_STATES = {
    ImportState.ANALYSING,
    ImportState.QUEUED,
    ImportState.RUNNING,
    ImportState.UNDOING,
}


def import_jobs_page(*, page: int | str | None = 1) -> Page:
    """The imports, newest first, one page (two queries whatever the number of imports)."""
    queryset = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    return Paginator(queryset, JOBS_PER_PAGE).get_page(page)


def import_job_get(*, pk: int) -> ImportJob:
    return ImportJob.objects.select_related("created_by", "default_group").get(pk=pk)


def import_group_find(name_or_id: str) -> Group | None:
    """A group by its id or its name in either language (case and accents ignored)."""
    value = (name_or_id or "").strip()
    if value.isdecimal():
        return Group.objects.filter(pk=int(value)).first()
    wanted = fold(value)
    for group in Group.objects.all():
        if wanted in (fold(group.name_fr), fold(group.name_en)):
            return group
    return None


def import_rejections(
    *, job: ImportJob, dry_run: bool, limit: int | None = None
) -> Iterator[ImportRejection] | QuerySet[ImportRejection]:
    """The rejected rows of the dry run or of the run, by line."""
    queryset = ImportRejection.objects.filter(job=job, dry_run=dry_run).order_by("line", "id")
    if limit is not None:
        return list(queryset[:limit])
    return queryset.iterator(chunk_size=5000)


def import_rows_estimate(*, job: ImportJob) -> int | None:
    """How many rows the file holds: exact after a dry run, else its line count (a CSV, counted
    at upload), else unknown."""
    if job.rows_total:
        return job.rows_total
    lines = job.file_info.get("lines")
    if lines is None:
        return None
    return max(lines - job.file_info.get("header_line", 1), 0)


# -------------------------------------------------------------------------------------------------
# The mapping screen


@dataclass(frozen=True)
class MappingRow:
    index: int
    header: str
    samples: list[str]
    target: str


def import_mapping_rows(*, job: ImportJob, mapping: list[str] | None = None) -> list[MappingRow]:
    """Each column of the file with a few sample values and its chosen field."""
    from comptoir.transfer.services.import_plan import job_file

    info = FileInfo.from_dict(job.file_info)
    try:
        samples = file_inspect(job_file(job)).samples
    except (OSError, ValueError):
        samples = []
    mapping = list(mapping if mapping is not None else job.mapping)
    return [
        MappingRow(
            index=index,
            header=header,
            samples=[row[index] for row in samples if index < len(row) and row[index].strip()][:3],
            target=mapping[index] if index < len(mapping) else "",
        )
        for index, header in enumerate(info.header)
    ]


def import_target_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The fields a column can go into, grouped as the mapping screen's menus show them."""
    from django.utils.translation import gettext as _

    groups = [(_("Customer"), [(t.key, str(t.label)) for t in CUSTOMER_TARGETS])]
    for slot, label in ADDRESS_SLOTS.items():
        groups.append(
            (
                str(label),
                [(key, str(t.label)) for key, t in TARGETS.items() if key.startswith(slot + ".")],
            )
        )
    return groups


def import_format_label(job: ImportJob) -> str:
    fmt = registry.format_get(job.platform)
    return f"{fmt.label} ({job.variant})" if job.variant else str(fmt.label)


# -------------------------------------------------------------------------------------------------
# Progress


@dataclass(frozen=True)
class ImportProgress:
    done: int
    total: int
    percent: int
    rate: float  # rows per second since the current run started
    seconds_left: int | None
    stalled: bool  # running, but no heartbeat for a while: the worker may have died


def import_progress(*, job: ImportJob, now: datetime.datetime | None = None) -> ImportProgress:
    from comptoir.transfer.services.importing import stale_after

    now = now or timezone.now()
    if job.state == ImportState.ANALYSING:
        done, total = job.dry_rows, job.rows_total or import_rows_estimate(job=job) or 0
    elif job.state == ImportState.UNDOING:
        done, total = job.reverted + job.skipped, job.created + job.updated
    else:
        done, total = job.rows_done, job.rows_total or import_rows_estimate(job=job) or 0
    total = max(total, done)
    rate, left = 0.0, None
    started = job.resumed_at
    if started and job.state in ACTIVE_STATES:
        elapsed = (now - started).total_seconds()
        progressed = done - (job.resumed_rows if job.state == ImportState.RUNNING else 0)
        if elapsed > 0 and progressed > 0:
            rate = progressed / elapsed
            left = int((total - done) / rate) if total else None
    stalled = bool(
        job.state in ACTIVE_STATES and job.heartbeat_at and now - job.heartbeat_at > stale_after()
    )
    percent = int(100 * done / total) if total else (100 if job.state == ImportState.DONE else 0)
    return ImportProgress(done, total, min(percent, 100), rate, left, stalled)
