"""Who is calling the back-office API: an API token (``Authorization: Bearer``) or a staff
member's own session (the back-office's calls), and how fast a token may call.

After authentication ``request.auth`` is the staff ``User``, and ``request.api_token`` the token
(None for a session). ``api_actor(request)`` is the actor the services sign changes with.
"""

from __future__ import annotations

import functools
import math
import time

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth
from ninja.throttling import BaseThrottle
from ninja.utils import check_csrf

from comptoir.core.actors import Actor
from comptoir.core.api import Problem
from comptoir.staff.models import ApiToken
from comptoir.staff.services import api_token_hash, api_token_touch

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@functools.cache
def _live_tokens() -> QuerySet[ApiToken]:
    """Tokens that may call, with their staff member. Built once: every request looks one up,
    and setting the query up costs more than running it; each lookup filters a copy."""
    return ApiToken.objects.select_related("user").filter(
        revoked_at__isnull=True, user__is_active=True, user__is_staff=True
    )


def api_token_find(*, raw: str) -> ApiToken | None:
    """The live token behind ``raw``, with its staff member; None when unknown, revoked, or when
    its staff member has been deactivated or is no longer staff."""
    raw = raw.strip()
    if not raw or len(raw) > 200:
        return None
    # By the hash's unique index; get() rather than first(), whose ORDER BY only costs time.
    try:
        return _live_tokens().get(key_hash=api_token_hash(raw))
    except ApiToken.DoesNotExist:
        return None


def _refuse_writes_if_read_only(request: HttpRequest, token: ApiToken) -> None:
    if token.read_only and request.method not in SAFE_METHODS:
        raise Problem(
            status=403,
            slug="read-only-token",
            title=_("This API token is read-only."),
            detail=_("Create a token that may write to make changes."),
        )


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        found = api_token_find(raw=token)
        if found is None:
            # A token that is sent but wrong is refused outright, even beside a staff session:
            # an integration must learn its token no longer works, not carry on as someone.
            raise AuthenticationError()
        _refuse_writes_if_read_only(request, found)
        api_token_touch(token=found)
        request.api_token = found
        return found.user


class StaffSessionAuth(SessionAuth):
    """The back-office's own calls: a signed-in, active staff member (CSRF checked on writes)."""

    def __call__(self, request: HttpRequest):
        # Only a staff session is checked for CSRF: a caller without one (no token, a wrong
        # token) is told to authenticate (401), not that a CSRF token is missing.
        if not _is_staff(request.user):
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise Problem(
                status=403,
                slug="csrf-failed",
                title=_("The CSRF check failed."),
                detail=_(
                    "A write from a signed-in session must carry the X-CSRFToken header with "
                    "the csrftoken cookie's value. Integrations use an API token instead."
                ),
            )
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None):
        if _is_staff(request.user):
            request.api_token = None
            return request.user
        return None


def _is_staff(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


# Token first: an integration that also happens to hold a session cookie is still the token (and
# a wrong token is refused, not replaced by the session).
API_AUTH = [ApiTokenAuth(), StaffSessionAuth()]


class TokenRateThrottle(BaseThrottle):
    """Each token gets its own budget per minute (``ApiToken.requests_per_minute``); staff
    sessions are not throttled.

    A fixed window per clock minute, counted with the cache's atomic ``incr`` (``add`` starts
    the window's count): one cache call a request but the first of each minute, no
    per-request state on this shared instance (so it is safe under threads), and shared
    between workers when the cache is (Redis; the default local-memory cache counts per
    process, see docs/operations.md). The price of a fixed window: a client may fit up to
    twice its budget across a minute's boundary."""

    cache_format = "api-rate-%(token)s-%(window)s"
    window = 60
    timer = staticmethod(time.time)

    def allow_request(self, request: HttpRequest) -> bool:
        token = getattr(request, "api_token", None)
        if token is None:
            return True
        now = self.timer()
        key = self.cache_format % {"token": token.pk, "window": int(now // self.window)}
        try:
            count = cache.incr(key)
        except ValueError:  # the window's first request: start its count
            # Kept a little longer than the window, so a slow request still finds its count;
            # when another request has just started it, count on from there.
            count = 1 if cache.add(key, 1, timeout=self.window + 5) else cache.incr(key)
        return count <= token.requests_per_minute

    def wait(self) -> float:
        """Seconds until the current window ends (the Retry-After of a 429)."""
        return max(1, math.ceil(self.window - self.timer() % self.window))


def api_actor(request: HttpRequest) -> Actor:
    """The actor behind an API call: the token's staff member, or the signed-in one."""
    address = request.META.get("REMOTE_ADDR")
    if getattr(request, "api_token", None) is None:
        return Actor.staff(request.auth, ip_address=address)
    return Actor.api(user=request.auth, ip_address=address)
