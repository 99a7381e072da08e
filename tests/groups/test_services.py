"""Group services: create, update, the default rule, and delete moving the members set-based,
with their events."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from comptoir.core.models import Event
from comptoir.customers.models import Customer, Membership
from comptoir.customers.services import customers_bulk_delete
from comptoir.groups.models import Group, PriceDisplay
from comptoir.groups.services import (
    group_create,
    group_default_set,
    group_delete,
    group_update,
)

pytestmark = pytest.mark.django_db


def test_a_fresh_shop_has_exactly_one_default_group():
    assert list(Group.objects.filter(is_default=True).values_list("name_fr", "name_en")) == [
        ("Client", "Customer")
    ]


def test_create_records_an_event(actor):
    group = group_create(
        actor=actor,
        name_fr=" Revendeurs ",
        name_en="Resellers",
        discount="12.5",
        price_display=PriceDisplay.TAX_EXCLUDED,
        show_prices=False,
        css_class="  pro   wholesale ",
    )
    group.refresh_from_db()
    assert (group.name_fr, group.discount, group.css_class) == (
        "Revendeurs",
        Decimal("12.50"),
        "pro wholesale",
    )
    assert (group.price_display, group.show_prices, group.is_default) == ("tax_excl", False, False)
    event = Event.objects.get(kind="group_created")
    assert (event.object_type, event.object_id, event.actor_id, event.source) == (
        "group",
        group.pk,
        actor.user.pk,
        "backoffice",
    )
    assert event.data["discount"] == "12.50" and event.data["name_en"] == "Resellers"


def test_create_as_default_replaces_the_default(actor, default_group):
    group = group_create(actor=actor, name_fr="Pros", name_en="Pros", is_default=True)
    assert list(Group.objects.filter(is_default=True)) == [group]
    event = Event.objects.get(kind="group_default_changed")
    assert (event.object_id, event.data) == (group.pk, {"before": default_group.pk})


@pytest.mark.parametrize("discount", ["-1", "100.01", "abc", "NaN"])
def test_discount_out_of_range_is_refused(actor, discount):
    with pytest.raises(ValidationError) as exc:
        group_create(actor=actor, name_fr="X", name_en="X", discount=discount)
    assert "discount" in exc.value.message_dict
    assert Group.objects.count() == 1


def test_every_bad_field_is_reported_at_once_in_the_users_language(actor):
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        group_create(
            actor=actor,
            name_fr=" ",
            name_en="x" * 65,
            discount="101",
            price_display="gross",
            css_class='a"><script>',
        )
    errors = exc.value.message_dict
    assert set(errors) == {"name_fr", "name_en", "discount", "price_display", "css_class"}
    assert errors["name_fr"] == ["This field is required."]
    assert errors["discount"] == ["The discount must be between 0 and 100 %."]
    assert Group.objects.count() == 1 and not Event.objects.exists()


@pytest.mark.parametrize("css_class", ["1abc", "a;b", "a.b", "x" * 65])
def test_css_class_must_be_class_names(actor, css_class):
    with pytest.raises(ValidationError) as exc:
        group_create(actor=actor, name_fr="X", name_en="X", css_class=css_class)
    assert set(exc.value.message_dict) == {"css_class"}


def test_names_are_required(actor):
    with pytest.raises(ValidationError) as exc:
        group_create(actor=actor, name_fr=" ", name_en="", discount=0)
    assert set(exc.value.message_dict) == {"name_fr", "name_en"}


def test_default_moves_in_one_step(actor, default_group, vip_group):
    group_default_set(group=vip_group, actor=actor)
    assert list(Group.objects.filter(is_default=True)) == [vip_group]
    group_default_set(group=vip_group, actor=actor)
    assert Event.objects.filter(kind="group_default_changed").count() == 1


# ----- update ------------------------------------------------------------------------------------


def test_update_saves_and_records_only_what_changed(actor, vip_group):
    group_update(
        group=vip_group,
        actor=actor,
        name_fr="VIP",
        name_en="Best customers",
        discount="15",
        description="",
        price_display=PriceDisplay.TAX_INCLUDED,
        show_prices=True,
        css_class="",
    )
    vip_group.refresh_from_db()
    assert (vip_group.name_en, vip_group.discount) == ("Best customers", Decimal("15.00"))
    event = Event.objects.get(kind="group_updated")
    assert (event.object_type, event.object_id, event.actor_id) == (
        "group",
        vip_group.pk,
        actor.user.pk,
    )
    assert event.data == {
        "changes": {
            "name_en": {"before": "VIP", "after": "Best customers"},
            "discount": {"before": "10.00", "after": "15.00"},
        }
    }


def test_update_without_change_records_nothing(actor, vip_group):
    vip_group.refresh_from_db()
    group_update(group=vip_group, actor=actor, name_fr="VIP", discount="10")
    assert not Event.objects.filter(kind="group_updated").exists()


def test_update_refuses_bad_values_and_changes_nothing(actor, vip_group):
    with pytest.raises(ValidationError) as exc:
        group_update(group=vip_group, actor=actor, name_fr="", discount="-3", name_en="New")
    assert set(exc.value.message_dict) == {"name_fr", "discount"}
    vip_group.refresh_from_db()
    assert (vip_group.name_fr, vip_group.name_en, vip_group.discount) == (
        "VIP",
        "VIP",
        Decimal("10.00"),
    )
    assert not Event.objects.exists()


def test_update_to_default_undefaults_the_other(actor, default_group, vip_group):
    group_update(group=vip_group, actor=actor, is_default=True)
    assert list(Group.objects.filter(is_default=True)) == [vip_group]
    assert Event.objects.filter(kind="group_default_changed", object_id=vip_group.pk).count() == 1


def test_the_default_group_cannot_be_undefaulted(actor, default_group):
    with pytest.raises(ValidationError) as exc:
        group_update(group=default_group, actor=actor, is_default=False, name_en="Other")
    assert set(exc.value.message_dict) == {"is_default"}
    default_group.refresh_from_db()
    assert default_group.is_default and default_group.name_en == "Customer"


# ----- delete ------------------------------------------------------------------------------------


@pytest.fixture
def pros(actor):
    return group_create(actor=actor, name_fr="Pros", name_en="Pros", discount=5)


def groups_of(customer):
    customer.refresh_from_db()
    return customer.default_group_id, set(customer.memberships.values_list("group_id", flat=True))


def test_delete_moves_members_by_the_rules(actor, make_customer, default_group, vip_group, pros):
    # Only in the deleted group: joins the target, which becomes its default.
    only = make_customer(default_group=vip_group)
    # Default there, also in another group: joins the target as its default, keeps the other.
    default_there = make_customer(default_group=vip_group, groups=[default_group])
    # In it besides its own default group: just leaves it.
    besides = make_customer(groups=[vip_group])
    # Default there and already in the target: only the default changes.
    already = make_customer(default_group=vip_group, groups=[pros])
    outsider = make_customer(groups=[pros])
    before_events = Event.objects.count()
    versions = dict(Customer.objects.values_list("pk", "version"))

    deletion = group_delete(group=vip_group, move_to=pros, actor=actor)

    assert (deletion.members, deletion.joined, deletion.defaults_moved) == (4, 2, 3)
    assert not Group.objects.filter(pk=vip_group.pk).exists()
    assert not Membership.objects.filter(group_id=vip_group.pk).exists()
    assert groups_of(only) == (pros.pk, {pros.pk})
    assert groups_of(default_there) == (pros.pk, {default_group.pk, pros.pk})
    assert groups_of(besides) == (default_group.pk, {default_group.pk})
    assert groups_of(already) == (pros.pk, {pros.pk})
    assert groups_of(outsider) == (default_group.pk, {default_group.pk, pros.pk})

    new = Event.objects.order_by("id")[before_events:]
    assert len(new) == 2 + 3 + 4 + 1
    added = [event for event in new if event.kind == "groups_added"]
    assert {event.customer_id for event in added} == {only.pk, default_there.pk}
    assert all(event.data == {"groups": [pros.pk]} for event in added)
    changed = [event for event in new if event.kind == "default_group_changed"]
    assert {event.customer_id for event in changed} == {only.pk, default_there.pk, already.pk}
    assert all(event.data == {"before": vip_group.pk, "after": pros.pk} for event in changed)
    removed = [event for event in new if event.kind == "groups_removed"]
    assert {event.customer_id for event in removed} == {
        only.pk,
        default_there.pk,
        besides.pk,
        already.pk,
    }
    assert all(
        (event.data, event.actor_id, event.source, event.ip_address, event.object_type)
        == ({"groups": [vip_group.pk]}, actor.user.pk, "backoffice", "192.0.2.10", "customer")
        for event in removed
    )
    deleted = Event.objects.get(kind="group_deleted")
    assert (deleted.object_type, deleted.object_id, deleted.actor_id) == (
        "group",
        vip_group.pk,
        actor.user.pk,
    )
    assert deleted.data == {
        "name_fr": "VIP",
        "name_en": "VIP",
        "moved_to": pros.pk,
        "members": 4,
        "joined": 2,
        "defaults_moved": 3,
    }
    # The default change bumps the optimistic-locking version, as the single-customer service.
    assert Customer.objects.get(pk=only.pk).version == versions[only.pk] + 1
    assert Customer.objects.get(pk=besides.pk).version == versions[besides.pk]


def test_delete_moves_closed_accounts_too(actor, make_customer, vip_group, pros):
    closed = make_customer(default_group=vip_group)
    customers_bulk_delete(selection=Customer.objects.filter(pk=closed.pk), mode="deny", actor=actor)
    deletion = group_delete(group=vip_group, move_to=pros, actor=actor)
    assert deletion.members == 1
    assert groups_of(closed) == (pros.pk, {pros.pk})


def test_delete_is_set_based(actor, make_customer, vip_group, pros):
    """The number of statements does not grow with the number of members."""

    def statements(count):
        group = group_create(actor=actor, name_fr=f"G{count}", name_en=f"G{count}")
        for _ in range(count):
            make_customer(default_group=group)
        with CaptureQueriesContext(connection) as queries:
            group_delete(group=group, move_to=pros, actor=actor)
        return len(queries)

    assert statements(2) == statements(12)
    assert Membership.objects.filter(group=pros).count() == 14


def test_delete_without_members_needs_no_target(actor, pros):
    deletion = group_delete(group=pros, move_to=None, actor=actor)
    assert deletion.members == 0
    assert not Group.objects.filter(pk=pros.pk).exists()
    assert Event.objects.get(kind="group_deleted").data["moved_to"] is None


def test_delete_with_members_needs_a_target(actor, make_customer, vip_group):
    member = make_customer(groups=[vip_group])
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        group_delete(group=vip_group, move_to=None, actor=actor)
    assert exc.value.message_dict == {"move_to": ["Choose the group its customers move to."]}
    assert Group.objects.filter(pk=vip_group.pk).exists()
    assert vip_group.pk in groups_of(member)[1]
    assert not Event.objects.filter(kind__in=["group_deleted", "groups_removed"]).exists()


def test_delete_refuses_moving_members_into_the_group_itself(actor, make_customer, vip_group):
    make_customer(groups=[vip_group])
    with pytest.raises(ValidationError) as exc:
        group_delete(group=vip_group, move_to=vip_group, actor=actor)
    assert set(exc.value.message_dict) == {"move_to"}
    assert Group.objects.filter(pk=vip_group.pk).exists()


def test_the_default_group_cannot_be_deleted(actor, make_customer, default_group, vip_group):
    make_customer()
    with translation.override("fr"), pytest.raises(ValidationError) as exc:
        group_delete(group=default_group, move_to=vip_group, actor=actor)
    assert set(exc.value.message_dict) == {"group"}
    assert Group.objects.filter(pk=default_group.pk, is_default=True).exists()
    assert Membership.objects.filter(group=default_group).count() == 1
    assert not Membership.objects.filter(group=vip_group).exists()
