"""The demo data: the basics (groups, John Doe) through the services, the generated customers
through the bulk path, and that both leave the database as the services would have."""

import datetime
import io
import re
from decimal import Decimal

import phonenumbers
import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, IntegerField, Max, Min, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from comptoir.core.models import Event
from comptoir.core.normalise import phone_to_e164
from comptoir.core.search import search_filter
from comptoir.customers.demo import (
    CITIES,
    DEMO_EMAIL,
    FR_PHONE_BLOCKS,
    GB_PHONE_BLOCKS,
    DemoContext,
    DemoGenerator,
    demo_customers_generate,
    order_reference,
)
from comptoir.customers.models import (
    Address,
    Channel,
    ConsentRecord,
    Customer,
    Membership,
    OptInLevel,
    Tag,
)
from comptoir.customers.search import search_text_build
from comptoir.groups.models import Group
from comptoir.orders.models import Cart, CartStatus, Order, OrderLine, OrderStatus, Visit
from comptoir.orders.services import CENT

pytestmark = pytest.mark.django_db

GENERATED = {"external_id__startswith": "demo-"}
# The first generated customers, whatever the database and whenever they are generated.
FIRST_CUSTOMERS = [
    ("demo-1", "Eugénie", "Gautier", "eugenie.gautier.1@example.com"),
    ("demo-2", "Quentin", "Fournier", "quentin.fournier.2@example.net"),
    ("demo-3", "Pauline", "Boulanger", "pauline.boulanger.3@example.com"),
]


def _counts() -> dict[str, int]:
    models = (
        Customer, Address, Membership, ConsentRecord, Tag, Customer.tags.through, Group, Order,
        OrderLine, Cart, Visit, Event,
    )  # fmt: skip
    return {model._meta.db_table: model.objects.count() for model in models}


def _demo(**options) -> str:
    out = io.StringIO()
    call_command("demo", stdout=out, stderr=io.StringIO(), verbosity=0, **options)
    return out.getvalue()


def _generated(fields=("external_id", "first_name", "last_name", "email")) -> list[tuple]:
    return list(Customer.objects.filter(**GENERATED).order_by("id").values_list(*fields))


def test_demo_basics_then_nothing_more_on_a_second_run():
    first = _demo()
    counts = _counts()

    second = _demo()

    assert _counts() == counts
    assert "already there" in second
    assert "already there" not in first
    password = re.search(rf"{re.escape(DEMO_EMAIL)} / (\S+)", first).group(1)
    assert len(password) >= 16
    assert password not in second

    john = Customer.objects.get(email_key=DEMO_EMAIL)
    assert (john.first_name, john.last_name, john.is_demo, john.is_guest) == (
        "John",
        "Doe",
        True,
        False,
    )
    assert john.password.startswith("argon2")
    assert check_password(password, john.password)
    assert john.phone == "+33199001234"
    address = john.addresses.get()
    assert (address.city, address.postcode, address.country.code) == ("Paris", "75002", "FR")
    assert address.is_default_billing and address.is_default_shipping
    order = john.orders.get()
    assert order.status == OrderStatus.PAID and order.is_valid
    assert order.lines.count() == 2
    assert order.lines.filter(product_name="T-shirt imprimé colibri").exists()
    assert order.total_products == Decimal("50.70")
    assert john.carts.get(status=CartStatus.CONVERTED).order == order
    assert john.carts.filter(status=CartStatus.ABANDONED).count() == 1
    assert (john.orders_count, john.total_spent) == (1, order.total)
    assert john.first_order_at == john.last_order_at == order.created_at
    assert john.last_visit_at == john.visits.get().created_at
    assert john.newsletter is True
    assert john.consents.get().opt_in_level == OptInLevel.CONFIRMED
    kinds = set(Event.objects.filter(customer_id=john.pk).values_list("kind", flat=True))
    assert {"customer_created", "address_added", "order_recorded"} <= kinds
    assert set(Event.objects.filter(customer_id=john.pk).values_list("source", flat=True)) == {
        "demo"
    }

    assert Group.objects.filter(is_default=True).count() == 1
    discounts = dict(Group.objects.values_list("name_fr", "discount"))
    assert discounts["Professionnels"] == Decimal("10.00")
    assert discounts["VIP"] == Decimal("5.00")
    assert Group.objects.count() == 3


