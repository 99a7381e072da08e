"""POST /orders with an ``Idempotency-Key``: a retried checkout gets the first order back, never
a second one; the same key with another order is refused; a refused call keeps nothing."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from comptoir.core.models import Event
from comptoir.customers.models import Customer
from comptoir.customers.services import customer_block, customer_unblock
from comptoir.orders.models import Cart, CartStatus, Order
from comptoir.storefront.models import OrderIdempotencyKey
from comptoir.storefront.services import checkout
from tests.storefront.conftest import field_errors, problem

pytestmark = pytest.mark.django_db

LINES = [{"product_name": "Mug", "reference": "MUG-1", "quantity": 2, "unit_price": "12.50"}]
KEY = "3f1c8a2e-checkout-0001"


def body(email="lea@example.com", **extra):
    return {"email": email, "first_name": "Léa", "last_name": "Roux", "lines": LINES, **extra}


def place(api, payload, key=KEY, **kw):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post("/orders", payload, headers=headers, **kw)


def written():
    return (
        Customer.objects.count(),
        Order.objects.count(),
        Event.objects.count(),
        OrderIdempotencyKey.objects.count(),
        list(Customer.objects.order_by("id").values_list("orders_count", "total_spent")),
    )


def test_a_retry_gets_the_first_order_back(api):
    first = place(api, body())
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    after_first = written()
    assert after_first[:4] == (1, 1, 2, 1)  # a guest, its order; customer_created + order events

    again = place(api, body())
    assert again.status_code == 201, again.content
    assert again["Idempotent-Replayed"] == "true"
    # The same answer, word for word: the guest "created" by the first call included.
    assert again.json() == first.json()
    assert again.json()["customer"]["created"] is True
    assert written() == after_first
    guest = Customer.objects.get()
    assert (guest.orders_count, guest.total_spent) == (1, Decimal("25.00"))


def test_the_key_is_stored_with_its_order(api):
    placed = place(api, body()).json()
    stored = OrderIdempotencyKey.objects.get()
    assert (stored.key, stored.order_id, stored.customer_created) == (KEY, placed["id"], True)
    assert stored.group_id == placed["discount"]["group_id"]
    assert len(stored.request_hash) == 64


def test_a_replay_keeps_the_discount_and_cart_of_the_first_answer(
    api, registered, vip_group, actor
):
    from comptoir.customers.services import customer_default_group_set

    customer = registered(email="vip@example.com")
    customer_default_group_set(customer=customer, group=vip_group, actor=actor)
    cart = Cart.objects.create(customer=customer)
    first = place(api, body(email=customer.email, cart_id=cart.pk)).json()
    assert first["discount"]["percent"] == "10.00" and first["cart_id"] == cart.pk

    # The shop moves them to the default group meanwhile: the replay still says what was done.
    from comptoir.groups.models import Group

    customer_default_group_set(
        customer=customer, group=Group.objects.get(is_default=True), actor=actor
    )
    again = place(api, body(email=customer.email, cart_id=cart.pk))
    assert again.status_code == 201, again.content
    assert again.json()["discount"] == first["discount"]
    assert again.json()["cart_id"] == cart.pk and again.json()["total"] == "22.50"
    assert Cart.objects.get(pk=cart.pk).status == CartStatus.CONVERTED
    assert Order.objects.count() == 1


def test_without_a_key_each_call_is_a_new_order(api):
    place(api, body(), key=None)
    place(api, body(), key=None)
    assert Order.objects.count() == 2


def test_different_keys_are_different_orders(api):
    one = place(api, body(), key="checkout-1").json()
    two = place(api, body(), key="checkout-2").json()
    assert one["id"] != two["id"] and Order.objects.count() == 2
    assert two["customer"]["created"] is False


@pytest.mark.parametrize(
    "change",
    [
        {"email": "other@example.com"},
        {"lines": [{"product_name": "Mug", "quantity": 3, "unit_price": "12.50"}]},
        {"status": "awaiting_payment"},
        {"payment_method": "card"},
    ],
)
def test_the_same_key_with_another_order_is_refused(api, change):
    place(api, body())
    before = written()
    response = place(api, {**body(), **change})
    problem(response, 422, "idempotency-key-reused", "idempotency_key_reused")
    assert written() == before


def test_the_reused_key_refusal_is_said_in_french(api):
    place(api, body())
    response = place(api, body(email="autre@example.com"), lang="fr")
    payload = problem(response, 422, "idempotency-key-reused")
    assert payload["title"].startswith("Cette clé Idempotency-Key a déjà servi")


def test_a_refused_order_keeps_nothing_so_its_key_can_be_retried(api, registered, actor):
    customer = registered(email="late@example.com")
    customer_block(customer=customer, reason="Unpaid", actor=actor)
    problem(place(api, body(email=customer.email)), 403, "customer-blocked", "customer_blocked")
    assert not OrderIdempotencyKey.objects.exists() and not Order.objects.exists()
    # A validation error keeps nothing either.
    problem(place(api, body(email=customer.email, currency="EURO")), 400, "invalid-request")

    customer_unblock(customer=customer, actor=actor)
    response = place(api, body(email=customer.email))
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Order.objects.count() == 1


def test_the_order_of_an_erased_customer_is_not_given_back(api, registered, actor):
    from comptoir.customers.services import customer_delete

    customer = registered(email="gone@example.com")
    place(api, body(email=customer.email))
    customer_delete(customer=customer, mode="allow", actor=actor)
    response = place(api, body(email=customer.email))
    problem(response, 422, "idempotency-key-reused", "idempotency_key_spent")
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("k" * 256, "string_too_long"),
        (" leading-space", "string_pattern_mismatch"),
        ("tab\there", "string_pattern_mismatch"),
        ("clé-accentuée", "string_pattern_mismatch"),
    ],
)
def test_a_malformed_key_is_a_400(api, key, code):
    response = place(api, body(), key=key)
    payload = problem(response, 400, "invalid-request")
    assert code in field_errors(payload).get("Idempotency-Key", []), payload
    assert not Order.objects.exists()


def test_a_call_that_lost_the_race_answers_the_winners_order(api, monkeypatch):
    """The second of two simultaneous calls found no key at first (the first had not committed),
    placed its own order, then met the key on insert: it is rolled back whole and replays."""
    first = place(api, body()).json()
    before = written()
    lookups = []
    real_lookup = checkout.order_by_idempotency_key

    def not_yet_committed(*, key):
        lookups.append(key)
        return None if len(lookups) == 1 else real_lookup(key=key)

    monkeypatch.setattr(checkout, "order_by_idempotency_key", not_yet_committed)
    again = place(api, body())
    assert again.status_code == 201, again.content
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == first["id"]
    assert lookups == [KEY, KEY]
    assert written() == before


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises write transactions (BEGIN IMMEDIATE): no race to run",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_calls_place_one_order(monkeypatch):
    """Two threads, one key, both past the first lookup before either commits."""
    from comptoir.core.actors import Actor
    from comptoir.orders.services import LineInput

    both_looked = threading.Barrier(2, timeout=10)
    real_place = checkout._order_place

    def place_after_both_looked(**kwargs):
        both_looked.wait()
        return real_place(**kwargs)

    monkeypatch.setattr(checkout, "_order_place", place_after_both_looked)
    results, errors = [], []

    def run():
        try:
            results.append(
                checkout.storefront_order_place(
                    actor=Actor.storefront("198.51.100.1"),
                    email="race@example.com",
                    first_name="Ray",
                    last_name="Ce",
                    lines=[LineInput(product_name="Mug", quantity=1, unit_price=Decimal("5"))],
                    idempotency_key="race-key",
                )
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(placed.replayed for placed in results) == [False, True]
    assert results[0].order.pk == results[1].order.pk
    assert Order.objects.count() == 1 and OrderIdempotencyKey.objects.count() == 1
    # The loser's guest was rolled back with its order.
    assert Customer.objects.filter(email="race@example.com").count() == 1
    assert Customer.objects.get(email="race@example.com").orders_count == 1
