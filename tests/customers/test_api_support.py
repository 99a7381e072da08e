"""What the customers API tests share: a client that speaks JSON with a token, and tokens for
the staff member (read-write and read-only). No tests here.

The fixtures are named ``<name>_fixture`` and registered as ``<name>``: a test module imports
``*_fixture`` and its tests take ``api``, ``token``, ... as usual."""

from __future__ import annotations

import json
from typing import Any

import pytest

from comptoir.staff.services import api_token_create

BASE = "/api/v1/customers"
PROBLEM = "application/problem+json"


class Api:
    """The Django test client sending ``Authorization: Bearer`` and ``Accept-Language``."""

    def __init__(self, client, raw_token: str | None, language: str = "en"):
        self.client = client
        self.headers: dict[str, str] = {"HTTP_ACCEPT_LANGUAGE": language}
        if raw_token is not None:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {raw_token}"

    def in_language(self, language: str) -> Api:
        other = Api(self.client, None, language)
        other.headers = {**self.headers, "HTTP_ACCEPT_LANGUAGE": language}
        return other

    def get(self, path: str, params: dict[str, Any] | None = None):
        return self.client.get(BASE + path, params or {}, **self.headers)

    def get_url(self, url: str):
        return self.client.get(url, **self.headers)

    def _send(self, method: str, path: str, body: Any = None, raw: str | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        send = getattr(self.client, method)
        return send(BASE + path, data=data, content_type="application/json", **self.headers)

    def post(self, path: str, body: Any = None, raw: str | None = None):
        return self._send("post", path, body, raw)

    def put(self, path: str, body: Any = None):
        return self._send("put", path, body)

    def patch(self, path: str, body: Any = None):
        return self._send("patch", path, body)

    def delete(self, path: str):
        return self.client.delete(BASE + path, **self.headers)


def field_errors(response) -> dict[str, str]:
    """{field: message} of a problem response."""
    return {error["field"]: error["message"] for error in response.json().get("errors", [])}


def assert_problem(response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"urn:comptoir:problem:{slug}"
    assert body["status"] == status
    return body


@pytest.fixture(name="token")
def token_fixture(actor) -> str:
    _token, raw = api_token_create(name="shop sync", actor=actor)
    return raw


@pytest.fixture(name="read_only_token")
def read_only_token_fixture(actor) -> str:
    _token, raw = api_token_create(name="reporting", actor=actor, read_only=True)
    return raw


@pytest.fixture(name="api")
def api_fixture(client, token) -> Api:
    return Api(client, token)


@pytest.fixture(name="read_only_api")
def read_only_api_fixture(client, read_only_token) -> Api:
    return Api(client, read_only_token)


@pytest.fixture(name="anonymous_api")
def anonymous_api_fixture(client) -> Api:
    return Api(client, None)


@pytest.fixture(name="wrong_token_api")
def wrong_token_api_fixture(client, token) -> Api:
    return Api(client, token[:-3] + "xyz")
