"""The "my account" calls: profile with group and discount, addresses, orders, consents,
personal data, erasure."""

import datetime
import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.customers.models import Address, ConsentRecord, Customer, Title
from comptoir.customers.services import (
    customer_block,
    customer_default_group_set,
    customer_groups_add,
)
from comptoir.groups.models import Group
from comptoir.orders.models import Order
from comptoir.orders.services import LineInput, order_record
from comptoir.storefront.models import CustomerSession, LoginFailure
from tests.storefront.conftest import PASSWORD, field_errors, problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(registered):
    return registered(email="nina@example.com", first_name="Nina", last_name="Roux")


@pytest.fixture
def token(api, customer):
    return api.login(customer.email)


# --- /me ------------------------------------------------------------------------------------


def test_me_shows_the_profile_groups_and_discount(
    api, customer, token, vip_group, default_group, actor
):
    customer_default_group_set(customer=customer, group=vip_group, actor=actor)
    body = api.get("/me", token=token).json()
    assert (body["id"], body["email"], body["first_name"]) == (
        customer.pk,
        "nina@example.com",
        "Nina",
    )
    assert body["default_group"] == {
        "id": vip_group.pk,
        "name": "VIP",
        "discount": "10.00",
        "price_display": "tax_incl",
        "show_prices": True,
        "css_class": "",
    }
    assert [g["id"] for g in body["groups"]] == [default_group.pk, vip_group.pk]
    assert body["consents"]["newsletter"] == {"granted": False, "changed_at": None}
    assert body["can_order"] is True and body["orders_count"] == 0
    assert "password" not in body and "argon2" not in json.dumps(body)


def test_me_group_name_in_french(api, token, customer, actor):
    group = Group.objects.create(name_fr="Revendeurs", name_en="Resellers", discount=15)
    customer_default_group_set(customer=customer, group=group, actor=actor)
    assert api.get("/me", token=token, lang="fr").json()["default_group"]["name"] == "Revendeurs"
    assert api.get("/me", token=token, lang="en").json()["default_group"]["name"] == "Resellers"


def test_me_runs_a_fixed_number_of_queries(
    api, token, customer, vip_group, actor, django_assert_num_queries
):
    customer_groups_add(customer=customer, groups=[vip_group], actor=actor)
    # The session with its customer, title and default group; the groups.
    with django_assert_num_queries(2):
        assert api.get("/me", token=token).status_code == 200


