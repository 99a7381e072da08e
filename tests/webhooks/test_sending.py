"""Sending: a real POST to a server on 127.0.0.1, its signature, what the log keeps, the retries
with their backoff, the timeout, redirects not followed, the wake-up queued for the next try."""

from __future__ import annotations

import datetime
import time

import pytest
from django.test import override_settings
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from comptoir.webhooks.dispatch import webhooks_dispatch
from comptoir.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from comptoir.webhooks.runner import webhooks_send
from comptoir.webhooks.sending import Problem, deliveries_claim, deliveries_send, problem_message
from comptoir.webhooks.services import webhook_active_set, webhook_delete
from comptoir.webhooks.topics import CUSTOMER_CREATED

from .conftest import signature_valid

pytestmark = pytest.mark.django_db

# The documented schedule: seconds waited after the 1st, 2nd, ... failed try; 6 tries in all.
SCHEDULE = [60, 300, 1800, 7200, 43200]


@pytest.fixture
def pending(make_webhook, make_customer):
    """A webhook on ``url`` and one customer.created delivery waiting for it."""

    def make(url):
        webhook = make_webhook(url=url, topics=[CUSTOMER_CREATED])
        customer = make_customer(email="claire.martin@example.com", first_name="Claire")
        assert webhooks_dispatch() == 1
        return webhook, customer, WebhookDelivery.objects.get()

    return make


def make_due():
    WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )


def test_a_delivery_is_posted_signed_and_logged(pending, receiver):
    receiver.delay = 0.05
    webhook, customer, delivery = pending(receiver.url)
    before = int(time.time())
    result = webhooks_send()
    assert result["sent"] == 1 and result["delivered"] == 1
    [request] = receiver.requests
    assert request.path == "/hooks/comptoir"
    # The body: the delivery's id, its topic, when it was made, the customer as it is.
    body = request.json
    assert body["id"] == str(delivery.uuid)
    assert body["topic"] == "customer.created"
    assert body["created_at"] == delivery.created_at.isoformat()
    assert body["data"]["id"] == customer.pk
    assert body["data"]["email"] == "claire.martin@example.com"
    assert body["data"]["first_name"] == "Claire"
    # The headers, and a signature the receiver can check with the secret only.
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Comptoir-Topic"] == "customer.created"
    assert headers["X-Comptoir-Delivery"] == str(delivery.uuid)
    assert headers["X-Comptoir-Attempt"] == "1"
    assert before <= int(headers["X-Comptoir-Timestamp"]) <= int(time.time())
    assert headers["X-Comptoir-Signature"].startswith("sha256=")
    assert signature_valid(webhook.secret, request.body, headers["X-Comptoir-Signature"])
    assert not signature_valid("another secret", request.body, headers["X-Comptoir-Signature"])
    tampered = request.body.replace(b"Claire", b"Clara")
    assert not signature_valid(webhook.secret, tampered, headers["X-Comptoir-Signature"])
    # The log: delivered, the code, how long the receiver took.
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert (delivery.attempts, delivery.response_status) == (1, 200)
    assert 50 <= delivery.response_ms < 5000
    assert delivery.delivered_at is not None and delivery.next_attempt_at is None
    assert (delivery.problem, delivery.error) == ("", "")
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.succeeded, attempt.response_status) == (True, 200)
    assert attempt.response_ms == delivery.response_ms
    # Nothing more to send.
    assert webhooks_send()["sent"] == 0
    assert len(receiver.requests) == 1


def test_a_failing_endpoint_is_retried_on_schedule_then_failed(pending, receiver):
    receiver.status, receiver.answer = 500, b"Internal   error\n in the ERP"
    _webhook, _customer, delivery = pending(receiver.url)
    for attempt, wait in enumerate(SCHEDULE, start=1):
        assert webhooks_send()["sent"] == 1
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING
        assert (delivery.attempts, delivery.response_status) == (attempt, 500)
        assert (delivery.problem, delivery.error) == (Problem.HTTP, "Internal error in the ERP")
        assert delivery.next_attempt_at - delivery.last_attempt_at == datetime.timedelta(
            seconds=wait
        )
        # Not due yet: the sender leaves it alone.
        assert webhooks_send()["sent"] == 0
        assert len(receiver.requests) == attempt
        make_due()
    assert webhooks_send()["sent"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 6)
    assert delivery.next_attempt_at is None and delivery.delivered_at is None
    # Every try was the same delivery: same id, same body, the attempt number counting up.
    assert [r.headers["X-Comptoir-Attempt"] for r in receiver.requests] == list("123456")
    assert {r.headers["X-Comptoir-Delivery"] for r in receiver.requests} == {str(delivery.uuid)}
    assert len({r.body for r in receiver.requests}) == 1
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("id"))
    assert [(a.response_status, a.succeeded, a.problem) for a in log] == [(500, False, "http")] * 6
    # Failed for good: no sender sends it again.
    make_due()
    assert webhooks_send()["sent"] == 0
    assert len(receiver.requests) == 6


