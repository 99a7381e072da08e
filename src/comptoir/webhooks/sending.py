"""Sending deliveries: the signed POST, its outcome, the retries.

The request::

    POST <webhook URL>
    Content-Type: application/json
    X-Comptoir-Topic: customer.updated
    X-Comptoir-Delivery: <the delivery's uuid, the same on every try>
    X-Comptoir-Timestamp: <Unix time of this try>
    X-Comptoir-Attempt: <1, 2, ...>
    X-Comptoir-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>

    {"id": "<delivery uuid>", "topic": "...", "created_at": "<ISO 8601>", "data": {...}}

The receiver computes the HMAC of the bytes it received with the webhook's secret and compares
it in constant time. The signature covers the body only; the body's ``id`` and ``created_at``
are in it, so a receiver refuses a replay by remembering the ids it has handled (and may refuse
bodies older than it cares for). The timestamp header says when this try was made.

A 2xx answer within the timeout is delivered. Anything else (another status, a redirect, which
is not followed, a refused connection, a timeout) is retried after 1 minute, 5 minutes,
30 minutes, 2 hours and 12 hours, then the delivery is failed; staff can send it again.

What went wrong is stored as a code (``Problem``) and its detail (the answer's first characters,
the redirect's target, the system's reason), not as a sentence: the sender runs in the worker's
language, the log is read in each staff member's own (``problem_message``).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery

# Seconds to wait after each failed try; one more try than there are waits.
BACKOFF = (60, 300, 1800, 7200, 43200)
MAX_ATTEMPTS = len(BACKOFF) + 1
TIMEOUT_SECONDS = 5.0
CONCURRENCY = 8
# A claimed delivery is left alone by other senders this long; a sender that dies lets it go.
LEASE = datetime.timedelta(minutes=5)
ERROR_LENGTH = 500
# What is read of an answer: enough to quote it in the log, never a whole page.
RESPONSE_EXCERPT = 200
USER_AGENT = "Comptoir-Webhooks/1"


def _setting(name: str, default):
    return getattr(settings, name, default)


def timeout_seconds() -> float:
    """How long a receiver has to answer (``COMPTOIR_WEBHOOK_TIMEOUT``, 5 seconds)."""
    return float(_setting("COMPTOIR_WEBHOOK_TIMEOUT", TIMEOUT_SECONDS))


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The exact bytes POSTed (and signed) for a delivery; the same on every try."""
    body = {
        "id": str(delivery.uuid),
        "topic": delivery.topic,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload or {"id": delivery.object_id},
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, body: bytes) -> str:
    """The X-Comptoir-Signature header's value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def delivery_headers(delivery: WebhookDelivery, body: bytes, *, attempt: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Comptoir-Topic": delivery.topic,
        "X-Comptoir-Delivery": str(delivery.uuid),
        "X-Comptoir-Timestamp": str(int(time.time())),
        "X-Comptoir-Attempt": str(attempt),
        "X-Comptoir-Signature": signature(delivery.webhook.secret, body),
    }


class Problem:
    """Why a try failed, as stored in ``WebhookDelivery.problem`` and ``WebhookAttempt.problem``."""

    HTTP = "http"  # answered with a status other than 2xx or 3xx
    REDIRECT = "redirect"  # answered with a redirect, which is not followed
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # refused, reset, unknown host, TLS failure, malformed answer
    SWITCHED_OFF = "switched_off"  # not sent: the webhook was switched off meanwhile


def problem_message(problem: str, *, status: int | None = None, detail: str = "") -> str:
    """A failed try explained in the active language (empty when there was no problem)."""
    if problem == Problem.HTTP:
        return f"HTTP {status}" + (f": {detail}" if detail else "")
    if problem == Problem.REDIRECT:
        return _(
            "HTTP %(status)s: redirected to %(location)s. Redirects are not followed: "
            "register the final address."
        ) % {"status": status, "location": detail or "?"}
    if problem == Problem.TIMEOUT:
        return _("No answer within %(seconds)s seconds.") % {"seconds": detail or "?"}
    if problem == Problem.CONNECTION:
        return _("The connection failed: %(reason)s") % {"reason": detail}
    if problem == Problem.SWITCHED_OFF:
        return _("Not sent: the webhook is switched off.")
    return detail


@dataclass(frozen=True)
class Outcome:
    """What one try got: the status code (None without an answer), how long it took, and
    why it failed (``problem``, one of ``Problem``; ``detail``: the answer's first characters,
    the redirect's target, the timeout in seconds or the system's reason)."""

    status: int | None
    milliseconds: int
    problem: str = ""
    detail: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: following it could lead the request
    somewhere the URL check never saw."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _excerpt(response) -> str:
    try:
        text = response.read(RESPONSE_EXCERPT).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
    return " ".join(text.split())


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Outcome:
    """POST ``body``; never raises: every failure is an ``Outcome`` saying why."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
            if 200 <= status < 300:
                return Outcome(status, elapsed())
            return Outcome(status, elapsed(), Problem.HTTP, _excerpt(response))
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            location = " ".join((error.headers.get("Location") or "").split())
            return Outcome(error.code, elapsed(), Problem.REDIRECT, location)
        return Outcome(error.code, elapsed(), Problem.HTTP, _excerpt(error))
    except TimeoutError:
        return Outcome(None, elapsed(), Problem.TIMEOUT, f"{timeout:g}")
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            return Outcome(None, elapsed(), Problem.TIMEOUT, f"{timeout:g}")
        return Outcome(None, elapsed(), Problem.CONNECTION, str(error.reason))
    except (OSError, ValueError, http.client.HTTPException) as error:  # reset, malformed answer
        return Outcome(None, elapsed(), Problem.CONNECTION, str(error) or type(error).__name__)


