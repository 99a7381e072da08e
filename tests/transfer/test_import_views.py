"""The import wizard through the test client: upload, mapping, options (which queue the dry
run), the job page and its live part, run, undo, the rejected rows as CSV, bad input."""

from __future__ import annotations

import csv
import io

import pytest
from django_tasks_db.models import DBTaskResult

from comptoir.customers.models import Customer
from comptoir.transfer.models import ImportJob, ImportState
from comptoir.transfer.services.importing import import_dry_run, import_run
from tests.transfer.importing_helpers import csv_bytes

pytestmark = pytest.mark.django_db
OPTIONS = {
    "mode": "upsert",
    "match": "email",
    "empty_cells": "keep",
    "default_group": "",
    "consent_note": "Ancienne boutique",
    "opt_in_level": "unknown",
    "passwords": "reset",
}


@pytest.fixture(autouse=True)
def _imports_dir(settings, tmp_path):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"
    # Pages without a language choice fall back to this; the messages are checked in English.
    settings.LANGUAGE_CODE = "en"


def _upload(client, data: bytes, name: str = "clients.csv"):
    file = io.BytesIO(data)
    file.name = name
    return client.post("/transfer/import/", {"file": file})


def _shopify_like(rows):
    return csv_bytes(["Email", "First Name", "Last Name", "Accepts Email Marketing", "Tags"], rows)


def test_the_wizard_from_upload_to_queued_dry_run(staff_client, django_capture_on_commit_callbacks):
    assert staff_client.get("/transfer/import/").status_code == 200
    response = _upload(staff_client, _shopify_like([["a@example.com", "Ana", "Lopez", "yes", ""]]))
    job = ImportJob.objects.get()
    assert response["Location"] == f"/transfer/import/{job.pk}/mapping/"
    assert job.file_name == "clients.csv" and job.created_by.username == "marie"

    page = staff_client.get(f"/transfer/import/{job.pk}/mapping/")
    assert page.status_code == 200
    assert b'id="import-detected"' in page.content
    assert list(page.context["form"].fields) == ["platform", *[f"col_{i}" for i in range(5)]]
    assert page.context["form"]["col_0"].initial == "email"

    response = staff_client.post(
        f"/transfer/import/{job.pk}/mapping/",
        {"platform": "custom", "col_0": "email", "col_1": "first_name", "col_2": "last_name",
         "col_3": "newsletter", "col_4": ""},
    )  # fmt: skip
    assert response["Location"] == f"/transfer/import/{job.pk}/options/"
    job.refresh_from_db()
    assert job.mapping == ["email", "first_name", "last_name", "newsletter", ""]

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/transfer/import/{job.pk}/options/", OPTIONS)
    assert response["Location"] == f"/transfer/import/{job.pk}/"
    job.refresh_from_db()
    assert job.state == ImportState.ANALYSING and job.consent_note == "Ancienne boutique"
    task = DBTaskResult.objects.get()
    assert task.task_path.endswith("import_dry_run_task") and task.args_kwargs["args"][0] == job.pk
    page = staff_client.get(f"/transfer/import/{job.pk}/")
    assert b'hx-trigger="every 1s"' in page.content  # polls while the dry run works


def test_a_file_that_is_not_a_table_gets_a_form_error(staff_client):
    response = _upload(staff_client, b"\x89PNG\r\n\x1a\n" + bytes(500), name="photo.png")
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "This file is neither a CSV file nor a spreadsheet (XLSX). Export it again as CSV."
    ]
    assert not ImportJob.objects.exists()


def test_a_mapping_without_the_match_key_is_refused_on_the_page(staff_client):
    _upload(staff_client, _shopify_like([["a@example.com", "Ana", "Lopez", "yes", ""]]))
    job = ImportJob.objects.get()
    response = staff_client.post(
        f"/transfer/import/{job.pk}/mapping/",
        {"platform": "custom", "col_0": "", "col_1": "first_name"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "No column is imported as “E-mail”: choose another match key or map a column to it."
    ]
    # The options page says the same of a match key no column carries.
    response = staff_client.post(
        f"/transfer/import/{job.pk}/options/", {**OPTIONS, "match": "external_id"}
    )
    assert response.status_code == 200 and "match" in response.context["form"].errors
    job.refresh_from_db()
    assert job.state == ImportState.UPLOADED and job.mapping[0] == "email"


def test_dry_run_result_then_run_then_report_and_undo(
    staff_client, actor, django_capture_on_commit_callbacks
):
    rows = [["a@example.com", "Ana", "Lopez", "yes", "vip"], ["bad", "B", "C", "no", ""]]
    _upload(staff_client, _shopify_like(rows))
    job = import_dry_run(job=ImportJob.objects.get(), actor=actor)
    page = staff_client.get(f"/transfer/import/{job.pk}/")
    assert page.context["shows_dry_run"]
    html = page.content.decode()
    assert 'id="import-dry-created">1<' in html and 'id="import-dry-rejected">1<' in html
    assert [r.line for r in page.context["rejections"]] == [3]

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"/transfer/import/{job.pk}/run/")
    assert response["Location"] == f"/transfer/import/{job.pk}/"
    job.refresh_from_db()
    assert job.state == ImportState.QUEUED
    assert DBTaskResult.objects.filter(task_path__endswith="import_run_task").count() == 1
    import_run(job=job, actor=actor)

    status = staff_client.get(f"/transfer/import/{job.pk}/status/")
    assert status.templates[0].name == "transfer/_import_status.html"
    assert b"hx-trigger" not in status.content  # finished: no more polling
    assert b'id="import-created">1<' in status.content
    assert b'id="import-undo"' in status.content

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(f"/transfer/import/{job.pk}/undo/")
    job.refresh_from_db()
    assert job.state == ImportState.UNDOING
    assert DBTaskResult.objects.filter(task_path__endswith="import_undo_task").count() == 1
    assert Customer.objects.count() == 1  # the worker has not run it yet


def test_rejected_rows_download_as_formula_safe_csv(staff_client, actor):
    rows = [["=cmd|'/C calc'!A0", "B", "C", "no", ""], ["ok@example.com", "", "", "no", ""]]
    _upload(staff_client, _shopify_like(rows))
    job = import_dry_run(job=ImportJob.objects.get(), actor=actor)
    response = staff_client.get(f"/transfer/import/{job.pk}/rejected.csv?dry=1")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="import-' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert lines[0] == ["Line", "Column", "Reason"]
    assert [line[0] for line in lines[1:]] == ["2", "3", "3"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)


def test_previous_imports_are_listed_in_a_fixed_number_of_queries(
    staff_client, actor, django_assert_num_queries
):
    for n in range(3):
        _upload(staff_client, _shopify_like([[f"p{n}@example.com", "A", "B", "no", ""]]))
    # Session, user, demo-customer banner, count, page of jobs (with their author).
    with django_assert_num_queries(5):
        page = staff_client.get("/transfer/import/")
    assert len(page.context["jobs"]) == 3


def test_an_unknown_import_is_a_404(staff_client):
    assert staff_client.get("/transfer/import/999/").status_code == 404
    assert staff_client.post("/transfer/import/999/run/").status_code == 404


def test_the_navbar_links_to_the_import(staff_client):
    page = staff_client.get("/transfer/import/")
    assert b'href="/transfer/import/"' in page.content
