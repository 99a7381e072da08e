"""The database backs the rules even when the services are bypassed."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from comptoir.customers.models import Address, Customer, Membership
from comptoir.groups.models import Group
from comptoir.orders.models import Cart, Order

pytestmark = pytest.mark.django_db


def refused(callable_):
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


def raw_customer(default_group, **fields):
    fields.setdefault("first_name", "A")
    fields.setdefault("last_name", "B")
    return Customer.objects.create(default_group=default_group, **fields)


def test_unique_email_among_registered_customers(default_group):
    raw_customer(default_group, email="a@example.com", email_key="a@example.com")
    refused(lambda: raw_customer(default_group, email="A@example.com", email_key="a@example.com"))
    # Guests and soft-deleted-then-anonymised rows do not take the address.
    raw_customer(default_group, email="a@example.com", email_key="a@example.com", is_guest=True)


def test_soft_deleted_customer_keeps_the_email_taken(default_group):
    from django.utils import timezone

    raw_customer(
        default_group, email="a@example.com", email_key="a@example.com", deleted_at=timezone.now()
    )
    refused(lambda: raw_customer(default_group, email="a@example.com", email_key="a@example.com"))


def test_registered_customer_needs_an_email(default_group):
    refused(lambda: raw_customer(default_group, email="", email_key=""))


def test_only_one_default_group(default_group):
    refused(lambda: Group.objects.create(name_fr="X", name_en="X", is_default=True))


@pytest.mark.parametrize("discount", [Decimal("-0.01"), Decimal("100.01")])
def test_group_discount_between_0_and_100(discount):
    refused(lambda: Group.objects.create(name_fr="X", name_en="X", discount=discount))


def test_blocked_customer_needs_a_reason(default_group):
    refused(
        lambda: raw_customer(
            default_group,
            email="b@example.com",
            email_key="b@example.com",
            is_blocked=True,
            blocked_reason="",
        )
    )


def test_membership_unique_and_one_default_address(default_group):
    customer = raw_customer(default_group, email="c@example.com", email_key="c@example.com")
    Membership.objects.create(customer=customer, group=default_group)
    refused(lambda: Membership.objects.create(customer=customer, group=default_group))
    common = dict(
        customer=customer,
        first_name="A",
        last_name="B",
        address1="x",
        city="y",
        country="FR",
        is_default_shipping=True,
    )
    Address.objects.create(**common)
    refused(lambda: Address.objects.create(**common))


def test_orders_survive_their_customer(default_group):
    customer = raw_customer(default_group, email="d@example.com", email_key="d@example.com")
    order = Order.objects.create(
        reference="ABCDEFGHI",
        customer=customer,
        status="paid",
        total=Decimal("10"),
        customer_email="d@example.com",
    )
    customer.delete()
    order.refresh_from_db()
    assert order.customer_id is None and order.customer_email == "d@example.com"


def test_order_total_and_cart_rules(default_group):
    refused(lambda: Order.objects.create(reference="X1", status="paid", total=Decimal("-1")))
    refused(lambda: Cart.objects.create(status="converted"))


@pytest.mark.parametrize(
    ("table", "column", "index"),
    [
        ("customers_customer", "default_group_id", "customer_sort_default_group"),
        ("customers_customer", "title_id", "customer_sort_title"),
        ("core_event", "customer_id", "event_customer_timeline"),
        # (SQLite names a table's UNIQUE constraint's index itself.)
        ("customers_membership", "customer_id", "membership_unique|sqlite_autoindex"),
        ("customers_membership", "group_id", "membership_group"),
        ("customers_consentrecord", "customer_id", "consent_history"),
        ("customers_customer_tags", "customer_id", "customer_id_tag_id_8e9b6d31_uniq"),
    ],
)
def test_foreign_keys_without_an_index_of_their_own_are_looked_up_through_a_wider_one(
    table, column, index
):
    """Migrations customers 0011 and 0012 and core 0004 dropped the keys' own indexes: the
    lookups a deleted group, title or customer makes still go through an index, never the
    whole table."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f'EXPLAIN QUERY PLAN SELECT id FROM "{table}" WHERE "{column}" = 1')
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: the index anyway
            cursor.execute(f'EXPLAIN SELECT id FROM "{table}" WHERE "{column}" = 1')
            plan = " ".join(row[0] for row in cursor.fetchall())
        names = connection.introspection.get_constraints(cursor, table)
    assert any(name in plan for name in index.split("|")), plan
    own = [name for name, info in names.items() if info["index"] and info["columns"] == [column]]
    assert own == []
