"""The transfer endpoints of the back-office API (/api/v1/transfer): import jobs from upload to
dry run, run, progress, rejected rows and undo; background exports from start to download.
Authentication on every endpoint, events signed "api" with the token's staff member, each bad
input a 400 naming its field, a job in the wrong state a 409, unknown ids 404.

Background work goes through the Django Tasks API: the immediate backend runs it in the test
(once the transaction commits, for imports), the dummy backend leaves it queued."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import override_settings

from comptoir.core.models import Event
from comptoir.customers.models import ConsentRecord, Customer, Membership
from comptoir.staff.services import api_token_create
from comptoir.transfer.models import ImportJob, ImportState
from comptoir.transfer.services import exporting
from comptoir.transfer.services.importing import import_dry_run, import_run
from tests.transfer.importing_helpers import csv_bytes

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/transfer/imports"
EXPORTS = "/api/v1/transfer/exports"
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
HEADER = ["Email", "First Name", "Last Name", "Accepts Email Marketing", "Tags"]


class Api:
    """The Django test client with a bearer token: JSON bodies, or multipart with ``form``."""

    def __init__(self, client, raw: str):
        self.client, self.raw = client, raw

    def call(self, method, path, body=None, *, raw=None, form=None, **extra):
        headers = {"HTTP_ACCEPT_LANGUAGE": extra.pop("HTTP_ACCEPT_LANGUAGE", "en")}
        secret = self.raw if raw is None else raw
        if secret:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        if form is not None:
            extra["data"] = form
        elif body is not None:
            extra.setdefault("content_type", "application/json")
            extra["data"] = json.dumps(body)
        return getattr(self.client, method)(path, **headers, **extra)

    def get(self, path, **kwargs):
        return self.call("get", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("post", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.call("patch", path, body, **kwargs)

    def upload(self, data: bytes, name: str = "clients.csv", **fields):
        file = io.BytesIO(data)
        file.name = name
        return self.post(IMPORTS, form={"file": file, **fields})


@pytest.fixture
def api(client, actor):
    _token, raw = api_token_create(name="integration", actor=actor)
    return Api(client, raw)


@pytest.fixture
def read_only_raw(actor):
    return api_token_create(name="reporting", actor=actor, read_only=True)[1]


@pytest.fixture(autouse=True)
def imports_home(settings, tmp_path):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"
    return tmp_path / "imports"


@pytest.fixture(autouse=True)
def exports_home(settings, tmp_path):
    settings.COMPTOIR_EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path / "exports"


def shopify_like(rows) -> bytes:
    return csv_bytes(HEADER, rows)


def stored_files(folder) -> list:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def field_errors(response):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {error["field"]: error for error in response.json()["errors"]}


def csv_lines(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body), delimiter=";"))


@pytest.fixture
def uploaded(api, actor):
    """An uploaded file (two good rows, one bad), recognised as Shopify's."""
    rows = [
        ["ana@example.com", "Ana", "Lopez", "yes", "vip"],
        ["=cmd|'/C calc'!A0", "B", "C", "no", ""],
        ["bea@example.com", "Bea", "Martin", "no", ""],
    ]
    response = api.upload(shopify_like(rows))
    assert response.status_code == 201, response.content
    return ImportJob.objects.get(pk=response.json()["id"])


# Authentication: every endpoint


def endpoints(job_id: int, export_id: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", IMPORTS, None),
        ("post", IMPORTS, None),
        ("get", f"{IMPORTS}/{job_id}", None),
        ("patch", f"{IMPORTS}/{job_id}", {"mode": "create"}),
        ("post", f"{IMPORTS}/{job_id}/dry-run", None),
        ("post", f"{IMPORTS}/{job_id}/run", None),
        ("post", f"{IMPORTS}/{job_id}/undo", None),
        ("get", f"{IMPORTS}/{job_id}/rejections", None),
        ("get", EXPORTS, None),
        ("post", EXPORTS, {"scope": "all"}),
        ("get", f"{EXPORTS}/{export_id}", None),
        ("get", f"{EXPORTS}/{export_id}/file", None),
    ]


