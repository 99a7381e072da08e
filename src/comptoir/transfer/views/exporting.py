"""The export screens: the export form (a streamed download, or a background export), the
list of background exports with their status, and the download of a kept export."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from comptoir.core.actors import actor_from_request
from comptoir.transfer.formats.profiles import PROFILES
from comptoir.transfer.forms.exporting import (
    ExportForm,
    columns_field_name,
    export_error_message,
    export_form_unbound,
)
from comptoir.transfer.selectors.exporting import (
    export_job_get,
    export_jobs_page,
    export_retention,
    export_scope_overview,
)
from comptoir.transfer.services.exporting import (
    CONTENT_TYPES,
    XLSX_STREAM_MAX,
    export_job_downloaded,
    export_start,
    exports_purge,
)


@require_http_methods(["GET", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    """GET: the export screen, opened from the customers list with its filter or selection.
    POST: the file, streamed; or, for a background export, the exports page."""
    if request.method == "POST":
        form = ExportForm(request.POST)
        if form.is_valid():
            try:
                started = export_start(
                    spec=form.spec,
                    options=form.options,
                    actor=actor_from_request(request),
                    background=form.background,
                )
            except ValidationError as error:
                for field, errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                if started.download is not None:
                    return _download_response(started.download)
                if started.switched_to_background:
                    messages.info(
                        request,
                        _(
                            "A spreadsheet of more than %(count)s customers takes a while: it is "
                            "prepared in the background and listed below when ready."
                        )
                        % {"count": number_format(XLSX_STREAM_MAX, force_grouping=True)},
                    )
                else:
                    messages.success(
                        request,
                        _("The export is prepared in the background; it is listed below."),
                    )
                return redirect("transfer:exports")
        messages.error(request, export_error_message())
    else:
        form = export_form_unbound(request.GET)
    return render(request, "transfer/export.html", _screen_context(form))


def _screen_context(form: ExportForm) -> dict:
    value = form["query"].value() or ""
    ids = [int(pk) for pk in (form["ids"].value() or []) if str(pk).isdecimal()]
    everything = bool(form["all"].value()) and form["all"].value() not in ("False", "0")
    overview = export_scope_overview(
        query=value, ids=None if everything else ids, selection=everything or bool(ids)
    )
    chosen = form["profile"].value() or "comptoir"
    return {
        "form": form,
        "overview": overview,
        "selection_all": everything,
        "profiles": [
            {
                "profile": profile,
                "field": form[columns_field_name(profile.key)],
                "rows": form.column_rows(profile),
                "chosen": profile.key == chosen,
            }
            for profile in PROFILES.values()
        ],
    }


def _download_response(download) -> StreamingHttpResponse:
    response = StreamingHttpResponse(download.chunks, content_type=download.content_type)
    response["Content-Disposition"] = content_disposition_header(True, download.filename)
    # Send each piece as it is made: a proxy that buffers the whole file would time out.
    response["X-Accel-Buffering"] = "no"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def exports(request: HttpRequest) -> HttpResponse:
    """The background exports still kept, with their status (the table refreshes itself while
    one is under way)."""
    exports_purge()
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    page = export_jobs_page(page=number)
    template = "transfer/_exports_table.html" if request.htmx else "transfer/exports.html"
    return render(
        request,
        template,
        {
            "page": page,
            "retention_hours": round(export_retention().total_seconds() / 3600),
        },
    )


@require_GET
def export_download(request: HttpRequest, job_id: str) -> FileResponse:
    """A kept export's file, while it is kept."""
    job = export_job_get(job_id=job_id)
    if job is None or not job.downloadable or job.expires <= timezone.now():
        raise Http404(_("This export is no longer available."))
    export_job_downloaded(job_id=job.id, actor=actor_from_request(request))
    response = FileResponse(
        job.path.open("rb"),
        as_attachment=True,
        filename=job.file,
        content_type=CONTENT_TYPES.get(job.format),
    )
    response["Cache-Control"] = "no-store"
    return response
