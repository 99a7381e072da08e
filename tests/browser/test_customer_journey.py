"""One customer's whole journey through the back office in a real (headless) chromium, for each
of the three delete modes (one in French, the others in English, to keep the file quick):
create through the form, open the page (name and figures), edit the last name and phone, block
with a reason, delete, then check what the mode promised both on screen and in the database."""

import re
from decimal import Decimal

import pytest
from django.utils import translation
from playwright.sync_api import expect

from comptoir.core.actors import Actor
from comptoir.core.templatetags.backoffice import money
from comptoir.customers.models import Customer, DeleteMode
from comptoir.customers.services import ANONYMOUS_FIRST_NAME
from comptoir.orders.models import Order
from comptoir.orders.services import LineInput, order_record

# The database comes from the new_page fixture: transactional, with serialized rollback.
pytestmark = pytest.mark.browser

STRINGS = {
    "fr-FR": {"lang": "fr", "duplicate": "Un client avec cette adresse e-mail existe déjà."},
    "en-GB": {"lang": "en", "duplicate": "A customer with this e-mail address already exists."},
}
# Each mode once; French where the page shows a translated error (the refused e-mail).
JOURNEYS = [
    (DeleteMode.ALLOW_REREGISTRATION, "en-GB"),
    (DeleteMode.DENY_REREGISTRATION, "fr-FR"),
    (DeleteMode.ANONYMISE, "en-GB"),
]
EMAIL = "helene.dupont@example.com"
REASON = "Impayé (rejet de prélèvement)"


def create_through_the_form(page, *, first_name: str, last_name: str, email: str, phone=""):
    page.goto("/customers/")
    page.locator("#customer-new").click()
    page.locator("#id_first_name").fill(first_name)
    page.locator("#id_last_name").fill(last_name)
    page.locator("#id_email").fill(email)
    if phone:
        page.locator("#id_phone").fill(phone)
    page.locator("#customer-save").click()


def buy(customer: Customer, amount: str) -> Order:
    return order_record(
        actor=Actor.storefront(),
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        customer=customer,
        lines=[LineInput(product_name="Thé vert", quantity=2, unit_price=Decimal(amount))],
    )


@pytest.mark.parametrize(("mode", "locale"), JOURNEYS, ids=[f"{m}-{loc}" for m, loc in JOURNEYS])
def test_create_edit_block_and_delete_a_customer(logged_in_page, mode, locale):
    text = STRINGS[locale]
    page = logged_in_page(locale)

    # Create: the form leads to the new customer's page, with no order yet.
    create_through_the_form(
        page, first_name="Hélène", last_name="Dupont", email=EMAIL, phone="+33 6 12 34 56 78"
    )
    customer = Customer.objects.get(email=EMAIL)
    detail = re.compile(rf"/customers/{customer.pk}/$")
    expect(page).to_have_url(detail)
    expect(page.locator("html")).to_have_attribute("lang", text["lang"])
    expect(page.locator("#customer-name")).to_have_text("Hélène Dupont")
    expect(page.locator("#customer-email")).to_have_text(EMAIL)
    expect(page.locator("#figure-orders")).to_have_text("0")
    assert customer.phone == "+33612345678"

    # An order placed meanwhile shows in the figures.
    order = buy(customer, "20.00")
    page.reload()
    expect(page.locator("#figure-orders")).to_have_text("1")
    with translation.override(text["lang"]):
        lifetime_value = money(order.total)
    expect(page.locator("#figure-lifetime-value")).to_have_text(lifetime_value)
    assert Customer.objects.get(pk=customer.pk).total_spent == order.total == Decimal("40.00")

    # Edit the last name and the phone.
    page.locator("#customer-actions [data-action=edit]").click()
    expect(page.locator("#id_last_name")).to_have_value("Dupont")
    page.locator("#id_last_name").fill("Martin")
    page.locator("#id_phone").fill("01 23 45 67 89")
    page.locator("#customer-save").click()
    expect(page).to_have_url(detail)
    expect(page.locator("#customer-name")).to_have_text("Hélène Martin")
    expect(page.locator("#block-personal [data-field=last_name]")).to_have_text("Martin")
    expect(page.locator("#block-personal [data-field=phone]")).to_have_text("+33123456789")
    edited = Customer.objects.get(pk=customer.pk)
    assert (edited.last_name, edited.phone) == ("Martin", "+33123456789")

    # Block, with the reason staff will read on the page.
    page.locator("#customer-actions [data-action=block]").click()
    page.locator("#id_reason").fill(REASON)
    page.locator("#block-confirm").click()
    expect(page).to_have_url(detail)
    expect(page.locator("#customer-badges [data-badge=blocked]")).to_be_visible()
    expect(page.locator("#customer-blocked-reason")).to_have_text(REASON)
    blocked = Customer.objects.get(pk=customer.pk)
    assert (blocked.is_blocked, blocked.blocked_reason) == (True, REASON)

    # Delete, in the mode under test.
    page.locator("#customer-actions [data-action=delete]").click()
    expect(page.locator("#orders-kept")).to_be_visible()
    page.locator(f"input[name=mode][value={mode}]").check()
    page.locator("#delete-confirm").click()
    expect(page.locator(".messages")).to_contain_text(f"#{customer.pk}")
    {
        DeleteMode.ALLOW_REREGISTRATION: deleted_for_good,
        DeleteMode.DENY_REREGISTRATION: deleted_email_kept,
        DeleteMode.ANONYMISE: anonymised,
    }[mode](page, customer=customer, order=order, text=text)


