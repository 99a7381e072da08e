"""The back-office API's import jobs (mounted under /api/v1/transfer/imports): upload with
options, change the options, dry run, run, progress, rejected rows, undo.

Thin over the transfer services, selectors and tasks, as the import wizard is: a job is
created, configured and started exactly as the wizard does it, in the background.
"""

from __future__ import annotations

import csv
import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import AfterValidator, StringConstraints

from comptoir.core.api import Problem, ProblemOut, StrictSchema, not_found
from comptoir.core.csv_safety import cell_safe
from comptoir.customers.api_bulk import (
    MAX_ID,
    RowId,
    Text,
    field_problem,
    no_null_character,
)
from comptoir.customers.models import OptInLevel
from comptoir.groups.models import Group
from comptoir.staff.api_auth import api_actor
from comptoir.transfer.formats import registry
from comptoir.transfer.formats.reading import FileInfo
from comptoir.transfer.models import (
    EmptyCells,
    ImportJob,
    ImportMode,
    ImportState,
    MatchKey,
    PasswordPolicy,
)
from comptoir.transfer.selectors.importing import (
    import_format_label,
    import_job_get,
    import_jobs_page,
    import_progress,
    import_rejections,
)
from comptoir.transfer.services.import_plan import job_file
from comptoir.transfer.services.import_undo import import_undo_enqueue
from comptoir.transfer.services.importing import (
    import_dry_run_enqueue,
    import_job_configure,
    import_job_create,
    import_mapping_proposal,
    import_run_enqueue,
)

router = Router(tags=["transfer"])


class ImportOptionsIn(StrictSchema):
    """What the wizard's mapping and options steps ask. Only the options given change."""

    format: Literal[tuple(registry.FORMATS_BY_KEY)] | None = Field(  # type: ignore[valid-type]
        None,
        description="The platform the file comes from (recognised from its header when not "
        "given); choosing one without a mapping takes that platform's mapping.",
    )
    mapping: list[Text] | None = Field(
        None,
        description="For each column of the file, in order, the field it goes into "
        "(e.g. email, first_name, billing.city), or an empty string to leave it out.",
    )
    mode: ImportMode | None = None
    match: MatchKey | None = Field(None, description="How existing customers are found.")
    empty_cells: EmptyCells | None = Field(
        None, description="keep: an empty cell leaves the stored value; clear: it clears it."
    )
    default_group: RowId | None = Field(
        None,
        description="The default group of new customers whose row names none (its id); null: "
        "the shop's default group.",
    )
    consent_source: (
        Annotated[str, StringConstraints(max_length=255), AfterValidator(no_null_character)] | None
    ) = Field(
        None,
        description="Where the marketing consents were collected, kept in each customer's "
        "consent history.",
    )
    opt_in_level: OptInLevel | None = None
    passwords: PasswordPolicy | None = Field(
        None, description="reset: ignore the file's passwords; hash: hash them (slow)."
    )


class ImportFiguresOut(Schema):
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: int


class ImportProgressOut(Schema):
    done: int = Field(description="Rows done (of the dry run while it works, else of the run).")
    total: int
    percent: int
    rate: float = Field(description="Rows per second since the current run started.")
    seconds_left: int | None = Field(description="Estimated; null when unknown.")
    stalled: bool = Field(description="Working, but no sign of life from its worker lately.")


class ImportOptionsOut(Schema):
    mode: ImportMode
    match: MatchKey
    empty_cells: EmptyCells
    default_group: int | None
    consent_source: str
    opt_in_level: OptInLevel
    passwords: PasswordPolicy


class ImportUndoOut(Schema):
    undone_at: datetime.datetime | None
    reverted: int
    skipped: int = Field(description="Customers changed since the import, left as they are.")


class ImportJobOut(Schema):
    id: int
    state: ImportState
    state_label: str
    error: str
    file_name: str
    file_size: int
    format: str
    format_label: str
    header: list[str] = Field(description="The file's column headers.")
    mapping: list[str] = Field(description="The field each column goes into ('' for none).")
    options: ImportOptionsOut
    progress: ImportProgressOut
    dry_run: ImportFiguresOut | None = Field(description="The dry run's figures, once done.")
    result: ImportFiguresOut = Field(description="What the run did so far.")
    undo: ImportUndoOut
    created_at: datetime.datetime
    created_by: str | None
    analysed_at: datetime.datetime | None
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None


class ImportJobPageOut(Schema):
    items: list[ImportJobOut]
    page: int
    pages: int
    count: int


