"""The storefront's flows end to end, through the API only."""

import pytest

from comptoir.core.models import Event
from comptoir.customers.models import Customer
from comptoir.customers.services import customer_block, customer_default_group_set
from comptoir.groups.models import Group
from comptoir.orders.models import Cart, Order
from tests.storefront.conftest import PASSWORD, problem

pytestmark = pytest.mark.django_db

LINES = [{"product_name": "Teapot", "reference": "TP-2", "quantity": 1, "unit_price": "80.00"}]


def order_body(email, **extra):
    return {"email": email, "first_name": "Sam", "last_name": "Petit", "lines": LINES, **extra}


def order(api, email, **extra):
    return api.post("/orders", order_body(email, **extra))


def test_register_then_order_then_account_shows_group_and_discount(api, actor):
    group = Group.objects.get(is_default=True)
    group.discount = 5
    group.name_en = "Customers"
    group.save()
    registered = api.post(
        "/register",
        {
            "email": "sam@example.com",
            "password": PASSWORD,
            "first_name": "Sam",
            "last_name": "Petit",
            "consents": {"newsletter": True, "partner_offers": True},
        },
    ).json()
    token = registered["session"]["token"]

    placed = order(api, "sam@example.com").json()
    assert placed["customer"] == {
        "id": registered["customer"]["id"],
        "email": "sam@example.com",
        "is_guest": False,
        "created": False,
    }
    assert placed["discount"] == {
        "group_id": group.pk,
        "group_name": "Customers",
        "percent": "5.00",
        "amount": "4.00",
    }
    assert placed["total"] == "76.00"

    me = api.get("/me", token=token).json()
    assert me["default_group"]["name"] == "Customers" and me["default_group"]["discount"] == "5.00"
    assert me["orders_count"] == 1 and me["total_spent"] == "76.00"
    assert me["consents"]["partner_offers"]["granted"] is True
    mine = api.get("/me/orders", token=token).json()["items"]
    assert [o["reference"] for o in mine] == [placed["reference"]]
    assert mine[0]["discount_percent"] == "5.00" and mine[0]["discount_amount"] == "4.00"

    # Staff move them to a better group: the account and the next order follow.
    vip = Group.objects.create(name_fr="VIP", name_en="VIP", discount=20)
    customer_default_group_set(customer=Customer.objects.get(pk=me["id"]), group=vip, actor=actor)
    assert api.get("/me", token=token).json()["default_group"]["discount"] == "20.00"
    assert order(api, "sam@example.com").json()["total"] == "64.00"


def test_blocked_customer_order_is_refused_with_nothing_written(api, actor):
    registered = api.post(
        "/register",
        {
            "email": "bob@example.com",
            "password": PASSWORD,
            "first_name": "Bob",
            "last_name": "Lenoir",
        },
    ).json()
    customer = Customer.objects.get(pk=registered["customer"]["id"])
    customer_block(customer=customer, reason="Chargebacks", actor=actor)
    cart = Cart.objects.create(customer=customer)
    # Logging in works; ordering does not.
    token = api.login("bob@example.com")
    assert api.get("/me", token=token).json()["can_order"] is False

    def snapshot():
        return (
            Customer.objects.count(),
            Order.objects.count(),
            list(Cart.objects.values_list("id", "status", "order_id", "customer_id")),
            Event.objects.count(),
            Customer.objects.values_list("orders_count", "total_spent", "last_order_at").get(
                pk=customer.pk
            ),
        )

    before = snapshot()
    response = order(api, "BOB@example.com", cart_id=cart.pk)
    problem(response, 403, "customer-blocked", "customer_blocked")
    response = order(api, "bob@example.com")
    problem(response, 403, "customer-blocked", "customer_blocked")
    assert snapshot() == before


def test_guest_orders_then_registration_links_them_to_the_account(api):
    first = order(api, "zoe@example.com").json()
    second = order(api, "Zoe@Example.com").json()
    guest_id = first["customer"]["id"]
    assert first["customer"]["is_guest"] and first["customer"]["created"]
    assert second["customer"]["id"] == guest_id and not second["customer"]["created"]

    response = api.post(
        "/register",
        {
            "email": "zoe@example.com",
            "password": PASSWORD,
            "first_name": "Zoé",
            "last_name": "Blanc",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["converted_guest"] is True and body["customer"]["id"] == guest_id
    token = body["session"]["token"]
    mine = api.get("/me/orders", token=token).json()["items"]
    assert {o["reference"] for o in mine} == {first["reference"], second["reference"]}
    me = api.get("/me", token=token).json()
    assert me["orders_count"] == 2 and me["total_spent"] == "160.00"
    assert Customer.objects.filter(email_key="zoe@example.com").count() == 1
    # The next order goes to the registered customer, not to a new guest.
    third = order(api, "zoe@example.com").json()
    assert third["customer"] == {
        "id": guest_id,
        "email": "zoe@example.com",
        "is_guest": False,
        "created": False,
    }


def test_no_password_hash_or_stored_token_in_any_answer(api):
    """Every JSON answer of the API, read for a password, a hash or a stored token."""
    answers = [
        api.post(
            "/register",
            {
                "email": "eve@example.com",
                "password": PASSWORD,
                "first_name": "Eve",
                "last_name": "Noir",
            },
        )
    ]
    token = answers[0].json()["session"]["token"]
    address = {
        "first_name": "Eve",
        "last_name": "Noir",
        "address1": "3 rue Haute",
        "city": "Lyon",
        "country": "FR",
    }
    answers += [
        api.post("/login", {"email": "eve@example.com", "password": PASSWORD}),
        api.get("/me", token=token),
        api.patch("/me", {"company": "Noir SARL"}, token=token),
        api.post("/me/addresses", address, token=token),
        api.get("/me/addresses", token=token),
        api.get("/me/consents", token=token),
        api.put("/me/consents/sms", {"granted": True}, token=token),
        order(api, "eve@example.com"),
        api.post("/orders", {**order_body("eve@example.com")}, headers={"Idempotency-Key": "k1"}),
        api.post("/orders", {**order_body("eve@example.com")}, headers={"Idempotency-Key": "k1"}),
        api.get("/me/orders", token=token),
        api.post("/password-reset", {"email": "eve@example.com"}),
        # Refusals too: a wrong password, a taken e-mail, a weak new password.
        api.post("/login", {"email": "eve@example.com", "password": "wrong-password"}),
        api.post(
            "/register",
            {"email": "eve@example.com", "password": "123", "first_name": "E", "last_name": "N"},
        ),
        api.post("/me/erase", {"password": "wrong-password"}, token=token),
    ]
    address_id = answers[4].json()["id"]
    answers.append(api.get(f"/me/addresses/{address_id}", token=token))
    customer = Customer.objects.get(email="eve@example.com")
    from comptoir.storefront.models import CustomerSession, PasswordResetToken

    secrets = [
        customer.password,
        *CustomerSession.objects.values_list("token_hash", flat=True),
        *PasswordResetToken.objects.values_list("token_hash", flat=True),
    ]
    assert len(secrets) == 4  # the hash, two sessions, the reset token
    for response in answers:
        text = response.content.decode()
        assert response.status_code < 500, text
        assert "argon2" not in text and PASSWORD not in text, text
        assert all(secret not in text for secret in secrets), text
        assert '"password"' not in text.replace('"field": "password"', ""), text
