"""The export services: the CSV and XLSX files, the events, background exports and their
records, retention."""

from __future__ import annotations

import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.customers.models import Customer
from comptoir.transfer.formats.profiles import PROFILES
from comptoir.transfer.selectors.exporting import (
    ExportScope,
    ExportSpec,
    JobStatus,
    Scope,
    export_job_get,
    export_jobs_page,
    export_record_read,
)
from comptoir.transfer.services import exporting
from comptoir.transfer.services.exporting import (
    FileOptions,
    export_file_write,
    export_job_create,
    export_job_run,
    export_start,
    exports_purge,
)

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def spec_for(profile="comptoir", columns=None, headers="key", scope=None) -> ExportSpec:
    return ExportSpec(
        profile=profile,
        columns=tuple(columns or PROFILES[profile].default_columns),
        headers=headers,
        scope=scope or ExportScope(),
    )


@pytest.fixture
def exports_home(tmp_path, settings):
    settings.COMPTOIR_EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path / "exports"


@pytest.fixture
def customers(make_customer):
    return [
        make_customer(first_name="Anne", last_name="Martin", consents={"newsletter": True}),
        make_customer(first_name="=Bruno", last_name="Petit"),
        make_customer(first_name="Chloé", last_name="Durand", consents={"newsletter": True}),
    ]


def _csv(data: bytes, delimiter=";") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8")), delimiter=delimiter))


def test_a_download_streams_the_csv_and_records_the_event_first(customers, actor):
    spec = spec_for(columns=("id", "first_name", "last_name", "total_spent"), headers="fr")
    started = export_start(spec=spec, options=FileOptions(), actor=actor)
    download = started.download
    assert started.job is None
    assert download.customers == 3
    assert download.filename.startswith("customers-comptoir-")
    assert download.filename.endswith(".csv")
    assert download.content_type == "text/csv; charset=utf-8"
    # The event is written before a byte leaves: an interrupted download is on record too.
    event = Event.objects.get(kind="customers_exported")
    assert event.customer_id is None and event.object_type == "export"
    assert event.actor_id == actor.user_id and event.ip_address == "192.0.2.10"
    assert event.data == {
        "scope": "all",
        "profile": "comptoir",
        "format": "csv",
        "columns": ["id", "first_name", "last_name", "total_spent"],
        "rows": 3,
        "delivery": "download",
    }
    data = b"".join(download.chunks)
    assert data.startswith(b"\xef\xbb\xbf")  # Comptoir's own file: BOM, for Excel
    assert b"\r\n" in data
    rows = _csv(data[3:])
    assert rows[0] == ["ID", "Prénom", "Nom", "Ventes"]
    assert rows[1:] == [
        [str(customers[0].pk), "Anne", "Martin", "0.00"],
        [str(customers[1].pk), "'=Bruno", "Petit", "0.00"],
        [str(customers[2].pk), "Chloé", "Durand", "0.00"],
    ]


def test_delimiter_and_bom_follow_the_profile_unless_chosen(customers, actor):
    brevo = spec_for("brevo")
    data = b"".join(export_start(spec=brevo, options=FileOptions(), actor=actor).download.chunks)
    assert data.startswith(b"EMAIL;FIRSTNAME;LASTNAME;SMS\r\n")  # no BOM, semicolon
    shopify = spec_for("shopify", columns=("email", "first_name"))
    data = b"".join(export_start(spec=shopify, options=FileOptions(), actor=actor).download.chunks)
    assert data.startswith(b"Email,First Name\r\n")
    chosen = FileOptions(delimiter="\t", bom=True)
    data = b"".join(export_start(spec=shopify, options=chosen, actor=actor).download.chunks)
    assert data.startswith("\ufeffEmail\tFirst Name\r\n".encode())
    with pytest.raises(ValueError):
        FileOptions(delimiter="|")


