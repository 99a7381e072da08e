"""The dispatcher: events past the checkpoint become deliveries for the subscribed webhooks, after
commit only, set-based, with the customer or group as it is."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from django_tasks.signals import task_enqueued

from comptoir.core.actors import Actor
from comptoir.core.events import event_record
from comptoir.core.models import Event
from comptoir.customers.models import Customer, DeleteMode
from comptoir.customers.services import (
    customer_block,
    customer_delete,
    customer_merge,
    customer_note_set,
    customer_unblock,
    customers_bulk_block,
    customers_bulk_group_add,
)
from comptoir.groups.services import group_create, group_delete, group_update
from comptoir.webhooks import dispatch
from comptoir.webhooks.dispatch import webhooks_dispatch
from comptoir.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookDispatchState
from comptoir.webhooks.services import webhook_update
from comptoir.webhooks.topics import (
    CUSTOMER_BLOCKED,
    CUSTOMER_CREATED,
    CUSTOMER_DELETED,
    CUSTOMER_MERGED,
    CUSTOMER_UNBLOCKED,
    CUSTOMER_UPDATED,
    GROUP_CREATED,
    GROUP_DELETED,
    GROUP_UPDATED,
)

from .conftest import DUMMY

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued():
    """The names of the tasks queued while the test runs."""
    names: list[str] = []

    def remember(sender, task_result, **kwargs):
        names.append(task_result.task.name)

    task_enqueued.connect(remember)
    with override_settings(TASKS=DUMMY):
        yield names
    task_enqueued.disconnect(remember)


def deliveries(**filters) -> list[tuple]:
    return list(
        WebhookDelivery.objects.filter(**filters)
        .order_by("id")
        .values_list("topic", "object_type", "object_id")
    )


# ----- after commit ------------------------------------------------------------------------------


# Real commits: the test's own transaction would hold every on_commit callback back.
committing = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@committing
def test_a_committed_change_queues_the_dispatcher_once_per_transaction(
    make_webhook, make_customer, enqueued
):
    make_webhook()
    enqueued.clear()
    with transaction.atomic():
        first = make_customer()
        make_customer()
        customer_note_set(customer=first, note="VIP", actor=Actor.system())
        assert enqueued == []  # not before the commit
    assert enqueued == ["webhooks_dispatch_task"]
    assert webhooks_dispatch() == 3


@committing
def test_a_rolled_back_change_queues_nothing_and_sends_nothing(
    make_webhook, make_customer, enqueued
):
    make_webhook()
    enqueued.clear()
    with pytest.raises(RuntimeError), transaction.atomic():
        make_customer(email="gone@example.com")
        raise RuntimeError("the request failed")
    assert enqueued == []
    assert webhooks_dispatch() == 0
    assert not WebhookDelivery.objects.exists()
    # A savepoint rolled back inside a committed transaction: only the kept change is sent.
    with transaction.atomic():
        kept = make_customer()
        with pytest.raises(RuntimeError), transaction.atomic():
            make_customer(email="gone@example.com")
            raise RuntimeError("that part failed")
    assert enqueued == ["webhooks_dispatch_task"]
    assert webhooks_dispatch() == 1
    assert deliveries() == [(CUSTOMER_CREATED, "customer", kept.pk)]


@committing
def test_without_an_active_webhook_nothing_is_queued(make_webhook, make_customer, enqueued, actor):
    webhook = make_webhook(is_active=False)
    enqueued.clear()
    make_customer()
    assert enqueued == []
    # Switched on, it is: the cached "no webhook" was forgotten.
    webhook_update(
        webhook=webhook,
        actor=actor,
        name=webhook.name,
        url=webhook.url,
        topics=webhook.topics,
        is_active=True,
    )
    enqueued.clear()
    make_customer()
    assert enqueued == ["webhooks_dispatch_task"]


def test_the_dispatcher_queues_the_sender_when_it_made_deliveries(
    make_webhook, make_customer, enqueued
):
    from comptoir.webhooks.runner import webhooks_dispatch_and_send

    make_webhook()
    make_customer()
    enqueued.clear()
    assert webhooks_dispatch_and_send() == 1
    assert enqueued == ["webhooks_send_task"]
    # A sender took the delivery (its lease moves the next try ahead): nothing new, no sender.
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() + datetime.timedelta(minutes=5))
    enqueued.clear()
    assert webhooks_dispatch_and_send() == 0
    assert enqueued == []
    # That sender died: once its lease has run out, the next dispatch queues another one.
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(seconds=1))
    assert webhooks_dispatch_and_send() == 0
    assert enqueued == ["webhooks_send_task"]


# ----- what is delivered -------------------------------------------------------------------------


def test_each_customer_topic_makes_its_delivery(make_webhook, make_customer, actor):
    webhook = make_webhook()
    customer = make_customer()
    webhooks_dispatch()
    customer_block(customer=customer, reason="Unpaid orders", actor=actor)
    webhooks_dispatch()
    customer_unblock(customer=customer, actor=actor)
    webhooks_dispatch()
    customer_note_set(customer=customer, note="Call first", actor=actor)
    webhooks_dispatch()
    assert deliveries(webhook=webhook) == [
        (CUSTOMER_CREATED, "customer", customer.pk),
        (CUSTOMER_BLOCKED, "customer", customer.pk),
        (CUSTOMER_UNBLOCKED, "customer", customer.pk),
        (CUSTOMER_UPDATED, "customer", customer.pk),
    ]
    created, blocked, unblocked, noted = WebhookDelivery.objects.order_by("id")
    assert created.status == DeliveryStatus.PENDING and created.next_attempt_at is not None
    assert created.event_id == Event.objects.get(kind="customer_created").pk
    # Each carries the customer as it was when dispatched.
    assert blocked.payload["is_blocked"] is True
    assert blocked.payload["blocked_reason"] == "Unpaid orders"
    assert unblocked.payload["is_blocked"] is False
    assert noted.payload["note"] == "Call first"


def test_the_customer_data_is_what_the_api_shows_and_no_secret(
    make_webhook, make_customer, vip_group, default_group
):
    make_webhook(topics=[CUSTOMER_CREATED])
    customer = make_customer(
        email="Helene@Example.com",
        password="correct horse battery staple",
        groups=[default_group, vip_group],
        default_group=vip_group,
        tags=["Grossiste", "bio"],
        consents={"newsletter": True},
    )
    webhooks_dispatch()
    data = WebhookDelivery.objects.get().payload
    assert data["id"] == customer.pk
    assert data["email"] == customer.email
    assert data["first_name"] == "Hélène"
    assert data["groups"] == sorted([default_group.pk, vip_group.pk])
    assert data["default_group"] == vip_group.pk
    assert data["tags"] == ["bio", "Grossiste"]
    assert data["consents"]["newsletter"]["granted"] is True
    assert data["consents"]["sms"]["granted"] is False
    assert data["figures"] == {
        "orders_count": 0,
        "invalid_orders_count": 0,
        "total_spent": "0.00",
        "first_order_at": None,
        "last_order_at": None,
        "last_visit_at": None,
    }
    assert data["created_at"] == customer.created_at.isoformat()
    assert data["is_blocked"] is False and data["is_guest"] is False
    text = str(data)
    assert "password" not in text and "argon2" not in text
    assert "search_text" not in data and "email_key" not in data


def test_only_subscribed_topics_are_delivered(make_webhook, make_customer, actor):
    blocks = make_webhook(name="Blocks", topics=[CUSTOMER_BLOCKED])
    creations = make_webhook(name="New", topics=[CUSTOMER_CREATED])
    customer = make_customer()
    customer_block(customer=customer, reason="Fraud", actor=actor)
    webhooks_dispatch()
    assert deliveries(webhook=blocks) == [(CUSTOMER_BLOCKED, "customer", customer.pk)]
    assert deliveries(webhook=creations) == [(CUSTOMER_CREATED, "customer", customer.pk)]


def test_changes_before_a_webhook_existed_are_not_sent(make_customer, make_webhook):
    before = make_customer()
    webhook = make_webhook()
    after = make_customer()
    webhooks_dispatch()
    assert deliveries(webhook=webhook) == [(CUSTOMER_CREATED, "customer", after.pk)]
    assert before.pk != after.pk


def test_changes_made_while_switched_off_are_not_sent(make_webhook, make_customer, actor):
    webhook = make_webhook()
    fields = {"name": webhook.name, "url": webhook.url, "topics": webhook.topics}
    webhook_update(webhook=webhook, actor=actor, is_active=False, **fields)
    make_customer()
    webhooks_dispatch()
    webhook_update(webhook=webhook, actor=actor, is_active=True, **fields)
    later = make_customer()
    webhooks_dispatch()
    assert deliveries(webhook=webhook) == [(CUSTOMER_CREATED, "customer", later.pk)]


def test_dispatching_twice_makes_nothing_more(make_webhook, make_customer):
    make_webhook()
    make_customer()
    assert webhooks_dispatch() == 1
    assert webhooks_dispatch() == 0
    state = WebhookDispatchState.objects.get()
    assert state.checkpoint == Event.objects.latest("id").pk


def test_updates_of_one_customer_read_together_are_one_delivery(make_webhook, make_customer, actor):
    webhook = make_webhook(topics=[CUSTOMER_UPDATED])
    customer = make_customer()
    customer_note_set(customer=customer, note="one", actor=actor)
    customer_note_set(customer=customer, note="two", actor=actor)
    webhooks_dispatch()
    delivery = WebhookDelivery.objects.get(webhook=webhook)
    assert delivery.payload["note"] == "two"
    assert delivery.event_id == Event.objects.filter(kind="note_changed").latest("id").pk


def test_deleted_customers_are_their_id_only_and_earlier_bodies_are_scrubbed(
    make_webhook, make_customer
):
    webhook = make_webhook(topics=[CUSTOMER_CREATED, CUSTOMER_DELETED])
    customer = make_customer(email="erase.me@example.com")
    webhooks_dispatch()
    assert WebhookDelivery.objects.get().payload["email"] == "erase.me@example.com"
    customer_delete(customer=customer, mode=DeleteMode.ANONYMISE, actor=Actor.system())
    webhooks_dispatch()
    created, deleted = WebhookDelivery.objects.filter(webhook=webhook).order_by("id")
    assert (deleted.topic, deleted.payload) == (CUSTOMER_DELETED, {"id": customer.pk})
    # The log keeps no personal data of someone erased, and a pending try sends none.
    assert created.payload == {"id": customer.pk}


def test_a_change_then_a_deletion_read_together_send_no_personal_data(make_webhook, make_customer):
    make_webhook(topics=[CUSTOMER_CREATED, CUSTOMER_DELETED])
    customer = make_customer()
    customer_delete(customer=customer, mode=DeleteMode.ALLOW_REREGISTRATION, actor=Actor.system())
    webhooks_dispatch()
    assert list(WebhookDelivery.objects.order_by("id").values_list("topic", "payload")) == [
        (CUSTOMER_CREATED, {"id": customer.pk}),
        (CUSTOMER_DELETED, {"id": customer.pk}),
    ]


def test_a_merge_sends_the_survivor_and_the_duplicate_gone(make_webhook, make_customer, actor):
    webhook = make_webhook(topics=[CUSTOMER_MERGED, CUSTOMER_DELETED])
    survivor, duplicate = make_customer(), make_customer()
    customer_merge(
        survivor=survivor,
        duplicate=duplicate,
        choices={},
        duplicate_version=Customer.objects.get(pk=duplicate.pk).version,
        actor=actor,
    )
    webhooks_dispatch()
    sent = {d.topic: d for d in WebhookDelivery.objects.filter(webhook=webhook)}
    assert sent[CUSTOMER_MERGED].object_id == survivor.pk
    assert sent[CUSTOMER_MERGED].payload["merged_from"] == [duplicate.pk]
    assert sent[CUSTOMER_MERGED].payload["email"] == survivor.email
    assert sent[CUSTOMER_DELETED].payload == {"id": duplicate.pk, "merged_into": survivor.pk}


def test_group_topics(make_webhook, actor, default_group):
    webhook = make_webhook(topics=[GROUP_CREATED, GROUP_UPDATED, GROUP_DELETED])
    group = group_create(actor=actor, name_fr="Pros", name_en="Trade", discount="12.5")
    webhooks_dispatch()
    group_update(group=group, actor=actor, discount="15", is_default=True)
    webhooks_dispatch()
    group_update(group=default_group, actor=actor, is_default=True)
    group_delete(group=group, move_to=default_group, actor=actor)
    webhooks_dispatch()
    rows = deliveries(webhook=webhook)
    assert rows[0] == (GROUP_CREATED, "group", group.pk)
    created = WebhookDelivery.objects.filter(webhook=webhook).order_by("id").first()
    assert created.payload["name_en"] == "Trade" and created.payload["discount"] == "12.50"
    # The new default and the former one both changed.
    assert (GROUP_UPDATED, "group", default_group.pk) in rows
    assert rows[-1] == (GROUP_DELETED, "group", group.pk)
    assert WebhookDelivery.objects.filter(webhook=webhook).last().payload == {"id": group.pk}


# ----- at scale ----------------------------------------------------------------------------------


def test_a_bulk_action_makes_one_delivery_per_customer(make_webhook, make_customer, actor):
    webhook = make_webhook(topics=[CUSTOMER_BLOCKED])
    customers = [make_customer() for _ in range(30)]
    customers_bulk_block(
        selection=Customer.objects.filter(pk__in=[c.pk for c in customers[:25]]),
        reason="Chargebacks",
        actor=actor,
    )
    assert webhooks_dispatch() == 25
    sent = WebhookDelivery.objects.filter(webhook=webhook).values_list("object_id", flat=True)
    assert sorted(sent) == sorted(c.pk for c in customers[:25])
    assert {d.payload["blocked_reason"] for d in WebhookDelivery.objects.all()} == {"Chargebacks"}


def _dispatch_queries(batch_size: int) -> tuple[int, int]:
    """(statements other than the deliveries' insert, insert statements)."""
    with CaptureQueriesContext(connection) as captured:
        webhooks_dispatch(batch_size=batch_size)
    inserts = [
        q for q in captured.captured_queries if 'INTO "webhooks_webhookdelivery"' in q["sql"]
    ]
    return len(captured.captured_queries) - len(inserts), len(inserts)


def test_the_query_count_does_not_grow_with_the_events(
    make_webhook, make_customer, actor, vip_group
):
    """3 customers or 40, with two webhooks: the same queries (one read of the events, one per
    table of the customers' data, one insert)."""
    make_webhook(name="A")
    make_webhook(name="B")
    small = [make_customer(tags=["x"]) for _ in range(3)]
    large = [make_customer(tags=["y"]) for _ in range(40)]
    webhooks_dispatch()

    def add_to_vip(customers):
        selection = Customer.objects.filter(pk__in=[c.pk for c in customers])
        customers_bulk_group_add(selection=selection, group=vip_group, actor=actor)

    add_to_vip(small)
    few, _ = _dispatch_queries(batch_size=5000)
    add_to_vip(large)
    many, inserts = _dispatch_queries(batch_size=5000)
    assert few == many
    assert few <= 16
    # The insert is one multi-row statement (split only by the database's limit on parameters:
    # SQLite takes about 58 rows of deliveries a statement).
    assert inserts <= 2
    assert WebhookDelivery.objects.filter(topic=CUSTOMER_UPDATED).count() == 2 * 43


def test_batches_move_the_checkpoint_and_together_miss_nothing(make_webhook, make_customer):
    make_webhook(topics=[CUSTOMER_CREATED])
    customers = [make_customer() for _ in range(7)]
    assert webhooks_dispatch(batch_size=2) == 7
    assert sorted(WebhookDelivery.objects.values_list("object_id", flat=True)) == [
        c.pk for c in customers
    ]


# ----- gaps (PostgreSQL: a transaction that took lower ids commits later) -------------------------


def test_missing_ranges():
    assert dispatch._missing([3, 4, 7, 10], 0, 10) == [(1, 2), (5, 6), (8, 9)]
    assert dispatch._missing([], 5, 8) == [(6, 8)]
    assert dispatch._missing([6, 7, 8], 5, 8) == []


def test_events_committed_late_below_the_checkpoint_are_still_delivered(
    make_webhook, make_customer
):
    webhook = make_webhook(topics=[CUSTOMER_UPDATED])
    customer = make_customer()
    webhooks_dispatch()
    base = Event.objects.latest("id").pk
    # Ids base+1 .. base+3 are "still in a transaction": the dispatcher sees base+4 first.
    about = {"source": "system", "customer_id": customer.pk, "object_type": "customer"}
    Event.objects.create(id=base + 4, kind="note_changed", object_id=customer.pk, **about)
    webhooks_dispatch()
    state = WebhookDispatchState.objects.get()
    assert state.checkpoint == base + 4
    assert [gap[:2] for gap in state.gaps] == [[base + 1, base + 3]]
    assert WebhookDelivery.objects.filter(webhook=webhook).count() == 1
    # That transaction commits: its event is found in the gap.
    late = Event.objects.create(
        id=base + 2, kind="customer_updated", object_id=customer.pk, **about
    )
    assert webhooks_dispatch() == 1
    assert WebhookDelivery.objects.filter(webhook=webhook).latest("id").event_id == late.pk
    state.refresh_from_db()
    assert [gap[:2] for gap in state.gaps] == [[base + 1, base + 1], [base + 3, base + 3]]


def test_old_gaps_are_given_up(make_webhook, make_customer, monkeypatch):
    make_webhook(topics=[CUSTOMER_UPDATED])
    make_customer()
    WebhookDispatchState.objects.update_or_create(pk=1, defaults={"gaps": [[1, 2, 0]]})
    webhooks_dispatch()
    assert WebhookDispatchState.objects.get().gaps == []


def test_plain_event_record_is_enough_for_a_customer_event(make_webhook, make_customer):
    """Anything that writes an event through core.events is seen: no service is special."""
    make_webhook(topics=[CUSTOMER_UPDATED])
    customer = make_customer()
    event_record(kind="tags_added", actor=Actor.system(), customer_id=customer.pk)
    webhooks_dispatch()
    assert deliveries() == [(CUSTOMER_UPDATED, "customer", customer.pk)]
