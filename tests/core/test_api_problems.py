"""What every API answer shares (comptoir.core.api): problem+json errors in the request's
language, strict bodies, a body size limit, 404 and 405 as problems, and an OpenAPI 3.1 document
that says all of this. The token endpoints (/api/v1/tokens) are the subjects: they are always
there."""

import re

import pytest
from django.test import Client
from django.utils import translation

from comptoir.staff import selectors
from comptoir.staff.models import ApiToken
from comptoir.staff.services import api_token_create

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"
JSON = "application/json"
PROBLEM = "application/problem+json"


@pytest.fixture
def auth(actor):
    _, raw = api_token_create(name="Problems", actor=actor)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def in_language(code: str, message: str) -> str:
    with translation.override(code):
        return translation.gettext(message)


def test_an_unknown_api_url_is_a_404_problem_for_any_method(auth):
    browser = Client(enforce_csrf_checks=True)
    for method, url in (
        ("get", "/api/v1/nothing-here"),
        ("get", "/api/v2/customers"),
        ("get", "/api/storefront/v1/nothing-here"),
        ("post", "/api/v1/nothing-here"),  # no CSRF page: there is nothing to protect
        ("delete", "/api/whatever"),
    ):
        response = getattr(browser, method)(url, HTTP_ACCEPT_LANGUAGE="en", **auth)
        assert response.status_code == 404, url
        assert response["Content-Type"] == PROBLEM
        assert response.json() == {
            "type": "urn:comptoir:problem:not-found",
            "title": "Not found.",
            "status": 404,
            "detail": "There is no such API endpoint.",
        }


def test_the_bare_prefix_points_to_the_documentation():
    response = Client().get("/api/v1/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert response.json()["detail"] == "Start from the documentation at /api/v1/docs."


def test_a_method_an_endpoint_lacks_is_a_405_problem(client, auth):
    response = client.put(TOKENS, "{}", content_type=JSON, HTTP_ACCEPT_LANGUAGE="en", **auth)
    assert response.status_code == 405
    assert response["Content-Type"] == PROBLEM
    assert sorted(response["Allow"].split(", ")) == ["GET", "POST"]
    assert response.json()["type"] == "urn:comptoir:problem:method-not-allowed"
    assert response.json()["title"] == "This method is not allowed here."


def test_problems_follow_accept_language(client, auth):
    english = client.post(TOKENS, {}, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en", **auth)
    french = client.post(
        TOKENS, {}, content_type=JSON, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9", **auth
    )
    default = client.post(TOKENS, {}, content_type=JSON, **auth)  # the shop's language: fr
    assert english.status_code == french.status_code == default.status_code == 400
    assert english["Content-Language"] == "en"
    assert french["Content-Language"] == default["Content-Language"] == "fr"
    assert english.json()["errors"] == [
        {"field": "name", "message": "This field is required.", "code": "missing"}
    ]
    assert french.json()["errors"] == [
        {"field": "name", "message": "Ce champ est obligatoire.", "code": "missing"}
    ]
    assert default.json() == french.json()
    # type and status are the same in every language; title and detail are the language's.
    for key in ("type", "status"):
        assert english.json()[key] == french.json()[key]
    assert english.json()["title"] == "The request is not valid."
    assert french.json()["title"] == in_language("fr", "The request is not valid.")
    assert french.json()["detail"] == in_language(
        "fr", "Correct the fields listed in errors and send it again."
    )
    # A service's own message too.
    blank_en = client.post(
        TOKENS, {"name": " "}, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en", **auth
    )
    blank_fr = client.post(
        TOKENS, {"name": " "}, content_type=JSON, HTTP_ACCEPT_LANGUAGE="fr", **auth
    )
    assert blank_en.json()["errors"][0]["message"] == "Give the token a name."
    assert blank_fr.json()["errors"][0]["message"] == in_language("fr", "Give the token a name.")


def test_an_unknown_body_field_is_refused_with_the_field(client, auth):
    response = client.post(
        TOKENS,
        {"name": "Colourful", "colour": "blue"},
        content_type=JSON,
        HTTP_ACCEPT_LANGUAGE="en",
        **auth,
    )
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "urn:comptoir:problem:invalid-request",
        "title": "The request is not valid.",
        "status": 400,
        "detail": "Correct the fields listed in errors and send it again.",
        "errors": [
            {
                "field": "colour",
                "message": "This field is not accepted here.",
                "code": "extra_forbidden",
            }
        ],
    }
    assert ApiToken.objects.count() == 1  # only the caller's


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("{not json", "json_invalid", "The body is not valid JSON."),
        ("[1, 2]", "model_attributes_type", "Enter an object."),
        ('"a string"', "model_attributes_type", "Enter an object."),
        ("", "missing", "This field is required."),
    ],
)
def test_a_body_that_is_not_an_object_is_a_400_on_the_body(client, auth, body, code, message):
    response = client.post(TOKENS, body, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en", **auth)
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "urn:comptoir:problem:invalid-request"
    assert response.json()["errors"] == [{"field": "body", "message": message, "code": code}]


def test_a_wrong_path_parameter_is_a_400_naming_it(client, auth):
    for url, code in (
        (f"{TOKENS}/abc", "int_parsing"),
        (f"{TOKENS}/0", "greater_than_equal"),
        (f"{TOKENS}/99999999999999999999999", "less_than_equal"),
    ):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en", **auth)
        assert response.status_code == 400, url
        assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("token_id", code)]


