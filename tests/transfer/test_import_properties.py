"""Property tests of the importer: whatever the file (random cells, ragged rows, huge cells,
formula cells, bad encodings, binary junk), it never crashes, its figures add up, and what it
wrote is whole (every created customer with its group and its event; no half batch)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.core.models import Event
from comptoir.customers.models import Customer, Membership
from comptoir.transfer.services import importing
from comptoir.transfer.services.importing import import_job_configure
from tests.transfer.importing_helpers import dry_then_run, upload

pytestmark = pytest.mark.django_db
HEADER = ["email", "first_name", "last_name", "phone", "newsletter", "birthday", "tags",
          "address1", "city", "country", "note"]  # fmt: skip
MAPPING = ["email", "first_name", "last_name", "phone", "newsletter", "birthday", "tags",
           "address.address1", "address.city", "address.country", "note"]  # fmt: skip

junk_text = st.text(max_size=40)
cell = st.one_of(
    junk_text,
    st.emails().map(str),
    st.sampled_from(["", "yes", "no", "1", "0", "FR", "Paris", "2024-02-30", "0000-00-00",
                     "01 99 00 12 34", "=HYPERLINK(\"x\")", "+SUM(A1)", "@cmd", "'=1+1",
                     "\x00", "\ufffd"]),
    st.text(min_size=300, max_size=3000),
)  # fmt: skip
row = st.lists(cell, min_size=0, max_size=len(HEADER) + 2)


def _file(rows: list[list[str]], encoding: str, junk: bytes) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace") + junk


@pytest.fixture(autouse=True)
def _imports_dir(settings, tmp_path):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(row, min_size=1, max_size=12),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    junk=st.one_of(st.just(b""), st.binary(max_size=40)),
)
def test_any_file_is_imported_whole_or_refused_never_half(actor, monkeypatch, rows, encoding, junk):
    monkeypatch.setattr(importing, "BATCH_SIZE", 4)
    before = (Customer.objects.count(), Event.objects.filter(kind="customer_created").count())
    try:
        job = upload(_file(rows, encoding, junk), actor=actor)
        job = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    except ValidationError:
        return  # refused as a whole (not a table, or no column to match on), with a message
    job = dry_then_run(job, actor=actor)
    assert job.state == "done"
    assert job.dry_rows == job.rows_done
    assert job.created + job.updated + job.unchanged + job.rejected == job.rows_done
    assert (job.created, job.rejected) == (job.dry_created, job.dry_rejected)
    customers = Customer.objects.count() - before[0]
    events = Event.objects.filter(kind="customer_created").count() - before[1]
    assert customers == events == job.created
    assert not Customer.objects.exclude(pk__in=Membership.objects.values("customer_id")).exists(), (
        "every customer is in its default group"
    )
    assert job.rejections.filter(dry_run=False).values("line").distinct().count() == job.rejected


def test_a_rejected_cell_holding_a_nul_character_is_reported(actor):
    # Found by the property above on PostgreSQL, which refuses NUL in text: the rejection's
    # reason quotes the cell.
    rows = [["helene@example.com", "Hélène", "Dupont", "", "", "31/02/1990\x00x", "", ""]]
    job = upload(_file(rows, "utf-8", b""), actor=actor)
    job = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    job = dry_then_run(job, actor=actor)
    assert job.state == "done" and job.rejected == 1
    reasons = list(job.rejections.values_list("reason", flat=True))
    assert reasons and all("\x00" not in reason for reason in reasons)


@pytest.mark.parametrize("stored", [False, True])
@pytest.mark.parametrize("column", ["first_name", "tags", "address1", "city", "note"])
def test_a_cell_holding_a_nul_character_is_rejected_whether_it_creates_or_updates(
    actor, make_customer, stored, column
):
    # Found by the property above on PostgreSQL, whose text columns refuse NUL: the run
    # stopped on the database's error. Now the row is rejected, on either database.
    if stored:
        make_customer(email="helene@example.com", first_name="Hélène", last_name="Dupont")
    cells = ["helene@example.com", "Hélène", "Dupont", "", "", "", "VIP", "1 rue Neuve", "Lyon",
             "FR", "Appeler le matin"]  # fmt: skip
    values = dict(zip(HEADER, cells, strict=True))
    values[column] += "\x00x"
    job = upload(_file([[values[name] for name in HEADER]], "utf-8", b""), actor=actor)
    job = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    job = dry_then_run(job, actor=actor)
    assert (job.state, job.created, job.updated, job.rejected) == ("done", 0, 0, 1)
    rejection = job.rejections.get(dry_run=False)
    assert (rejection.line, rejection.column) == (2, column)
    assert rejection.reason == "This cell holds characters that are not valid text."
