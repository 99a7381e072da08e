"""POST /register: a new customer with a strong password and their consents, logged in; the
guests of the e-mail turned into the registered customer instead of a refusal."""

from decimal import Decimal

import pytest
from django.contrib.auth.hashers import check_password

from comptoir.core.models import Event, OutboxMessage
from comptoir.customers.models import ConsentRecord, Customer
from comptoir.customers.services import customer_delete, customer_enabled_set
from comptoir.orders.models import Cart, Order
from comptoir.storefront.models import CustomerSession, PasswordResetToken, token_hash
from tests.storefront.conftest import PASSWORD, field_errors, problem

pytestmark = pytest.mark.django_db


def register_body(email="lea@example.com", **extra):
    return {
        "email": email,
        "password": PASSWORD,
        "first_name": "Léa",
        "last_name": "Moreau",
        "consents": {"newsletter": True, "partner_offers": False},
        **extra,
    }


def test_register_creates_the_customer_with_consents_and_logs_in(api, default_group):
    response = api.post("/register", register_body(), headers={"X-Customer-IP": "198.51.100.8"})
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(email="lea@example.com")
    assert not customer.is_guest and customer.language == "en"  # the request's language
    assert customer.password.startswith("argon2$") and check_password(PASSWORD, customer.password)
    assert body["customer"]["id"] == customer.pk
    assert body["customer"]["default_group"]["id"] == default_group.pk
    assert body["converted_guest"] is False and body["merged_guests"] == 0
    session = CustomerSession.objects.get(customer=customer)
    assert session.token_hash == token_hash(body["session"]["token"])
    assert session.ip_address == "198.51.100.8"
    # The consent given is a history row with the storefront as source and the shopper's IP.
    record = ConsentRecord.objects.get(customer=customer)
    assert (record.channel, record.granted, record.source, record.ip_address) == (
        "newsletter",
        True,
        "storefront",
        "198.51.100.8",
    )
    assert record.opt_in_level == "single" and record.actor_id is None
    assert customer.newsletter and not customer.partner_offers
    created = Event.objects.get(customer_id=customer.pk, kind="customer_created")
    assert (created.source, created.ip_address) == ("storefront", "198.51.100.8")
    # The token works at once.
    assert api.get("/me", token=body["session"]["token"]).json()["email"] == "lea@example.com"


def test_no_password_hash_in_the_answer(api):
    content = api.post("/register", register_body()).content.decode()
    assert "argon2" not in content and "password" not in content
    assert Customer.objects.get().password not in content


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Short1!", "password_too_short"),
        ("password123", "password_too_common"),
        ("7395028461539", "password_entirely_numeric"),
        ("lea@example.com", "password_too_similar"),
    ],
)
def test_weak_passwords_are_refused(api, password, code):
    body = problem(api.post("/register", register_body(password=password)), 400, "validation")
    assert code in field_errors(body)["password"]
    assert Customer.objects.count() == 0


def test_the_minimum_length_is_ten(api):
    body = problem(api.post("/register", register_body(password="Xq7#pLm2v")), 400, "validation")
    assert body["errors"][0]["message"] == (
        "This password is too short. It must contain at least 10 characters."
    )
    assert api.post("/register", register_body(password="Xq7#pLm2vZ")).status_code == 201


def test_password_messages_in_french(api):
    body = api.post("/register", register_body(password="Xq7#p"), lang="fr").json()
    assert body["errors"][0]["message"] == (
        "Ce mot de passe est trop court. Il doit contenir au minimum 10 caractères."
    )


def test_all_field_errors_come_together(api):
    body = problem(
        api.post(
            "/register",
            register_body(email="nope", first_name=" ", password="123", language="en"),
        ),
        400,
        "validation",
    )
    errors = field_errors(body)
    assert errors["email"] == ["invalid"]
    assert errors["first_name"] == ["required"]
    assert "password_too_short" in errors["password"]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"email": None}, "email", "string_type"),
        ({"language": "de"}, "language", "literal_error"),
        ({"consents": {"newsletter": "maybe"}}, "consents.newsletter", "bool_parsing"),
        ({"consents": {"fax": True}}, "consents.fax", "extra_forbidden"),
        ({"is_guest": False}, "is_guest", "extra_forbidden"),
        ({"password": "x" * 5000}, "password", "string_too_long"),
    ],
)
def test_request_errors(api, change, field, code):
    body = problem(api.post("/register", register_body(**change)), 400, "invalid-request")
    assert code in field_errors(body)[field]