def test_patch_me_changes_the_profile(api, token, customer):
    title = Title.objects.create(name_fr="Mme", name_en="Ms", gender="female")
    response = api.patch(
        "/me",
        {
            "first_name": " Nina  Louise ",
            "phone": "06 12 34 56 78",
            "birthday": "1990-04-01",
            "language": "en",
            "title_id": title.pk,
        },
        token=token,
        headers={"X-Customer-IP": "198.51.100.77"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["first_name"] == "Nina Louise" and body["phone"] == "+33612345678"
    assert body["title"] == {"id": title.pk, "name": "Ms"}
    customer.refresh_from_db()
    assert (customer.birthday, customer.language, customer.last_name) == (
        datetime.date(1990, 4, 1),
        "en",
        "Roux",
    )
    event = Event.objects.get(customer_id=customer.pk, kind="customer_updated")
    assert (event.source, event.ip_address) == ("storefront", "198.51.100.77")
    assert set(event.data["changes"]) >= {"first_name", "phone", "birthday", "language", "title"}
    # Clearing: null or "" empties an optional field.
    body = api.patch("/me", {"phone": None, "title_id": None}, token=token).json()
    assert body["phone"] == "" and body["title"] is None


@pytest.mark.parametrize(
    ("body", "slug", "field", "code"),
    [
        ({"email": "new@example.com"}, "invalid-request", "email", "extra_forbidden"),
        ({"first_name": ""}, "validation", "first_name", "required"),
        ({"first_name": None}, "invalid-request", "first_name", "string_type"),
        ({"phone": "123"}, "validation", "phone", "invalid_phone"),
        ({"birthday": "2999-01-01"}, "validation", "birthday", "future"),
        ({"birthday": "yesterday"}, "invalid-request", "birthday", "date_from_datetime_parsing"),
        ({"language": "de"}, "invalid-request", "language", "literal_error"),
        ({"title_id": 999999}, "validation", "title_id", "invalid"),
        ({"website": "not a url"}, "validation", "website", "invalid_url"),
        ({"first_name": "x" * 300}, "invalid-request", "first_name", "string_too_long"),
    ],
)
def test_patch_me_errors(api, token, customer, body, slug, field, code):
    response = api.patch("/me", body, token=token)
    errors = field_errors(problem(response, 400, slug))
    assert code in errors.get(field, []), errors
    customer.refresh_from_db()
    assert customer.first_name == "Nina" and customer.email == "nina@example.com"


# --- addresses ------------------------------------------------------------------------------

ADDRESS = {
    "first_name": "Nina",
    "last_name": "Roux",
    "address1": "12 quai Saint-Antoine",
    "postcode": "69002",
    "city": "Lyon",
    "country": "FR",
}


def test_addresses_add_list_change_remove(api, token, customer):
    first = api.post("/me/addresses", ADDRESS, token=token)
    assert first.status_code == 201, first.content
    first = first.json()
    assert first["is_default_shipping"] and first["is_default_billing"]  # the first one
    second = api.post(
        "/me/addresses",
        {**ADDRESS, "alias": "Work", "city": "Paris", "postcode": "75002", "default_billing": True},
        token=token,
    ).json()
    listed = api.get("/me/addresses", token=token).json()
    assert [(a["id"], a["is_default_billing"]) for a in listed] == [
        (first["id"], False),
        (second["id"], True),
    ]
    customer.refresh_from_db()
    assert customer.country.code == "FR"

    changed = api.patch(
        f"/me/addresses/{second['id']}",
        {"city": "Marseille", "default_shipping": True},
        token=token,
    ).json()
    assert changed["city"] == "Marseille" and changed["is_default_shipping"]
    assert (
        api.get(f"/me/addresses/{first['id']}", token=token).json()["is_default_shipping"] is False
    )

    assert api.delete(f"/me/addresses/{second['id']}", token=token).status_code == 204
    remaining = api.get("/me/addresses", token=token).json()
    # The remaining address takes over both defaults.
    assert [(a["id"], a["is_default_shipping"], a["is_default_billing"]) for a in remaining] == [
        (first["id"], True, True)
    ]
    kinds = set(Event.objects.filter(customer_id=customer.pk).values_list("kind", flat=True))
    assert {"address_added", "address_changed", "address_removed"} <= kinds


def test_another_customers_address_is_a_404(api, token, registered, shop_actor):
    from comptoir.customers.services import address_create

    other = registered(email="other@example.com")
    address = address_create(customer=other, actor=shop_actor, **ADDRESS)
    for method, body in (("get", None), ("patch", {"city": "X"}), ("delete", None)):
        problem(
            api.call(method, f"/me/addresses/{address.pk}", body, token=token), 404, "not-found"
        )
    assert Address.objects.get(pk=address.pk).city == "Lyon"


@pytest.mark.parametrize(
    ("body", "slug", "field", "code"),
    [
        ({**ADDRESS, "country": "ZZ"}, "validation", "country", "invalid_choice"),
        ({**ADDRESS, "city": ""}, "validation", "city", "required"),
        ({**ADDRESS, "phone": "12"}, "validation", "phone", "invalid_phone"),
        (
            {k: v for k, v in ADDRESS.items() if k != "address1"},
            "invalid-request",
            "address1",
            "missing",
        ),
        ({**ADDRESS, "postcode": "x" * 20}, "invalid-request", "postcode", "string_too_long"),
        ({**ADDRESS, "customer_id": 1}, "invalid-request", "customer_id", "extra_forbidden"),
    ],
)
def test_address_errors(api, token, body, slug, field, code):
    errors = field_errors(problem(api.post("/me/addresses", body, token=token), 400, slug))
    assert code in errors.get(field, []), errors
    assert not Address.objects.exists()


def test_huge_address_id_is_a_400_not_a_crash(api, token):
    problem(api.get("/me/addresses/99999999999999999999", token=token), 400, "invalid-request")


# --- orders ---------------------------------------------------------------------------------


def place(customer, total, at):
    return order_record(
        actor=Actor.storefront(),
        email=customer.email,
        first_name="N",
        last_name="R",
        lines=[LineInput("Item", 1, Decimal(total)), LineInput("Extra", 2, Decimal("1.00"))],
        created_at=at,
    )


def test_my_orders_newest_first_with_cursor(
    api, token, customer, registered, django_assert_num_queries
):
    now = timezone.now()
    orders = [place(customer, f"{10 + i}.00", now - datetime.timedelta(days=i)) for i in range(5)]
    place(registered(email="else@example.com"), "99.00", now)  # not theirs
    with django_assert_num_queries(3):  # session, orders, lines
        page = api.get("/me/orders?limit=2", token=token).json()
    assert [o["reference"] for o in page["items"]] == [orders[0].reference, orders[1].reference]
    assert page["items"][0]["total"] == "12.00" and len(page["items"][0]["lines"]) == 2
    assert page["items"][0]["lines"][1] == {
        "reference": "",
        "product_name": "Extra",
        "quantity": 2,
        "unit_price": "1.00",
        "total": "2.00",
    }
    seen = [o["reference"] for o in page["items"]]
    while page["next_cursor"]:
        page = api.get(f"/me/orders?limit=2&cursor={page['next_cursor']}", token=token).json()
        seen += [o["reference"] for o in page["items"]]
    assert seen == [o.reference for o in orders]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "cursor=%25%25", "cursor=bm9wZQ"])
def test_my_orders_bad_paging_is_a_400(api, token, query):
    assert api.get(f"/me/orders?{query}", token=token).status_code == 400


# --- consents -------------------------------------------------------------------------------


