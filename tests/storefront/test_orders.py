"""POST /orders: the checkout places an order; the customer is linked or created, the default
group's discount applied and returned, the figures moved, the cart converted; a blocked customer
is refused with nothing written."""

from decimal import Decimal

import pytest

from comptoir.core.models import Event
from comptoir.customers.models import Address, Customer
from comptoir.customers.services import customer_block, customer_default_group_set
from comptoir.orders.models import Cart, CartStatus, Order, OrderLine
from tests.storefront.conftest import field_errors, problem

pytestmark = pytest.mark.django_db

LINES = [
    {"product_name": "Mug", "reference": "MUG-1", "quantity": 2, "unit_price": "12.50"},
    {"product_name": "Poster", "quantity": 1, "unit_price": "25.00"},
]


def order_body(email="jean@example.com", **extra):
    return {"email": email, "first_name": "Jean", "last_name": "Martin", "lines": LINES, **extra}


def counts():
    return {
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "carts": list(Cart.objects.order_by("id").values_list("id", "status", "order_id")),
        "events": Event.objects.count(),
        "addresses": Address.objects.count(),
    }


def test_unknown_email_creates_a_guest_and_returns_the_totals(api):
    response = api.post("/orders", order_body(), headers={"X-Customer-IP": "198.51.100.4"})
    assert response.status_code == 201, response.content
    body = response.json()
    guest = Customer.objects.get(email="jean@example.com")
    assert guest.is_guest and (guest.first_name, guest.last_name) == ("Jean", "Martin")
    assert body["customer"] == {
        "id": guest.pk,
        "email": "jean@example.com",
        "is_guest": True,
        "created": True,
    }
    assert len(body["reference"]) == 9 and body["status"] == "paid"
    assert (body["total_products"], body["total"]) == ("50.00", "50.00")
    assert body["discount"]["percent"] == "0.00" and body["discount"]["amount"] == "0.00"
    assert body["lines"][0] == {
        "reference": "MUG-1",
        "product_name": "Mug",
        "quantity": 2,
        "unit_price": "12.50",
        "total": "25.00",
    }
    assert (guest.orders_count, guest.total_spent) == (1, Decimal("50.00"))
    event = Event.objects.get(customer_id=guest.pk, kind="order_recorded")
    assert (event.source, event.ip_address) == ("storefront", "198.51.100.4")


def test_registered_customer_gets_the_default_groups_discount(api, registered, vip_group, actor):
    customer = registered(email="Claire@Example.com")
    customer_default_group_set(customer=customer, group=vip_group, actor=actor)
    response = api.post("/orders", order_body(email=" claire@example.COM "))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer"]["id"] == customer.pk and body["customer"]["created"] is False
    assert body["discount"] == {
        "group_id": vip_group.pk,
        "group_name": "VIP",
        "percent": "10.00",
        "amount": "5.00",
    }
    assert (body["total_products"], body["total"]) == ("50.00", "45.00")
    customer.refresh_from_db()
    assert customer.orders_count == 1 and customer.total_spent == Decimal("45.00")
    assert customer.last_order_at is not None
    assert Customer.objects.count() == 1


def test_group_name_follows_the_language(api, registered, vip_group, actor):
    vip_group.name_fr, vip_group.name_en = "Fidèles", "Loyal"
    vip_group.save()
    customer = registered()
    customer_default_group_set(customer=customer, group=vip_group, actor=actor)
    fr = api.post("/orders", order_body(email=customer.email), lang="fr").json()
    en = api.post("/orders", order_body(email=customer.email), lang="en").json()
    assert (fr["discount"]["group_name"], en["discount"]["group_name"]) == ("Fidèles", "Loyal")


def test_an_invalid_status_does_not_count_as_a_sale(api, registered):
    customer = registered()
    body = api.post("/orders", order_body(email=customer.email, status="payment_error")).json()
    assert body["status"] == "payment_error"
    customer.refresh_from_db()
    assert (customer.orders_count, customer.invalid_orders_count) == (0, 1)


def test_the_given_cart_is_converted_and_linked(api, registered):
    customer = registered()
    cart = Cart.objects.create(items_count=3, total=Decimal("50"))  # an anonymous cart
    other_open = Cart.objects.create(customer=customer)
    body = api.post("/orders", order_body(email=customer.email, cart_id=cart.pk)).json()
    cart.refresh_from_db()
    other_open.refresh_from_db()
    assert body["cart_id"] == cart.pk
    assert (cart.status, cart.order_id, cart.customer_id) == (
        CartStatus.CONVERTED,
        body["id"],
        customer.pk,
    )
    assert other_open.status == CartStatus.OPEN


def test_without_a_cart_id_the_newest_open_cart_is_converted(api, registered):
    customer = registered()
    older = Cart.objects.create(customer=customer)
    newer = Cart.objects.create(customer=customer)
    body = api.post("/orders", order_body(email=customer.email)).json()
    assert body["cart_id"] == newer.pk
    assert Cart.objects.get(pk=newer.pk).status == CartStatus.CONVERTED
    assert Cart.objects.get(pk=older.pk).status == CartStatus.OPEN


def test_a_guest_order_converts_nothing_when_there_is_no_cart(api):
    body = api.post("/orders", order_body()).json()
    assert body["cart_id"] is None and Cart.objects.count() == 0


