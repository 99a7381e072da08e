"""The back-office API's export jobs (mounted under /api/v1/transfer/exports): start a
background export, follow it, download its file.

Thin over the export services and selectors, as the export screen is: the request is checked by
the screen's own form and started by its service; every export is an event (the service's).
"""

from __future__ import annotations

import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from comptoir.core.api import Problem, ProblemOut, StrictSchema, not_found, validation_errors
from comptoir.customers.api_bulk import (
    CustomerFilter,
    RowId,
    Text,
    field_problem,
    filter_query,
    filterset_valid,
    form_problem,
    ids_check,
)
from comptoir.staff.api_auth import api_actor
from comptoir.transfer.formats.profiles import DEFAULT_PROFILE, PROFILES
from comptoir.transfer.forms.exporting import AUTO, ExportForm, columns_field_name
from comptoir.transfer.selectors.exporting import (
    ExportJob,
    JobStatus,
    Scope,
    export_job_get,
    export_jobs_page,
)
from comptoir.transfer.services.exporting import (
    CONTENT_TYPES,
    CSV,
    XLSX,
    export_job_downloaded,
    export_start,
    exports_purge,
)

router = Router(tags=["transfer"])


class ExportIn(StrictSchema):
    scope: Literal["all", "filter", "selection"] = Field(
        Scope.ALL,
        description="all customers; those matching filter; or the ids (among those matching "
        "filter, if given).",
    )
    filter: CustomerFilter | None = Field(None, description="The customers list's filters.")
    ids: list[RowId] | None = Field(None, description="With scope selection: customer ids.")
    profile: Literal[tuple(PROFILES)] = Field(  # type: ignore[valid-type]
        DEFAULT_PROFILE, description="The destination's layout: its columns and conventions."
    )
    format: Literal["csv", "xlsx"] = CSV
    delimiter: Literal["semicolon", "comma", "tab"] | None = Field(
        None, description="CSV separator; null: as the profile's destination expects."
    )
    bom: bool | None = Field(
        None, description="CSV starts with a UTF-8 BOM; null: as the profile expects."
    )
    language: Literal["fr", "en", "key"] | None = Field(
        None,
        description="Column headers in French, English, or technical names (key); null: the "
        "request's language.",
    )
    columns: list[Text] | None = Field(
        None, description="The profile's column keys, in the file's order; null: its defaults."
    )


class ExportScopeOut(Schema):
    scope: str
    filter: str = Field(description="The list's filter, as its query string.")
    ids: list[int] | None


class ExportJobOut(Schema):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    profile: str
    format: str
    scope: ExportScopeOut
    rows: int | None = Field(description="Customers in the file, once done.")
    size: int | None = Field(description="Bytes, once done.")
    file_name: str
    created_at: datetime.datetime
    expires_at: datetime.datetime = Field(description="When the file is removed.")
    finished_at: datetime.datetime | None
    created_by: str
    error: str
    file_url: str | None = Field(description="Where to download the file, once done.")


class ExportJobPageOut(Schema):
    items: list[ExportJobOut]
    page: int
    pages: int
    count: int


def _export_out(job: ExportJob) -> dict:
    ids = job.scope.get("ids")
    return {
        "id": job.id,
        "status": job.status,
        "profile": job.profile,
        "format": job.format,
        "scope": {
            "scope": job.scope.get("scope", Scope.ALL),
            "filter": job.scope.get("filter", ""),
            "ids": ids if isinstance(ids, list) else None,
        },
        "rows": job.rows,
        "size": job.size,
        "file_name": job.file,
        "created_at": job.created,
        "expires_at": job.expires,
        "finished_at": job.finished,
        "created_by": job.user,
        "error": job.error,
        "file_url": (
            reverse("api-v1:export_file", kwargs={"job_id": job.id})
            if job.status == JobStatus.DONE
            else None
        ),
    }


# The export form's field names, as this API names them.
_EXPORT_FIELDS = {
    "file_format": "format",
    "headers": "language",
    "encoding": "bom",
    "query": "filter",
    **{columns_field_name(key): "columns" for key in PROFILES},
}


