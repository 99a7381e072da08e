"""Who is calling the storefront API.

Every call carries **the storefront key** (``X-Storefront-Key`` header): the shop's server
secret, set in the ``COMPTOIR_STOREFRONT_KEY`` setting (environment variable of the same name;
several keys may be given comma-separated, so a key can be rotated without downtime). Compared in
constant time. With no key configured every call answers 503 (``storefront_key_not_configured``):
an unset key refuses everything, it never lets everything in. Under ``DEBUG=1`` (``make run``)
the settings make a development key once per checkout, in ``var/dev-storefront-key``, so the
API can be tried locally; production sets its own.

The "my account" calls (``/me*``) and ``/logout`` also need **a customer session token**
(``Authorization: Bearer <token>``), returned by log in and register: random (256 bits), stored
as a SHA-256 hash, valid ``COMPTOIR_STOREFRONT_SESSION_DAYS`` (30) days, revoked by log out, a
password reset or an erasure. Both are required: the token says which customer, the key that the
shop's server is the one asking. A token stolen from a shopper's browser is of no use without
the shop's key, and the key alone reaches no customer's account. (Comptoir sends no CORS
headers: a shop's pages could not call it from the browser anyway; they go through the shop's
server.)

The shopper's address: the shop's server is the one calling, so ``REMOTE_ADDR`` is the server's.
A call that carries the valid storefront key may give the shopper's address in
``X-Customer-IP``; it is what events and consent history record. Otherwise ``REMOTE_ADDR``.

After authentication ``request.auth`` is the customer (account calls) or ``"storefront"``;
``request.customer_session`` the session. ``storefront_actor(request)`` is the actor the
services sign changes with: the storefront as source, the shopper's address, no staff member;
the customer the change is about is the event's customer.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyHeader, HttpBearer

from comptoir.core.actors import Actor
from comptoir.customers.models import Customer
from comptoir.storefront.errors import AccountDisabled, SessionRefused, StorefrontKeyRefused
from comptoir.storefront.selectors import session_find
from comptoir.storefront.services import session_touch

KEY_HEADER = "X-Storefront-Key"
CUSTOMER_IP_HEADER = "X-Customer-IP"


def _configured_keys() -> list[str]:
    value = getattr(settings, "COMPTOIR_STOREFRONT_KEY", "") or ""
    keys = value if isinstance(value, list | tuple) else value.split(",")
    return [key.strip() for key in keys if key and key.strip()]


def storefront_key_valid(given: str | None) -> bool:
    """Whether ``given`` is one of the configured keys (constant time for each)."""
    if not given:
        return False
    given_bytes = given.encode()
    # Every key is compared, so the time taken does not tell which one nearly matched.
    matches = [hmac.compare_digest(given_bytes, key.encode()) for key in _configured_keys()]
    return any(matches)


def _from_shop_server(request: HttpRequest) -> bool:
    cached = getattr(request, "_storefront_server", None)
    if cached is None:
        cached = storefront_key_valid(request.headers.get(KEY_HEADER))
        request._storefront_server = cached
    return cached


def client_ip(request: HttpRequest) -> str | None:
    """The shopper's address (see the module docstring)."""
    if _from_shop_server(request):
        given = (request.headers.get(CUSTOMER_IP_HEADER) or "").strip()
        try:
            return str(ipaddress.ip_address(given))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


def storefront_actor(request: HttpRequest) -> Actor:
    return Actor.storefront(ip_address=client_ip(request))


def storefront_key_check(request: HttpRequest) -> None:
    """Refuse a call without the shop's valid key (``StorefrontKeyRefused``)."""
    if not _configured_keys():
        raise StorefrontKeyRefused("storefront_key_not_configured")
    if not request.headers.get(KEY_HEADER):
        raise StorefrontKeyRefused("storefront_key_missing")
    if not _from_shop_server(request):
        raise StorefrontKeyRefused("storefront_key_invalid")


class StorefrontKeyAuth(APIKeyHeader):
    """The shop's server: ``X-Storefront-Key``."""

    param_name = KEY_HEADER

    def authenticate(self, request: HttpRequest, key: str | None):
        storefront_key_check(request)
        return "storefront"


class CustomerTokenAuth(HttpBearer):
    """A logged-in customer, through the shop's server: ``X-Storefront-Key`` and
    ``Authorization: Bearer <session token>``, both required."""

    def __call__(self, request: HttpRequest):
        # The key first: a caller without it learns nothing about tokens.
        storefront_key_check(request)
        value = request.headers.get(self.header) or ""
        scheme, _space, token = value.partition(" ")
        if scheme.lower() != self.openapi_scheme or not token.strip():
            raise SessionRefused("session_missing")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Customer:
        session = session_find(raw_token=token)
        if session is None or session.revoked_at is not None:
            raise SessionRefused("session_invalid")
        customer = session.customer
        if customer.deleted_at is not None or customer.anonymised_at is not None:
            raise SessionRefused("session_invalid")
        if session.expires_at <= timezone.now():
            raise SessionRefused("session_expired")
        if not customer.is_enabled:
            raise AccountDisabled()
        session_touch(session=session)
        request.customer_session = session
        return customer