def test_generated_customers_are_created_once():
    _demo(customers=200)
    counts = _counts()

    again = _demo(customers=200)

    assert Customer.objects.filter(**GENERATED).count() == 200
    assert _counts() == counts
    assert "1..200: already there" in again
    assert Event.objects.filter(kind="customer_created", source="demo").count() == 201


def test_generated_customers_are_the_same_everywhere_and_always():
    _demo(customers=200)

    assert _generated()[:3] == FIRST_CUSTOMERS
    # The same customers, generated apart from the database, in other ranges of k.
    context = DemoContext.load()
    pure = DemoGenerator(context).rows(1, 200, 1, 1).customers
    pieces = [DemoGenerator(context).rows(a, b, 1, 1).customers for a, b in ((1, 99), (100, 200))]
    late_start = DemoGenerator(context).rows(150, 200, 1, 1).customers
    names = [(row[18], row[2], row[3], row[4]) for row in pure]
    assert names == _generated()
    assert [row[1:] for row in pieces[0] + pieces[1]] == [row[1:] for row in pure]
    assert [row[1:] for row in late_start] == [row[1:] for row in pure[149:]]


def test_a_larger_count_adds_only_the_missing_customers():
    _demo(customers=100)
    before = _generated(("id", "external_id", "email"))

    output = _demo(customers=150)

    after = _generated(("id", "external_id", "email"))
    assert len(after) == 150
    assert after[:100] == before
    assert [row[1] for row in after] == [f"demo-{k}" for k in range(1, 151)]
    assert "Generated customers 101..150: 50 customers" in output
    assert _generated()[:3] == FIRST_CUSTOMERS


def test_stored_figures_equal_the_orders_and_visits():
    _demo(customers=200)

    def per_customer(queryset, **aggregate):
        return Subquery(
            queryset.filter(customer=OuterRef("pk"))
            .values("customer")
            .annotate(**aggregate)
            .values(*aggregate)
        )

    money = DecimalField(max_digits=14, decimal_places=2)
    valid, invalid = Order.objects.filter(is_valid=True), Order.objects.filter(is_valid=False)
    orders, visits = Order.objects.all(), Visit.objects.all()
    rows = Customer.objects.filter(**GENERATED).annotate(
        valid_count=Coalesce(per_customer(valid, n=Count("id")), 0, output_field=IntegerField()),
        invalid_count=Coalesce(
            per_customer(invalid, n=Count("id")), 0, output_field=IntegerField()
        ),
        valid_total=Coalesce(per_customer(valid, s=Sum("total")), Decimal(0), output_field=money),
        first_at=per_customer(orders, m=Min("created_at")),
        last_at=per_customer(orders, m=Max("created_at")),
        visit_at=per_customer(visits, m=Max("created_at")),
    )
    checked = 0
    for customer in rows:
        assert customer.orders_count == customer.valid_count, customer.external_id
        assert customer.invalid_orders_count == customer.invalid_count, customer.external_id
        assert customer.total_spent == customer.valid_total.quantize(CENT), customer.external_id
        assert customer.first_order_at == customer.first_at, customer.external_id
        assert customer.last_order_at == customer.last_at, customer.external_id
        assert customer.last_visit_at == customer.visit_at, customer.external_id
        checked += 1
    assert checked == 200
    # A realistic spread: most customers ordered, about 2.5 orders each, some invalid ones.
    customers = Customer.objects.filter(**GENERATED)
    ordered = customers.exclude(orders_count=0, invalid_orders_count=0).count()
    assert 120 <= ordered <= 180
    assert 350 <= Order.objects.filter(customer__in=customers).count() <= 650
    assert Order.objects.filter(customer__in=customers, is_valid=False).exists()
    assert customers.filter(last_visit_at__isnull=True).exists()