def test_a_filter_the_list_cannot_read_is_a_scope_error_and_records_nothing(customers, actor):
    spec = spec_for(scope=ExportScope(kind=Scope.FILTER, query="registration_after=nope"))
    with pytest.raises(ValidationError) as raised:
        export_start(spec=spec, options=FileOptions(), actor=actor)
    assert "scope" in raised.value.error_dict
    assert not Event.objects.filter(kind="customers_exported").exists()


def test_xlsx_download_writes_numbers_as_numbers_and_text_safely(customers, actor):
    from openpyxl import load_workbook

    Customer.objects.filter(pk=customers[0].pk).update(total_spent=Decimal("12.50"))
    columns = ("id", "last_visit_at", "first_name", "total_spent", "orders_count")
    spec = spec_for(columns=columns, headers="en")
    started = export_start(spec=spec, options=FileOptions(format="xlsx"), actor=actor)
    assert started.download.content_type.endswith("spreadsheetml.sheet")
    workbook = load_workbook(io.BytesIO(b"".join(started.download.chunks)), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0] == ("ID", "Last visit", "First name", "Sales", "Orders")
    assert rows[1] == (customers[0].pk, None, "Anne", 12.5, 0)
    assert rows[2][2] == "'=Bruno"  # text, never a formula
    assert len(rows) == 4


def test_a_large_xlsx_goes_to_the_background(customers, actor, exports_home, monkeypatch):
    monkeypatch.setattr(exporting, "XLSX_STREAM_MAX", 2)
    with override_settings(TASKS=DUMMY):
        started = export_start(spec=spec_for(), options=FileOptions(format="xlsx"), actor=actor)
    assert started.download is None and started.switched_to_background
    assert started.job["status"] == JobStatus.QUEUED


def test_more_rows_than_a_sheet_holds_is_a_format_error(customers, actor, monkeypatch):
    monkeypatch.setattr(exporting, "XLSX_MAX_ROWS", 2)
    with pytest.raises(ValidationError) as raised:
        export_start(spec=spec_for(), options=FileOptions(format="xlsx"), actor=actor)
    assert "file_format" in raised.value.error_dict
    assert not Event.objects.filter(kind="customers_exported").exists()


def test_export_file_write_writes_the_whole_file_then_the_event(customers, tmp_path):
    target = tmp_path / "out" / "customers.csv"
    written = export_file_write(
        spec=spec_for("mailchimp"), options=FileOptions(), actor=Actor.system(), path=target
    )
    assert written == 2
    rows = _csv(target.read_bytes(), delimiter=",")
    assert rows[0] == [
        "Email Address", "First Name", "Last Name", "Address", "Phone Number", "Birthday", "Tags",
    ]  # fmt: skip
    assert [row[1] for row in rows[1:]] == ["Anne", "Chloé"]
    assert list(target.parent.iterdir()) == [target]  # no temporary file left
    event = Event.objects.get(kind="customers_exported")
    assert event.source == "system" and event.actor_id is None
    assert event.data["delivery"] == "command" and event.data["rows"] == 2
    assert event.data["file"] == "customers.csv"


def test_a_failed_write_leaves_no_file(customers, tmp_path, monkeypatch):
    def broken(**kwargs):
        yield from ()
        raise RuntimeError("disk full")

    monkeypatch.setattr(exporting, "export_chunks", broken)
    target = tmp_path / "customers.csv"
    with pytest.raises(RuntimeError):
        export_file_write(spec=spec_for(), options=FileOptions(), actor=Actor.system(), path=target)
    assert list(tmp_path.iterdir()) == []
    assert not Event.objects.filter(kind="customers_exported").exists()


