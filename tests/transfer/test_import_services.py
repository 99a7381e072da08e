"""The import services: options, dry run, duplicates, idempotence, checkpoints and resuming
after a killed worker, the lease that fences a worker thought dead, and undo."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comptoir.core.models import Event
from comptoir.customers.models import Address, ConsentRecord, Customer, Membership
from comptoir.customers.services import customer_note_set, customer_update
from comptoir.groups.models import Group
from comptoir.transfer.formats.base import Record
from comptoir.transfer.models import ImportBatch, ImportJob, ImportRejection, ImportState
from comptoir.transfer.services import importing
from comptoir.transfer.services.import_clean import ADDRESS_KEYS
from comptoir.transfer.services.import_plan import BatchPlan, Planner, records_read
from comptoir.transfer.services.import_rows import address_values, customer_columns
from comptoir.transfer.services.import_undo import import_undo
from comptoir.transfer.services.importing import (
    import_dry_run,
    import_job_configure,
    import_job_watch,
    import_jobs_recover,
    import_run,
)
from tests.transfer.importing_helpers import csv_bytes, dry_then_run, upload

pytestmark = pytest.mark.django_db
HEADER = ["Email", "First name", "Last name", "Phone", "Newsletter", "Groups", "Tags", "Note",
          "External id", "City", "Street", "Postcode", "Country"]  # fmt: skip
MAPPING = ["email", "first_name", "last_name", "phone", "newsletter", "groups", "tags", "note",
           "external_id", "address.city", "address.address1", "address.postcode",
           "address.country"]  # fmt: skip


@pytest.fixture(autouse=True)
def _imports_dir(settings, tmp_path):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"


def row(n: int, **changes) -> list[str]:
    values = {
        "Email": f"person{n}@example.com",
        "First name": "Prénom",
        "Last name": f"Nom{n}",
        "Phone": "",
        "Newsletter": "no",
        "Groups": "",
        "Tags": "",
        "Note": "",
        "External id": f"x-{n}",
        "City": "",
        "Street": "",
        "Postcode": "",
        "Country": "",
    }
    values.update({key.replace("_", " ").capitalize(): value for key, value in changes.items()})
    return [values[column] for column in HEADER]


def job_for(rows, *, actor, **options):
    job = upload(csv_bytes(HEADER, rows), actor=actor)
    return import_job_configure(job=job, actor=actor, mapping=MAPPING, **options)


# -------------------------------------------------------------------------------------------------
# Dry run


def test_dry_run_counts_everything_and_writes_nothing(actor, make_customer):
    make_customer(email="person1@example.com", first_name="Prénom", last_name="Nom1",
                  external_id="x-1")  # fmt: skip
    make_customer(email="person2@example.com", first_name="Ancien", last_name="Nom2")
    rows = [
        row(1),
        row(2),
        row(3),
        row(4, email="pas-un-email"),
        row(5, email="PERSON3@example.com"),
    ]
    job = job_for(rows, actor=actor)
    customers, events, memberships = (Customer.objects.count(), Event.objects.count(),
                                      Membership.objects.count())  # fmt: skip
    job = import_dry_run(job=job, actor=actor)
    assert job.state == ImportState.ANALYSED and job.analysed_at
    figures = (job.dry_rows, job.dry_created, job.dry_updated, job.dry_unchanged, job.dry_rejected)
    assert figures == (5, 1, 1, 1, 2)
    assert (Customer.objects.count(), Event.objects.count(), Membership.objects.count()) == (
        customers, events, memberships)  # fmt: skip
    reasons = list(job.rejections.filter(dry_run=True).values_list("line", "column", "reason"))
    assert reasons == [
        (5, "Email", "Enter a valid e-mail address."),
        (6, "Email", "The e-mail address PERSON3@example.com is already on line 4 of this file."),
    ]


def test_a_dry_run_commits_its_batches_without_waiting_for_the_disk(actor, monkeypatch):
    """PostgreSQL: its progress and rejected rows are done again after a crash; the setting
    is the session's own again afterwards."""
    from django.db import connection

    def synchronous() -> str | None:
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    seen, real = [], importing.rejections_write

    def spy(**kwargs):
        seen.append(synchronous())
        return real(**kwargs)

    monkeypatch.setattr(importing, "rejections_write", spy)
    before = synchronous()
    job = import_dry_run(job=job_for([row(1), row(2)], actor=actor), actor=actor)
    assert job.dry_created == 2
    expected = [None] if connection.vendor == "sqlite" else ["off"]
    assert seen == expected and synchronous() == before


