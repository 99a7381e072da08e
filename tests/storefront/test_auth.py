"""Who may call the storefront API: the shop's key on every call, a customer's session token as
well on the "my account" calls, and which address the records get."""

import ast
import datetime
import os
import subprocess
import sys

import pytest
from django.utils import timezone

from comptoir.core.models import Event
from comptoir.customers.models import ConsentRecord
from comptoir.customers.services import customer_delete, customer_enabled_set
from comptoir.orders.models import Order
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


ALL_CALLS = [("post", path, body) for path, body in SERVER_CALLS] + ACCOUNT_CALLS


@pytest.mark.parametrize(("method", "path", "body"), ALL_CALLS)
def test_every_call_refuses_a_missing_key(api, registered, method, path, body):
    # Even with a valid customer token: the token alone does not reach the account.
    token = api.login(registered().email)
    response = api.call(method, path, body, key=None, token=token)
    body = problem(response, 401, "storefront-key-required", "storefront_key_missing")
    assert "X-Storefront-Key" in body["title"]
    assert response["WWW-Authenticate"] == 'Bearer realm="storefront-key"'


@pytest.mark.parametrize(("method", "path", "body"), ALL_CALLS)
def test_every_call_refuses_a_wrong_key(api, registered, method, path, body):
    token = api.login(registered().email)
    response = api.call(method, path, body, key="not-the-key", token=token)
    problem(response, 401, "storefront-key-required", "storefront_key_invalid")
    assert response["WWW-Authenticate"]


def test_a_refused_call_writes_nothing(api, registered):
    customer = registered()
    token = api.login(customer.email)
    before = (ConsentRecord.objects.count(), Event.objects.count(), Order.objects.count())
    api.put("/me/consents/newsletter", {"granted": True}, key=None, token=token)
    api.post(
        "/orders",
        {
            "email": customer.email,
            "first_name": "A",
            "last_name": "B",
            "lines": [{"product_name": "Mug", "quantity": 1, "unit_price": "3.00"}],
        },
        key="not-the-key",
    )
    assert (ConsentRecord.objects.count(), Event.objects.count(), Order.objects.count()) == before
    customer.refresh_from_db()
    assert customer.newsletter is False and customer.orders_count == 0


@pytest.mark.parametrize("configured", ["", " , "])
@pytest.mark.parametrize(("method", "path", "body"), ALL_CALLS)
def test_no_key_configured_refuses_every_call(api, settings, method, path, body, configured):
    # An unset key refuses everything; it never lets everything in.
    settings.COMPTOIR_STOREFRONT_KEY = configured
    for key in (None, "", "anything", configured):
        problem(
            api.call(method, path, body, key=key, token="any-token"),
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


def test_the_shoppers_address_comes_from_x_customer_ip(api, registered):
    customer = registered()
    token = api.login(customer.email)
    api.put(
        "/me/consents/newsletter",
        {"granted": True},
        token=token,
        headers={"X-Customer-IP": "198.51.100.23"},
    )
    # Without the header (or with something that is not an address): the caller's own.
    api.put("/me/consents/sms", {"granted": True}, token=token)
    api.put(
        "/me/consents/partner_offers",
        {"granted": True},
        token=token,
        headers={"X-Customer-IP": "not-an-ip"},
    )
    rows = dict(
        ConsentRecord.objects.filter(customer=customer).values_list("channel", "ip_address")
    )
    assert rows == {
        "newsletter": "198.51.100.23",
        "sms": "127.0.0.1",
        "partner_offers": "127.0.0.1",
    }


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
    # One requirement naming both: the account calls need the key and the token.
    both = [{"StorefrontKeyAuth": [], "CustomerTokenAuth": []}]
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            if path.startswith("/api/storefront/v1/me") or path.endswith("/logout"):
                assert operation["security"] == both, path
            elif not path.endswith(("/openapi.json", "/docs")):
                assert operation["security"] == [{"StorefrontKeyAuth": []}], path


def test_refusals_are_said_in_french(api, registered):
    # French typography: an apostrophe, not a quote.
    apostrophe = "\N{RIGHT SINGLE QUOTATION MARK}"
    body = problem(api.get("/me", key=None, lang="fr"), 401, "storefront-key-required")
    assert (
        body["title"] == f"Envoyez la clé de boutique dans l{apostrophe}en-tête 'X-Storefront-Key'."
    )
    body = problem(api.get("/me", key="wrong", lang="fr"), 401, "storefront-key-required")
    assert body["title"] == f"La clé de boutique n{apostrophe}est pas valide."
    body = problem(api.get("/me", lang="fr"), 401, "customer-session-required")
    assert body["title"].startswith(f"Connectez-vous d{apostrophe}abord")
    body = problem(api.get("/me", key=None, lang="en"), 401, "storefront-key-required")
    assert body["title"] == "Send the shop's storefront key in the 'X-Storefront-Key' header."


# --- the key the settings give -------------------------------------------------------------

SETTINGS_SNIPPET = """
import django
from django.conf import settings
django.setup()
print(repr(settings.COMPTOIR_STOREFRONT_KEY))
"""


def storefront_key_setting(tmp_path, **env) -> str:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "COMPTOIR_TESTING"}
        and k != "COMPTOIR_STOREFRONT_KEY"
    }
    clean.update(DJANGO_SETTINGS_MODULE="comptoir.settings", COMPTOIR_HOME=str(tmp_path), **env)
    result = subprocess.run(
        [sys.executable, "-c", SETTINGS_SNIPPET],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def test_without_debug_an_unset_key_stays_unset(tmp_path):
    # Production: nothing is made up; every storefront call answers 503 until a key is set.
    assert storefront_key_setting(tmp_path, SECRET_KEY="x" * 50) == ""
    assert not (tmp_path / "var" / "dev-storefront-key").exists()


def test_under_debug_a_development_key_is_made_once(tmp_path):
    first = storefront_key_setting(tmp_path, DEBUG="1")
    assert len(first) >= 40
    assert (tmp_path / "var" / "dev-storefront-key").read_text().strip() == first
    assert storefront_key_setting(tmp_path, DEBUG="1") == first  # kept across restarts


def test_a_key_given_in_the_environment_wins(tmp_path):
    given = storefront_key_setting(tmp_path, DEBUG="1", COMPTOIR_STOREFRONT_KEY="shop-key")
    assert given == "shop-key"
    assert not (tmp_path / "var" / "dev-storefront-key").exists()