@pytest.fixture
def finished_export(api, make_customer):
    make_customer(first_name="Ana")
    with override_settings(TASKS=IMMEDIATE):
        response = api.post(EXPORTS, {"profile": "comptoir", "columns": ["id", "email"]})
    assert response.json()["status"] == "done"
    return response.json()["id"]


def test_anonymous_and_wrong_tokens_get_401_everywhere(api, uploaded, finished_export):
    before = (ImportJob.objects.count(), Event.objects.count())
    for method, path, body in endpoints(uploaded.pk, finished_export):
        for raw in ("", "cpt_wrong"):
            response = api.call(method, path, body, raw=raw)
            assert response.status_code == 401, (method, path)
            assert response.json()["type"] == "urn:comptoir:problem:unauthenticated"
    assert (ImportJob.objects.count(), Event.objects.count()) == before
    assert ImportJob.objects.get().state == ImportState.UPLOADED


def test_a_read_only_token_reads_but_starts_or_changes_nothing(
    api, uploaded, finished_export, read_only_raw, exports_home
):
    exports_before = stored_files(exports_home)
    for method, path, body in endpoints(uploaded.pk, finished_export):
        response = api.call(method, path, body, raw=read_only_raw)
        if method == "get":
            assert response.status_code == 200, (path, response.content)
        else:
            assert response.status_code == 403, (method, path)
            assert response.json()["type"] == "urn:comptoir:problem:read-only-token"
    job = ImportJob.objects.get()
    assert job.state == ImportState.UPLOADED and job.mode == "upsert"
    assert stored_files(exports_home) == exports_before
    assert Event.objects.filter(kind="customers_exported").count() == 1


# Imports: upload


def test_upload_recognises_the_file_and_records_it(api, staff_user):
    response = api.upload(shopify_like([["ana@example.com", "Ana", "Lopez", "yes", ""]]))
    assert response.status_code == 201, response.content
    body = response.json()
    job = ImportJob.objects.get()
    assert body["id"] == job.pk and body["state"] == "uploaded"
    assert body["file_name"] == "clients.csv" and body["format"] == "shopify"
    assert body["header"] == HEADER
    assert body["mapping"][:3] == ["email", "first_name", "last_name"]
    assert body["options"]["mode"] == "upsert" and body["dry_run"] is None
    assert body["created_by"] == "marie" and job.created_by == staff_user
    event = Event.objects.get(kind="import_uploaded")
    assert (event.source, event.actor_id, event.object_id) == ("api", staff_user.pk, job.pk)
    assert not Event.objects.filter(kind="import_configured").exists()


def test_upload_with_options_configures_the_job_as_the_wizard_does(api, vip_group, staff_user):
    response = api.upload(
        shopify_like([["ana@example.com", "Ana", "Lopez", "yes", ""]]),
        format="custom",
        mapping=["email", "first_name", "", "newsletter", ""],
        mode="create",
        match="email",
        empty_cells="clear",
        default_group=str(vip_group.pk),
        consent_source="Ancienne boutique",
        opt_in_level="confirmed",
        passwords="reset",
    )
    assert response.status_code == 201, response.content
    job = ImportJob.objects.get()
    assert job.platform == "custom" and job.mapping == ["email", "first_name", "", "newsletter", ""]
    assert (job.mode, job.empty_cells, job.default_group, job.consent_note, job.opt_in_level) == (
        "create",
        "clear",
        vip_group,
        "Ancienne boutique",
        "confirmed",
    )
    options = response.json()["options"]
    assert options["default_group"] == vip_group.pk
    assert options["consent_source"] == "Ancienne boutique"
    event = Event.objects.get(kind="import_configured")
    assert (event.source, event.actor_id) == ("api", staff_user.pk)


