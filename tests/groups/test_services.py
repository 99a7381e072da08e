from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from comptoir.core.models import Event
from comptoir.groups.models import Group
from comptoir.groups.services import group_create, group_default_set

pytestmark = pytest.mark.django_db


def test_a_fresh_shop_has_exactly_one_default_group():
    assert list(Group.objects.filter(is_default=True).values_list("name_fr", "name_en")) == [
        ("Client", "Customer")
    ]


def test_create_records_an_event(actor):
    group = group_create(actor=actor, name_fr="Revendeurs", name_en="Resellers", discount="12.5")
    assert group.discount == Decimal("12.50") and not group.is_default
    event = Event.objects.get(kind="group_created")
    assert (event.object_type, event.object_id, event.actor_id) == (
        "group",
        group.pk,
        actor.user.pk,
    )


@pytest.mark.parametrize("discount", ["-1", "100.01", "abc", "NaN"])
def test_discount_out_of_range_is_refused(actor, discount):
    with pytest.raises(ValidationError) as exc:
        group_create(actor=actor, name_fr="X", name_en="X", discount=discount)
    assert "discount" in exc.value.message_dict
    assert Group.objects.count() == 1


def test_names_are_required(actor):
    with pytest.raises(ValidationError) as exc:
        group_create(actor=actor, name_fr=" ", name_en="", discount=0)
    assert set(exc.value.message_dict) == {"name_fr", "name_en"}


def test_default_moves_in_one_step(actor, default_group, vip_group):
    group_default_set(group=vip_group, actor=actor)
    assert list(Group.objects.filter(is_default=True)) == [vip_group]
    group_default_set(group=vip_group, actor=actor)
    assert Event.objects.filter(kind="group_default_changed").count() == 1
