"""The whole path as production runs it: a committed change queues the dispatcher in the
database task backend (django-tasks-db), and ``db_worker`` runs it, then the sender it queues,
which POSTs to a server on 127.0.0.1."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from comptoir.customers.services import customer_block
from comptoir.webhooks.models import DeliveryStatus, WebhookDelivery
from comptoir.webhooks.topics import CUSTOMER_BLOCKED, CUSTOMER_CREATED

from .conftest import signature_valid

# Real commits: on_commit callbacks run, and the worker reads what the test wrote.
committing = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def ready_tasks() -> list[str]:
    return sorted(
        path.rsplit(".", 1)[1]
        for path in DBTaskResult.objects.ready().values_list("task_path", flat=True)
    )


def run_worker() -> None:
    call_command("db_worker", batch=True, startup_delay=False, interval=0, verbosity=0)


@committing
def test_db_worker_dispatches_and_sends_after_commit(make_webhook, make_customer, receiver, actor):
    webhook = make_webhook(url=receiver.url, topics=[CUSTOMER_CREATED, CUSTOMER_BLOCKED])
    # Creating the webhook is an event too: a dispatch that finds nothing to send.
    run_worker()
    assert ready_tasks() == [] and receiver.requests == []
    # It also queued a catch-up dispatch for a few seconds later (another process may take
    # that long to see the webhook): not due yet.
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    with transaction.atomic():
        customer = make_customer(email="paul.durand@example.com")
        customer_block(customer=customer, reason="Chargeback", actor=actor)
        assert ready_tasks() == []  # nothing before the commit
    assert ready_tasks() == ["webhooks_dispatch_task"]

    run_worker()

    # The dispatcher made two deliveries and queued the sender; the worker ran both.
    assert ready_tasks() == []
    finished = DBTaskResult.objects.exclude(status="READY").order_by("enqueued_at")
    assert list(finished.values_list("task_path", "status")) == [
        ("comptoir.webhooks.tasks.webhooks_dispatch_task", "SUCCESSFUL"),  # the webhook's event
        ("comptoir.webhooks.tasks.webhooks_dispatch_task", "SUCCESSFUL"),
        ("comptoir.webhooks.tasks.webhooks_send_task", "SUCCESSFUL"),
    ]
    assert sorted(r.json["topic"] for r in receiver.requests) == [
        "customer.blocked",
        "customer.created",
    ]
    for request in receiver.requests:
        assert request.json["data"]["email"] == "paul.durand@example.com"
        assert signature_valid(
            webhook.secret, request.body, request.headers["X-Comptoir-Signature"]
        )
    assert set(WebhookDelivery.objects.values_list("status", "response_status")) == {
        (DeliveryStatus.DELIVERED, 200)
    }


@committing
def test_a_rolled_back_change_gives_the_worker_nothing_to_send(
    make_webhook, make_customer, receiver
):
    make_webhook(url=receiver.url, topics=[CUSTOMER_CREATED])
    run_worker()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_customer(email="never@example.com")
        raise RuntimeError("the request failed")
    assert ready_tasks() == []
    run_worker()
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()
