"""The bulk actions endpoint of the back-office API (POST /api/v1/bulk/customers/{action}):
authentication, every action of the list page over ids or a filter, exact rows changed and
events signed "api" with the token's staff member, nothing outside the selection touched, and
every kind of bad input answered with a 400 problem naming the field."""

import json

import pytest
from django.utils import translation

from comptoir.core.models import Event
from comptoir.customers.models import ConsentRecord, Customer, Membership, Tag
from comptoir.customers.services import customer_block
from comptoir.staff.services import api_token_create

pytestmark = pytest.mark.django_db
URL = "/api/v1/bulk/customers/"


class Api:
    """The Django test client, speaking JSON with a bearer token."""

    def __init__(self, client, raw: str):
        self.client, self.raw = client, raw

    def call(self, method: str, path: str, body=None, *, raw: str | None = None, **extra):
        headers = {"HTTP_ACCEPT_LANGUAGE": extra.pop("HTTP_ACCEPT_LANGUAGE", "en")}
        secret = self.raw if raw is None else raw
        if secret:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        if body is not None:
            extra.setdefault("content_type", "application/json")
            extra["data"] = json.dumps(body)
        return getattr(self.client, method)(path, **headers, **extra)

    def post(self, path, body=None, **kwargs):
        return self.call("post", path, body, **kwargs)


@pytest.fixture
def api(client, actor):
    _token, raw = api_token_create(name="integration", actor=actor)
    return Api(client, raw)


@pytest.fixture
def read_only_raw(actor):
    return api_token_create(name="reporting", actor=actor, read_only=True)[1]


@pytest.fixture
def three(make_customer):
    return [make_customer(first_name=name) for name in ("Ana", "Bea", "Cid")]


def api_events(kind):
    return Event.objects.filter(kind=kind, source="api")


def field_errors(response):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {error["field"]: error for error in response.json()["errors"]}


# Authentication


def test_anonymous_and_wrong_tokens_are_refused_and_nothing_changes(api, three):
    for raw in ("", "cpt_not-a-token"):
        response = api.post(URL + "disable", {"ids": [three[0].pk]}, raw=raw)
        assert response.status_code == 401
        assert response.json()["type"] == "urn:comptoir:problem:unauthenticated"
    assert Customer.objects.filter(is_enabled=False).count() == 0


def test_a_read_only_token_cannot_run_a_bulk_action(api, three, read_only_raw):
    response = api.post(URL + "disable", {"ids": [three[0].pk]}, raw=read_only_raw)
    assert response.status_code == 403
    assert response.json()["type"] == "urn:comptoir:problem:read-only-token"
    assert Customer.objects.filter(is_enabled=False).count() == 0
    assert not Event.objects.filter(kind="customer_disabled").exists()


# Each action over ids: the selected change, the others do not, events are the API's


@pytest.mark.parametrize(
    ("action", "column", "before", "after", "kind"),
    [
        ("enable", "is_enabled", False, True, "customer_enabled"),
        ("disable", "is_enabled", True, False, "customer_disabled"),
        ("newsletter_on", "newsletter", False, True, "consent_changed"),
        ("newsletter_off", "newsletter", True, False, "consent_changed"),
        ("partner_offers_on", "partner_offers", False, True, "consent_changed"),
        ("partner_offers_off", "partner_offers", True, False, "consent_changed"),
        ("tax_exempt_on", "is_tax_exempt", False, True, "customer_updated"),
        ("tax_exempt_off", "is_tax_exempt", True, False, "customer_updated"),
    ],
)
def test_a_column_action_changes_exactly_the_selected_customers(
    api, three, staff_user, action, column, before, after, kind
):
    Customer.objects.update(**{column: before})
    already = three[2]
    Customer.objects.filter(pk=already.pk).update(**{column: after})
    outside = three[1]

    response = api.post(URL + action, {"ids": [three[0].pk, already.pk]})

    assert response.status_code == 200, response.content
    assert response.json() == {"action": action, "matched": 2, "changed": 1}
    values = dict(Customer.objects.values_list("pk", column))
    assert values == {three[0].pk: after, outside.pk: before, already.pk: after}
    event = api_events(kind).get()
    assert event.customer_id == three[0].pk and event.actor_id == staff_user.pk
    if kind == "consent_changed":
        record = ConsentRecord.objects.filter(source="api").get()
        assert (record.customer_id, record.channel, record.granted) == (three[0].pk, column, after)


def test_block_keeps_the_reason_and_unblock_lifts_it(api, three, actor):
    response = api.post(URL + "block", {"ids": [three[0].pk, three[1].pk], "reason": "Fraud"})
    assert response.json() == {"action": "block", "matched": 2, "changed": 2}
    blocked = Customer.objects.filter(is_blocked=True)
    assert set(blocked.values_list("pk", "blocked_reason")) == {
        (three[0].pk, "Fraud"),
        (three[1].pk, "Fraud"),
    }
    assert api_events("customer_blocked").count() == 2

    response = api.post(URL + "unblock", {"ids": [three[0].pk]})
    assert response.json() == {"action": "unblock", "matched": 1, "changed": 1}
    assert list(Customer.objects.filter(is_blocked=True).values_list("pk", flat=True)) == [
        three[1].pk
    ]
    assert api_events("customer_unblocked").get().data == {"reason": "Fraud"}


