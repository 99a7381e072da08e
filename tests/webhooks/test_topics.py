"""Which events make which deliveries."""

import pytest

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
    KIND_TOPICS,
    TEST,
    TOPIC_LABELS,
    TOPICS,
    Planned,
    event_topics,
    topic_kinds,
)


def topics_of(kind, object_type="customer", object_id=7, data=None):
    return event_topics(kind=kind, object_type=object_type, object_id=object_id, data=data)


@pytest.mark.parametrize(
    ("kind", "topic"),
    [
        ("customer_created", CUSTOMER_CREATED),
        ("customer_updated", CUSTOMER_UPDATED),
        ("consent_changed", CUSTOMER_UPDATED),
        ("groups_added", CUSTOMER_UPDATED),
        ("groups_removed", CUSTOMER_UPDATED),
        ("default_group_changed", CUSTOMER_UPDATED),
        ("tags_added", CUSTOMER_UPDATED),
        ("tags_removed", CUSTOMER_UPDATED),
        ("tags_changed", CUSTOMER_UPDATED),
        ("note_changed", CUSTOMER_UPDATED),
        ("address_added", CUSTOMER_UPDATED),
        ("address_changed", CUSTOMER_UPDATED),
        ("address_removed", CUSTOMER_UPDATED),
        ("address_defaults_changed", CUSTOMER_UPDATED),
        ("customer_enabled", CUSTOMER_UPDATED),
        ("customer_disabled", CUSTOMER_UPDATED),
        ("guest_converted", CUSTOMER_UPDATED),
        ("customer_deleted", CUSTOMER_DELETED),
        ("customer_anonymised", CUSTOMER_DELETED),
        ("customer_blocked", CUSTOMER_BLOCKED),
        ("customer_unblocked", CUSTOMER_UNBLOCKED),
    ],
)
def test_customer_kinds_map_to_their_topic(kind, topic):
    assert topics_of(kind) == [Planned(topic, "customer", 7, {})]


@pytest.mark.parametrize(
    ("kind", "topic"),
    [
        ("group_created", GROUP_CREATED),
        ("group_updated", GROUP_UPDATED),
        ("group_deleted", GROUP_DELETED),
    ],
)
def test_group_kinds_map_to_their_topic(kind, topic):
    assert topics_of(kind, "group", 3) == [Planned(topic, "group", 3, {})]


def test_a_new_default_group_updates_both_groups():
    assert topics_of("group_default_changed", "group", 3, {"before": 1}) == [
        Planned(GROUP_UPDATED, "group", 3, {}),
        Planned(GROUP_UPDATED, "group", 1, {}),
    ]
    # The first default group ever has no former one.
    assert topics_of("group_default_changed", "group", 3, {"before": None}) == [
        Planned(GROUP_UPDATED, "group", 3, {})
    ]


def test_a_merge_says_who_was_merged_and_where_the_duplicate_went():
    assert topics_of("customer_merged", data={"duplicate": 9, "name": "X"}) == [
        Planned(CUSTOMER_MERGED, "customer", 7, {"merged_from": [9]})
    ]
    assert topics_of("customer_merged_into", object_id=9, data={"into": 7}) == [
        Planned(CUSTOMER_DELETED, "customer", 9, {"merged_into": 7})
    ]


def test_an_undone_import_deletes_or_updates():
    deleted = topics_of("import_reverted", data={"action": "deleted", "import": 1})
    restored = topics_of("import_reverted", data={"action": "restored", "import": 1})
    assert deleted == [Planned(CUSTOMER_DELETED, "customer", 7, {})]
    assert restored == [Planned(CUSTOMER_UPDATED, "customer", 7, {})]


@pytest.mark.parametrize(
    "kind",
    [
        "order_recorded",
        "password_changed",
        "personal_data_exported",
        "webhook_created",
        "webhook_updated",
        "webhook_tested",
        "webhook_delivery_retried",
        "csv",
    ],
)
def test_other_kinds_send_nothing(kind):
    assert topics_of(kind) == []


def test_an_event_without_object_sends_nothing():
    assert topics_of("customer_updated", object_id=None) == []


def test_topic_kinds_lists_the_events_to_read():
    kinds = topic_kinds([CUSTOMER_BLOCKED, GROUP_UPDATED])
    assert kinds == {"customer_blocked", "group_updated", "group_default_changed"}
    assert "import_reverted" in topic_kinds([CUSTOMER_DELETED])
    assert topic_kinds([]) == set()


def test_every_topic_has_a_label_and_every_mapped_kind_a_known_topic():
    assert set(KIND_TOPICS.values()) <= set(TOPICS)
    assert set(TOPICS) == set(TOPIC_LABELS)
    # Each topic the screens offer is sent by some event.
    assert set(TOPICS) == set(KIND_TOPICS.values())
    assert TEST not in TOPICS
