r"""The customer page at scale: a customer with 10,000 orders, in the dataset COMPTOIR_HOME (or
DATABASE_URL) points at, through Django's test client (request in, HTML out), 30 runs after a
warm-up.

The heavy customer is made once and found again on later runs (external id
``bench-detail-<orders>``): created through the customer services, then its orders, lines,
carts, visits and timeline events written through the bulk path (``core.bulk``), its stored
figures computed from them, as ``order_record`` and ``visit_record`` would have moved them
(then, on PostgreSQL, those tables vacuumed and analysed, as autovacuum would).

    COMPTOIR_HOME=/tmp/comptoir-bench .venv/bin/python bench/detail_page.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/comptoir_bench \
        .venv/bin/python bench/detail_page.py

Prints a Markdown table; --out appends it to a file. Run the dataset's migrations first: the
page needs the indexes of orders/0002_detail_indexes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from decimal import Decimal
from random import Random

from common import django_setup, machine, measure, table

BENCH_EMAIL = "bench.detail.{orders}@example.com"
EXTERNAL_ID = "bench-detail-{orders}"
YEARS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--out", help="append the table to this Markdown file")
    args = parser.parse_args()
    django_setup()

    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client

    from comptoir.customers.models import Customer

    users = get_user_model()
    staff, _created = users.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    heavy = heavy_customer(orders=args.orders, staff=staff)
    typical = (
        Customer.objects.filter(orders_count__gte=3, external_id__startswith="demo-")
        .order_by("id")
        .first()
    )
    client = Client()
    client.force_login(staff)

    def get(url: str, **headers) -> None:
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    page = f"/customers/{heavy.pk}/"
    last_page = max(1, -(-heavy.orders_count // 10))
    htmx = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}"}

    def cold(i: int) -> None:
        # As after any change anywhere: the cached sales rank is gone.
        cache.clear()
        get(page)

    rows = []
    label = f"customer page, {heavy.orders_count + heavy.invalid_orders_count:,} orders"
    rows.append((label, measure("heavy", lambda i: get(page), repeat=args.repeat), None, 30))
    rows.append((f"{label}, cold cache", measure("cold", cold, repeat=args.repeat), None, None))
    rows.append(
        (
            f"same, every block on its last page (valid orders: page {last_page:,})",
            measure(
                "deep",
                lambda i: get(page + "?" + deep_pages(heavy, last_page)),
                repeat=args.repeat,
            ),
            None,
            30,
        )
    )
    rows.append(
        (
            "valid orders block alone (htmx), last page",
            measure(
                "block",
                lambda i: get(f"{page}blocks/orders/?orders_page={last_page}", **htmx),
                repeat=args.repeat,
            ),
            None,
            None,
        )
    )
    rows.append(
        (
            "purchased products block alone (htmx)",
            measure(
                "products",
                lambda i: get(f"{page}blocks/products/", **htmx),
                repeat=args.repeat,
            ),
            None,
            None,
        )
    )
    if typical is not None:
        rows.append(
            (
                f"customer page, a typical customer ({typical.orders_count} orders)",
                measure("typical", lambda i: get(f"/customers/{typical.pk}/"), repeat=args.repeat),
                None,
                30,
            )
        )

    output = f"{machine()}\n\n{table(rows)}\n"
    print(output)
    if args.out:
        with open(args.out, "a") as handle:
            handle.write(output + "\n")


def deep_pages(customer, orders_last_page: int) -> str:
    """A query string putting the blocks that can be long on a far page."""
    return "&".join(
        [
            f"orders_page={orders_last_page}",
            f"invalid_orders_page={max(1, -(-customer.invalid_orders_count // 10))}",
            "carts_page=999999",
            "visits_page=999999",
            "timeline_page=999999",
        ]
    )


def heavy_customer(*, orders: int, staff):
    """The customer with ``orders`` orders, made on the first run and found on later ones."""
    from comptoir.customers.models import Customer

    existing = Customer.objects.filter(external_id=EXTERNAL_ID.format(orders=orders)).first()
    if existing is not None:
        return existing
    started = time.perf_counter()
    customer = _heavy_customer_make(orders=orders, staff=staff)
    _tables_vacuum()
    print(
        f"Made customer #{customer.pk} with {orders:,} orders "
        f"in {time.perf_counter() - started:.1f} s."
    )
    return customer


def _heavy_customer_make(*, orders: int, staff):
    from django.db import transaction
    from django.utils import timezone

    from comptoir.core.actors import Actor
    from comptoir.core.bulk import bulk_insert, epoch_formatter, next_id, sequence_reset
    from comptoir.core.models import Event
    from comptoir.customers.demo import (
        CART_COLUMNS,
        EVENT_COLUMNS,
        LINE_COLUMNS,
        ORDER_COLUMNS,
        PRODUCTS,
        VISIT_COLUMNS,
        order_reference,
    )
    from comptoir.customers.models import Customer, OptInLevel
    from comptoir.customers.services import (
        address_create,
        customer_consent_set,
        customer_create,
        customer_note_set,
    )
    from comptoir.groups.models import Group
    from comptoir.orders.models import VALID_STATUSES, Cart, Order, OrderLine, Visit, Voucher
    from comptoir.support.models import Message, Thread

    rng = Random(5)
    actor = Actor.staff(staff, ip_address="192.0.2.50")
    stamp = epoch_formatter()
    now = int(timezone.now().timestamp())
    start = now - YEARS * 365 * 86_400
    with transaction.atomic():
        customer = customer_create(
            actor=actor,
            first_name="Gabrielle",
            last_name="Grossiste",
            email=BENCH_EMAIL.format(orders=orders),
            company="Grossiste & Fils",
            external_id=EXTERNAL_ID.format(orders=orders),
            groups=list(Group.objects.all()[:3]),
            consents={"newsletter": True, "partner_offers": True},
            opt_in_level=OptInLevel.CONFIRMED,
            tags=["Revendeur", "Fidèle", "Salon Lyon 2024"],
        )
        Customer.objects.filter(pk=customer.pk).update(
            created_at=datetime.datetime.fromtimestamp(start, tz=datetime.UTC)
        )
        for city, postcode in (("Lyon", "69002"), ("Paris", "75011"), ("Nantes", "44000")):
            address_create(
                customer=customer,
                actor=actor,
                first_name="Gabrielle",
                last_name="Grossiste",
                company="Grossiste & Fils",
                address1="12 rue de la République",
                postcode=postcode,
                city=city,
                country="FR",
            )
        customer_consent_set(
            customer=customer, channel="partner_offers", granted=False, actor=actor
        )
        customer_note_set(customer=customer, note="Revendeur : facture mensuelle.", actor=actor)

        first_order_id = next_id(Order)
        order_rows, line_rows, cart_rows, event_rows = [], [], [], []
        statuses = [*sorted(VALID_STATUSES), "cancelled", "refunded", "payment_error"]
        times = sorted(start + int((now - start) * rng.random()) for _ in range(orders))
        for offset, at in enumerate(times):
            order_id = first_order_id + offset
            status = statuses[0] if rng.random() < 0.86 else statuses[rng.randrange(3, 6)]
            total = 0
            for _ in range(1 + int(rng.random() * 2.2)):
                reference, name, price = PRODUCTS[int(len(PRODUCTS) * rng.random() ** 1.3)]
                quantity = 1 + int(rng.random() * 1.3)
                line_rows.append(
                    (order_id, reference, name, quantity, _cents(price), _cents(price * quantity))
                )
                total += price * quantity
            reference = order_reference(order_id)
            valid = status in VALID_STATUSES
            order_rows.append(
                (order_id, reference, customer.pk, "Gabrielle", "Grossiste", customer.email,
                 stamp(at), status, valid, _cents(total), "0.00", "0.00", _cents(total), "EUR",
                 "Virement")
            )  # fmt: skip
            data = {"order": order_id, "reference": reference, "total": _cents(total),
                    "status": status, "valid": valid}  # fmt: skip
            event_rows.append(
                (stamp(at), "order_recorded", "storefront", "customer", customer.pk,
                 json.dumps(data), customer.pk)
            )  # fmt: skip
            if rng.random() < 0.1:
                cart_rows.append(
                    (customer.pk, "converted", order_id, 2, _cents(total), "EUR",
                     stamp(at - 600), stamp(at))
                )  # fmt: skip
        for _ in range(orders // 20):
            at = start + int((now - start) * rng.random())
            cart_rows.append(
                (customer.pk, "abandoned", None, 1, "24.90", "EUR", stamp(at), stamp(at + 60))
            )
        visits = sorted(start + int((now - start) * rng.random()) for _ in range(orders // 2))
        visit_rows = [
            (
                customer.pk,
                stamp(at),
                f"198.51.100.{rng.randrange(1, 255)}",
                "https://www.qwant.com/",
            )
            for at in visits
        ]
        bulk_insert(Order._meta.db_table, ORDER_COLUMNS, order_rows)
        bulk_insert(OrderLine._meta.db_table, LINE_COLUMNS, line_rows)
        bulk_insert(Cart._meta.db_table, CART_COLUMNS, cart_rows)
        bulk_insert(Visit._meta.db_table, VISIT_COLUMNS, visit_rows)
        bulk_insert(Event._meta.db_table, EVENT_COLUMNS, event_rows)
        sequence_reset(Order)
        Voucher.objects.bulk_create(
            Voucher(
                customer=customer,
                code=f"BENCH{orders}-{n}",
                name=f"Fidélité {n}",
                amount=Decimal("10.00"),
                is_used=n % 3 == 0,
            )
            for n in range(15)
        )
        for n in range(12):
            thread = Thread.objects.create(
                customer=customer, email=customer.email, subject=f"Commande en retard {n}"
            )
            Message.objects.bulk_create(
                Message(thread=thread, from_customer=m % 2 == 0, body="Bonjour, où en est-elle ?")
                for m in range(4)
            )
        _figures_store(customer, valid_statuses=VALID_STATUSES)
    return Customer.objects.get(pk=customer.pk)


def _tables_vacuum() -> None:
    """PostgreSQL: VACUUM ANALYZE the tables just written, as autovacuum soon would on a live
    shop, so index-only scans need no heap visits and the planner knows the new rows. The
    benchmark measures the steady state, not the minutes after a bulk load."""
    from django.db import connection

    from comptoir.core.models import Event
    from comptoir.orders.models import Cart, Order, OrderLine, Visit

    if connection.vendor != "postgresql":
        return
    models = (Order, OrderLine, Cart, Visit, Event)
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")


def _figures_store(customer, *, valid_statuses) -> None:
    """The stored figures, from the rows just written (what the order and visit services
    would have moved one order and one visit at a time)."""
    from django.db.models import Count, Max, Min, Q, Sum

    from comptoir.customers.models import Customer
    from comptoir.orders.models import Order, Visit

    figures = Order.objects.filter(customer=customer).aggregate(
        orders_count=Count("id", filter=Q(is_valid=True)),
        invalid_orders_count=Count("id", filter=Q(is_valid=False)),
        total_spent=Sum("total", filter=Q(is_valid=True)),
        first_order_at=Min("created_at"),
        last_order_at=Max("created_at"),
    )
    last_visit = Visit.objects.filter(customer=customer).aggregate(at=Max("created_at"))["at"]
    Customer.objects.filter(pk=customer.pk).update(**figures, last_visit_at=last_visit)


def _cents(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


if __name__ == "__main__":
    main()