def test_rejection_reasons_are_in_the_language_of_whoever_imports(actor):
    job = upload(csv_bytes(HEADER, [row(1, first_name="")]), actor=actor, language="fr")
    job = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    job = import_dry_run(job=job, actor=actor)
    assert job.rejections.values_list("column", "reason").get() == (
        "First name",
        "Ce champ est obligatoire.",
    )


# -------------------------------------------------------------------------------------------------
# Options


def test_update_only_changes_existing_customers_and_rejects_unknown_ones(actor, make_customer):
    existing = make_customer(email="person1@example.com", first_name="Prénom", last_name="Vieux")
    job = job_for([row(1, note="Nouvelle note"), row(2)], actor=actor, mode="update")
    job = dry_then_run(job, actor=actor)
    assert (job.created, job.updated, job.rejected) == (0, 1, 1)
    assert job.rejections.get(dry_run=False).reason == "No customer has this e-mail address."
    existing.refresh_from_db()
    assert (existing.last_name, existing.note, existing.external_id) == (
        "Nom1",
        "Nouvelle note",
        "x-1",
    )
    assert existing.version == 2
    event = Event.objects.get(customer_id=existing.pk, kind="customer_updated")
    assert event.data["import"] == job.pk and event.source == "backoffice"
    assert event.data["changes"]["last_name"] == {"before": "Vieux", "after": "Nom1"}
    assert not Customer.objects.filter(email="person2@example.com").exists()


def test_create_only_leaves_existing_customers_alone(actor, make_customer):
    existing = make_customer(email="person1@example.com", first_name="Prénom", last_name="Vieux")
    job = dry_then_run(job_for([row(1), row(2)], actor=actor, mode="create"), actor=actor)
    assert (job.created, job.updated, job.unchanged) == (1, 0, 1)
    existing.refresh_from_db()
    assert existing.last_name == "Vieux"


def test_match_on_external_id_updates_the_email_too(actor, make_customer):
    existing = make_customer(email="old@example.com", external_id="x-1")
    job = dry_then_run(job_for([row(1)], actor=actor, match="external_id"), actor=actor)
    assert job.updated == 1
    existing.refresh_from_db()
    assert (existing.email, existing.email_key) == ("person1@example.com", "person1@example.com")


def test_match_on_external_id_refuses_an_email_another_customer_has(actor, make_customer):
    make_customer(email="old@example.com", external_id="x-1")
    other = make_customer(email="person1@example.com")
    job = dry_then_run(job_for([row(1)], actor=actor, match="external_id"), actor=actor)
    assert job.rejected == 1
    assert job.rejections.get(dry_run=False).reason == (
        f"Customer #{other.pk} already has this e-mail address."
    )


def test_match_on_id(actor, make_customer):
    existing = make_customer(email="person1@example.com")
    header = ["id", "email", "first_name", "last_name"]
    data = csv_bytes(header, [[str(existing.pk), "new@example.com", "A", "B"],
                              ["999999", "ghost@example.com", "C", "D"],
                              ["", "fresh@example.com", "E", "F"]])  # fmt: skip
    job = upload(data, actor=actor)
    job = import_job_configure(job=job, actor=actor, mapping=header, match="id")
    job = dry_then_run(job, actor=actor)
    assert (job.updated, job.created, job.rejected) == (1, 1, 1)
    assert job.rejections.get(dry_run=False).reason == "No customer has this id."
    existing.refresh_from_db()
    assert (existing.email, existing.first_name) == ("new@example.com", "A")


