"""Customer services: each rule, each refusal (nothing written), each event."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.customers.models import ConsentRecord, Customer, Membership, OptInLevel, Title
from comptoir.customers.services import (
    ConcurrentUpdateError,
    address_create,
    address_delete,
    address_update,
    customer_block,
    customer_consent_set,
    customer_create,
    customer_default_group_set,
    customer_enabled_set,
    customer_groups_add,
    customer_groups_remove,
    customer_groups_reset,
    customer_note_set,
    customer_password_set,
    customer_tags_set,
    customer_unblock,
    customer_update,
)

pytestmark = pytest.mark.django_db


def kinds(customer):
    return list(
        Event.objects.filter(customer_id=customer.pk).order_by("id").values_list("kind", flat=True)
    )


class TestCreate:
    def test_normalises_and_records(self, actor, default_group):
        title = Title.objects.get(name_fr="Mme")
        customer = customer_create(
            actor=actor,
            first_name="  Hélène  ",
            last_name=" Dupont   Martin ",
            email="  Helene.Dupont@Example.COM ",
            phone="06 12 34 56 78",
            mobile="+44 7911 123456",
            birthday=datetime.date(1985, 4, 12),
            title=title,
            company="Atelier Dupont",
            siret="732 829 320 00074",
            ape_code="47.11d",
            vat_number="fr 40 732829320",
            website="https://atelier.example.com",
            language="fr",
        )
        customer.refresh_from_db()
        assert customer.first_name == "Hélène"
        assert customer.last_name == "Dupont Martin"
        assert customer.email == "Helene.Dupont@Example.COM"
        assert customer.email_key == "helene.dupont@example.com"
        assert customer.phone == "+33612345678"
        assert customer.phone_input == "06 12 34 56 78"
        assert customer.mobile == "+447911123456"
        assert customer.siret == "73282932000074"
        assert customer.ape_code == "4711D"
        assert customer.vat_number == "FR40732829320"
        assert customer.title == title
        assert customer.default_group == default_group
        assert list(customer.groups.all()) == [default_group]
        assert customer.is_guest is False and customer.is_enabled is True
        assert "helene" in customer.search_text and "0612345678" in customer.search_text
        assert "atelier dupont" in customer.search_text
        event = Event.objects.get(customer_id=customer.pk)
        assert (event.kind, event.source, event.actor_id) == (
            "customer_created",
            "backoffice",
            actor.user.pk,
        )
        assert event.ip_address == "192.0.2.10"

    def test_groups_include_the_default_group(self, actor, default_group, vip_group):
        customer = customer_create(
            actor=actor, first_name="A", last_name="B", email="a@example.com", groups=[vip_group]
        )
        assert set(customer.groups.all()) == {default_group, vip_group}
        assert customer.default_group == default_group

    def test_chosen_default_group_is_a_membership(self, actor, vip_group):
        customer = customer_create(
            actor=actor,
            first_name="A",
            last_name="B",
            email="a@example.com",
            default_group=vip_group,
        )
        assert customer.default_group == vip_group
        assert list(customer.groups.all()) == [vip_group]

    def test_password_is_hashed_with_argon2(self, actor):
        customer = customer_create(
            actor=actor,
            first_name="A",
            last_name="B",
            email="a@example.com",
            password="s3cret-Passw0rd",
        )
        customer.refresh_from_db()
        assert customer.password.startswith("argon2$")
        assert "s3cret" not in customer.password

    def test_initial_consents_write_history(self, actor):
        customer = customer_create(
            actor=actor,
            first_name="A",
            last_name="B",
            email="a@example.com",
            consents={"newsletter": True, "sms": True},
            opt_in_level=OptInLevel.CONFIRMED,
        )
        customer.refresh_from_db()
        assert customer.newsletter is True and customer.sms is True
        assert customer.partner_offers is False
        records = ConsentRecord.objects.filter(customer=customer).order_by("channel")
        assert [(r.channel, r.granted, r.opt_in_level, r.source) for r in records] == [
            ("newsletter", True, "confirmed", "backoffice"),
            ("sms", True, "confirmed", "backoffice"),
        ]
        assert kinds(customer) == ["customer_created", "consent_changed", "consent_changed"]

    @pytest.mark.parametrize(
        ("field", "value", "english", "french"),
        [
            (
                "email",
                "not-an-email",
                "Enter a valid e-mail address.",
                "Saisissez une adresse e-mail valide.",
            ),
            ("phone", "12", "Enter a valid phone number", "Saisissez un numéro de téléphone"),
            (
                "birthday",
                timezone.localdate() + datetime.timedelta(days=1),
                "The birthday cannot be in the future.",
                "La date de naissance ne peut pas être dans le futur.",
            ),
            ("first_name", "   ", "This field is required.", "Ce champ est obligatoire."),
            (
                "siret",
                "123",
                "A SIRET number has 14 digits.",
                "Un numéro SIRET comporte 14 chiffres.",
            ),
        ],
    )
    def test_rejects_bad_input_in_both_languages(self, actor, field, value, english, french):
        fields = {"first_name": "A", "last_name": "B", "email": "a@example.com", field: value}
        for language, expected in (("en", english), ("fr", french)):
            with translation.override(language), pytest.raises(ValidationError) as exc:
                customer_create(actor=actor, **fields)
            assert field in exc.value.message_dict
            assert expected in exc.value.message_dict[field][0]
        assert Customer.objects.count() == 0
        assert Event.objects.count() == 0

    def test_registered_customer_needs_an_email(self, actor):
        with pytest.raises(ValidationError) as exc:
            customer_create(actor=actor, first_name="A", last_name="B", email="")
        assert "email" in exc.value.message_dict
        assert Customer.objects.count() == 0

    def test_guest_may_have_no_email(self, actor):
        guest = customer_create(actor=actor, first_name="A", last_name="B", is_guest=True)
        assert guest.is_guest and guest.email == ""

    def test_duplicate_email_is_case_insensitive(self, actor, make_customer):
        first = make_customer(email="Jean@Example.com")
        with translation.override("fr"), pytest.raises(ValidationError) as exc:
            make_customer(email="  jean@EXAMPLE.com")
        assert exc.value.message_dict["email"] == [
            "Un client avec cette adresse e-mail existe déjà."
        ]
        assert exc.value.existing_customer_id == first.pk
        assert Customer.objects.count() == 1

    def test_guests_may_share_an_email_with_anyone(self, make_customer):
        make_customer(email="jean@example.com")
        make_customer(email="jean@example.com", is_guest=True)
        make_customer(email="JEAN@example.com", is_guest=True)
        assert Customer.objects.filter(email_key="jean@example.com").count() == 3


class TestUpdate:
    def test_changes_fields_and_records_before_after(self, actor, make_customer):
        customer = make_customer(first_name="Jean", phone="0612345678")
        updated = customer_update(
            customer=customer,
            actor=actor,
            changes={"first_name": " Jeanne ", "phone": "07 98 76 54 32", "company": ""},
        )
        updated.refresh_from_db()
        assert updated.first_name == "Jeanne"
        assert updated.phone == "+33798765432"
        assert updated.version == 2
        assert "jeanne" in updated.search_text and "0798765432" in updated.search_text
        event = Event.objects.filter(customer_id=customer.pk).latest("id")
        assert event.kind == "customer_updated"
        assert event.data["changes"]["first_name"] == {"before": "Jean", "after": "Jeanne"}
        assert event.data["changes"]["phone"] == {"before": "+33612345678", "after": "+33798765432"}
        assert "company" not in event.data["changes"]

    def test_no_change_writes_nothing(self, actor, make_customer):
        customer = make_customer(first_name="Jean")
        customer_update(customer=customer, actor=actor, changes={"first_name": "Jean"})
        customer.refresh_from_db()
        assert customer.version == 1
        assert kinds(customer) == ["customer_created"]

    def test_email_taken_by_another_customer_is_refused(self, actor, make_customer):
        make_customer(email="taken@example.com")
        customer = make_customer(email="mine@example.com")
        with pytest.raises(ValidationError) as exc:
            customer_update(
                customer=customer,
                actor=actor,
                changes={"email": "TAKEN@example.com", "first_name": "Other"},
            )
        assert "email" in exc.value.message_dict
        customer.refresh_from_db()
        assert customer.email == "mine@example.com" and customer.first_name != "Other"

    def test_invalid_values_change_nothing(self, actor, make_customer):
        customer = make_customer(first_name="Jean")
        with pytest.raises(ValidationError) as exc:
            customer_update(
                customer=customer,
                actor=actor,
                changes={"first_name": "Paul", "birthday": datetime.date(2999, 1, 1)},
            )
        assert set(exc.value.message_dict) == {"birthday"}
        customer.refresh_from_db()
        assert customer.first_name == "Jean"
        assert kinds(customer) == ["customer_created"]

    def test_stale_version_is_refused_and_says_what_changed(self, actor, make_customer):
        customer = make_customer(first_name="Jean", company="Old")
        opened_version = customer.version
        customer_update(
            customer=customer,
            actor=actor,
            changes={"company": "New"},
            expected_version=opened_version,
        )
        with pytest.raises(ConcurrentUpdateError) as exc:
            customer_update(
                customer=customer,
                actor=actor,
                changes={"first_name": "Paul"},
                expected_version=opened_version,
            )
        assert exc.value.changed == {"company": {"before": "Old", "after": "New"}}
        customer.refresh_from_db()
        assert customer.first_name == "Jean" and customer.company == "New"


class TestConsents:
    def test_change_appends_history_with_source_and_ip(self, make_customer, staff_user):
        customer = make_customer()
        storefront = Actor.storefront(ip_address="203.0.113.5")
        assert (
            customer_consent_set(
                customer=customer,
                channel="newsletter",
                granted=True,
                actor=storefront,
                opt_in_level="confirmed",
            )
            is True
        )
        staff = Actor.staff(staff_user)
        assert (
            customer_consent_set(
                customer=customer, channel="newsletter", granted=False, actor=staff
            )
            is True
        )
        customer.refresh_from_db()
        assert customer.newsletter is False and customer.newsletter_at is not None
        history = list(
            ConsentRecord.objects.filter(customer=customer)
            .order_by("id")
            .values_list("granted", "source", "ip_address", "actor_id", "opt_in_level")
        )
        assert history == [
            (True, "storefront", "203.0.113.5", None, "confirmed"),
            (False, "backoffice", None, staff_user.pk, "unknown"),
        ]

    def test_setting_the_same_state_records_nothing(self, actor, make_customer):
        customer = make_customer()
        assert (
            customer_consent_set(customer=customer, channel="sms", granted=False, actor=actor)
            is False
        )
        assert ConsentRecord.objects.count() == 0

    def test_unknown_channel_is_refused(self, actor, make_customer):
        customer = make_customer()
        with pytest.raises(ValidationError):
            customer_consent_set(customer=customer, channel="fax", granted=True, actor=actor)
        assert ConsentRecord.objects.count() == 0


class TestGroups:
    def test_add_remove_reset(self, actor, make_customer, default_group, vip_group):
        from comptoir.groups.models import Group

        pro = Group.objects.create(name_fr="Pro", name_en="Pro", discount=5)
        customer = make_customer()
        assert customer_groups_add(
            customer=customer, groups=[vip_group, pro, default_group], actor=actor
        ) == sorted([vip_group.pk, pro.pk])
        assert customer_groups_remove(customer=customer, groups=[pro], actor=actor) == [pro.pk]
        assert set(customer.groups.all()) == {default_group, vip_group}
        assert customer_groups_reset(customer=customer, actor=actor) == [vip_group.pk]
        assert list(customer.groups.all()) == [default_group]
        assert kinds(customer)[-3:] == ["groups_added", "groups_removed", "groups_removed"]

    def test_default_group_cannot_be_removed(self, actor, make_customer, default_group):
        customer = make_customer()
        with pytest.raises(ValidationError):
            customer_groups_remove(customer=customer, groups=[default_group], actor=actor)
        assert Membership.objects.filter(customer=customer, group=default_group).exists()

    def test_default_group_change_joins_the_group(self, actor, make_customer, vip_group):
        customer = make_customer()
        assert customer_default_group_set(customer=customer, group=vip_group, actor=actor)
        customer.refresh_from_db()
        assert customer.default_group == vip_group
        assert customer.groups.filter(pk=vip_group.pk).exists()
        event = Event.objects.filter(customer_id=customer.pk).latest("id")
        assert event.kind == "default_group_changed" and event.data["after"] == vip_group.pk


class TestStates:
    def test_block_needs_a_reason(self, actor, make_customer):
        customer = make_customer()
        with translation.override("fr"), pytest.raises(ValidationError) as exc:
            customer_block(customer=customer, reason="  ", actor=actor)
        assert exc.value.message_dict["reason"] == ["Indiquez la raison du blocage."]
        customer.refresh_from_db()
        assert customer.is_blocked is False

    def test_block_then_unblock(self, actor, make_customer, staff_user):
        customer = make_customer()
        customer_block(customer=customer, reason="Chargeback fraud", actor=actor)
        customer.refresh_from_db()
        assert customer.is_blocked and customer.blocked_reason == "Chargeback fraud"
        assert customer.blocked_by == staff_user and customer.blocked_at is not None
        with pytest.raises(ValidationError):
            customer_block(customer=customer, reason="again", actor=actor)
        customer_unblock(customer=customer, actor=actor)
        customer.refresh_from_db()
        assert not customer.is_blocked and customer.blocked_reason == ""
        assert customer.blocked_by is None
        assert kinds(customer)[-2:] == ["customer_blocked", "customer_unblocked"]
        assert Event.objects.filter(kind="customer_blocked").get().data == {
            "reason": "Chargeback fraud"
        }

    def test_enable_disable(self, actor, make_customer):
        customer = make_customer()
        assert customer_enabled_set(customer=customer, enabled=False, actor=actor) is True
        assert customer_enabled_set(customer=customer, enabled=False, actor=actor) is False
        customer.refresh_from_db()
        assert customer.is_enabled is False
        assert kinds(customer) == ["customer_created", "customer_disabled"]

    def test_note_tags_password(self, actor, make_customer):
        customer = make_customer()
        assert customer_note_set(customer=customer, note=" Prefers phone calls ", actor=actor)
        customer_tags_set(customer=customer, names=["VIP", "vip", "Wholesale"], actor=actor)
        customer_password_set(customer=customer, raw_password="N3w-passw0rd!", actor=actor)
        customer.refresh_from_db()
        assert customer.note == "Prefers phone calls"
        assert sorted(customer.tags.values_list("name", flat=True)) == ["VIP", "Wholesale"]
        assert customer.tags_text == "VIP, Wholesale"
        assert customer.password.startswith("argon2$")
        assert kinds(customer)[-3:] == ["note_changed", "tags_changed", "password_changed"]
        assert "N3w" not in str(Event.objects.filter(customer_id=customer.pk).values("data"))


class TestAddresses:
    def test_first_address_is_default_and_feeds_search(self, actor, make_customer):
        customer = make_customer()
        address = address_create(
            customer=customer,
            actor=actor,
            first_name="Hélène",
            last_name="Dupont",
            address1="12 rue de la Paix",
            postcode="75002",
            city="Paris",
            country="fr",
            phone="01 42 68 53 00",
        )
        assert address.is_default_shipping and address.is_default_billing
        assert address.country.code == "FR" and address.phone == "+33142685300"
        customer.refresh_from_db()
        assert "paris" in customer.search_text and "75002" in customer.search_text
        second = address_create(
            customer=customer,
            actor=actor,
            first_name="H",
            last_name="D",
            address1="1 Main St",
            city="Montréal",
            postcode="H2X 1Y4",
            country="CA",
            default_shipping=True,
        )
        address.refresh_from_db()
        assert second.is_default_shipping and not address.is_default_shipping
        assert address.is_default_billing
        address_update(address=second, actor=actor, city="Québec")
        customer.refresh_from_db()
        assert "quebec" in customer.search_text and "montreal" not in customer.search_text
        assert customer.country.code == "FR"
        address_delete(address=address, actor=actor)
        customer.refresh_from_db()
        assert customer.country.code == "CA"
        address_delete(address=second, actor=actor)
        customer.refresh_from_db()
        assert "quebec" not in customer.search_text and customer.country == ""
        assert kinds(customer)[-5:] == [
            "address_added",
            "address_added",
            "address_changed",
            "address_removed",
            "address_removed",
        ]

    def test_invalid_address_writes_nothing(self, actor, make_customer):
        customer = make_customer()
        with pytest.raises(ValidationError) as exc:
            address_create(
                customer=customer,
                actor=actor,
                first_name="",
                last_name="D",
                address1="x",
                city="Paris",
                country="ZZ",
            )
        assert set(exc.value.message_dict) == {"first_name", "country"}
        assert customer.addresses.count() == 0