def _export_form(body: ExportIn) -> ExportForm:
    """The export screen's form, filled from the body: the same checks as the screen."""
    if body.scope == Scope.ALL and body.filter is not None:
        raise field_problem("filter", _("A filter applies to the filter or selection scope."))
    if body.scope != Scope.SELECTION and body.ids is not None:
        raise field_problem("ids", _("Ids apply to the selection scope."))
    if body.scope == Scope.SELECTION and not body.ids:
        raise field_problem(
            "ids", _("Give the ids of the customers to export, or choose another scope."), "empty"
        )
    ids_check(body.ids)
    filterset_valid(body.filter)
    language = (get_language() or "fr")[:2]
    data = QueryDict(mutable=True)
    data.update(
        {
            "scope": body.scope,
            "query": filter_query(body.filter).urlencode(),
            "profile": body.profile,
            "file_format": body.format,
            "delimiter": body.delimiter or AUTO,
            "encoding": AUTO if body.bom is None else ("bom" if body.bom else "plain"),
            "headers": body.language or (language if language in ("fr", "en") else "fr"),
        }
    )
    data.setlist("ids", [str(pk) for pk in body.ids or []])
    columns = body.columns if body.columns is not None else PROFILES[body.profile].default_columns
    data.setlist(columns_field_name(body.profile), list(columns))
    form = ExportForm(data)
    if not form.is_valid():
        raise form_problem(form, fields=_EXPORT_FIELDS)
    return form


def _export_job(job_id: str) -> ExportJob:
    job = export_job_get(job_id=job_id)
    if job is None:
        raise not_found(_("This export is no longer available."))
    return job


@router.get(
    "",
    response=ExportJobPageOut,
    summary="List the background exports",
    description="Those still kept, newest first, 20 a page.",
)
def exports_list(request: HttpRequest, page: int = Query(1, ge=1, le=1_000_000)):
    exports_purge()
    current = export_jobs_page(page=page)
    return {
        "items": [_export_out(job) for job in current.jobs],
        "page": current.number,
        "pages": current.pages,
        "count": current.total,
    }


@router.post(
    "",
    response={202: ExportJobOut},
    summary="Start an export",
    description=(
        "Writes the file in the background (poll the export, then download its file). "
        "Every export is recorded in the audit trail."
    ),
)
def export_create(request: HttpRequest, body: ExportIn):
    form = _export_form(body)
    try:
        started = export_start(
            spec=form.spec, options=form.options, actor=api_actor(request), background=True
        )
    except ValidationError as error:
        errors = [
            {**item, "field": _EXPORT_FIELDS.get(item["field"], item["field"])}
            for item in validation_errors(error)
        ]
        raise Problem(
            status=400, slug="validation", title=errors[0]["message"], errors=errors
        ) from None
    return Status(202, _export_out(ExportJob.from_record(started.job)))


@router.get(
    "/{job_id}",
    response=ExportJobOut,
    summary="Get an export: its status and rows",
)
def export_get(request: HttpRequest, job_id: str):
    return _export_out(_export_job(job_id))


_FILE_RESPONSE = {
    "responses": {
        "200": {
            "description": "The file (CSV or XLSX).",
            "content": {
                CONTENT_TYPES[CSV].split(";")[0]: {"schema": {"type": "string"}},
                CONTENT_TYPES[XLSX]: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}


@router.get(
    "/{job_id}/file",
    response={409: ProblemOut},
    url_name="export_file",
    summary="Download an export's file",
    description="409 while it is being written or when it failed; 404 once removed.",
    openapi_extra=_FILE_RESPONSE,
)
def export_file(request: HttpRequest, job_id: str):
    job = _export_job(job_id)
    if job.expires <= timezone.now():
        raise not_found(_("This export is no longer available."))
    if job.status == JobStatus.FAILED:
        raise Problem(
            status=409, slug="export-failed", title=_("This export failed."), detail=job.error
        )
    if not job.downloadable:
        raise Problem(
            status=409,
            slug="export-not-ready",
            title=_("This export is not ready yet."),
            detail=_("Ask again when its status is done."),
        )
    export_job_downloaded(job_id=job.id, actor=api_actor(request))
    response = FileResponse(
        job.path.open("rb"),
        as_attachment=True,
        filename=job.file,
        content_type=CONTENT_TYPES.get(job.format),
    )
    response["Cache-Control"] = "no-store"
    return response