def test_the_match_key_must_be_a_mapped_column(actor):
    job = upload(csv_bytes(HEADER, [row(1)]), actor=actor)
    with pytest.raises(ValidationError) as raised:
        import_job_configure(job=job, actor=actor, mapping=MAPPING, match="id")
    assert "match" in raised.value.message_dict


def test_empty_cells_keep_or_clear(actor, make_customer):
    kept = make_customer(email="person1@example.com", note="Garder", phone="01 99 00 12 34")
    cleared = make_customer(email="person2@example.com", note="Effacer", phone="01 99 00 12 35")
    dry_then_run(job_for([row(1)], actor=actor, empty_cells="keep"), actor=actor)
    dry_then_run(job_for([row(2)], actor=actor, empty_cells="clear"), actor=actor)
    kept.refresh_from_db()
    cleared.refresh_from_db()
    assert (kept.note, kept.phone) == ("Garder", "+33199001234")
    assert (cleared.note, cleared.phone, cleared.phone_input) == ("", "", "")
    # Required fields are never cleared.
    assert cleared.email == "person2@example.com"


def test_default_group_for_new_customers_and_groups_by_name(actor, vip_group, default_group):
    pro = Group.objects.create(name_fr="Professionnels", name_en="Professionals")
    job = job_for([row(1), row(2, groups="professionnels | Nouveaux")], actor=actor,
                  default_group=vip_group)  # fmt: skip
    dry_then_run(job, actor=actor)
    first = Customer.objects.get(email="person1@example.com")
    second = Customer.objects.get(email="person2@example.com")
    assert first.default_group == vip_group and set(first.groups.all()) == {vip_group}
    created_group = Group.objects.get(name_fr="Nouveaux")
    assert set(second.groups.all()) == {pro, created_group, vip_group}
    assert Event.objects.filter(kind="group_created", object_id=created_group.pk).exists()


def test_consents_get_their_history_with_the_chosen_source(actor):
    job = job_for([row(1, newsletter="yes")], actor=actor, consent_note="Formulaire du salon",
                  opt_in_level="confirmed")  # fmt: skip
    dry_then_run(job, actor=actor)
    record = ConsentRecord.objects.get(customer__email="person1@example.com")
    assert (record.channel, record.granted, record.note, record.opt_in_level) == (
        "newsletter", True, "Formulaire du salon", "confirmed")  # fmt: skip
    assert (record.source, record.actor_id) == (actor.source, actor.user_id)


def test_unsubscribing_through_an_import_is_recorded(actor, make_customer):
    customer = make_customer(email="person1@example.com", consents={"newsletter": True})
    dry_then_run(job_for([row(1, newsletter="no")], actor=actor), actor=actor)
    customer.refresh_from_db()
    assert not customer.newsletter
    latest = ConsentRecord.objects.filter(customer=customer).order_by("-id").first()
    assert latest.granted is False


# -------------------------------------------------------------------------------------------------
# Idempotence, checkpoints, resuming


def test_running_the_same_file_twice_creates_nothing_the_second_time(actor):
    rows = [row(n, phone=f"01 99 00 12 3{n % 10}", tags="a, b", groups="Customer",
                street=f"{n} rue Pasteur", city="Lyon", postcode="69001", country="FR")
            for n in range(1, 8)]  # fmt: skip
    first = dry_then_run(job_for(rows, actor=actor), actor=actor)
    assert first.created == 7
    counts = (Customer.objects.count(), Address.objects.count(), Membership.objects.count(),
              Event.objects.filter(customer__isnull=False).count())  # fmt: skip
    second = dry_then_run(job_for(rows, actor=actor), actor=actor)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 7)
    assert (Customer.objects.count(), Address.objects.count(), Membership.objects.count(),
            Event.objects.filter(customer__isnull=False).count()) == counts  # fmt: skip


