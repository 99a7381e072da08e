"""The customers list driven in a real (headless) chromium, once in French and once in English:
search, filter, sort, paginate, toggle a consent without reloading, select all matching then a
bulk action through its confirmation, save a view and open it again."""

import re

import pytest
from playwright.sync_api import expect

from comptoir.customers.models import ConsentRecord, SavedView

# The database comes from the new_page fixture: transactional, with serialized rollback.
pytestmark = pytest.mark.browser

STRINGS = {
    "fr-FR": {
        "heading": "Clients",
        "apply_filters": "Appliquer les filtres",
        "page": "Page {} sur {}",
        "toggle": "Newsletter : Hélène Dupont",
        "all_selected": "Les 2 clients correspondants sont sélectionnés",
        "changing": "Cela modifiera 2 clients.",
        "confirm": "Confirmer",
        "changed": "2 clients modifiés.",
        "view": "Abonnés",
        "saved": "Vue « Abonnés » enregistrée.",
        "all_12": "Les 12 clients correspondants sont sélectionnés",
        "one": "1 sélectionné sur cette page",
    },
    "en-GB": {
        "heading": "Customers",
        "apply_filters": "Apply filters",
        "page": "Page {} of {}",
        "toggle": "Newsletter: Hélène Dupont",
        "all_selected": "All 2 matching customers selected",
        "changing": "This will change 2 customers.",
        "confirm": "Confirm",
        "changed": "2 customers changed.",
        "view": "Subscribers",
        "saved": "View “Subscribers” saved.",
        "all_12": "All 12 matching customers selected",
        "one": "1 selected on this page",
    },
}
LOCALES = sorted(STRINGS)


