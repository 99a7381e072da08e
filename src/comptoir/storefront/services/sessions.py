"""Logging in and out of the storefront: the password check, the lockout after repeated
failures, and the customer sessions (bearer tokens) a login opens.

Lockout: ``COMPTOIR_STOREFRONT_LOGIN_MAX_FAILURES`` (5) failed logins for one e-mail within
``COMPTOIR_STOREFRONT_LOGIN_WINDOW_MINUTES`` (15) refuse every login for that e-mail, even with
the right password, until the oldest of them leaves the window. Failures are counted per e-mail
(known or not, so the answer does not tell which exist) in the ``LoginFailure`` table: the shop's
server makes the calls, so the caller's address would be the same for every shopper, and a
database count is shared by every worker and survives a restart, which the per-process cache is
not. Refused attempts during a lockout are not counted, so a lockout ends when it says it does.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.normalise import email_key
from comptoir.customers.models import Customer
from comptoir.orders.services import visit_record
from comptoir.storefront.errors import (
    AccountDisabled,
    InvalidCredentials,
    LoginLocked,
    PasswordResetRequired,
)
from comptoir.storefront.models import CustomerSession, LoginFailure, token_hash
from comptoir.storefront.selectors import customer_for_login

SESSION_DAYS = 30
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_MINUTES = 15
# How stale ``last_used_at`` may get before a call moves it.
SESSION_TOUCH_SECONDS = 60


def _max_failures() -> int:
    return int(getattr(settings, "COMPTOIR_STOREFRONT_LOGIN_MAX_FAILURES", LOGIN_MAX_FAILURES))


def _window() -> datetime.timedelta:
    minutes = getattr(settings, "COMPTOIR_STOREFRONT_LOGIN_WINDOW_MINUTES", LOGIN_WINDOW_MINUTES)
    return datetime.timedelta(minutes=float(minutes))


@dataclass(frozen=True)
class IssuedSession:
    """A session and its token. The token is only here, once: the table holds its hash."""

    session: CustomerSession
    token: str

    @property
    def customer(self) -> Customer:
        return self.session.customer


def session_create(*, customer: Customer, actor: Actor, user_agent: str = "") -> IssuedSession:
    now = timezone.now()
    days = float(getattr(settings, "COMPTOIR_STOREFRONT_SESSION_DAYS", SESSION_DAYS))
    raw = secrets.token_urlsafe(32)
    session = CustomerSession.objects.create(
        customer=customer,
        token_hash=token_hash(raw),
        created_at=now,
        expires_at=now + datetime.timedelta(days=days),
        last_used_at=now,
        ip_address=actor.ip_address,
        user_agent=(user_agent or "")[:255],
    )
    return IssuedSession(session=session, token=raw)


def session_revoke(*, session: CustomerSession) -> None:
    """Log out: the token stops working."""
    CustomerSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def sessions_revoke_all(*, customer: Customer) -> int:
    """Log the customer out everywhere (password changed, account erased)."""
    return CustomerSession.objects.filter(customer=customer, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def session_touch(*, session: CustomerSession) -> None:
    now = timezone.now()
    last = session.last_used_at
    if last is None or (now - last).total_seconds() >= SESSION_TOUCH_SECONDS:
        CustomerSession.objects.filter(pk=session.pk).update(last_used_at=now)
        session.last_used_at = now


def login_lockout_remaining(*, email: str, now: datetime.datetime | None = None) -> int:
    """Seconds until this e-mail may try to log in again; 0 when it is not locked."""
    key = email_key(email)
    now = now or timezone.now()
    limit = _max_failures()
    recent = list(
        LoginFailure.objects.filter(email_key=key, created_at__gt=now - _window())
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return 0
    # When the limit-th newest failure leaves the window, fewer than ``limit`` remain in it.
    return max(1, int((recent[-1] + _window() - now).total_seconds()) + 1)


@transaction.atomic
def login_failure_record(*, email: str, actor: Actor) -> None:
    now = timezone.now()
    # Pruning as we go keeps the table to the failures that still count.
    LoginFailure.objects.filter(created_at__lte=now - _window()).delete()
    LoginFailure.objects.create(
        email_key=email_key(email)[:254], created_at=now, ip_address=actor.ip_address
    )


def password_matches(*, customer: Customer | None, raw_password: str) -> bool:
    """Check a password against the customer's Argon2 hash. Without a customer or a usable
    hash a password is still hashed once, so the answer takes as long as for a real account
    (no timing hint of which e-mails exist)."""
    if customer is None or not customer.password:
        make_password(raw_password)
        return False
    return check_password(raw_password, customer.password)


def customer_login(
    *, email: str, raw_password: str, actor: Actor, user_agent: str = ""
) -> IssuedSession:
    """Log a customer in and open a session; a login counts as a visit.

    Refused with ``LoginLocked`` while the e-mail is locked out, ``InvalidCredentials`` for an
    unknown e-mail or a wrong password (a failure is recorded), ``PasswordResetRequired`` for an
    account without a password yet, ``AccountDisabled`` for a disabled account (only said to
    someone who gave its password). A blocked customer logs in: ordering is what is refused.
    """
    wait = login_lockout_remaining(email=email)
    if wait:
        raise LoginLocked(retry_after=wait)
    customer = customer_for_login(email=email)
    if customer is not None and not customer.password and customer.must_reset_password:
        raise PasswordResetRequired()
    if not password_matches(customer=customer, raw_password=raw_password):
        login_failure_record(email=email, actor=actor)
        raise InvalidCredentials()
    if not customer.is_enabled:
        raise AccountDisabled()
    with transaction.atomic():
        LoginFailure.objects.filter(email_key=customer.email_key).delete()
        issued = session_create(customer=customer, actor=actor, user_agent=user_agent)
        visit_record(customer=customer, ip_address=actor.ip_address)
    return issued
