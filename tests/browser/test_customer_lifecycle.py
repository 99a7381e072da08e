"""One customer's lifecycle driven in a real (headless) chromium, in French and in English:
block (a missing reason first), unblock, disable the login, merge a duplicate choosing a value,
convert a guest and read its message in the outbox, download the personal data, anonymise."""

import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from comptoir.core.actors import Actor
from comptoir.core.models import Event, OutboxMessage
from comptoir.customers.models import Customer
from comptoir.orders.services import LineInput, order_record

# The database comes from the new_page fixture: transactional, with serialized rollback.
pytestmark = pytest.mark.browser

STRINGS = {
    "fr-FR": {
        "lang": "fr",
        "cancel": "Annuler",
        "reason_required": "Indiquez la raison du blocage.",
    },
    "en-GB": {"lang": "en", "cancel": "Cancel", "reason_required": "Give a reason for blocking."},
}
LOCALES = sorted(STRINGS)


def buy(customer, amount):
    order_record(
        actor=Actor.system(),
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        customer=customer,
        lines=[LineInput(product_name="Thé vert", quantity=1, unit_price=Decimal(amount))],
    )


def fresh(customer):
    return Customer.objects.get(pk=customer.pk)


@pytest.mark.parametrize("locale", LOCALES)
def test_block_unblock_login_merge_and_anonymise(logged_in_page, make_customer, staff_user, locale):
    text = STRINGS[locale]
    helene = make_customer(first_name="Hélène", last_name="Dupont", email="helene@example.com")
    buy(helene, "40.00")
    duplicate = make_customer(
        first_name="Hélène", last_name="Dupont-Roy", email="h.roy@example.org", is_guest=True
    )
    buy(duplicate, "25.00")
    page = logged_in_page(locale)
    detail = re.compile(rf"/customers/{helene.pk}/$")

    # Block: without a reason the form says so next to the field, and nothing happens.
    page.goto(f"/customers/{helene.pk}/block/")
    expect(page.locator("html")).to_have_attribute("lang", text["lang"])
    expect(page.locator("#block-form")).to_contain_text(text["cancel"])
    page.locator("#block-confirm").click()
    expect(page.locator("#block-form .invalid-feedback")).to_have_text(text["reason_required"])
    assert fresh(helene).is_blocked is False
    page.locator("#id_reason").fill("Chargeback")
    page.locator("#block-confirm").click()
    expect(page).to_have_url(detail)
    assert (fresh(helene).is_blocked, fresh(helene).blocked_reason) == (True, "Chargeback")

    # Unblock shows the reason first.
    page.goto(f"/customers/{helene.pk}/unblock/")
    expect(page.locator("#blocked-reason")).to_have_text("Chargeback")
    page.locator("#unblock-confirm").click()
    expect(page).to_have_url(detail)
    assert fresh(helene).is_blocked is False

    # Disable the login.
    page.goto(f"/customers/{helene.pk}/login/")
    page.locator("#login-confirm").click()
    expect(page).to_have_url(detail)
    assert fresh(helene).is_enabled is False

    # Merge: find the duplicate, preview, keep its last name.
    page.goto(f"/customers/{helene.pk}/merge/")
    page.locator("#id_q").fill("h.roy@example")
    page.locator("#id_q").press("Enter")
    page.locator(f"#preview-{duplicate.pk}").click()
    expect(page.locator("#merge-preview tr[data-field=last_name]")).to_contain_text("Dupont-Roy")
    page.locator("#merge-preview tr[data-field=last_name] input[value=duplicate]").check()
    page.locator("#merge-confirm").click()
    expect(page).to_have_url(detail)
    merged = fresh(helene)
    assert (merged.last_name, merged.orders_count, merged.total_spent) == (
        "Dupont-Roy",
        2,
        Decimal("65.00"),
    )
    assert not Customer.objects.filter(pk=duplicate.pk).exists()

    # Anonymise, from the delete screen's three modes.
    page.goto(f"/customers/{helene.pk}/delete/")
    expect(page.locator("input[name=mode]")).to_have_count(3)
    page.locator("input[name=mode][value=anonymise]").check()
    page.locator("#delete-confirm").click()
    expect(page).to_have_url(detail)
    gone = fresh(helene)
    assert (gone.first_name, gone.email, gone.orders_count) == ("Anonymous", "", 2)
    assert gone.anonymised_at is not None
    event = Event.objects.get(customer_id=helene.pk, kind="customer_anonymised")
    assert event.actor_id == staff_user.pk


@pytest.mark.parametrize("locale", LOCALES)
def test_convert_a_guest_read_the_outbox_and_download_the_personal_data(
    logged_in_page, make_customer, locale
):
    text = STRINGS[locale]
    guest = make_customer(
        first_name="Luc", last_name="Petit", email="luc@example.com", is_guest=True, language="en"
    )
    other = make_customer(
        first_name="Luc", last_name="Petit", email="LUC@example.com", is_guest=True
    )
    buy(other, "12.00")
    page = logged_in_page(locale)

    page.goto(f"/customers/{guest.pk}/convert/")
    expect(page.locator(f"#guests-to-merge li[data-guest='{other.pk}']")).to_be_visible()
    page.locator("#convert-confirm").click()
    expect(page).to_have_url(re.compile(rf"/customers/{guest.pk}/$"))
    assert fresh(guest).is_guest is False and fresh(guest).orders_count == 1

    page.locator('#main-navbar a[href="/outbox/"]').click()
    expect(page).to_have_url(re.compile(r"/outbox/$"))
    expect(page.locator("html")).to_have_attribute("lang", text["lang"])
    message = OutboxMessage.objects.get()
    row = page.locator(f"#outbox-table tr[data-message='{message.pk}']")
    expect(row).to_contain_text("luc@example.com")
    row.locator("summary").click()
    expect(row.locator(".outbox-body")).to_contain_text("token=")

    page.goto(f"/customers/{guest.pk}/personal-data/")
    with page.expect_download() as download_info:
        page.locator("#personal-data-download").click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"personal-data-customer-{guest.pk}-")
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as archive:
        assert "luc@example.com" in archive.read("json/profile.json").decode()
        assert "csv/orders.csv" in archive.namelist()
    assert Event.objects.filter(customer_id=guest.pk, kind="personal_data_exported").count() == 1