def deleted_for_good(page, *, customer, order, text):
    """The row is gone, the order stays (unlinked), and the e-mail can register again."""
    expect(page).to_have_url(re.compile(r"/customers/$"))
    expect(page.locator(f"#customer-table tr[data-customer='{customer.pk}']")).to_have_count(0)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    kept = Order.objects.get(pk=order.pk)
    assert (kept.customer_id, kept.total, kept.customer_email) == (None, order.total, EMAIL)

    create_through_the_form(page, first_name="Hélène", last_name="Dupont", email=EMAIL)
    again = Customer.objects.get(email=EMAIL)
    assert again.pk != customer.pk
    expect(page).to_have_url(re.compile(rf"/customers/{again.pk}/$"))
    expect(page.locator("#customer-badges [data-badge=blocked]")).to_have_count(0)


def deleted_email_kept(page, *, customer, order, text):
    """The row stays, marked deleted and out of the list; its e-mail stays taken."""
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.locator("#customer-badges [data-badge=deleted]")).to_be_visible()
    closed = Customer.objects.get(pk=customer.pk)
    assert closed.deleted_at is not None and closed.anonymised_at is None
    assert (closed.last_name, closed.email) == ("Martin", EMAIL)
    assert Order.objects.get(pk=order.pk).customer_id == customer.pk

    page.goto("/customers/")
    expect(page.locator("#no-results")).to_be_visible()
    expect(page.locator(f"#customer-table tr[data-customer='{customer.pk}']")).to_have_count(0)

    create_through_the_form(page, first_name="Hélène", last_name="Dupont", email=EMAIL.upper())
    expect(page.locator("#id_email_error")).to_have_text(text["duplicate"])
    expect(page.locator("#duplicate-customer-link")).to_have_attribute(
        "href", f"/customers/{customer.pk}/"
    )
    assert Customer.objects.count() == 1


def anonymised(page, *, customer, order, text):
    """The row stays with nothing that names the person; the order stays, with its total."""
    expect(page).to_have_url(re.compile(rf"/customers/{customer.pk}/$"))
    expect(page.locator("#customer-badges [data-badge=anonymised]")).to_be_visible()
    expect(page.locator("#customer-name")).to_have_text(ANONYMOUS_FIRST_NAME)
    expect(page.locator("#customer-email")).to_have_count(0)
    expect(page.locator("#figure-orders")).to_have_text("1")
    scrubbed = Customer.objects.get(pk=customer.pk)
    assert scrubbed.anonymised_at is not None
    assert (
        scrubbed.first_name,
        scrubbed.last_name,
        scrubbed.email,
        scrubbed.email_key,
        scrubbed.phone,
        scrubbed.phone_input,
    ) == (ANONYMOUS_FIRST_NAME, "", "", "", "", "")
    assert REASON not in scrubbed.blocked_reason
    kept = Order.objects.get(pk=order.pk)
    assert (kept.customer_id, kept.total) == (customer.pk, Decimal("40.00"))
    assert (kept.customer_first_name, kept.customer_last_name, kept.customer_email) == (
        ANONYMOUS_FIRST_NAME,
        "",
        "",
    )
