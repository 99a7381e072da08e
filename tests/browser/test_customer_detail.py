"""The customer page driven in a real (headless) chromium, in French and in English: open it
from the list, page through one block without reloading the page (the address follows, and
reproduces it), and edit the private note in place."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from comptoir.core.actors import Actor
from comptoir.customers.models import Customer
from comptoir.orders.services import LineInput, order_record, visit_record

# The database comes from the new_page fixture: transactional, with serialized rollback.
pytestmark = pytest.mark.browser

STRINGS = {
    "fr-FR": {"customers": "Clients", "page": "Page {} sur {}", "save": "Enregistrer"},
    "en-GB": {"customers": "Customers", "page": "Page {} of {}", "save": "Save"},
}
LOCALES = sorted(STRINGS)


@pytest.mark.parametrize("locale", LOCALES)
def test_open_a_customer_page_through_a_block_and_edit_the_note(
    logged_in_page, make_customer, locale
):
    text = STRINGS[locale]
    helene = make_customer(first_name="Hélène", last_name="Dupont", email="helene@example.com")
    make_customer(first_name="John", last_name="Smith", email="john@example.org")
    order_record(
        actor=Actor.storefront(),
        email=helene.email,
        first_name="Hélène",
        last_name="Dupont",
        customer=helene,
        lines=[LineInput("Mug", 2, Decimal("12.50"), "MUG")],
    )
    for number in range(12):  # three pages of visits
        visit_record(customer=helene, ip_address=f"192.0.2.{number + 1}")
    page = logged_in_page(locale)

    page.goto("/customers/")
    page.locator("#customer-table a.customer-link", has_text="Hélène").click()
    expect(page).to_have_url(re.compile(rf"/customers/{helene.pk}/$"))
    expect(page.locator("#customer-name")).to_contain_text("Hélène Dupont")
    expect(page.locator("nav .breadcrumb")).to_contain_text(text["customers"])
    expect(page.locator("#figure-orders")).to_have_text("1")
    expect(page.locator("#block-products [data-product='MUG']")).to_be_visible()

    # Page through the visits alone: the rest of the page stays as it is (no reload), the
    # address says where the block is.
    page.evaluate("window.stillTheSamePage = true")
    visits = page.locator("#block-visits")
    expect(visits.locator("[data-role=page-current]")).to_have_text(text["page"].format(1, 3))
    first_ips = visits.locator("tbody td.font-monospace").all_inner_texts()
    visits.locator("a[data-page=next]").click()
    expect(visits.locator("[data-role=page-current]")).to_have_text(text["page"].format(2, 3))
    expect(page).to_have_url(re.compile(r"\?visits_page=2$"))
    assert page.evaluate("window.stillTheSamePage") is True
    second_ips = visits.locator("tbody td.font-monospace").all_inner_texts()
    assert len(second_ips) == 5 and not set(first_ips) & set(second_ips)
    page.locator("#block-visits a[data-page=last]").click()
    expect(visits.locator("[data-role=page-current]")).to_have_text(text["page"].format(3, 3))
    expect(page).to_have_url(re.compile(r"\?visits_page=3$"))
    # The address reproduces what was shown.
    page.reload()
    expect(visits.locator("[data-role=page-current]")).to_have_text(text["page"].format(3, 3))
    expect(visits.locator("tbody tr")).to_have_count(2)

    # The private note, edited in place.
    page.evaluate("window.stillTheSamePage = true")
    page.locator("#note-edit").click()
    note = page.locator("#block-note textarea")
    expect(note).to_be_visible()
    note.fill("Livrer le mardi, sonner deux fois.")
    page.get_by_role("button", name=text["save"]).click()
    expect(page.locator("#note-text")).to_have_text("Livrer le mardi, sonner deux fois.")
    expect(page.locator("#note-notice")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    assert Customer.objects.get(pk=helene.pk).note == "Livrer le mardi, sonner deux fois."
    page.reload()
    expect(page.locator("#note-text")).to_have_text("Livrer le mardi, sonner deux fois.")
    expect(page.locator("#block-timeline [data-kind=note_changed]")).to_have_count(1)
