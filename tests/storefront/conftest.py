"""The storefront API's test helpers: the shop's key configured, a client that speaks JSON with
the key or a customer's session token, and registered customers with a known password."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client

from comptoir.core.actors import Actor

KEY = "shop-server-secret-key"
PASSWORD = "Velo-Rouge-2024!"
BASE = "/api/storefront/v1"


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 all the same (hashes read "argon2$..."), with the smallest cost: the default
    parameters take ~0.5 s a hash on the test machines, and these tests log in a lot."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1


@pytest.fixture(autouse=True)
def cheap_argon2(settings):
    settings.PASSWORD_HASHERS = ["tests.storefront.conftest.CheapArgon2PasswordHasher"]


@pytest.fixture(autouse=True)
def storefront_key(settings):
    settings.COMPTOIR_STOREFRONT_KEY = KEY
    return KEY


@dataclass
class Api:
    client: Client

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = KEY,
        token: str | None = None,
        lang: str = "en",
        headers: dict[str, str] | None = None,
    ):
        extra = {"HTTP_ACCEPT_LANGUAGE": lang}
        if key:
            extra["HTTP_X_STOREFRONT_KEY"] = key
        if token:
            extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        for name, value in (headers or {}).items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs = {"data": json.dumps(body), "content_type": "application/json"}
        return getattr(self.client, method)(BASE + path, **kwargs, **extra)

    def post(self, path, body=None, **kw):
        return self.call("post", path, {} if body is None else body, **kw)

    def get(self, path, **kw):
        return self.call("get", path, **kw)

    def patch(self, path, body, **kw):
        return self.call("patch", path, body, **kw)

    def put(self, path, body, **kw):
        return self.call("put", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("delete", path, **kw)

    def login(self, email: str, password: str = PASSWORD) -> str:
        response = self.post("/login", {"email": email, "password": password})
        assert response.status_code == 200, response.content
        return response.json()["session"]["token"]


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def shop_actor():
    return Actor.storefront("203.0.113.9")


@pytest.fixture
def registered(make_customer, actor):
    """A registered customer who can log in with ``PASSWORD``."""

    def make(**fields):
        fields.setdefault("password", PASSWORD)
        return make_customer(**fields)

    return make


def problem(response, status: int, slug: str, reason: str | None = None) -> dict:
    """Assert a problem+json answer and return its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:comptoir:problem:{slug}", body
    assert body["status"] == status
    if reason is not None:
        assert body["reason"] == reason, body
    return body


def field_errors(body: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in body.get("errors", []):
        errors.setdefault(error["field"], []).append(error["code"])
    return errors
