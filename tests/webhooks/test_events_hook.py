"""The hook in ``core.events`` the webhooks hang on: listeners run once after each commit of a
transaction that wrote events, never after a rollback, and a failing listener does not undo or
break the change."""

from __future__ import annotations

import logging

import pytest
from django.db import connection, transaction

from comptoir.core import events
from comptoir.core.actors import Actor
from comptoir.core.events import event_record, events_committed_connect
from comptoir.core.models import Event

committing = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def calls(monkeypatch):
    """Replace the registered listeners (the webhooks' one) by one that counts its runs."""
    runs: list[int] = []
    monkeypatch.setattr(events, "_committed_listeners", [])
    events_committed_connect(lambda: runs.append(Event.objects.count()))
    return runs


def write(kind: str = "note_changed") -> Event:
    return event_record(kind=kind, actor=Actor.system(), object_type="test", object_id=1)


@committing
def test_one_run_per_committed_transaction_after_the_commit(calls):
    with transaction.atomic():
        write()
        write()
        write()
        assert calls == []
    # Once, and the listener sees the committed events.
    assert calls == [3]
    write()  # autocommit: its own transaction
    assert calls == [3, 4]


@committing
def test_no_run_after_a_rollback(calls):
    with pytest.raises(RuntimeError), transaction.atomic():
        write()
        raise RuntimeError
    assert calls == []
    assert not Event.objects.exists()


@committing
def test_a_savepoint_rolled_back_first_does_not_lose_the_run(calls):
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            write()  # queued inside the savepoint...
            raise RuntimeError  # ...which drops it
        write()  # the transaction's own event queues it again
    assert calls == [1]


@committing
def test_a_failing_listener_is_logged_and_the_change_stays(monkeypatch, caplog):
    monkeypatch.setattr(events, "_committed_listeners", [])

    def broken():
        raise ValueError("listener down")

    events_committed_connect(broken)
    with caplog.at_level(logging.ERROR), transaction.atomic():
        write()
    assert Event.objects.count() == 1
    assert "listener down" in caplog.text


@pytest.mark.django_db
def test_nothing_is_queued_while_nobody_listens(monkeypatch):
    monkeypatch.setattr(events, "_committed_listeners", [])
    with transaction.atomic():
        write()
        assert not any(entry[1] is events._events_committed for entry in connection.run_on_commit)


def test_a_listener_is_registered_once(monkeypatch):
    monkeypatch.setattr(events, "_committed_listeners", [])

    def listener():
        pass

    events_committed_connect(listener)
    events_committed_connect(listener)
    assert events._committed_listeners == [listener]


def test_the_webhooks_app_listens():
    from comptoir.webhooks.runner import webhooks_events_committed

    assert webhooks_events_committed in events._committed_listeners