def test_a_refused_connection_is_retried_then_failed(pending, refused_url):
    _webhook, _customer, delivery = pending(refused_url)
    waits = []
    for _ in range(6):
        assert webhooks_send()["sent"] == 1
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
        make_due()
    assert waits == SCHEDULE
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 6)
    assert delivery.response_status is None
    assert delivery.problem == Problem.CONNECTION and "refused" in delivery.error.lower()
    assert WebhookAttempt.objects.filter(delivery=delivery, response_status=None).count() == 6
    with translation.override("en"):
        assert problem_message(delivery.problem, detail=delivery.error).startswith(
            "The connection failed: "
        )


def test_a_slow_receiver_times_out(pending, receiver):
    receiver.delay = 1.5
    _webhook, _customer, delivery = pending(receiver.url)
    with override_settings(COMPTOIR_WEBHOOK_TIMEOUT=0.3):
        started = time.monotonic()
        webhooks_send()
        assert time.monotonic() - started < 1.4
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert (delivery.problem, delivery.error, delivery.response_status) == ("timeout", "0.3", None)
    assert 300 <= delivery.response_ms < 1400
    with translation.override("en"):
        assert problem_message("timeout", detail="0.3") == "No answer within 0.3 seconds."


def test_a_redirect_is_not_followed(pending, receiver, other_receiver):
    receiver.status = 302
    receiver.headers = {"Location": other_receiver.url}
    _webhook, _customer, delivery = pending(receiver.url)
    webhooks_send()
    assert len(receiver.requests) == 1
    assert other_receiver.requests == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == (DeliveryStatus.PENDING, 302)
    assert (delivery.problem, delivery.error) == (Problem.REDIRECT, other_receiver.url)
    with translation.override("en"):
        assert problem_message("redirect", status=302, detail=other_receiver.url) == (
            f"HTTP 302: redirected to {other_receiver.url}. Redirects are not followed: "
            "register the final address."
        )


def test_any_2xx_is_delivered_and_any_4xx_is_retried(pending, receiver):
    receiver.status = 204
    receiver.answer = b""
    pending(receiver.url)
    webhooks_send()
    assert WebhookDelivery.objects.get().status == DeliveryStatus.DELIVERED
    receiver.status, receiver.answer = 410, b"gone"
    WebhookDelivery.objects.update(status=DeliveryStatus.PENDING, attempts=0)
    make_due()
    webhooks_send()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_status, delivery.error) == ("pending", 410, "gone")


def test_a_failed_try_queues_a_sender_for_the_next_one(
    pending, receiver, django_capture_on_commit_callbacks
):
    receiver.status = 503
    _webhook, _customer, delivery = pending(receiver.url)
    DBTaskResult.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_send()
    delivery.refresh_from_db()
    [wakeup] = DBTaskResult.objects.all()
    assert wakeup.task_path == "comptoir.webhooks.tasks.webhooks_send_task"
    assert wakeup.run_after == delivery.next_attempt_at
    # A second run before then queues no second wake-up.
    with django_capture_on_commit_callbacks(execute=True):
        webhooks_send()
    assert DBTaskResult.objects.count() == 1


def test_a_switched_off_webhook_is_sent_nothing(pending, receiver, actor):
    webhook, _customer, delivery = pending(receiver.url)
    webhook_active_set(webhook=webhook, actor=actor, is_active=False)
    webhooks_send()
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.problem, delivery.attempts) == ("failed", "switched_off", 0)
    with translation.override("en"):
        assert problem_message(delivery.problem) == "Not sent: the webhook is switched off."


def test_a_webhook_deleted_while_sending_loses_nothing_else(pending, receiver, actor):
    webhook, _customer, _delivery = pending(receiver.url)
    claimed = deliveries_claim(limit=10)
    webhook_delete(webhook=webhook, actor=actor)
    # The POST is made, its outcome has nowhere to go: no error, nothing written.
    [outcome] = deliveries_send(claimed)
    assert outcome.delivered and len(receiver.requests) == 1
    assert not WebhookDelivery.objects.exists() and not WebhookAttempt.objects.exists()


def test_several_deliveries_go_out_in_one_run(make_webhook, make_customer, receiver):
    webhook = make_webhook(url=receiver.url, topics=[CUSTOMER_CREATED])
    customers = [make_customer() for _ in range(5)]
    webhooks_dispatch()
    assert webhooks_send() == {"sent": 5, "delivered": 5, "pruned": 0}
    sent = sorted(r.json["data"]["id"] for r in receiver.requests)
    assert sent == [c.pk for c in customers]
    assert all(
        signature_valid(webhook.secret, r.body, r.headers["X-Comptoir-Signature"])
        for r in receiver.requests
    )


def test_old_finished_deliveries_are_pruned(pending, receiver):
    pending(receiver.url)
    webhooks_send()
    WebhookDelivery.objects.update(created_at=timezone.now() - datetime.timedelta(days=31))
    assert webhooks_send()["pruned"] == 1
    assert not WebhookDelivery.objects.exists() and not WebhookAttempt.objects.exists()


def test_the_body_is_compact_utf8_json(make_webhook, make_customer, receiver):
    make_webhook(url=receiver.url, topics=[CUSTOMER_CREATED])
    make_customer(first_name="Hélène")
    webhooks_dispatch()
    webhooks_send()
    [request] = receiver.requests
    assert '"first_name":"Hélène"'.encode() in request.body
    assert b"\\u00e9" not in request.body and b": " not in request.body