def test_choosing_a_format_without_a_mapping_takes_its_mapping(api):
    response = api.upload(
        shopify_like([["ana@example.com", "Ana", "Lopez", "yes", ""]]), format="custom"
    )
    assert response.json()["format"] == "custom"
    assert response.json()["mapping"][0] == "email"


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"mode": "merge"}, "mode", "enum"),
        ({"format": "excel"}, "format", "literal_error"),
        ({"mapping": ["email", "shoe_size", "", "", ""]}, "mapping", "invalid"),
        ({"mapping": ["first_name", "", "", "", ""]}, "match", "invalid"),
        ({"default_group": "999999"}, "default_group", "invalid_choice"),
        ({"default_group": "many"}, "default_group", "int_parsing"),
        ({"consent_source": "x" * 256}, "consent_source", "string_too_long"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
    ],
)
def test_bad_options_refuse_the_upload_and_leave_nothing_behind(
    api, imports_home, fields, field, code
):
    response = api.upload(shopify_like([["ana@example.com", "Ana", "Lopez", "yes", ""]]), **fields)
    assert field_errors(response)[field]["code"] == code
    assert not ImportJob.objects.exists()
    assert stored_files(imports_home) == []
    assert not Event.objects.filter(kind__startswith="import").exists()


def test_an_upload_without_a_file_or_with_no_table_is_a_400(api, imports_home):
    assert field_errors(api.post(IMPORTS, form={"mode": "create"}))["file"]["code"] == "missing"
    response = api.upload(b"\x89PNG\r\n\x1a\n" + bytes(500), name="photo.png")
    assert "file" in field_errors(response)
    assert not ImportJob.objects.exists() and stored_files(imports_home) == []


def test_a_file_larger_than_allowed_is_refused(api, settings, imports_home):
    settings.COMPTOIR_IMPORT_MAX_MB = 0
    response = api.upload(shopify_like([["ana@example.com", "Ana", "Lopez", "yes", ""]]))
    assert "file" in field_errors(response)
    assert stored_files(imports_home) == []


# Imports: dry run, run, progress, rejected rows, undo