@pytest.mark.parametrize("locale", LOCALES)
def test_search_filter_sort_paginate_and_toggle_a_consent(
    logged_in_page, make_customer, staff_user, locale
):
    text = STRINGS[locale]
    helene = make_customer(first_name="Hélène", last_name="Dupont", email="helene@example.com")
    make_customer(
        first_name="John",
        last_name="Smith",
        email="john@example.org",
        consents={"newsletter": True},
    )
    for number in range(22):
        make_customer(
            first_name="Client", last_name=f"N{number:02d}", email=f"c{number}@example.net"
        )
    page = logged_in_page(locale)
    rows = page.locator("#customer-table tbody tr[data-customer]")

    page.goto("/customers/")
    expect(page.get_by_role("heading", level=1)).to_have_text(text["heading"])
    expect(page.locator("#main-navbar .nav-link.active")).to_have_text(text["heading"])
    expect(page.locator("#list-stat-customers")).to_have_text("24")

    # Search: accents and case do not matter.
    page.locator("#id_q").fill("HELENE")
    page.locator("#id_q").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Dupont")
    expect(page.locator("#list-stat-customers")).to_have_text("1")

    # A filter from the panel.
    page.locator("#filters-reset").click()
    page.locator("#filters-toggle").click()
    page.locator("#id_newsletter").select_option("true")
    page.get_by_role("button", name=text["apply_filters"]).click()
    expect(page).to_have_url(re.compile(r"newsletter=true"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Smith")

    # Sort by clicking a header, both ways.
    page.goto("/customers/?per_page=10")
    header = page.locator("th[data-col=first_name]")
    header.get_by_role("link").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text("Client")
    header.get_by_role("link").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_contain_text("John")

    # Pages: next, last, and "go to page"; the sort and page size are kept.
    expect(page.locator("#page-current")).to_have_text(text["page"].format(1, 3))
    page.locator("#page-next").click()
    expect(page.locator("#page-current")).to_have_text(text["page"].format(2, 3))
    page.locator("#page-last").click()
    expect(page.locator("#page-current")).to_have_text(text["page"].format(3, 3))
    expect(rows).to_have_count(4)
    expect(page).to_have_url(re.compile(r"sort=-first_name"))
    page.locator("#goto-page").fill("2")
    page.locator("#goto-page").press("Enter")
    expect(page.locator("#page-current")).to_have_text(text["page"].format(2, 3))

    # Toggle a consent in the row: the cell changes, the page does not reload.
    page.goto("/customers/?q=helene")
    page.evaluate("window.stillTheSamePage = true")
    toggle = page.get_by_role("button", name=text["toggle"])
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(page.get_by_role("button", name=text["toggle"])).to_have_attribute(
        "aria-pressed", "true"
    )
    assert page.evaluate("window.stillTheSamePage") is True
    record = ConsentRecord.objects.get(customer=helene, channel="newsletter")
    assert (record.granted, record.source, record.actor_id) == (True, "backoffice", staff_user.pk)


@pytest.mark.parametrize("locale", LOCALES)
def test_bulk_action_on_all_matching_and_a_saved_view(
    logged_in_page, make_customer, staff_user, vip_group, locale
):
    text = STRINGS[locale]
    subscribers = [make_customer(consents={"newsletter": True}) for _ in range(2)]
    make_customer()
    page = logged_in_page(locale)
    rows = page.locator("#customer-table tbody tr[data-customer]")

    page.goto("/customers/?newsletter=true")
    expect(rows).to_have_count(2)
    page.locator("#select-all-matching").check()
    expect(page.locator("#selection-count")).to_have_text(text["all_selected"])
    page.locator("#bulk-form select[name=action]").select_option("add_group")
    # Only the parameter the action needs is shown.
    expect(page.locator("#bulk-form select[name=group]")).to_be_visible()
    expect(page.locator("#bulk-form input[name=reason]")).to_be_hidden()
    page.locator("#bulk-form select[name=group]").select_option(str(vip_group.pk))
    page.locator("#bulk-apply").click()

    expect(page.locator("#bulk-changing")).to_have_text(text["changing"])
    assert not vip_group.memberships.exists()  # nothing done before the confirmation
    page.get_by_role("button", name=text["confirm"]).click()
    expect(page.locator(".messages")).to_contain_text(text["changed"])
    expect(page).to_have_url(re.compile(r"/customers/\?newsletter=true$"))
    members = set(vip_group.memberships.values_list("customer_id", flat=True))
    assert members == {customer.pk for customer in subscribers}

    # Save this view, go back to everyone, then open the view from the menu.
    page.locator("#saved-views-button").click()
    page.locator("#saved-view-name").fill(text["view"])
    page.locator("#save-view-form button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(text["saved"])
    assert SavedView.objects.get(owner=staff_user).query == "newsletter=true"
    page.goto("/customers/")
    expect(rows).to_have_count(3)
    page.locator("#saved-views-button").click()
    page.get_by_role("link", name=text["view"]).click()
    expect(page).to_have_url(re.compile(r"/customers/\?newsletter=true$"))
    expect(rows).to_have_count(2)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_large_shop_shows_rows_then_its_figures(logged_in_page, make_customer, settings, locale):
    """Past COMPTOIR_LIST_COUNT_LATER_FROM customers, figures not yet known come in a second
    request once the rows are shown: cards, page numbers and "select all N" work with them."""
    settings.COMPTOIR_LIST_COUNT_LATER_FROM = 0
    text = STRINGS[locale]
    for number in range(12):
        make_customer(first_name="Client", last_name=f"N{number:02d}")
    page = logged_in_page(locale)
    rows = page.locator("#customer-table tbody tr[data-customer]")

    page.goto("/customers/?per_page=10")
    expect(rows).to_have_count(10)
    expect(page.locator("#list-stat-customers")).to_have_text("12")
    expect(page.locator("#list-summary")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#page-current")).to_have_text(text["page"].format(1, 2))
    all_matching = page.locator("#select-all-matching")
    expect(all_matching).to_be_enabled()
    all_matching.check()
    expect(page.locator("#selection-count")).to_have_text(text["all_12"])
    page.locator(".row-select").first.uncheck()
    expect(all_matching).not_to_be_checked()
    page.locator("#select-page").check()  # from "some" to all of the page, then none
    page.locator("#select-page").uncheck()
    page.locator(".row-select").first.check()
    expect(page.locator("#selection-count")).to_have_text(text["one"])
    page.locator("#page-last").click()
    expect(rows).to_have_count(2)
    expect(page.locator("#page-current")).to_have_text(text["page"].format(2, 2))