def test_groups_actions(api, three, vip_group, default_group):
    response = api.post(
        URL + "add_group", {"ids": [three[0].pk, three[1].pk], "group": vip_group.pk}
    )
    assert response.json() == {"action": "add_group", "matched": 2, "changed": 2}
    members = set(Membership.objects.filter(group=vip_group).values_list("customer_id", flat=True))
    assert members == {three[0].pk, three[1].pk}

    response = api.post(URL + "remove_group", {"ids": [three[0].pk], "group": vip_group.pk})
    assert response.json()["changed"] == 1
    assert set(
        Membership.objects.filter(group=vip_group).values_list("customer_id", flat=True)
    ) == {three[1].pk}

    # The default group cannot be left: nobody changes.
    response = api.post(URL + "remove_group", {"ids": [three[2].pk], "group": default_group.pk})
    assert response.json() == {"action": "remove_group", "matched": 1, "changed": 0}

    response = api.post(URL + "reset_groups", {"filter": {}})
    assert response.json() == {"action": "reset_groups", "matched": 3, "changed": 1}
    assert not Membership.objects.filter(group=vip_group).exists()
    assert Membership.objects.filter(group=default_group).count() == 3
    assert api_events("groups_removed").count() == 2


def test_tags_actions(api, three, actor):
    response = api.post(URL + "add_tag", {"ids": [three[0].pk, three[2].pk], "tag": "Salon 2025"})
    assert response.json() == {"action": "add_tag", "matched": 2, "changed": 2}
    assert Customer.objects.get(pk=three[0].pk).tags_text == "Salon 2025"
    assert Customer.objects.get(pk=three[1].pk).tags_text == ""

    response = api.post(URL + "remove_tag", {"filter": {"tag": "SALON 2025"}, "tag": "salon 2025"})
    assert response.json() == {"action": "remove_tag", "matched": 2, "changed": 2}
    assert not Customer.tags.through.objects.exists()
    assert Tag.objects.filter(name="Salon 2025").exists()  # the tag itself stays
    assert api_events("tags_added").count() == 2 and api_events("tags_removed").count() == 2


@pytest.mark.parametrize(
    ("mode", "left"),
    [("allow", 2), ("deny", 3), ("anonymise", 3)],
)
def test_delete_in_each_mode(api, three, mode, left):
    response = api.post(URL + "delete", {"ids": [three[0].pk], "delete_mode": mode})
    assert response.json() == {"action": "delete", "matched": 1, "changed": 1}
    assert Customer.objects.count() == left
    survivors = Customer.objects.filter(pk__in=[three[1].pk, three[2].pk])
    assert survivors.filter(deleted_at__isnull=True, anonymised_at__isnull=True).count() == 2
    kind = "customer_anonymised" if mode == "anonymise" else "customer_deleted"
    assert api_events(kind).get().object_id == three[0].pk


# Selecting by filter


def test_a_filter_selects_what_the_list_page_would_show(api, three, vip_group):
    Customer.objects.filter(pk=three[1].pk).update(newsletter=True)
    Membership.objects.create(customer=three[2], group=vip_group)
    Customer.objects.filter(pk=three[2].pk).update(newsletter=True)

    response = api.post(URL + "disable", {"filter": {"newsletter": True, "group": vip_group.pk}})

    assert response.json() == {"action": "disable", "matched": 1, "changed": 1}
    assert list(Customer.objects.filter(is_enabled=False).values_list("pk", flat=True)) == [
        three[2].pk
    ]


def test_ids_with_a_filter_act_on_the_ids_that_match_it(api, three):
    Customer.objects.filter(pk=three[0].pk).update(newsletter=True)
    response = api.post(
        URL + "disable", {"ids": [three[0].pk, three[1].pk], "filter": {"newsletter": True}}
    )
    assert response.json() == {"action": "disable", "matched": 1, "changed": 1}
    assert Customer.objects.get(pk=three[0].pk).is_enabled is False
    assert Customer.objects.get(pk=three[1].pk).is_enabled is True


def test_deleted_customers_count_only_when_the_filter_shows_them(api, three):
    api.post(URL + "delete", {"ids": [three[0].pk], "delete_mode": "deny"})
    response = api.post(URL + "disable", {"ids": [three[0].pk]})
    assert response.json()["matched"] == 0
    response = api.post(URL + "disable", {"ids": [three[0].pk], "filter": {"lifecycle": "all"}})
    assert response.json() == {"action": "disable", "matched": 1, "changed": 1}


