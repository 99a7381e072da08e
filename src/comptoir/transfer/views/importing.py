"""The import wizard: upload -> detected format and mapping (editable) -> options -> dry run ->
run -> report, plus the live progress (htmx), the rejected rows as CSV, and undo.

Views read the request, call one service or selector and render; a service's refusal becomes a
form error or a message, never an error page.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comptoir.core.actors import actor_from_request
from comptoir.core.csv_safety import cell_safe
from comptoir.transfer.formats import registry
from comptoir.transfer.forms.importing import (
    ImportMappingForm,
    ImportOptionsForm,
    ImportUploadForm,
    errors_attach,
)
from comptoir.transfer.models import ImportJob, ImportState
from comptoir.transfer.selectors.importing import (
    ACTIVE_STATES,
    REJECTIONS_SHOWN,
    import_format_label,
    import_job_get,
    import_jobs_page,
    import_mapping_rows,
    import_progress,
    import_rejections,
)
from comptoir.transfer.services.import_undo import import_undo_enqueue
from comptoir.transfer.services.importing import (
    CONFIGURABLE,
    import_dry_run_enqueue,
    import_job_configure,
    import_job_create,
    import_mapping_proposal,
    import_run_enqueue,
)


def _job(pk: int) -> ImportJob:
    try:
        return import_job_get(pk=pk)
    except ImportJob.DoesNotExist:
        raise Http404 from None


@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    """Step 1: upload a file; below, the previous imports."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_job_create(
                source=upload,
                file_name=upload.name,
                actor=actor_from_request(request),
                language=request.LANGUAGE_CODE,
            )
        except ValidationError as error:
            errors_attach(form, error)
        else:
            return redirect("transfer:import_mapping", pk=job.pk)
    return render(
        request,
        "transfer/import.html",
        {"form": form, "jobs": import_jobs_page(page=request.GET.get("page"))},
    )


@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2: the detected format and each column's field, which the user may change."""
    job = _job(pk)
    if job.state not in CONFIGURABLE:
        return redirect("transfer:import_job", pk=job.pk)
    platform = request.GET.get("format") or job.platform
    proposal = import_mapping_proposal(job=job, platform=platform)
    columns = import_mapping_rows(job=job, mapping=proposal)
    form = ImportMappingForm(request.POST or None, columns=columns, initial={"platform": platform})
    if request.method == "POST" and form.is_valid():
        try:
            import_job_configure(
                job=job,
                actor=actor_from_request(request),
                platform=form.cleaned_data["platform"],
                mapping=form.mapping(),
            )
        except ValidationError as error:
            errors_attach(form, error)
        else:
            return redirect("transfer:import_options", pk=job.pk)
    return render(
        request,
        "transfer/import_mapping.html",
        {
            "job": job,
            "form": form,
            "detected": import_format_label(job),
            "recognised": job.platform != registry.CUSTOM.key,
        },
    )


@require_http_methods(["GET", "POST"])
def import_options(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 3: what to do with the rows; submitting starts the dry run."""
    job = _job(pk)
    if job.state not in CONFIGURABLE:
        return redirect("transfer:import_job", pk=job.pk)
    initial = {
        "mode": job.mode,
        "match": job.match,
        "empty_cells": job.empty_cells,
        "default_group": job.default_group,
        "consent_note": job.consent_note,
        "opt_in_level": job.opt_in_level,
        "passwords": job.passwords,
    }
    form = ImportOptionsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = actor_from_request(request)
        try:
            job = import_job_configure(job=job, actor=actor, **form.cleaned_data)
            import_dry_run_enqueue(job=job, actor=actor)
        except ValidationError as error:
            errors_attach(form, error)
        else:
            return redirect("transfer:import_job", pk=job.pk)
    return render(
        request,
        "transfer/import_options.html",
        {"job": job, "form": form, "has_passwords": "password" in job.mapping},
    )


def _status_context(job: ImportJob) -> dict:
    dry = job.state in {ImportState.ANALYSING, ImportState.ANALYSED}
    return {
        "job": job,
        "progress": import_progress(job=job),
        "active": job.state in ACTIVE_STATES,
        "format_label": import_format_label(job),
        "rejections": import_rejections(
            job=job, dry_run=dry or job.state == ImportState.UPLOADED, limit=REJECTIONS_SHOWN
        ),
        "shows_dry_run": dry,
    }


@require_GET
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """Steps 4-6: the dry run's result, the run's progress, the report, undo."""
    job = _job(pk)
    return render(request, "transfer/import_job.html", _status_context(job))


@require_GET
def import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the job page, polled by htmx while the job works."""
    job = _job(pk)
    return render(request, "transfer/_import_status.html", _status_context(job))


@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(pk)
    try:
        import_run_enqueue(job=job, actor=actor_from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("transfer:import_job", pk=job.pk)


@require_POST
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(pk)
    try:
        import_undo_enqueue(job=job, actor=actor_from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The import is being undone."))
    return redirect("transfer:import_job", pk=job.pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
def import_rejections_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """Every rejected row (of the dry run with ``?dry=1``), as a CSV file for a spreadsheet."""
    job = _job(pk)
    dry_run = request.GET.get("dry") == "1"
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
