"""Rows an earlier import wrote, unchanged since (``import_known``): the same file again is
counted unchanged without its rows being read, and any change since, to the customer or to
what the rows resolve to, sends a row through the usual path again."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from comptoir.core.models import Event
from comptoir.customers.models import Customer, DeleteMode
from comptoir.customers.services import customer_consent_set, customer_tags_set, customer_update
from comptoir.customers.services.bulk import customer_delete
from comptoir.groups.services import group_update
from comptoir.transfer.formats.base import RowParser
from comptoir.transfer.models import ImportJob
from comptoir.transfer.services import import_known, import_plan, importing
from comptoir.transfer.services.import_known import Fingerprints, KnownRows, fingerprint_key
from comptoir.transfer.services.import_plan import Planner
from comptoir.transfer.services.importing import import_dry_run, import_job_configure, import_run
from tests.transfer.importing_helpers import csv_bytes, upload

pytestmark = pytest.mark.django_db
HEADER = ["Email", "First name", "Last name", "Newsletter", "Groups", "Tags", "City", "Street",
          "Postcode", "Country"]  # fmt: skip
MAPPING = ["email", "first_name", "last_name", "newsletter", "groups", "tags", "address.city",
           "address.address1", "address.postcode", "address.country"]  # fmt: skip


@pytest.fixture(autouse=True)
def _small_files_too(settings, tmp_path, monkeypatch):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"
    monkeypatch.setattr(import_known, "KNOWN_MIN_ROWS", 0)


@pytest.fixture
def parsed(monkeypatch):
    """The lines ``RowParser.parse`` reads, run after run."""
    lines: list[int] = []
    parse = RowParser.parse

    def counting(self, line, row, problem=""):
        lines.append(line)
        return parse(self, line, row, problem)

    monkeypatch.setattr(RowParser, "parse", counting)
    return lines


def row(n: int, **changes) -> list[str]:
    values = {
        "Email": f"person{n}@example.com",
        "First name": "Prénom",
        "Last name": f"Nom{n}",
        "Newsletter": "yes" if n % 2 else "no",
        "Groups": "Customer",
        "Tags": "a, b",
        "City": "Lyon",
        "Street": f"{n} rue Pasteur",
        "Postcode": "69001",
        "Country": "FR",
    }
    values.update({key.replace("_", " ").capitalize(): value for key, value in changes.items()})
    return [values[column] for column in HEADER]


def run(rows, *, actor, dry=False, **options) -> ImportJob:
    job = upload(csv_bytes(HEADER, rows), actor=actor)
    job = import_job_configure(job=job, actor=actor, mapping=MAPPING, **options)
    return (import_dry_run if dry else import_run)(job=job, actor=actor)


ROWS = [row(n) for n in range(1, 6)]


def test_the_same_file_again_is_counted_unchanged_without_reading_its_rows(actor, parsed):
    first = run(ROWS, actor=actor)
    assert first.created == 5
    events = list(Event.objects.filter(kind="customer_created").values_list("data", flat=True))
    assert all(isinstance(data["fingerprint"], int) and data["fingerprint"] for data in events)
    assert len({data["fingerprint"] for data in events}) == 5
    parsed.clear()
    written = Event.objects.filter(customer__isnull=False).count()
    dry = run(ROWS, actor=actor, dry=True)
    again = run(ROWS, actor=actor)
    assert (dry.dry_created, dry.dry_updated, dry.dry_unchanged, dry.dry_rejected) == (0, 0, 5, 0)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 5, 0)
    assert parsed == []  # not one row read again
    assert Event.objects.filter(customer__isnull=False).count() == written  # nothing written


def test_a_row_that_changed_goes_the_usual_way(actor, parsed):
    run(ROWS, actor=actor)
    parsed.clear()
    changed = [*ROWS[:2], row(3, last_name="Autre"), *ROWS[3:]]
    again = run(changed, actor=actor)
    assert (again.updated, again.unchanged) == (1, 4)
    assert parsed == [4]
    assert Customer.objects.get(email="person3@example.com").last_name == "Autre"
    # The update keeps the new row's fingerprint: the changed file is known the next time.
    parsed.clear()
    third = run(changed, actor=actor)
    assert (third.updated, third.unchanged, parsed) == (0, 5, [])


def test_a_customer_changed_since_is_compared_again(actor, make_customer, vip_group, parsed):
    run(ROWS, actor=actor)
    customers = {c.email: c for c in Customer.objects.all()}
    customer_update(
        customer=customers["person1@example.com"], actor=actor, changes={"last_name": "Edité"}
    )
    customer_tags_set(customer=customers["person2@example.com"], names=["a"], actor=actor)
    customer_consent_set(
        customer=customers["person3@example.com"], channel="newsletter", granted=False, actor=actor
    )
    parsed.clear()
    again = run(ROWS, actor=actor)
    assert (again.updated, again.unchanged) == (3, 2)
    assert sorted(parsed) == [2, 3, 4]
    assert Customer.objects.get(email="person1@example.com").last_name == "Nom1"
    assert sorted(
        Customer.objects.get(email="person2@example.com").tags.values_list("name", flat=True)
    ) == ["a", "b"]
    assert Customer.objects.get(email="person3@example.com").newsletter is True


def test_a_group_renamed_since_sends_every_row_the_usual_way(actor, default_group, parsed):
    run(ROWS, actor=actor)
    group_update(group=default_group, actor=actor, name_en="Clients")
    parsed.clear()
    again = run(ROWS, actor=actor)
    assert len(parsed) == 5
    assert again.unchanged + again.updated == 5


def test_other_options_give_other_fingerprints(actor, parsed):
    run(ROWS, actor=actor)
    job = upload(csv_bytes(HEADER, ROWS), actor=actor)
    keep = fingerprint_key(import_job_configure(job=job, actor=actor, mapping=MAPPING))
    clear = fingerprint_key(
        import_job_configure(job=job, actor=actor, mapping=MAPPING, empty_cells="clear")
    )
    assert keep != clear
    parsed.clear()
    again = run(ROWS, actor=actor, empty_cells="clear")
    assert len(parsed) == 5 and again.unchanged == 5


def test_only_an_e_mail_match_skips_known_rows(actor):
    run(ROWS, actor=actor)
    job = upload(csv_bytes(HEADER, ROWS), actor=actor)
    by_email = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    assert len(KnownRows.load(by_email)) == 5
    by_id = import_job_configure(
        job=job, actor=actor, mapping=[*MAPPING[:-1], "id"], match="id", mode="update"
    )
    assert len(KnownRows.load(by_id)) == 0


def test_a_known_row_whose_e_mail_an_earlier_row_has_is_reported(actor, parsed):
    run(ROWS, actor=actor)
    # A row before it with the same e-mail (in capitals: another row, which updates person 4).
    rows = [row(9, email="PERSON4@example.com", last_name="Nom4"), *ROWS]
    again = run(rows, actor=actor)
    assert (again.updated, again.unchanged, again.rejected) == (1, 4, 1)
    rejection = again.rejections.get(dry_run=False)
    assert rejection.line == 6
    with translation.override(again.language):
        assert rejection.reason == _(
            "The e-mail address %(email)s is already on line %(line)s of this file."
        ) % {"email": "person4@example.com", "line": 2}


def test_deleted_anonymised_and_guest_customers_are_not_known(actor):
    run(ROWS, actor=actor)
    customers = {c.email: c for c in Customer.objects.all()}
    customer_delete(customer=customers["person1@example.com"], mode=DeleteMode.ANONYMISE,
                    actor=actor)  # fmt: skip
    customer_delete(customer=customers["person2@example.com"], mode=DeleteMode.DENY_REREGISTRATION,
                    actor=actor)  # fmt: skip
    Customer.objects.filter(email="person3@example.com").update(is_guest=True)
    job = import_job_configure(
        job=upload(csv_bytes(HEADER, ROWS), actor=actor), actor=actor, mapping=MAPPING
    )
    assert len(KnownRows.load(job)) == 2
    # Anonymising scrubs the fingerprint with the rest of the row's traces.
    anonymised = customers["person1@example.com"].pk
    created = Event.objects.get(customer_id=anonymised, kind="customer_created")
    assert created.data["fingerprint"] is None


def test_a_large_file_read_in_a_child_process_knows_the_same_rows(actor, monkeypatch, parsed):
    monkeypatch.setattr(importing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(importing, "BATCH_SIZE", 2)
    rows = [row(n) for n in range(1, 8)]
    run(rows, actor=actor)
    again = run([*rows, row(8), row(2)], actor=actor)
    assert (again.created, again.unchanged, again.rejected) == (1, 7, 1)
    assert again.rejections.get(dry_run=False).line == 10


def test_a_resumed_run_claims_the_known_rows_before_its_checkpoint(actor, monkeypatch):
    run(ROWS, actor=actor)
    job = upload(csv_bytes(HEADER, [*ROWS, row(4, last_name="Double")]), actor=actor)
    job = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    planner = Planner(job, actor=actor)
    importing._keys_before_checkpoint(job, 6, planner)
    with translation.override("en"):
        plan = planner.plan(list(planner.records())[5:])
        assert (plan.rejected, plan.rejections[0].line) == (1, 7)
        assert plan.rejections[0].reason == _(
            "The e-mail address %(email)s is already on line %(line)s of this file."
        ) % {"email": "person4@example.com", "line": 5}


def test_fingerprints_are_the_cells_and_the_key():
    one, other = Fingerprints(b"k" * 32), Fingerprints(b"l" * 32)
    assert one.of(["a", "b"]) == one.of(["a", "b"]) != one.of(["a", "b "])
    assert one.of(["a", "b"]) != other.of(["a", "b"])
    # The separator inside a cell does not make two rows alike.
    assert one.of(["a\x1fb", "c"]) != one.of(["a", "b\x1fc"])
    assert one.of(["a", "b"]) != one.joined(one.of(["a"]), one.of(["b"]))


def test_the_known_rows_are_found_among_many():
    from array import array
    from random import Random

    chance = Random(4)
    fingerprints = sorted({chance.getrandbits(64) - (1 << 63) for _ in range(5000)})
    known = KnownRows(
        array("q", fingerprints), array("q", range(len(fingerprints))), array("q", fingerprints)
    )
    assert all(known.find(fp) == index for index, fp in enumerate(fingerprints))
    assert -(1 << 63) not in known and (1 << 63) - 1 not in known
    assert sum(chance.getrandbits(64) - (1 << 63) in known for _ in range(5000)) == 0
    assert len(KnownRows.empty()) == 0 and 5 not in KnownRows.empty()


def _dry_counts(rows, *, actor):
    job = run(rows, actor=actor, dry=True)
    reasons = list(job.rejections.values_list("line", "column", "reason"))
    return (job.dry_created, job.dry_updated, job.dry_unchanged, job.dry_rejected), reasons


def test_a_dry_run_sends_only_what_counts_a_new_customer(actor, make_customer, monkeypatch):
    make_customer(email="person2@example.com", first_name="Autre", last_name="Nom2")
    make_customer(email="person3@example.com", first_name="Prénom", last_name="Nom3")
    rows = [row(1), row(2), row(3), row(4, last_name=""), row(5, email="person1@example.com"),
            row(6, email="")]  # fmt: skip
    monkeypatch.setattr(import_known, "KNOWN_MIN_ROWS", 10**9)
    usual = _dry_counts(rows, actor=actor)
    monkeypatch.setattr(import_known, "KNOWN_MIN_ROWS", 0)
    crossed = []
    clean = Planner.clean

    def spy(self, records):
        batch = clean(self, records)
        crossed.extend(values for _record, values in batch.cleaned)
        return batch

    monkeypatch.setattr(Planner, "clean", spy)
    assert _dry_counts(rows, actor=actor) == usual
    assert usual[0] == (1, 2, 0, 3)
    new = [values for values in crossed if values.get("_new")]
    # Rows 2 and 3 (stored e-mails) go over whole; the others are new or will be rejected.
    assert [values.get("email") for values in new] == [
        "person1@example.com", "person4@example.com", "person1@example.com", None
    ]  # fmt: skip
    assert all(set(values) <= {"email", "first_name", "last_name", "is_guest", "_new"}
               for values in new)  # fmt: skip


def test_a_dry_run_counts_a_customer_stored_since_it_began_as_updated(actor, make_customer):
    job = upload(csv_bytes(HEADER, [row(1), row(2)]), actor=actor)
    job = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    planner = Planner(job, actor=actor, counting_only=True)
    make_customer(email="person2@example.com", first_name="Prénom", last_name="Nom2")
    plan = planner.plan(list(planner.records()))
    assert (len(plan.creates), len(plan.updates), plan.unchanged) == (1, 1, 0)


def test_a_dry_run_looks_up_only_the_stored_e_mails_while_nothing_changes(
    actor, make_customer, monkeypatch
):
    make_customer(email="person2@example.com", first_name="Autre", last_name="Nom2")
    looked_up: list[list] = []
    real = import_plan._customer_rows

    def spy(where, params):
        looked_up.append(sorted(map(str, params[0] if isinstance(params[0], list) else params)))
        return real(where, params)

    monkeypatch.setattr(import_plan, "_customer_rows", spy)
    job = upload(csv_bytes(HEADER, [row(1), row(2), row(3)]), actor=actor)
    job = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    planner = Planner(job, actor=actor, counting_only=True)
    plan = planner.plan(list(planner.records()))
    assert (len(plan.creates), len(plan.updates)) == (2, 1)
    assert looked_up == [["person2@example.com"]]
    # Once customer data changed, every e-mail of the batch is looked up again.
    make_customer(email="person3@example.com", first_name="Prénom", last_name="Nom3")
    plan = planner.plan(list(planner.records()))
    assert (len(plan.creates), len(plan.updates)) == (1, 2)
    assert looked_up[1] == [f"person{n}@example.com" for n in (1, 2, 3)]


def _run_planner(rows, *, actor) -> Planner:
    job = upload(csv_bytes(HEADER, rows), actor=actor)
    job = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    planner = Planner(job, actor=actor)
    planner._creating.value = True  # as after a batch of mostly new customers
    return planner


def test_a_run_sends_new_customers_as_their_rows_and_what_checks_them(actor, make_customer):
    make_customer(email="person2@example.com", first_name="Autre", last_name="Nom2")
    planner = _run_planner([row(1), row(2), row(3)], actor=actor)
    batch = planner.clean(list(planner.records()))
    crossed = {values["email"]: values for _record, values in batch.cleaned}
    assert set(crossed["person1@example.com"]) == {
        "email", "first_name", "last_name", "_rows", "_new"
    }  # fmt: skip
    assert "_new" not in crossed["person2@example.com"]  # stored: goes over whole
    assert crossed["person2@example.com"]["first_name"] == "Prénom"
    plan = planner.plan_cleaned(batch)
    assert [new.line for new in plan.creates] == [2, 4]
    assert [update.changes["first_name"] for update in plan.updates] == [("Autre", "Prénom")]


def test_a_customer_stored_since_the_run_began_is_updated_from_the_file(
    actor, make_customer, parsed
):
    planner = _run_planner([row(1), row(2), row(3)], actor=actor)
    batch = planner.clean(list(planner.records()))
    assert all(values.get("_new") for _record, values in batch.cleaned)
    # Someone else stores the customer of line 3 while the batch is on its way.
    stored = make_customer(email="person2@example.com", first_name="Autre", last_name="Nom2")
    parsed.clear()
    plan = planner.plan_cleaned(batch)
    assert parsed == [2, 3, 4]  # the file read again, for that one line
    assert [new.line for new in plan.creates] == [2, 4]
    [update] = plan.updates
    assert (update.line, update.customer_id) == (3, stored.pk)
    assert update.changes["first_name"] == ("Autre", "Prénom")
    assert plan.rejected == 0


def test_a_run_reads_the_stored_e_mails_only_for_a_file_that_mostly_creates(actor, make_customer):
    assert _run_planner([row(1), row(2)], actor=actor).stored_emails is not None
    for n in range(3):
        make_customer(email=f"someone{n}@example.com")
    assert _run_planner([row(1), row(2), row(3)], actor=actor).stored_emails is None