def retry_delay(attempts: int) -> datetime.timedelta | None:
    """How long to wait after the ``attempts``-th failed try; None when it was the last."""
    if attempts > len(BACKOFF):
        return None
    return datetime.timedelta(seconds=BACKOFF[attempts - 1])


def deliveries_claim(*, limit: int) -> list[WebhookDelivery]:
    """Take up to ``limit`` due deliveries for this sender: their next try moves a lease ahead,
    so another sender running at the same time takes others (PostgreSQL skips the locked rows;
    SQLite runs one writer at a time)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(id__in=ids).update(next_attempt_at=now + LEASE)
    return list(WebhookDelivery.objects.filter(id__in=ids).select_related("webhook").order_by("id"))


def _outcome_apply(
    delivery: WebhookDelivery, outcome: Outcome, *, error: str, at: datetime.datetime
) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = at
    delivery.response_status = outcome.status
    delivery.response_ms = outcome.milliseconds
    delivery.problem = outcome.problem
    delivery.error = error
    if outcome.delivered:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = at
        delivery.next_attempt_at = None
        return
    delay = None if delivery.is_test else retry_delay(delivery.attempts)
    if delay is None:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = at + delay


OUTCOME_FIELDS = [
    "attempts",
    "last_attempt_at",
    "response_status",
    "response_ms",
    "problem",
    "error",
    "status",
    "delivered_at",
    "next_attempt_at",
]


def deliveries_send(
    deliveries: Sequence[WebhookDelivery], *, by_hand: bool = False
) -> list[Outcome]:
    """Send claimed deliveries (several at a time: a slow receiver does not hold the others),
    then record each try and its consequence with one statement per table.

    A switched-off webhook's deliveries are failed unsent, unless staff send one ``by_hand``
    (a test before switching it on, a delivery sent again)."""
    timeout = timeout_seconds()
    workers = max(1, int(_setting("COMPTOIR_WEBHOOK_CONCURRENCY", CONCURRENCY)))
    at = timezone.now()
    switched_off = [d for d in deliveries if not (d.webhook.is_active or by_hand)]
    sending = [d for d in deliveries if d.webhook.is_active or by_hand]
    requests = []
    for delivery in sending:
        body = delivery_body(delivery)
        headers = delivery_headers(delivery, body, attempt=delivery.attempts + 1)
        requests.append((delivery.webhook.url, body, headers))
    if len(requests) == 1:
        outcomes = [post(*requests[0], timeout=timeout)]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(requests) or 1)) as pool:
            outcomes = list(pool.map(lambda r: post(*r, timeout=timeout), requests))
    attempts = []
    for delivery, outcome in zip(sending, outcomes, strict=True):
        error = outcome.detail[:ERROR_LENGTH]
        _outcome_apply(delivery, outcome, error=error, at=at)
        attempts.append(
            WebhookAttempt(
                delivery=delivery,
                attempted_at=at,
                response_status=outcome.status,
                response_ms=outcome.milliseconds,
                problem=outcome.problem,
                error=error,
                succeeded=outcome.delivered,
            )
        )
    for delivery in switched_off:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.problem = Problem.SWITCHED_OFF
        delivery.error = ""
    with transaction.atomic():
        # A webhook deleted while its deliveries were in flight took them with it: their
        # outcome has nowhere to go (and its tries no delivery to belong to). The lock keeps
        # them until this is written.
        still_there = set(
            WebhookDelivery.objects.filter(id__in=[d.pk for d in deliveries])
            .select_for_update()
            .values_list("id", flat=True)
        )
        WebhookAttempt.objects.bulk_create(
            [attempt for attempt in attempts if attempt.delivery_id in still_there]
        )
        WebhookDelivery.objects.bulk_update(
            [d for d in deliveries if d.pk in still_there], OUTCOME_FIELDS
        )
    return outcomes
