"""One customer through the API: get, create, update (partial, with optimistic locking),
delete in each mode, block and unblock, merge, personal data."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest
from django.utils import timezone

from comptoir.core.models import Event
from comptoir.customers.models import ConsentRecord, Customer, Title
from comptoir.customers.services import customer_block, customer_update
from comptoir.groups.models import Group
from comptoir.staff.services import api_token_create, api_token_revoke
from tests.customers.test_api_support import (  # noqa: F401  (fixtures)
    Api,
    anonymous_api_fixture,
    api_fixture,
    assert_problem,
    field_errors,
    read_only_api_fixture,
    read_only_token_fixture,
    token_fixture,
    wrong_token_api_fixture,
)


def _events(customer_id: int, kind: str) -> list[Event]:
    return list(Event.objects.filter(customer_id=customer_id, kind=kind).order_by("id"))


def _assert_api_event(event: Event, staff_user) -> None:
    assert event.source == "api"
    assert event.actor_id == staff_user.pk


NEW = {
    "first_name": " Camille ",
    "last_name": "Durand",
    "email": "Camille.Durand@Example.com",
    "phone": "06 12 34 56 78",
    "birthday": "1990-05-17",
    "language": "en",
    "company": "Durand SARL",
    "siret": "732 829 320 00074",
    "tags": ["VIP", "Newsletter 2024"],
    "note": "Prefers e-mail.",
    "consents": {"newsletter": True, "sms": False},
    "addresses": [
        {
            "first_name": "Camille",
            "last_name": "Durand",
            "address1": "3 rue des Lilas",
            "postcode": "69003",
            "city": "Lyon",
            "country": "FR",
        }
    ],
}


# -------------------------------------------------------------------------------------------------
# Authentication, for every endpoint
# -------------------------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/{id}", None),
    ("get", "", None),
    ("post", "", NEW),
    ("patch", "/{id}", {"company": "X"}),
    ("delete", "/{id}", None),
    ("post", "/{id}/block", {"reason": "Chargebacks"}),
    ("post", "/{id}/unblock", None),
    ("put", "/{id}/login", {"enabled": False}),
    ("post", "/{id}/convert-guest", None),
    ("post", "/{id}/merge", {"duplicate_id": 1}),
    ("get", "/{id}/personal-data", None),
    ("get", "/{id}/consents", None),
    ("put", "/{id}/consents/newsletter", {"granted": True}),
    ("get", "/{id}/addresses", None),
    ("post", "/{id}/addresses", NEW["addresses"][0]),
    ("patch", "/{id}/addresses/1", {"city": "Paris"}),
    ("delete", "/{id}/addresses/1", None),
    ("get", "/{id}/tags", None),
    ("put", "/{id}/tags", {"tags": ["a"]}),
    ("post", "/{id}/tags", {"tag": "a"}),
    ("delete", "/{id}/tags/a", None),
    ("get", "/{id}/note", None),
    ("put", "/{id}/note", {"note": "x"}),
    ("get", "/{id}/events", None),
]


def _call(caller: Api, method: str, path: str, body, customer_id: int):
    path = path.replace("{id}", str(customer_id))
    if method == "get":
        return caller.get(path)
    if method == "delete":
        return caller.delete(path)
    return getattr(caller, method)(path, body)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_anonymous_and_wrong_tokens_are_refused_everywhere(
    anonymous_api, wrong_token_api, make_customer, actor, method, path, body
):
    customer = make_customer()
    revoked, raw = api_token_create(name="old", actor=actor)
    api_token_revoke(token=revoked, actor=actor)
    for caller in (anonymous_api, wrong_token_api, Api(anonymous_api.client, raw)):
        response = _call(caller, method, path, body, customer.pk)
        assert_problem(response, 401, "unauthenticated")
    assert Customer.objects.count() == 1
    assert not Event.objects.filter(source="api").exists()


@pytest.mark.parametrize(("method", "path", "body"), [e for e in ENDPOINTS if e[0] != "get"])
def test_read_only_token_cannot_write(read_only_api, make_customer, method, path, body):
    customer = make_customer()
    before = Event.objects.count()
    response = _call(read_only_api, method, path, body, customer.pk)
    assert_problem(response, 403, "read-only-token")
    assert Event.objects.count() == before
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(("method", "path", "body"), [e for e in ENDPOINTS if e[0] == "get"])
def test_read_only_token_can_read(read_only_api, make_customer, method, path, body):
    customer = make_customer()
    response = _call(read_only_api, method, path, body, customer.pk)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [e for e in ENDPOINTS if "{id}" in e[1] and "addresses/1" not in e[1]],
)
def test_unknown_customer_is_a_404(api, method, path, body, db):
    for customer_id in (424242, 2**64):
        response = _call(api, method, path, body, customer_id)
        assert_problem(response, 404, "not-found")


# -------------------------------------------------------------------------------------------------
# Get
# -------------------------------------------------------------------------------------------------


def test_get_shows_every_public_field_and_no_secret(api, make_customer, vip_group, actor):
    title = Title.objects.create(name_fr="Mme", name_en="Ms", gender="female")
    customer = make_customer(
        groups=[vip_group],
        password="s3cret-Passw0rd",
        tags=["VIP"],
        consents={"newsletter": True},
        title=title,
        birthday=timezone.localdate().replace(year=1985),
    )
    customer_block(customer=customer, reason="Unpaid", actor=actor)
    Customer.objects.filter(pk=customer.pk).update(total_spent=Decimal("120.50"), orders_count=3)
    response = api.get(f"/{customer.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == customer.pk
    assert body["title"] == {"id": title.pk, "name": "Ms"}
    assert body["email"] == customer.email
    assert body["birthday"] == customer.birthday.isoformat()
    assert body["default_group"]["id"] == customer.default_group_id
    assert sorted(g["id"] for g in body["groups"]) == sorted(
        [customer.default_group_id, vip_group.pk]
    )
    assert body["tags"] == ["VIP"]
    assert body["consents"]["newsletter"]["granted"] is True
    assert body["consents"]["newsletter"]["changed_at"] is not None
    assert body["consents"]["sms"] == {"granted": False, "changed_at": None}
    assert body["is_blocked"] is True and body["blocked_reason"] == "Unpaid"
    assert body["blocked_by"]["id"] == actor.user.pk
    assert body["total_spent"] == "120.50"
    assert body["average_order"] == "40.17"
    assert body["orders_count"] == 3
    assert body["version"] == Customer.objects.get(pk=customer.pk).version
    assert body["created_at"].endswith("Z") or "+" in body["created_at"]
    text = response.content.decode()
    assert "password" not in body and "argon2" not in text and "s3cret" not in text
    assert Customer.objects.get(pk=customer.pk).password  # there was a hash to leak


def test_get_and_list_show_the_same_customer_in_the_request_language(
    api, make_customer, default_group, actor, django_assert_num_queries
):
    title = Title.objects.create(name_fr="Mme", name_en="Ms", gender="female")
    club = Group.objects.create(name_fr="Club des amis", name_en="Friends club")
    customer = make_customer(groups=[club], tags=["zèbre", "Alpha", "beta"], title=title)
    customer_block(customer=customer, reason="Unpaid", actor=actor)
    french = api.in_language("fr")
    body = french.get(f"/{customer.pk}").json()
    assert body["title"] == {"id": title.pk, "name": "Mme"}
    assert body["default_group"] == {"id": default_group.pk, "name": default_group.name_fr}
    assert body["groups"] == [
        {"id": default_group.pk, "name": default_group.name_fr},
        {"id": club.pk, "name": "Club des amis"},
    ]
    assert body["tags"] == ["Alpha", "beta", "zèbre"]  # by name, ignoring case and accents
    assert body["blocked_by"] == {"id": actor.user.pk, "name": "Marie Curie"}
    assert body["average_order"] == "0"
    listed = french.get("", {"limit": 250}).json()["results"]
    assert [row for row in listed if row["id"] == customer.pk] == [body]
    # The token (its last-used time was written by the first call), then the customer with
    # its groups and tags in the same query.
    with django_assert_num_queries(2):
        english = api.get(f"/{customer.pk}").json()
    assert english["groups"][1]["name"] == "Friends club"
    assert english["title"]["name"] == "Ms"


def test_deleted_customer_is_hidden_unless_asked(api, make_customer):
    customer = make_customer()
    Customer.objects.filter(pk=customer.pk).update(deleted_at=timezone.now())
    assert_problem(api.get(f"/{customer.pk}"), 404, "not-found")
    response = api.get(f"/{customer.pk}", {"include_deleted": "true"})
    assert response.status_code == 200
    assert response.json()["deleted_at"] is not None
    # Writes never reach it.
    assert_problem(api.patch(f"/{customer.pk}", {"company": "X"}), 404, "not-found")


# -------------------------------------------------------------------------------------------------
# Create
# -------------------------------------------------------------------------------------------------


def test_create_goes_through_the_edit_service(api, default_group, staff_user):
    response = api.post("", NEW)
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert customer.first_name == "Camille"
    assert customer.email == "Camille.Durand@Example.com"  # kept as given, compared folded
    assert customer.email_key == "camille.durand@example.com"
    assert body["email"] == customer.email
    assert customer.phone == "+33612345678"
    assert customer.siret == "73282932000074"
    assert customer.language == "en"
    assert customer.default_group == default_group
    assert customer.note == "Prefers e-mail."
    assert customer.newsletter is True and customer.sms is False
    assert body["tags"] == ["Newsletter 2024", "VIP"]
    address = customer.addresses.get()
    assert address.city == "Lyon"
    assert address.is_default_billing and address.is_default_shipping
    assert customer.country == "FR"
    created = _events(customer.pk, "customer_created")[0]
    _assert_api_event(created, staff_user)
    record = ConsentRecord.objects.get(customer=customer)
    assert (record.channel, record.granted, record.source) == ("newsletter", True, "api")
    assert record.actor_id == staff_user.pk


def test_create_with_groups(api, vip_group, default_group):
    body = api.post(
        "", {**NEW, "groups": [default_group.pk, vip_group.pk], "default_group": vip_group.pk}
    ).json()
    assert body["default_group"]["id"] == vip_group.pk
    assert {g["id"] for g in body["groups"]} == {default_group.pk, vip_group.pk}
    only = api.post("", {**NEW, "email": "other@example.com", "groups": [vip_group.pk]}).json()
    assert only["default_group"]["id"] == vip_group.pk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": ""}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"first_name": "  "}, "first_name"),
        ({"birthday": "2990-01-01"}, "birthday"),
        ({"birthday": "yesterday"}, "birthday"),
        ({"siret": "123"}, "siret"),
        ({"website": "ftp://x"}, "website"),
        ({"language": "de"}, "language"),
        ({"title": 999999}, "title"),
        ({"groups": [999999]}, "groups"),
        ({"groups": []}, "groups"),
        ({"tags": ["x" * 65]}, "tags.0"),
        ({"addresses": [{**NEW["addresses"][0], "country": "ZZ"}]}, "addresses.0.country"),
        ({"addresses": [{**NEW["addresses"][0], "city": ""}]}, "addresses.0.city"),
        ({"password": "hunter2"}, "password"),
        ({"last_name": None}, "last_name"),
    ],
)
def test_create_validation_errors_name_the_field(api, default_group, change, field):
    response = api.post("", {**NEW, **change})
    assert response.status_code == 400, response.content
    assert field in field_errors(response), response.json()
    assert not Customer.objects.exists()


def test_create_missing_fields(api, db):
    response = api.post("", {"first_name": "A"})
    assert_problem(response, 400, "invalid-request")
    assert {"last_name", "email"} <= set(field_errors(response))


def test_create_refuses_a_body_that_is_not_json(api, db):
    response = api.post("", raw="{not json")
    assert response.status_code == 400
    assert not Customer.objects.exists()


def test_duplicate_email_in_english_and_french(api, make_customer):
    existing = make_customer(email="camille.durand@example.com")
    response = api.post("", NEW)
    body = assert_problem(response, 400, "validation")
    assert field_errors(response)["email"] == "A customer with this e-mail address already exists."
    assert body["existing_customer_id"] == existing.pk
    response = api.in_language("fr").post("", NEW)
    assert field_errors(response)["email"] == "Un client avec cette adresse e-mail existe déjà."
    assert Customer.objects.count() == 1


# -------------------------------------------------------------------------------------------------
# Update
# -------------------------------------------------------------------------------------------------


def test_patch_changes_only_what_it_gives(api, make_customer, vip_group, staff_user):
    customer = make_customer(company="Old", tags=["keep"], note="Note")
    version = customer.version
    response = api.patch(
        f"/{customer.pk}", {"company": "New SAS", "mobile": "0611223344", "version": version}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["company"] == "New SAS"
    assert body["mobile"] == "+33611223344"
    assert body["tags"] == ["keep"] and body["note"] == "Note"
    assert body["first_name"] == customer.first_name
    assert body["version"] == version + 1
    event = _events(customer.pk, "customer_updated")[-1]
    _assert_api_event(event, staff_user)
    assert event.data["changes"]["company"] == {"before": "Old", "after": "New SAS"}


def test_patch_groups_tags_and_note(api, make_customer, vip_group, default_group):
    customer = make_customer(tags=["old"])
    body = api.patch(
        f"/{customer.pk}",
        {"default_group": vip_group.pk, "tags": ["new", "VIP"], "note": "Call back"},
    ).json()
    assert body["default_group"]["id"] == vip_group.pk
    assert {g["id"] for g in body["groups"]} == {default_group.pk, vip_group.pk}
    assert body["tags"] == ["new", "VIP"]
    assert body["note"] == "Call back"
    body = api.patch(f"/{customer.pk}", {"groups": [vip_group.pk]}).json()
    assert [g["id"] for g in body["groups"]] == [vip_group.pk]


def test_patch_with_a_stale_version_is_a_409_with_the_changes(api, make_customer, actor):
    customer = make_customer(company="Old")
    seen = customer.version
    customer_update(customer=customer, actor=actor, changes={"company": "Theirs"})
    response = api.patch(f"/{customer.pk}", {"company": "Mine", "version": seen})
    body = assert_problem(response, 409, "stale")
    assert body["changed"]["company"] == {"before": "Old", "after": "Theirs"}
    assert body["current_version"] == seen + 1
    assert "Another staff member changed this customer meanwhile" in body["title"]
    assert Customer.objects.get(pk=customer.pk).company == "Theirs"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": "bad"}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": None}, "first_name"),
        ({"groups": [999999]}, "groups"),
        ({"default_group": 999999}, "default_group"),
        ({"version": "one"}, "version"),
        ({"is_blocked": True}, "is_blocked"),
        ({"consents": {}}, "consents"),
    ],
)
def test_patch_validation_errors(api, make_customer, change, field):
    customer = make_customer()
    response = api.patch(f"/{customer.pk}", change)
    assert response.status_code == 400, response.content
    assert field in field_errors(response), response.json()
    assert Customer.objects.get(pk=customer.pk).version == customer.version


def test_patch_duplicate_email(api, make_customer):
    make_customer(email="taken@example.com")
    customer = make_customer()
    response = api.patch(f"/{customer.pk}", {"email": "TAKEN@example.com"})
    assert field_errors(response)["email"] == "A customer with this e-mail address already exists."


# -------------------------------------------------------------------------------------------------
# Delete
# -------------------------------------------------------------------------------------------------


def test_delete_uses_the_shops_default_mode(api, make_customer, staff_user, settings):
    settings.COMPTOIR_DELETE_MODE = "deny"
    customer = make_customer()
    response = api.delete(f"/{customer.pk}")
    assert response.status_code == 200
    assert response.json() == {"id": customer.pk, "mode": "deny", "changed": True}
    assert Customer.objects.get(pk=customer.pk).deleted_at is not None
    _assert_api_event(_events(customer.pk, "customer_deleted")[0], staff_user)
    # Hidden now; reachable again to anonymise.
    assert_problem(api.delete(f"/{customer.pk}"), 404, "not-found")
    response = api.delete(f"/{customer.pk}?mode=anonymise&include_deleted=true")
    assert response.json()["changed"] is True
    assert Customer.objects.get(pk=customer.pk).anonymised_at is not None


def test_delete_allow_removes_the_row(api, make_customer):
    customer = make_customer()
    response = api.delete(f"/{customer.pk}?mode=allow")
    assert response.json() == {"id": customer.pk, "mode": "allow", "changed": True}
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert_problem(api.get(f"/{customer.pk}"), 404, "not-found")


def test_delete_with_an_unknown_mode(api, make_customer):
    customer = make_customer()
    response = api.delete(f"/{customer.pk}?mode=shred")
    assert_problem(response, 400, "invalid-request")
    assert "mode" in field_errors(response)
    assert Customer.objects.get(pk=customer.pk).deleted_at is None


# -------------------------------------------------------------------------------------------------
# Block and unblock
# -------------------------------------------------------------------------------------------------


def test_block_and_unblock(api, make_customer, staff_user):
    customer = make_customer()
    response = api.post(f"/{customer.pk}/block", {"reason": "Chargebacks"})
    assert response.status_code == 200
    body = response.json()
    assert body["is_blocked"] is True and body["blocked_reason"] == "Chargebacks"
    assert body["blocked_by"]["id"] == staff_user.pk
    _assert_api_event(_events(customer.pk, "customer_blocked")[0], staff_user)
    again = api.post(f"/{customer.pk}/block", {"reason": "Again"})
    assert_problem(again, 409, "already-blocked")
    response = api.post(f"/{customer.pk}/unblock")
    assert response.json()["is_blocked"] is False
    _assert_api_event(_events(customer.pk, "customer_unblocked")[0], staff_user)
    assert_problem(api.post(f"/{customer.pk}/unblock"), 409, "not-blocked")


def test_block_needs_a_reason_in_both_languages(api, make_customer):
    customer = make_customer()
    response = api.post(f"/{customer.pk}/block", {"reason": "  "})
    assert field_errors(response)["reason"] == "Give a reason for blocking."
    response = api.in_language("fr").post(f"/{customer.pk}/block", {"reason": ""})
    assert field_errors(response)["reason"] == "Indiquez la raison du blocage."
    assert "reason" in field_errors(api.post(f"/{customer.pk}/block", {}))
    assert "until" in field_errors(api.post(f"/{customer.pk}/block", {"reason": "x", "until": 1}))
    assert not Customer.objects.get(pk=customer.pk).is_blocked


# -------------------------------------------------------------------------------------------------
# Login and guest conversion
# -------------------------------------------------------------------------------------------------


def test_login_disable_then_enable(api, make_customer, staff_user):
    customer = make_customer()
    response = api.put(f"/{customer.pk}/login", {"enabled": False})
    assert response.json() == {"enabled": False, "changed": True}
    assert Customer.objects.get(pk=customer.pk).is_enabled is False
    _assert_api_event(_events(customer.pk, "customer_disabled")[0], staff_user)
    assert api.put(f"/{customer.pk}/login", {"enabled": False}).json()["changed"] is False
    assert len(_events(customer.pk, "customer_disabled")) == 1
    assert api.put(f"/{customer.pk}/login", {"enabled": True}).json() == {
        "enabled": True,
        "changed": True,
    }
    assert api.get(f"/{customer.pk}").json()["is_enabled"] is True


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "missing"), ({"enabled": "maybe"}, "bool_parsing"), ({"enabled": True, "x": 1}, None)],
)
def test_login_validation(api, make_customer, body, code):
    customer = make_customer()
    response = api.put(f"/{customer.pk}/login", body)
    errors = assert_problem(response, 400, "invalid-request")["errors"]
    assert errors[0]["field"] == ("x" if code is None else "enabled")
    assert errors[0]["code"] == (code or "extra_forbidden")
    assert Customer.objects.get(pk=customer.pk).is_enabled is True


def test_convert_guest_folds_the_other_guests(api, make_customer, staff_user):
    guest = make_customer(is_guest=True, email="luc@example.com", first_name="Luc")
    other = make_customer(is_guest=True, email="LUC@example.com", phone="0611223344")
    response = api.post(f"/{guest.pk}/convert-guest")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["merged_guest_ids"] == [other.pk]
    assert body["customer"]["id"] == guest.pk and body["customer"]["is_guest"] is False
    assert body["customer"]["phone"] == "+33611223344"
    assert not Customer.objects.filter(pk=other.pk).exists()
    _assert_api_event(_events(guest.pk, "guest_converted")[0], staff_user)
    assert_problem(api.post(f"/{guest.pk}/convert-guest"), 409, "not-guest")


def test_convert_guest_refusals_in_both_languages(api, make_customer):
    taken = make_customer(email="ana@example.com")
    guest = make_customer(is_guest=True, email="ana@example.com")
    body = assert_problem(api.post(f"/{guest.pk}/convert-guest"), 409, "email-taken")
    assert body["existing_customer_id"] == taken.pk
    assert "merge this guest" in body["title"]
    nameless = make_customer(is_guest=True, email="")
    french = api.in_language("fr").post(f"/{nameless.pk}/convert-guest")
    assert "sans adresse e-mail" in assert_problem(french, 409, "no-email")["title"]
    assert Customer.objects.filter(is_guest=True).count() == 2


# -------------------------------------------------------------------------------------------------
# Merge
# -------------------------------------------------------------------------------------------------


def test_merge_keeps_the_survivors_values_by_default(api, make_customer, staff_user):
    survivor = make_customer(company="", phone="0611223344", tags=["a"])
    duplicate = make_customer(company="Dup SA", phone="0699887766", tags=["b"], note="dup")
    response = api.post(f"/{survivor.pk}/merge", {"duplicate_id": duplicate.pk})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["company"] == "Dup SA"  # the survivor had none
    assert body["phone"] == "+33611223344"
    assert body["tags"] == ["a", "b"]
    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    _assert_api_event(_events(survivor.pk, "customer_merged")[0], staff_user)


def test_merge_with_choices_and_versions(api, make_customer, actor):
    survivor = make_customer(first_name="Anne")
    duplicate = make_customer(first_name="Annie")
    body = api.post(
        f"/{survivor.pk}/merge",
        {
            "duplicate_id": duplicate.pk,
            "choices": {"first_name": "duplicate"},
            "duplicate_version": duplicate.version,
            "survivor_version": survivor.version,
        },
    ).json()
    assert body["first_name"] == "Annie"
    other = make_customer()
    seen = other.version
    customer_update(customer=other, actor=actor, changes={"company": "Changed"})
    response = api.post(
        f"/{survivor.pk}/merge", {"duplicate_id": other.pk, "duplicate_version": seen}
    )
    assert_problem(response, 409, "stale")
    assert Customer.objects.filter(pk=other.pk).exists()


def test_merge_refusals(api, make_customer):
    customer = make_customer()
    itself = api.post(f"/{customer.pk}/merge", {"duplicate_id": customer.pk})
    assert itself.status_code == 400
    assert "itself" in itself.json()["title"]
    missing = api.post(f"/{customer.pk}/merge", {"duplicate_id": 424242})
    assert "duplicate_id" in field_errors(missing)
    bad = api.post(
        f"/{customer.pk}/merge", {"duplicate_id": 2, "choices": {"password": "duplicate"}}
    )
    assert_problem(bad, 400, "invalid-request")
    assert any(field.startswith("choices") for field in field_errors(bad))


# -------------------------------------------------------------------------------------------------
# Personal data
# -------------------------------------------------------------------------------------------------


def test_personal_data_is_the_back_office_archive(api, read_only_api, make_customer, staff_user):
    customer = make_customer(password="s3cret-Passw0rd")
    response = read_only_api.get(f"/{customer.pk}/personal-data")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"personal-data-customer-{customer.pk}-" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        profile = archive.read("json/profile.json").decode()
    assert "README.txt" in names
    assert customer.email in profile
    assert "argon2" not in profile
    _assert_api_event(_events(customer.pk, "personal_data_exported")[0], staff_user)