def _kill_after(monkeypatch, batches: int):
    """Make the worker die (as if killed) while writing batch number ``batches + 1``."""
    real = importing.batch_write
    calls = {"n": 0}

    class Killed(BaseException):
        pass

    def dying(**kwargs):
        calls["n"] += 1
        result = real(**kwargs)
        if calls["n"] > batches:
            raise Killed
        return result

    monkeypatch.setattr(importing, "batch_write", dying)
    return Killed


def _run_killed_after_two_batches(actor, monkeypatch):
    """Eleven rows in batches of three, the last repeating row 2's e-mail: dry-run, then run
    by a worker killed once its second batch is committed."""
    monkeypatch.setattr(importing, "BATCH_SIZE", 3)
    rows = [row(n) for n in range(1, 11)] + [row(11, email="person2@example.com")]
    job = import_dry_run(job=job_for(rows, actor=actor), actor=actor)
    killed = _kill_after(monkeypatch, 2)
    with pytest.raises(killed):
        import_run(job=job, actor=actor)
    return job


def test_a_killed_worker_loses_no_batch_and_the_job_resumes_from_its_checkpoint(actor, monkeypatch):
    job = _run_killed_after_two_batches(actor, monkeypatch)
    job.refresh_from_db()
    # Two batches committed with their checkpoint; the third rolled back whole.
    assert (job.state, job.rows_done, job.last_line, job.created) == (ImportState.RUNNING, 6, 7, 6)
    assert Customer.objects.count() == 6 and job.batches.count() == 2
    assert Event.objects.filter(kind="customer_created").count() == 6

    monkeypatch.undo()
    monkeypatch.setattr(importing, "BATCH_SIZE", 3)
    # Its lease is still fresh: a watch leaves it to the (supposedly) living worker.
    assert import_job_watch(job=job) == "alive"
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    job.refresh_from_db()
    assert import_jobs_recover() == [job.pk]
    assert import_job_watch(job=job) == "resumed"
    job.refresh_from_db()
    assert (job.state, job.rows_done, job.created, job.rejected) == (ImportState.DONE, 11, 10, 1)
    assert Customer.objects.count() == 10
    assert list(job.batches.order_by("number").values_list("number", flat=True)) == [1, 2, 3, 4]
    # The duplicate after the checkpoint is still known as one.
    assert job.rejections.get(dry_run=False).reason.startswith(
        "The e-mail address person2@example.com is already on line 3"
    )


def test_a_worker_thought_dead_cannot_write_once_its_job_was_taken_over(actor, monkeypatch):
    monkeypatch.setattr(importing, "BATCH_SIZE", 2)
    job = import_dry_run(job=job_for([row(n) for n in range(1, 6)], actor=actor), actor=actor)
    real = importing.batch_write

    def taken_over_meanwhile(**kwargs):
        # Another worker takes the job over while this one writes its first batch.
        ImportJob.objects.filter(pk=job.pk).update(run_token="someone-else")
        return real(**kwargs)

    monkeypatch.setattr(importing, "batch_write", taken_over_meanwhile)
    import_run(job=job, actor=actor)
    # Its batch rolled back whole at the checkpoint: nothing of it is left.
    assert Customer.objects.count() == 0 and not ImportBatch.objects.exists()
    assert not Event.objects.filter(kind="customer_created").exists()


def test_a_running_job_cannot_be_started_twice(actor):
    job = import_dry_run(job=job_for([row(1)], actor=actor), actor=actor)
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportState.RUNNING, run_token="alive", heartbeat_at=timezone.now()
    )
    job.refresh_from_db()
    with pytest.raises(ValidationError):
        import_run(job=job, actor=actor)


# -------------------------------------------------------------------------------------------------
# Undo