def test_from_dry_run_to_run_to_undo(
    api, uploaded, staff_user, vip_group, django_capture_on_commit_callbacks
):
    url = f"{IMPORTS}/{uploaded.pk}"
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{url}/dry-run")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "analysing"

    body = api.get(url).json()
    assert body["state"] == "analysed" and body["state_label"] == "Dry run done, ready to import"
    assert body["dry_run"] == {"rows": 3, "created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert body["progress"]["total"] == 3
    assert not Customer.objects.exists()

    lines = csv_lines(api.get(f"{url}/rejections"))
    assert lines[0] == ["Line", "Column", "Reason"] and [line[0] for line in lines[1:]] == ["3"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)

    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{url}/run")
    assert response.status_code == 202 and response.json()["state"] == "queued"
    started = Event.objects.get(kind="import_started")
    assert (started.source, started.actor_id, started.object_id) == (
        "api",
        staff_user.pk,
        uploaded.pk,
    )

    body = api.get(url).json()
    assert body["state"] == "done"
    assert body["result"] == {"rows": 3, "created": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert body["progress"]["done"] == 3 and body["progress"]["percent"] == 100
    assert body["finished_at"] is not None
    assert sorted(Customer.objects.values_list("email", flat=True)) == [
        "ana@example.com",
        "bea@example.com",
    ]
    # The run's own rejected rows, formula-safe, once it ran.
    response = api.get(f"{url}/rejections")
    assert 'filename="import-' in response["Content-Disposition"]
    assert "dry-run" not in response["Content-Disposition"]
    assert [line[0] for line in csv_lines(response)[1:]] == ["3"]
    assert len(csv_lines(api.get(f"{url}/rejections?dry_run=true"))) == 2

    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{url}/undo")
    assert response.status_code == 202 and response.json()["state"] == "undoing"
    body = api.get(url).json()
    assert body["state"] == "undone" and body["undo"]["reverted"] == 2
    assert not Customer.objects.exists()


def test_the_run_waits_for_a_worker_when_the_backend_queues(api, uploaded, actor):
    from django_tasks_db.models import DBTaskResult

    import_dry_run(job=uploaded, actor=actor)
    response = api.post(f"{IMPORTS}/{uploaded.pk}/run")
    assert response.json()["state"] == "queued"
    assert not Customer.objects.exists()
    uploaded.refresh_from_db()
    assert uploaded.state == ImportState.QUEUED
    assert not DBTaskResult.objects.exists()  # queued once the request's transaction commits


@pytest.mark.parametrize("step", ["run", "undo"])
def test_a_step_the_state_does_not_allow_is_a_409(api, uploaded, step):
    response = api.post(f"{IMPORTS}/{uploaded.pk}/{step}")
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "urn:comptoir:problem:import-state-conflict" and body["title"]
    uploaded.refresh_from_db()
    assert uploaded.state == ImportState.UPLOADED


def test_an_import_that_ran_cannot_be_reconfigured_or_analysed_again(api, uploaded, actor):
    import_run(job=import_dry_run(job=uploaded, actor=actor), actor=actor)
    for method, path, body in [
        ("patch", "", {"mode": "create"}),
        ("post", "/dry-run", None),
    ]:
        response = api.call(method, f"{IMPORTS}/{uploaded.pk}{path}", body)
        assert response.status_code == 409, (method, path, response.content)
    uploaded.refresh_from_db()
    assert uploaded.state == ImportState.DONE and uploaded.mode == "upsert"


def test_patch_changes_the_options_given(api, uploaded, staff_user, vip_group):
    response = api.patch(
        f"{IMPORTS}/{uploaded.pk}",
        {"mode": "update", "default_group": vip_group.pk, "consent_source": "Salon"},
    )
    assert response.status_code == 200, response.content
    uploaded.refresh_from_db()
    assert (uploaded.mode, uploaded.default_group, uploaded.consent_note) == (
        "update",
        vip_group,
        "Salon",
    )
    assert uploaded.match == "email"  # not given: unchanged
    response = api.patch(f"{IMPORTS}/{uploaded.pk}", {"default_group": None})
    uploaded.refresh_from_db()
    assert uploaded.default_group is None
    assert (
        Event.objects.filter(kind="import_configured", source="api", actor=staff_user).count() == 2
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"match": "phone"}, "match"),
        ({"match": "external_id"}, "match"),
        ({"mapping": "email"}, "mapping"),
        ({"mapping": ["email", "bogus"]}, "mapping"),
        ({"opt_in_level": "double"}, "opt_in_level"),
        ({"passwords": "keep"}, "passwords"),
        ({"default_group": 0}, "default_group"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_patch_errors_change_nothing(api, uploaded, body, field):
    assert field in field_errors(api.patch(f"{IMPORTS}/{uploaded.pk}", body))
    uploaded.refresh_from_db()
    assert uploaded.match == "email" and uploaded.mapping[0] == "email"


def test_the_list_of_imports_in_a_fixed_number_of_queries(api, django_assert_num_queries):
    for n in range(3):
        api.upload(shopify_like([[f"p{n}@example.com", "A", "B", "no", ""]]), name=f"f{n}.csv")
    # The token (and its staff member), the count, the page of jobs with their author.
    with django_assert_num_queries(3):
        response = api.get(IMPORTS)
    body = response.json()
    assert (body["count"], body["page"], body["pages"]) == (3, 1, 1)
    assert [item["file_name"] for item in body["items"]] == ["f2.csv", "f1.csv", "f0.csv"]


@pytest.mark.parametrize("pk", ["999999", "0", str(2**64)])
def test_an_unknown_import_is_a_404(api, pk):
    for method, path in [
        ("get", ""),
        ("patch", ""),
        ("post", "/dry-run"),
        ("post", "/run"),
        ("post", "/undo"),
        ("get", "/rejections"),
    ]:
        response = api.call(method, f"{IMPORTS}/{pk}{path}", {} if method == "patch" else None)
        assert response.status_code == 404, (method, path)
        assert response.json()["type"] == "urn:comptoir:problem:not-found"


# Exports


@pytest.fixture
def customers(make_customer):
    return [
        make_customer(first_name="Anne", email="anne@example.com", consents={"newsletter": True}),
        make_customer(first_name="Bruno", email="bruno@example.com"),
        make_customer(first_name="Chloé", email="chloe@example.com", consents={"newsletter": True}),
    ]


def download(api, export_id):
    response = api.get(f"{EXPORTS}/{export_id}/file")
    assert response.status_code == 200, response.content
    return response


def test_an_export_by_filter_runs_in_the_background_and_downloads(api, customers, staff_user):
    with override_settings(TASKS=IMMEDIATE):
        response = api.post(
            EXPORTS,
            {
                "scope": "filter",
                "filter": {"newsletter": True},
                "profile": "comptoir",
                "columns": ["email", "first_name"],
                "delimiter": "comma",
                "bom": False,
                "language": "en",
            },
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "done" and body["rows"] == 2
    assert body["scope"] == {"scope": "filter", "filter": "newsletter=true", "ids": None}
    assert body["created_by"] == "marie" and body["format"] == "csv"
    assert body["file_url"] == f"{EXPORTS}/{body['id']}/file"
    assert api.get(f"{EXPORTS}/{body['id']}").json()["size"] == body["size"] > 0

    response = download(api, body["id"])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.splitlines() == [
        "Email,First name",
        "anne@example.com,Anne",
        "chloe@example.com,Chloé",
    ]

    exported = Event.objects.get(kind="customers_exported")
    assert (exported.source, exported.actor_id) == ("api", staff_user.pk)
    assert exported.data["rows"] == 2 and exported.data["job"] == body["id"]
    downloaded = Event.objects.get(kind="customers_export_downloaded")
    assert (downloaded.source, downloaded.actor_id, downloaded.data) == (
        "api",
        staff_user.pk,
        {"job": body["id"]},
    )


def test_an_export_of_selected_ids_as_a_spreadsheet(api, customers):
    from openpyxl import load_workbook

    with override_settings(TASKS=IMMEDIATE):
        response = api.post(
            EXPORTS,
            {"scope": "selection", "ids": [customers[1].pk], "format": "xlsx",
             "columns": ["id", "email"], "language": "fr"},
        )  # fmt: skip
    body = response.json()
    assert body["rows"] == 1 and body["scope"]["ids"] == [customers[1].pk]
    response = download(api, body["id"])
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    rows = list(workbook.active.values)
    assert rows == [("ID", "E-mail"), (customers[1].pk, "bruno@example.com")]


def test_an_export_still_queued_cannot_be_downloaded_yet(api, customers):
    with override_settings(TASKS=DUMMY):
        response = api.post(EXPORTS, {})
    body = response.json()
    assert response.status_code == 202 and body["status"] == "queued" and body["file_url"] is None
    assert api.get(f"{EXPORTS}/{body['id']}").json()["status"] == "queued"
    response = api.get(f"{EXPORTS}/{body['id']}/file")
    assert response.status_code == 409
    assert response.json()["type"] == "urn:comptoir:problem:export-not-ready"
    assert not Event.objects.filter(kind__startswith="customers_export").exists()


def test_a_failed_export_says_so(api, customers, monkeypatch):
    with override_settings(TASKS=DUMMY):
        export_id = api.post(EXPORTS, {}).json()["id"]

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(exporting, "export_chunks", broken)
    with pytest.raises(RuntimeError):
        exporting.export_job_run(job_id=export_id)
    assert api.get(f"{EXPORTS}/{export_id}").json()["status"] == "failed"
    response = api.get(f"{EXPORTS}/{export_id}/file")
    assert response.status_code == 409
    assert response.json()["type"] == "urn:comptoir:problem:export-failed"


def test_the_list_of_exports(api, customers):
    with override_settings(TASKS=IMMEDIATE):
        first = api.post(EXPORTS, {"profile": "brevo", "columns": ["email"]}).json()
        second = api.post(EXPORTS, {"format": "xlsx"}).json()
    body = api.get(EXPORTS).json()
    assert (body["count"], body["page"], body["pages"]) == (2, 1, 1)
    assert {item["id"] for item in body["items"]} == {first["id"], second["id"]}
    assert {item["profile"] for item in body["items"]} == {"brevo", "comptoir"}
    assert first["rows"] == 2  # Brevo: newsletter subscribers only


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"scope": "everyone"}, "scope", "literal_error"),
        ({"profile": "sage"}, "profile", "literal_error"),
        ({"format": "pdf"}, "format", "literal_error"),
        ({"delimiter": "pipe"}, "delimiter", "literal_error"),
        ({"language": "de"}, "language", "literal_error"),
        ({"columns": ["email", "shoe_size"]}, "columns", "invalid_choice"),
        ({"columns": []}, "columns", "empty"),
        ({"columns": ["id", "first_name"]}, "columns", "required_column"),
        ({"profile": "brevo", "columns": ["firstname"]}, "columns", "required_column"),
        ({"scope": "selection"}, "ids", "empty"),
        ({"scope": "selection", "ids": []}, "ids", "empty"),
        ({"scope": "all", "ids": [1]}, "ids", "invalid"),
        ({"scope": "all", "filter": {"newsletter": True}}, "filter", "invalid"),
        ({"scope": "filter", "filter": {"group": 999_999}}, "filter.group", "invalid_choice"),
        ({"scope": "filter", "filter": {"sort": "id"}}, "filter.sort", "extra_forbidden"),
        ({"bom": "maybe"}, "bom", "bool_parsing"),
        ({"rows": 10}, "rows", "extra_forbidden"),
    ],
)
def test_a_bad_export_request_is_a_400_naming_the_field(
    api, customers, exports_home, body, field, code
):
    with override_settings(TASKS=IMMEDIATE):
        response = api.post(EXPORTS, body)
    field_errors(response)
    assert (field, code) in [(error["field"], error["code"]) for error in response.json()["errors"]]
    assert stored_files(exports_home) == []
    assert not Event.objects.filter(kind="customers_exported").exists()


