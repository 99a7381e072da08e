"""Orders and visits: customer linking, refusal of blocked customers, stored figures."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.customers.models import Customer
from comptoir.customers.services import customer_block
from comptoir.orders.models import Cart, CartStatus, Order, OrderLine, Visit
from comptoir.orders.services import (
    CustomerBlockedError,
    LineInput,
    order_record,
    order_status_set,
    visit_record,
)

pytestmark = pytest.mark.django_db

LINES = [LineInput("Mug", 2, Decimal("12.50")), LineInput("Poster", 1, Decimal("25.00"))]


def place(email="jean@example.com", status="paid", **kwargs):
    kwargs.setdefault("lines", LINES)
    return order_record(
        actor=Actor.storefront("198.51.100.7"),
        email=email,
        first_name="Jean",
        last_name="Martin",
        status=status,
        **kwargs,
    )


def test_links_registered_customer_by_email_case_insensitively(make_customer):
    customer = make_customer(email="Jean@Example.com")
    order = place(email="  JEAN@example.COM ")
    assert order.customer == customer
    assert order.total == Decimal("50.00") and order.total_products == Decimal("50.00")
    assert (order.customer_first_name, order.customer_email) == (
        customer.first_name,
        "Jean@Example.com",
    )
    assert order.lines.count() == 2 and len(order.reference) == 9
    assert Customer.objects.count() == 1


def test_unknown_email_creates_a_guest():
    order = place(email="new@example.com")
    guest = order.customer
    assert guest.is_guest and guest.email == "new@example.com"
    assert (guest.first_name, guest.last_name) == ("Jean", "Martin")
    assert list(
        Event.objects.filter(customer_id=guest.pk).order_by("id").values_list("kind", flat=True)
    ) == [
        "customer_created",
        "order_recorded",
    ]
    assert Event.objects.filter(customer_id=guest.pk).first().source == "storefront"


def test_second_guest_order_reuses_the_guest():
    first = place(email="g@example.com")
    second = place(email="g@example.com")
    assert first.customer_id == second.customer_id
    assert Customer.objects.count() == 1


def test_blocked_customer_is_refused_and_nothing_is_written(make_customer, actor):
    customer = make_customer(email="bad@example.com")
    customer_block(customer=customer, reason="Fraud", actor=actor)
    events_before = Event.objects.count()
    with translation.override("fr"), pytest.raises(CustomerBlockedError) as exc:
        place(email="bad@example.com")
    assert exc.value.code == "customer_blocked"
    assert exc.value.reason == "Fraud"
    assert "bloqué" in exc.value.messages[0]
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0
    assert Event.objects.count() == events_before
    customer.refresh_from_db()
    assert customer.orders_count == 0 and customer.total_spent == 0


def test_figures_count_valid_and_invalid_orders(make_customer):
    customer = make_customer(email="f@example.com")
    day = timezone.now().replace(microsecond=0)
    place(email="f@example.com", created_at=day - datetime.timedelta(days=10))
    place(
        email="f@example.com",
        lines=[LineInput("Book", 3, Decimal("10"))],
        created_at=day - datetime.timedelta(days=20),
    )
    place(email="f@example.com", status="cancelled", created_at=day)
    place(
        email="f@example.com", status="payment_error", created_at=day - datetime.timedelta(days=30)
    )
    customer.refresh_from_db()
    assert customer.orders_count == 2
    assert customer.invalid_orders_count == 2
    assert customer.total_spent == Decimal("80.00")
    assert customer.average_order == Decimal("40.00")
    assert customer.first_order_at == day - datetime.timedelta(days=30)
    assert customer.last_order_at == day


def test_status_change_moves_the_figures(make_customer, actor):
    customer = make_customer(email="s@example.com")
    order = place(email="s@example.com", status="awaiting_payment")
    customer.refresh_from_db()
    assert (customer.orders_count, customer.invalid_orders_count, customer.total_spent) == (
        0,
        1,
        Decimal("0"),
    )
    order_status_set(order=order, status="paid", actor=actor)
    customer.refresh_from_db()
    assert (customer.orders_count, customer.invalid_orders_count, customer.total_spent) == (
        1,
        0,
        Decimal("50.00"),
    )
    order_status_set(order=order, status="shipped", actor=actor)
    order_status_set(order=order, status="refunded", actor=actor)
    customer.refresh_from_db()
    assert (customer.orders_count, customer.invalid_orders_count, customer.total_spent) == (
        0,
        1,
        Decimal("0.00"),
    )


def test_default_group_discount_is_applied(make_customer, vip_group):
    make_customer(email="vip@example.com", default_group=vip_group)
    order = place(email="vip@example.com")
    assert order.discount_percent == Decimal("10.00")
    assert order.discount_amount == Decimal("5.00")
    assert order.total == Decimal("45.00")
    assert Customer.objects.get(email="vip@example.com").total_spent == Decimal("45.00")


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [LineInput("", 1, Decimal("1"))],
        [LineInput("X", 0, Decimal("1"))],
        [LineInput("X", 1, Decimal("-1"))],
    ],
)
def test_bad_lines_write_nothing(lines):
    with pytest.raises(ValidationError):
        place(email="x@example.com", lines=lines)
    assert Order.objects.count() == 0 and Customer.objects.count() == 0


def test_unknown_status_writes_nothing():
    with pytest.raises(ValidationError):
        place(status="teleported")
    assert Customer.objects.count() == 0


def test_cart_is_converted(make_customer):
    customer = make_customer(email="c@example.com")
    cart = Cart.objects.create(customer=customer, items_count=3, total=Decimal("50"))
    order = place(email="c@example.com", cart=cart)
    cart.refresh_from_db()
    assert cart.status == CartStatus.CONVERTED and cart.order == order


def test_visit_moves_last_visit_forward_only(make_customer):
    customer = make_customer()
    now = timezone.now()
    visit_record(
        customer=customer, ip_address="203.0.113.9", referrer="https://search.example", at=now
    )
    visit_record(customer=customer, at=now - datetime.timedelta(days=3))
    customer.refresh_from_db()
    assert customer.last_visit_at == now
    assert Visit.objects.filter(customer=customer).count() == 2
    assert Visit.objects.filter(ip_address="203.0.113.9").count() == 1


def test_a_reference_clash_draws_again(monkeypatch):
    from comptoir.orders import services

    first = place(email="a@example.com")
    draws = iter([first.reference, "ZZZZZZZZZ"])
    monkeypatch.setattr(services, "_reference_new", lambda: next(draws))
    second = place(email="b@example.com")
    assert second.reference == "ZZZZZZZZZ"
    assert Order.objects.count() == 2
