"""``comptoir import FILE``: the same services as the wizard, from the command line."""

from __future__ import annotations

import csv

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError

from comptoir.customers.models import Customer
from comptoir.transfer.models import ImportJob
from tests.transfer.importing_helpers import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _imports_dir(settings, tmp_path):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"


@pytest.fixture
def shopify_file(tmp_path):
    path = tmp_path / "customers_export.csv"
    path.write_bytes(
        csv_bytes(
            ["Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing", "Tags"],
            [["'1", "Ana", "Lopez", "ana@example.com", "yes", "vip"],
             ["'2", "Bo", "Berg", "not-an-email", "no", ""]],
        )
    )  # fmt: skip
    return path


def test_import_is_a_command_name():
    assert get_commands()["import"] == "comptoir.transfer"


def test_dry_run_writes_nothing_and_lists_the_rejections(shopify_file, tmp_path, capsys):
    rejections = tmp_path / "rejected.csv"
    call_command("import", str(shopify_file), "--dry-run", "--rejections", str(rejections),
                 "--language", "en")  # fmt: skip
    out = capsys.readouterr().out
    assert "Format: Shopify (export)" in out
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in out
    assert "line 3 [Email]: Enter a valid e-mail address." in out
    assert not Customer.objects.exists()
    with open(rejections, newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["line", "column", "reason"],
            ["3", "Email", "Enter a valid e-mail address."],
        ]


def test_import_with_options_then_again(shopify_file, capsys):
    call_command("import", str(shopify_file), "--mode", "create", "--match", "external_id")
    ana = Customer.objects.get()
    assert (ana.external_id, ana.newsletter) == ("1", True)
    job = ImportJob.objects.get()
    assert (job.mode, job.match, job.state, job.created) == ("create", "external_id", "done", 1)
    call_command("import", str(shopify_file), "--match", "external_id")
    assert Customer.objects.count() == 1
    assert "0 created, 0 updated, 1 unchanged, 1 rejected" in capsys.readouterr().out


def test_format_and_mapping_can_be_given(tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(csv_bytes(["Courriel", "Qui"], [["lea@example.com", "Léa Girard"]]))
    call_command("import", str(path), "--map", "Courriel=email", "--map", "Qui=full_name",
                 "--default-group", "Customer")  # fmt: skip
    lea = Customer.objects.get()
    assert (lea.first_name, lea.last_name, lea.email) == ("Léa", "Girard", "lea@example.com")


def test_bad_arguments_are_errors_not_tracebacks(shopify_file, tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="No group named"):
        call_command("import", str(shopify_file), "--default-group", "Nope")
    with pytest.raises(CommandError, match="No column named"):
        call_command("import", str(shopify_file), "--map", "Nope=email")