def test_undo_removes_created_customers_and_restores_updated_ones(actor, make_customer, vip_group):
    updated = make_customer(email="person1@example.com", first_name="Prénom", last_name="Avant",
                            note="Note d'avant", tags=["ancien"])  # fmt: skip
    touched_since = make_customer(email="person2@example.com", last_name="Avant")
    rows = [row(1, newsletter="yes", groups="VIP", tags="nouveau", street="1 rue Haute",
                city="Metz", postcode="57000", country="FR"),
            row(2), row(3), row(4)]  # fmt: skip
    job = dry_then_run(job_for(rows, actor=actor), actor=actor)
    assert (job.created, job.updated) == (2, 2)
    created = list(
        Customer.objects.filter(email__in=["person3@example.com", "person4@example.com"])
    )
    # Changed since the import: one created customer, one updated one.
    customer_note_set(customer=created[0], note="Appelé hier", actor=actor)
    touched_since.refresh_from_db()
    customer_update(customer=touched_since, actor=actor, changes={"company": "Changée"})

    job = import_undo(job=job, actor=actor)
    assert (job.state, job.reverted, job.skipped) == (ImportState.UNDONE, 2, 2)
    assert not Customer.objects.filter(pk=created[1].pk).exists()
    assert Customer.objects.filter(pk=created[0].pk).exists()
    updated.refresh_from_db()
    assert (updated.last_name, updated.note, updated.newsletter) == ("Avant", "Note d'avant", False)
    assert set(updated.groups.values_list("name_en", flat=True)) == {"Customer"}
    assert set(updated.tags.values_list("name", flat=True)) == {"ancien"}
    assert updated.tags_text == "ancien" and not updated.addresses.exists()
    assert "avant" in updated.search_text and "metz" not in updated.search_text
    touched_since.refresh_from_db()
    assert touched_since.last_name == "Nom2"  # left as the import made it
    assert Event.objects.filter(kind="import_reverted", customer_id=updated.pk).exists()
    assert Event.objects.filter(kind="import_undone", object_id=job.pk).exists()
    # An undo that ran can't run again; every batch is marked.
    assert not job.batches.filter(undone_at__isnull=True).exists()


def test_undo_is_refused_for_an_import_that_did_not_run(actor):
    from comptoir.transfer.services.import_undo import import_undo_enqueue

    job = import_dry_run(job=job_for([row(1)], actor=actor), actor=actor)
    with pytest.raises(ValidationError):
        import_undo_enqueue(job=job, actor=actor)


def test_rejections_of_the_run_replace_nothing_of_the_dry_run(actor):
    job = dry_then_run(job_for([row(1, email="x")], actor=actor), actor=actor)
    assert ImportRejection.objects.filter(job=job, dry_run=True).count() == 1
    assert ImportRejection.objects.filter(job=job, dry_run=False).count() == 1


def _cleaner_sequence(pattern: str):
    """A stand-in for ``importing._consumer_idle`` that answers as ``pattern`` says, batch
    after batch ("1": the writing process cleans the batch itself, "0": the reading one)."""
    answers = iter(pattern * 100)
    return lambda queue: next(answers) == "1"


