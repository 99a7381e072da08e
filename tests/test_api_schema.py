"""schemathesis over the back-office API's OpenAPI document (/api/v1/openapi.json): generated
requests, valid and invalid, to every operation the document lists (whoever added it), sent to
the project's own WSGI application in-process with a valid token. Each answer must not be a
5xx, must have a documented status code and content type, and must match its documented schema
and headers.

A bounded, deterministic run (fixed seed, a few examples an operation, no example database).
Run it alone with ``pytest -m schema``; leave it out with ``-m "not schema"``.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from comptoir.staff.models import ApiToken
from comptoir.staff.services import api_token_create

pytestmark = [pytest.mark.schema, pytest.mark.django_db]

# Small enough for CI, large enough to reach every parameter: the coverage phase adds each
# operation's boundary and invalid values on top of these.
MAX_EXAMPLES = 12
SEED = 20_260_101

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",  # valid and invalid requests
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "no-shrink": True,
            "unique-inputs": True,
        },
        "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": False}},
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
        },
    }
)


def in_test_transaction(application):
    """The WSGI application, minus what would end the test's transaction.

    Like Django's test client: a real WSGI request closes the database connection when it
    finishes (``close_old_connections``), which would throw away the test database's
    transaction, and with it the token. The body is read while that is switched off."""

    def app(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = application(environ, start_response)
            try:
                body = b"".join(response)
            finally:
                response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]

    return app


def _load_schema():
    from comptoir.wsgi import application

    return schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", in_test_transaction(application), config=CONFIG
    )


# Loaded when the module is collected (the document needs no database), so each operation is a
# test of its own: test_...[GET /api/v1/tokens]. (schemathesis.pytest.from_fixture would load it
# later, but its 4.32 release fails under pytest 9: it sets Function._nodeid, gone since.)
schema = _load_schema()


@pytest.fixture
def api_token(db, actor, make_customer, vip_group):
    """A read-write token that never runs out, and a little data for the operations to find."""
    for _ in range(3):
        make_customer()
    token, raw = api_token_create(name="schemathesis", actor=actor, requests_per_minute=100_000)
    return token, raw


@schema.parametrize()
def test_the_api_answers_as_its_document_says(case, api_token):
    token, raw = api_token
    # A generated DELETE /tokens/{id} may hit this very token: bring it back, so every call is
    # made as a signed-in integration rather than answered 401.
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
    case.call_and_validate(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})