def test_search_dates_and_ranges_reach_the_filterset(api, three):
    response = api.post(
        URL + "disable",
        {
            "filter": {
                "q": "bea",
                "registration_after": "2000-01-01",
                "orders_min": 0,
                "sales_max": "1000.50",
            }
        },
    )
    assert response.json() == {"action": "disable", "matched": 1, "changed": 1}
    assert Customer.objects.get(is_enabled=False).pk == three[1].pk


# Bad input: 400 with the field, nothing changed


def test_an_unknown_action_is_a_400_naming_it(api, three):
    errors = field_errors(api.post(URL + "explode", {"ids": [three[0].pk]}))
    assert errors["action"]["code"] == "enum"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "ids", "required"),
        ({"ids": []}, "ids", "empty"),
        ({"ids": list(range(1, 10_002))}, "ids", "too_many"),
        ({"ids": [0]}, "ids.0", "greater_than_equal"),
        ({"ids": [2**63]}, "ids.0", "less_than_equal"),
        ({"ids": ["one"]}, "ids.0", "int_parsing"),
        ({"filter": {"group": 999_999}}, "filter.group", "invalid_choice"),
        ({"filter": {"title": 999_999}}, "filter.title", "invalid_choice"),
        ({"filter": {"tag": "no such tag"}}, "filter.tag", "invalid_choice"),
        ({"filter": {"country": "XX"}}, "filter.country", "invalid_choice"),
        ({"filter": {"registration_after": "0001-01-01"}}, "filter.registration", "out_of_range"),
        ({"filter": {"enabled": "maybe"}}, "filter.enabled", "bool_parsing"),
        ({"filter": {"lifecycle": "zombie"}}, "filter.lifecycle", "literal_error"),
        ({"filter": {"sort": "-id"}}, "filter.sort", "extra_forbidden"),
        ({"filter": {"q": "a\x00b"}}, "filter.q", "null_character"),
        ({"ids": [1], "colour": "red"}, "colour", "extra_forbidden"),
    ],
)
def test_a_bad_selection_is_a_400_naming_the_field(api, three, body, field, code):
    errors = field_errors(api.post(URL + "disable", body))
    assert errors[field]["code"] == code
    assert not Customer.objects.filter(is_enabled=False).exists()


@pytest.mark.parametrize(
    ("action", "params", "field"),
    [
        ("add_group", {}, "group"),
        ("add_group", {"group": 999_999}, "group"),
        ("remove_group", {}, "group"),
        ("block", {}, "reason"),
        ("block", {"reason": "   "}, "reason"),
        ("block", {"reason": "x" * 1001}, "reason"),
        ("block", {"reason": "bad\x00"}, "reason"),
        ("add_tag", {}, "tag"),
        ("remove_tag", {"tag": ""}, "tag"),
        ("add_tag", {"tag": "t" * 65}, "tag"),
        ("delete", {}, "delete_mode"),
        ("delete", {"delete_mode": "shred"}, "delete_mode"),
    ],
)
def test_a_missing_or_bad_action_parameter_is_a_400_naming_it(api, three, action, params, field):
    before = Event.objects.count()
    errors = field_errors(api.post(URL + action, {"ids": [three[0].pk], **params}))
    assert field in errors
    assert Event.objects.count() == before
    assert Customer.objects.count() == 3 and not Customer.objects.filter(is_blocked=True).exists()


def test_problems_are_in_the_requested_language(api, three):
    response = api.post(URL + "add_group", {"ids": [three[0].pk]}, HTTP_ACCEPT_LANGUAGE="fr")
    with translation.override("fr"):
        expected = translation.gettext("Choose a group.")
    assert field_errors(response)["group"]["message"] == expected


def test_a_staff_session_may_call_it_too_signed_as_the_back_office(client, staff_user, three):
    client.force_login(staff_user)
    response = client.post(
        URL + "disable", json.dumps({"ids": [three[0].pk]}), content_type="application/json"
    )
    assert response.json()["changed"] == 1
    assert Event.objects.get(kind="customer_disabled").source == "backoffice"


def test_already_blocked_customers_keep_their_reason(api, three, actor):
    customer_block(customer=three[0], reason="Chargeback", actor=actor)
    response = api.post(URL + "block", {"ids": [three[0].pk, three[1].pk], "reason": "Spam"})
    assert response.json() == {"action": "block", "matched": 2, "changed": 1}
    assert Customer.objects.get(pk=three[0].pk).blocked_reason == "Chargeback"


def test_the_openapi_document_describes_the_endpoint(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/bulk/customers/{action}"]["post"]
    [action] = [param for param in operation["parameters"] if param["name"] == "action"]
    assert "add_tag" in action["schema"]["enum"] and "delete" in action["schema"]["enum"]
    assert set(operation["responses"]) >= {"200", "400", "401", "403"}