@pytest.mark.parametrize("shared", ["0", "1", "10", "01"])
def test_a_large_file_is_read_in_a_child_process_with_the_same_result(actor, monkeypatch, shared):
    # Whichever process cleans which batch, the duplicates are found across batches.
    monkeypatch.setattr(importing, "_consumer_idle", _cleaner_sequence(shared))
    monkeypatch.setattr(importing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(importing, "BATCH_SIZE", 3)
    rows = [row(n) for n in range(1, 9)] + [row(9, email="person1@example.com"), row(10, email="?")]
    job = upload(csv_bytes(HEADER, rows), actor=actor, language="fr")
    job = import_job_configure(job=job, actor=actor, mapping=MAPPING)
    assert importing._parallel(job)
    job = dry_then_run(job, actor=actor)
    assert (job.dry_created, job.created, job.rejected, job.rows_done) == (8, 8, 2, 10)
    with translation.override("fr"):  # the child process reports in the job's language
        expected = _("The e-mail address %(email)s is already on line %(line)s of this file.") % {
            "email": "person1@example.com",
            "line": 2,
        }
    reasons = list(job.rejections.filter(dry_run=False).values_list("line", "reason"))
    assert reasons[0] == (10, expected)
    assert reasons[1][0] == 11
    assert Customer.objects.count() == 8


def _rich_row(n: int, **changes) -> list[str]:
    values = dict(phone="01 23 45 67 89", newsletter="yes", groups="VIP", tags="Gold, silver",
                  note="Prefers mornings", city="Lyon", street="3 rue Neuve", postcode="69001",
                  country="FR")  # fmt: skip
    return row(n, **{**values, **changes})


def test_rows_built_ahead_are_those_the_writer_would_build(actor, vip_group):
    # The reading process builds a new customer's rows ahead (``Planner._rows_ahead``) when
    # the batches are mostly new customers; the writer builds them itself otherwise. Same rows.
    job = job_for([_rich_row(1), _rich_row(2, groups="")], actor=actor, consent_note="Salon")
    planner = Planner(job, actor=actor)
    now = timezone.now()
    for record in records_read(job):
        values = planner._record_clean(record)
        planner._rows_ahead(record, values, now)
        ahead = values.pop("_rows")
        built = planner.rows_of(planner._create(record, values, {}, BatchPlan()), now=now)
        assert ahead == built
        customer = dict(zip(customer_columns(), built.customer, strict=True))
        assert customer["email"] == f"person{record.line - 1}@example.com"
        assert customer["phone"] == "+33123456789" and customer["country"] == "FR"
        assert customer["tags_text"] == "Gold, silver" and customer["newsletter"] is True
        assert built.tags == ["Gold", "silver"]
        assert built.consents[0][:2] == ("newsletter", True) and built.consents[0][4] == "Salon"
        assert built.addresses[0][ADDRESS_KEYS.index("city")] == "Lyon"
        assert (vip_group.pk in built.groups) == (record.line == 2)
        # The event's JSON, put together from its parts, is what json.dumps writes.
        n = record.line - 1
        data = {"import": job.pk, "line": record.line, "guest": False,
                "email": f"person{n}@example.com", "name": f"Prénom Nom{n}",
                "consents": ["newsletter"]}  # fmt: skip
        assert built.event == json.dumps(data)


def test_rows_left_unparsed_are_cleaned_as_the_parsed_ones(actor):
    # A run's batches cross unparsed where the format allows (``records_read(parsed=False)``),
    # so that either process can parse them; cleaning them gives what the parsed records give.
    job = job_for([_rich_row(1), row(2, email="nope"), _rich_row(3, phone="12")], actor=actor)
    planner = Planner(job, actor=actor)
    rows = list(planner.records(parsed=False))
    assert [(line, cells[0]) for line, cells, _problem, _print in rows] == [
        (2, "person1@example.com"), (3, "nope"), (4, "person3@example.com")
    ]  # fmt: skip
    assert all(fingerprint for *_rest, fingerprint in rows)
    from_rows, from_records = planner.clean(rows), planner.clean(list(planner.records()))
    assert [r.line for r in from_rows.records] == [r.line for r in from_records.records]
    assert [r.fingerprint for r in from_rows.records] == [r[3] for r in rows]
    assert from_rows.cleaned == from_records.cleaned and len(from_rows.cleaned) == 1
    assert from_rows.rejected == from_records.rejected
    assert [r.line for r, _problems in from_rows.rejected] == [3, 4]


def test_a_file_with_continuation_rows_is_always_read_parsed(actor):
    header = ["email", "_website", "firstname", "lastname", "_address_city", "_address_street"]
    rows = [["a@example.com", "base", "Ann", "Lee", "Lyon", "1 rue A"],
            ["", "", "", "", "Paris", "2 rue B"]]  # fmt: skip
    job = upload(csv_bytes(header, rows), actor=actor)
    assert job.platform == "magento_composite"
    [record] = records_read(job, parsed=False)
    assert isinstance(record, Record) and len(record.addresses) == 2


def test_an_address_missing_keys_or_holding_none_becomes_empty_text():
    city = ADDRESS_KEYS.index("city")
    for address in ({"city": "Lyon"}, {**dict.fromkeys(ADDRESS_KEYS), "city": "Lyon"}):
        values = address_values({**address, "is_default_billing": True}, "2026-01-01")
        assert values[city] == "Lyon"
        assert values[: len(ADDRESS_KEYS)] == tuple(
            "Lyon" if index == city else "" for index in range(len(ADDRESS_KEYS))
        )
        assert values[len(ADDRESS_KEYS) :] == (False, True, "2026-01-01", "2026-01-01")


def test_a_row_naming_a_group_still_to_create_is_not_built_ahead(actor):
    job = job_for([_rich_row(1, groups="Nouveaux")], actor=actor)
    planner = Planner(job, actor=actor)
    record = next(records_read(job))
    values = planner._record_clean(record)
    planner._rows_ahead(record, values, timezone.now())
    assert "_rows" not in values


def test_customers_built_ahead_are_written_like_the_others(
    actor, monkeypatch, make_customer, vip_group, default_group
):
    # Batches of two: the first is all new customers, so the rows of the next ones are built
    # as they are cleaned; one of those matches a stored customer and is updated instead.
    stored = make_customer(email="person5@example.com", first_name="Ana", last_name="Old")
    monkeypatch.setattr(importing, "BATCH_SIZE", 2)
    built_ahead, rows_ahead = [], Planner._rows_ahead

    def spy(self, record, values, now):
        built_ahead.append(record.line)
        rows_ahead(self, record, values, now)

    monkeypatch.setattr(Planner, "_rows_ahead", spy)
    job = import_run(job=job_for([_rich_row(n) for n in range(1, 7)], actor=actor), actor=actor)
    assert (job.created, job.updated, job.rejected) == (5, 1, 0)
    assert built_ahead == [4, 5, 6, 7]  # (lines: the header is line 1)
    compared = ("first_name", "phone", "phone_input", "newsletter", "note", "country",
                "tags_text", "default_group_id", "is_guest", "must_reset_password")  # fmt: skip
    customers = {c.email: c for c in Customer.objects.exclude(pk=stored.pk)}
    first = customers["person1@example.com"]  # built by the writer
    for n in (1, 2, 3, 4, 6):
        customer = customers[f"person{n}@example.com"]
        assert [getattr(customer, name) for name in compared] == [
            getattr(first, name) for name in compared
        ]
        named = first.search_text.replace("nom1 person1@", f"nom{n} person{n}@")
        assert customer.search_text == named
        assert set(customer.groups.all()) == {vip_group, default_group}
        assert sorted(customer.tags.values_list("name", flat=True)) == ["Gold", "silver"]
        address = customer.addresses.get()
        assert (address.city, address.is_default_billing, address.is_default_shipping) == (
            "Lyon", True, True)  # fmt: skip
        consent = customer.consents.get()
        assert (consent.channel, consent.granted, consent.actor_id) == (
            "newsletter", True, actor.user_id)  # fmt: skip
        event = Event.objects.get(customer_id=customer.pk, kind="customer_created")
        assert event.data["line"] == n + 1 and event.data["import"] == job.pk
        assert (event.source, event.actor_id) == (actor.source, actor.user_id)
    stored.refresh_from_db()
    assert (stored.first_name, stored.last_name, stored.note) == (
        "Prénom", "Nom5", "Prefers mornings")  # fmt: skip
    assert stored.addresses.count() == 1


def test_a_resumed_run_read_in_a_child_process_still_knows_the_rows_before_its_checkpoint(
    actor, monkeypatch
):
    monkeypatch.setattr(importing, "PARALLEL_MIN_BYTES", 0)
    job = _run_killed_after_two_batches(actor, monkeypatch)
    monkeypatch.undo()
    monkeypatch.setattr(importing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(importing, "BATCH_SIZE", 3)
    monkeypatch.setattr(importing, "_consumer_idle", _cleaner_sequence("10"))
    job.refresh_from_db()
    assert importing._parallel(job) and job.last_line == 7
    ImportJob.objects.filter(pk=job.pk).update(run_token="")
    job = import_run(job=job, actor=actor)
    assert (job.state, job.rows_done, job.created, job.rejected) == (ImportState.DONE, 11, 10, 1)
    assert job.rejections.get(dry_run=False).reason.startswith(
        "The e-mail address person2@example.com is already on line 3"
    )


def test_a_dry_run_counts_passwords_without_hashing_them(actor, make_customer, monkeypatch):
    from django.contrib.auth.hashers import check_password

    from comptoir.transfer.services import import_plan

    make_customer(email="person1@example.com")
    header = ["email", "first_name", "last_name", "password"]
    data = csv_bytes(header, [["person1@example.com", "A", "B", "secret-1"],
                              ["person2@example.com", "C", "D", "secret-2"]])  # fmt: skip
    job = import_job_configure(
        job=upload(data, actor=actor), actor=actor, mapping=header, passwords="hash"
    )
    hashed = []
    real = import_plan.make_password
    monkeypatch.setattr(import_plan, "make_password", lambda raw: hashed.append(raw) or real(raw))
    job = import_dry_run(job=job, actor=actor)
    assert (job.dry_created, job.dry_updated, job.dry_unchanged) == (1, 1, 0)
    assert hashed == []
    job = import_run(job=job, actor=actor)
    assert (job.created, job.updated) == (1, 1)
    assert sorted(hashed) == ["secret-1", "secret-2"]
    stored = Customer.objects.get(email="person1@example.com").password
    assert check_password("secret-1", stored)


def test_undo_restores_phones_and_a_block(actor, make_customer):
    customer = make_customer(email="person1@example.com", phone="01 99 00 12 34")
    header = ["email", "first_name", "last_name", "phone", "is_blocked", "blocked_reason"]
    data = csv_bytes(header, [["person1@example.com", "A", "B", "+44 20 7946 0000", "1", "Fraude"]])
    job = upload(data, actor=actor)
    job = import_job_configure(job=job, actor=actor, mapping=header)
    job = dry_then_run(job, actor=actor)
    customer.refresh_from_db()
    assert (customer.phone, customer.phone_input) == ("+442079460000", "+44 20 7946 0000")
    assert customer.is_blocked and customer.blocked_by_id == actor.user_id
    job = import_undo(job=job, actor=actor)
    assert job.reverted == 1
    customer.refresh_from_db()
    assert (customer.phone, customer.phone_input) == ("+33199001234", "01 99 00 12 34")
    assert not customer.is_blocked and customer.blocked_reason == ""
    assert customer.blocked_at is None and customer.blocked_by_id is None


@pytest.mark.parametrize("frozen_before", [False, True])
def test_a_run_leaves_the_garbage_collector_as_it_found_it(actor, frozen_before):
    """A worker (nothing frozen) gets everything unfrozen again; a process that froze its
    start-up objects (wsgi.py) keeps them, and those of the run, frozen: objects cannot be
    unfrozen one by one. Either way the collection thresholds come back."""
    import gc

    gc.unfreeze()  # what earlier tests of this process froze is not this test's business
    if frozen_before:
        gc.freeze()
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        job = dry_then_run(job_for([row(n) for n in range(1, 4)], actor=actor), actor=actor)
        assert job.created == 3
        assert gc.get_threshold() == thresholds
        if frozen_before:
            assert frozen > 0 and gc.get_freeze_count() > 0  # (freed ones leave the count)
        else:
            assert gc.get_freeze_count() == frozen == 0
    finally:
        gc.unfreeze()