def _import_out(job: ImportJob) -> dict:
    progress = import_progress(job=job)
    return {
        "id": job.pk,
        "state": job.state,
        "state_label": str(ImportState(job.state).label),
        "error": job.error,
        "file_name": job.file_name,
        "file_size": job.file_size,
        "format": job.platform,
        "format_label": import_format_label(job),
        "header": FileInfo.from_dict(job.file_info).header,
        "mapping": job.mapping,
        "options": {
            "mode": job.mode,
            "match": job.match,
            "empty_cells": job.empty_cells,
            "default_group": job.default_group_id,
            "consent_source": job.consent_note,
            "opt_in_level": job.opt_in_level,
            "passwords": job.passwords,
        },
        "progress": {
            "done": progress.done,
            "total": progress.total,
            "percent": progress.percent,
            "rate": round(progress.rate, 1),
            "seconds_left": progress.seconds_left,
            "stalled": progress.stalled,
        },
        "dry_run": (
            {
                "rows": job.dry_rows,
                "created": job.dry_created,
                "updated": job.dry_updated,
                "unchanged": job.dry_unchanged,
                "rejected": job.dry_rejected,
            }
            if job.analysed_at
            else None
        ),
        "result": {
            "rows": job.rows_done,
            "created": job.created,
            "updated": job.updated,
            "unchanged": job.unchanged,
            "rejected": job.rejected,
        },
        "undo": {"undone_at": job.undone_at, "reverted": job.reverted, "skipped": job.skipped},
        "created_at": job.created_at,
        "created_by": job.created_by.get_username() if job.created_by else None,
        "analysed_at": job.analysed_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _import_job(job_id: int) -> ImportJob:
    if not 0 < job_id <= MAX_ID:
        raise not_found(_("There is no import with this id."))
    try:
        return import_job_get(pk=job_id)
    except ImportJob.DoesNotExist:
        raise not_found(_("There is no import with this id.")) from None


def _state_conflict(error: ValidationError) -> Problem | None:
    """A service refusing what the job's state does not allow (no field at fault): 409."""
    if hasattr(error, "error_dict"):
        return None
    return Problem(status=409, slug="import-state-conflict", title=" ".join(error.messages))


def _configuration(job: ImportJob, options: ImportOptionsIn) -> dict:
    """The options given, as ``import_job_configure`` takes them."""
    given = options.model_dump(mode="json", exclude_unset=True)
    changes: dict = {
        name: given[name]
        for name in ("mode", "match", "empty_cells", "opt_in_level", "passwords")
        if given.get(name) is not None
    }
    if given.get("format") is not None:
        changes["platform"] = given["format"]
        if given.get("mapping") is None:
            changes["mapping"] = import_mapping_proposal(job=job, platform=given["format"])
    if given.get("mapping") is not None:
        changes["mapping"] = given["mapping"]
    if given.get("consent_source") is not None:
        changes["consent_note"] = given["consent_source"]
    if "default_group" in given:
        group_id = given["default_group"]
        changes["default_group"] = None
        if group_id is not None:
            changes["default_group"] = Group.objects.filter(pk=group_id).first()
            if changes["default_group"] is None:
                raise field_problem(
                    "default_group", _("There is no group with this id."), "invalid_choice"
                )
    return changes


def _configure(job: ImportJob, options: ImportOptionsIn, request: HttpRequest) -> ImportJob:
    try:
        return import_job_configure(
            job=job, actor=api_actor(request), **_configuration(job, options)
        )
    except ValidationError as error:
        raise _state_conflict(error) or error from None


@router.get(
    "",
    response=ImportJobPageOut,
    summary="List the imports",
    description="Newest first, 20 a page.",
)
def imports_list(request: HttpRequest, page: int = Query(1, ge=1, le=1_000_000)):
    current = import_jobs_page(page=page)
    return {
        "items": [_import_out(job) for job in current],
        "page": current.number,
        "pages": current.paginator.num_pages,
        "count": current.paginator.count,
    }


@router.post(
    "",
    response={201: ImportJobOut},
    summary="Upload a file to import",
    description=(
        "A multipart upload: the file (CSV or XLSX, from PrestaShop, Shopify, WooCommerce, "
        "Magento, Ecwid, Comptoir or made by hand) and, optionally, the options as form "
        "fields (repeat mapping once per column). The format and mapping are recognised from "
        "the header unless given. Nothing is imported yet: start the dry run, then the run. "
        "Options that cannot be used leave nothing behind, the file included."
    ),
)
def import_create(request: HttpRequest, file: File[UploadedFile], options: Form[ImportOptionsIn]):
    allowed = set(ImportOptionsIn.model_fields)
    unknown = sorted(set(request.POST) - allowed) + sorted(set(request.FILES) - {"file"})
    if unknown:
        message = _("This field is not accepted here.")
        raise Problem(
            status=400,
            slug="invalid-request",
            title=_("The request is not valid."),
            detail=_("Correct the fields listed in errors and send it again."),
            errors=[{"field": name, "message": message, "code": "extra_forbidden"}
                    for name in unknown],
        )  # fmt: skip
    actor = api_actor(request)
    job = None
    try:
        with transaction.atomic():
            job = import_job_create(
                source=file, file_name=file.name, actor=actor, language=get_language()
            )
            if options.model_fields_set:
                job = _configure(job, options, request)
    except (ValidationError, Problem):
        # The job's row is rolled back; its stored file goes too.
        if job is not None:
            job_file(job).unlink(missing_ok=True)
        raise
    return Status(201, _import_out(import_job_get(pk=job.pk)))


@router.get(
    "/{job_id}",
    response=ImportJobOut,
    summary="Get an import: its state, progress and figures",
)
def import_get(request: HttpRequest, job_id: int):
    return _import_out(_import_job(job_id))


@router.patch(
    "/{job_id}",
    response={200: ImportJobOut, 409: ProblemOut},
    summary="Change an import's format, mapping or options",
    description="Until its run starts (409 after); a changed import needs a new dry run.",
)
def import_configure(request: HttpRequest, job_id: int, body: ImportOptionsIn):
    job = _configure(_import_job(job_id), body, request)
    return _import_out(import_job_get(pk=job.pk))


def _started(job_id: int, request: HttpRequest, service) -> Status:
    job = _import_job(job_id)
    try:
        service(job=job, actor=api_actor(request))
    except ValidationError as error:
        raise _state_conflict(error) or error from None
    return Status(202, _import_out(import_job_get(pk=job.pk)))


@router.post(
    "/{job_id}/dry-run",
    response={202: ImportJobOut, 409: ProblemOut},
    summary="Start the dry run",
    description=(
        "Goes through the whole file in the background as the run would, writing nothing but "
        "the rejected rows: poll the import for its figures."
    ),
)
def import_dry_run_start(request: HttpRequest, job_id: int):
    return _started(job_id, request, import_dry_run_enqueue)


@router.post(
    "/{job_id}/run",
    response={202: ImportJobOut, 409: ProblemOut},
    summary="Start (or resume) the import",
    description="After its dry run, in the background; poll the import for its progress.",
)
def import_run_start(request: HttpRequest, job_id: int):
    return _started(job_id, request, import_run_enqueue)


@router.post(
    "/{job_id}/undo",
    response={202: ImportJobOut, 409: ProblemOut},
    summary="Undo an import",
    description=(
        "In the background: customers it created are removed and the values it changed given "
        "back, except for customers changed since (counted as skipped)."
    ),
)
def import_undo_start(request: HttpRequest, job_id: int):
    return _started(job_id, request, import_undo_enqueue)


class _Echo:
    def write(self, value: str) -> str:
        return value


_CSV_RESPONSE = {
    "responses": {
        "200": {
            "description": "The rejected rows as CSV (semicolon separated, UTF-8 with BOM).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get(
    "/{job_id}/rejections",
    summary="The rejected rows, as CSV",
    description="Line, column and reason of every rejected row; cells are spreadsheet-safe.",
    openapi_extra=_CSV_RESPONSE,
)
def import_rejections_csv(
    request: HttpRequest,
    job_id: int,
    dry_run: bool | None = Query(
        None,
        description="true: the dry run's; false: the run's; not given: the latest stage's.",
    ),
):
    job = _import_job(job_id)
    if dry_run is None:
        dry_run = job.state in {ImportState.UPLOADED, ImportState.ANALYSING, ImportState.ANALYSED}
    writer = csv.writer(_Echo(), delimiter=";")

    def lines():
        yield "\ufeff" + writer.writerow([_("Line"), _("Column"), _("Reason")])
        for rejection in import_rejections(job=job, dry_run=dry_run):
            yield writer.writerow(
                [rejection.line, cell_safe(rejection.column), cell_safe(rejection.reason)]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"import-{job.pk}-{'dry-run-' if dry_run else ''}rejected.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