def test_orders_apply_the_default_group_discount_and_add_up():
    _demo(customers=200)
    orders = Order.objects.filter(customer__external_id__startswith="demo-").select_related(
        "customer__default_group"
    )
    line_sums = dict(
        OrderLine.objects.filter(order__in=orders)
        .values("order")
        .annotate(total=Sum("total"))
        .values_list("order", "total")
    )
    discounted = 0
    for order in orders:
        customer = order.customer
        assert order.discount_percent == customer.default_group.discount
        expected = (order.total_products * order.discount_percent / 100).quantize(CENT)
        assert abs(order.discount_amount - expected) <= CENT
        assert order.total == order.total_products - order.discount_amount
        assert Decimal(line_sums[order.pk]).quantize(CENT) == order.total_products
        assert order.is_valid == (order.status in ("paid", "shipped", "delivered"))
        assert (order.customer_first_name, order.customer_last_name, order.customer_email) == (
            customer.first_name,
            customer.last_name,
            customer.email,
        )
        assert order.reference == order_reference(order.pk)
        assert customer.created_at <= order.created_at
        discounted += order.discount_percent > 0
    assert discounted > 0
    for cart in Cart.objects.filter(customer__external_id__startswith="demo-", order__isnull=False):
        assert cart.status == CartStatus.CONVERTED
        assert cart.customer_id == cart.order.customer_id
        assert cart.total == cart.order.total


def test_emails_are_unique_and_their_keys_lower_case():
    _demo(customers=200)
    customers = Customer.objects.filter(**GENERATED)

    assert not customers.values("email_key").annotate(n=Count("id")).filter(n__gt=1).exists()
    pairs = list(customers.values_list("email", "email_key"))
    for email, key in pairs:
        assert key == email.lower()
        assert key.rsplit("@", 1)[1] in {"example.com", "example.org", "example.net"}
    assert any(email != key for email, key in pairs)  # some typed with capitals


def test_search_text_is_what_the_services_would_store():
    _demo(customers=200)
    customers = Customer.objects.filter(**GENERATED).order_by("id")

    with_places = 0
    for customer in customers:
        places = list(customer.addresses.order_by("id").values_list("city", "postcode"))
        with_places += bool(places)
        assert customer.search_text == search_text_build(
            first_name=customer.first_name,
            last_name=customer.last_name,
            email=customer.email,
            phone=customer.phone,
            mobile=customer.mobile,
            company=customer.company,
            places=places,
        ), customer.external_id
    assert with_places > 150
    assert customers.exclude(phone="").count() > 60
    assert customers.exclude(company="").exists()


def test_phones_are_valid_and_typed_as_people_type_them():
    _demo(customers=200)
    customers = Customer.objects.filter(**GENERATED).exclude(phone="")

    for customer in customers:
        number = phonenumbers.parse(customer.phone)
        assert phonenumbers.is_valid_number(number), customer.phone
        region = phonenumbers.region_code_for_number(number)
        assert phone_to_e164(customer.phone_input, region) == customer.phone
    assert customers.filter(phone_input__contains=" ").exists()


def test_every_phone_range_used_is_valid():
    for digits, national, international in FR_PHONE_BLOCKS.values():
        for tail in ("0000", "5050", "9999"):
            number = phonenumbers.parse(f"+33{digits}{tail}")
            assert phonenumbers.is_valid_number(number), number
            assert phone_to_e164(f"{national}{tail[:2]} {tail[2:]}", "FR") == f"+33{digits}{tail}"
            assert phone_to_e164(f"{international}{tail[:2]} {tail[2:]}") == f"+33{digits}{tail}"
    for digits, national, international in GB_PHONE_BLOCKS.values():
        for tail in ("000", "505", "999"):
            assert phonenumbers.is_valid_number(phonenumbers.parse(f"+44{digits}{tail}"))
            assert phone_to_e164(f"{national}{tail}", "GB") == f"+44{digits}{tail}"
            assert phone_to_e164(f"{international}{tail}") == f"+44{digits}{tail}"
    for country in ("US", "CA"):
        for city in CITIES[country]:
            for tail in ("00", "99"):
                number = f"+1{city[3]}55501{tail}"
                assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
                assert phone_to_e164(f"({city[3]}) 555-01{tail}", country) == number
    for country, cities in CITIES.items():
        for city in cities:
            if country in ("FR", "GB"):
                assert city[3] in (FR_PHONE_BLOCKS if country == "FR" else GB_PHONE_BLOCKS)


