"""The back-office driven in a real (headless) chromium: login, home figures, language, logout."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from comptoir.orders.services import LineInput, order_record

# The database comes from the new_page fixture: transactional, with serialized rollback.
pytestmark = pytest.mark.browser


def test_login_home_language_switch_and_logout(new_page, staff_user, make_customer, actor):
    customer = make_customer(consents={"newsletter": True})
    make_customer()
    order_record(
        actor=actor,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        customer=customer,
        lines=[LineInput(product_name="Moulin à café", quantity=2, unit_price=Decimal("1234.56"))],
    )

    page = new_page("fr-FR")
    page.goto("/")
    # Anonymous: sent to the login page, in French.
    expect(page).to_have_url(re.compile(r"/staff/login/\?next=/$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Connexion à Comptoir")).to_be_visible()

    page.get_by_label("Nom d\u2019utilisateur").fill("marie")
    page.get_by_label("Mot de passe").fill("wrong password")
    page.get_by_role("button", name="Se connecter").click()
    expect(page.locator("#login-errors")).to_contain_text("mot de passe incorrect")

    page.get_by_label("Mot de passe").fill("correct horse battery staple")
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(re.compile(r"/$"))

    expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
    expect(page.locator("#stat-customers")).to_have_text("2")
    expect(page.locator("#stat-new-this-month")).to_have_text("2")
    expect(page.locator("#stat-newsletter-subscribers")).to_have_text("1")
    expect(page.locator("#stat-average-lifetime-value")).to_have_text("1\xa0234,56\xa0€")
    expect(page.get_by_role("heading", name="Valeur vie client moyenne")).to_be_visible()
    expect(page.locator("#signed-in-user")).to_contain_text("Marie Curie")
    # Sections not built yet are there but not links.
    expect(page.locator("#main-navbar .nav-link.active")).to_have_text("Accueil")

    # FR -> EN with the switch in the navbar; the page comes back in English.
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Newsletter subscribers")).to_be_visible()
    expect(page.locator("#stat-average-lifetime-value")).to_have_text("€1,234.56")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/staff/login/$"))
    expect(page.get_by_text("You have been logged out.")).to_be_visible()
    expect(page.get_by_role("heading", name="Log in to Comptoir")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/staff/login/\?next=/$"))


def test_english_browser_gets_english_and_can_switch_to_french(logged_in_page):
    page = logged_in_page("en-GB")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("#no-customers")).to_contain_text("No customers yet")
    expect(page.locator("#stat-average-lifetime-value")).to_have_text("€0.00")
    page.get_by_role("button", name="Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Nouveaux ce mois-ci")).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()


@pytest.mark.parametrize(
    ("locale", "warning"),
    [
        ("fr-FR", "Le client de démonstration John Doe existe encore."),
        ("en-GB", "The demo customer John Doe still exists."),
    ],
)
def test_demo_customer_warning(logged_in_page, make_customer, locale, warning):
    demo = make_customer(first_name="John", last_name="Doe", is_demo=True)
    page = logged_in_page(locale)
    banner = page.locator("#demo-customer-warning")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(warning)
    expect(banner).to_have_attribute("role", "alert")

    demo.delete()
    page.reload()
    expect(page.locator("#demo-customer-warning")).to_have_count(0)


def test_login_page_language_switch(new_page):
    page = new_page("fr-FR")
    page.goto("/staff/login/")
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(r"/staff/login/$"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")


def test_static_assets_load_and_nothing_leaves_the_machine(logged_in_page):
    page = logged_in_page("en-GB")
    failed, foreign = [], []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on(
        "request",
        lambda request: (
            foreign.append(request.url)
            if request.url.startswith("http")
            and "127.0.0.1" not in request.url
            and "localhost" not in request.url
            else None
        ),
    )
    page.reload()
    page.wait_for_load_state("networkidle")
    assert not failed and not foreign
    # Bootstrap's CSS is applied (the navbar is a flex container) and htmx is loaded.
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("document.body.getAttribute('hx-headers')").startswith('{"X-CSRFToken": ')