def test_the_shipping_address_is_kept_once(api):
    shipping = {
        "first_name": "Jean",
        "last_name": "Martin",
        "address1": "3 rue des Lilas",
        "postcode": "69003",
        "city": "Lyon",
        "country": "fr",
        "phone": "06 12 34 56 78",
    }
    api.post("/orders", order_body(shipping=shipping))
    api.post("/orders", order_body(shipping=shipping))
    guest = Customer.objects.get(email="jean@example.com")
    address = Address.objects.get(customer=guest)
    assert (address.city, address.country.code, address.phone) == ("Lyon", "FR", "+33612345678")
    assert address.is_default_shipping and address.is_default_billing
    assert guest.orders_count == 2


def test_a_blocked_customer_is_refused_and_nothing_is_written(api, registered, actor):
    customer = registered(email="fraud@example.com")
    customer_block(customer=customer, reason="Chargebacks on 3 orders", actor=actor)
    cart = Cart.objects.create(customer=customer)
    before = counts()
    response = api.post(
        "/orders",
        order_body(
            email="fraud@example.com",
            cart_id=cart.pk,
            shipping={
                "first_name": "A",
                "last_name": "B",
                "address1": "1 rue X",
                "city": "Paris",
                "country": "FR",
            },
        ),
    )
    body = problem(response, 403, "customer-blocked", "customer_blocked")
    assert body["title"] == (
        "This customer account is blocked from ordering. Please contact the shop."
    )
    assert "Chargebacks" not in response.content.decode()  # the staff's reason stays inside
    assert counts() == before
    customer.refresh_from_db()
    assert customer.orders_count == 0 and customer.last_order_at is None


def test_the_blocked_refusal_is_said_in_french(api, registered, actor):
    customer = registered()
    customer_block(customer=customer, reason="Fraud", actor=actor)
    body = problem(
        api.post("/orders", order_body(email=customer.email), lang="fr"), 403, "customer-blocked"
    )
    assert body["title"].startswith("Ce compte client est bloqué")


SERVICE, REQUEST = "validation", "invalid-request"


@pytest.mark.parametrize(
    ("change", "slug", "field", "code"),
    [
        ({"lines": []}, REQUEST, "lines", "too_short"),
        ({"email": "not-an-email"}, SERVICE, "email", "invalid"),
        ({"email": ""}, SERVICE, "email", "required"),
        ({"first_name": ""}, SERVICE, "first_name", "required"),
        ({"status": "lost"}, REQUEST, "status", "literal_error"),
        ({"currency": "EURO"}, REQUEST, "currency", "string_pattern_mismatch"),
        ({"cart_id": 0}, REQUEST, "cart_id", "greater_than_equal"),
        ({"cart_id": 2**63}, REQUEST, "cart_id", "less_than_equal"),
        ({"cart_id": 99999}, SERVICE, "cart_id", "not_found"),
        ({"colour": "red"}, REQUEST, "colour", "extra_forbidden"),
        (
            {"lines": [{"product_name": "Mug", "quantity": 0, "unit_price": "1"}]},
            REQUEST,
            "lines.0.quantity",
            "greater_than_equal",
        ),
        (
            {"lines": [{"product_name": "Mug", "quantity": 1, "unit_price": "-1"}]},
            REQUEST,
            "lines.0.unit_price",
            "greater_than_equal",
        ),
        (
            {"lines": [{"product_name": "Mug", "quantity": 1, "unit_price": "1.234"}]},
            REQUEST,
            "lines.0.unit_price",
            "decimal_max_places",
        ),
        (
            {"lines": [{"product_name": "", "quantity": 1, "unit_price": "1"}]},
            REQUEST,
            "lines.0.product_name",
            "string_too_short",
        ),
        (
            {"lines": [{"product_name": "Gold", "quantity": 100000, "unit_price": "1000000000"}]},
            SERVICE,
            "lines",
            "too_large",
        ),
        (
            {
                "shipping": {
                    "first_name": "A",
                    "last_name": "B",
                    "address1": "x",
                    "city": "Y",
                    "country": "ZZ",
                }
            },
            SERVICE,
            "shipping.country",
            "invalid_choice",
        ),
    ],
)
def test_each_validation_error_is_a_400_and_writes_nothing(api, change, slug, field, code):
    before = counts()
    body = problem(api.post("/orders", {**order_body(), **change}), 400, slug)
    assert code in field_errors(body).get(field, []), body
    assert counts() == before


def test_a_cart_of_another_customer_or_already_converted_is_refused(api, registered):
    someone = registered(email="someone@example.com")
    foreign = Cart.objects.create(customer=someone)
    body = problem(api.post("/orders", order_body(cart_id=foreign.pk)), 400, "validation")
    assert field_errors(body) == {"cart_id": ["foreign"]}
    api.post("/orders", order_body(email=someone.email, cart_id=foreign.pk))
    body = problem(
        api.post("/orders", order_body(email=someone.email, cart_id=foreign.pk)), 400, "validation"
    )
    assert field_errors(body) == {"cart_id": ["converted"]}


def test_validation_messages_in_english_and_french(api):
    en = api.post("/orders", order_body(email="nope"), lang="en").json()
    fr = api.post("/orders", order_body(email="nope"), lang="fr").json()
    assert en["errors"][0]["message"] == "Enter a valid e-mail address."
    assert fr["errors"][0]["message"] == "Saisissez une adresse e-mail valide."
