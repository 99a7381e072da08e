"""WooCommerce's authentication through the views: OAuth 1.0a over HTTP, Basic over HTTPS, the
key's permissions, and WooCommerce's error codes for each refusal."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.customers.models import Customer
from comptoir.woocommerce.models import ConsumerKey, UsedNonce
from comptoir.woocommerce.services import consumer_key_revoke

from .conftest import API, WooClient, oauth_params

pytestmark = pytest.mark.django_db
CUSTOMERS = f"{API}/customers"


def _signed_get(client, ck, cs, **options):
    params = oauth_params("GET", CUSTOMERS, {}, ck, cs, **options)
    return client.get(f"{CUSTOMERS}?{urlencode(params)}")


def _error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=UTF-8"
    body = response.json()
    assert body["code"] == code
    assert body["data"]["status"] == status
    return body


def test_oauth_over_http_lists_customers(woo, make_customer):
    make_customer(first_name="Zoé")
    response = woo.get("customers")
    assert response.status_code == 200
    assert [c["first_name"] for c in response.json()] == ["Zoé"]


def test_oauth_with_sha1_is_accepted(client, key_pair):
    _key, ck, cs = key_pair
    assert _signed_get(client, ck, cs, algorithm="HMAC-SHA1").status_code == 200


def test_wrong_secret_is_refused_with_woocommerce_code(client, key_pair):
    _key, ck, _cs = key_pair
    body = _error(_signed_get(client, ck, "cs_wrong"), 401, "woocommerce_rest_authentication_error")
    assert body["message"] == "Invalid signature - provided signature does not match."


def test_unknown_key_is_refused(client):
    body = _error(
        _signed_get(client, "ck_unknown", "cs_x"), 401, "woocommerce_rest_authentication_error"
    )
    assert body["message"] == "Consumer key is invalid."


def test_a_revoked_key_is_refused(client, key_pair, staff_user):
    key, ck, cs = key_pair
    consumer_key_revoke(key=key, actor=Actor.staff(staff_user))
    body = _error(_signed_get(client, ck, cs), 401, "woocommerce_rest_authentication_error")
    assert body["message"] == "Consumer key is invalid."


def test_a_key_of_a_disabled_staff_member_is_refused(client, key_pair, staff_user):
    _key, ck, cs = key_pair
    staff_user.is_active = False
    staff_user.save()
    _error(_signed_get(client, ck, cs), 401, "woocommerce_rest_authentication_error")


def test_a_key_of_someone_no_longer_staff_is_refused(client, key_pair, staff_user):
    _key, ck, cs = key_pair
    staff_user.is_staff = False
    staff_user.save()
    body = _error(_signed_get(client, ck, cs), 401, "woocommerce_rest_authentication_error")
    assert body["message"] == "Consumer key is invalid."


def test_an_old_timestamp_is_refused(client, key_pair):
    _key, ck, cs = key_pair
    body = _error(
        _signed_get(client, ck, cs, timestamp=int(time.time()) - 16 * 60),
        401,
        "woocommerce_rest_authentication_error",
    )
    assert body["message"] == "Invalid timestamp."
    assert _signed_get(client, ck, cs, timestamp=int(time.time()) - 14 * 60).status_code == 200


def test_a_replayed_nonce_is_refused(client, key_pair):
    key, ck, cs = key_pair
    params = oauth_params("GET", CUSTOMERS, {}, ck, cs, nonce="once-only")
    url = f"{CUSTOMERS}?{urlencode(params)}"
    assert client.get(url).status_code == 200
    body = _error(client.get(url), 401, "woocommerce_rest_authentication_error")
    assert body["message"] == "Invalid nonce - nonce has already been used."
    assert UsedNonce.objects.filter(key=key).count() == 1


def test_an_expired_nonce_may_be_used_again(client, key_pair):
    key, ck, cs = key_pair
    assert _signed_get(client, ck, cs, nonce="again").status_code == 200
    UsedNonce.objects.filter(key=key).update(expires_at=timezone.now() - timezone.timedelta(1))
    assert _signed_get(client, ck, cs, nonce="again").status_code == 200


def test_a_missing_oauth_parameter_is_named(client, key_pair):
    _key, ck, cs = key_pair
    params = oauth_params("GET", CUSTOMERS, {}, ck, cs)
    del params["oauth_nonce"]
    body = _error(
        client.get(f"{CUSTOMERS}?{urlencode(params)}"),
        401,
        "woocommerce_rest_authentication_missing_parameter",
    )
    assert body["message"] == "Missing OAuth parameter oauth_nonce"


def test_no_credentials_at_all_is_woocommerces_permission_refusal(client):
    body = _error(client.get(CUSTOMERS), 401, "woocommerce_rest_cannot_view")
    assert body["message"] == "Sorry, you cannot list resources."
    _error(
        client.post(CUSTOMERS, {}, content_type="application/json"),
        401,
        "woocommerce_rest_cannot_create",
    )
    _error(client.delete(f"{CUSTOMERS}/1?force=true"), 401, "woocommerce_rest_cannot_delete")
    _error(
        client.post(f"{CUSTOMERS}/batch", {}, content_type="application/json"),
        401,
        "woocommerce_rest_cannot_batch",
    )


def _basic(ck, cs):
    return "Basic " + base64.b64encode(f"{ck}:{cs}".encode()).decode()


def test_basic_over_https_is_accepted(client, key_pair, make_customer):
    _key, ck, cs = key_pair
    make_customer()
    response = client.get(CUSTOMERS, secure=True, HTTP_AUTHORIZATION=_basic(ck, cs))
    assert response.status_code == 200 and len(response.json()) == 1


def test_basic_over_plain_http_is_ignored(client, key_pair):
    _key, ck, cs = key_pair
    response = client.get(CUSTOMERS, HTTP_AUTHORIZATION=_basic(ck, cs))
    _error(response, 401, "woocommerce_rest_cannot_view")


def test_basic_with_a_wrong_secret_says_so_with_the_basic_realm(client, key_pair):
    _key, ck, _cs = key_pair
    response = client.get(CUSTOMERS, secure=True, HTTP_AUTHORIZATION=_basic(ck, "cs_wrong"))
    body = _error(response, 401, "woocommerce_rest_authentication_error")
    assert body["message"] == "Consumer secret is invalid."
    assert response["WWW-Authenticate"].startswith('Basic realm="WooCommerce API.')


def test_query_string_credentials_over_https(client, key_pair):
    _key, ck, cs = key_pair
    query = urlencode({"consumer_key": ck, "consumer_secret": cs, "per_page": 1})
    response = client.get(f"{CUSTOMERS}?{query}", secure=True)
    assert response.status_code == 200
    assert "consumer_secret" not in response.get("Link", "")
    assert client.get(f"{CUSTOMERS}?{query}").status_code == 401  # not over plain HTTP


def test_oauth_is_also_accepted_over_https(client, key_pair):
    """As WooCommerce: over HTTPS, when Basic gave nothing, OAuth is tried (signed for https)."""
    _key, ck, cs = key_pair
    params = oauth_params("GET", CUSTOMERS, {}, ck, cs, scheme="https")
    assert client.get(f"{CUSTOMERS}?{urlencode(params)}", secure=True).status_code == 200
    params = oauth_params("GET", CUSTOMERS, {}, ck, cs, scheme="http")
    assert client.get(f"{CUSTOMERS}?{urlencode(params)}", secure=True).status_code == 401


def test_oauth_in_the_authorization_header(client, key_pair):
    _key, ck, cs = key_pair
    params = oauth_params("GET", CUSTOMERS, {}, ck, cs)
    header = "OAuth " + ", ".join(f'{name}="{value}"' for name, value in params.items())
    assert client.get(CUSTOMERS, HTTP_AUTHORIZATION=header).status_code == 200


WRITE = "The API key provided does not have write permissions."


@pytest.mark.parametrize(
    ("method", "endpoint", "body"),
    [
        ("POST", "customers", {"email": "x@example.com", "first_name": "X", "last_name": "Y"}),
        ("PUT", "customers/{pk}", {"first_name": "Changed"}),
        ("PATCH", "customers/{pk}", {"first_name": "Changed"}),
        ("POST", "customers/{pk}", {"first_name": "Changed"}),
        ("DELETE", "customers/{pk}?force=true", None),
        ("POST", "customers/batch", {"update": [{"id": "{pk}", "first_name": "Changed"}]}),
    ],
)
def test_a_read_only_key_cannot_write(client, make_key, make_customer, method, endpoint, body):
    _key, ck, cs = make_key("read")
    customer = make_customer(first_name="Ana")
    if body and "update" in body:
        body = {"update": [{"id": customer.pk, "first_name": "Changed"}]}
    path, _q, query = endpoint.format(pk=customer.pk).partition("?")
    params = dict(pair.split("=") for pair in query.split("&")) if query else None
    events = Event.objects.count()
    response = WooClient(client, ck, cs).request(method, path, body, params)
    body = _error(response, 401, "woocommerce_rest_authentication_error")
    assert body["message"] == WRITE
    customer.refresh_from_db()
    assert (customer.first_name, customer.deleted_at) == ("Ana", None)
    assert not Customer.objects.filter(email="x@example.com").exists()
    assert Event.objects.count() == events  # nothing written, not even a refused attempt


def test_a_write_only_key_cannot_read(client, make_key, make_customer):
    _key, ck, cs = make_key("write")
    customer = make_customer()
    for endpoint in ("customers", f"customers/{customer.pk}"):
        body = _error(
            WooClient(client, ck, cs).get(endpoint), 401, "woocommerce_rest_authentication_error"
        )
        assert body["message"] == "The API key provided does not have read permissions."


def test_method_override_is_checked_against_the_keys_permissions(client, make_key, make_customer):
    """A read key cannot delete by sending a POST that says ``_method=DELETE``."""
    _key, ck, cs = make_key("read")
    customer = make_customer()
    path = f"{CUSTOMERS}/{customer.pk}"
    signed = oauth_params("POST", path, {"_method": "DELETE", "force": "true"}, ck, cs)
    response = client.post(f"{path}?{urlencode(signed)}", "", content_type="application/json")
    assert _error(response, 401, "woocommerce_rest_authentication_error")["message"] == WRITE
    assert Customer.objects.get(pk=customer.pk).deleted_at is None


def test_a_read_key_reads_and_a_write_key_writes(client, make_key):
    _key, ck, cs = make_key("read")
    assert WooClient(client, ck, cs).get("customers").status_code == 200
    _key, ck, cs = make_key("write")
    response = WooClient(client, ck, cs).post(
        "customers", {"email": "w@example.com", "first_name": "W", "last_name": "Rite"}
    )
    assert response.status_code == 201


def test_last_access_is_noted(woo, key_pair):
    key, _ck, _cs = key_pair
    assert key.last_access is None
    woo.get("customers")
    assert ConsumerKey.objects.get(pk=key.pk).last_access is not None