def test_rows_read_back_as_django_types():
    _demo(customers=50)
    customer = Customer.objects.filter(**GENERATED).exclude(birthday=None).first()

    assert customer.created_at.tzinfo is not None
    assert customer.created_at <= datetime.datetime.now(datetime.UTC)
    assert isinstance(customer.birthday, datetime.date)
    assert isinstance(customer.total_spent, Decimal)
    assert customer.social_accounts == {} or "instagram" in customer.social_accounts
    event = Event.objects.get(customer_id=customer.pk, kind="customer_created")
    assert event.created_at == customer.created_at
    assert event.data == {
        "guest": customer.is_guest,
        "email": customer.email,
        "name": f"{customer.first_name} {customer.last_name}",
    }
    assert (event.source, event.object_type, event.object_id) == ("demo", "customer", customer.pk)


def test_consent_state_is_the_latest_history_row():
    _demo(customers=200)
    customers = Customer.objects.filter(**GENERATED)
    latest = {}
    for record in ConsentRecord.objects.filter(customer__in=customers).order_by("created_at", "id"):
        latest[record.customer_id, record.channel] = record

    for customer in customers:
        for channel in Channel.values:
            record = latest.get((customer.pk, channel))
            if record is None:
                assert getattr(customer, channel) is False
                assert getattr(customer, f"{channel}_at") is None
            else:
                assert getattr(customer, channel) is record.granted
                assert getattr(customer, f"{channel}_at") == record.created_at
                assert record.source == "demo"
    assert customers.filter(newsletter=True).count() > 30
    assert ConsentRecord.objects.filter(customer__in=customers, granted=False).exists()


def test_groups_memberships_and_account_states():
    _demo(customers=200)
    default = Group.objects.get(is_default=True)
    customers = Customer.objects.filter(**GENERATED)

    in_default = Membership.objects.filter(customer__in=customers, group=default).count()
    assert in_default == 200
    assert not customers.exclude(memberships__group=Subquery(
        Customer.objects.filter(pk=OuterRef("pk")).values("default_group")
    )).exists()  # fmt: skip
    assert customers.exclude(default_group=default).exists()
    assert customers.filter(is_guest=True, orders_count=0, invalid_orders_count=0).count() == 0
    assert not customers.filter(is_blocked=True, blocked_reason="").exists()
    assert Customer.tags.through.objects.filter(customer__in=customers).exists()
    for customer in customers.exclude(tags=None):
        names = sorted(customer.tags.values_list("name", flat=True), key=str.lower)
        if hasattr(customer, "tags_text"):
            assert customer.tags_text == ", ".join(names)
    for customer in customers.prefetch_related("addresses"):
        billing = [a for a in customer.addresses.all() if a.is_default_billing]
        if hasattr(customer, "country"):
            assert customer.country == (billing[0].country if billing else "")
        assert len(billing) == (1 if customer.addresses.all() else 0)


def test_a_large_load_path_writes_the_same_customers():
    """The path a million-customer load takes (rows made in a child process, indexes and
    foreign keys put back at the end) gives the same customers and a sound database."""
    _demo()
    load = demo_customers_generate(count=120, chunk_size=25, parallel=True, defer_indexes=True)

    assert load.created == 120
    assert load.rows["customers_customer"] == 120
    assert _generated()[:3] == FIRST_CUSTOMERS
    context = DemoContext.load()
    pure = DemoGenerator(context).rows(1, 120, 1, 1).customers
    assert _generated() == [(row[18], row[2], row[3], row[4]) for row in pure]
    assert not Customer.objects.values("email_key").annotate(n=Count("id")).filter(n__gt=1)
    # The unique index is back: a second registered customer with the same e-mail is refused.
    taken = Customer.objects.get(external_id="demo-7")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(
            first_name="Copy",
            last_name="Cat",
            email=taken.email,
            email_key=taken.email_key,
            default_group=taken.default_group,
        )
    # The search index has the new rows (on SQLite its trigger ran once, over all of them).
    found = search_filter(Customer.objects.all(), taken.last_name).filter(pk=taken.pk)
    assert found.exists()
    again = demo_customers_generate(count=120, parallel=True, defer_indexes=True)
    assert again.created == 0
