"""The topics a webhook can subscribe to, and which events of the log each one stands for.

Comptoir already records every change as an ``Event`` (``core.events``); webhooks are those
events, grouped into the few topics integrators care about. ``event_topics`` says what a given
event sends: (topic, object type, object id, extra data) for each delivery it makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from django.utils.translation import gettext_lazy as _

CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_DELETED = "customer.deleted"
CUSTOMER_MERGED = "customer.merged"
CUSTOMER_BLOCKED = "customer.blocked"
CUSTOMER_UNBLOCKED = "customer.unblocked"
GROUP_CREATED = "group.created"
GROUP_UPDATED = "group.updated"
GROUP_DELETED = "group.deleted"
# Sent by the "Send a test" button only; nobody subscribes to it.
TEST = "webhook.test"

TOPIC_LABELS = {
    CUSTOMER_CREATED: _("Customer created"),
    CUSTOMER_UPDATED: _("Customer updated"),
    CUSTOMER_DELETED: _("Customer deleted"),
    CUSTOMER_MERGED: _("Customers merged"),
    CUSTOMER_BLOCKED: _("Customer blocked"),
    CUSTOMER_UNBLOCKED: _("Customer unblocked"),
    GROUP_CREATED: _("Group created"),
    GROUP_UPDATED: _("Group updated"),
    GROUP_DELETED: _("Group deleted"),
}
TOPICS = tuple(TOPIC_LABELS)
# Topics whose deliveries for one object can be folded into one: the body carries the object as
# it is now, so two "updated" of the same customer read together would send the same thing.
COALESCED = frozenset({CUSTOMER_UPDATED, GROUP_UPDATED})
# Topics whose body is the object's id only (the object is gone or was erased).
ID_ONLY = frozenset({CUSTOMER_DELETED, GROUP_DELETED})

# Event kind → topic, for the kinds whose topic does not depend on the event's data.
KIND_TOPICS: Mapping[str, str] = {
    "customer_created": CUSTOMER_CREATED,
    "customer_updated": CUSTOMER_UPDATED,
    "consent_changed": CUSTOMER_UPDATED,
    "groups_added": CUSTOMER_UPDATED,
    "groups_removed": CUSTOMER_UPDATED,
    "default_group_changed": CUSTOMER_UPDATED,
    "tags_added": CUSTOMER_UPDATED,
    "tags_removed": CUSTOMER_UPDATED,
    "tags_changed": CUSTOMER_UPDATED,
    "note_changed": CUSTOMER_UPDATED,
    "address_added": CUSTOMER_UPDATED,
    "address_changed": CUSTOMER_UPDATED,
    "address_removed": CUSTOMER_UPDATED,
    "address_defaults_changed": CUSTOMER_UPDATED,
    "customer_enabled": CUSTOMER_UPDATED,
    "customer_disabled": CUSTOMER_UPDATED,
    "guest_converted": CUSTOMER_UPDATED,
    "customer_deleted": CUSTOMER_DELETED,
    "customer_anonymised": CUSTOMER_DELETED,
    # The customer merged into another one is gone; the body says where it went.
    "customer_merged_into": CUSTOMER_DELETED,
    "customer_merged": CUSTOMER_MERGED,
    "customer_blocked": CUSTOMER_BLOCKED,
    "customer_unblocked": CUSTOMER_UNBLOCKED,
    "group_created": GROUP_CREATED,
    "group_updated": GROUP_UPDATED,
    # Both the new default group and the former one changed.
    "group_default_changed": GROUP_UPDATED,
    "group_deleted": GROUP_DELETED,
}
# Kinds whose topic is read from the event's data (see ``event_topics``).
IMPORT_REVERTED = "import_reverted"


def topic_kinds(topics: Iterable[str]) -> set[str]:
    """The event kinds that can make a delivery for any of ``topics``."""
    wanted = set(topics)
    kinds = {kind for kind, topic in KIND_TOPICS.items() if topic in wanted}
    if wanted & {CUSTOMER_UPDATED, CUSTOMER_DELETED}:
        kinds.add(IMPORT_REVERTED)
    return kinds


class Planned(NamedTuple):
    """A delivery an event asks for, before the webhooks are known."""

    topic: str
    object_type: str
    object_id: int
    extra: dict[str, Any]


def event_topics(
    *, kind: str, object_type: str, object_id: int | None, data: Mapping[str, Any] | None
) -> list[Planned]:
    """What one event sends: usually one (topic, object) pair, none for a kind no topic covers.

    Customer events name their customer in ``object_id`` (``customer_id`` follows a customer
    merged into another; ``object_id`` keeps who the event was about).
    """
    data = data or {}
    if object_id is None:
        return []
    if kind == IMPORT_REVERTED:
        # Undoing an import deletes the customers it created and restores the ones it updated.
        topic = CUSTOMER_DELETED if data.get("action") == "deleted" else CUSTOMER_UPDATED
        return [Planned(topic, "customer", object_id, {})]
    topic = KIND_TOPICS.get(kind)
    if topic is None:
        return []
    if topic.startswith("group."):
        planned = [Planned(topic, "group", object_id, {})]
        former = data.get("before") if kind == "group_default_changed" else None
        if isinstance(former, int) and former != object_id:
            planned.append(Planned(topic, "group", former, {}))
        return planned
    if object_type not in ("customer", ""):
        return []
    extra: dict[str, Any] = {}
    if kind == "customer_merged_into" and isinstance(data.get("into"), int):
        extra = {"merged_into": data["into"]}
    elif kind == "customer_merged" and isinstance(data.get("duplicate"), int):
        extra = {"merged_from": [data["duplicate"]]}
    return [Planned(topic, "customer", object_id, extra)]
