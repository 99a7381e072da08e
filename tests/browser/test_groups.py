"""The groups screens driven in a real (headless) chromium, in French and in English: create a
group, put customers in it from the customers list, follow its members link, then delete it
moving its members to another group through the confirmation screen."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from comptoir.core.models import Event
from comptoir.customers.models import Customer
from comptoir.groups.models import Group

# The database comes from the new_page fixture: transactional, with serialized rollback.
pytestmark = pytest.mark.browser

# What differs between the languages here is data, not catalogue text (the catalogues are
# filled later): the group's name in the user's language and the decimal separator.
LOCALES = {
    "fr-FR": {"name": "Revendeurs", "other": "Resellers", "discount": "12,5", "shown": "12,50 %"},
    "en-GB": {"name": "Resellers", "other": "Revendeurs", "discount": "12.5", "shown": "12.50 %"},
}


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_create_a_group_add_customers_and_delete_it_moving_them(
    logged_in_page, make_customer, default_group, staff_user, locale
):
    text = LOCALES[locale]
    buyers = [make_customer(consents={"newsletter": True}) for _ in range(2)]
    make_customer()
    page = logged_in_page(locale)

    # The navbar leads to the groups list.
    page.goto("/")
    page.locator("#main-navbar a[href='/groups/']").click()
    expect(page).to_have_url(re.compile(r"/groups/$"))
    expect(page.locator("#main-navbar .nav-link.active")).to_have_attribute("href", "/groups/")

    # Create: the discount typed as the language writes decimals.
    page.locator("#group-create").click()
    page.locator("#id_name_fr").fill("Revendeurs")
    page.locator("#id_name_en").fill("Resellers")
    page.locator("#id_discount").fill(text["discount"])
    page.locator("input[name=price_display][value=tax_excl]").check()
    page.locator("#id_css_class").fill("pro")
    page.locator("#group-save").click()
    expect(page).to_have_url(re.compile(r"/groups/$"))
    group = Group.objects.get(name_en="Resellers")
    assert (group.discount, group.price_display, group.is_default) == (
        Decimal("12.50"),
        "tax_excl",
        False,
    )
    assert Event.objects.get(kind="group_created").actor_id == staff_user.pk
    row = page.locator(f"#group-table tr[data-group='{group.pk}']")
    expect(row).to_contain_text(text["name"])
    expect(row).not_to_contain_text(text["other"])
    expect(row.locator("[data-discount]")).to_have_text(text["shown"])
    expect(row.locator("[data-members]")).to_have_text("0")

    # A bad value comes back next to its field and saves nothing.
    page.locator("#group-create").click()
    page.locator("#id_name_fr").fill("X")
    page.locator("#id_name_en").fill("X")
    page.locator("#id_discount").fill("150")
    page.locator("#group-save").click()
    expect(page.locator("#id_discount")).to_have_class(re.compile(r"is-invalid"))
    assert Group.objects.count() == 2

    # Add customers to it from the customers list (select all matching, bulk action).
    page.goto("/customers/?newsletter=true")
    page.locator("#select-all-matching").check()
    page.locator("#bulk-form select[name=action]").select_option("add_group")
    page.locator("#bulk-form select[name=group]").select_option(str(group.pk))
    page.locator("#bulk-apply").click()
    page.locator("#bulk-confirm").click()
    expect(page.locator(".messages")).to_be_visible()
    assert set(group.memberships.values_list("customer_id", flat=True)) == {
        buyer.pk for buyer in buyers
    }

    # Its members link is the customers list filtered on it.
    page.goto("/groups/")
    members = row.locator("[data-members] a")
    expect(members).to_have_text("2")
    members.click()
    expect(page).to_have_url(re.compile(rf"/customers/\?group={group.pk}$"))
    expect(page.locator("#customer-table tbody tr[data-customer]")).to_have_count(2)

    # The default group cannot be deleted.
    page.goto(f"/groups/{default_group.pk}/delete/")
    expect(page.locator("#default-refused")).to_be_visible()
    expect(page.locator("#group-delete-form")).to_have_count(0)

    # Delete, moving its members: nothing moves before the confirmation.
    page.goto("/groups/")
    row.locator("[data-delete]").click()
    expect(page.locator("#delete-members")).to_contain_text("2")
    assert Group.objects.filter(pk=group.pk).exists()
    page.locator("#id_move_to").select_option(str(default_group.pk))
    page.locator("#group-delete-confirm").click()
    expect(page).to_have_url(re.compile(r"/groups/$"))
    expect(page.locator(f"#group-table tr[data-group='{group.pk}']")).to_have_count(0)
    expect(page.locator(".messages")).to_contain_text(text["name"])
    assert not Group.objects.filter(pk=group.pk).exists()
    for buyer in buyers:
        customer = Customer.objects.get(pk=buyer.pk)
        assert customer.default_group_id == default_group.pk
        assert list(customer.memberships.values_list("group_id", flat=True)) == [default_group.pk]
    assert Event.objects.get(kind="group_deleted").data["members"] == 2
