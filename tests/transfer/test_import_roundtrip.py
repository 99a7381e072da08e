"""Export then import is lossless: the "Comptoir full" export of random customers, imported
back, finds every customer unchanged; imported into an empty shop, it gives the same values."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.core.actors import Actor
from comptoir.customers.models import Address, Customer, Membership
from comptoir.customers.services import address_create, customer_block, customer_create
from comptoir.transfer.formats import comptoir
from comptoir.transfer.selectors.exporting import ExportSpec
from comptoir.transfer.services.exporting import FileOptions, export_file_write
from comptoir.transfer.services.importing import import_job_configure
from tests.transfer.importing_helpers import dry_then_run, upload

pytestmark = pytest.mark.django_db
COMPARED = ("first_name", "last_name", "email", "phone", "mobile", "birthday", "language",
            "company", "siret", "vat_number", "website", "social_accounts", "external_id",
            "is_enabled", "is_tax_exempt", "tax_exemption_ref", "is_blocked", "blocked_reason",
            "newsletter", "partner_offers", "sms", "note", "tags_text", "country", "title_id",
            "default_group_id")  # fmt: skip

words = (
    st.text(
        alphabet=st.characters(categories=["L", "N", "Zs"], include_characters="'-=+@,;|\"\n"),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(bool)
)


@pytest.fixture(autouse=True)
def _dirs(settings, tmp_path):
    settings.COMPTOIR_IMPORT_DIR = tmp_path / "imports"
    settings.COMPTOIR_EXPORT_DIR = tmp_path / "exports"


def _export(path, *, headers: str, delimiter: str = ";") -> None:
    spec = ExportSpec(
        profile="comptoir", columns=tuple(c.key for c in comptoir.COLUMNS), headers=headers
    )
    export_file_write(
        spec=spec,
        options=FileOptions(format="csv", delimiter=delimiter),
        actor=Actor.system(),
        path=path,
    )


def _snapshot() -> dict[str, dict]:
    customers = {
        row["email"]: {**row, "addresses": set(), "groups": set()}
        for row in Customer.objects.values(*COMPARED, "created_at")
    }
    emails = dict(Customer.objects.values_list("id", "email"))
    for address in Address.objects.values(
        "customer_id", "alias", "address1", "postcode", "city", "country", "phone",
        "is_default_billing", "is_default_shipping",
    ):  # fmt: skip
        customer_id = address.pop("customer_id")
        customers[emails[customer_id]]["addresses"].add(tuple(sorted(address.items())))
    for customer_id, group_id in Membership.objects.values_list("customer_id", "group_id"):
        customers[emails[customer_id]]["groups"].add(group_id)
    for values in customers.values():
        values["created_at"] = values["created_at"].replace(microsecond=0)
    return customers


@st.composite
def customers(draw):
    people = []
    for n in range(draw(st.integers(1, 4))):
        people.append(
            {
                "first_name": draw(words),
                "last_name": draw(words),
                "email": f"p{n}.{draw(st.integers(0, 999))}@example.com",
                "note": draw(st.one_of(st.just(""), words)),
                "company": draw(st.one_of(st.just(""), words)),
                # " | " joins tags in the file: a tag holding "|" cannot come back whole.
                "tags": draw(st.lists(words.map(lambda w: w[:60].replace("|", "/")), max_size=3)),
                "consents": {"newsletter": draw(st.booleans()), "sms": draw(st.booleans())},
                "birthday": draw(
                    st.one_of(
                        st.none(), st.dates(datetime.date(1920, 1, 1), datetime.date(2005, 1, 1))
                    )
                ),
                "addresses": draw(st.integers(0, 2)),
                "blocked": draw(st.booleans()),
            }
        )
    return people


def _create(people, actor, vip_group) -> None:
    for person in people:
        addresses, blocked = person.pop("addresses"), person.pop("blocked")
        customer = customer_create(
            actor=actor, groups=[vip_group], phone="01 99 00 12 34", **person
        )
        for n in range(addresses):
            address_create(
                customer=customer, actor=actor, alias=f"A{n}", first_name="A", last_name="B",
                address1=f"{n} rue Molière", postcode="75001", city="Paris", country="FR",
                default_billing=n == 1,
            )  # fmt: skip
        if blocked:
            customer_block(customer=customer, reason="=fraude", actor=actor)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=customers(), headers=st.sampled_from(["key", "en", "fr"]))
def test_export_then_import_finds_every_customer_unchanged(
    actor, vip_group, tmp_path_factory, people, headers
):
    Customer.objects.all().delete()
    _create(people, actor, vip_group)
    path = tmp_path_factory.mktemp("roundtrip") / "customers.csv"
    _export(path, headers=headers)
    before = _snapshot()
    job = upload(path.read_bytes(), actor=actor)
    assert job.platform == "comptoir"
    job = import_job_configure(job=job, actor=actor, match="id")
    job = dry_then_run(job, actor=actor)
    assert (job.rejected, job.created, job.updated) == (0, 0, 0), list(
        job.rejections.values_list("line", "column", "reason")
    )
    assert job.unchanged == len(people)
    assert _snapshot() == before


def test_export_then_import_into_an_empty_shop_gives_the_same_customers(actor, vip_group, tmp_path):
    people = [
        {"first_name": "Hélène", "last_name": "O'Brien", "email": "helene@example.com",
         "note": "Line one\nline two", "company": "=SUM(A1)", "tags": ["VIP", "+33"],
         "consents": {"newsletter": True, "sms": False}, "birthday": datetime.date(1980, 2, 29),
         "addresses": 2, "blocked": True},
        {"first_name": "Jean", "last_name": "Martin", "email": "jean@example.com", "note": "",
         "company": "", "tags": [], "consents": {}, "birthday": None, "addresses": 0,
         "blocked": False},
    ]  # fmt: skip
    _create(people, actor, vip_group)
    path = tmp_path / "customers.csv"
    _export(path, headers="fr", delimiter=",")
    before = _snapshot()
    Customer.objects.all().delete()
    job = dry_then_run(upload(path.read_bytes(), actor=actor), actor=actor)
    assert (job.created, job.rejected) == (2, 0)
    assert _snapshot() == before
