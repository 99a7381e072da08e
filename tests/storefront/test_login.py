"""POST /login and /logout: Argon2 check, lockout after repeated failures, disabled and blocked
customers, sessions."""

import datetime

import pytest
from django.utils import timezone

from comptoir.customers.services import customer_block, customer_enabled_set
from comptoir.orders.models import Visit
from comptoir.storefront.models import CustomerSession, LoginFailure
from tests.storefront.conftest import PASSWORD, field_errors, problem

pytestmark = pytest.mark.django_db


def login(api, email, password=PASSWORD, **kw):
    return api.post("/login", {"email": email, "password": password}, **kw)


def test_login_returns_a_session_and_the_profile(api, registered):
    customer = registered(email="paul@example.com")
    response = login(api, " PAUL@example.com ", headers={"User-Agent": "Firefox/130"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["session"]["token_type"] == "Bearer" and len(body["session"]["token"]) >= 40
    assert body["customer"]["id"] == customer.pk and body["customer"]["can_order"] is True
    session = CustomerSession.objects.get(customer=customer)
    assert session.user_agent == "Firefox/130" and session.ip_address == "127.0.0.1"
    expires = datetime.datetime.fromisoformat(body["session"]["expires_at"])
    assert abs((expires - timezone.now()) - datetime.timedelta(days=30)) < datetime.timedelta(
        minutes=1
    )
    # A login is a visit: it moves the customer's last visit.
    assert Visit.objects.filter(customer=customer).count() == 1
    customer.refresh_from_db()
    assert customer.last_visit_at is not None
    assert "argon2" not in response.content.decode()


@pytest.mark.parametrize(
    ("email", "password"),
    [("paul@example.com", "Wrong-password-1"), ("nobody@example.com", PASSWORD)],
)
def test_wrong_password_and_unknown_email_answer_the_same(api, registered, email, password):
    registered(email="paul@example.com")
    body = problem(login(api, email, password), 401, "invalid-credentials", "invalid_credentials")
    assert body["title"] == "The e-mail address or the password is not correct."
    assert LoginFailure.objects.filter(email_key=email).count() == 1
    assert not CustomerSession.objects.exists()


def test_guests_cannot_log_in(api, make_customer):
    make_customer(is_guest=True, email="guest@example.com")
    problem(login(api, "guest@example.com"), 401, "invalid-credentials")


def test_lockout_after_five_failures(api, registered):
    registered(email="paul@example.com")
    for _ in range(5):
        problem(login(api, "paul@example.com", "Wrong-password-1"), 401, "invalid-credentials")
    response = login(api, "paul@example.com")  # even the right password, while locked
    body = problem(response, 429, "login-locked", "too_many_failures")
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60 + 1
    assert "15 minutes" in body["title"]
    # Refused attempts while locked do not extend the lockout.
    login(api, "paul@example.com", "Wrong-password-1")
    assert LoginFailure.objects.count() == 5
    assert not CustomerSession.objects.exists()


def test_lockout_ends_when_the_failures_leave_the_window(api, registered):
    registered(email="paul@example.com")
    for _ in range(5):
        login(api, "paul@example.com", "Wrong-password-1")
    LoginFailure.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=16))
    assert login(api, "paul@example.com").status_code == 200
    # A success forgets the e-mail's failures (the old ones were pruned too).
    assert not LoginFailure.objects.exists()


def test_lockout_is_per_email_and_counts_unknown_ones(api, registered):
    registered(email="paul@example.com")
    for _ in range(5):
        login(api, "ghost@example.com", "x")
    problem(login(api, "ghost@example.com", "x"), 429, "login-locked")
    assert login(api, "paul@example.com").status_code == 200


def test_lockout_message_in_french(api, registered):
    registered(email="paul@example.com")
    for _ in range(5):
        login(api, "paul@example.com", "Wrong-password-1")
    response = login(api, "paul@example.com", lang="fr")
    problem(response, 429, "login-locked", "too_many_failures")
    assert response["Content-Language"] == "fr"


def test_a_disabled_customer_cannot_log_in(api, registered, actor):
    customer = registered(email="paul@example.com")
    customer_enabled_set(customer=customer, enabled=False, actor=actor)
    body = problem(login(api, "paul@example.com"), 403, "account-disabled", "account_disabled")
    assert body["title"] == "This customer account is disabled. Please contact the shop."
    assert not CustomerSession.objects.exists()
    # Without the right password it is only a failed login: nothing is told about the account.
    problem(login(api, "paul@example.com", "Wrong-password-1"), 401, "invalid-credentials")


def test_a_blocked_customer_can_log_in_but_cannot_order(api, registered, actor):
    customer = registered(email="paul@example.com")
    customer_block(customer=customer, reason="Unpaid", actor=actor)
    body = login(api, "paul@example.com").json()
    assert body["customer"]["can_order"] is False
    assert "Unpaid" not in str(body)


def test_an_account_without_a_password_is_told_to_reset(api, make_customer, actor):
    from comptoir.customers.services import customer_guest_convert

    guest = make_customer(is_guest=True, email="conv@example.com")
    customer_guest_convert(customer=guest, actor=actor)  # no password yet
    problem(
        login(api, "conv@example.com", "anything-at-all"),
        403,
        "password-reset-required",
        "password_reset_required",
    )
    assert not LoginFailure.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "a@example.com"}, "password"), ({"password": "x"}, "email"), ({}, "email")],
)
def test_login_request_errors(api, body, field):
    response = api.post("/login", body)
    assert field in {e["field"] for e in problem(response, 400, "invalid-request")["errors"]}


def test_logout_revokes_this_session_only(api, registered):
    customer = registered(email="paul@example.com")
    first, second = api.login(customer.email), api.login(customer.email)
    assert api.post("/logout", token=first).status_code == 204
    problem(api.get("/me", token=first), 401, "customer-session-required", "session_invalid")
    assert api.get("/me", token=second).status_code == 200


def test_logout_everywhere(api, registered):
    customer = registered(email="paul@example.com")
    first, second = api.login(customer.email), api.login(customer.email)
    assert api.post("/logout?everywhere=true", token=first).status_code == 204
    for token in (first, second):
        problem(api.get("/me", token=token), 401, "customer-session-required")
    assert CustomerSession.objects.filter(revoked_at__isnull=True).count() == 0


def test_logout_with_a_bad_flag_is_a_400_and_logs_nothing_out(api, registered):
    customer = registered(email="remi@example.com")
    token = api.login(customer.email)
    body = problem(api.post("/logout?everywhere=maybe", token=token), 400, "invalid-request")
    assert field_errors(body) == {"everywhere": ["bool_parsing"]}
    assert api.get("/me", token=token).status_code == 200