def test_too_many_rows_for_a_spreadsheet_is_a_400_on_the_format(api, customers, monkeypatch):
    monkeypatch.setattr(exporting, "XLSX_MAX_ROWS", 2)
    with override_settings(TASKS=IMMEDIATE):
        response = api.post(EXPORTS, {"format": "xlsx"})
    assert "format" in field_errors(response)


@pytest.mark.parametrize("export_id", ["20250101-120000-0123abcd", "not-an-id", "..%2F..%2Fetc"])
def test_an_unknown_export_is_a_404(api, export_id):
    for path in ("", "/file"):
        response = api.get(f"{EXPORTS}/{export_id}{path}")
        assert response.status_code == 404
        assert response.json()["type"] == "urn:comptoir:problem:not-found"


def test_an_expired_export_is_a_404(api, customers, exports_home):
    with override_settings(TASKS=IMMEDIATE):
        export_id = api.post(EXPORTS, {}).json()["id"]
    record = exports_home / f"{export_id}.json"
    data = json.loads(record.read_text())
    data["expires"] = "2000-01-01T00:00:00+00:00"
    record.write_text(json.dumps(data))
    assert api.get(f"{EXPORTS}/{export_id}/file").status_code == 404


def test_imports_write_consents_with_the_source_given(
    api, staff_user, django_capture_on_commit_callbacks
):
    response = api.upload(
        shopify_like([["ana@example.com", "Ana", "Lopez", "yes", ""]]),
        consent_source="Salon 2025",
    )
    url = f"{IMPORTS}/{response.json()['id']}"
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        api.post(f"{url}/dry-run")
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        api.post(f"{url}/run")
    customer = Customer.objects.get()
    record = ConsentRecord.objects.get(customer=customer, channel="newsletter")
    assert record.granted and record.note == "Salon 2025"
    assert Membership.objects.filter(customer=customer).count() == 1
