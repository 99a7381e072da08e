"""POST /password-reset and /password-reset/confirm: a one-time link in the outbox, the same
answer whether the e-mail has an account or not, a new password that logs everyone out."""

import datetime
import re

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone

from comptoir.core.models import Event, OutboxMessage
from comptoir.storefront.models import CustomerSession, LoginFailure, PasswordResetToken
from tests.storefront.conftest import PASSWORD, field_errors, problem

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Bateau-Bleu-1987"


def ask(api, email, **kw):
    return api.post("/password-reset", {"email": email}, **kw)


def token_from(message: OutboxMessage) -> str:
    return re.search(r"token=([\w-]+)", message.body).group(1)


def test_a_request_writes_a_token_and_a_message(api, registered):
    customer = registered(email="ines@example.com", language="en")
    response = ask(api, "Ines@Example.com", headers={"X-Customer-IP": "198.51.100.50"})
    assert response.status_code == 202
    message = OutboxMessage.objects.get(kind="password_reset")
    assert (message.to, message.language, message.customer_id) == (
        "ines@example.com",
        "en",
        customer.pk,
    )
    assert message.subject == "Reset your password" and "ines@example.com" in message.body
    raw = token_from(message)
    stored = PasswordResetToken.objects.get(customer=customer)
    assert stored.token_hash != raw and stored.used_at is None
    event = Event.objects.get(kind="password_reset_requested")
    assert (event.customer_id, event.source, event.ip_address) == (
        customer.pk,
        "storefront",
        "198.51.100.50",
    )
    assert raw not in response.content.decode()


@pytest.mark.parametrize("email", ["nobody@example.com", "guest@example.com", "not-an-email"])
def test_unknown_emails_get_the_same_answer_and_nothing_is_written(api, make_customer, email):
    make_customer(is_guest=True, email="guest@example.com")
    response = ask(api, email)
    assert response.status_code == 202 and response.json()["detail"].startswith(
        "If an account exists"
    )
    assert not OutboxMessage.objects.exists() and not PasswordResetToken.objects.exists()


def test_a_second_request_within_a_minute_sends_nothing_more(api, registered):
    registered(email="ines@example.com")
    ask(api, "ines@example.com")
    ask(api, "ines@example.com")
    assert OutboxMessage.objects.count() == 1 and PasswordResetToken.objects.count() == 1
    PasswordResetToken.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    ask(api, "ines@example.com")
    # A new link; the earlier one stops working.
    assert OutboxMessage.objects.count() == 2 and PasswordResetToken.objects.count() == 1


def test_confirm_sets_the_password_and_ends_every_session(api, registered):
    customer = registered(email="ines@example.com")
    old_session = api.login(customer.email)
    LoginFailure.objects.create(email_key="ines@example.com", created_at=timezone.now())
    ask(api, customer.email)
    raw = token_from(OutboxMessage.objects.get())
    response = api.post("/password-reset/confirm", {"token": raw, "password": NEW_PASSWORD})
    assert response.status_code == 204, response.content
    customer.refresh_from_db()
    assert check_password(NEW_PASSWORD, customer.password)
    assert PasswordResetToken.objects.get().used_at is not None
    assert not CustomerSession.objects.filter(revoked_at__isnull=True).exists()
    assert not LoginFailure.objects.exists()
    problem(api.get("/me", token=old_session), 401, "customer-session-required")
    api.login(customer.email, NEW_PASSWORD)
    problem(
        api.post("/login", {"email": customer.email, "password": PASSWORD}),
        401,
        "invalid-credentials",
    )
    # The token is used up.
    body = problem(
        api.post("/password-reset/confirm", {"token": raw, "password": "Autre-Mot-2-Passe"}),
        400,
        "reset-token-refused",
        "reset_token_invalid",
    )
    assert body["title"] == "This password reset link is not valid. Ask for a new one."


def test_an_expired_token_is_refused(api, registered):
    customer = registered(email="ines@example.com")
    ask(api, customer.email)
    raw = token_from(OutboxMessage.objects.get())
    PasswordResetToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    problem(
        api.post("/password-reset/confirm", {"token": raw, "password": NEW_PASSWORD}),
        400,
        "reset-token-refused",
        "reset_token_expired",
    )
    customer.refresh_from_db()
    assert check_password(PASSWORD, customer.password)


def test_an_unknown_token_is_refused(api):
    problem(
        api.post("/password-reset/confirm", {"token": "made-up", "password": NEW_PASSWORD}),
        400,
        "reset-token-refused",
        "reset_token_invalid",
    )


def test_a_weak_new_password_is_refused_and_the_token_kept(api, registered):
    customer = registered(email="ines@example.com", first_name="Inès", last_name="Garnier")
    ask(api, customer.email)
    raw = token_from(OutboxMessage.objects.get())
    body = problem(
        api.post("/password-reset/confirm", {"token": raw, "password": "garnier"}),
        400,
        "validation",
    )
    assert "password_too_short" in field_errors(body)["password"]
    assert PasswordResetToken.objects.get().used_at is None


def test_a_converted_guest_chooses_a_password_with_the_link(api, make_customer, actor):
    from comptoir.customers.services import customer_guest_convert

    guest = make_customer(is_guest=True, email="conv@example.com")
    conversion = customer_guest_convert(customer=guest, actor=actor)
    raw = token_from(conversion.message)
    assert (
        api.post("/password-reset/confirm", {"token": raw, "password": NEW_PASSWORD}).status_code
        == 204
    )
    api.login("conv@example.com", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/password-reset", {}, "email"),
        ("/password-reset", {"email": "a@example.com", "x": 1}, "x"),
        ("/password-reset/confirm", {"token": "t"}, "password"),
        ("/password-reset/confirm", {"password": "p"}, "token"),
    ],
)
def test_request_errors(api, path, body, field):
    errors = problem(api.post(path, body), 400, "invalid-request")["errors"]
    assert field in {error["field"] for error in errors}
