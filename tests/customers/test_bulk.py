"""Bulk actions of the customers list: exact rows changed, events and consent history written
set-based, nothing touched outside the selection, only real changes counted; the delete modes."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.customers.filters import CustomerFilterSet
from comptoir.customers.models import (
    Address,
    BulkAction,
    ConsentRecord,
    Customer,
    DeleteMode,
    Membership,
    Tag,
)
from comptoir.customers.selectors import customer_selection, customers_bulk_targets
from comptoir.customers.services import (
    address_create,
    customer_block,
    customer_create,
    customer_delete,
    customers_bulk_apply,
    customers_bulk_block,
    customers_bulk_consent_set,
    customers_bulk_delete,
    customers_bulk_enabled_set,
    customers_bulk_group_add,
    customers_bulk_group_remove,
    customers_bulk_groups_reset,
    customers_bulk_tag_add,
    customers_bulk_tag_remove,
    customers_bulk_tax_exempt_set,
    customers_bulk_unblock,
    tags_text_for,
)
from comptoir.orders.models import Cart, CartStatus, Order, Visit, Voucher
from comptoir.orders.services import LineInput, order_record, visit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def five(make_customer):
    return [make_customer() for _ in range(5)]


def selected(customers):
    return Customer.objects.filter(pk__in=[customer.pk for customer in customers])


def events(kind, customers=None):
    found = Event.objects.filter(kind=kind)
    if customers is not None:
        found = found.filter(customer_id__in=[customer.pk for customer in customers])
    return found


def refreshed(customer):
    return Customer.objects.get(pk=customer.pk)


def test_disable_changes_only_the_selection_and_writes_one_event_each(five, actor, staff_user):
    inside, outside = five[:3], five[3:]
    versions = {customer.pk: customer.version for customer in five}

    assert customers_bulk_enabled_set(selection=selected(inside), enabled=False, actor=actor) == 3

    assert [refreshed(c).is_enabled for c in inside] == [False] * 3
    assert [refreshed(c).is_enabled for c in outside] == [True] * 2
    assert [refreshed(c).version for c in inside] == [versions[c.pk] + 1 for c in inside]
    written = events("customer_disabled")
    assert sorted(written.values_list("customer_id", flat=True)) == sorted(c.pk for c in inside)
    event = written.first()
    assert (event.source, event.actor_id, event.ip_address) == (
        "backoffice",
        staff_user.pk,
        "192.0.2.10",
    )
    assert (event.object_type, event.object_id) == ("customer", event.customer_id)


def test_enable_counts_only_customers_that_really_change(five, actor):
    customers_bulk_enabled_set(selection=selected(five[:2]), enabled=False, actor=actor)
    assert customers_bulk_enabled_set(selection=selected(five), enabled=True, actor=actor) == 2
    assert events("customer_enabled").count() == 2
    # Again: nothing left to change, nothing written.
    assert customers_bulk_enabled_set(selection=selected(five), enabled=True, actor=actor) == 0
    assert events("customer_enabled").count() == 2


@pytest.mark.parametrize("channel", ["newsletter", "partner_offers"])
def test_consent_on_writes_history_and_events_for_the_changed_only(
    make_customer, actor, staff_user, channel
):
    already = make_customer(consents={channel: True})
    others = [make_customer() for _ in range(3)]
    untouched = make_customer()
    before = ConsentRecord.objects.count()

    changed = customers_bulk_consent_set(
        selection=selected([already, *others]), channel=channel, granted=True, actor=actor
    )

    assert changed == 3
    for customer in others:
        row = refreshed(customer)
        assert getattr(row, channel) is True and getattr(row, f"{channel}_at") is not None
    assert getattr(refreshed(untouched), channel) is False
    history = ConsentRecord.objects.order_by("id")[before:]
    assert len(history) == 3
    assert {record.customer_id for record in history} == {c.pk for c in others}
    for record in history:
        assert (record.channel, record.granted, record.source) == (channel, True, "backoffice")
        assert record.actor_id == staff_user.pk and record.ip_address == "192.0.2.10"
        assert record.opt_in_level == "unknown"
    written = events("consent_changed", others)
    assert written.count() == 3
    assert written.first().data == {"channel": channel, "granted": True, "opt_in_level": "unknown"}
    assert not events("consent_changed", [untouched]).exists()


def test_newsletter_off_through_the_dispatcher(make_customer, actor):
    subscribed = [make_customer(consents={"newsletter": True}) for _ in range(2)]
    assert (
        customers_bulk_apply(
            selection=selected(subscribed), action=BulkAction.NEWSLETTER_OFF, actor=actor
        )
        == 2
    )
    assert not Customer.objects.filter(newsletter=True).exists()
    assert ConsentRecord.objects.filter(granted=False, channel="newsletter").count() == 2


def test_add_to_group_inserts_memberships_for_non_members_only(
    make_customer, actor, vip_group, default_group
):
    member = make_customer(groups=[vip_group])
    newcomers = [make_customer() for _ in range(3)]
    outsider = make_customer()

    assert (
        customers_bulk_group_add(
            selection=selected([member, *newcomers]), group=vip_group, actor=actor
        )
        == 3
    )

    vip_members = set(
        Membership.objects.filter(group=vip_group).values_list("customer_id", flat=True)
    )
    assert vip_members == {member.pk, *(c.pk for c in newcomers)}
    assert not outsider.memberships.filter(group=vip_group).exists()
    # The default group is untouched; the stored default stays the default.
    assert all(refreshed(c).default_group_id == default_group.pk for c in newcomers)
    written = events("groups_added")
    assert set(written.values_list("customer_id", flat=True)) == {c.pk for c in newcomers}
    assert written.first().data == {"groups": [vip_group.pk]}


def test_remove_from_group_keeps_it_where_it_is_the_default(make_customer, actor, vip_group):
    members = [make_customer(groups=[vip_group]) for _ in range(2)]
    vip_by_default = make_customer(default_group=vip_group)

    changed = customers_bulk_group_remove(
        selection=selected([*members, vip_by_default]), group=vip_group, actor=actor
    )

    assert changed == 2
    assert list(
        Membership.objects.filter(group=vip_group).values_list("customer_id", flat=True)
    ) == [vip_by_default.pk]
    assert set(events("groups_removed").values_list("customer_id", flat=True)) == {
        c.pk for c in members
    }


def test_reset_to_the_default_group_names_the_groups_left(
    make_customer, actor, vip_group, default_group
):
    from comptoir.groups.models import Group

    pro = Group.objects.create(name_fr="Pro", name_en="Pro")
    both = make_customer(groups=[vip_group, pro])
    plain = make_customer()
    vip_default = make_customer(default_group=vip_group, groups=[default_group])

    changed = customers_bulk_groups_reset(
        selection=selected([both, plain, vip_default]), actor=actor
    )

    assert changed == 2
    assert set(both.memberships.values_list("group_id", flat=True)) == {default_group.pk}
    assert set(vip_default.memberships.values_list("group_id", flat=True)) == {vip_group.pk}
    assert set(plain.memberships.values_list("group_id", flat=True)) == {default_group.pk}
    removed = {event.customer_id: event.data for event in events("groups_removed")}
    assert removed == {
        both.pk: {"groups": sorted([vip_group.pk, pro.pk])},
        vip_default.pk: {"groups": [default_group.pk]},
    }


def test_tax_exempt_is_recorded_as_a_profile_update(five, actor):
    version = refreshed(five[0]).version
    assert (
        customers_bulk_tax_exempt_set(selection=selected(five[:2]), tax_exempt=True, actor=actor)
        == 2
    )
    assert Customer.objects.filter(is_tax_exempt=True).count() == 2
    event = events("customer_updated", [five[0]]).get()
    assert event.data == {
        "changes": {"is_tax_exempt": {"before": False, "after": True}},
        "version": version + 1,
    }
    assert refreshed(five[0]).version == version + 1
    assert (
        customers_bulk_apply(
            selection=selected(five), action=BulkAction.TAX_EXEMPT_OFF, actor=actor
        )
        == 2
    )
    assert not Customer.objects.filter(is_tax_exempt=True).exists()


def test_block_needs_a_reason_and_keeps_earlier_reasons(make_customer, actor, staff_user):
    earlier = make_customer()
    customer_block(customer=earlier, reason="Chargeback", actor=actor)
    others = [make_customer() for _ in range(2)]

    with pytest.raises(ValidationError) as error:
        customers_bulk_block(selection=selected(others), reason="  ", actor=actor)
    assert "reason" in error.value.message_dict
    assert not Customer.objects.filter(pk__in=[c.pk for c in others], is_blocked=True).exists()

    assert (
        customers_bulk_block(selection=selected([earlier, *others]), reason="Fraud", actor=actor)
        == 2
    )
    assert refreshed(earlier).blocked_reason == "Chargeback"
    for customer in others:
        row = refreshed(customer)
        assert (row.is_blocked, row.blocked_reason, row.blocked_by_id) == (
            True,
            "Fraud",
            staff_user.pk,
        )
        assert row.blocked_at is not None
    assert events("customer_blocked", others).first().data == {"reason": "Fraud"}


def test_unblock_keeps_each_reason_in_its_event(make_customer, actor):
    first, second, free = make_customer(), make_customer(), make_customer()
    customer_block(customer=first, reason="Fraud", actor=actor)
    customer_block(customer=second, reason="Unpaid", actor=actor)

    assert customers_bulk_unblock(selection=selected([first, second, free]), actor=actor) == 2

    assert not Customer.objects.filter(is_blocked=True).exists()
    assert refreshed(first).blocked_reason == "" and refreshed(first).blocked_at is None
    reasons = {event.customer_id: event.data["reason"] for event in events("customer_unblocked")}
    assert reasons == {first.pk: "Fraud", second.pk: "Unpaid"}


def test_add_tag_creates_it_and_refreshes_tags_text(make_customer, actor):
    tagged = make_customer(tags=["VIP"])
    others = [make_customer(tags=["zèbre", "Été"]), make_customer()]

    assert (
        customers_bulk_tag_add(selection=selected([tagged, *others]), name="Vip", actor=actor) == 2
    )
    assert customers_bulk_tag_add(selection=selected(others), name="arbre", actor=actor) == 2

    for customer in [tagged, *others]:
        row = refreshed(customer)
        assert row.tags_text == tags_text_for(row.tags.all())
    assert refreshed(others[0]).tags_text == "arbre, VIP, zèbre, Été"
    assert Tag.objects.filter(name_key="vip").count() == 1
    assert events("tags_added", [others[0]]).count() == 2
    assert not events("tags_added", [tagged]).exists()


def test_remove_tag_refreshes_tags_text_and_skips_the_untagged(make_customer, actor):
    both = make_customer(tags=["VIP", "Wholesale"])
    vip = make_customer(tags=["VIP"])
    bare = make_customer()

    assert (
        customers_bulk_tag_remove(selection=selected([both, vip, bare]), name="vip", actor=actor)
        == 2
    )
    assert refreshed(both).tags_text == "Wholesale"
    assert refreshed(vip).tags_text == ""
    assert events("tags_removed").first().data == {"tags": ["VIP"]}
    assert customers_bulk_tag_remove(selection=selected([both]), name="unknown", actor=actor) == 0
    # The tag itself stays, for the others and for later.
    assert Tag.objects.filter(name_key="vip").exists()


def test_all_matching_a_filter_through_the_filterset(make_customer, actor):
    newsletter = [make_customer(consents={"newsletter": True}) for _ in range(3)]
    others = [make_customer() for _ in range(2)]
    selection = customer_selection(queryset=CustomerFilterSet({"newsletter": "true"}).qs)

    assert customers_bulk_enabled_set(selection=selection, enabled=False, actor=actor) == 3
    assert {c.pk for c in Customer.objects.filter(is_enabled=False)} == {c.pk for c in newsletter}
    assert all(refreshed(c).is_enabled for c in others)


def test_ticked_ids_outside_the_filter_are_left_alone(make_customer, actor):
    subscribed, unsubscribed = make_customer(consents={"newsletter": True}), make_customer()
    selection = customer_selection(
        queryset=CustomerFilterSet({"newsletter": "true"}).qs, ids=[subscribed.pk, unsubscribed.pk]
    )
    assert customers_bulk_enabled_set(selection=selection, enabled=False, actor=actor) == 1
    assert refreshed(unsubscribed).is_enabled


def test_preview_counts_what_the_action_then_changes(make_customer, actor, vip_group):
    customers = [make_customer() for _ in range(4)]
    customers_bulk_group_add(selection=selected(customers[:1]), group=vip_group, actor=actor)
    targets = customers_bulk_targets(
        selection=selected(customers), action=BulkAction.ADD_GROUP, group=vip_group
    )
    assert targets.count() == 3
    assert (
        customers_bulk_group_add(selection=selected(customers), group=vip_group, actor=actor) == 3
    )


@pytest.mark.parametrize("size", [2, 12])
def test_a_bulk_action_runs_the_same_queries_whatever_the_selection_size(
    make_customer, actor, vip_group, size
):
    customers = [make_customer() for _ in range(size)]
    queries = []
    for action, params in [
        (BulkAction.ADD_GROUP, {"group": vip_group}),
        (BulkAction.NEWSLETTER_ON, {}),
        (BulkAction.ADD_TAG, {"tag_name": "Salon"}),
        (BulkAction.DELETE, {"delete_mode": DeleteMode.ANONYMISE}),
    ]:
        with CaptureQueriesContext(connection) as captured:
            changed = customers_bulk_apply(
                selection=selected(customers), action=action, actor=actor, **params
            )
        assert changed == size
        queries.append(len(captured))
    # Pinned: the same numbers for 2 and 12 customers (no query per customer).
    assert queries == EXPECTED_BULK_QUERIES[connection.vendor]


# (add to group, newsletter on, add tag, anonymise), savepoints included. Anonymise scrubs one
# statement per table that can hold personal data (see ``_customers_anonymise``).
EXPECTED_BULK_QUERIES = {"sqlite": [8, 9, 13, 19], "postgresql": [9, 10, 14, 20]}


def test_bulk_actions_need_their_parameters(five, actor):
    with pytest.raises(ValidationError) as error:
        customers_bulk_apply(selection=selected(five), action=BulkAction.ADD_GROUP, actor=actor)
    assert "group" in error.value.message_dict
    with pytest.raises(ValidationError):
        customers_bulk_apply(selection=selected(five), action=BulkAction.ADD_TAG, actor=actor)
    with pytest.raises(ValidationError):
        customers_bulk_apply(
            selection=selected(five), action=BulkAction.DELETE, actor=actor, delete_mode="shred"
        )
    with pytest.raises(ValidationError):
        customers_bulk_apply(selection=selected(five), action="explode", actor=actor)
    assert not Event.objects.filter(source="backoffice", kind__startswith="groups").exists()


@pytest.fixture
def shopper(make_customer, actor):
    """A customer with an address, consents, a visit, a voucher, two orders and two carts."""
    customer = make_customer(
        first_name="Hélène",
        last_name="Dupont",
        email="helene@example.com",
        phone="06 12 34 56 78",
        note="Prefers mornings",
        consents={"newsletter": True},
        tags=["VIP"],
    )
    Customer.objects.filter(pk=customer.pk).update(birthday="1980-05-01", company="Atelier")
    address_create(
        customer=customer,
        actor=actor,
        first_name="Hélène",
        last_name="Dupont",
        address1="1 rue X",
        postcode="69001",
        city="Lyon",
        country="FR",
    )
    order = order_record(
        actor=actor,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        customer=customer,
        lines=[LineInput(product_name="Moulin", quantity=1, unit_price=Decimal("50.00"))],
    )
    Cart.objects.create(customer=customer, order=order, status=CartStatus.CONVERTED)
    Cart.objects.create(customer=customer, status=CartStatus.ABANDONED)
    visit_record(customer=customer, ip_address="203.0.113.5")
    Voucher.objects.create(customer=customer, code="HELENE10", name="Welcome")
    Event.objects.filter(customer_id=customer.pk).update(ip_address="203.0.113.5")
    ConsentRecord.objects.filter(customer=customer).update(ip_address="203.0.113.5")
    return refreshed(customer)


def test_delete_allowing_re_registration_removes_the_rows_and_keeps_the_orders(
    shopper, make_customer, actor
):
    bystander = make_customer()
    order = Order.objects.get(customer=shopper)

    assert (
        customers_bulk_delete(
            selection=selected([shopper]), mode=DeleteMode.ALLOW_REREGISTRATION, actor=actor
        )
        == 1
    )

    assert not Customer.objects.filter(pk=shopper.pk).exists()
    order.refresh_from_db()
    assert order.customer_id is None and order.customer_email == "helene@example.com"
    carts = list(Cart.objects.all())
    assert [(cart.order_id, cart.customer_id) for cart in carts] == [(order.pk, None)]
    assert not Visit.objects.exists() and not Voucher.objects.exists()
    assert not Address.objects.filter(customer_id=shopper.pk).exists()
    assert not ConsentRecord.objects.filter(customer_id=shopper.pk).exists()
    # The event log outlives the customer.
    assert events("customer_deleted", [shopper]).get().data == {"mode": "allow"}
    assert events("customer_created", [shopper]).exists()
    assert Customer.objects.filter(pk=bystander.pk).exists()
    # The e-mail address is free again.
    again = customer_create(
        actor=actor, first_name="Hélène", last_name="Dupont", email="HELENE@example.com"
    )
    assert again.pk != shopper.pk
    # ... and the search index no longer knows the deleted row.
    assert set(CustomerFilterSet({"q": "helene@example"}).qs.values_list("id", flat=True)) == {
        again.pk
    }


def test_delete_denying_re_registration_hides_the_customer_and_keeps_the_email_taken(
    shopper, actor
):
    assert customer_delete(customer=shopper, mode=DeleteMode.DENY_REREGISTRATION, actor=actor)

    row = refreshed(shopper)
    assert row.deleted_at is not None and row.email == "helene@example.com"
    assert shopper.pk not in CustomerFilterSet({}).qs.values_list("id", flat=True)
    assert shopper.pk in CustomerFilterSet({"lifecycle": "deleted"}).qs.values_list("id", flat=True)
    with pytest.raises(ValidationError):
        customer_create(actor=actor, first_name="H", last_name="D", email="helene@example.com")
    assert events("customer_deleted", [shopper]).get().data == {"mode": "deny"}
    # Deleting again changes nothing.
    assert not customer_delete(customer=shopper, mode=DeleteMode.DENY_REREGISTRATION, actor=actor)


def test_anonymise_scrubs_personal_data_and_keeps_figures_orders_and_consents(
    shopper, make_customer, actor, staff_user
):
    bystander = make_customer(phone="06 99 99 99 99")
    Event.objects.filter(customer_id=bystander.pk).update(ip_address="198.51.100.1")
    consents_before = ConsentRecord.objects.filter(customer=shopper).count()

    assert customer_delete(customer=shopper, mode=DeleteMode.ANONYMISE, actor=actor)

    row = refreshed(shopper)
    assert (row.first_name, row.last_name, row.email, row.email_key) == ("Anonymous", "", "", "")
    assert (row.phone, row.phone_input, row.mobile, row.birthday) == ("", "", "", None)
    assert (row.note, row.company, row.search_text, row.password) == ("", "", "", "")
    assert row.anonymised_at is not None and row.deleted_at is None
    assert (row.orders_count, row.total_spent) == (1, Decimal("50.00"))
    assert row.tags_text == "VIP" and row.newsletter is True
    assert not Address.objects.filter(customer=shopper).exists()
    assert Order.objects.filter(customer=shopper).count() == 1
    assert Cart.objects.filter(customer=shopper).count() == 2
    assert ConsentRecord.objects.filter(customer=shopper).count() == consents_before
    assert not ConsentRecord.objects.filter(customer=shopper, ip_address__isnull=False).exists()
    assert list(Visit.objects.filter(customer=shopper).values_list("ip_address", flat=True)) == [
        None
    ]
    anonymised = events("customer_anonymised", [shopper]).get()
    assert anonymised.actor_id == staff_user.pk and anonymised.ip_address == "192.0.2.10"
    assert not events("customer_created", [shopper]).filter(ip_address__isnull=False).exists()
    # Hidden from the list and from the search; the bystander keeps everything.
    assert shopper.pk not in CustomerFilterSet({}).qs.values_list("id", flat=True)
    assert not CustomerFilterSet({"q": "helene@example", "lifecycle": "all"}).qs.exists()
    assert refreshed(bystander).phone and events("customer_created", [bystander]).get().ip_address
    # The e-mail address can register again.
    customer_create(actor=Actor.system(), first_name="H", last_name="D", email="helene@example.com")


def test_delete_counts_only_customers_not_already_in_that_state(make_customer, actor):
    customers = [make_customer() for _ in range(3)]
    customer_delete(customer=customers[0], mode=DeleteMode.DENY_REREGISTRATION, actor=actor)
    everyone = Customer.objects.all()
    assert (
        customers_bulk_delete(selection=everyone, mode=DeleteMode.DENY_REREGISTRATION, actor=actor)
        == 2
    )
    assert customers_bulk_delete(selection=everyone, mode=DeleteMode.ANONYMISE, actor=actor) == 3
    assert customers_bulk_delete(selection=everyone, mode=DeleteMode.ANONYMISE, actor=actor) == 0
    assert (
        Customer.objects.filter(anonymised_at__isnull=False, deleted_at__isnull=False).count() == 3
    )
    assert timezone.now() >= Customer.objects.first().anonymised_at
