"""The export driven in a real (headless) chromium, in French and in English: from the filtered
customers list to a Brevo file, and from a ticked row through "Export selection" to Comptoir's
own file, with columns reordered on the screen."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from comptoir.core.models import Event

# The database comes from the new_page fixture: transactional, with serialized rollback.
pytestmark = pytest.mark.browser

LOCALES = ["fr-FR", "en-GB"]
HEADERS = {"fr-FR": ["E-mail", "ID", "Prénom"], "en-GB": ["Email", "ID", "First name"]}


def _rows(download, delimiter=";") -> list[list[str]]:
    with open(download.path(), encoding="utf-8-sig") as file:
        return list(csv.reader(io.StringIO(file.read()), delimiter=delimiter))


@pytest.mark.parametrize("locale", LOCALES)
def test_export_the_filtered_list_to_brevo(logged_in_page, make_customer, staff_user, locale):
    make_customer(
        first_name="Anne",
        last_name="Martin",
        email="anne@example.com",
        consents={"newsletter": True},
    )
    make_customer(first_name="Bruno", email="bruno@example.com")
    make_customer(
        first_name="Chloé",
        last_name="Durand",
        email="chloe@example.com",
        mobile="+33698765432",
        consents={"newsletter": True, "sms": True},
    )
    page = logged_in_page(locale)
    page.goto("/customers/?newsletter=true")
    page.locator("#customers-export").click()

    expect(page).to_have_url(re.compile(r"/transfer/export/\?query=newsletter%3Dtrue"))
    expect(page.locator("#id_scope_1")).to_be_checked()  # the list's filter
    expect(page.locator("#scope-count-filter")).to_have_text("2")
    expect(page.locator("#scope-count-all")).to_have_text("3")
    page.locator("label[for=id_profile_4]").click()  # Brevo
    expect(page.locator("#columns-brevo")).to_be_visible()
    expect(page.locator("#columns-comptoir")).to_be_hidden()

    with page.expect_download() as info:
        page.locator("#export-download").click()
    download = info.value
    assert re.fullmatch(r"customers-brevo-\d{8}-\d{6}\.csv", download.suggested_filename)
    assert _rows(download) == [
        ["EMAIL", "FIRSTNAME", "LASTNAME", "SMS"],
        ["anne@example.com", "Anne", "Martin", ""],
        ["chloe@example.com", "Chloé", "Durand", "+33698765432"],
    ]
    event = Event.objects.get(kind="customers_exported")
    assert event.actor_id == staff_user.pk
    assert event.data["filter"] == "newsletter=true" and event.data["rows"] == 2


@pytest.mark.parametrize("locale", LOCALES)
def test_export_a_ticked_row_with_reordered_columns(logged_in_page, make_customer, locale):
    make_customer(first_name="Anne", email="anne@example.com")
    bruno = make_customer(first_name="=Bruno", email="bruno@example.com")
    page = logged_in_page(locale)
    page.goto("/customers/")
    page.locator(f"#customer-table tr[data-customer='{bruno.pk}'] .row-select").check()
    page.locator("#bulk-export").click()

    expect(page).to_have_url(re.compile(rf"/transfer/export/\?.*ids={bruno.pk}"))
    expect(page.locator("#id_scope_2")).to_be_checked()  # the selection
    expect(page.locator("#scope-count-selection")).to_have_text("1")
    columns = page.locator("#columns-comptoir")
    columns.locator(".columns-none").click()
    for key in ("id", "first_name", "email"):
        columns.locator(f"#col-comptoir-{key}").check()
    # E-mail first: it comes sixth in the profile, so five steps up.
    email = columns.locator("li[data-col=email]")
    for _step in range(5):
        email.locator(".move-up").click()
    expect(columns.locator("li").first).to_have_attribute("data-col", "email")

    with page.expect_download() as info:
        page.locator("#export-download").click()
    rows = _rows(info.value)
    assert rows == [HEADERS[locale], ["bruno@example.com", str(bruno.pk), "'=Bruno"]]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_bad_choice_is_shown_next_to_the_columns(logged_in_page, make_customer, locale):
    make_customer(first_name="Anne")
    page = logged_in_page(locale)
    page.goto("/transfer/export/")
    page.locator("#columns-comptoir .columns-none").click()
    page.locator("#export-download").click()
    expect(page.locator("#columns-comptoir .invalid-feedback")).to_be_visible()
    expect(page.locator(".alert-danger")).to_be_visible()
    assert not Event.objects.filter(kind="customers_exported").exists()


@pytest.mark.parametrize("locale", LOCALES)
def test_a_background_export_is_listed_then_downloaded(
    logged_in_page, make_customer, settings, tmp_path, locale
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.COMPTOIR_EXPORT_DIR = str(tmp_path)
    make_customer(first_name="Anne", email="anne@example.com")
    page = logged_in_page(locale)
    page.goto("/transfer/export/")
    page.locator("label[for=id_file_format_1]").click()  # XLSX
    page.locator("#export-background").click()

    expect(page).to_have_url(re.compile(r"/transfer/exports/$"))
    row = page.locator("#exports-table tbody tr[data-export]")
    expect(row).to_have_count(1)
    expect(row.locator(".export-status .text-bg-success")).to_be_visible()
    with page.expect_download() as info:
        row.locator(".export-download").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    with open(info.value.path(), "rb") as file:
        sheet = load_workbook(io.BytesIO(file.read()), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 2 and "anne@example.com" in values[1]