def test_a_registered_email_is_refused(api, registered):
    registered(email="Lea@Example.com")
    body = problem(api.post("/register", register_body()), 400, "validation")
    assert field_errors(body) == {"email": ["duplicate"]}
    assert Customer.objects.count() == 1


def test_an_email_deleted_without_re_registration_stays_taken(api, registered, actor):
    customer = registered(email="lea@example.com")
    customer_delete(customer=customer, mode="deny", actor=actor)
    body = problem(api.post("/register", register_body()), 400, "validation")
    assert field_errors(body) == {"email": ["denied"]}


def test_an_email_deleted_with_re_registration_allowed_registers_again(api, registered, actor):
    customer = registered(email="lea@example.com")
    customer_delete(customer=customer, mode="allow", actor=actor)
    assert api.post("/register", register_body()).status_code == 201


def test_guests_of_the_email_become_the_registered_customer(api):
    # Two guest checkouts with the same e-mail, then registration.
    first = api.post(
        "/orders",
        {
            "email": "lea@example.com",
            "first_name": "L",
            "last_name": "M",
            "lines": [{"product_name": "Mug", "quantity": 1, "unit_price": "10.00"}],
        },
    ).json()
    second = api.post(
        "/orders",
        {
            "email": "LEA@example.com",
            "first_name": "Lea",
            "last_name": "Moreau",
            "lines": [{"product_name": "Tea", "quantity": 2, "unit_price": "5.00"}],
        },
    ).json()
    assert first["customer"]["id"] == second["customer"]["id"]  # the same guest is linked
    Cart.objects.create(customer_id=first["customer"]["id"])
    outbox_before = OutboxMessage.objects.count()

    response = api.post("/register", register_body())
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(pk=body["customer"]["id"])
    assert body["converted_guest"] is True
    assert customer.pk == first["customer"]["id"] and not customer.is_guest
    assert (customer.first_name, customer.last_name, customer.email) == (
        "Léa",
        "Moreau",
        "lea@example.com",
    )
    assert check_password(PASSWORD, customer.password) and not customer.must_reset_password
    assert set(Order.objects.values_list("customer_id", flat=True)) == {customer.pk}
    assert (customer.orders_count, customer.total_spent) == (2, Decimal("20.00"))
    assert Customer.objects.count() == 1
    # Registering chose a password: no "choose your password" link is left behind.
    assert OutboxMessage.objects.count() == outbox_before
    assert not PasswordResetToken.objects.exists()
    kinds = list(Event.objects.filter(customer_id=customer.pk).values_list("kind", flat=True))
    assert "guest_converted" in kinds and "password_changed" in kinds


def test_several_guests_are_merged_into_one(api, make_customer, actor):
    older = make_customer(is_guest=True, email="lea@example.com", first_name="L", last_name="M")
    newer = make_customer(is_guest=True, email="lea@example.com", first_name="L", last_name="M")
    Order.objects.create(customer=older, reference="OLDORDER1", status="paid", total=5)
    body = api.post("/register", register_body()).json()
    assert body["customer"]["id"] == newer.pk and body["merged_guests"] == 1
    assert not Customer.objects.filter(pk=older.pk).exists()
    assert Order.objects.get(reference="OLDORDER1").customer_id == newer.pk


def test_a_disabled_guest_registers_without_a_session(api, make_customer, actor):
    guest = make_customer(is_guest=True, email="lea@example.com")
    customer_enabled_set(customer=guest, enabled=False, actor=actor)
    body = api.post("/register", register_body()).json()
    assert body["session"] is None and not CustomerSession.objects.exists()


def test_register_in_french_keeps_french(api):
    body = api.post("/register", register_body(), lang="fr").json()
    assert Customer.objects.get(pk=body["customer"]["id"]).language == "fr"
    body = api.post("/register", register_body(email="b@example.com", language="en"), lang="fr")
    assert Customer.objects.get(email="b@example.com").language == "en"
