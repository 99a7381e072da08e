"""The groups screens through the test client: the list (member counts, fixed query count),
create and edit with their errors, delete with its confirmation and the move of the members."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.utils.html import escape

from comptoir.core.models import Event
from comptoir.customers.models import Customer, Membership
from comptoir.customers.services import customers_bulk_delete
from comptoir.groups.models import Group, PriceDisplay
from comptoir.groups.selectors import GROUPS_PER_PAGE, group_member_counts
from comptoir.groups.services import group_create

pytestmark = pytest.mark.django_db

LIST = "/groups/"


def language(client, code):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = code
    return client


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def group_rows(response) -> list[tuple[int, int]]:
    """(group id, members shown) for each row of the list, in order."""
    html = response.content.decode()
    return [
        (int(pk), int(members))
        for pk, members in re.findall(
            r'<tr data-group="(\d+)">.*?data-members="(\d+)"', html, re.DOTALL
        )
    ]


def form_data(**overrides):
    data = {
        "name_fr": "Revendeurs",
        "name_en": "Resellers",
        "description": "Les pros",
        "discount": "12.5",
        "price_display": PriceDisplay.TAX_EXCLUDED,
        "show_prices": "on",
        "css_class": "pro",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# ----- list --------------------------------------------------------------------------------------


def test_list_shows_names_in_the_users_language_and_live_member_counts(
    staff_client, make_customer, actor, default_group, vip_group
):
    group_create(actor=actor, name_fr="Revendeurs", name_en="Resellers", discount="7.5")
    make_customer(groups=[vip_group])
    make_customer(groups=[vip_group])
    closed = make_customer(groups=[vip_group])
    customers_bulk_delete(selection=Customer.objects.filter(pk=closed.pk), mode="deny", actor=actor)
    response = language(staff_client, "en").get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    resellers = Group.objects.get(name_en="Resellers")
    # The default first, then by English name; closed accounts are not counted.
    assert group_rows(response) == [(default_group.pk, 2), (resellers.pk, 0), (vip_group.pk, 2)]
    assert "Resellers" in html and "Revendeurs" not in html
    assert f'href="/customers/?group={vip_group.pk}"' in html
    assert "7.50 %" in html and "Tax included" in html
    assert html.count("data-default") == 1

    response = language(staff_client, "fr").get(LIST)
    assert "Revendeurs" in response.content.decode()
    assert "7,50 %" in response.content.decode()


def test_the_members_link_lists_exactly_the_members(staff_client, make_customer, vip_group):
    member = make_customer(groups=[vip_group])
    make_customer()
    response = staff_client.get(f"/customers/?group={vip_group.pk}")
    ids = [int(pk) for pk in re.findall(r'<tr data-customer="(\d+)"', response.content.decode())]
    assert ids == [member.pk]


def test_list_runs_a_fixed_number_of_queries(
    staff_client, make_customer, actor, django_assert_num_queries
):
    def queries_for_list():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(LIST).status_code == 200
        return len(captured)

    small = queries_for_list()
    for number in range(8):
        group = group_create(actor=actor, name_fr=f"G{number}", name_en=f"G{number}")
        make_customer(groups=[group])
    with django_assert_num_queries(small):
        staff_client.get(LIST)
    # Cached until the data changes: the counts' query is not run again.
    with django_assert_num_queries(small - 1):
        staff_client.get(LIST)


def test_member_counts_are_cached_until_the_data_changes(make_customer, vip_group):
    make_customer(groups=[vip_group])
    assert group_member_counts()[vip_group.pk] == 1
    # Without an event the cached counts stay (what the data version promises) ...
    Membership.objects.filter(group=vip_group).delete()
    assert group_member_counts()[vip_group.pk] == 1
    # ... and the next change refreshes them.
    make_customer(groups=[vip_group])
    make_customer(groups=[vip_group])
    assert group_member_counts()[vip_group.pk] == 2


def test_list_is_paginated(staff_client, actor):
    for number in range(GROUPS_PER_PAGE + 1):
        group_create(actor=actor, name_fr=f"G{number:03d}", name_en=f"G{number:03d}")
    assert len(group_rows(staff_client.get(LIST))) == GROUPS_PER_PAGE
    assert len(group_rows(staff_client.get(LIST + "?page=2"))) == 2
    # A page that is not a number or does not exist gives a page, not an error.
    assert staff_client.get(LIST + "?page=abc").status_code == 200
    assert len(group_rows(staff_client.get(LIST + "?page=99"))) == 2


# ----- create and edit ---------------------------------------------------------------------------


def test_create(staff_client, staff_user):
    response = language(staff_client, "en").post("/groups/new/", form_data())
    assert response.status_code == 302 and response["Location"] == LIST
    group = Group.objects.get(name_en="Resellers")
    assert (group.discount, group.price_display, group.show_prices, group.css_class) == (
        Decimal("12.50"),
        "tax_excl",
        True,
        "pro",
    )
    assert not group.is_default
    assert Event.objects.get(kind="group_created").actor_id == staff_user.pk
    assert texts(response) == ["Group “Resellers” created."]


def test_create_reads_a_french_decimal(staff_client):
    language(staff_client, "fr").post("/groups/new/", form_data(discount="12,5"))
    assert Group.objects.get(name_en="Resellers").discount == Decimal("12.50")


def test_create_as_default(staff_client, default_group):
    staff_client.post("/groups/new/", form_data(is_default="on"))
    assert list(Group.objects.filter(is_default=True).values_list("name_en", flat=True)) == [
        "Resellers"
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name_fr": ""}, "name_fr", "This field is required."),
        ({"name_en": "x" * 65}, "name_en", "Ensure this value has at most 64 characters"),
        ({"discount": "101"}, "discount", "less than or equal to 100"),
        ({"discount": "-1"}, "discount", "greater than or equal to 0"),
        ({"discount": "abc"}, "discount", "Enter a number."),
        ({"price_display": "gross"}, "price_display", "Select a valid choice."),
        ({"css_class": "1bad"}, "css_class", "Use CSS class names"),
    ],
)
def test_bad_input_is_a_form_error_and_nothing_is_saved(staff_client, overrides, field, message):
    response = language(staff_client, "en").post("/groups/new/", form_data(**overrides))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert Group.objects.count() == 1 and not Event.objects.exists()
    # Shown next to its field, on the page.
    assert escape(errors[field][0]) in response.content.decode()


def test_errors_are_in_french_for_french_staff(staff_client):
    response = language(staff_client, "fr").post("/groups/new/", form_data(name_fr=""))
    assert response.context["form"].errors["name_fr"] == ["Ce champ est obligatoire."]


def test_edit(staff_client, vip_group):
    page = language(staff_client, "en").get(f"/groups/{vip_group.pk}/edit/")
    assert page.status_code == 200 and 'value="VIP"' in page.content.decode()
    response = staff_client.post(
        f"/groups/{vip_group.pk}/edit/", form_data(name_fr="VIP", name_en="Best", discount="20")
    )
    assert response.status_code == 302
    vip_group.refresh_from_db()
    assert (vip_group.name_en, vip_group.discount, vip_group.css_class) == (
        "Best",
        Decimal("20.00"),
        "pro",
    )
    assert Event.objects.get(kind="group_updated").data["changes"]["name_en"] == {
        "before": "VIP",
        "after": "Best",
    }


def test_edit_making_default_undefaults_the_other(staff_client, default_group, vip_group):
    staff_client.post(f"/groups/{vip_group.pk}/edit/", form_data(is_default="on"))
    assert list(Group.objects.filter(is_default=True)) == [vip_group]


def test_unticking_default_on_the_default_group_is_refused(staff_client, default_group):
    response = language(staff_client, "en").post(
        f"/groups/{default_group.pk}/edit/",
        form_data(name_fr="Client", name_en="Renamed"),
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["is_default"]
    default_group.refresh_from_db()
    assert default_group.is_default and default_group.name_en == "Customer"


def test_edit_of_a_missing_group_is_404(staff_client):
    assert staff_client.get("/groups/999/edit/").status_code == 404


# ----- delete ------------------------------------------------------------------------------------


def test_delete_confirmation_tells_what_will_move(
    staff_client, make_customer, default_group, vip_group
):
    make_customer(groups=[vip_group])
    make_customer(default_group=vip_group)
    response = language(staff_client, "en").get(f"/groups/{vip_group.pk}/delete/")
    html = response.content.decode()
    assert "2 customers are in this group." in html
    assert "It is the default group of 1 customer." in html
    choices = list(response.context["form"].fields["move_to"].queryset)
    assert choices == [default_group]
    assert Group.objects.filter(pk=vip_group.pk).exists()


def test_delete_moves_the_members(staff_client, make_customer, default_group, vip_group, actor):
    pros = group_create(actor=actor, name_fr="Pros", name_en="Pros")
    only = make_customer(default_group=vip_group)
    response = language(staff_client, "en").post(
        f"/groups/{vip_group.pk}/delete/", {"move_to": pros.pk}
    )
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Group.objects.filter(pk=vip_group.pk).exists()
    only.refresh_from_db()
    assert only.default_group_id == pros.pk
    assert set(only.memberships.values_list("group_id", flat=True)) == {pros.pk}
    assert texts(response) == ["Group “VIP” deleted; its 1 customer moved to “Pros”."]
    assert Event.objects.get(kind="group_deleted").data["members"] == 1


def test_delete_without_a_target_is_a_form_error(staff_client, make_customer, vip_group):
    make_customer(groups=[vip_group])
    response = language(staff_client, "en").post(f"/groups/{vip_group.pk}/delete/", {})
    assert response.status_code == 200
    assert response.context["form"].errors["move_to"] == ["Choose the group its customers move to."]
    assert Group.objects.filter(pk=vip_group.pk).exists()
    assert not Event.objects.filter(kind="group_deleted").exists()


def test_delete_to_an_unknown_group_is_a_form_error(staff_client, make_customer, vip_group):
    make_customer(groups=[vip_group])
    response = staff_client.post(f"/groups/{vip_group.pk}/delete/", {"move_to": "999"})
    assert response.status_code == 200 and "move_to" in response.context["form"].errors
    response = staff_client.post(f"/groups/{vip_group.pk}/delete/", {"move_to": vip_group.pk})
    assert response.status_code == 200 and "move_to" in response.context["form"].errors
    assert Group.objects.filter(pk=vip_group.pk).exists()


def test_the_default_group_cannot_be_deleted(staff_client, default_group, vip_group):
    page = language(staff_client, "en").get(f"/groups/{default_group.pk}/delete/")
    assert "The default group cannot be deleted" in page.content.decode()
    assert 'id="group-delete-form"' not in page.content.decode()
    response = staff_client.post(f"/groups/{default_group.pk}/delete/", {"move_to": vip_group.pk})
    assert response.status_code == 200
    assert Group.objects.filter(pk=default_group.pk, is_default=True).exists()
    assert not Event.objects.exists()


def test_delete_an_empty_group_needs_no_target(staff_client, vip_group):
    page = staff_client.get(f"/groups/{vip_group.pk}/delete/")
    assert 'name="move_to"' not in page.content.decode()
    response = staff_client.post(f"/groups/{vip_group.pk}/delete/", {})
    assert response.status_code == 302
    assert not Group.objects.filter(pk=vip_group.pk).exists()
