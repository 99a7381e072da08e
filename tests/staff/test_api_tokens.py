"""API tokens through the API itself: how they are kept, who they let in, what they may do, how
fast, and the /api/v1/tokens endpoints."""

import datetime
import hashlib

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.staff.api_auth import TokenRateThrottle
from comptoir.staff.models import ApiToken
from comptoir.staff.services import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"
JSON = "application/json"
PROBLEM = "application/problem+json"


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def other_staff(django_user_model):
    return django_user_model.objects.create_user(
        username="pierre", password="another fine password", is_staff=True
    )


@pytest.fixture
def token(actor):
    """A read-write token of the staff_user, and its secret."""
    return api_token_create(name="Shop checkout", actor=actor)


@pytest.fixture
def fixed_clock(monkeypatch):
    """The rate limiter's clock, 20 seconds into a minute, moved by hand."""
    clock = {"now": 1_800_000_000.0 + 20}  # 1_800_000_000 is a multiple of 60
    monkeypatch.setattr(TokenRateThrottle, "timer", staticmethod(lambda: clock["now"]))
    return clock


def to_the_millisecond(moment: datetime.datetime) -> datetime.datetime:
    """How the API writes times (Django's JSON encoder: ISO 8601, milliseconds)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def all_database_text() -> str:
    """Every row of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.append(repr(cursor.fetchall()))
    return "\n".join(chunks)


# How a token is kept


