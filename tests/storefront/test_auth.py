"""Who may call the storefront API: the shop's key for server calls, a customer's session token
for "my account" calls, and which address the records get."""

import datetime

import pytest
from django.utils import timezone

from comptoir.customers.models import ConsentRecord
from comptoir.customers.services import customer_delete, customer_enabled_set
from comptoir.storefront.models import CustomerSession, token_hash
from tests.storefront.conftest import PASSWORD, problem

pytestmark = pytest.mark.django_db

SERVER_CALLS = [
    ("/orders", {"email": "a@example.com", "first_name": "A", "last_name": "B", "lines": []}),
    ("/register", {}),
    ("/login", {"email": "a@example.com", "password": "x"}),
    ("/password-reset", {"email": "a@example.com"}),
    ("/password-reset/confirm", {"token": "x", "password": "y"}),
]
ACCOUNT_CALLS = [
    ("get", "/me", None),
    ("patch", "/me", {"first_name": "X"}),
    ("get", "/me/addresses", None),
    ("post", "/me/addresses", {}),
    ("get", "/me/addresses/1", None),
    ("patch", "/me/addresses/1", {}),
    ("delete", "/me/addresses/1", None),
    ("get", "/me/orders", None),
    ("get", "/me/consents", None),
    ("put", "/me/consents/newsletter", {"granted": True}),
    ("post", "/me/personal-data", {}),
    ("post", "/me/erase", {"password": "x"}),
    ("post", "/logout", {}),
]


@pytest.mark.parametrize(("path", "body"), SERVER_CALLS)
def test_server_calls_refuse_a_missing_key(api, path, body):
    body = problem(api.post(path, body, key=None), 401, "storefront-key-required")
    assert body["reason"] == "storefront_key_missing"
    assert "X-Storefront-Key" in body["title"]


@pytest.mark.parametrize(("path", "body"), SERVER_CALLS)
def test_server_calls_refuse_a_wrong_key(api, path, body):
    response = api.post(path, body, key="not-the-key")
    problem(response, 401, "storefront-key-required", "storefront_key_invalid")
    assert response["WWW-Authenticate"]


def test_no_key_configured_answers_503(api, settings):
    settings.COMPTOIR_STOREFRONT_KEY = ""
    problem(
        api.post("/login", {"email": "a@example.com", "password": "x"}, key="anything"),
        503,
        "storefront-key-required",
        "storefront_key_not_configured",
    )


def test_several_keys_allow_rotation(api, settings, registered):
    settings.COMPTOIR_STOREFRONT_KEY = "old-key, new-key"
    customer = registered()
    for key in ("old-key", "new-key"):
        response = api.post("/login", {"email": customer.email, "password": PASSWORD}, key=key)
        assert response.status_code == 200


def test_a_customer_token_is_not_a_storefront_key(api, registered):
    customer = registered()
    token = api.login(customer.email)
    problem(
        api.post("/login", {"email": customer.email, "password": PASSWORD}, key=None, token=token),
        401,
        "storefront-key-required",
        "storefront_key_missing",
    )


@pytest.mark.parametrize(("method", "path", "body"), ACCOUNT_CALLS)
def test_account_calls_refuse_no_token(api, method, path, body):
    # The shop's key alone does not say which customer: it is not enough.
    response = api.call(method, path, body)
    problem(response, 401, "customer-session-required", "session_missing")


@pytest.mark.parametrize(("method", "path", "body"), ACCOUNT_CALLS)
def test_account_calls_refuse_an_unknown_token(api, method, path, body):
    response = api.call(method, path, body, token="made-up-token")
    problem(response, 401, "customer-session-required", "session_invalid")


def test_expired_and_revoked_sessions_are_refused(api, registered):
    customer = registered()
    token = api.login(customer.email)
    session = CustomerSession.objects.get(token_hash=token_hash(token))
    session.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    session.save()
    problem(api.get("/me", token=token), 401, "customer-session-required", "session_expired")
    session.expires_at = timezone.now() + datetime.timedelta(days=1)
    session.revoked_at = timezone.now()
    session.save()
    problem(api.get("/me", token=token), 401, "customer-session-required", "session_invalid")


def test_a_disabled_customers_session_stops_working(api, registered, actor):
    customer = registered()
    token = api.login(customer.email)
    customer_enabled_set(customer=customer, enabled=False, actor=actor)
    problem(api.get("/me", token=token), 403, "account-disabled", "account_disabled")


def test_a_deleted_customers_session_stops_working(api, registered, actor):
    customer = registered()
    token = api.login(customer.email)
    customer_delete(customer=customer, mode="deny", actor=actor)
    problem(api.get("/me", token=token), 401, "customer-session-required", "session_invalid")


def test_the_session_token_is_stored_hashed(api, registered):
    customer = registered()
    token = api.login(customer.email)
    session = CustomerSession.objects.get(customer=customer)
    assert session.token_hash == token_hash(token) and token not in session.token_hash
    assert len(token) >= 40


def test_customer_ip_header_is_trusted_only_with_the_key(api, registered):
    customer = registered()
    token = api.login(customer.email)
    api.put(
        "/me/consents/newsletter",
        {"granted": True},
        token=token,
        headers={"X-Customer-IP": "198.51.100.23"},
    )
    api.put(
        "/me/consents/sms",
        {"granted": True},
        token=token,
        key=None,
        headers={"X-Customer-IP": "198.51.100.99"},
    )
    rows = dict(
        ConsentRecord.objects.filter(customer=customer).values_list("channel", "ip_address")
    )
    assert rows == {"newsletter": "198.51.100.23", "sms": "127.0.0.1"}


def test_the_openapi_document_declares_both_credentials(api):
    doc = api.get("/openapi.json", key=None).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["StorefrontKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Storefront-Key",
    }
    assert schemes["CustomerTokenAuth"]["scheme"] == "bearer"
    assert doc["paths"]["/api/storefront/v1/orders"]["post"]["security"] == [
        {"StorefrontKeyAuth": []}
    ]
    assert doc["paths"]["/api/storefront/v1/me"]["get"]["security"] == [{"CustomerTokenAuth": []}]
