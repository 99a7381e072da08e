"""The create and edit forms' saves (services.editing): everything in one transaction, every
error at once and nothing written on error, staff-confirmed consents, required fields from the
settings, and optimistic locking whatever part of the customer changed."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone, translation

from comptoir.core.models import Event
from comptoir.customers.models import (
    Address,
    ConsentRecord,
    Customer,
    CustomerSettings,
    DeleteMode,
    OptInLevel,
    Title,
)
from comptoir.customers.services import (
    AddressInput,
    ConcurrentUpdateError,
    address_create,
    address_delete,
    customer_create_full,
    customer_edit,
    customer_settings_update,
    customer_update,
    delete_mode_default,
    staff_consent_note,
)

pytestmark = pytest.mark.django_db


def profile(**changes):
    values = {
        "title": None,
        "first_name": "Hélène",
        "last_name": "Dupont",
        "email": "helene@example.com",
        "phone": "",
        "mobile": "",
        "birthday": None,
        "language": "fr",
        "company": "",
        "siret": "",
        "ape_code": "",
        "vat_number": "",
        "website": "",
        "social_accounts": {},
        "external_id": "",
        "is_tax_exempt": False,
        "tax_exemption_ref": "",
    }
    return values | changes


def address(**changes):
    fields = {
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
    }
    return fields | changes


def profile_of(customer):
    return profile(
        **{
            field: getattr(customer, field)
            for field in profile()
            if field not in {"phone", "mobile"}
        },
        phone=customer.phone_input,
        mobile=customer.mobile_input,
    )


def messages_of(error: ValidationError) -> dict[str, list[str]]:
    return {
        key: [m for e in errors for m in e.messages] for key, errors in error.error_dict.items()
    }


class TestCreateFull:
    def test_creates_everything_with_its_events(self, actor, staff_user, default_group, vip_group):
        customer = customer_create_full(
            actor=actor,
            profile=profile(
                title=Title.objects.get(name_fr="Mme"),
                phone="06 12 34 56 78",
                birthday=datetime.date(1985, 4, 12),
                company="Atelier Dupont",
                social_accounts={"instagram": "@helene"},
            ),
            groups=[default_group, vip_group],
            default_group=vip_group,
            addresses=[
                AddressInput(fields=address()),
                AddressInput(
                    fields=address(address1="5 quai Est", city="Lyon", postcode="69001"),
                    default_shipping=True,
                ),
            ],
            tags=["VIP", "Wholesale", "vip"],
            consents={"newsletter": True, "partner_offers": False, "sms": None},
            confirmed_consents={"newsletter"},
            note="Prefers phone calls.",
        )
        customer.refresh_from_db()
        assert (customer.first_name, customer.email, customer.phone) == (
            "Hélène",
            "helene@example.com",
            "+33612345678",
        )
        assert customer.title.name_fr == "Mme" and customer.company == "Atelier Dupont"
        assert customer.social_accounts == {"instagram": "@helene"}
        assert customer.note == "Prefers phone calls."
        assert customer.default_group == vip_group
        assert set(customer.groups.all()) == {default_group, vip_group}
        assert customer.tags_text == "VIP, Wholesale"
        paris, lyon = customer.addresses.order_by("id")
        # The first address is the billing default; the one chosen is the shipping default.
        assert (paris.is_default_billing, paris.is_default_shipping) == (True, False)
        assert (lyon.is_default_billing, lyon.is_default_shipping) == (False, True)
        assert customer.country == "FR"
        assert "lyon" in customer.search_text and "69001" in customer.search_text
        assert (customer.newsletter, customer.partner_offers, customer.sms) == (True, False, False)
        record = ConsentRecord.objects.get(customer=customer)
        assert (record.channel, record.granted, record.source, record.actor) == (
            "newsletter",
            True,
            "backoffice",
            staff_user,
        )
        assert record.opt_in_level == OptInLevel.SINGLE
        assert record.ip_address == "192.0.2.10"
        assert record.note == staff_consent_note()
        kinds = list(Event.objects.filter(customer_id=customer.pk).values_list("kind", flat=True))
        assert kinds.count("address_added") == 2
        assert {"customer_created", "consent_changed", "address_defaults_changed"} <= set(kinds)

    def test_every_error_at_once_and_nothing_saved(self, actor, make_customer, default_group):
        existing = make_customer(email="taken@example.com")
        customers, events, addresses = (
            Customer.objects.count(),
            Event.objects.count(),
            Address.objects.count(),
        )
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            customer_create_full(
                actor=actor,
                profile=profile(
                    email="TAKEN@example.com",
                    phone="12",
                    birthday=timezone.localdate() + datetime.timedelta(days=1),
                ),
                groups=[],
                default_group=default_group,
                addresses=[AddressInput(fields=address())],
                consents={"newsletter": True},
            )
        found = messages_of(caught.value)
        assert found["email"] == ["A customer with this e-mail address already exists."]
        assert found["phone"] == ["Enter a valid phone number, e.g. +33 6 12 34 56 78."]
        assert found["birthday"] == ["The birthday cannot be in the future."]
        assert found["groups"] == ["Choose at least one group."]
        assert caught.value.existing_customer_id == existing.pk
        duplicate = caught.value.error_dict["email"][0]
        assert (duplicate.code, duplicate.params) == ("duplicate", {"customer_id": existing.pk})
        assert Customer.objects.count() == customers
        assert Event.objects.count() == events
        assert Address.objects.count() == addresses

    def test_errors_come_in_french_too(self, actor, default_group):
        with translation.override("fr"), pytest.raises(ValidationError) as caught:
            customer_create_full(
                actor=actor,
                profile=profile(email="not-an-email"),
                groups=[default_group],
                default_group=default_group,
            )
        assert messages_of(caught.value)["email"] == ["Saisissez une adresse e-mail valide."]

    def test_an_address_error_rolls_back_the_created_customer(self, actor, default_group):
        with pytest.raises(ValidationError) as caught:
            customer_create_full(
                actor=actor,
                profile=profile(),
                groups=[default_group],
                default_group=default_group,
                addresses=[AddressInput(fields=address()), AddressInput(fields=address(phone="1"))],
            )
        assert set(caught.value.error_dict) == {"addresses.1.phone"}
        assert not Customer.objects.filter(email="helene@example.com").exists()
        assert not Event.objects.exists()

    def test_giving_a_consent_needs_staff_confirmation(self, actor, default_group):
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            customer_create_full(
                actor=actor,
                profile=profile(),
                groups=[default_group],
                default_group=default_group,
                consents={"partner_offers": True},
            )
        assert messages_of(caught.value) == {
            "partner_offers_confirmed": ["Confirm that the customer agreed to this consent."]
        }
        assert not Customer.objects.exists()
        assert not ConsentRecord.objects.exists()

    def test_the_default_group_must_be_among_the_groups(self, actor, default_group, vip_group):
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            customer_create_full(
                actor=actor, profile=profile(), groups=[default_group], default_group=vip_group
            )
        assert messages_of(caught.value) == {
            "default_group": ["The default group must be one of the customer's groups."]
        }
        assert not Customer.objects.exists()

    def test_the_settings_required_fields_apply(self, actor, default_group):
        customer_settings_update(
            actor=actor,
            required_fields=["birthday", "phone", "address", "partner_offers", "title"],
            delete_mode=DeleteMode.DENY_REREGISTRATION,
        )
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            customer_create_full(
                actor=actor,
                profile=profile(),
                groups=[default_group],
                default_group=default_group,
                consents={"newsletter": False, "partner_offers": None},
            )
        assert messages_of(caught.value) == {
            "birthday": ["This field is required."],
            "phone": ["This field is required."],
            "title": ["This field is required."],
            "addresses.__all__": ["Add at least one address."],
            "partner_offers": ["Say whether the customer gave this consent."],
        }
        assert not Customer.objects.exists()
        customer = customer_create_full(
            actor=actor,
            profile=profile(
                birthday=datetime.date(1990, 1, 2),
                phone="0612345678",
                title=Title.objects.first(),
            ),
            groups=[default_group],
            default_group=default_group,
            addresses=[AddressInput(fields=address())],
            # "Not given" is a choice: the requirement is that staff asked.
            consents={"partner_offers": False},
        )
        assert customer.birthday == datetime.date(1990, 1, 2)
        assert customer.addresses.count() == 1

    def test_required_fields_do_not_apply_to_edits(self, actor, make_customer, default_group):
        customer = make_customer()
        customer_settings_update(
            actor=actor, required_fields=["birthday"], delete_mode=DeleteMode.ANONYMISE
        )
        customer_edit(
            customer=customer,
            actor=actor,
            expected_version=customer.version,
            profile=profile_of(customer) | {"company": "ACME"},
            groups=[default_group],
            default_group=default_group,
        )
        assert Customer.objects.get(pk=customer.pk).company == "ACME"


@pytest.fixture
def helene(actor, make_customer, default_group):
    customer = make_customer(
        first_name="Hélène", last_name="Dupont", email="helene@example.com", tags=["VIP"]
    )
    address_create(customer=customer, actor=actor, **address())
    address_create(
        customer=customer,
        actor=actor,
        **address(address1="2 Baker St", city="London", country="GB"),
    )
    return Customer.objects.get(pk=customer.pk)


class TestEdit:
    def test_changes_every_part_in_one_save(self, actor, helene, default_group, vip_group):
        paris, london = helene.addresses.order_by("id")
        version = helene.version
        customer_edit(
            customer=helene,
            actor=actor,
            expected_version=version,
            profile=profile_of(helene) | {"company": "Atelier", "mobile": "+44 7911 123456"},
            groups=[vip_group],
            default_group=vip_group,
            addresses=[
                AddressInput(id=paris.pk, delete=True),
                AddressInput(
                    id=london.pk, fields=address(address1="3 Baker St", city="London", country="GB")
                ),
                AddressInput(
                    fields=address(address1="9 Unter den Linden", city="Berlin", country="DE"),
                    default_billing=True,
                ),
            ],
            tags=["Wholesale"],
            consents={"newsletter": True, "sms": False},
            confirmed_consents={"newsletter"},
            note="Moved to Berlin.",
        )
        customer = Customer.objects.get(pk=helene.pk)
        assert customer.version > version
        assert (customer.company, customer.mobile) == ("Atelier", "+447911123456")
        assert customer.default_group == vip_group
        assert list(customer.groups.all()) == [vip_group]
        assert customer.tags_text == "Wholesale"
        assert customer.newsletter is True and customer.note == "Moved to Berlin."
        london.refresh_from_db()
        berlin = customer.addresses.get(city="Berlin")
        assert not Address.objects.filter(pk=paris.pk).exists()
        assert london.address1 == "3 Baker St"
        # The deleted Paris address was the shipping default: the oldest remaining one is now.
        assert (london.is_default_shipping, london.is_default_billing) == (True, False)
        assert (berlin.is_default_shipping, berlin.is_default_billing) == (False, True)
        assert customer.country == "DE"
        assert "berlin" in customer.search_text and "paris" not in customer.search_text

    def test_withdrawing_a_consent_needs_no_confirmation(self, actor, make_customer, default_group):
        customer = make_customer(consents={"partner_offers": True})
        customer_edit(
            customer=customer,
            actor=actor,
            expected_version=customer.version,
            profile=profile_of(customer),
            groups=[default_group],
            default_group=default_group,
            consents={"partner_offers": False},
        )
        latest = ConsentRecord.objects.filter(customer=customer).latest("id")
        assert (latest.channel, latest.granted, latest.source) == (
            "partner_offers",
            False,
            "backoffice",
        )

    def test_a_stale_version_is_refused_and_nothing_is_saved(self, actor, helene, default_group):
        opened_at = helene.version
        customer_update(customer=helene, actor=actor, changes={"company": "Theirs"})
        events = Event.objects.count()
        with pytest.raises(ConcurrentUpdateError) as caught:
            customer_edit(
                customer=helene,
                actor=actor,
                expected_version=opened_at,
                profile=profile_of(helene) | {"company": "Mine", "first_name": "Héloïse"},
                groups=[default_group],
                default_group=default_group,
                addresses=[AddressInput(fields=address(city="Nice"))],
                tags=[],
            )
        assert caught.value.changed == {"company": {"before": "", "after": "Theirs"}}
        customer = Customer.objects.get(pk=helene.pk)
        assert (customer.company, customer.first_name) == ("Theirs", "Hélène")
        assert customer.tags_text == "VIP"
        assert not customer.addresses.filter(city="Nice").exists()
        assert Event.objects.count() == events

    def test_a_save_of_addresses_only_makes_older_forms_stale(self, actor, helene, default_group):
        opened_at = helene.version
        paris = helene.addresses.order_by("id").first()
        arguments = {
            "actor": actor,
            "expected_version": opened_at,
            "profile": profile_of(helene),
            "groups": [default_group],
            "default_group": default_group,
            "tags": ["VIP"],
        }
        customer_edit(
            customer=helene,
            addresses=[AddressInput(id=paris.pk, fields=address(city="Versailles"))],
            **arguments,
        )
        assert Customer.objects.get(pk=helene.pk).version == opened_at + 1
        with pytest.raises(ConcurrentUpdateError):
            customer_edit(
                customer=helene, addresses=[AddressInput(id=paris.pk, delete=True)], **arguments
            )
        assert Address.objects.filter(pk=paris.pk, city="Versailles").exists()

    def test_a_save_that_changes_nothing_keeps_the_version(self, actor, helene, default_group):
        version = helene.version
        customer_edit(
            customer=helene,
            actor=actor,
            expected_version=version,
            profile=profile_of(helene),
            groups=[default_group],
            default_group=default_group,
            tags=["VIP"],
        )
        assert Customer.objects.get(pk=helene.pk).version == version

    def test_address_errors_are_keyed_by_position_and_nothing_is_saved(
        self, actor, helene, default_group
    ):
        paris, london = helene.addresses.order_by("id")
        london_id = london.pk
        address_delete(address=london, actor=actor)  # by someone else, meanwhile
        with translation.override("en"), pytest.raises(ValidationError) as caught:
            customer_edit(
                customer=helene,
                actor=actor,
                expected_version=helene.version,
                profile=profile_of(helene) | {"company": "Not saved"},
                groups=[default_group],
                default_group=default_group,
                addresses=[
                    AddressInput(id=paris.pk, fields=address(phone="0")),
                    AddressInput(id=london_id, fields=address(city="London", country="GB")),
                ],
            )
        assert messages_of(caught.value) == {
            "addresses.0.phone": ["Enter a valid phone number, e.g. +33 6 12 34 56 78."],
            "addresses.1.__all__": ["This address was removed meanwhile; add it again if needed."],
        }
        assert Customer.objects.get(pk=helene.pk).company == ""

    def test_removing_the_default_group_from_the_groups_is_an_error(
        self, actor, helene, default_group, vip_group
    ):
        with translation.override("fr"), pytest.raises(ValidationError) as caught:
            customer_edit(
                customer=helene,
                actor=actor,
                expected_version=helene.version,
                profile=profile_of(helene) | {"company": "Not saved"},
                groups=[vip_group],
                default_group=default_group,
            )
        assert messages_of(caught.value) == {
            "default_group": ["Le groupe par défaut doit faire partie des groupes du client."]
        }
        assert Customer.objects.get(pk=helene.pk).company == ""


class TestDeleteModeDefault:
    @override_settings(COMPTOIR_DELETE_MODE="allow")
    def test_the_settings_row_wins_over_the_server_setting(
        self, actor, django_capture_on_commit_callbacks
    ):
        assert delete_mode_default() == "allow"  # no row yet: the server's setting
        # The cached copy is dropped once the change is committed.
        with django_capture_on_commit_callbacks(execute=True):
            customer_settings_update(actor=actor, required_fields=[], delete_mode="anonymise")
        assert delete_mode_default() == "anonymise"
        assert CustomerSettings.objects.get().delete_mode == "anonymise"

    def test_without_anything_it_is_deny(self):
        assert delete_mode_default() == DeleteMode.DENY_REREGISTRATION
