"""Fixtures of the WooCommerce compatibility tests: key pairs, and a test client that speaks
WooCommerce's authentication (OAuth 1.0a over HTTP, Basic over HTTPS)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher

from comptoir.core.actors import Actor
from comptoir.woocommerce.services import consumer_key_create

API = "/wp-json/wc/v3"


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 all the same, at the smallest cost: the staff member every test creates and the
    customers' passwords would otherwise cost ~0.5 s a hash on the test machines."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1


@pytest.fixture(autouse=True)
def cheap_argon2(settings):
    settings.PASSWORD_HASHERS = ["tests.woocommerce.conftest.CheapArgon2PasswordHasher"]


def _enc(value: str) -> str:
    return quote(str(value), safe="-_.~")


def sign(method: str, url: str, params: dict, secret: str, algorithm: str = "HMAC-SHA256") -> str:
    """An independent signer, the research recipe (not the code under test): sorted pairs, each
    part RFC 3986-encoded, ``k%3Dv`` joined with ``%26``, key ``secret&``."""
    pairs = sorted((k, v) for k, v in params.items() if k != "oauth_signature")
    joined = "%26".join(f"{_enc(_enc(k))}%3D{_enc(_enc(v))}" for k, v in pairs)
    base = f"{method}&{_enc(url)}&{joined}"
    digest = hashlib.sha256 if algorithm == "HMAC-SHA256" else hashlib.sha1
    return base64.b64encode(
        hmac.new(f"{secret}&".encode(), base.encode(), digest).digest()
    ).decode()


def oauth_params(
    method: str,
    path: str,
    params: dict,
    ck: str,
    cs: str,
    *,
    host: str = "testserver",
    scheme: str = "http",
    algorithm: str = "HMAC-SHA256",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict:
    signed = {
        **{k: str(v) for k, v in params.items()},
        "oauth_consumer_key": ck,
        "oauth_timestamp": str(timestamp if timestamp is not None else int(time.time())),
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_signature_method": algorithm,
    }
    signed["oauth_signature"] = sign(method, f"{scheme}://{host}{path}", signed, cs, algorithm)
    return signed


class WooClient:
    """The Django test client with a key pair: OAuth-signed over HTTP (the default), Basic over
    HTTPS (``secure=True``)."""

    def __init__(self, client, ck: str, cs: str):
        self.client = client
        self.ck = ck
        self.cs = cs

    def request(self, method: str, endpoint: str, data=None, params=None, *, secure=False, **extra):
        path = f"{API}/{endpoint}"
        params = dict(params or {})
        if secure:
            token = base64.b64encode(f"{self.ck}:{self.cs}".encode()).decode()
            extra.setdefault("HTTP_AUTHORIZATION", f"Basic {token}")
            query = params
        else:
            query = oauth_params(method, path, params, self.ck, self.cs)
        url = f"{path}?{urlencode(query)}" if query else path
        body = json.dumps(data) if data is not None else ""
        return self.client.generic(
            method, url, body, content_type="application/json", secure=secure, **extra
        )

    def get(self, endpoint, params=None, **kw):
        return self.request("GET", endpoint, params=params, **kw)

    def post(self, endpoint, data, params=None, **kw):
        return self.request("POST", endpoint, data, params, **kw)

    def put(self, endpoint, data, params=None, **kw):
        return self.request("PUT", endpoint, data, params, **kw)

    def delete(self, endpoint, params=None, **kw):
        return self.request("DELETE", endpoint, params=params, **kw)


@pytest.fixture
def make_key(db, staff_user):
    def make(permissions: str = "read_write", user=None, description: str = "Zapier"):
        return consumer_key_create(
            description=description, permissions=permissions, actor=Actor.staff(user or staff_user)
        )

    return make


@pytest.fixture
def key_pair(make_key):
    return make_key()


@pytest.fixture
def woo(client, key_pair):
    _key, ck, cs = key_pair
    return WooClient(client, ck, cs)