def test_a_body_too_large_is_a_413_problem(client, auth, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"name": "' + "x" * 2000 + '"}'
    response = client.post(TOKENS, body, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en", **auth)
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "urn:comptoir:problem:body-too-large",
        "title": "The request body is too large.",
        "status": 413,
    }
    assert ApiToken.objects.count() == 1
    # Just under the limit, the same endpoint reads it (and refuses the name's length).
    small = client.post(
        TOKENS,
        '{"name": "' + "x" * 900 + '"}',
        content_type=JSON,
        HTTP_ACCEPT_LANGUAGE="en",
        **auth,
    )
    assert small.status_code == 400
    assert small.json()["errors"][0]["code"] == "string_too_long"


def test_a_crash_is_a_500_problem_that_tells_nothing_of_the_inside(client, auth, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr("comptoir.staff.api.api_token_list", broken)
    response = client.get(TOKENS, HTTP_ACCEPT_LANGUAGE="en", **auth)
    assert response.status_code == 500
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "urn:comptoir:problem:server-error",
        "title": "Something went wrong on our side.",
        "status": 500,
    }
    assert selectors.api_token_list is not broken  # only the endpoint's reference was replaced


def test_the_openapi_document_is_3_1_and_documents_the_problems(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Comptoir API"
    assert {"/api/v1/tokens", "/api/v1/tokens/{token_id}"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["ApiTokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    problem = document["components"]["schemas"]["Problem"]
    assert problem["required"] == ["type", "title", "status"]
    create = document["paths"]["/api/v1/tokens"]["post"]
    assert create["requestBody"]["content"][JSON]["schema"] == {
        "$ref": "#/components/schemas/ApiTokenIn"
    }
    assert document["components"]["schemas"]["ApiTokenIn"]["additionalProperties"] is False
    assert set(create["responses"]) == {"201", "400", "401", "403", "404", "413", "429"}
    for status in ("400", "401", "403", "404", "413", "429"):
        assert create["responses"][status]["content"] == {
            PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert "Retry-After" in create["responses"]["429"]["headers"]
    # No body, no 413; every operation of the API is covered, whoever wrote it.
    assert "413" not in document["paths"]["/api/v1/tokens"]["get"]["responses"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert {"400", "401", "404", "429"} <= set(operation["responses"]), (method, path)
    # The secret is in the creation's answer only.
    schemas = document["components"]["schemas"]
    assert "secret" in schemas["ApiTokenCreatedOut"]["properties"]
    assert "secret" not in schemas["ApiTokenOut"]["properties"]


def test_the_interactive_docs_render_from_our_own_static_files(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Comptoir API</title>" in html
    assert 'src="/static/ninja/swagger-ui-bundle.js"' in html
    assert "cdn" not in html
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
    assert '"url": "/api/v1/openapi.json"' in html


def test_the_storefront_api_has_its_own_document(client):
    response = client.get("/api/storefront/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")
    assert response.json()["info"]["title"] == "Comptoir storefront API"


# -------------------------------------------------------------------------------------------------
# Every operation of the document, whoever added it: who may call it
# -------------------------------------------------------------------------------------------------

WRITES = {"post", "put", "patch", "delete"}


def _operations() -> list[tuple[str, str]]:
    from comptoir.api import api

    document = api.get_openapi_schema()
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in WRITES | {"get"}
    ]


def _call(client, method: str, path: str, **headers):
    # Every path parameter is an id or a name: "1" fills any of them. Authentication comes
    # before the parameters and the body are read, so neither needs to be right.
    url = re.sub(r"\{[^}]+\}", "1", path)
    if method == "get":
        return client.get(url, HTTP_ACCEPT_LANGUAGE="en", **headers)
    return getattr(client, method)(
        url, "{}", content_type=JSON, HTTP_ACCEPT_LANGUAGE="en", **headers
    )


def _written() -> tuple[int, int]:
    from comptoir.core.models import Event

    return Event.objects.count(), ApiToken.objects.count()


@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_operation_refuses_anonymous_and_wrong_tokens(client, actor, method, path):
    _, raw = api_token_create(name="Revoked", actor=actor)
    ApiToken.objects.update(revoked_at="2025-01-01T00:00:00Z")
    before = _written()
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer cpt_wrong"}, bearer_of(raw)):
        response = _call(client, method, path, **headers)
        assert response.status_code == 401, (method, path, headers)
        assert response["Content-Type"] == PROBLEM
        assert response.json()["type"] == "urn:comptoir:problem:unauthenticated"
    assert _written() == before


@pytest.mark.parametrize(("method", "path"), [op for op in _operations() if op[0] in WRITES])
def test_every_write_refuses_a_read_only_token(client, actor, method, path):
    _, raw = api_token_create(name="Reporting", actor=actor, read_only=True)
    before = _written()
    response = _call(client, method, path, **bearer_of(raw))
    assert response.status_code == 403, (method, path)
    assert response.json() == {
        "type": "urn:comptoir:problem:read-only-token",
        "title": "This API token is read-only.",
        "status": 403,
        "detail": "Create a token that may write to make changes.",
    }
    assert _written() == before


def bearer_of(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


# What no answer may carry: a password, a password's hash, a token's hash.
SECRET_PROPERTIES = {"password", "password_hash", "key_hash", "token_hash", "secret_hash"}


def test_no_response_schema_carries_a_password_or_a_hash():
    from comptoir.api import api

    schemas = api.get_openapi_schema()["components"]["schemas"]
    leaks = {
        (name, prop)
        for name, schema in schemas.items()
        for prop in schema.get("properties", {})
        if prop in SECRET_PROPERTIES
    }
    assert leaks == set()


def test_every_json_body_refuses_unknown_fields_at_every_depth():
    from comptoir.api import api

    document = api.get_openapi_schema()
    schemas = document["components"]["schemas"]

    def objects(node, seen: set[str]) -> set[str]:
        if isinstance(node, dict):
            name = node.get("$ref", "").rsplit("/", 1)[-1]
            if name and name not in seen:
                seen.add(name)
                objects(schemas[name], seen)
            for value in node.values():
                objects(value, seen)
        elif isinstance(node, list):
            for value in node:
                objects(value, seen)
        return seen

    bodies = [
        (method, path, operation["requestBody"]["content"][JSON])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if JSON in operation.get("requestBody", {}).get("content", {})
    ]
    assert len(bodies) >= 15
    for method, path, body in bodies:
        for name in objects(body, set()):
            if schemas[name].get("type") == "object":
                assert schemas[name].get("additionalProperties") is False, (method, path, name)
