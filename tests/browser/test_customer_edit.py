"""Creating and editing a customer, and the customers settings page, in a real (headless)
chromium, once in French and once in English: the duplicate e-mail with its link, the consent
confirmation that appears only when a consent is given, adding an address, a second save refused
with what changed, and settings that the create form and the list then follow."""

import re

import pytest
from playwright.sync_api import expect

from comptoir.customers.models import ConsentRecord, Customer, CustomerSettings, Title
from comptoir.customers.services import customer_update
from comptoir.customers.views.edit import customer_url

# The database comes from the new_page fixture: transactional, with serialized rollback.
pytestmark = pytest.mark.browser

STRINGS = {
    "fr-FR": {
        "new": "Nouveau client",
        "duplicate": "Un client avec cette adresse e-mail existe déjà.",
        "confirm": "Confirmez que le client a donné ce consentement.",
        "created": "Client Hélène Dupont créé.",
        "conflict": "Un autre membre de l\u2019équipe a modifié ce client entre-temps.",
        "company": "Société",
        "saved": "Modifications de Hélène Dupont enregistrées.",
        "settings_saved": "Réglages des clients enregistrés.",
        "title_added": "Civilité « Dr » ajoutée.",
        "required_birthday": "Ce champ est obligatoire.",
    },
    "en-GB": {
        "new": "New customer",
        "duplicate": "A customer with this e-mail address already exists.",
        "confirm": "Confirm that the customer agreed to this consent.",
        "created": "Customer Hélène Dupont created.",
        "conflict": "Another staff member changed this customer meanwhile.",
        "company": "Company",
        "saved": "Changes to Hélène Dupont saved.",
        "settings_saved": "Customer settings saved.",
        "title_added": "Title “Dr” added.",
        "required_birthday": "This field is required.",
    },
}
LOCALES = sorted(STRINGS)


def fill_address(page, index: int, *, address1: str, city: str, country: str) -> None:
    page.locator(f"#id_addresses-{index}-first_name").fill("Hélène")
    page.locator(f"#id_addresses-{index}-last_name").fill("Dupont")
    page.locator(f"#id_addresses-{index}-address1").fill(address1)
    page.locator(f"#id_addresses-{index}-city").fill(city)
    page.locator(f"#id_addresses-{index}-country").select_option(country)


@pytest.mark.parametrize("locale", LOCALES)
def test_create_a_customer(logged_in_page, make_customer, staff_user, locale):
    text = STRINGS[locale]
    existing = make_customer(email="helene@example.com")
    page = logged_in_page(locale)

    page.goto("/customers/")
    page.locator("#customer-new").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(text["new"])
    page.locator("#id_first_name").fill("Hélène")
    page.locator("#id_last_name").fill("Dupont")
    page.locator("#id_email").fill("Helene@example.com")

    # The confirmation box shows only while a consent is being given.
    confirm = page.locator("[data-consent=newsletter] [data-consent-confirm]")
    expect(confirm).to_be_hidden()
    page.locator("[data-consent=newsletter] input[value=given]").check()
    expect(confirm).to_be_visible()
    page.locator("[data-consent=newsletter] input[value=not_given]").check()
    expect(confirm).to_be_hidden()
    page.locator("[data-consent=newsletter] input[value=given]").check()

    # One blank address is there; a second comes from "Add an address".
    fill_address(page, 0, address1="1 rue de la Paix", city="Paris", country="FR")
    page.locator("#address-add").click()
    expect(page.locator(".address-form")).to_have_count(2)
    fill_address(page, 1, address1="2 Baker Street", city="London", country="GB")
    page.locator("#addresses-1-default-billing").check()
    page.locator("#customer-save").click()

    # Nothing saved: the e-mail is taken (with a link to its customer) and the consent is not
    # confirmed. What was typed is still there.
    expect(page.locator("#id_email_error")).to_have_text(text["duplicate"])
    expect(page.locator("#duplicate-customer-link")).to_have_attribute(
        "href", customer_url(existing.pk)
    )
    expect(page.locator("#id_newsletter_confirmed_error")).to_have_text(text["confirm"])
    expect(page.locator("#id_addresses-1-city")).to_have_value("London")
    assert Customer.objects.count() == 1

    page.locator("#id_email").fill("helene.dupont@example.com")
    page.locator("#id_newsletter_confirmed").check()
    page.locator("#customer-save").click()
    expect(page.locator(".messages")).to_contain_text(text["created"])
    customer = Customer.objects.get(email="helene.dupont@example.com")
    expect(page).to_have_url(re.compile(re.escape(customer_url(customer.pk)) + "$"))
    assert customer.newsletter is True and customer.country == "GB"
    assert list(customer.addresses.order_by("id").values_list("city", flat=True)) == [
        "Paris",
        "London",
    ]
    record = ConsentRecord.objects.get(customer=customer)
    assert (record.source, record.actor_id) == ("backoffice", staff_user.pk)