def test_consents_change_writes_history_with_the_customer_as_source(api, token, customer):
    response = api.put(
        "/me/consents/newsletter",
        {"granted": True},
        token=token,
        headers={"X-Customer-IP": "198.51.100.3"},
    )
    body = response.json()
    assert (body["channel"], body["granted"], body["changed"]) == ("newsletter", True, True)
    record = ConsentRecord.objects.get(customer=customer)
    assert (record.source, record.ip_address, record.actor_id, record.opt_in_level) == (
        "storefront",
        "198.51.100.3",
        None,
        "single",
    )
    # The same again changes nothing and writes no row.
    again = api.put("/me/consents/newsletter", {"granted": True}, token=token).json()
    assert again["changed"] is False and ConsentRecord.objects.count() == 1
    api.put("/me/consents/newsletter", {"granted": False}, token=token)
    listed = api.get("/me/consents", token=token).json()
    assert listed["current"]["newsletter"]["granted"] is False
    assert [(h["channel"], h["granted"], h["source"]) for h in listed["history"]] == [
        ("newsletter", False, "storefront"),
        ("newsletter", True, "storefront"),
    ]


def test_unknown_consent_channel_and_bad_body(api, token):
    body = problem(api.put("/me/consents/fax", {"granted": True}, token=token), 400, "validation")
    assert field_errors(body) == {"channel": ["invalid_channel"]}
    problem(
        api.put("/me/consents/sms", {"granted": "perhaps"}, token=token), 400, "invalid-request"
    )
    problem(api.put("/me/consents/sms", {}, token=token), 400, "invalid-request")
    assert not ConsentRecord.objects.exists()


# --- personal data --------------------------------------------------------------------------


def test_personal_data_is_a_zip_without_secrets(api, token, customer):
    response = api.post("/me/personal-data", token=token)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="personal-data-')
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    profile = json.loads(archive.read("json/profile.json"))
    assert profile["email"] == "nina@example.com"
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"argon2" not in everything
    assert (
        Event.objects.filter(
            customer_id=customer.pk, kind="personal_data_exported", source="storefront"
        ).count()
        == 1
    )


# --- erasure --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["allow", "deny", "anonymise"])
def test_erase_applies_the_shops_default_mode(api, token, customer, settings, mode):
    settings.COMPTOIR_DELETE_MODE = mode
    response = api.post("/me/erase", {"password": PASSWORD}, token=token)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "erased", "mode": mode}
    row = Customer.objects.filter(pk=customer.pk).first()
    if mode == "allow":
        assert row is None
    elif mode == "deny":
        assert row.deleted_at is not None and row.email == "nina@example.com"
    else:
        assert row.anonymised_at is not None and row.email == ""
    assert not CustomerSession.objects.exists()
    request = Event.objects.get(customer_id=customer.pk, kind="erasure_requested")
    assert request.data == {"applied": True, "mode": mode} and request.source == "storefront"
    problem(api.get("/me", token=token), 401, "customer-session-required")


def test_erase_needs_the_password(api, token, customer):
    body = problem(api.post("/me/erase", {"password": "wrong-one"}, token=token), 400, "validation")
    assert field_errors(body) == {"password": ["incorrect"]}
    problem(api.post("/me/erase", {}, token=token), 400, "invalid-request")
    assert Customer.objects.filter(pk=customer.pk, deleted_at__isnull=True).exists()


def test_guessing_the_password_through_erase_meets_the_login_lockout(api, token, customer):
    for _attempt in range(5):
        problem(api.post("/me/erase", {"password": "wrong-one"}, token=token), 400, "validation")
    assert LoginFailure.objects.filter(email_key="nina@example.com").count() == 5
    # Locked now, the right password included, on erase as on log in.
    response = api.post("/me/erase", {"password": PASSWORD}, token=token)
    problem(response, 429, "login-locked", "too_many_failures")
    assert int(response["Retry-After"]) > 0
    problem(
        api.post("/login", {"email": "nina@example.com", "password": PASSWORD}),
        429,
        "login-locked",
    )
    assert Customer.objects.filter(pk=customer.pk, deleted_at__isnull=True).exists()
    assert not Event.objects.filter(kind="erasure_requested").exists()


def test_a_blocked_customers_erasure_waits_for_staff(api, token, customer, actor):
    customer_block(customer=customer, reason="Fraud", actor=actor)
    response = api.post("/me/erase", {"password": PASSWORD}, token=token)
    assert response.status_code == 202
    assert response.json() == {"status": "pending", "mode": None}
    customer.refresh_from_db()
    assert customer.deleted_at is None and customer.anonymised_at is None
    assert Event.objects.get(kind="erasure_requested").data == {"applied": False, "why": "blocked"}
    assert api.get("/me", token=token).status_code == 200


def test_no_order_of_the_customer_is_lost_on_erasure(api, token, customer, settings):
    settings.COMPTOIR_DELETE_MODE = "anonymise"
    order = place(customer, "30.00", timezone.now())
    api.post("/me/erase", {"password": PASSWORD}, token=token)
    assert Order.objects.get(pk=order.pk).total == Decimal("32.00")
