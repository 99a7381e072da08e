"""The groups endpoints of the back-office API (/api/v1/groups): authentication, list with
member counts (fixed query count), get, create, update, delete moving the members (the default
group refused), members added and removed in bulk; events signed "api" with the token's staff
member; each bad input a 400 naming its field; unknown ids 404."""

import json
from decimal import Decimal

import pytest

from comptoir.core.models import Event
from comptoir.customers.models import Customer, Membership
from comptoir.groups.models import Group, PriceDisplay
from comptoir.staff.services import api_token_create

pytestmark = pytest.mark.django_db
GROUPS = "/api/v1/groups"


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

    def get(self, path, **kwargs):
        return self.call("get", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("post", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.call("patch", path, body, **kwargs)

    def delete(self, path, body=None, **kwargs):
        return self.call("delete", path, body, **kwargs)


@pytest.fixture
def api(client, actor):
    _token, raw = api_token_create(name="integration", actor=actor)
    return Api(client, raw)


@pytest.fixture
def read_only_raw(actor):
    return api_token_create(name="reporting", actor=actor, read_only=True)[1]


def field_errors(response):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return {error["field"]: error for error in response.json()["errors"]}


def api_event(kind, **filters):
    return Event.objects.get(kind=kind, source="api", **filters)


NEW_GROUP = {
    "name_fr": "Revendeurs",
    "name_en": "Resellers",
    "description": "Les pros",
    "discount": "12.5",
    "price_display": "tax_excl",
    "show_prices": False,
    "css_class": "pro wholesale",
}


# Authentication: every endpoint


ENDPOINTS = [
    ("get", "{groups}", None),
    ("get", "{groups}/{vip}", None),
    ("post", "{groups}", NEW_GROUP),
    ("patch", "{groups}/{vip}", {"discount": 20}),
    ("delete", "{groups}/{vip}?move_to={default}", None),
    ("post", "{groups}/{vip}/members", {"ids": [1]}),
    ("delete", "{groups}/{vip}/members", {"ids": [1]}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_anonymous_and_wrong_tokens_get_401(api, vip_group, default_group, method, path, body):
    url = path.format(groups=GROUPS, vip=vip_group.pk, default=default_group.pk)
    for raw in ("", "cpt_wrong"):
        response = api.call(method, url, body, raw=raw)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
    assert Group.objects.count() == 2 and Group.objects.get(pk=vip_group.pk).discount == 10


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_a_read_only_token_reads_but_cannot_write(
    api, vip_group, default_group, make_customer, read_only_raw, method, path, body
):
    make_customer()
    url = path.format(groups=GROUPS, vip=vip_group.pk, default=default_group.pk)
    response = api.call(method, url, body, raw=read_only_raw)
    if method == "get":
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["type"] == "urn:comptoir:problem:read-only-token"
    assert Group.objects.count() == 2 and Group.objects.get(pk=vip_group.pk).discount == 10
    assert not Membership.objects.filter(group=vip_group).exists()


# Reading


def test_the_list_has_member_counts_in_a_fixed_number_of_queries(
    api, vip_group, default_group, make_customer, django_assert_num_queries
):
    make_customer(groups=[vip_group])
    make_customer(groups=[vip_group])
    make_customer()
    Group.objects.create(name_fr="Zèbres", name_en="Zebras")
    api.get(GROUPS)  # the token's last use and the member counts are kept for a while
    # The token (with its staff member), the count, the page, the data version.
    with django_assert_num_queries(4):
        response = api.get(GROUPS)
    body = response.json()
    assert (body["page"], body["pages"], body["count"]) == (1, 1, 3)
    assert [(item["name"], item["members"]) for item in body["items"]] == [
        (default_group.name_en, 3),
        ("VIP", 2),
        ("Zebras", 0),
    ]
    assert body["items"][1]["discount"] == "10.00" and body["items"][0]["is_default"] is True


def test_one_group_with_its_names_in_the_request_language(api, vip_group, make_customer):
    vip_group.name_fr, vip_group.name_en = "Fidèles", "Loyal"
    vip_group.save()
    make_customer(groups=[vip_group])
    body = api.get(f"{GROUPS}/{vip_group.pk}", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert body["name"] == "Fidèles" and body["name_en"] == "Loyal"
    assert body["members"] == 1 and body["price_display"] == "tax_incl"
    assert api.get(f"{GROUPS}/{vip_group.pk}").json()["name"] == "Loyal"


@pytest.mark.parametrize("pk", ["999999", "0", "-3", str(2**64)])
def test_an_unknown_group_is_a_404(api, pk):
    for method in ("get", "patch", "delete"):
        response = api.call(method, f"{GROUPS}/{pk}", {} if method == "patch" else None)
        assert response.status_code == 404, (method, response.content)
        assert response.json()["type"] == "urn:comptoir:problem:not-found"
    response = api.post(f"{GROUPS}/{pk}/members", {"ids": [1]})
    assert response.status_code == 404


def test_a_group_id_that_is_not_a_number_is_a_400(api):
    assert "group_id" in field_errors(api.get(f"{GROUPS}/vip"))


# Writing


def test_create_a_group(api, staff_user):
    response = api.post(GROUPS, NEW_GROUP)
    assert response.status_code == 201, response.content
    group = Group.objects.get(name_en="Resellers")
    body = response.json()
    assert body["id"] == group.pk and body["discount"] == "12.50" and body["members"] == 0
    assert (group.discount, group.price_display, group.show_prices, group.css_class) == (
        Decimal("12.50"),
        PriceDisplay.TAX_EXCLUDED,
        False,
        "pro wholesale",
    )
    event = api_event("group_created", object_id=group.pk)
    assert event.actor_id == staff_user.pk


def test_create_the_new_default_group(api, default_group):
    response = api.post(GROUPS, {"name_fr": "Tous", "name_en": "All", "is_default": True})
    assert response.json()["is_default"] is True
    assert Group.objects.get(is_default=True).name_en == "All"
    assert api_event("group_default_changed").data == {"before": default_group.pk}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"name_fr": ""}, "name_fr", "invalid"),
        ({"name_en": "x" * 65}, "name_en", "invalid"),
        ({"discount": 101}, "discount", "invalid"),
        ({"discount": "-1"}, "discount", "invalid"),
        ({"discount": "NaN"}, "discount", "invalid"),
        ({"discount": "lots"}, "discount", "decimal_parsing"),
        ({"price_display": "both"}, "price_display", "enum"),
        ({"css_class": "<b>"}, "css_class", "invalid"),
        ({"description": "a\x00b"}, "description", "null_character"),
        ({"show_prices": "sometimes"}, "show_prices", "bool_parsing"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
    ],
)
def test_a_bad_group_is_a_400_naming_the_field(api, changes, field, code):
    response = api.post(GROUPS, {**NEW_GROUP, **changes})
    assert field_errors(response)[field]["code"] == code
    assert not Group.objects.filter(name_en="Resellers").exists()


def test_create_needs_both_names(api):
    errors = field_errors(api.post(GROUPS, {"discount": 5}))
    assert errors["name_fr"]["code"] == errors["name_en"]["code"] == "missing"


def test_update_changes_only_the_fields_given(api, vip_group, staff_user):
    response = api.patch(f"{GROUPS}/{vip_group.pk}", {"discount": "15", "name_en": "Gold"})
    assert response.status_code == 200, response.content
    vip_group.refresh_from_db()
    assert (vip_group.discount, vip_group.name_en, vip_group.name_fr) == (
        Decimal("15"),
        "Gold",
        "VIP",
    )
    assert response.json()["name_en"] == "Gold"
    event = api_event("group_updated", object_id=vip_group.pk)
    assert event.actor_id == staff_user.pk
    assert event.data["changes"]["discount"] == {"before": "10.00", "after": "15.00"}


def test_update_errors_change_nothing(api, vip_group, default_group):
    errors = field_errors(api.patch(f"{GROUPS}/{vip_group.pk}", {"discount": 200, "name_fr": ""}))
    assert set(errors) == {"discount", "name_fr"}
    errors = field_errors(api.patch(f"{GROUPS}/{default_group.pk}", {"is_default": False}))
    assert "is_default" in errors
    vip_group.refresh_from_db()
    assert vip_group.discount == 10 and Group.objects.get(is_default=True) == default_group


def test_making_a_group_the_default(api, vip_group, default_group):
    response = api.patch(f"{GROUPS}/{vip_group.pk}", {"is_default": True})
    assert response.json()["is_default"] is True
    assert Group.objects.get(is_default=True) == vip_group


# Deleting


def test_delete_moves_the_members_set_based(
    api, vip_group, default_group, make_customer, staff_user
):
    target = Group.objects.create(name_fr="Cible", name_en="Target")
    only_vip = make_customer(groups=[vip_group], default_group=vip_group)
    both = make_customer(groups=[vip_group])
    outsider = make_customer()

    response = api.delete(f"{GROUPS}/{vip_group.pk}?move_to={target.pk}")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "deleted": vip_group.pk,
        "members": 2,
        "joined": 1,
        "defaults_moved": 1,
    }
    assert not Group.objects.filter(pk=vip_group.pk).exists()
    assert Customer.objects.get(pk=only_vip.pk).default_group == target
    assert set(Membership.objects.filter(group=target).values_list("customer_id", flat=True)) == {
        only_vip.pk
    }
    assert Customer.objects.get(pk=both.pk).default_group == default_group
    assert Customer.objects.get(pk=outsider.pk).groups.get() == default_group
    assert api_event("group_deleted", object_id=vip_group.pk).actor_id == staff_user.pk
    assert Event.objects.filter(kind="default_group_changed", source="api").count() == 1


def test_an_empty_group_goes_without_a_target(api, vip_group):
    response = api.delete(f"{GROUPS}/{vip_group.pk}")
    assert response.json()["members"] == 0
    assert not Group.objects.filter(pk=vip_group.pk).exists()


def test_the_default_group_cannot_be_deleted(api, default_group, vip_group):
    response = api.delete(f"{GROUPS}/{default_group.pk}?move_to={vip_group.pk}")
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "urn:comptoir:problem:group-not-deletable"
    assert (
        body["title"]
        == "The default group cannot be deleted: make another group the default first."
    )
    assert Group.objects.filter(pk=default_group.pk).exists()


@pytest.mark.parametrize(
    ("query", "code"),
    [("", "invalid"), ("?move_to=999999", "invalid_choice"), ("?move_to=x", "int_parsing")],
)
def test_delete_needs_an_existing_target_when_there_are_members(
    api, vip_group, make_customer, query, code
):
    make_customer(groups=[vip_group])
    errors = field_errors(api.delete(f"{GROUPS}/{vip_group.pk}{query}"))
    assert errors["move_to"]["code"] == code
    assert Group.objects.filter(pk=vip_group.pk).exists()


def test_delete_refuses_the_group_itself_as_target(api, vip_group, make_customer):
    make_customer(groups=[vip_group])
    errors = field_errors(api.delete(f"{GROUPS}/{vip_group.pk}?move_to={vip_group.pk}"))
    assert "move_to" in errors


# Members in bulk


def test_add_members_by_ids_then_by_filter(api, vip_group, make_customer, staff_user):
    ana, bea, cid = (make_customer(first_name=name) for name in ("Ana", "Bea", "Cid"))
    url = f"{GROUPS}/{vip_group.pk}/members"
    response = api.post(url, {"ids": [ana.pk, bea.pk]})
    assert response.json() == {"group": vip_group.pk, "matched": 2, "changed": 2}
    response = api.post(url, {"filter": {"q": "cid"}})
    assert response.json() == {"group": vip_group.pk, "matched": 1, "changed": 1}
    response = api.post(url, {"ids": [ana.pk, cid.pk]})
    assert response.json() == {"group": vip_group.pk, "matched": 2, "changed": 0}
    members = set(Membership.objects.filter(group=vip_group).values_list("customer_id", flat=True))
    assert members == {ana.pk, bea.pk, cid.pk}
    events = Event.objects.filter(kind="groups_added", source="api", actor=staff_user)
    assert events.count() == 3 and events.first().data == {"groups": [vip_group.pk]}


def test_remove_members_keeps_those_whose_default_it_is(api, vip_group, make_customer):
    kept = make_customer(groups=[vip_group], default_group=vip_group)
    leaving = make_customer(groups=[vip_group])
    untouched = make_customer(groups=[vip_group])
    response = api.delete(f"{GROUPS}/{vip_group.pk}/members", {"ids": [kept.pk, leaving.pk]})
    assert response.json() == {"group": vip_group.pk, "matched": 2, "changed": 1}
    members = set(Membership.objects.filter(group=vip_group).values_list("customer_id", flat=True))
    assert members == {kept.pk, untouched.pk}
    assert Event.objects.get(kind="groups_removed", source="api").customer_id == leaving.pk


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "ids"),
        ({"ids": []}, "ids"),
        ({"filter": {"group": 999_999}}, "filter.group"),
        ({"filter": {"newsletter": "perhaps"}}, "filter.newsletter"),
        ({"ids": [1], "group": 3}, "group"),
    ],
)
def test_bad_member_selections_are_a_400(api, vip_group, make_customer, body, field):
    make_customer()
    for method in ("post", "delete"):
        errors = field_errors(api.call(method, f"{GROUPS}/{vip_group.pk}/members", body))
        assert field in errors
    assert not Membership.objects.filter(group=vip_group).exists()