@pytest.mark.parametrize("locale", LOCALES)
def test_edit_a_customer_someone_else_changed_meanwhile(
    logged_in_page, make_customer, actor, locale
):
    text = STRINGS[locale]
    helene = make_customer(first_name="Hélène", last_name="Dupont")
    page = logged_in_page(locale)

    page.goto(f"/customers/{helene.pk}/edit/")
    page.locator("#id_company").fill("Mine")
    # Another staff member saves first.
    customer_update(customer=helene, actor=actor, changes={"company": "Theirs"})
    page.locator("#customer-save").click()

    expect(page.locator("#edit-conflict")).to_contain_text(text["conflict"])
    cells = page.locator("#conflict-table tbody tr").first.locator("th, td")
    expect(cells).to_have_text([text["company"], "—", "Theirs", "Mine"])
    expect(page.locator("#id_company")).to_have_value("Mine")
    assert Customer.objects.get(pk=helene.pk).company == "Theirs"

    # Saving again, having seen their change, goes through.
    page.locator("#customer-save").click()
    expect(page.locator(".messages")).to_contain_text(text["saved"])
    assert Customer.objects.get(pk=helene.pk).company == "Mine"


@pytest.mark.parametrize("locale", LOCALES)
def test_settings_are_followed_by_the_create_form_and_the_list(logged_in_page, locale):
    text = STRINGS[locale]
    page = logged_in_page(locale)

    page.goto("/customers/")
    page.locator('#main-navbar a[href="/customers/settings/"]').click()
    page.locator("#settings-form input[name=required_fields][value=birthday]").check()
    page.locator("#settings-form input[name=delete_mode][value=anonymise]").check()
    page.locator("#settings-save").click()
    expect(page.locator(".messages")).to_contain_text(text["settings_saved"])
    row = CustomerSettings.objects.get()
    assert (row.required_fields, row.delete_mode) == (["birthday"], "anonymise")

    page.locator("#id_new-title-name_fr").fill("Dr")
    page.locator("#id_new-title-name_en").fill("Dr")
    page.locator("#id_new-title-gender").select_option("neutral")
    page.locator("#title-add").click()
    expect(page.locator(".messages")).to_contain_text(text["title_added"])
    title = Title.objects.get(name_fr="Dr")
    expect(page.locator(f"tr[data-title='{title.pk}']")).to_be_visible()

    # The list offers the chosen delete mode first; the create form asks for the birthday.
    page.goto("/customers/")
    expect(page.locator("#bulk-form select[name=delete_mode]")).to_have_value("anonymise")
    page.goto("/customers/new/")
    page.locator("#id_title").select_option(str(title.pk))
    page.locator("#id_first_name").fill("Hélène")
    page.locator("#id_last_name").fill("Dupont")
    page.locator("#id_email").fill("helene@example.com")
    page.locator("#customer-save").click()
    expect(page.locator("#id_birthday_error")).to_have_text(text["required_birthday"])
    assert not Customer.objects.exists()
    page.locator("#id_birthday").fill("1985-04-12")
    page.locator("#customer-save").click()
    expect(page.locator(".messages")).to_contain_text(text["created"])
    assert Customer.objects.get().title == title
