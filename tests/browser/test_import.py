"""The import wizard in a real (headless) chromium, in French and in English: upload a file,
see the detected format and its columns, choose the options, read the dry run (with the
rejected row and its line), run the import, read the report, and undo it.

Background tasks run at once here (Django Tasks' immediate backend), so each step's result is
on the next page without a worker.
"""

import re

import pytest
from playwright.sync_api import expect

from comptoir.customers.models import Customer
from comptoir.transfer.models import ImportJob
from tests.transfer.importing_helpers import csv_bytes

pytestmark = pytest.mark.browser
LOCALES = ["fr-FR", "en-GB"]


@pytest.fixture
def immediate_tasks(settings, tmp_path):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.parametrize("locale", LOCALES)
def test_the_import_wizard_from_upload_to_undo(logged_in_page, immediate_tasks, tmp_path, locale):
    data = csv_bytes(
        ["Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing", "Tags"],
        [["'101", "Hélène", "Dupont", "helene@example.com", "yes", "VIP, Fidèle"],
         ["'102", "Jean", "Martin", "jean@example.com", "no", ""],
         ["'103", "Sans", "Adresse", "pas-une-adresse", "no", ""]],
    )  # fmt: skip
    path = tmp_path / "customers_export.csv"
    path.write_bytes(data)
    page = logged_in_page(locale)
    expect(page.locator("html")).to_have_attribute("lang", locale[:2])

    # 1. Upload, from the navbar.
    page.goto("/")
    page.locator("#main-navbar a[href='/transfer/import/']").click()
    expect(page.locator("#import-jobs #no-imports")).to_be_visible()
    page.locator("#id_file").set_input_files(str(path))
    page.locator("#import-upload").click()

    # 2. The detected format and the proposed fields, which stay editable.
    expect(page).to_have_url(re.compile(r"/transfer/import/\d+/mapping/$"))
    expect(page.locator("#import-detected")).to_contain_text("Shopify")
    expect(page.locator("#id_col_3")).to_have_value("email")
    expect(page.locator("#id_col_5")).to_have_value("tags")
    expect(page.locator("#import-mapping tr[data-column='1']")).to_contain_text("Hélène")
    page.locator("#import-mapping-save").click()

    # 3. Options, then the dry run.
    expect(page).to_have_url(re.compile(r"/options/$"))
    page.locator("#id_consent_note").fill("Boutique Shopify")
    page.locator("#import-dry-run").click()

    # 4. The dry run's figures and the rejected row with its line, column and reason.
    expect(page.locator("#import-dry-created")).to_have_text("2")
    expect(page.locator("#import-dry-rejected")).to_have_text("1")
    rejection = page.locator("#import-rejections tbody tr")
    expect(rejection).to_have_count(1)
    expect(rejection.locator("td").nth(0)).to_have_text("4")
    expect(rejection.locator("td").nth(1)).to_have_text("Email")
    assert not Customer.objects.exists()
    with page.expect_download() as download:
        page.locator("#import-rejections-download").click()
    assert download.value.suggested_filename.endswith("dry-run-rejected.csv")

    # 5. Run, and the report.
    page.locator("#import-run").click()
    expect(page.locator("#import-status")).to_have_attribute("data-state", "done")
    expect(page.locator("#import-created")).to_have_text("2")
    expect(page.locator("#import-rejected")).to_have_text("1")
    helene = Customer.objects.get(email="helene@example.com")
    assert (helene.external_id, helene.newsletter, helene.tags_text) == ("101", True, "Fidèle, VIP")

    # Undo, after confirming.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#import-undo").click()
    expect(page.locator("#import-status")).to_have_attribute("data-state", "undone")
    expect(page.locator("#import-undone")).to_be_visible()
    assert not Customer.objects.exists()
    assert ImportJob.objects.get().reverted == 2

    # The list of imports shows it.
    page.goto("/transfer/import/")
    expect(page.locator("#import-jobs tbody tr[data-import]")).to_have_count(1)
