"""The export screens through the test client, the customers list's hand-off to them, and the
``comptoir export`` command."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from comptoir.core.models import Event
from comptoir.transfer.selectors.exporting import export_record_read

pytestmark = pytest.mark.django_db

DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def customers(make_customer):
    return [
        make_customer(first_name="Anne", email="anne@example.com", consents={"newsletter": True}),
        make_customer(first_name="Bruno", email="bruno@example.com"),
        make_customer(first_name="Chloé", email="chloe@example.com", consents={"newsletter": True}),
    ]


@pytest.fixture
def exports_home(tmp_path, settings):
    settings.COMPTOIR_EXPORT_DIR = str(tmp_path / "exports")
    return tmp_path / "exports"


def post_data(**overrides) -> dict:
    data = {
        "scope": "all",
        "query": "",
        "profile": "brevo",
        "columns_brevo": ["email", "firstname"],
        "file_format": "csv",
        "delimiter": "auto",
        "encoding": "auto",
        "headers": "fr",
        "delivery": "download",
    }
    data.update(overrides)
    return data


def test_the_screen_opens_on_the_lists_filter_with_counts(staff_client, customers):
    response = staff_client.get("/transfer/export/", {"query": "newsletter=true&page=2"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form["scope"].value() == "filter"
    overview = response.context["overview"]
    assert (overview.all, overview.filter, overview.selection) == (3, 2, None)
    html = response.content.decode()
    assert 'id="scope-count-filter">2<' in html
    assert 'id="filter-summary"' in html
    assert 'value="selection"' not in html  # nothing was selected: no such choice


def test_the_screen_opens_on_a_selection(staff_client, customers):
    ids = [customers[0].pk, customers[1].pk]
    response = staff_client.get("/transfer/export/", {"query": "newsletter=true", "ids": ids})
    assert response.context["form"]["scope"].value() == "selection"
    # Ticked ids count inside the filter they were ticked under.
    assert response.context["overview"].selection == 1
    html = response.content.decode()
    for pk in ids:
        assert f'<input type="hidden" name="ids" value="{pk}">' in html


def test_a_download_streams_the_file(staff_client, customers, staff_user):
    response = staff_client.post(
        "/transfer/export/", post_data(scope="filter", query="newsletter=true&sort=-id")
    )
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-brevo-')
    body = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(body), delimiter=";")) == [
        ["EMAIL", "FIRSTNAME"],
        ["anne@example.com", "Anne"],
        ["chloe@example.com", "Chloé"],
    ]
    event = Event.objects.get(kind="customers_exported")
    assert event.actor_id == staff_user.pk
    assert event.data["filter"] == "newsletter=true"  # the list's filters only, not its sort
    assert event.data["rows"] == 2


def test_columns_come_in_the_order_sent(staff_client, customers):
    data = post_data(profile="comptoir", columns_comptoir=["email", "id"], headers="key")
    response = staff_client.post("/transfer/export/", data)
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == "email;id"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"columns_brevo": []}, "columns_brevo", "Choose at least one column."),
        ({"columns_brevo": ["firstname"]}, "columns_brevo", "This file needs the column “EMAIL”."),
        (
            {"profile": "comptoir", "columns_comptoir": ["first_name", "address_city"]},
            "columns_comptoir",
            "Keep the ID or the e-mail column",
        ),
        ({"scope": "selection"}, "scope", "No customer was selected in the list"),
        ({"scope": "filter", "query": "sales_min=lots"}, "scope", "Correct the filters"),
        ({"profile": "nope"}, "profile", "Select a valid choice."),
    ],
)
def test_bad_input_is_a_field_error_and_exports_nothing(
    staff_client, customers, overrides, field, message
):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = staff_client.post("/transfer/export/", post_data(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert not Event.objects.filter(kind="customers_exported").exists()


def test_the_background_button_queues_an_export_and_lists_it(staff_client, customers, exports_home):
    with override_settings(TASKS=IMMEDIATE):
        response = staff_client.post("/transfer/export/", post_data(delivery="background"))
    assert response.status_code == 302 and response["Location"] == "/transfer/exports/"
    page = staff_client.get("/transfer/exports/")
    [job] = page.context["page"].jobs
    assert job.status == "done" and job.rows == 2 and job.user == "marie"
    html = page.content.decode()
    assert f"/transfer/exports/{job.id}/download/" in html
    assert "hx-trigger" not in html  # nothing under way: no polling

    download = staff_client.get(f"/transfer/exports/{job.id}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content).startswith(b"EMAIL;FIRSTNAME")
    assert Event.objects.filter(
        kind="customers_export_downloaded", data__job=job.id, actor_id__isnull=False
    ).exists()


def test_a_pending_export_makes_the_table_refresh_itself(staff_client, customers, exports_home):
    with override_settings(TASKS=DUMMY):
        staff_client.post("/transfer/export/", post_data(delivery="background"))
    html = staff_client.get("/transfer/exports/").content.decode()
    assert 'hx-trigger="every 3s"' in html
    partial = staff_client.get("/transfer/exports/", HTTP_HX_REQUEST="true")
    assert partial.templates[0].name == "transfer/_exports_table.html"


def test_the_exports_page_runs_the_same_queries_whatever_the_number_of_exports(
    staff_client, customers, exports_home, django_assert_num_queries
):
    with override_settings(TASKS=IMMEDIATE):
        staff_client.post("/transfer/export/", post_data(delivery="background"))
    staff_client.get("/transfer/exports/")  # warm the session
    with CaptureQueriesContext(connection) as one:
        staff_client.get("/transfer/exports/")
    # The page itself reads files, not the database: only what every page reads (session,
    # user, the demo-customer warning).
    baseline = len(one)
    assert baseline <= 3
    with override_settings(TASKS=IMMEDIATE):
        for _n in range(4):
            staff_client.post("/transfer/export/", post_data(delivery="background"))
    with django_assert_num_queries(baseline):
        response = staff_client.get("/transfer/exports/")
    assert len(response.context["page"].jobs) == 5


def test_downloads_of_unknown_or_expired_exports_are_404(staff_client, customers, exports_home):
    assert staff_client.get("/transfer/exports/x/download/").status_code == 404
    assert staff_client.get("/transfer/exports/20240101-000000-abcdef12/download/").status_code == (
        404
    )
    with override_settings(TASKS=IMMEDIATE):
        staff_client.post("/transfer/export/", post_data(delivery="background"))
    [record] = exports_home.glob("*.json")
    data = export_record_read(record.stem)
    data["expires"] = "2000-01-01T00:00:00+00:00"
    record.write_text(json.dumps(data))
    assert staff_client.get(f"/transfer/exports/{record.stem}/download/").status_code == 404
    assert not Event.objects.filter(kind="customers_export_downloaded").exists()


def test_a_large_xlsx_request_goes_to_the_background(
    staff_client, customers, exports_home, monkeypatch
):
    from comptoir.transfer.services import exporting

    monkeypatch.setattr(exporting, "XLSX_STREAM_MAX", 1)
    with override_settings(TASKS=DUMMY):
        response = staff_client.post("/transfer/export/", post_data(file_format="xlsx"))
    assert response.status_code == 302 and response["Location"] == "/transfer/exports/"


# The customers list hands its filter and selection over


def test_the_list_has_an_export_button_carrying_its_filter(staff_client, customers):
    html = staff_client.get("/customers/", {"newsletter": "true"}).content.decode()
    assert 'id="customers-export"' in html
    assert "/transfer/export/?query=newsletter%3Dtrue" in html


def test_export_selection_in_the_bulk_bar_hands_over_the_ticked_ids(staff_client, customers):
    response = staff_client.get(
        "/customers/bulk/",
        {"query": "newsletter=true&page=1", "ids": [customers[0].pk], "export": "1", "action": ""},
    )
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert url.path == "/transfer/export/"
    assert parse_qs(url.query) == {
        "query": ["newsletter=true&page=1"],
        "ids": [str(customers[0].pk)],
    }


def test_export_selection_of_all_matching(staff_client, customers):
    response = staff_client.get(
        "/customers/bulk/", {"query": "newsletter=true", "all": "1", "export": "1"}
    )
    url = urlsplit(response["Location"])
    assert parse_qs(url.query) == {"query": ["newsletter=true"], "all": ["1"]}
    screen = staff_client.get(response["Location"])
    assert screen.context["overview"].selection == 2


def test_export_selection_with_nothing_ticked_stays_on_the_list(staff_client, customers):
    response = staff_client.get("/customers/bulk/", {"query": "", "export": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/customers/")


# The command line


def test_the_command_writes_a_file(customers, tmp_path, capsys):
    target = tmp_path / "out.csv"
    call_command("export", "--profile", "shopify", "--filter", "newsletter=true", "-o", str(target))
    rows = list(csv.reader(io.StringIO(target.read_text("utf-8"))))
    assert rows[0][:4] == ["Customer ID", "First Name", "Last Name", "Email"]
    assert [row[3] for row in rows[1:]] == ["anne@example.com", "chloe@example.com"]
    assert "2 customers written" in capsys.readouterr().out
    event = Event.objects.get(kind="customers_exported")
    assert event.source == "system" and event.data["filter"] == "newsletter=true"


def test_the_command_writes_xlsx_and_chosen_columns(customers, tmp_path):
    from openpyxl import load_workbook

    target = tmp_path / "out.xlsx"
    call_command(
        "export", "--format", "xlsx", "--columns", "email,id", "--headers", "en",
        "--ids", f"{customers[1].pk}", "-o", str(target), verbosity=0,
    )  # fmt: skip
    rows = list(load_workbook(target, read_only=True).active.iter_rows(values_only=True))
    assert rows == [("Email", "ID"), ("bruno@example.com", customers[1].pk)]


def test_the_command_refuses_bad_input(customers, tmp_path, settings):
    settings.LANGUAGE_CODE = "en"  # the command speaks the shop's language
    with pytest.raises(CommandError, match="Correct the filters"):
        call_command("export", "--filter", "sales_min=x", "-o", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="Unknown columns"):
        call_command("export", "--columns", "password", "-o", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="standard output"):
        call_command("export", "--format", "xlsx", "-o", "-")
    assert not list(tmp_path.iterdir())
