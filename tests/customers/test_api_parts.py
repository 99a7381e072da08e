"""A customer's parts through the API: consents with their history, addresses, tags, the
private note and the timeline."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from comptoir.core.models import Event
from comptoir.customers.api_schemas import ChannelName
from comptoir.customers.models import Address, Channel, ConsentRecord, Customer
from comptoir.customers.services import address_create, customer_consent_set, customer_note_set
from tests.customers.test_api_support import (  # noqa: F401  (fixtures)
    api_fixture,
    assert_problem,
    field_errors,
    read_only_api_fixture,
    read_only_token_fixture,
    token_fixture,
)

ADDRESS = {
    "first_name": "Camille",
    "last_name": "Durand",
    "address1": "3 rue des Lilas",
    "postcode": "69003",
    "city": "Lyon",
    "country": "FR",
}


def _last_event(customer_id: int, kind: str) -> Event:
    return Event.objects.filter(customer_id=customer_id, kind=kind).latest("id")


def test_channels_are_the_models():
    assert set(ChannelName.__args__) == set(Channel.values)


# -------------------------------------------------------------------------------------------------
# Consents
# -------------------------------------------------------------------------------------------------


def test_consents_current_state_and_history(api, make_customer, actor):
    customer = make_customer(consents={"newsletter": True})
    customer_consent_set(customer=customer, channel="newsletter", granted=False, actor=actor)
    body = api.get(f"/{customer.pk}/consents").json()
    assert body["current"]["newsletter"]["granted"] is False
    assert body["current"]["partner_offers"] == {"granted": False, "changed_at": None}
    assert [(r["channel"], r["granted"]) for r in body["history"]] == [
        ("newsletter", False),
        ("newsletter", True),
    ]
    assert body["history"][0]["source"] == "backoffice"
    assert body["history"][0]["staff"]["id"] == actor.user.pk


def test_set_consent_writes_a_history_row_signed_api(api, make_customer, staff_user):
    customer = make_customer()
    response = api.put(
        f"/{customer.pk}/consents/sms",
        {"granted": True, "opt_in_level": "confirmed", "note": "Double opt-in e-mail"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["channel"] == "sms" and body["granted"] is True and body["changed"] is True
    assert body["changed_at"] is not None
    record = ConsentRecord.objects.get(customer=customer)
    assert (record.channel, record.granted, record.opt_in_level) == ("sms", True, "confirmed")
    assert (record.source, record.actor_id) == ("api", staff_user.pk)
    assert record.note == "Double opt-in e-mail"
    assert Customer.objects.get(pk=customer.pk).sms is True
    event = _last_event(customer.pk, "consent_changed")
    assert (event.source, event.actor_id) == ("api", staff_user.pk)
    # The same state again changes nothing and writes nothing.
    again = api.put(f"/{customer.pk}/consents/sms", {"granted": True})
    assert again.json()["changed"] is False
    assert ConsentRecord.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("email", {"granted": True}, "channel"),
        ("sms", {}, "granted"),
        ("sms", {"granted": "often"}, "granted"),
        ("sms", {"granted": True, "opt_in_level": "triple"}, "opt_in_level"),
        ("sms", {"granted": True, "note": "x" * 256}, "note"),
        ("sms", {"granted": True, "source": "storefront"}, "source"),
    ],
)
def test_set_consent_validation(api, make_customer, path, body, field):
    customer = make_customer()
    response = api.put(f"/{customer.pk}/consents/{path}", body)
    assert_problem(response, 400, "invalid-request")
    assert field in field_errors(response)
    assert not ConsentRecord.objects.filter(customer=customer).exists()


# -------------------------------------------------------------------------------------------------
# Addresses
# -------------------------------------------------------------------------------------------------


def test_addresses_list_create_update_delete(api, make_customer, staff_user):
    customer = make_customer()
    first = api.post(f"/{customer.pk}/addresses", {**ADDRESS, "phone": "04 72 00 00 00"})
    assert first.status_code == 201, first.content
    first = first.json()
    assert first["is_default_billing"] and first["is_default_shipping"]
    assert first["phone"] == "+33472000000"
    assert first["country"] == "FR"
    assert (_last_event(customer.pk, "address_added").source) == "api"
    second = api.post(
        f"/{customer.pk}/addresses", {**ADDRESS, "city": "Bruxelles", "country": "BE"}
    ).json()
    assert not second["is_default_billing"]
    listed = api.get(f"/{customer.pk}/addresses").json()
    assert [a["id"] for a in listed] == [first["id"], second["id"]]

    changed = api.patch(
        f"/{customer.pk}/addresses/{second['id']}", {"alias": "Bureau", "default_billing": True}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["alias"] == "Bureau" and changed.json()["is_default_billing"]
    assert changed.json()["city"] == "Bruxelles"
    assert Customer.objects.get(pk=customer.pk).country == "BE"
    event = _last_event(customer.pk, "address_defaults_changed")
    assert (event.source, event.actor_id) == ("api", staff_user.pk)

    response = api.delete(f"/{customer.pk}/addresses/{second['id']}")
    assert response.status_code == 204
    remaining = Address.objects.get(customer=customer)
    assert remaining.pk == first["id"]
    assert remaining.is_default_billing and remaining.is_default_shipping
    assert Customer.objects.get(pk=customer.pk).country == "FR"
    assert _last_event(customer.pk, "address_removed").source == "api"


def test_address_of_another_customer_is_a_404(api, make_customer, actor):
    owner, other = make_customer(), make_customer()
    address = address_create(customer=owner, actor=actor, **ADDRESS)
    assert_problem(
        api.patch(f"/{other.pk}/addresses/{address.pk}", {"city": "X"}), 404, "not-found"
    )
    assert_problem(api.delete(f"/{other.pk}/addresses/{address.pk}"), 404, "not-found")
    assert_problem(api.delete(f"/{owner.pk}/addresses/{2**64}"), 404, "not-found")
    assert Address.objects.get(pk=address.pk).city == "Lyon"


@pytest.mark.parametrize(
    ("body", "field", "slug"),
    [
        ({**ADDRESS, "country": "Narnia"}, "country", "validation"),
        ({**ADDRESS, "city": " "}, "city", "validation"),
        ({**ADDRESS, "phone": "12"}, "phone", "validation"),
        ({k: v for k, v in ADDRESS.items() if k != "city"}, "city", "invalid-request"),
        ({**ADDRESS, "floor": 3}, "floor", "invalid-request"),
    ],
)
def test_address_validation(api, make_customer, body, field, slug):
    customer = make_customer()
    response = api.post(f"/{customer.pk}/addresses", body)
    assert_problem(response, 400, slug)
    assert field in field_errors(response)
    assert not Address.objects.filter(customer=customer).exists()


def test_address_patch_validation(api, make_customer, actor):
    customer = make_customer()
    address = address_create(customer=customer, actor=actor, **ADDRESS)
    for body, field in (
        ({"country": "ZZ"}, "country"),
        ({"city": None}, "city"),
        ({"default_billing": False}, "default_billing"),
    ):
        response = api.patch(f"/{customer.pk}/addresses/{address.pk}", body)
        assert response.status_code == 400, response.content
        assert field in field_errors(response)
    assert Address.objects.get(pk=address.pk).country.code == "FR"


# -------------------------------------------------------------------------------------------------
# Tags
# -------------------------------------------------------------------------------------------------


def test_tags_replace_add_remove(api, make_customer, staff_user):
    customer = make_customer(tags=["old"])
    assert api.get(f"/{customer.pk}/tags").json() == {"tags": ["old"]}
    body = api.put(f"/{customer.pk}/tags", {"tags": ["VIP", "b2b", "vip"]}).json()
    assert body == {"tags": ["b2b", "VIP"]}
    event = _last_event(customer.pk, "tags_changed")
    assert (event.source, event.actor_id) == ("api", staff_user.pk)
    assert event.data == {"before": ["old"], "after": ["VIP", "b2b"]}
    body = api.post(f"/{customer.pk}/tags", {"tag": "Salon 2025"}).json()
    assert body == {"tags": ["b2b", "Salon 2025", "VIP"]}
    assert _last_event(customer.pk, "tags_added").source == "api"
    assert Customer.objects.get(pk=customer.pk).tags_text == "b2b, Salon 2025, VIP"
    body = api.delete(f"/{customer.pk}/tags/salon 2025").json()
    assert body == {"tags": ["b2b", "VIP"]}
    assert _last_event(customer.pk, "tags_removed").source == "api"
    # A tag with a slash in its name.
    api.post(f"/{customer.pk}/tags", {"tag": "A/B"})
    assert api.delete(f"/{customer.pk}/tags/A%2FB").json() == {"tags": ["b2b", "VIP"]}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("put", "/tags", {"tags": ["x" * 65]}, "tags.0"),
        ("put", "/tags", {"tags": "VIP"}, "tags"),
        ("put", "/tags", {}, "tags"),
        ("post", "/tags", {"tag": " "}, "tag"),
        ("post", "/tags", {"tag": "x" * 65}, "tag"),
        ("post", "/tags", {"name": "VIP"}, "name"),
    ],
)
def test_tags_validation(api, make_customer, method, path, body, field):
    customer = make_customer(tags=["old"])
    response = getattr(api, method)(f"/{customer.pk}{path}", body)
    assert response.status_code == 400, response.content
    assert field in field_errors(response)
    assert list(customer.tags.values_list("name", flat=True)) == ["old"]


# -------------------------------------------------------------------------------------------------
# Note
# -------------------------------------------------------------------------------------------------


def test_note_get_and_put(api, make_customer, staff_user):
    customer = make_customer(note="First")
    assert api.get(f"/{customer.pk}/note").json() == {"note": "First"}
    response = api.put(f"/{customer.pk}/note", {"note": "  Second  "})
    assert response.json() == {"note": "Second"}
    event = _last_event(customer.pk, "note_changed")
    assert (event.source, event.actor_id) == ("api", staff_user.pk)
    assert event.data == {"before": "First", "after": "Second"}
    for body in ({"note": "x" * 10_001}, {}, {"note": None}):
        response = api.put(f"/{customer.pk}/note", body)
        assert "note" in field_errors(response)
    assert Customer.objects.get(pk=customer.pk).note == "Second"


# -------------------------------------------------------------------------------------------------
# Timeline
# -------------------------------------------------------------------------------------------------


def test_timeline_newest_first_by_cursor(api, make_customer, actor, django_assert_num_queries):
    customer = make_customer()
    for n in range(6):
        customer_note_set(customer=customer, note=f"note {n}", actor=actor)
    # Events at the same moment: the id breaks the tie.
    same = timezone.now() - datetime.timedelta(days=1)
    Event.objects.filter(customer_id=customer.pk, kind="note_changed").update(created_at=same)
    expected = list(
        Event.objects.filter(customer_id=customer.pk)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
    )
    assert len(expected) == 7
    api.get(f"/{customer.pk}/events", {"limit": 1})  # the token's last-used time, once
    pages = []
    # Token, customer (with its groups and tags), the page's ids, the events.
    with django_assert_num_queries(6):
        response = api.get(f"/{customer.pk}/events", {"limit": 3})
    while True:
        pages.append(response.json())
        if not pages[-1]["next"]:
            break
        response = api.get_url(pages[-1]["next"])
    assert [event["id"] for page in pages for event in page["results"]] == expected
    assert pages[0]["previous"] is None
    first = pages[0]["results"][0]
    assert first["kind"] == "customer_created"
    assert first["staff"]["id"] == actor.user.pk
    assert first["source"] == "backoffice"
    assert "ip_address" not in first
    note = pages[1]["results"][0]
    assert note["kind"] == "note_changed" and "after" in note["data"]
    back = api.get_url(pages[-1]["previous"]).json()
    assert [event["id"] for event in back["results"]] == expected[3:6]


def test_timeline_bad_cursor_and_limit(api, make_customer, actor):
    customer, other = make_customer(), make_customer()
    for n in range(3):
        customer_note_set(customer=other, note=f"n{n}", actor=actor)
    others = api.get(f"/{other.pk}/events", {"limit": 1}).json()
    cursor = others["next"].split("cursor=")[1]
    for params, field in (
        ({"cursor": "xyz"}, "cursor"),
        ({"cursor": cursor}, "cursor"),  # another customer's timeline
        ({"limit": 0}, "limit"),
        ({"limit": 251}, "limit"),
    ):
        response = api.get(f"/{customer.pk}/events", params)
        assert response.status_code == 400, response.content
        assert field in field_errors(response)