def test_a_background_export_writes_its_file_and_record(customers, actor, exports_home):
    scope = ExportScope(kind=Scope.FILTER, query="newsletter=true")
    with override_settings(TASKS=IMMEDIATE):
        job = export_job_create(
            spec=spec_for("comptoir", columns=("id", "first_name"), scope=scope),
            options=FileOptions(),
            actor=actor,
        )
    record = export_record_read(job["id"])
    assert record["status"] == JobStatus.DONE
    assert record["rows"] == 2
    assert record["user"] == "marie" and record["user_id"] == actor.user_id
    assert record["scope"] == {"scope": "filter", "filter": "newsletter=true"}
    assert record["profile"] == "comptoir" and record["format"] == "csv"
    assert record["task_id"]
    created = datetime.datetime.fromisoformat(record["created"])
    expires = datetime.datetime.fromisoformat(record["expires"])
    assert expires - created == datetime.timedelta(hours=72)
    path = exports_home / record["file"]
    assert record["size"] == path.stat().st_size
    rows = _csv(path.read_bytes()[3:])
    assert [row[1] for row in rows] == ["first_name", "Anne", "Chloé"]
    event = Event.objects.get(kind="customers_exported")
    assert event.actor_id == actor.user_id and event.source == "backoffice"
    assert event.data["delivery"] == "background" and event.data["job"] == job["id"]
    assert event.data["rows"] == 2 and event.data["filter"] == "newsletter=true"
    # Running it again changes nothing.
    export_job_run(job_id=job["id"])
    assert Event.objects.filter(kind="customers_exported").count() == 1


def test_the_retention_comes_from_the_setting(customers, actor, exports_home, settings):
    settings.COMPTOIR_EXPORT_RETENTION_HOURS = 2
    with override_settings(TASKS=DUMMY):
        job = export_job_create(spec=spec_for(), options=FileOptions(), actor=actor)
    created = datetime.datetime.fromisoformat(job["created"])
    assert datetime.datetime.fromisoformat(job["expires"]) - created == datetime.timedelta(hours=2)


def test_a_failing_background_export_says_so(customers, actor, exports_home, monkeypatch):
    with override_settings(TASKS=DUMMY):
        job = export_job_create(spec=spec_for(), options=FileOptions(), actor=actor)
    assert export_job_get(job_id=job["id"]).status == JobStatus.QUEUED

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(exporting, "export_chunks", broken)
    with pytest.raises(RuntimeError):
        export_job_run(job_id=job["id"])
    found = export_job_get(job_id=job["id"])
    assert found.status == JobStatus.FAILED and found.error
    assert not found.downloadable
    assert [path.suffix for path in exports_home.iterdir()] == [".json"]


def test_the_task_status_corrects_a_record_left_running(customers, actor, exports_home):
    from django_tasks_db.models import DBTaskResult

    job = export_job_create(spec=spec_for(), options=FileOptions(), actor=actor)
    data = export_record_read(job["id"])
    data["status"] = JobStatus.RUNNING  # a worker died while writing it
    (exports_home / f"{job['id']}.json").write_text(json.dumps(data))
    DBTaskResult.objects.filter(id=job["task_id"]).update(status="FAILED")
    [listed] = export_jobs_page().jobs
    assert listed.id == job["id"] and listed.status == JobStatus.FAILED


def test_expired_exports_are_purged(customers, actor, exports_home):
    with override_settings(TASKS=IMMEDIATE):
        old = export_job_create(spec=spec_for(), options=FileOptions(), actor=actor)
        fresh = export_job_create(spec=spec_for(), options=FileOptions(), actor=actor)
    assert len(list(exports_home.iterdir())) == 4
    later = timezone.now() + datetime.timedelta(hours=73)
    data = export_record_read(fresh["id"])
    data["expires"] = (later + datetime.timedelta(hours=1)).isoformat()
    (exports_home / f"{fresh['id']}.json").write_text(json.dumps(data))
    assert exports_purge(now=later) == 1
    assert export_record_read(old["id"]) is None
    assert not (exports_home / old["file"]).exists()
    assert (exports_home / fresh["file"]).exists()


def test_job_ids_cannot_reach_outside_the_exports_folder(exports_home):
    assert export_record_read("../../etc/passwd") is None
    assert export_job_get(job_id="20240101-000000-zzzzzzzz") is None
