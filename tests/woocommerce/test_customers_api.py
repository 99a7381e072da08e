"""The customers endpoints through the Django test client (OAuth-signed over HTTP): list with
WooCommerce's parameters and headers, get, create, update, delete, batch, and their errors."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection

from comptoir.core.models import Event, Source
from comptoir.customers.models import Address, Customer
from comptoir.customers.services import address_create, customer_delete, customer_settings_update
from comptoir.woocommerce import services

from .conftest import API, oauth_params

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_customer):
    """Five registered customers, a guest and a deleted one."""
    names = [("Zoé", "Martin"), ("Ana", "Díaz"), ("Marc", "Petit"), ("Léa", "Roux"), ("Bob", "Ode")]
    rows = [make_customer(first_name=first, last_name=last) for first, last in names]
    make_customer(first_name="Guest", is_guest=True, email="guest@example.com")
    return rows


def requests_links(header: str) -> dict[str, str]:
    """A Link header as {rel: url}."""
    links = {}
    for part in header.split(","):
        url, _semicolon, rel = part.partition(";")
        links[rel.strip().removeprefix('rel="').removesuffix('"')] = url.strip().strip("<>")
    return links


def _emails(response):
    return [row["email"] for row in response.json()]


def _error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["code"], body["data"]["status"]) == (code, status)
    return body


# The list.


def test_list_defaults_to_name_ascending_ten_a_page(woo, people):
    response = woo.get("customers")
    assert response.status_code == 200
    assert [row["first_name"] for row in response.json()] == ["Ana", "Bob", "Léa", "Marc", "Zoé"]
    assert response["X-WP-Total"] == "5"
    assert response["X-WP-TotalPages"] == "1"
    assert "Link" not in response


def test_list_pages_with_headers_and_links(woo, people):
    response = woo.get("customers", {"per_page": 2, "page": 2, "orderby": "id", "order": "asc"})
    assert _emails(response) == [people[2].email, people[3].email]
    assert (response["X-WP-Total"], response["X-WP-TotalPages"]) == ("5", "3")
    links = requests_links(response["Link"])
    assert parse_qs(urlsplit(links["prev"]).query) == {
        "per_page": ["2"],
        "page": ["1"],
        "orderby": ["id"],
        "order": ["asc"],
    }
    assert parse_qs(urlsplit(links["next"]).query)["page"] == ["3"]
    assert links["next"].startswith("http://testserver/wp-json/wc/v3/customers?")
    last = woo.get("customers", {"per_page": 2, "page": 3, "orderby": "id"})
    assert _emails(last) == [people[4].email]
    assert 'rel="next"' not in last["Link"]
    beyond = woo.get("customers", {"per_page": 2, "page": 9})
    assert beyond.json() == [] and beyond["X-WP-Total"] == "5"


def test_list_offset_and_descending_registration(woo, people):
    response = woo.get(
        "customers", {"orderby": "registered_date", "order": "desc", "per_page": 2, "offset": 1}
    )
    assert _emails(response) == [people[3].email, people[2].email]


def test_list_search_and_exact_email_filter(woo, people, make_customer):
    make_customer(first_name="Ana", last_name="Other", email="ana.other@example.com")
    assert _emails(woo.get("customers", {"search": "diaz"})) == [people[1].email]
    upper = people[1].email.upper()
    assert _emails(woo.get("customers", {"email": upper})) == [people[1].email]
    # An e-mail filter is exact, not a substring.
    assert woo.get("customers", {"email": "example.com@x.org"}).json() == []
    # As in WooCommerce, the e-mail filter replaces the search when both are given.
    both = woo.get("customers", {"email": people[1].email, "search": "zoé"})
    assert _emails(both) == [people[1].email]


def test_list_include_exclude_and_include_order(woo, people):
    ids = [people[3].pk, people[0].pk, people[2].pk]
    included = woo.get("customers", {"include": ",".join(map(str, ids)), "orderby": "include"})
    assert [row["id"] for row in included.json()] == ids
    excluded = woo.get("customers", {"exclude": f"{people[0].pk} {people[1].pk}", "orderby": "id"})
    assert [row["id"] for row in excluded.json()] == [p.pk for p in people[2:]]


def test_list_ids_no_row_can_have_match_nothing(woo, people):
    huge = str(2**70)
    assert woo.get("customers", {"include": huge}).json() == []
    assert len(woo.get("customers", {"exclude": huge}).json()) == 5
    _error(woo.get(f"customers/{huge}"), 404, "woocommerce_rest_invalid_id")


def test_list_include_as_php_array(woo, people, client, key_pair):
    _key, ck, cs = key_pair
    path = f"{API}/customers"
    signed = oauth_params("GET", path, {}, ck, cs)
    query = urlencode([("include[]", people[1].pk), ("include[]", people[4].pk), ("orderby", "id")])
    # The PHP-array parameters are signed too: sign them as WooCommerce would see them.
    from comptoir.woocommerce.auth import oauth_signature, signature_base_string
    from comptoir.woocommerce.params import php_parse

    params = php_parse(
        [("include[]", str(people[1].pk)), ("include[]", str(people[4].pk)), ("orderby", "id")]
        + [(k, v) for k, v in signed.items() if k != "oauth_signature"]
    )
    base = signature_base_string("GET", f"http://testserver{path}", params)
    signed["oauth_signature"] = oauth_signature(base, cs, "HMAC-SHA256")
    response = client.get(f"{path}?{query}&{urlencode(signed)}")
    assert [row["id"] for row in response.json()] == [people[1].pk, people[4].pk]


def test_list_roles(woo, people):
    assert len(woo.get("customers", {"role": "all"}).json()) == 5
    assert woo.get("customers", {"role": "administrator"}).json() == []
    body = _error(woo.get("customers", {"role": "king"}), 400, "rest_invalid_param")
    assert "role" in body["data"]["params"]


def test_list_hides_guests_and_deleted_customers(woo, people, actor):
    customer_delete(customer=people[0], mode="deny", actor=actor)
    emails = _emails(woo.get("customers", {"role": "all"}))
    assert "guest@example.com" not in emails and people[0].email not in emails
    assert len(emails) == 4


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"per_page": 0}, "per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)"),
        (
            {"per_page": 101},
            "per_page",
            "per_page must be between 1 (inclusive) and 100 (inclusive)",
        ),
        ({"per_page": "ten"}, "per_page", "per_page is not of type integer."),
        ({"page": 0}, "page", "page must be greater than or equal to 1"),
        ({"order": "up"}, "order", "order is not one of asc, desc."),
        (
            {"orderby": "email"},
            "orderby",
            "orderby is not one of id, include, name, registered_date.",
        ),
        ({"include": "1,x"}, "include", "include[1] is not of type integer."),
        ({"email": "not-an-email"}, "email", "Invalid email address."),
    ],
)
def test_list_parameters_are_checked_like_wordpress(woo, params, field, message):
    body = _error(woo.get("customers", params), 400, "rest_invalid_param")
    assert body["data"]["params"] == {field: message}
    assert body["message"] == f"Invalid parameter(s): {field}"


def test_a_repeated_parameter_counts_once_the_last_winning(client, key_pair, people):
    _key, ck, cs = key_pair
    path = f"{API}/customers"
    signed = oauth_params("GET", path, {"per_page": "2"}, ck, cs)
    response = client.get(f"{path}?per_page=50&{urlencode(signed)}&per_page=2")
    assert response.status_code == 200 and len(response.json()) == 2


def test_the_list_runs_a_fixed_number_of_queries(
    woo, make_customer, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(services, "NONCE_PURGE_EVERY", 10**9)  # no purge in the count
    for _ in range(3):
        make_customer()
    woo.get("customers")  # the first call notes the key's last access
    # The key, the nonce (savepoint, insert, release), the count, the highest id (SQLite only:
    # how selective the filter is), the page's ids, the rows, their addresses.
    queries = 9 if connection.vendor == "sqlite" else 8
    with django_assert_num_queries(queries):
        assert len(woo.get("customers", {"per_page": 3}).json()) == 3
    for _ in range(12):
        make_customer()
    with django_assert_num_queries(queries):
        assert len(woo.get("customers", {"per_page": 15}).json()) == 15


def test_fields_parameter(woo, people, actor):
    rows = woo.get("customers", {"_fields": "id,email", "per_page": 1}).json()
    assert list(rows[0]) == ["id", "email"]
    address_create(
        customer=people[1],
        actor=actor,
        first_name="Ana",
        last_name="Díaz",
        address1="1 rue",
        city="Lyon",
        country="FR",
    )
    one = woo.get(f"customers/{people[1].pk}", {"_fields": "billing.city,shipping.country,_links"})
    assert one.json() == {
        "billing": {"city": "Lyon"},
        "shipping": {"country": "FR"},
        "_links": {
            "self": [{"href": f"http://testserver{API}/customers/{people[1].pk}"}],
            "collection": [{"href": f"http://testserver{API}/customers"}],
        },
    }


# One customer.


def test_get_one(woo, people):
    response = woo.get(f"customers/{people[1].pk}")
    assert response.status_code == 200
    assert response.json()["last_name"] == "Díaz"
    assert woo.get(f"customers/{people[1].pk}/").status_code == 200


@pytest.mark.parametrize("which", ["missing", "guest", "deleted"])
def test_get_one_not_found(woo, people, actor, which):
    if which == "missing":
        pk = 999999
    elif which == "guest":
        pk = Customer.objects.get(email="guest@example.com").pk
    else:
        customer_delete(customer=people[0], mode="deny", actor=actor)
        pk = people[0].pk
    body = _error(woo.get(f"customers/{pk}"), 404, "woocommerce_rest_invalid_id")
    assert body["message"] == "Invalid resource ID."


# Create.


def test_create_with_addresses_writes_events_as_the_keys_staff_member(woo, staff_user):
    response = woo.post(
        "customers",
        {
            "email": "ana@example.com",
            "first_name": "Ana",
            "last_name": "Díaz",
            "username": "ana",
            "password": "a long enough password",
            "billing": {
                "first_name": "Ana",
                "last_name": "Díaz",
                "address_1": "1 rue X",
                "city": "Lyon",
                "postcode": "69001",
                "country": "FR",
                "email": "ana@example.com",
                "phone": "06 12 34 56 78",
            },
            "shipping": {
                "first_name": "Ana",
                "last_name": "Díaz",
                "address_1": "9 quai Y",
                "city": "Paris",
                "postcode": "75004",
                "country": "FR",
            },
        },
    )
    assert response.status_code == 201, response.content
    data = response.json()
    customer = Customer.objects.get(pk=data["id"])
    assert response["Location"] == f"http://testserver{API}/customers/{customer.pk}"
    assert (customer.email, customer.first_name, customer.phone) == (
        "ana@example.com",
        "Ana",
        "+33612345678",
    )
    assert customer.password.startswith("argon2")
    assert "password" not in data
    assert data["billing"]["city"] == "Lyon" and data["shipping"]["city"] == "Paris"
    billing = Address.objects.get(customer=customer, is_default_billing=True)
    shipping = Address.objects.get(customer=customer, is_default_shipping=True)
    assert (billing.city, shipping.city) == ("Lyon", "Paris")
    events = Event.objects.filter(customer_id=customer.pk)
    assert {e.kind for e in events} >= {"customer_created", "address_added"}
    assert {(e.source, e.actor_id) for e in events} == {(Source.API, staff_user.pk)}


def test_create_with_only_a_billing_address_shares_it_as_shipping(woo):
    response = woo.post(
        "customers",
        {
            "email": "b@example.com",
            "billing": {
                "first_name": "Bea",
                "last_name": "Bo",
                "address_1": "2 rue",
                "city": "Nice",
                "country": "FR",
            },
            "shipping": {key: "" for key in ("first_name", "address_1", "city", "country")},
        },
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["first_name"], data["last_name"]) == ("Bea", "Bo")  # from the billing names
    assert data["shipping"]["city"] == "Nice"
    assert Address.objects.filter(customer_id=data["id"]).count() == 1


def test_create_with_company_and_no_address_keeps_the_company(woo):
    response = woo.post(
        "customers",
        {
            "email": "c@example.com",
            "first_name": "C",
            "last_name": "D",
            "billing": {"company": "ACME"},
        },
    )
    assert response.json()["billing"]["company"] == "ACME"
    assert Customer.objects.get(email="c@example.com").company == "ACME"
    assert not Address.objects.filter(customer__email="c@example.com").exists()


def test_create_refusals(woo, people):
    taken = _error(
        woo.post(
            "customers", {"email": people[0].email.upper(), "first_name": "A", "last_name": "B"}
        ),
        400,
        "registration-error-email-exists",
    )
    assert taken["message"] == "A customer with this e-mail address already exists."
    _error(
        woo.post("customers", {"email": "not-an-email", "first_name": "A", "last_name": "B"}),
        400,
        "registration-error-invalid-email",
    )
    missing = _error(woo.post("customers", {"first_name": "A"}), 400, "rest_missing_callback_param")
    assert missing["data"]["params"] == ["email", "last_name"]
    _error(
        woo.post(
            "customers", {"id": 5, "email": "n@example.com", "first_name": "A", "last_name": "B"}
        ),
        400,
        "woocommerce_rest_customer_exists",
    )
    bad_phone = _error(
        woo.post(
            "customers",
            {
                "email": "p@example.com",
                "first_name": "A",
                "last_name": "B",
                "billing": {"phone": "12"},
            },
        ),
        400,
        "rest_invalid_param",
    )
    assert list(bad_phone["data"]["params"]) == ["billing[phone]"]
    half_address = _error(
        woo.post(
            "customers",
            {
                "email": "h@example.com",
                "first_name": "A",
                "last_name": "B",
                "billing": {"address_1": "1 rue"},
            },
        ),
        400,
        "rest_invalid_param",
    )
    assert set(half_address["data"]["params"]) == {"billing[city]", "billing[country]"}
    too_long = _error(
        woo.post(
            "customers",
            {
                "email": "l@example.com",
                "first_name": "A",
                "last_name": "B",
                "billing": {"address_1": "1 rue", "city": "Lyon", "country": "FR"},
                "shipping": {"postcode": "6" * 17},
            },
        ),
        400,
        "rest_invalid_param",
    )
    assert too_long["data"]["params"] == {"shipping[postcode]": "This value is too long."}
    # Nothing of the refused requests was written.
    refused = ["p@example.com", "h@example.com", "l@example.com"]
    assert not Customer.objects.filter(email__in=refused).exists()


def test_invalid_json_is_refused(client, key_pair):
    _key, ck, cs = key_pair
    path = f"{API}/customers"
    signed = oauth_params("POST", path, {}, ck, cs)
    response = client.post(
        f"{path}?{urlencode(signed)}", "{not json", content_type="application/json"
    )
    _error(response, 400, "rest_invalid_json")


def test_create_from_a_form_body(client, key_pair):
    """A form body is signed (PHP's $_POST) and read with PHP's brackets."""
    _key, ck, cs = key_pair
    path = f"{API}/customers"
    form = {
        "email": "f@example.com",
        "first_name": "F",
        "last_name": "Orm",
        # In sorted order: the independent signer sorts the whole names.
        "billing[address_1]": "1 rue",
        "billing[city]": "Lyon",
        "billing[country]": "FR",
    }
    signed = oauth_params("POST", path, form, ck, cs)
    body = urlencode(form)
    oauth_only = {k: v for k, v in signed.items() if k.startswith("oauth_")}
    response = client.post(
        f"{path}?{urlencode(oauth_only)}", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201, response.content
    assert response.json()["billing"]["city"] == "Lyon"


# Update.


def test_update_partial_with_put_patch_and_post(woo, people):
    pk = people[0].pk
    assert woo.put(f"customers/{pk}", {"first_name": "Zora"}).json()["first_name"] == "Zora"
    assert (
        woo.request("PATCH", f"customers/{pk}", {"last_name": "Mars"}).json()["last_name"] == "Mars"
    )
    assert (
        woo.post(f"customers/{pk}", {"email": "zora@example.com"}).json()["email"]
        == "zora@example.com"
    )
    customer = Customer.objects.get(pk=pk)
    assert (customer.first_name, customer.last_name, customer.email) == (
        "Zora",
        "Mars",
        "zora@example.com",
    )
    assert (
        Event.objects.filter(customer_id=pk, kind="customer_updated", source=Source.API).count()
        == 3
    )


def test_update_a_round_tripped_object_changes_only_what_changed(woo, people, actor):
    address_create(
        customer=people[0],
        actor=actor,
        first_name="Zoé",
        last_name="Martin",
        address1="1 rue",
        city="Lyon",
        country="FR",
    )
    data = woo.get(f"customers/{people[0].pk}").json()
    before = Event.objects.count()
    data["first_name"] = "Zoë"
    response = woo.put(f"customers/{people[0].pk}", data)
    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Zoë"
    assert list(
        Event.objects.filter(id__gt=0)
        .order_by("-id")
        .values_list("kind", flat=True)[: Event.objects.count() - before]
    ) == ["customer_updated"]


def test_update_shipping_gives_it_its_own_address(woo, people, actor):
    shared = address_create(
        customer=people[0],
        actor=actor,
        first_name="Zoé",
        last_name="Martin",
        address1="1 rue",
        city="Lyon",
        country="FR",
    )
    response = woo.put(
        f"customers/{people[0].pk}", {"shipping": {"address_1": "5 av", "city": "Lille"}}
    )
    data = response.json()
    assert (data["billing"]["city"], data["shipping"]["city"]) == ("Lyon", "Lille")
    shared.refresh_from_db()
    assert shared.is_default_billing and not shared.is_default_shipping
    assert shared.city == "Lyon"


def test_update_billing_address_and_phone(woo, people, actor):
    address_create(
        customer=people[0],
        actor=actor,
        first_name="Zoé",
        last_name="Martin",
        address1="1 rue",
        city="Lyon",
        country="FR",
    )
    data = woo.put(
        f"customers/{people[0].pk}",
        {
            "billing": {"city": "Bron", "postcode": "69500", "phone": "0611223344"},
            "shipping": {"city": "Bron", "postcode": "69500"},
        },
    ).json()
    assert (data["billing"]["city"], data["shipping"]["city"], data["billing"]["phone"]) == (
        "Bron",
        "Bron",
        "+33611223344",
    )
    assert Address.objects.filter(customer=people[0]).count() == 1  # still one, both defaults


def test_update_refusals(woo, people):
    taken = _error(
        woo.put(f"customers/{people[0].pk}", {"email": people[1].email}),
        400,
        "woocommerce_rest_customer_invalid_email",
    )
    assert taken["message"] == "A customer with this e-mail address already exists."
    empty_name = _error(
        woo.put(f"customers/{people[0].pk}", {"first_name": ""}), 400, "rest_invalid_param"
    )
    assert list(empty_name["data"]["params"]) == ["first_name"]
    _error(woo.put("customers/999999", {"first_name": "X"}), 404, "woocommerce_rest_invalid_id")
    assert Customer.objects.get(pk=people[0].pk).first_name == "Zoé"


def test_update_password(woo, people):
    woo.put(f"customers/{people[0].pk}", {"password": "another long password"})
    customer = Customer.objects.get(pk=people[0].pk)
    assert customer.password.startswith("argon2")
    assert Event.objects.filter(customer_id=customer.pk, kind="password_changed").exists()


def test_method_override(client, key_pair, people):
    _key, ck, cs = key_pair
    path = f"{API}/customers/{people[0].pk}"
    signed = oauth_params("POST", path, {"_method": "DELETE", "force": "true"}, ck, cs)
    response = client.post(f"{path}?{urlencode(signed)}", "", content_type="application/json")
    assert response.status_code == 200
    assert Customer.objects.get(pk=people[0].pk).deleted_at is not None


# Delete.


def test_delete_needs_force(woo, people):
    body = _error(
        woo.delete(f"customers/{people[0].pk}"), 501, "woocommerce_rest_trash_not_supported"
    )
    assert body["message"] == "Customers do not support trashing."
    _error(
        woo.delete(f"customers/{people[0].pk}", {"force": "false"}),
        501,
        "woocommerce_rest_trash_not_supported",
    )
    for refused in ("yes", "", "2"):
        bad = _error(
            woo.delete(f"customers/{people[0].pk}", {"force": refused}), 400, "rest_invalid_param"
        )
        assert bad["data"]["params"] == {"force": "force is not of type boolean."}
    assert Customer.objects.get(pk=people[0].pk).deleted_at is None


@pytest.mark.parametrize("force", ["true", "True", "1"])
def test_delete_with_force_answers_the_deleted_object(woo, people, staff_user, force):
    response = woo.delete(f"customers/{people[0].pk}", {"force": force})
    assert response.status_code == 200
    assert response.json()["email"] == people[0].email
    # The shop's default delete mode: "deny re-registration" keeps the row, hidden.
    assert Customer.objects.get(pk=people[0].pk).deleted_at is not None
    event = Event.objects.get(customer_id=people[0].pk, kind="customer_deleted")
    assert (event.source, event.actor_id, event.data["mode"]) == (Source.API, staff_user.pk, "deny")
    _error(woo.get(f"customers/{people[0].pk}"), 404, "woocommerce_rest_invalid_id")
    _error(
        woo.delete(f"customers/{people[0].pk}", {"force": "true"}),
        404,
        "woocommerce_rest_invalid_id",
    )


def test_delete_follows_the_shops_delete_mode(woo, people, actor):
    customer_settings_update(actor=actor, required_fields=[], delete_mode="allow")
    assert woo.delete(f"customers/{people[0].pk}", {"force": "true"}).status_code == 200
    assert not Customer.objects.filter(pk=people[0].pk).exists()


# Batch.


def test_batch_create_update_delete_with_errors_in_place(woo, people):
    response = woo.post(
        "customers/batch",
        {
            "create": [
                {"email": "new1@example.com", "first_name": "New", "last_name": "One"},
                {"email": people[1].email, "first_name": "Dup", "last_name": "Licate"},
                "not an object",
            ],
            "update": [
                {"id": people[2].pk, "first_name": "Marco"},
                {"id": 999999, "first_name": "X"},
            ],
            "delete": [people[3].pk, 0, 999999],
        },
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["create"][0]["email"] == "new1@example.com"
    assert data["create"][1]["id"] == 0
    assert data["create"][1]["error"]["code"] == "registration-error-email-exists"
    assert data["create"][2]["error"]["code"] == "rest_invalid_param"
    assert data["update"][0]["first_name"] == "Marco"
    # Inside a batch WooCommerce calls update_item directly: an unknown id is its 400.
    assert data["update"][1] == {
        "id": 999999,
        "error": {
            "code": "woocommerce_rest_invalid_id",
            "message": "Invalid resource ID.",
            "data": {"status": 400},
        },
    }
    assert [row.get("id") for row in data["delete"]] == [people[3].pk, 999999]
    assert "error" in data["delete"][1]
    assert Customer.objects.filter(email="new1@example.com").exists()
    assert Customer.objects.get(pk=people[3].pk).deleted_at is not None


def test_batch_limits_and_empty(woo):
    body = _error(
        woo.post("customers/batch", {"delete": list(range(1, 102))}),
        413,
        "woocommerce_rest_request_entity_too_large",
    )
    assert body["message"] == "Unable to accept more than 100 items for this request."
    assert woo.post("customers/batch", {}).json() == []


# Routes.


def test_unknown_routes_answer_wordpress_no_route(woo, client):
    _error(woo.get("orders"), 404, "rest_no_route")
    _error(woo.request("DELETE", "customers"), 404, "rest_no_route")
    _error(client.get("/wp-json/"), 404, "rest_no_route")
    _error(client.get("/wp-json/wp/v2/users"), 404, "rest_no_route")


def test_options_needs_no_key(client):
    response = client.options(f"{API}/customers")
    assert response.status_code == 200
    assert json.loads(response.content)["methods"] == ["GET", "HEAD", "POST"]
