"""The lifecycle confirmation screens through the test client: each GET explains and changes
nothing, each POST does the action once and goes back to the customer's page, bad input and
refusals come back on the same screen with nothing changed; the outbox page."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comptoir.core.actors import Actor
from comptoir.core.models import Event, OutboxMessage
from comptoir.customers.models import Customer, DeleteMode
from comptoir.customers.services import customer_block, customer_delete
from comptoir.orders.models import Order
from comptoir.orders.services import LineInput, order_record

pytestmark = pytest.mark.django_db


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def refreshed(customer):
    return Customer.objects.get(pk=customer.pk)


def detail(customer) -> str:
    return f"/customers/{customer.pk}/"


def buy(customer, amount="10.00"):
    return order_record(
        actor=Actor.system(),
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        customer=customer,
        lines=[LineInput(product_name="Thé", quantity=1, unit_price=Decimal(amount))],
    )


def test_the_urls_have_the_names_the_detail_page_links_to():
    assert reverse("customers:delete", args=[7]) == "/customers/7/delete/"
    assert reverse("customers:block", args=[7]) == "/customers/7/block/"
    assert reverse("customers:unblock", args=[7]) == "/customers/7/unblock/"
    assert reverse("customers:login", args=[7]) == "/customers/7/login/"
    assert reverse("customers:convert_guest", args=[7]) == "/customers/7/convert/"
    assert reverse("customers:merge", args=[7]) == "/customers/7/merge/"
    assert reverse("customers:export_personal_data", args=[7]) == "/customers/7/personal-data/"
    assert reverse("core:outbox") == "/outbox/"


def test_an_unknown_customer_is_a_404_on_every_screen(staff_client):
    for name in ("delete", "block", "unblock", "login", "convert_guest", "merge"):
        assert staff_client.get(reverse(f"customers:{name}", args=[999])).status_code == 404


# --- delete ----------------------------------------------------------------------------------


def test_delete_page_offers_the_three_modes_with_the_default_checked(
    staff_client, make_customer, settings
):
    settings.COMPTOIR_DELETE_MODE = DeleteMode.ANONYMISE
    customer = make_customer()
    buy(customer)
    response = english(staff_client).get(f"/customers/{customer.pk}/delete/")
    html = response.content.decode()
    assert response.status_code == 200
    for mode in ("allow", "deny", "anonymise"):
        assert f'value="{mode}"' in html and f'id="mode-help-{mode}"' in html
    assert re.search(r'value="anonymise"[^>]* checked>', html)
    assert not re.search(r'value="deny"[^>]* checked>', html)
    assert "its 1 order stays" in html
    assert refreshed(customer).deleted_at is None


@pytest.mark.parametrize("mode", [DeleteMode.DENY_REREGISTRATION, DeleteMode.ANONYMISE])
def test_delete_keeps_the_row_and_goes_back_to_it(staff_client, make_customer, mode):
    customer = make_customer()
    response = staff_client.post(f"/customers/{customer.pk}/delete/", {"mode": mode})
    assert response.status_code == 302 and response["Location"] == detail(customer)
    row = refreshed(customer)
    assert (row.deleted_at is not None) == (mode == DeleteMode.DENY_REREGISTRATION)
    assert (row.anonymised_at is not None) == (mode == DeleteMode.ANONYMISE)


def test_delete_allowing_re_registration_goes_back_to_the_list(staff_client, make_customer):
    customer = make_customer()
    order = buy(customer)
    response = staff_client.post(f"/customers/{customer.pk}/delete/", {"mode": "allow"})
    assert response["Location"] == "/customers/"
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert Order.objects.get(pk=order.pk).customer_email == customer.email
    assert Event.objects.get(customer_id=customer.pk, kind="customer_deleted").data == {
        "mode": "allow"
    }


def test_delete_with_a_bad_mode_shows_the_error_and_changes_nothing(staff_client, make_customer):
    customer = make_customer()
    response = english(staff_client).post(f"/customers/{customer.pk}/delete/", {"mode": "shred"})
    assert response.status_code == 200
    assert "Choose how to delete." in response.content.decode()
    assert refreshed(customer).deleted_at is None


def test_deleting_twice_says_nothing_changed(staff_client, make_customer, actor):
    customer = make_customer()
    customer_delete(customer=customer, mode=DeleteMode.DENY_REREGISTRATION, actor=actor)
    response = english(staff_client).post(f"/customers/{customer.pk}/delete/", {"mode": "deny"})
    assert texts(response) == ["Nothing changed: the customer already was in that state."]
    assert Event.objects.filter(customer_id=customer.pk, kind="customer_deleted").count() == 1


# --- block, unblock, login ----------------------------------------------------------------------


def test_block_needs_a_reason_next_to_the_field(staff_client, make_customer):
    customer = make_customer()
    response = english(staff_client).post(f"/customers/{customer.pk}/block/", {"reason": "   "})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="form-control is-invalid"' in html and "Give a reason for blocking." in html
    assert refreshed(customer).is_blocked is False


def test_block_then_unblock(staff_client, make_customer, staff_user):
    customer = make_customer()
    assert staff_client.get(f"/customers/{customer.pk}/block/").status_code == 200
    response = staff_client.post(f"/customers/{customer.pk}/block/", {"reason": "Fraud"})
    assert response["Location"] == detail(customer)
    row = refreshed(customer)
    assert (row.is_blocked, row.blocked_reason, row.blocked_by_id) == (True, "Fraud", staff_user.pk)
    # Blocking again is explained, not done twice.
    page = english(staff_client).get(f"/customers/{customer.pk}/block/").content.decode()
    assert 'id="already-blocked"' in page and "Fraud" in page
    page = staff_client.get(f"/customers/{customer.pk}/unblock/").content.decode()
    assert 'id="blocked-reason">Fraud<' in page
    response = staff_client.post(f"/customers/{customer.pk}/unblock/")
    assert response["Location"] == detail(customer) and refreshed(customer).is_blocked is False
    event = Event.objects.get(customer_id=customer.pk, kind="customer_unblocked")
    assert event.data == {"reason": "Fraud"} and event.actor_id == staff_user.pk


def test_unblocking_a_customer_not_blocked_says_so(staff_client, make_customer):
    customer = make_customer()
    response = english(staff_client).post(f"/customers/{customer.pk}/unblock/")
    assert response.status_code == 200 and 'id="not-blocked"' in response.content.decode()
    assert not Event.objects.filter(kind="customer_unblocked").exists()


def test_login_disable_and_enable(staff_client, make_customer):
    customer = make_customer()
    page = staff_client.get(f"/customers/{customer.pk}/login/").content.decode()
    assert 'name="enabled" value="false"' in page
    response = staff_client.post(f"/customers/{customer.pk}/login/", {"enabled": "false"})
    assert response["Location"] == detail(customer) and refreshed(customer).is_enabled is False
    # Posting the same state again changes nothing (no toggle back).
    english(staff_client).post(f"/customers/{customer.pk}/login/", {"enabled": "false"})
    assert refreshed(customer).is_enabled is False
    assert Event.objects.filter(customer_id=customer.pk, kind="customer_disabled").count() == 1
    staff_client.post(f"/customers/{customer.pk}/login/", {"enabled": "true"})
    assert refreshed(customer).is_enabled is True


def test_login_with_a_bad_value_changes_nothing(staff_client, make_customer):
    customer = make_customer()
    response = english(staff_client).post(f"/customers/{customer.pk}/login/", {"enabled": "maybe"})
    assert response.status_code == 200 and refreshed(customer).is_enabled is True


def test_actions_on_an_anonymised_customer_are_refused(staff_client, make_customer, actor):
    customer = make_customer()
    customer_delete(customer=customer, mode=DeleteMode.ANONYMISE, actor=actor)
    for action, data in (("block", {"reason": "x"}), ("login", {"enabled": "true"})):
        response = english(staff_client).post(f"/customers/{customer.pk}/{action}/", data)
        assert response.status_code == 200
        assert 'id="action-closed"' in response.content.decode()
    row = refreshed(customer)
    assert (row.is_blocked, row.is_enabled) == (False, False)


# --- guest conversion --------------------------------------------------------------------------


def test_convert_a_guest_and_see_the_message_in_the_outbox(staff_client, make_customer):
    guest = make_customer(is_guest=True, email="guest@example.com")
    other = make_customer(is_guest=True, email="Guest@example.com")
    page = staff_client.get(f"/customers/{guest.pk}/convert/").content.decode()
    assert f'data-guest="{other.pk}"' in page

    response = english(staff_client).post(f"/customers/{guest.pk}/convert/")

    assert response["Location"] == detail(guest)
    assert refreshed(guest).is_guest is False
    assert not Customer.objects.filter(pk=other.pk).exists()
    message = OutboxMessage.objects.get()
    outbox = staff_client.get("/outbox/").content.decode()
    assert f'data-message="{message.pk}"' in outbox and "guest@example.com" in outbox


def test_convert_refused_when_a_registered_customer_has_the_email(staff_client, make_customer):
    guest = make_customer(is_guest=True, email="shared@example.com")
    registered = make_customer(email="shared@example.com")
    response = english(staff_client).post(f"/customers/{guest.pk}/convert/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "merge this guest into that customer instead" in html
    assert f'href="/customers/{registered.pk}/" id="existing-customer"' in html
    assert refreshed(guest).is_guest is True and not OutboxMessage.objects.exists()


# --- merge ---------------------------------------------------------------------------------------


@pytest.fixture
def twins(make_customer):
    survivor = make_customer(first_name="Anne", last_name="Roy", email="anne@example.com")
    duplicate = make_customer(
        first_name="Anne", last_name="Roy-Blanc", email="anne.rb@example.com", is_guest=True
    )
    buy(duplicate, "30.00")
    return refreshed(survivor), refreshed(duplicate)


def test_merge_search_lists_the_likely_duplicates(staff_client, twins, make_customer):
    survivor, duplicate = twins
    make_customer(first_name="Zoé", last_name="Autre")
    page = staff_client.get(f"/customers/{survivor.pk}/merge/").content.decode()
    assert f'data-candidate="{duplicate.pk}"' in page
    assert page.count("data-candidate=") == 1
    page = staff_client.get(f"/customers/{survivor.pk}/merge/?q=anne.rb").content.decode()
    assert f'href="?duplicate={duplicate.pk}"' in page


def test_merge_preview_then_confirm(staff_client, twins):
    survivor, duplicate = twins
    page = staff_client.get(f"/customers/{survivor.pk}/merge/?duplicate={duplicate.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-field="last_name" class="table-warning"' in html
    assert "Roy-Blanc" in html and 'name="duplicate_version"' in html
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data["last_name"] = "duplicate"

    response = staff_client.post(f"/customers/{survivor.pk}/merge/", data)

    assert response.status_code == 302 and response["Location"] == detail(survivor)
    merged = refreshed(survivor)
    assert (merged.last_name, merged.orders_count, merged.total_spent) == (
        "Roy-Blanc",
        1,
        Decimal("30.00"),
    )
    assert not Customer.objects.filter(pk=duplicate.pk).exists()


def test_merge_refused_when_the_duplicate_changed_since_the_preview(staff_client, twins, actor):
    survivor, duplicate = twins
    page = staff_client.get(f"/customers/{survivor.pk}/merge/?duplicate={duplicate.pk}")
    form = page.context["form"]
    data = {name: form[name].value() for name in form.fields}
    customer_block(customer=duplicate, reason="meanwhile", actor=actor)  # bumps its version

    response = english(staff_client).post(f"/customers/{survivor.pk}/merge/", data)

    assert response.status_code == 200
    assert "changed since the preview was shown" in response.content.decode()
    assert Customer.objects.filter(pk=duplicate.pk).exists()
    assert refreshed(survivor).orders_count == 0


def test_merge_with_itself_or_a_missing_customer(staff_client, twins):
    survivor, _duplicate = twins
    page = english(staff_client).get(f"/customers/{survivor.pk}/merge/?duplicate={survivor.pk}")
    html = page.content.decode()
    assert 'id="merge-refusals"' in html and "cannot be merged into itself" in html
    assert 'id="merge-form"' not in html
    response = english(staff_client).get(f"/customers/{survivor.pk}/merge/?duplicate=9999")
    assert response["Location"] == f"/customers/{survivor.pk}/merge/"
    assert texts(response) == ["There is no customer #9999."]


# --- personal data ------------------------------------------------------------------------------


def test_personal_data_get_explains_and_post_downloads_and_records(staff_client, make_customer):
    customer = make_customer(first_name="Éloïse")
    assert staff_client.get(f"/customers/{customer.pk}/personal-data/").status_code == 200
    assert not Event.objects.filter(kind="personal_data_exported").exists()

    response = staff_client.post(f"/customers/{customer.pk}/personal-data/")

    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="personal-data-customer-{customer.pk}-'
    )
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert "Éloïse" in archive.read("json/profile.json").decode()
    assert Event.objects.filter(customer_id=customer.pk, kind="personal_data_exported").count() == 1


# --- outbox --------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 60])
def test_outbox_runs_a_fixed_number_of_queries_and_is_paginated(staff_client, make_customer, count):
    customer = make_customer()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            kind="t",
            to=f"n{n}@example.com",
            subject="S",
            body="B",
            language="fr",
            customer=customer,
        )
        for n in range(count)
    )
    staff_client.get("/outbox/")  # session and user caches warm
    with CaptureQueriesContext(connection) as captured:
        response = staff_client.get("/outbox/")
    html = response.content.decode()
    assert html.count("data-message=") == min(count, 50)
    # Session, user, count, page (customers joined), the navbar's demo-customer check.
    assert len(captured) == 5
    if count > 50:
        page_two = staff_client.get("/outbox/?page=2").content.decode()
        assert page_two.count("data-message=") == count - 50
        # Beyond the last page: the last page, not an error.
        assert staff_client.get("/outbox/?page=99").content.decode().count("data-message=") == 10


def test_outbox_is_linked_from_the_navbar_in_both_languages(staff_client):
    for language, label in (("en", "Outbox"), ("fr", None)):
        staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        html = staff_client.get("/").content.decode()
        assert 'href="/outbox/"' in html
        if label:
            assert label in html


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_screen_renders_in_both_languages(staff_client, make_customer, language):
    guest = make_customer(is_guest=True, email="g@example.com")
    customer = make_customer()
    buy(customer)
    customer_block(customer=customer, reason="Fraude", actor=Actor.system())
    OutboxMessage.objects.create(kind="t", to="g@example.com", subject="S", body="B", language="fr")
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for url in (
        f"/customers/{customer.pk}/delete/",
        f"/customers/{customer.pk}/block/",
        f"/customers/{customer.pk}/unblock/",
        f"/customers/{customer.pk}/login/",
        f"/customers/{guest.pk}/convert/",
        f"/customers/{customer.pk}/convert/",
        f"/customers/{customer.pk}/merge/",
        f"/customers/{customer.pk}/merge/?q=g%40example",
        f"/customers/{customer.pk}/merge/?duplicate={guest.pk}",
        f"/customers/{customer.pk}/personal-data/",
        "/outbox/",
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert f'<html lang="{language}">' in response.content.decode(), url
