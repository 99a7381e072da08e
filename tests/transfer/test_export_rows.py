"""The export's rows (``transfer.selectors.exporting``): every profile's cells for real
customers, the scopes, formula safety, no secrets, and a fixed number of queries a chunk."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.core.csv_safety import cell_is_formula_safe, cell_restore
from comptoir.customers.models import Customer, Title
from comptoir.customers.services import (
    address_create,
    customer_block,
    customer_consent_set,
    customer_delete,
    customer_groups_add,
)
from comptoir.customers.services.profile import customer_password_set
from comptoir.groups.models import Group
from comptoir.transfer.formats import comptoir
from comptoir.transfer.formats.profiles import PROFILES, ExportColumn, Profile
from comptoir.transfer.selectors.exporting import (
    EXPORTABLE_FIELDS,
    ExportScope,
    ExportSpec,
    Scope,
    _Plan,
    export_chunks,
    export_count,
    export_header,
    export_query_clean,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def spec_for(profile: str, headers: str = "key", scope: ExportScope | None = None, columns=None):
    chosen = columns or tuple(column.key for column in PROFILES[profile].columns)
    return ExportSpec(
        profile=profile, columns=tuple(chosen), headers=headers, scope=scope or ExportScope()
    )


def rows_of(spec: ExportSpec, chunk_size: int = 2000) -> list[dict]:
    keys = spec.columns
    return [
        dict(zip(keys, row, strict=True))
        for chunk in export_chunks(spec=spec, chunk_size=chunk_size)
        for row in chunk.rows
    ]


@pytest.fixture
def helene(make_customer, actor, vip_group):
    """A customer with something in every part: title, groups, tags, two addresses, consents,
    figures, a password."""
    title = Title.objects.create(name_fr="Mme", name_en="Ms", gender="female")
    customer = make_customer(
        first_name="Hélène",
        last_name="Dupont",
        email="helene@example.com",
        title=title,
        phone="+33612345678",
        birthday=datetime.date(1985, 7, 14),
        company="Dupont SARL",
        language="fr",
        social_accounts={"instagram": "@helene"},
        external_id="ps-42",
        tags=["VIP", "Lyon, Rhône"],
        consents={"newsletter": True},
    )
    customer_groups_add(customer=customer, groups=[vip_group], actor=actor)
    address_create(
        customer=customer,
        actor=actor,
        alias="Maison",
        first_name="Hélène",
        last_name="Dupont",
        address1="3 rue de la Paix",
        postcode="69001",
        city="Lyon",
        country="FR",
        phone="+33478000000",
    )
    address_create(
        customer=customer,
        actor=actor,
        alias="Bureau",
        first_name="Hélène",
        last_name="Dupont",
        address1="10 quai Perrache",
        address2="3e étage",
        postcode="69002",
        city="Lyon",
        country="FR",
        default_shipping=True,
    )
    Customer.objects.filter(pk=customer.pk).update(
        total_spent=Decimal("1234.50"),
        orders_count=3,
        created_at=datetime.datetime(2024, 3, 1, 13, 5, tzinfo=UTC),
        last_order_at=datetime.datetime(2024, 5, 2, 8, 0, 30, 250000, tzinfo=UTC),
    )
    customer_password_set(customer=customer, raw_password="s3cret-Passw0rd!", actor=actor)
    customer.refresh_from_db()
    return customer


def test_comptoir_profile_writes_every_field_and_one_row_per_address(helene, default_group):
    rows = rows_of(spec_for("comptoir"))
    assert len(rows) == 2
    first, second = rows
    assert first["id"] == helene.pk
    assert first["external_id"] == "ps-42"
    assert first["title"] == "Mme"  # the user's language (French) with technical headers
    assert (first["first_name"], first["last_name"]) == ("Hélène", "Dupont")
    assert first["email"] == "helene@example.com"
    assert first["phone"] == "+33612345678"  # E.164 intact: a signed number is no formula
    assert first["birthday"] == "1985-07-14"
    assert first["language"] == "fr"
    assert first["social_accounts"] == '{"instagram": "@helene"}'
    assert (first["is_guest"], first["is_enabled"], first["is_blocked"]) == (0, 1, 0)
    assert first["newsletter"] == 1 and first["partner_offers"] == 0
    assert first["newsletter_at"].startswith(f"{helene.newsletter_at:%Y-%m-%dT%H:%M:%S}")
    assert first["newsletter_at"].endswith("+00:00")
    assert first["partner_offers_at"] is None
    assert first["groups"] == f"{default_group.name_fr} | VIP"
    assert first["default_group"] == default_group.name_fr
    # Names joined with the format's separator, read from the tags themselves (one holds a comma).
    assert first["tags"] == "Lyon, Rhône | VIP"
    assert first["created_at"] == "2024-03-01T13:05:00+00:00"
    assert first["orders_count"] == 3
    assert first["total_spent"] == "1234.50"
    assert first["last_order_at"] == "2024-05-02T08:00:30.250000+00:00"
    assert first["last_visit_at"] is None  # never visited: empty
    # The default billing address first, on the customer's own row.
    assert first["address_alias"] == "Maison"
    assert first["address_line1"] == "3 rue de la Paix"
    assert first["address_country"] == "FR"
    assert first["address_phone"] == "+33478000000"
    assert (first["address_default_billing"], first["address_default_shipping"]) == (1, 0)
    # The second address on a continuation row: only id and e-mail repeated.
    assert second["id"] == helene.pk and second["email"] == "helene@example.com"
    assert second["first_name"] is None and second["groups"] is None
    assert second["address_alias"] == "Bureau"
    assert second["address_line2"] == "3e étage"
    assert (second["address_default_billing"], second["address_default_shipping"]) == (0, 1)


def test_header_styles_and_names_follow_the_chosen_language(helene, default_group):
    assert export_header(spec=spec_for("comptoir", "key"))[:4] == [
        "id",
        "external_id",
        "title",
        "first_name",
    ]
    assert export_header(spec=spec_for("comptoir", "en"))[3] == "First name"
    assert export_header(spec=spec_for("comptoir", "fr"))[3] == "Prénom"
    english = rows_of(spec_for("comptoir", "en"))[0]
    assert english["title"] == "Ms"
    assert english["default_group"] == default_group.name_en
    # Shopify's headers are its own, whatever the language asked.
    assert export_header(spec=spec_for("shopify", "fr"))[:2] == ["Customer ID", "First Name"]
    assert export_header(spec=spec_for("prestashop", "fr")) == [
        "ID", "Titre", "Prénom", "Nom", "Adresse e-mail", "Groupe", "Société", "Ventes",
        "Activé", "Lettre d'informations", "Offres partenaires", "Inscription",
        "Dernière visite",
    ]  # fmt: skip
    assert export_header(spec=spec_for("prestashop", "en"))[4] == "Email address"


def test_prestashop_profile(helene, default_group):
    [row] = rows_of(spec_for("prestashop", "fr"))
    assert row == {
        "id": helene.pk,
        "social_title": "Mme",
        "first_name": "Hélène",
        "last_name": "Dupont",
        "email": "helene@example.com",
        "group": default_group.name_fr,
        "company": "Dupont SARL",
        "sales": "1234.50",
        "enabled": 1,
        "newsletter": 1,
        "partner_offers": 0,
        "registration": "2024-03-01T13:05:00+00:00",
        "last_visit": None,
    }


def test_shopify_profile_takes_the_default_shipping_address_and_yes_no(helene):
    [row] = rows_of(spec_for("shopify"))
    assert row["customer_id"] == helene.pk
    assert row["accepts_email_marketing"] == "yes"
    assert row["accepts_sms_marketing"] == "no"
    assert row["tax_exempt"] == "no"
    assert row["default_address_address1"] == "10 quai Perrache"  # the shipping one
    assert row["default_address_address2"] == "3e étage"
    assert row["default_address_country_code"] == "FR"
    assert row["default_address_zip"] == "69002"
    assert row["phone"] == "+33612345678"
    assert row["total_spent"] == "1234.50" and row["total_orders"] == 3
    assert row["tags"] == "Lyon, Rhône, VIP"  # Shopify's comma list


def test_mailing_profiles_hold_only_current_subscribers(helene, make_customer, actor):
    make_customer(email="never@example.com")
    former = make_customer(email="former@example.com", consents={"newsletter": True})
    customer_consent_set(customer=former, channel="newsletter", granted=False, actor=actor)
    gone = make_customer(email="gone@example.com", consents={"newsletter": True})
    customer_delete(customer=gone, mode="deny", actor=actor)
    make_customer(
        email="sms@example.com", mobile="+33698765432", consents={"newsletter": True, "sms": True}
    )
    make_customer(is_guest=True, email="", consents={"newsletter": True})
    # Even a filter asking for everyone and the deleted keeps mailing files to subscribers.
    scope = ExportScope(kind=Scope.FILTER, query="lifecycle=all")

    mailchimp = rows_of(spec_for("mailchimp", scope=scope))
    assert [row["email_address"] for row in mailchimp] == ["helene@example.com", "sms@example.com"]
    assert mailchimp[0]["birthday"] == "07/14"
    assert mailchimp[0]["address"] == "10 quai Perrache  3e étage  Lyon  69002  FR"
    assert mailchimp[0]["tags"] == "Lyon, Rhône, VIP"

    brevo = rows_of(spec_for("brevo", scope=scope))
    assert [(row["email"], row["sms"]) for row in brevo] == [
        ("helene@example.com", None),  # no SMS consent: no number for the SMS channel
        ("sms@example.com", "+33698765432"),
    ]
    assert export_count(spec=spec_for("brevo", scope=scope)) == 2


def test_scopes_filter_and_selection(make_customer):
    fr = make_customer(first_name="Anne", consents={"newsletter": True})
    other = make_customer(first_name="Bruno", consents={"newsletter": True})
    make_customer(first_name="Chloé")
    columns = ("id", "first_name")

    def ids(scope):
        return [row["id"] for row in rows_of(spec_for("comptoir", scope=scope, columns=columns))]

    assert len(ids(ExportScope())) == 3
    assert ids(ExportScope(kind=Scope.FILTER, query="newsletter=true")) == [fr.pk, other.pk]
    # Ticked ids count only inside the filter they were ticked under.
    selection = ExportScope(kind=Scope.SELECTION, query="newsletter=true", ids=(other.pk, 10**9))
    assert ids(selection) == [other.pk]
    assert ids(ExportScope(kind=Scope.SELECTION, query="newsletter=true", ids=None)) == [
        fr.pk,
        other.pk,
    ]
    assert ids(ExportScope(kind=Scope.SELECTION, ids=())) == []
    assert ids(ExportScope(kind=Scope.FILTER, query="q=bruno")) == [other.pk]
    with pytest.raises(ValidationError):
        ids(ExportScope(kind=Scope.FILTER, query="sales_min=lots"))


def test_the_filter_kept_is_the_lists_filters_only():
    assert export_query_clean("newsletter=true&page=3&cols=id,email&per_page=50&sort=-id&q=") == (
        "newsletter=true"
    )
    # In the FilterSet's order; the default "live accounts" is no filter.
    assert export_query_clean("country=FR&lifecycle=live&sales_min=10") == "sales_min=10&country=FR"


def test_blocked_reason_and_guest_flags(make_customer, actor):
    customer = make_customer(first_name="Paul")
    customer_block(customer=customer, reason="Chargebacks", actor=actor)
    [row] = rows_of(spec_for("comptoir", columns=("id", "is_blocked", "blocked_reason")))
    assert row == {"id": customer.pk, "is_blocked": 1, "blocked_reason": "Chargebacks"}


FORMULAS = ['=HYPERLINK("http://x?"&A1)', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1"]


def test_formula_cells_are_neutralised_everywhere(make_customer, actor, db):
    group = Group.objects.create(name_fr="=evil()", name_en="@evil", discount=0)
    customer = make_customer(first_name="Jean", tags=["-tag"])
    customer_groups_add(customer=customer, groups=[group], actor=actor)
    address_create(
        customer=customer,
        actor=actor,
        first_name="Jean",
        last_name="Dupont",
        address1="=1+1",
        city="@city",
        country="FR",
    )
    Customer.objects.filter(pk=customer.pk).update(
        last_name=FORMULAS[0], company=FORMULAS[1], note=FORMULAS[2], external_id=FORMULAS[3]
    )
    for profile in PROFILES:
        for chunk in export_chunks(spec=spec_for(profile)):
            for row in chunk.rows:
                for cell in row:
                    if isinstance(cell, str):
                        assert cell_is_formula_safe(cell), (profile, cell)
    [row] = rows_of(spec_for("comptoir"))
    assert row["last_name"] == "'" + FORMULAS[0]
    assert row["company"] == "'" + FORMULAS[1]
    assert row["note"] == "'-2+3"
    assert row["tags"] == "'-tag"
    assert row["address_line1"] == "'=1+1" and row["address_city"] == "'@city"
    assert row["groups"].endswith("=evil()")  # not the first name in the cell: harmless


def test_a_default_group_with_a_formula_name_is_neutralised(make_customer, actor):
    group = Group.objects.create(name_fr="=evil()", name_en="@evil", discount=0)
    customer = make_customer(first_name="Jean", default_group=group)
    [row] = rows_of(spec_for("prestashop", "fr"))
    assert row["id"] == customer.pk and row["group"] == "'=evil()"
    [row] = rows_of(spec_for("comptoir", "en", columns=("id", "groups", "default_group")))
    assert row["default_group"] == "'@evil" and row["groups"] == "'@evil"


TEXT_FIELDS = ("first_name", "last_name", "company", "note", "external_id", "blocked_reason")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
            max_size=30,
        )
        | st.sampled_from([*FORMULAS, "'=x", "''+1", "+33612345678", "-12.5", ""]),
        min_size=len(TEXT_FIELDS),
        max_size=len(TEXT_FIELDS),
    )
)
def test_any_text_comes_out_formula_safe_and_restorable(make_customer, values):
    customer = make_customer(first_name="Any")
    Customer.objects.filter(pk=customer.pk).update(**dict(zip(TEXT_FIELDS, values, strict=True)))
    spec = spec_for("comptoir", columns=("id", *TEXT_FIELDS))
    row = next(r for r in rows_of(spec) if r["id"] == customer.pk)
    for field, value in zip(TEXT_FIELDS, values, strict=True):
        cell = row[field]
        assert cell_is_formula_safe(cell)
        assert cell_restore(cell) == value
    Customer.objects.filter(pk=customer.pk).delete()


def test_no_password_hash_or_internal_key_can_appear(helene):
    assert helene.password  # a real Argon2 hash is stored
    assert not EXPORTABLE_FIELDS & {"password", "search_text", "email_key", "version"}
    for key in PROFILES:
        for chunk in export_chunks(spec=spec_for(key, scope=ExportScope(kind=Scope.ALL))):
            for row in chunk.rows:
                for cell in row:
                    assert helene.password not in str(cell)
                    assert "argon2" not in str(cell)
    sneaky = Profile(
        key="sneaky",
        label="x",
        description="x",
        columns=(ExportColumn("pw", "pw", "pw", "password"),),
        delimiter=",",
        bom=False,
    )
    PROFILES["sneaky"] = sneaky
    try:
        with pytest.raises(ValueError, match="Not an exportable"):
            _Plan(spec_for("sneaky"))
    finally:
        del PROFILES["sneaky"]


def test_comptoir_columns_are_the_shared_definition():
    assert [column.key for column in PROFILES["comptoir"].columns] == [
        column.key for column in comptoir.COLUMNS
    ]


def test_chunks_cover_every_customer_once_in_id_order(make_customer, actor):
    made = [make_customer(first_name=f"C{n}") for n in range(7)]
    for customer in made[:3]:
        address_create(
            customer=customer,
            actor=actor,
            first_name="A",
            last_name="B",
            address1="1 rue",
            city="Paris",
            country="FR",
        )
    spec = spec_for("comptoir")
    chunks = list(export_chunks(spec=spec, chunk_size=3))
    assert [chunk.customers for chunk in chunks] == [3, 3, 1]
    assert [row[0] for chunk in chunks for row in chunk.rows] == [c.pk for c in made]


def _queries(spec: ExportSpec, chunk_size: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        for _chunk in export_chunks(spec=spec, chunk_size=chunk_size):
            pass
    return len(captured)


def test_a_chunk_costs_the_same_queries_whatever_its_size(make_customer, actor):
    spec = spec_for("comptoir")
    for n in range(4):
        customer = make_customer(first_name=f"A{n}", tags=["T"])
        address_create(
            customer=customer, actor=actor, first_name="A", last_name="B", address1="1 rue",
            city="Paris", country="FR",
        )  # fmt: skip
    few = _queries(spec, chunk_size=100)
    for n in range(30):
        customer = make_customer(first_name=f"B{n}", tags=["T", "U"])
        address_create(
            customer=customer, actor=actor, first_name="A", last_name="B", address1="1 rue",
            city="Paris", country="FR",
        )  # fmt: skip
    assert _queries(spec, chunk_size=100) == few
    # Setup (filter's counts are not read here), titles, groups, then per chunk: rows,
    # memberships, tags, addresses, plus the last empty read when a chunk is full.
    assert few == 2 + 4