def test_the_secret_is_kept_only_as_its_sha256(staff_client):
    response = staff_client.post(
        TOKENS, {"name": "Accounting export"}, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 201
    secret = response.json()["secret"]
    assert secret.startswith("cpt_") and len(secret) == 47
    stored = ApiToken.objects.get(pk=response.json()["id"])
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.prefix == secret[:12]
    # Nowhere in the database: not the token, not its part after the shown prefix.
    dump = all_database_text()
    assert stored.key_hash in dump  # the dump does see the token's row
    assert secret not in dump
    assert secret[12:] not in dump
    # And never again in a response.
    listed = staff_client.get(TOKENS)
    one = staff_client.get(f"{TOKENS}/{stored.pk}")
    for later in (listed, one):
        assert later.status_code == 200
        assert secret not in later.content.decode()
        assert stored.key_hash not in later.content.decode()
    assert "secret" not in listed.json()[0]
    assert "secret" not in one.json()


def test_a_token_works_and_acts_as_its_staff_member(client, token, staff_user):
    _, raw = token
    response = client.get(TOKENS, **bearer(raw))
    assert response.status_code == 200
    assert [item["name"] for item in response.json()] == ["Shop checkout"]
    assert response.json()[0]["staff_member"] == "marie"
    created = client.post(TOKENS, {"name": "Second"}, content_type=JSON, **bearer(raw))
    assert created.status_code == 201
    event = Event.objects.get(kind="api_token_created", object_id=created.json()["id"])
    assert event.source == "api"
    assert event.actor_id == staff_user.pk


# Who gets in


def test_no_token_and_wrong_tokens_are_refused_with_401(client, token):
    _, raw = token
    for headers in (
        {},
        {"HTTP_AUTHORIZATION": "Bearer cpt_not-a-real-token"},
        {"HTTP_AUTHORIZATION": f"Bearer {raw}x"},
        {"HTTP_AUTHORIZATION": f"Basic {raw}"},
        {"HTTP_AUTHORIZATION": "Bearer " + "a" * 500},
    ):
        response = client.get(TOKENS, HTTP_ACCEPT_LANGUAGE="en", **headers)
        assert response.status_code == 401, headers
        assert response["Content-Type"] == PROBLEM
        assert response["WWW-Authenticate"] == 'Bearer realm="comptoir"'
        assert response.json() == {
            "type": "urn:comptoir:problem:unauthenticated",
            "title": "Authentication is required.",
            "status": 401,
            "detail": "Send a valid API token as 'Authorization: Bearer <token>'.",
        }


def test_a_revoked_token_is_refused(client, token, actor):
    api_token, raw = token
    assert client.get(TOKENS, **bearer(raw)).status_code == 200
    api_token_revoke(token=api_token, actor=actor)
    response = client.get(TOKENS, **bearer(raw))
    assert response.status_code == 401
    assert response.json()["type"] == "urn:comptoir:problem:unauthenticated"
    # Writes too, and nothing is created.
    before = ApiToken.objects.count()
    response = client.post(TOKENS, {"name": "x"}, content_type=JSON, **bearer(raw))
    assert response.status_code == 401
    assert ApiToken.objects.count() == before


def test_the_token_of_a_deactivated_or_demoted_staff_member_is_refused(client, token, staff_user):
    _, raw = token
    staff_user.is_active = False
    staff_user.save()
    assert client.get(TOKENS, **bearer(raw)).status_code == 401
    staff_user.is_active, staff_user.is_staff = True, False
    staff_user.save()
    assert client.get(TOKENS, **bearer(raw)).status_code == 401
    staff_user.is_staff = True
    staff_user.save()
    assert client.get(TOKENS, **bearer(raw)).status_code == 200


def test_a_read_only_token_reads_but_cannot_write(client, actor):
    read_only, raw = api_token_create(name="Reporting", actor=actor, read_only=True)
    assert client.get(TOKENS, **bearer(raw)).status_code == 200
    assert client.get(f"{TOKENS}/{read_only.pk}", **bearer(raw)).status_code == 200
    expected = {
        "type": "urn:comptoir:problem:read-only-token",
        "title": "This API token is read-only.",
        "status": 403,
        "detail": "Create a token that may write to make changes.",
    }
    created = client.post(TOKENS, {"name": "More"}, content_type=JSON, **bearer(raw))
    assert created.status_code == 403
    assert created["Content-Type"] == PROBLEM
    assert created.json() == expected
    revoked = client.delete(f"{TOKENS}/{read_only.pk}", **bearer(raw))
    assert revoked.status_code == 403
    assert revoked.json() == expected
    assert ApiToken.objects.count() == 1
    read_only.refresh_from_db()
    assert read_only.revoked_at is None
    assert not Event.objects.filter(kind="api_token_revoked").exists()


def test_last_used_is_written_at_most_once_a_minute(client, token):
    api_token, raw = token
    assert api_token.last_used_at is None

    def calls_writing_last_used() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(TOKENS, **bearer(raw)).status_code == 200
        return sum(
            1
            for query in queries.captured_queries
            if query["sql"].startswith("UPDATE") and "last_used_at" in query["sql"]
        )

    started = timezone.now()
    assert calls_writing_last_used() == 1
    api_token.refresh_from_db()
    first = api_token.last_used_at
    assert started <= first <= timezone.now()
    # Within the minute: no write at all.
    assert calls_writing_last_used() == 0
    assert calls_writing_last_used() == 0
    api_token.refresh_from_db()
    assert api_token.last_used_at == first
    # More than a minute later: written again.
    ApiToken.objects.filter(pk=api_token.pk).update(
        last_used_at=first - datetime.timedelta(seconds=61)
    )
    assert calls_writing_last_used() == 1
    api_token.refresh_from_db()
    assert api_token.last_used_at > first


# How fast


def test_the_fourth_request_in_a_minute_of_a_three_per_minute_token_gets_429(
    client, actor, fixed_clock
):
    _slow, raw = api_token_create(name="Slow", actor=actor, requests_per_minute=3)
    for _ in range(3):
        assert client.get(TOKENS, **bearer(raw)).status_code == 200
    refused = client.get(TOKENS, **bearer(raw))
    assert refused.status_code == 429
    assert refused["Content-Type"] == PROBLEM
    assert refused["Retry-After"] == "40"  # 20 s into the minute
    assert refused.json() == {
        "type": "urn:comptoir:problem:rate-limited",
        "title": "Too many requests.",
        "status": 429,
        "detail": "Wait 40 seconds before the next request.",
    }
    # Refused requests change nothing either.
    created = client.post(TOKENS, {"name": "x"}, content_type=JSON, **bearer(raw))
    assert created.status_code == 429
    assert ApiToken.objects.count() == 1
    # Another token has its own budget.
    _, other = api_token_create(name="Other", actor=actor, requests_per_minute=3)
    assert client.get(TOKENS, **bearer(other)).status_code == 200
    # Late in the minute the wait is shorter; the next minute starts afresh.
    fixed_clock["now"] += 35
    assert client.get(TOKENS, **bearer(raw))["Retry-After"] == "5"
    fixed_clock["now"] += 5
    assert client.get(TOKENS, **bearer(raw)).status_code == 200


def test_rate_limit_problem_in_french(client, actor, fixed_clock):
    _, raw = api_token_create(name="Slow", actor=actor, requests_per_minute=1)
    client.get(TOKENS, HTTP_AUTHORIZATION=f"Bearer {raw}")
    refused = client.get(TOKENS, HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="fr")
    assert refused.status_code == 429
    assert refused["Content-Language"] == "fr"
    assert refused.json()["type"] == "urn:comptoir:problem:rate-limited"


def test_staff_sessions_are_not_rate_limited(staff_client, fixed_clock, settings):
    settings.COMPTOIR_API_REQUESTS_PER_MINUTE = 2
    statuses = {staff_client.get(TOKENS).status_code for _ in range(5)}
    assert statuses == {200}


# The back-office's own calls: the staff session


def test_a_staff_session_reads_and_must_send_csrf_to_write(staff_user):
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(staff_user)
    assert browser.get(TOKENS).status_code == 200
    refused = browser.post(TOKENS, {"name": "From the page"}, content_type=JSON)
    assert refused.status_code == 403
    assert refused["Content-Type"] == PROBLEM
    assert refused.json()["type"] == "urn:comptoir:problem:csrf-failed"
    assert refused.json()["title"] == "The CSRF check failed."
    assert not ApiToken.objects.exists()
    # With the token of the CSRF cookie, as htmx sends it.
    browser.get("/staff/tokens/")
    csrf = browser.cookies["csrftoken"].value
    created = browser.post(
        TOKENS, {"name": "From the page"}, content_type=JSON, HTTP_X_CSRFTOKEN=csrf
    )
    assert created.status_code == 201
    assert ApiToken.objects.get().name == "From the page"
    revoked = browser.delete(f"{TOKENS}/{created.json()['id']}", HTTP_X_CSRFTOKEN=csrf)
    assert revoked.status_code == 204


def test_without_a_session_a_write_is_told_to_authenticate_not_about_csrf(token):
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    refused = browser.post(TOKENS, {"name": "x"}, content_type=JSON)
    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:comptoir:problem:unauthenticated"
    # A token needs no CSRF token.
    _, raw = token
    created = browser.post(TOKENS, {"name": "x"}, content_type=JSON, **bearer(raw))
    assert created.status_code == 201


def test_a_wrong_token_is_refused_even_beside_a_staff_session(staff_client, token, actor):
    api_token, raw = token
    api_token_revoke(token=api_token, actor=actor)
    response = staff_client.get(TOKENS, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert response.json()["type"] == "urn:comptoir:problem:unauthenticated"
    assert staff_client.get(TOKENS).status_code == 200


def test_a_session_that_is_not_staff_is_refused(client, django_user_model):
    visitor = django_user_model.objects.create_user(username="visitor", password="pw-12345678")
    client.force_login(visitor)
    assert client.get(TOKENS).status_code == 401


# The token endpoints


def test_create_returns_the_token_and_its_secret_once(client, token, staff_user):
    _, raw = token
    response = client.post(
        TOKENS,
        {"name": "  Nightly export  ", "read_only": True, "requests_per_minute": 30},
        content_type=JSON,
        **bearer(raw),
    )
    assert response.status_code == 201
    body = response.json()
    created = ApiToken.objects.get(pk=body["id"])
    assert body == {
        "id": created.pk,
        "name": "Nightly export",
        "prefix": body["secret"][:12],
        "staff_member": "marie",
        "read_only": True,
        "requests_per_minute": 30,
        "created_at": body["created_at"],
        "last_used_at": None,
        "revoked_at": None,
        "is_active": True,
        "secret": body["secret"],
    }
    assert datetime.datetime.fromisoformat(body["created_at"]) == to_the_millisecond(
        created.created_at
    )
    assert (created.name, created.read_only, created.requests_per_minute, created.user) == (
        "Nightly export",
        True,
        30,
        staff_user,
    )
    # The new secret works, read-only.
    assert client.get(TOKENS, **bearer(body["secret"])).status_code == 200
    assert client.post(TOKENS, {"name": "y"}, content_type=JSON, **bearer(body["secret"])).json()[
        "type"
    ] == ("urn:comptoir:problem:read-only-token")


def test_create_takes_the_default_rate_or_the_calling_tokens_lower_one(
    client, staff_client, actor, settings
):
    settings.COMPTOIR_API_REQUESTS_PER_MINUTE = 600
    made = staff_client.post(TOKENS, {"name": "Default"}, content_type=JSON)
    assert made.json()["requests_per_minute"] == 600
    _, raw = api_token_create(name="Limited", actor=actor, requests_per_minute=50)
    child = client.post(TOKENS, {"name": "Child"}, content_type=JSON, **bearer(raw))
    assert child.status_code == 201
    assert child.json()["requests_per_minute"] == 50
    # A token cannot mint one faster than itself.
    faster = client.post(
        TOKENS, {"name": "Faster", "requests_per_minute": 51}, content_type=JSON, **bearer(raw)
    )
    assert faster.status_code == 400
    assert faster.json()["type"] == "urn:comptoir:problem:validation"
    assert faster.json()["errors"] == [
        {
            "field": "requests_per_minute",
            "message": "Enter a number of requests per minute between 1 and 50.",
            "code": "out_of_range",
        }
    ]
    assert not ApiToken.objects.filter(name="Faster").exists()


def test_create_refuses_a_blank_name_with_a_field_error(staff_client):
    response = staff_client.post(
        TOKENS, {"name": "   "}, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "urn:comptoir:problem:validation",
        "title": "The request is not valid.",
        "status": 400,
        "errors": [{"field": "name", "message": "Give the token a name.", "code": "required"}],
    }
    assert not ApiToken.objects.exists()


def test_create_refuses_out_of_range_values(staff_client):
    for body, field, code in (
        ({"name": "x" * 101}, "name", "string_too_long"),
        ({"name": "x", "requests_per_minute": 0}, "requests_per_minute", "greater_than_equal"),
        ({"name": "x", "requests_per_minute": 100_001}, "requests_per_minute", "less_than_equal"),
        ({"name": "x", "read_only": "maybe"}, "read_only", "bool_parsing"),
    ):
        response = staff_client.post(TOKENS, body, content_type=JSON, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400, body
        assert response.json()["type"] == "urn:comptoir:problem:invalid-request"
        assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert not ApiToken.objects.exists()


def test_list_shows_own_tokens_newest_first_and_a_superuser_sees_all(
    client, actor, other_staff, django_user_model, django_assert_num_queries
):
    api_token_create(name="Mine, first", actor=actor)
    _, raw = api_token_create(name="Mine, second", actor=actor)
    api_token_create(name="Pierre's", actor=Actor.staff(other_staff))
    names = [item["name"] for item in client.get(TOKENS, **bearer(raw)).json()]
    assert names == ["Mine, second", "Mine, first"]

    boss = django_user_model.objects.create_superuser(username="boss", password="pw-boss-123456")
    _, boss_raw = api_token_create(name="Boss", actor=Actor.staff(boss))
    client.get(TOKENS, **bearer(boss_raw))  # last used written now, not in the counted call
    # Token and its staff member in one query, the list in another, whatever its length.
    with django_assert_num_queries(2):
        listed = client.get(TOKENS, **bearer(boss_raw)).json()
    assert [(item["name"], item["staff_member"]) for item in listed] == [
        ("Boss", "boss"),
        ("Pierre's", "pierre"),
        ("Mine, second", "marie"),
        ("Mine, first", "marie"),
    ]


def test_get_and_revoke_someone_elses_token_answer_404(client, token, other_staff, actor):
    _, raw = token
    theirs, _ = api_token_create(name="Pierre's", actor=Actor.staff(other_staff))
    for response in (
        client.get(f"{TOKENS}/{theirs.pk}", **bearer(raw)),
        client.delete(f"{TOKENS}/{theirs.pk}", **bearer(raw)),
        client.get(f"{TOKENS}/{theirs.pk + 1000}", **bearer(raw)),
    ):
        assert response.status_code == 404
        assert response["Content-Type"] == PROBLEM
        assert response.json() == {
            "type": "urn:comptoir:problem:not-found",
            "title": "Not found.",
            "status": 404,
        }
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_revoke_own_token_then_it_is_refused(client, actor, staff_user):
    victim, victim_raw = api_token_create(name="Leaked", actor=actor)
    _, raw = api_token_create(name="Admin script", actor=actor)
    response = client.delete(f"{TOKENS}/{victim.pk}", **bearer(raw))
    assert response.status_code == 204
    assert response.content == b""
    victim.refresh_from_db()
    assert victim.revoked_at is not None and not victim.is_active
    event = Event.objects.get(kind="api_token_revoked")
    assert (event.object_id, event.actor_id, event.source) == (victim.pk, staff_user.pk, "api")
    assert event.data == {"name": "Leaked"}
    assert client.get(TOKENS, **bearer(victim_raw)).status_code == 401
    # Revoking again is not an error and writes no second event.
    assert client.delete(f"{TOKENS}/{victim.pk}", **bearer(raw)).status_code == 204
    assert Event.objects.filter(kind="api_token_revoked").count() == 1
    listed = client.get(f"{TOKENS}/{victim.pk}", **bearer(raw)).json()
    assert listed["is_active"] is False
    assert datetime.datetime.fromisoformat(listed["revoked_at"]) == to_the_millisecond(
        victim.revoked_at
    )


def test_a_superuser_revokes_anyones_token(client, other_staff, django_user_model):
    theirs, _ = api_token_create(name="Pierre's", actor=Actor.staff(other_staff))
    boss = django_user_model.objects.create_superuser(username="boss", password="pw-boss-123456")
    _, raw = api_token_create(name="Boss", actor=Actor.staff(boss))
    assert client.delete(f"{TOKENS}/{theirs.pk}", **bearer(raw)).status_code == 204
    theirs.refresh_from_db()
    assert theirs.revoked_at is not None
