"""Our customer as WooCommerce's v3 customer object, and WooCommerce bodies as our changes."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from comptoir.customers.services import address_create
from comptoir.woocommerce.errors import WooError
from comptoir.woocommerce.mapping import (
    customer_to_woo,
    fields_keep,
    woo_error_from_validation,
    woo_input_parse,
)
from comptoir.woocommerce.selectors import woo_customer_get

COLLECTION = "http://shop.example/wp-json/wc/v3/customers"
# The documented v3 customer object (WooCommerce REST API docs, "Customer properties").
V3_KEYS = [
    "id",
    "date_created",
    "date_created_gmt",
    "date_modified",
    "date_modified_gmt",
    "email",
    "first_name",
    "last_name",
    "role",
    "username",
    "billing",
    "shipping",
    "is_paying_customer",
    "avatar_url",
    "meta_data",
    "_links",
]
BILLING_KEYS = {
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "state",
    "postcode",
    "country",
    "email",
    "phone",
}


@pytest.fixture
def ana(make_customer, actor):
    customer = make_customer(
        first_name="Ana", last_name="Díaz", email="Ana@Example.com", phone="06 12 34 56 78"
    )
    address_create(
        customer=customer,
        actor=actor,
        first_name="Ana",
        last_name="Díaz",
        company="Atelier Díaz",
        address1="1 rue de la Paix",
        address2="Bât. B",
        postcode="69001",
        city="Lyon",
        state="",
        country="FR",
        phone="04 72 00 00 00",
    )
    return customer


def test_customer_as_the_documented_v3_object(ana):
    ana.created_at = datetime.datetime(2024, 1, 15, 9, 30, 5, 123, tzinfo=datetime.UTC)
    ana.save(update_fields=["created_at"])
    data = customer_to_woo(woo_customer_get(customer_id=ana.pk), collection_url=COLLECTION)
    assert list(data) == V3_KEYS
    assert data["id"] == ana.pk
    assert data["email"] == "Ana@Example.com"
    assert data["username"] == "Ana@Example.com"
    assert (data["first_name"], data["last_name"], data["role"]) == ("Ana", "Díaz", "customer")
    # The shop's time zone (Europe/Paris, UTC+1 in January) and UTC, without offsets.
    assert data["date_created"] == "2024-01-15T10:30:05"
    assert data["date_created_gmt"] == "2024-01-15T09:30:05"
    assert set(data["billing"]) == BILLING_KEYS
    assert data["billing"] == {
        "first_name": "Ana",
        "last_name": "Díaz",
        "company": "Atelier Díaz",
        "address_1": "1 rue de la Paix",
        "address_2": "Bât. B",
        "city": "Lyon",
        "postcode": "69001",
        "country": "FR",
        "state": "",
        "email": "Ana@Example.com",
        "phone": "+33612345678",  # the customer's own phone first
    }
    # The first address is both defaults in Comptoir: shipping shows it with its own phone.
    assert data["shipping"]["address_1"] == "1 rue de la Paix"
    assert data["shipping"]["phone"] == "+33472000000"
    assert "email" not in data["shipping"]
    assert data["is_paying_customer"] is False
    digest = hashlib.sha256(b"ana@example.com").hexdigest()
    assert data["avatar_url"].startswith(f"https://secure.gravatar.com/avatar/{digest}")
    assert data["meta_data"] == []
    assert data["_links"] == {
        "self": [{"href": f"{COLLECTION}/{ana.pk}"}],
        "collection": [{"href": COLLECTION}],
    }


def test_customer_without_address_has_empty_addresses(make_customer):
    customer = make_customer(company="Dupont SARL")
    data = customer_to_woo(woo_customer_get(customer_id=customer.pk), collection_url=COLLECTION)
    assert data["billing"]["address_1"] == "" and data["billing"]["country"] == ""
    assert data["billing"]["company"] == "Dupont SARL"
    assert data["billing"]["email"] == customer.email
    assert set(data["shipping"].values()) == {""}


def test_paying_customer_has_orders(make_customer):
    customer = make_customer()
    record = woo_customer_get(customer_id=customer.pk)
    record.customer.orders_count = 1
    assert customer_to_woo(record, collection_url=COLLECTION)["is_paying_customer"] is True


def test_fields_keep_only_the_requested_top_level_fields(ana):
    data = customer_to_woo(woo_customer_get(customer_id=ana.pk), collection_url=COLLECTION)
    kept = fields_keep(data, ["email", "id", "billing.city", "billing.nothing", "nothing"])
    assert list(kept) == ["id", "email", "billing"]  # the object's order, not the request's
    assert kept["billing"] == {"city": "Lyon"}
    # A whole object asked for wins over one of its fields, in either order.
    for fields in (["billing", "billing.city"], ["billing.city", "billing"]):
        assert fields_keep(data, fields) == {"billing": data["billing"]}
    assert fields_keep(data, None) is data


def test_input_parse_maps_fields_and_falls_back_on_address_names():
    data = woo_input_parse(
        {
            "email": " ana@example.com ",
            "username": "ignored",
            "meta_data": [{"key": "x", "value": 1}],
            "billing": {
                "first_name": "Ana",
                "last_name": "Díaz",
                "address_1": "1 rue X",
                "postcode": 69001,
                "phone": "0612345678",
                "email": "other@example.com",
            },
            "shipping": {"city": "Lyon", "phone": "0472000000"},
            "password": "s3cret-pass",
        },
        creating=True,
    )
    assert data.profile == {"email": "ana@example.com", "first_name": "Ana", "last_name": "Díaz"}
    assert data.billing == {
        "first_name": "Ana",
        "last_name": "Díaz",
        "address1": "1 rue X",
        "postcode": "69001",
    }
    assert data.phone == "0612345678"
    assert data.shipping == {"city": "Lyon", "phone": "0472000000"}
    assert data.password == "s3cret-pass"


def test_input_parse_refuses_wrong_types_with_one_message_each():
    with translation.override("en"), pytest.raises(WooError) as caught:
        woo_input_parse(
            {"email": ["a"], "billing": "Lyon", "shipping": {"city": {"x": 1}}}, creating=False
        )
    error = caught.value
    assert (error.code, error.status) == ("rest_invalid_param", 400)
    assert error.data["params"] == {
        "email": "email is not of type string.",
        "billing": "billing is not of type object.",
        "shipping[city]": "shipping[city] is not of type string.",
    }


def test_creating_needs_an_email_and_names():
    with translation.override("en"), pytest.raises(WooError) as caught:
        woo_input_parse({"first_name": "Ana"}, creating=True)
    assert caught.value.code == "rest_missing_callback_param"
    assert caught.value.data["params"] == ["email", "last_name"]
    assert caught.value.message == "Missing parameter(s): email, last_name"
    # An update may leave everything out.
    assert woo_input_parse({}, creating=False).profile == {}


def test_service_errors_take_woocommerce_codes():
    duplicate = ValidationError({"email": ValidationError("Taken.", code="duplicate")})
    assert woo_error_from_validation(duplicate, creating=True).code == (
        "registration-error-email-exists"
    )
    assert woo_error_from_validation(duplicate, creating=False).code == (
        "woocommerce_rest_customer_invalid_email"
    )
    invalid = ValidationError({"email": ValidationError("Not an e-mail.", code="invalid")})
    assert woo_error_from_validation(invalid, creating=True).code == (
        "registration-error-invalid-email"
    )
    fields = ValidationError(
        {
            "phone": ValidationError("Bad phone.", code="invalid_phone"),
            "shipping.address1": ValidationError("Required.", code="required"),
            "first_name": ValidationError("Required.", code="required"),
        }
    )
    with translation.override("en"):
        error = woo_error_from_validation(fields, creating=False)
    assert error.code == "rest_invalid_param" and error.status == 400
    assert error.data["params"] == {
        "billing[phone]": "Bad phone.",
        "shipping[address_1]": "Required.",
        "first_name": "Required.",
    }
    assert error.message == "Invalid parameter(s): billing[phone], shipping[address_1], first_name"
