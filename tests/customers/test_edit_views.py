"""The create and edit pages through the test client: every field saved, every error next to its
field in French and English with nothing saved, the consent confirmation, the address formset,
the settings' required fields, and two staff members saving the same customer."""

import datetime
import re
from html import unescape

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from comptoir.core.models import Event
from comptoir.customers.models import Address, ConsentRecord, Customer, OptInLevel, Title
from comptoir.customers.services import (
    address_create,
    customer_settings_update,
    customer_update,
)
from comptoir.customers.views.edit import customer_url

pytestmark = pytest.mark.django_db

NEW = "/customers/new/"


def edit_url(customer) -> str:
    return f"/customers/{customer.pk}/edit/"


def in_language(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def addresses_management(total=0, initial=0) -> dict:
    return {
        "addresses-TOTAL_FORMS": str(total),
        "addresses-INITIAL_FORMS": str(initial),
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
    }


def address_data(index, **fields) -> dict:
    values = {
        "alias": "",
        "first_name": "Hélène",
        "last_name": "Dupont",
        "company": "",
        "vat_number": "",
        "address1": "1 rue de la Paix",
        "address2": "",
        "postcode": "75002",
        "city": "Paris",
        "state": "",
        "country": "FR",
        "phone": "",
    } | fields
    return {f"addresses-{index}-{name}": value for name, value in values.items()}


def create_data(group, *, addresses=(), **fields) -> dict:
    data = {
        "title": "",
        "first_name": "Hélène",
        "last_name": "Dupont",
        "email": "helene@example.com",
        "phone": "",
        "mobile": "",
        "birthday": "",
        "language": "fr",
        "company": "",
        "siret": "",
        "ape_code": "",
        "vat_number": "",
        "website": "",
        "social_accounts": "",
        "external_id": "",
        "tax_exemption_ref": "",
        "groups": [str(group.pk)],
        "default_group": str(group.pk),
        "tags": "",
        "newsletter": "not_given",
        "partner_offers": "not_given",
        "sms": "not_given",
        "note": "",
        **addresses_management(len(addresses)),
    }
    for index, address in enumerate(addresses):
        data |= address_data(index, **address)
    data |= fields
    return {key: value for key, value in data.items() if value is not None}


def edit_data(customer, **fields) -> dict:
    customer.refresh_from_db()
    addresses = list(customer.addresses.order_by("id"))
    data = create_data(
        customer.default_group,
        title=str(customer.title_id or ""),
        first_name=customer.first_name,
        last_name=customer.last_name,
        email=customer.email,
        phone=customer.phone_input,
        language=customer.language,
        company=customer.company,
        groups=[str(pk) for pk in customer.memberships.values_list("group_id", flat=True)],
        tags=customer.tags_text,
        newsletter="given" if customer.newsletter else "not_given",
        partner_offers="given" if customer.partner_offers else "not_given",
        version=str(customer.version),
        note=customer.note,
    )
    data |= addresses_management(len(addresses), len(addresses))
    for index, address in enumerate(addresses):
        data |= address_data(
            index,
            id=str(address.pk),
            first_name=address.first_name,
            last_name=address.last_name,
            address1=address.address1,
            postcode=address.postcode,
            city=address.city,
            country=address.country.code,
        )
        if address.is_default_shipping:
            data["addresses-default_shipping"] = f"addresses-{index}"
        if address.is_default_billing:
            data["addresses-default_billing"] = f"addresses-{index}"
    return data | fields


def field_error(response, name) -> str:
    """The error shown under a field (its ``<div id="id_<name>_error">``)."""
    match = re.search(
        rf'<div class="invalid-feedback d-block" id="id_{re.escape(name)}_error">(.*?)</div>',
        response.content.decode(),
        re.S,
    )
    return unescape(match.group(1).strip()) if match else ""


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


class TestCreatePage:
    def test_the_page_and_the_links_to_it(self, staff_client, default_group):
        response = in_language(staff_client, "en").get(NEW)
        assert response.status_code == 200
        html = response.content.decode()
        for name in (
            "title",
            "first_name",
            "last_name",
            "email",
            "phone",
            "mobile",
            "birthday",
            "language",
            "company",
            "siret",
            "ape_code",
            "vat_number",
            "website",
            "social_accounts",
            "external_id",
            "is_tax_exempt",
            "tax_exemption_ref",
            "groups",
            "default_group",
            "tags",
            "newsletter",
            "partner_offers",
            "sms",
            "note",
            "addresses-0-city",
            "addresses-__prefix__-city",
        ):
            assert f'name="{name}"' in html, name
        # The default group is ticked and chosen; one blank address is ready.
        assert f'value="{default_group.pk}" class="form-check-input" id="id_groups_0" checked' in (
            html
        ) or re.search(rf'name="groups" value="{default_group.pk}"[^>]*checked', html)
        assert 'name="addresses-TOTAL_FORMS" value="1"' in html
        # The confirmation boxes are there but hidden until a consent is given.
        assert html.count("data-consent-confirm hidden") == 3
        lists = staff_client.get("/customers/").content.decode()
        assert f'href="{NEW}"' in lists and 'id="customer-new"' in lists
        assert 'href="/customers/settings/"' in lists

    def test_creates_the_customer_with_everything(
        self, staff_client, staff_user, default_group, vip_group
    ):
        title = Title.objects.get(name_en="Mrs")
        response = staff_client.post(
            NEW,
            create_data(
                default_group,
                title=str(title.pk),
                phone="06 12 34 56 78",
                birthday="1985-04-12",
                company="Atelier Dupont",
                siret="732 829 320 00074",
                website="https://atelier.example.com",
                social_accounts="instagram: @helene\n\nmastodon: @helene@example.social",
                is_tax_exempt="on",
                tax_exemption_ref="EX-42",
                groups=[str(default_group.pk), str(vip_group.pk)],
                default_group=str(vip_group.pk),
                tags="VIP, wholesale",
                newsletter="given",
                newsletter_confirmed="on",
                note="Call before delivery.",
                addresses=[{}, {"address1": "2 Baker St", "city": "London", "country": "GB"}],
                **{
                    "addresses-default_shipping": "addresses-1",
                    "addresses-default_billing": "addresses-0",
                },
            ),
        )
        customer = Customer.objects.get(email="helene@example.com")
        assert response.status_code == 302
        assert response["Location"] == customer_url(customer.pk)
        assert (customer.title, customer.phone, customer.birthday) == (
            title,
            "+33612345678",
            datetime.date(1985, 4, 12),
        )
        assert customer.siret == "73282932000074" and customer.is_tax_exempt
        assert customer.social_accounts == {
            "instagram": "@helene",
            "mastodon": "@helene@example.social",
        }
        assert customer.default_group == vip_group
        assert set(customer.groups.all()) == {default_group, vip_group}
        assert customer.tags_text == "VIP, wholesale"
        assert customer.note == "Call before delivery."
        paris, london = customer.addresses.order_by("id")
        assert (paris.is_default_billing, london.is_default_shipping) == (True, True)
        assert (paris.is_default_shipping, london.is_default_billing) == (False, False)
        record = ConsentRecord.objects.get(customer=customer)
        assert (record.channel, record.granted, record.source, record.actor) == (
            "newsletter",
            True,
            "backoffice",
            staff_user,
        )
        assert record.opt_in_level == OptInLevel.SINGLE and record.ip_address == "127.0.0.1"

    def test_a_blank_address_form_is_ignored(self, staff_client, default_group):
        response = staff_client.post(
            NEW,
            create_data(
                default_group,
                **addresses_management(1),
                **address_data(
                    0, first_name="", last_name="", address1="", postcode="", city="", country=""
                ),
            ),
        )
        assert response.status_code == 302
        assert not Address.objects.exists()

    @pytest.mark.parametrize(
        ("language", "expected"),
        [
            (
                "en",
                {
                    "email": "A customer with this e-mail address already exists.",
                    "phone": "Enter a valid phone number, e.g. +33 6 12 34 56 78.",
                    "birthday": "The birthday cannot be in the future.",
                    "groups": "Choose at least one group.",
                },
            ),
            (
                "fr",
                {
                    "email": "Un client avec cette adresse e-mail existe déjà.",
                    "phone": (
                        "Saisissez un numéro de téléphone valide, par exemple +33 6 12 34 56 78."
                    ),
                    "birthday": "La date de naissance ne peut pas être dans le futur.",
                    "groups": "Choisissez au moins un groupe.",
                },
            ),
        ],
    )
    def test_errors_next_to_their_fields_and_nothing_saved(
        self, staff_client, make_customer, default_group, language, expected
    ):
        existing = make_customer(email="taken@example.com")
        counts = (Customer.objects.count(), Event.objects.count())
        tomorrow = timezone.localdate() + datetime.timedelta(days=1)
        data = create_data(
            default_group, email="Taken@Example.com", phone="12", birthday=tomorrow.isoformat()
        )
        del data["groups"]
        response = in_language(staff_client, language).post(NEW, data)
        assert response.status_code == 200
        for name in ("email", "phone", "birthday", "groups"):
            assert field_error(response, name) == expected[name], name
        html = response.content.decode()
        assert 'id="form-errors"' in html
        link = re.search(r'<a href="([^"]+)"[^>]*id="duplicate-customer-link"', html)
        assert link and link.group(1) == customer_url(existing.pk)
        # What was typed is kept.
        assert 'value="Taken@Example.com"' in html and 'name="phone" value="12"' in html
        assert (Customer.objects.count(), Event.objects.count()) == counts

    @pytest.mark.parametrize(
        ("language", "message"),
        [("en", "Enter a valid e-mail address."), ("fr", "Saisissez une adresse e-mail valide.")],
    )
    def test_invalid_email(self, staff_client, default_group, language, message):
        response = in_language(staff_client, language).post(
            NEW, create_data(default_group, email="helene@")
        )
        assert field_error(response, "email") == message
        assert not Customer.objects.exists()

    def test_the_default_group_must_be_ticked(self, staff_client, default_group, vip_group):
        response = in_language(staff_client, "en").post(
            NEW, create_data(default_group, default_group=str(vip_group.pk))
        )
        assert field_error(response, "default_group") == (
            "The default group must be one of the customer's groups."
        )
        assert not Customer.objects.exists()

    def test_giving_a_consent_asks_for_the_confirmation(self, staff_client, default_group):
        data = create_data(default_group, partner_offers="given")
        response = in_language(staff_client, "en").post(NEW, data)
        assert response.status_code == 200
        assert field_error(response, "partner_offers_confirmed") == (
            "Confirm that the customer agreed to this consent."
        )
        html = response.content.decode()
        # Shown for the consent being given only.
        assert html.count("data-consent-confirm hidden") == 2
        assert "data-consent-confirm>" in html
        assert not Customer.objects.exists()
        response = staff_client.post(NEW, data | {"partner_offers_confirmed": "on"})
        assert response.status_code == 302
        customer = Customer.objects.get()
        assert customer.partner_offers is True
        record = ConsentRecord.objects.get(customer=customer)
        assert (record.channel, record.source) == ("partner_offers", "backoffice")

    def test_an_address_error_is_shown_on_its_address(self, staff_client, default_group):
        response = in_language(staff_client, "en").post(
            NEW,
            create_data(default_group, addresses=[{}, {"phone": "123", "city": ""}]),
        )
        assert response.status_code == 200
        assert field_error(response, "addresses-1-city") == "This field is required."
        assert not Customer.objects.exists()
        # The phone of an address is checked against its country by the service.
        response = staff_client.post(
            NEW, create_data(default_group, addresses=[{}, {"phone": "123"}])
        )
        assert field_error(response, "addresses-1-phone") == (
            "Enter a valid phone number, e.g. +33 6 12 34 56 78."
        )
        assert not Customer.objects.exists()

    def test_the_settings_required_fields(self, staff_client, actor, default_group):
        customer_settings_update(
            actor=actor,
            required_fields=["birthday", "company", "address", "newsletter"],
            delete_mode="deny",
        )
        html = in_language(staff_client, "en").get(NEW).content.decode()
        assert re.search(r'for="id_birthday">Birthday <span class="text-danger"', html)
        assert re.search(r'for="id_company">Company <span class="text-danger"', html)
        # A required consent choice starts unanswered.
        assert not re.search(r'name="newsletter" value="[a-z_]+" id="[^"]+" checked', html)
        data = create_data(default_group, newsletter=None)
        response = staff_client.post(NEW, data)
        assert response.status_code == 200
        assert field_error(response, "birthday") == "This field is required."
        assert field_error(response, "company") == "This field is required."
        assert field_error(response, "newsletter") == "Say whether the customer gave this consent."
        assert "Add at least one address." in response.content.decode()
        assert not Customer.objects.exists()
        response = staff_client.post(
            NEW,
            data
            | {"birthday": "1990-01-01", "company": "ACME", "newsletter": "not_given"}
            | addresses_management(1)
            | address_data(0),
        )
        assert response.status_code == 302
        assert Customer.objects.get().company == "ACME"


@pytest.fixture
def helene(actor, make_customer):
    customer = make_customer(
        first_name="Hélène",
        last_name="Dupont",
        email="helene@example.com",
        consents={"newsletter": True},
        tags=["VIP"],
    )
    address_create(
        customer=customer,
        actor=actor,
        first_name="Hélène",
        last_name="Dupont",
        address1="1 rue de la Paix",
        postcode="75002",
        city="Paris",
        country="FR",
    )
    customer.refresh_from_db()
    return customer


class TestEditPage:
    def test_the_form_holds_the_customer(self, staff_client, helene):
        html = staff_client.get(edit_url(helene)).content.decode()
        assert f'name="version" value="{helene.version}"' in html
        assert 'name="email" value="helene@example.com"' in html
        assert 'name="tags" value="VIP"' in html
        assert 'name="addresses-0-city" value="Paris"' in html
        assert 'name="addresses-0-id" value=' in html
        assert re.search(r'name="newsletter" value="given" id="[^"]+" checked', html)
        # Already given: no confirmation to ask.
        assert html.count("data-consent-confirm hidden") == 3

    def test_saves_and_goes_to_the_customer(self, staff_client, helene, vip_group):
        paris = helene.addresses.get()
        data = edit_data(helene, company="Atelier", tags="VIP, Wholesale", newsletter="not_given")
        data["groups"] = [str(helene.default_group_id), str(vip_group.pk)]
        data |= addresses_management(2, 1) | address_data(
            1, address1="2 Baker St", city="London", country="GB"
        )
        data |= {"addresses-0-city": "Lyon", "addresses-default_billing": "addresses-1"}
        response = in_language(staff_client, "en").post(edit_url(helene), data)
        assert response.status_code == 302, response.content.decode()[:500]
        assert response["Location"] == customer_url(helene.pk)
        assert texts(response) == ["Changes to Hélène Dupont saved."]
        customer = Customer.objects.get(pk=helene.pk)
        assert customer.company == "Atelier" and customer.newsletter is False
        assert customer.tags_text == "VIP, Wholesale"
        assert set(customer.groups.values_list("pk", flat=True)) == {
            helene.default_group_id,
            vip_group.pk,
        }
        paris.refresh_from_db()
        london = customer.addresses.get(city="London")
        assert paris.city == "Lyon" and paris.is_default_shipping
        assert london.is_default_billing and customer.country == "GB"
        withdrawn = ConsentRecord.objects.filter(customer=helene).latest("id")
        assert (withdrawn.granted, withdrawn.source) == (False, "backoffice")

    def test_removes_an_address(self, staff_client, helene):
        paris = helene.addresses.get()
        response = staff_client.post(
            edit_url(helene), edit_data(helene, **{"addresses-0-DELETE": "on"})
        )
        assert response.status_code == 302
        assert not Address.objects.filter(pk=paris.pk).exists()
        assert Customer.objects.get(pk=helene.pk).country == ""

    def test_an_address_of_another_customer_cannot_be_edited(
        self, staff_client, helene, make_customer, actor
    ):
        other = make_customer()
        theirs = address_create(
            customer=other,
            actor=actor,
            first_name="A",
            last_name="B",
            address1="x",
            city="Nantes",
            country="FR",
        )
        data = edit_data(helene, **{"addresses-0-id": str(theirs.pk), "addresses-0-city": "Nice"})
        response = in_language(staff_client, "en").post(edit_url(helene), data)
        assert response.status_code == 200
        assert "This address was removed meanwhile" in response.content.decode()
        theirs.refresh_from_db()
        assert theirs.city == "Nantes"

    def test_a_duplicate_email_links_to_the_other_customer(
        self, staff_client, helene, make_customer
    ):
        other = make_customer(email="other@example.com")
        response = in_language(staff_client, "en").post(
            edit_url(helene), edit_data(helene, email="OTHER@example.com", company="Not saved")
        )
        assert field_error(response, "email") == (
            "A customer with this e-mail address already exists."
        )
        assert f'href="{customer_url(other.pk)}"' in response.content.decode()
        assert Customer.objects.get(pk=helene.pk).company == ""

    @pytest.mark.parametrize(
        ("language", "strings"),
        [
            (
                "en",
                (
                    "Another staff member changed this customer meanwhile.",
                    "Company",
                    "Their value (saved)",
                ),
            ),
            (
                "fr",
                (
                    "Un autre membre de l\u2019équipe a modifié ce client entre-temps.",
                    "Société",
                    "Leur valeur (enregistrée)",
                ),
            ),
        ],
    )
    def test_the_second_save_is_refused_and_shows_what_changed(
        self, staff_client, helene, actor, language, strings
    ):
        data = edit_data(helene, company="Mine", last_name="Dupond")
        # Someone else saves first.
        customer_update(customer=helene, actor=actor, changes={"company": "Theirs"})
        response = in_language(staff_client, language).post(edit_url(helene), data)
        assert response.status_code == 409
        html = response.content.decode()
        message, label, header = strings
        assert message in html and header in html
        table = re.search(r'<table[^>]*id="conflict-table".*?</table>', html, re.S).group(0)
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", table.split("<tbody>")[1], re.S)
        ]
        assert cells == [label, "—", "Theirs", "Mine"]
        # Nothing of this save was written; the input is kept at the current version.
        customer = Customer.objects.get(pk=helene.pk)
        assert (customer.company, customer.last_name) == ("Theirs", "Dupont")
        assert 'name="company" value="Mine"' in html and 'name="last_name" value="Dupond"' in html
        assert f'name="version" value="{customer.version}"' in html
        # Saving again, knowingly, goes through.
        data["version"] = str(customer.version)
        response = staff_client.post(edit_url(helene), data)
        assert response.status_code == 302
        assert Customer.objects.get(pk=helene.pk).company == "Mine"

    def test_an_address_only_save_still_makes_the_other_form_stale(self, staff_client, helene):
        first = edit_data(helene, **{"addresses-0-city": "Lyon"})
        second = edit_data(helene, company="Mine")
        assert staff_client.post(edit_url(helene), first).status_code == 302
        response = in_language(staff_client, "en").post(edit_url(helene), second)
        assert response.status_code == 409
        assert "their changes are in the customer's timeline" in response.content.decode()
        assert Customer.objects.get(pk=helene.pk).company == ""

    def test_the_page_runs_the_same_queries_whatever_the_number_of_addresses(
        self, staff_client, helene, actor, django_assert_num_queries
    ):
        staff_client.get(edit_url(helene))
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as one_address:
            staff_client.get(edit_url(helene))
        for number in range(4):
            address_create(
                customer=helene,
                actor=actor,
                first_name="H",
                last_name="D",
                address1=f"{number} rue",
                city="Paris",
                country="FR",
            )
        with django_assert_num_queries(len(one_address)):
            response = staff_client.get(edit_url(helene))
        assert (
            response.content.decode().count('class="card border-0 shadow-sm mb-3 address-form"')
            == 6
        )

    def test_an_anonymised_customer_cannot_be_edited(self, staff_client, helene):
        Customer.objects.filter(pk=helene.pk).update(anonymised_at=timezone.now())
        response = staff_client.get(edit_url(helene))
        assert response.status_code == 302 and response["Location"] == reverse("customers:list")

    def test_an_unknown_customer_is_a_404(self, staff_client, db):
        assert staff_client.get("/customers/999999/edit/").status_code == 404
