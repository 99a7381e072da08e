"""One customer's lifecycle services: anonymise leaves nothing identifying anywhere, merge moves
everything and recomputes the figures (or refuses with a reason and writes nothing), a guest
conversion folds the other guests in and leaves a hashed token and an outbox message, the
personal data archive holds everything but secrets and is itself recorded."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import re
import zipfile
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.models import Event, OutboxMessage
from comptoir.customers.models import (
    Address,
    ConsentRecord,
    Customer,
    DeleteMode,
    Membership,
    Title,
)
from comptoir.customers.selectors import (
    customer_merge_candidates,
    customer_merge_preview,
)
from comptoir.customers.services import (
    ANONYMISED_TEXT,
    address_create,
    address_update,
    customer_block,
    customer_consent_set,
    customer_create,
    customer_delete,
    customer_guest_convert,
    customer_merge,
    customer_note_set,
    customer_password_set,
    customer_personal_data_export,
    customer_unblock,
    customer_update,
    customers_bulk_delete,
)
from comptoir.orders.models import Cart, CartStatus, Order, OrderLine, Visit, Voucher
from comptoir.orders.services import LineInput, order_record, order_status_set, visit_record
from comptoir.storefront.models import CustomerSession, PasswordResetToken, token_hash
from comptoir.support.models import Message, Thread


@pytest.fixture(autouse=True)
def _in_english():
    """The services' messages are checked in English (the shop's default language is French)."""
    from django.utils import translation

    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db

CUSTOMER_IP = "203.0.113.5"
STOREFRONT = Actor.storefront(ip_address=CUSTOMER_IP)


def refreshed(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def buy(customer: Customer, amount: str, *, at=None, status="paid") -> Order:
    return order_record(
        actor=STOREFRONT,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        customer=customer,
        status=status,
        created_at=at,
        lines=[LineInput(product_name="Moulin à café", quantity=1, unit_price=Decimal(amount))],
    )


def thread_with(customer: Customer, subject: str, *bodies: str) -> Thread:
    thread = Thread.objects.create(customer=customer, email=customer.email, subject=subject)
    for number, body in enumerate(bodies):
        Message.objects.create(thread=thread, body=body, from_customer=number % 2 == 0)
    return thread


# Everything that identifies Hélène in the ``helene`` fixture, as it could be stored anywhere.
SECRETS = (
    "Hélène",
    "Dupont-Lavigne",
    "helene.dl@example.com",
    "612345678",
    "698765432",
    "rue des Lilas",
    "Lyon",
    "69003",
    "Prefers mornings",
    "Prefers evenings",
    "Atelier Lavigne",
    "73282932000074",
    "FR40303265045",
    "helene.example",
    "ext-hel-42",
    "@helene_dl",
    "TVA-EX-1",
    "1980-05-01",
    CUSTOMER_IP,
    "helene=1",
    "HELENE10",
    "Bonjour Hélène",
    "my parcel",
    "stolen card",
)


@pytest.fixture
def helene(actor, staff_user, default_group, vip_group):
    """A customer with something in every table that can hold personal data, and events whose
    payloads carry her name, e-mail, phones, address, note and a block reason."""
    customer = customer_create(
        actor=STOREFRONT,
        first_name="Hélène",
        last_name="Dupont-Lavigne",
        email="helene.dl@example.com",
        phone="06 12 34 56 78",
        groups=[vip_group],
        tags=["VIP"],
        note="Prefers mornings",
        consents={"newsletter": True},
        password="a long enough password",
    )
    customer_update(
        customer=customer,
        actor=actor,
        changes={
            "title": Title.objects.first(),
            "mobile": "06 98 76 54 32",
            "birthday": datetime.date(1980, 5, 1),
            "company": "Atelier Lavigne",
            "siret": "73282932000074",
            "vat_number": "FR40303265045",
            "website": "https://helene.example",
            "external_id": "ext-hel-42",
            "social_accounts": {"instagram": "@helene_dl"},
            "is_tax_exempt": True,
            "tax_exemption_ref": "TVA-EX-1",
        },
    )
    customer_note_set(customer=customer, note="Prefers evenings", actor=actor)
    address = address_create(
        customer=customer,
        actor=STOREFRONT,
        first_name="Hélène",
        last_name="Dupont-Lavigne",
        address1="3 rue des Lilas",
        postcode="69003",
        city="Lyon",
        country="FR",
        phone="06 12 34 56 78",
    )
    address_update(address=address, actor=actor, address2="Bâtiment B, Lyon")
    customer_consent_set(
        customer=customer, channel="sms", granted=True, actor=STOREFRONT, note="helene=1"
    )
    order = buy(customer, "50.00")
    buy(customer, "20.00", status="payment_error")
    Cart.objects.create(customer=customer, order=order, status=CartStatus.CONVERTED)
    Cart.objects.create(customer=customer, status=CartStatus.ABANDONED)
    visit_record(
        customer=customer, ip_address=CUSTOMER_IP, referrer="https://mail.example/?helene=1"
    )
    Voucher.objects.create(customer=customer, code="HELENE10", name="Welcome Hélène")
    thread_with(customer, "Where is my parcel?", "Hello, it is Hélène", "Bonjour Hélène, ...")
    customer_block(customer=customer, reason="Paid with a stolen card", actor=actor)
    customer_unblock(customer=customer, actor=actor)
    customer_block(customer=customer, reason="Again a stolen card", actor=actor)
    OutboxMessage.objects.create(
        kind="test",
        to=customer.email,
        subject="Hello",
        body="Bonjour Hélène",
        language="fr",
        customer=customer,
    )
    PasswordResetToken.objects.create(
        customer=customer,
        token_hash=token_hash("raw"),
        created_at=timezone.now(),
        expires_at=timezone.now(),
    )
    CustomerSession.objects.create(
        customer=customer,
        token_hash=token_hash("session"),
        created_at=timezone.now(),
        expires_at=timezone.now(),
        ip_address="203.0.113.9",
        user_agent="Firefox",
    )
    return refreshed(customer)


def database_dump(exclude=None) -> str:
    """Every row of every table, as text: what anonymising must have scrubbed everywhere."""
    rows = []
    tables = set(connection.introspection.table_names())
    for model in apps.get_models():
        if model._meta.db_table not in tables or model is exclude:  # not migrated yet / left out
            continue
        rows += [
            json.dumps(row, default=str, ensure_ascii=False) for row in model._base_manager.values()
        ]
    return "\n".join(rows)


# -------------------------------------------------------------------------------------------------
# Anonymise
# -------------------------------------------------------------------------------------------------


def test_the_fixture_really_spreads_her_data_everywhere(helene):
    dump = database_dump()
    assert [secret for secret in SECRETS if secret not in dump] == []


def test_anonymise_leaves_nothing_identifying_in_any_table(helene, make_customer, actor):
    bystander = make_customer(first_name="Paul", last_name="Martin", phone="06 99 99 99 99")

    assert customer_delete(customer=helene, mode=DeleteMode.ANONYMISE, actor=actor)

    dump = database_dump()
    assert [secret for secret in SECRETS if secret in dump] == []
    # The bystander keeps everything.
    assert refreshed(bystander).phone == "+33699999999"
    assert Event.objects.get(customer_id=bystander.pk, kind="customer_created").data["name"] == (
        "Paul Martin"
    )


def test_anonymise_sets_every_column_of_the_customer(helene, actor, vip_group):
    before = refreshed(helene)
    customer_delete(customer=helene, mode=DeleteMode.ANONYMISE, actor=actor)
    row = refreshed(helene)
    expected = {
        # Scrubbed
        "title_id": None,
        "first_name": "Anonymous",
        "last_name": "",
        "email": "",
        "email_key": "",
        "phone": "",
        "phone_input": "",
        "mobile": "",
        "mobile_input": "",
        "birthday": None,
        "company": "",
        "siret": "",
        "ape_code": "",
        "vat_number": "",
        "website": "",
        "social_accounts": {},
        "external_id": "",
        "tax_exemption_ref": "",
        "blocked_reason": ANONYMISED_TEXT,
        "note": "",
        "password": "",
        "must_reset_password": False,
        "is_enabled": False,
        "search_text": "",
        "version": before.version + 1,
        # Kept: state, groups, consents' current state, figures, dates
        "language": before.language,
        "country": before.country,
        "is_guest": False,
        "is_blocked": True,
        "blocked_at": before.blocked_at,
        "blocked_by_id": before.blocked_by_id,
        "is_tax_exempt": True,
        "deleted_at": None,
        "is_demo": False,
        "default_group_id": before.default_group_id,
        "tags_text": "VIP",
        "newsletter": True,
        "newsletter_at": before.newsletter_at,
        "partner_offers": False,
        "partner_offers_at": None,
        "sms": True,
        "sms_at": before.sms_at,
        "orders_count": 1,
        "invalid_orders_count": 1,
        "total_spent": Decimal("50.00"),
        "first_order_at": before.first_order_at,
        "last_order_at": before.last_order_at,
        "last_visit_at": before.last_visit_at,
        "created_at": before.created_at,
    }
    actual = {
        field.attname: getattr(row, field.attname) for field in Customer._meta.concrete_fields
    }
    assert row.anonymised_at is not None and row.updated_at == row.anonymised_at
    assert set(actual) - set(expected) == {"id", "anonymised_at", "updated_at"}
    assert {key: actual[key] for key in expected} == expected
    assert set(row.groups.values_list("pk", flat=True)) == {before.default_group_id, vip_group.pk}


def test_anonymise_keeps_orders_carts_consents_and_the_timeline_without_the_person(helene, actor):
    kinds_before = list(
        Event.objects.filter(customer_id=helene.pk).order_by("id").values_list("kind", flat=True)
    )
    customer_delete(customer=helene, mode=DeleteMode.ANONYMISE, actor=actor)

    orders = Order.objects.filter(customer=helene).order_by("total")
    assert [
        (o.total, o.customer_first_name, o.customer_last_name, o.customer_email) for o in orders
    ] == [
        (Decimal("20.00"), "Anonymous", "", ""),
        (Decimal("50.00"), "Anonymous", "", ""),
    ]
    assert OrderLine.objects.filter(order__customer=helene).count() == 2
    assert Cart.objects.filter(customer=helene).count() == 2
    consents = ConsentRecord.objects.filter(customer=helene)
    assert sorted(consents.values_list("channel", "granted")) == [
        ("newsletter", True),
        ("sms", True),
    ]
    assert set(consents.values_list("ip_address", "note")) == {(None, "")}
    assert list(Visit.objects.filter(customer=helene).values_list("ip_address", "referrer")) == [
        (None, "")
    ]
    voucher = Voucher.objects.get(customer=helene)
    assert (voucher.code, voucher.name) == (f"ANON-{voucher.pk}", ANONYMISED_TEXT)
    thread = Thread.objects.get(customer=helene)
    assert (thread.subject, thread.email) == (ANONYMISED_TEXT, "")
    assert set(Message.objects.filter(thread=thread).values_list("body", flat=True)) == {
        ANONYMISED_TEXT
    }
    outbox = OutboxMessage.objects.get(customer=helene)
    assert (outbox.to, outbox.body) == ("", ANONYMISED_TEXT)
    assert not PasswordResetToken.objects.filter(customer=helene).exists()
    assert not CustomerSession.objects.filter(customer=helene).exists()
    assert not Address.objects.filter(customer=helene).exists()
    # The timeline keeps every kind of change, with the values blanked.
    timeline = Event.objects.filter(customer_id=helene.pk).order_by("id")
    assert list(timeline.values_list("kind", flat=True)) == [*kinds_before, "customer_anonymised"]
    created = timeline.get(kind="customer_created").data
    assert created == {"guest": False, "email": None, "name": None}
    updated = timeline.get(kind="customer_updated").data
    assert updated["changes"]["mobile"] == {"before": None, "after": None}
    assert updated["changes"]["is_tax_exempt"] == {"before": False, "after": True}
    assert timeline.get(kind="note_changed").data == {"before": None, "after": None}
    assert {e.data["reason"] for e in timeline.filter(kind="customer_blocked")} == {None}
    assert timeline.get(kind="order_recorded", data__total="50.00").data["reference"]
    assert not timeline.exclude(kind="customer_anonymised").filter(ip_address__isnull=False)


def test_anonymise_runs_the_same_queries_for_one_or_many_customers(make_customer, actor):
    def rich(n):
        customer = make_customer(phone="06 12 34 56 78", note="x")
        address_create(
            customer=customer,
            actor=actor,
            first_name="A",
            last_name="B",
            address1="1 rue X",
            city="Lyon",
            country="FR",
        )
        buy(customer, "10.00")
        visit_record(customer=customer, ip_address=CUSTOMER_IP)
        thread_with(customer, "Hi", "Hello")
        return customer

    counts = []
    for size in (1, 4):
        customers = [rich(n) for n in range(size)]
        selection = Customer.objects.filter(pk__in=[c.pk for c in customers])
        with CaptureQueriesContext(connection) as captured:
            assert (
                customers_bulk_delete(selection=selection, mode=DeleteMode.ANONYMISE, actor=actor)
                == size
            )
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_delete_modes_keep_the_orders_readable(helene, make_customer, actor):
    other = make_customer()
    buy(other, "30.00")
    customer_delete(customer=helene, mode=DeleteMode.ALLOW_REREGISTRATION, actor=actor)
    customer_delete(customer=other, mode=DeleteMode.DENY_REREGISTRATION, actor=actor)

    gone = Order.objects.filter(customer_email="helene.dl@example.com")
    assert sorted(gone.values_list("total", "customer_id")) == [
        (Decimal("20.00"), None),
        (Decimal("50.00"), None),
    ]
    assert Order.objects.get(customer=other).customer_email == other.email
    # The converted cart stays with its order, the abandoned one goes.
    assert list(Cart.objects.filter(order__in=gone).values_list("customer_id", flat=True)) == [None]
    assert not Cart.objects.filter(status=CartStatus.ABANDONED).exists()
    assert not PasswordResetToken.objects.exists() and not OutboxMessage.objects.exists()
    assert not Thread.objects.filter(customer__isnull=False).exists()


# -------------------------------------------------------------------------------------------------
# Merge
# -------------------------------------------------------------------------------------------------


@pytest.fixture
def pair(make_customer, actor, vip_group):
    """Two records of one person: the survivor (registered) and a duplicate guest with more."""
    early = timezone.now() - datetime.timedelta(days=400)
    survivor = make_customer(
        first_name="Jeanne",
        last_name="Martin",
        email="jeanne@example.com",
        note="Survivor note",
        tags=["VIP", "Salon"],
        consents={"newsletter": True},
    )
    address_create(
        customer=survivor,
        actor=actor,
        first_name="Jeanne",
        last_name="Martin",
        address1="1 rue A",
        city="Paris",
        country="FR",
    )
    buy(survivor, "100.00", at=timezone.now() - datetime.timedelta(days=10))
    visit_record(customer=survivor, at=timezone.now() - datetime.timedelta(days=5))

    duplicate = make_customer(
        first_name="Jeanne",
        last_name="Martin-Durand",
        email="j.martin@example.org",
        is_guest=True,
        phone="06 11 22 33 44",
        note="Duplicate note",
        groups=[vip_group],
        tags=["salon", "Grossiste"],
    )
    Customer.objects.filter(pk=duplicate.pk).update(created_at=early)
    address_create(
        customer=duplicate,
        actor=actor,
        first_name="Jeanne",
        last_name="Durand",
        address1="2 rue B",
        city="Nantes",
        country="BE",
    )
    buy(duplicate, "40.00", at=early)
    buy(duplicate, "15.00", status="cancelled", at=timezone.now() - datetime.timedelta(days=1))
    Cart.objects.create(customer=duplicate, status=CartStatus.ABANDONED)
    visit_record(customer=duplicate, at=timezone.now() - datetime.timedelta(hours=1))
    Voucher.objects.create(customer=duplicate, code="JEANNE5", name="Five")
    thread_with(duplicate, "Order question", "Hi")
    customer_consent_set(customer=duplicate, channel="newsletter", granted=True, actor=STOREFRONT)
    customer_consent_set(customer=duplicate, channel="newsletter", granted=False, actor=STOREFRONT)
    return refreshed(survivor), refreshed(duplicate)


def merge(survivor, duplicate, actor, **choices):
    return customer_merge(
        survivor=survivor,
        duplicate=duplicate,
        choices=choices,
        duplicate_version=duplicate.version,
        survivor_version=survivor.version,
        actor=actor,
    )


def test_merge_moves_everything_and_recomputes_the_figures(pair, actor, vip_group, default_group):
    survivor, duplicate = pair
    duplicate_events = set(
        Event.objects.filter(customer_id=duplicate.pk).values_list("id", flat=True)
    )

    merged = merge(survivor, duplicate, actor, last_name="duplicate", phone="duplicate")

    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    assert (merged.first_name, merged.last_name, merged.email) == (
        "Jeanne",
        "Martin-Durand",
        "jeanne@example.com",
    )
    assert (merged.phone, merged.phone_input) == ("+33611223344", "06 11 22 33 44")
    assert merged.note == "Survivor note\n\nDuplicate note"
    assert merged.version == survivor.version + 1
    # Figures from the orders and visits it now has.
    assert (merged.orders_count, merged.invalid_orders_count, merged.total_spent) == (
        2,
        1,
        Decimal("140.00"),
    )
    orders = Order.objects.filter(customer=merged)
    assert merged.first_order_at == min(o.created_at for o in orders)
    assert merged.last_order_at == max(o.created_at for o in orders)
    assert merged.last_visit_at == duplicate.last_visit_at
    assert merged.created_at == duplicate.created_at  # the earliest registration
    # Every row moved.
    assert orders.count() == 3
    assert Cart.objects.filter(customer=merged).count() == 1
    assert Voucher.objects.get(customer=merged).code == "JEANNE5"
    assert Thread.objects.filter(customer=merged).count() == 1
    assert Visit.objects.filter(customer=merged).count() == 2
    assert ConsentRecord.objects.filter(customer=merged).count() == 3
    assert duplicate_events <= set(
        Event.objects.filter(customer_id=merged.pk).values_list("id", flat=True)
    )
    # Addresses: the survivor keeps its defaults; the search text knows both cities.
    addresses = Address.objects.filter(customer=merged).order_by("id")
    assert [(a.city, a.is_default_shipping, a.is_default_billing) for a in addresses] == [
        ("Paris", True, True),
        ("Nantes", False, False),
    ]
    assert "nantes" in merged.search_text and "martin-durand" in merged.search_text
    assert merged.country == "FR"
    # Groups and tags: the union.
    assert set(Membership.objects.filter(customer=merged).values_list("group_id", flat=True)) == {
        default_group.pk,
        vip_group.pk,
    }
    assert merged.tags_text == "Grossiste, Salon, VIP"
    # The duplicate withdrew the newsletter after the survivor gave it: the latest choice stands.
    assert merged.newsletter is False
    # The events: the survivor's says what was merged; the duplicate's stays under its id.
    merged_event = Event.objects.get(customer_id=merged.pk, kind="customer_merged")
    assert merged_event.data["duplicate"] == duplicate.pk
    assert merged_event.data["email"] == "j.martin@example.org"
    assert merged_event.data["changes"]["last_name"] == {
        "before": "Martin",
        "after": "Martin-Durand",
    }
    assert merged_event.data["moved"] == {
        "orders": 2,
        "carts": 1,
        "consents": 2,
        "threads": 1,
        "visits": 1,
        "vouchers": 1,
        "outbox_messages": 0,
        "events": len(duplicate_events),
        "addresses": 1,
        "groups": 1,
        "tags": 1,
    }
    into = Event.objects.get(kind="customer_merged_into")
    assert (into.customer_id, into.data, into.actor_id) == (
        duplicate.pk,
        {"into": merged.pk},
        actor.user_id,
    )


def test_merge_takes_the_duplicate_default_address_when_the_survivor_has_none(make_customer, actor):
    survivor = make_customer()
    duplicate = make_customer(is_guest=True, email="x@example.com")
    address_create(
        customer=duplicate,
        actor=actor,
        first_name="A",
        last_name="B",
        address1="1",
        city="Lille",
        country="FR",
    )
    merged = merge(refreshed(survivor), refreshed(duplicate), actor)
    address = Address.objects.get(customer=merged)
    assert (address.is_default_shipping, address.is_default_billing) == (True, True)
    assert merged.country == "FR" and "lille" in merged.search_text


def test_merge_of_two_registered_customers_can_keep_the_duplicate_email(make_customer, actor):
    survivor = make_customer(email="old@example.com")
    duplicate = make_customer(email="new@example.com", password="its own password")
    survivor_password = refreshed(survivor).password

    merged = merge(refreshed(survivor), refreshed(duplicate), actor, email="duplicate")

    assert (merged.email, merged.email_key, merged.password) == (
        "new@example.com",
        "new@example.com",
        survivor_password,
    )


def test_a_blocked_duplicate_blocks_the_survivor(pair, actor):
    survivor, duplicate = pair
    customer_block(customer=duplicate, reason="Chargebacks", actor=actor)
    merged = merge(survivor, refreshed(duplicate), actor)
    assert (merged.is_blocked, merged.blocked_reason) == (True, "Chargebacks")


def test_merge_refusals_write_nothing(pair, make_customer, actor):
    survivor, duplicate = pair
    involved = [survivor.pk, duplicate.pk]
    events_before = Event.objects.filter(customer_id__in=involved).count()

    def refused(survivor, duplicate, **kwargs):
        with pytest.raises(ValidationError) as error:
            customer_merge(
                survivor=survivor,
                duplicate=duplicate,
                choices=kwargs.pop("choices", {}),
                duplicate_version=kwargs.pop("duplicate_version", duplicate.version),
                survivor_version=kwargs.pop("survivor_version", survivor.version),
                actor=actor,
            )
        return " ".join(error.value.messages)

    assert "itself" in refused(survivor, survivor)
    assert "changed since the preview" in refused(
        survivor, duplicate, duplicate_version=duplicate.version - 1
    )
    assert "changed since the preview" in refused(
        survivor, duplicate, survivor_version=survivor.version + 1
    )
    assert "whose value wins" in refused(survivor, duplicate, choices={"email": "both"})
    assert "whose value wins" in refused(survivor, duplicate, choices={"password": "duplicate"})
    # A registered duplicate into a guest would lose its account.
    assert "registered customer" in refused(duplicate, survivor)
    # The chosen e-mail belongs to another registered customer.
    make_customer(email="j.martin@example.org")
    assert "already has this e-mail" in refused(survivor, duplicate, choices={"email": "duplicate"})
    # An empty e-mail for a registered survivor.
    blank = make_customer(is_guest=True, email="")
    assert "needs an e-mail" in refused(survivor, refreshed(blank), choices={"email": "duplicate"})
    # Deleted or anonymised, either side.
    gone = make_customer()
    customer_delete(customer=gone, mode=DeleteMode.DENY_REREGISTRATION, actor=actor)
    assert "deleted" in refused(survivor, refreshed(gone))
    assert "deleted" in refused(refreshed(gone), duplicate)
    customer_delete(customer=gone, mode=DeleteMode.ANONYMISE, actor=actor)
    assert "anonymised" in refused(survivor, refreshed(gone))

    assert Customer.objects.filter(pk=duplicate.pk).exists()
    assert Order.objects.filter(customer=duplicate).count() == 2
    assert Address.objects.filter(customer=duplicate).count() == 1
    assert refreshed(survivor).version == survivor.version
    assert Event.objects.filter(customer_id__in=involved).count() == events_before
    assert not Event.objects.filter(kind__startswith="customer_merged").exists()


def test_preview_shows_both_values_defaults_and_what_moves(pair):
    survivor, duplicate = pair
    preview = customer_merge_preview(survivor=survivor, duplicate=duplicate)
    rows = {row.field.name: row for row in preview.rows}
    assert (rows["last_name"].survivor_value, rows["last_name"].duplicate_value) == (
        "Martin",
        "Martin-Durand",
    )
    # The survivor has no phone: the duplicate's wins by default.
    assert rows["phone"].default == "duplicate" and rows["last_name"].default == "survivor"
    assert preview.possible and preview.moving["orders"] == 2
    assert not customer_merge_preview(survivor=duplicate, duplicate=survivor).possible


def test_candidates_by_search_or_same_email_and_name(pair, make_customer):
    survivor, duplicate = pair
    same_email_guest = make_customer(
        first_name="X", last_name="Y", is_guest=True, email="JEANNE@example.com"
    )
    make_customer(first_name="Other", last_name="Person")
    suggested = set(customer_merge_candidates(customer=survivor).values_list("pk", flat=True))
    assert suggested == {duplicate.pk, same_email_guest.pk}
    found = customer_merge_candidates(customer=survivor, query="j.martin@example")
    assert list(found.values_list("pk", flat=True)) == [duplicate.pk]
    assert list(customer_merge_candidates(customer=survivor, query=str(duplicate.pk))) == [
        duplicate
    ]
    assert not customer_merge_candidates(customer=survivor, query=str(survivor.pk)).exists()


def test_merge_runs_a_fixed_number_of_queries(make_customer, actor):
    counts = []
    for size in (1, 6):
        survivor = make_customer()
        duplicate = make_customer(is_guest=True, email="dup@example.com")
        for _n in range(size):
            buy(duplicate, "5.00")
            visit_record(customer=duplicate)
            thread_with(duplicate, "S", "B")
        with CaptureQueriesContext(connection) as captured:
            merge(refreshed(survivor), refreshed(duplicate), actor)
        counts.append(len(captured))
    assert counts[0] == counts[1]


# -------------------------------------------------------------------------------------------------
# Guest conversion
# -------------------------------------------------------------------------------------------------


@pytest.fixture
def guests(make_customer):
    first = make_customer(
        first_name="Luc", last_name="Petit", is_guest=True, email="luc@example.com", language="en"
    )
    second = make_customer(
        first_name="Luc",
        last_name="Petit",
        is_guest=True,
        email="LUC@example.com",
        phone="0611223344",
    )
    buy(first, "10.00")
    buy(second, "25.00")
    return refreshed(first), refreshed(second)


def test_convert_makes_it_registered_folds_the_other_guests_and_writes_the_message(guests, actor):
    first, second = guests

    conversion = customer_guest_convert(customer=first, actor=actor)

    customer = refreshed(first)
    assert (customer.is_guest, customer.must_reset_password, customer.password) == (False, True, "")
    assert conversion.merged_guest_ids == [second.pk]
    assert not Customer.objects.filter(pk=second.pk).exists()
    assert customer.phone == "+33611223344"  # a blank filled from the other guest
    assert (customer.orders_count, customer.total_spent) == (2, Decimal("35.00"))
    assert Order.objects.filter(customer=customer).count() == 2
    # The message, in the customer's language, carries the only copy of the token.
    message = OutboxMessage.objects.get()
    assert (message.to, message.language, message.customer_id, message.sent_at) == (
        "luc@example.com",
        "en",
        customer.pk,
        None,
    )
    assert message.subject == "Your customer account is ready"
    raw = re.search(r"token=([\w-]+)", message.body).group(1)
    token = PasswordResetToken.objects.get(customer=customer)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest() != raw
    assert token.used_at is None and token.expires_at > timezone.now() + datetime.timedelta(
        hours=71
    )
    assert raw in message.body
    assert raw not in database_dump(exclude=OutboxMessage)
    event = Event.objects.get(customer_id=customer.pk, kind="guest_converted")
    assert event.data["merged_guests"] == [second.pk] and event.data["outbox_message"] == message.pk
    assert "password" not in event.data["changes"]
    assert Event.objects.get(kind="customer_merged_into").customer_id == second.pk


def test_converting_again_issues_a_new_token_only_once_registered(guests, actor):
    first, _second = guests
    customer_guest_convert(customer=first, actor=actor)
    with pytest.raises(ValidationError, match="already registered"):
        customer_guest_convert(customer=first, actor=actor)
    assert PasswordResetToken.objects.count() == 1 and OutboxMessage.objects.count() == 1


def test_convert_refusals(guests, make_customer, actor):
    first, second = guests
    taken = make_customer(email="luc@example.com")
    with pytest.raises(ValidationError) as error:
        customer_guest_convert(customer=first, actor=actor)
    assert error.value.existing_customer_id == taken.pk
    assert "merge this guest" in " ".join(error.value.messages)
    nameless = make_customer(is_guest=True, email="")
    with pytest.raises(ValidationError, match="without an e-mail"):
        customer_guest_convert(customer=nameless, actor=actor)
    assert refreshed(first).is_guest and refreshed(second).is_guest
    assert not OutboxMessage.objects.exists() and not PasswordResetToken.objects.exists()


# -------------------------------------------------------------------------------------------------
# Personal data export
# -------------------------------------------------------------------------------------------------


def test_personal_data_archive_holds_everything_but_secrets(helene, actor):
    password_hash = refreshed(helene).password
    assert password_hash.startswith("argon2")

    archive = customer_personal_data_export(customer=helene, actor=actor)

    assert archive.filename.startswith(f"personal-data-customer-{helene.pk}-")
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        names = set(opened.namelist())
        sections = {
            "profile", "addresses", "consents", "orders", "carts", "vouchers", "messages",
            "visits", "events", "messages_to_customer",
        }  # fmt: skip
        assert {f"json/{name}.json" for name in sections} <= names
        assert {f"csv/{name}.csv" for name in sections | {"order_lines"}} <= names
        text = "\n".join(opened.read(name).decode("utf-8-sig") for name in names)
        profile = json.loads(opened.read("json/profile.json"))
        orders = json.loads(opened.read("json/orders.json"))
        messages = json.loads(opened.read("json/messages.json"))
        lines_csv = opened.read("csv/order_lines.csv").decode("utf-8-sig").splitlines()
    assert profile["email"] == "helene.dl@example.com" and profile["tags"] == ["VIP"]
    assert profile["phone"] == "+33612345678" and profile["birthday"] == "1980-05-01"
    assert "password" not in profile and "search_text" not in profile
    assert sorted(order["total"] for order in orders) == ["20.00", "50.00"]
    assert orders[0]["lines"][0]["product"] == "Moulin à café"
    assert lines_csv[0] == "order;product_reference;product;quantity;unit_price;total"
    assert [m["message"] for m in messages[0]["messages"]] == [
        "Hello, it is Hélène",
        "Bonjour Hélène, ...",
    ]
    for expected in ("3 rue des Lilas", "Lyon", CUSTOMER_IP, "HELENE10", "Prefers evenings"):
        assert expected in text
    # No secret, no staff identity or staff IP address.
    for withheld in (password_hash, token_hash("raw"), "192.0.2.10", "marie", "Curie"):
        assert withheld not in text
    event = Event.objects.get(customer_id=helene.pk, kind="personal_data_exported")
    assert event.actor_id == actor.user_id and event.data["bytes"] == len(archive.content)


def test_personal_data_csv_cells_cannot_run_formulas(make_customer, actor):
    customer = make_customer(company='=HYPERLINK("http://evil")', note="@SUM(A1)")
    archive = customer_personal_data_export(customer=customer, actor=actor)
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        profile_csv = opened.read("csv/profile.csv").decode("utf-8-sig")
    assert "company;'=HYPERLINK" in profile_csv.replace('"', "")
    assert "note;'@SUM(A1)" in profile_csv


def test_a_password_change_leaves_no_hash_in_the_archive(make_customer, actor):
    customer = make_customer()
    customer_password_set(customer=customer, raw_password="secret-pass-123", actor=actor)
    archive = customer_personal_data_export(customer=customer, actor=actor)
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        text = "".join(opened.read(name).decode("utf-8-sig") for name in opened.namelist())
    assert refreshed(customer).password not in text and "secret-pass-123" not in text


def test_status_change_after_merge_moves_the_survivor_figures(pair, actor):
    survivor, duplicate = pair
    merged = merge(survivor, duplicate, actor)
    cancelled = Order.objects.get(customer=merged, status="cancelled")
    order_status_set(order=cancelled, status="paid", actor=actor)
    assert refreshed(merged).orders_count == 3
