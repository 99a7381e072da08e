"""The API tokens screens of the back-office: the list, create (the secret shown once), revoke."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.staff.models import ApiToken
from comptoir.staff.services import api_token_create

pytestmark = pytest.mark.django_db

LIST = "/staff/tokens/"
NEW = "/staff/tokens/new/"


def revoke_url(token: ApiToken) -> str:
    return f"/staff/tokens/{token.pk}/revoke/"


@pytest.fixture
def other_staff(django_user_model):
    return django_user_model.objects.create_user(
        username="pierre", password="another fine password", is_staff=True
    )


def test_the_screens_need_a_staff_login(client, actor):
    token, _ = api_token_create(name="x", actor=actor)
    for url in (LIST, NEW, revoke_url(token)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/?next=")
    assert client.post(NEW, {"name": "x", "requests_per_minute": 10}).status_code == 302
    assert ApiToken.objects.count() == 1


def test_the_list_shows_own_tokens_with_their_facts(staff_client, actor, other_staff):
    api_token_create(name="Shop checkout", actor=actor)
    reporting, _ = api_token_create(name="Reporting", actor=actor, read_only=True)
    ApiToken.objects.filter(pk=reporting.pk).update(requests_per_minute=42)
    api_token_create(name="Pierre's tool", actor=Actor.staff(other_staff))
    response = staff_client.get(LIST, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "API tokens" in html
    assert "Shop checkout" in html and "Reporting" in html
    assert "Pierre's tool" not in html and "Pierre&#x27;s tool" not in html
    rows = re.findall(r'<tr data-token="(\d+)"', html)
    assert rows == [
        str(t.pk) for t in ApiToken.objects.filter(user__username="marie").order_by("-pk")
    ]
    reporting.refresh_from_db()
    assert f"<code data-prefix>{reporting.prefix}…</code>" in html
    assert "Read only" in html and "Read and write" in html
    assert ">42<" in html
    assert "Never" in html
    assert html.count("data-revoke") == 2
    # The navbar's API section leads here and is the current one.
    assert re.search(r'<a class="nav-link active" href="/staff/tokens/" aria-current="page">', html)


def test_a_superuser_sees_every_staff_members_tokens(client, actor, other_staff, django_user_model):
    boss = django_user_model.objects.create_superuser(username="boss", password="pw-boss-123456")
    client.force_login(boss)
    api_token_create(name="Marie's", actor=actor)
    api_token_create(name="Pierre's tool", actor=Actor.staff(other_staff))
    html = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Every staff member’s tokens." in html  # noqa: RUF001
    assert "Marie Curie" in html and "pierre" in html and "Pierre&#x27;s tool" in html


def test_the_list_runs_the_same_queries_for_one_token_or_many(staff_client, actor):
    api_token_create(name="One", actor=actor)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(LIST).status_code == 200
        return len(captured)

    one = queries()
    for n in range(6):
        api_token_create(name=f"Token {n}", actor=actor)
    assert queries() == one


def test_an_empty_list_says_what_tokens_are_for(staff_client):
    html = staff_client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="no-tokens"' in html
    assert "No API token yet." in html


def test_create_shows_the_secret_once_and_keeps_only_its_hash(client, staff_client, staff_user):
    form = staff_client.get(NEW, HTTP_ACCEPT_LANGUAGE="en")
    assert form.status_code == 200
    assert 'name="requests_per_minute"' in form.content.decode()
    assert 'value="600"' in form.content.decode()  # the shop's default
    response = staff_client.post(
        NEW,
        {"name": "Accounting export", "read_only": "on", "requests_per_minute": "120"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = re.search(r'id="token-secret" value="(cpt_[A-Za-z0-9_-]+)"', html).group(1)
    assert "it will not be shown again" in html
    token = ApiToken.objects.get()
    assert (token.name, token.read_only, token.requests_per_minute, token.user) == (
        "Accounting export",
        True,
        120,
        staff_user,
    )
    assert token.prefix == secret[:12]
    assert token.key_hash != secret and secret not in token.key_hash
    event = Event.objects.get(kind="api_token_created")
    assert (event.object_id, event.actor_id, event.source) == (
        token.pk,
        staff_user.pk,
        "backoffice",
    )
    # The secret works, and no later page shows it.
    assert client.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    for url in (LIST, revoke_url(token)):
        assert secret not in staff_client.get(url).content.decode()


def test_create_refuses_bad_input_next_to_the_field(staff_client):
    response = staff_client.post(
        NEW, {"name": "", "requests_per_minute": "0"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required." in html
    assert "Ensure this value is greater than or equal to 1." in html
    assert html.count("is-invalid") == 2
    assert not ApiToken.objects.exists()
    # A blank name passes the form but not the service: said next to the field too.
    response = staff_client.post(
        NEW, {"name": "   ", "requests_per_minute": "5"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_asks_then_revokes(staff_client, actor, staff_user):
    token, raw = api_token_create(name="Leaked", actor=actor)
    page = staff_client.get(revoke_url(token), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "Revoke the token “Leaked”" in page.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None  # asking changes nothing
    response = staff_client.post(revoke_url(token), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response["Location"] == LIST
    token.refresh_from_db()
    assert token.revoked_at is not None
    event = Event.objects.get(kind="api_token_revoked")
    assert (event.object_id, event.actor_id, event.source) == (
        token.pk,
        staff_user.pk,
        "backoffice",
    )
    listed = staff_client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Token “Leaked” revoked." in listed
    assert "Revoked" in listed and "data-revoke" not in listed
    assert staff_client.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert 'id="token-already-revoked"' in staff_client.get(revoke_url(token)).content.decode()


def test_someone_elses_token_cannot_be_revoked(staff_client, other_staff):
    theirs, _ = api_token_create(name="Pierre's tool", actor=Actor.staff(other_staff))
    assert staff_client.get(revoke_url(theirs)).status_code == 404
    assert staff_client.post(revoke_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
