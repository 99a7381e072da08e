"""The back-office shell: layout, navigation, demo-customer warning, home figures, error pages."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.template import Context, Template, loader
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.views import defaults

from comptoir.core.context_processors import backoffice
from comptoir.core.templatetags.backoffice import SECTIONS, money
from comptoir.customers.models import Customer
from comptoir.orders.models import OrderStatus
from comptoir.orders.services import LineInput, order_record

pytestmark = pytest.mark.django_db

HOME = "/"


def stat(content: str, name: str) -> str:
    """The text of one summary card's figure (``<p ... id="stat-NAME" ...>VALUE</p>``)."""
    match = re.search(rf'id="stat-{name}"[^>]*>([^<]*)<', content)
    assert match, f"no stat-{name} card in the page"
    return match.group(1)


# --- layout -----------------------------------------------------------------------------------


def test_home_layout_for_staff(staff_client):
    response = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "vendor/bootstrap/bootstrap.min.css" in html
    assert "vendor/bootstrap-icons/bootstrap-icons.min.css" in html
    assert "vendor/htmx/htmx.min.js" in html
    # htmx sends the session's CSRF token with every request.
    token = response.context["csrf_token"]
    assert f"""hx-headers='{{"X-CSRFToken": "{token}"}}'""" in html
    assert 'class="navbar-brand' in html and "Comptoir" in html
    # The signed-in staff member, and a logout that POSTs (Django 5 refuses GET).
    assert re.search(r'id="signed-in-user".*?Marie Curie', html, re.S)
    assert re.search(
        r'<form method="post" action="/staff/logout/" id="logout-form">\s*'
        r'<input type="hidden" name="csrfmiddlewaretoken"',
        html,
    )
    assert 'href="#main"' in html and 'id="main"' in html


def test_navigation_links_only_to_existing_pages(staff_client):
    html = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    nav = html[html.index('id="main-navbar"') : html.index("</nav>")]
    seen_disabled = 0
    for section in SECTIONS:
        label = str(section.label)
        url = None
        for name in section.url_names:
            try:
                url = reverse(name)
                break
            except NoReverseMatch:
                continue
        if url:
            assert re.search(rf'<a class="nav-link[^"]*" href="{re.escape(url)}"', nav), label
        else:
            seen_disabled += 1
            assert re.search(
                rf'<span class="nav-link disabled" aria-disabled="true"[^>]*>\s*'
                rf'<i class="bi bi-{section.icon} me-1" aria-hidden="true"></i>{label}',
                nav,
            ), label
    # Home is the current page, and said so to screen readers.
    assert re.search(r'class="nav-link active" href="/" aria-current="page"', nav)
    # Every anchor in the navigation points at a URL that resolves (no dead links).
    for href in re.findall(r'<a class="nav-link[^"]*" href="([^"]+)"', nav):
        assert staff_client.get(href).status_code == 200, href
    assert len(re.findall(r'class="nav-link', nav)) == len(SECTIONS)
    assert seen_disabled == len(re.findall(r'aria-disabled="true"', nav))


def test_language_switch_posts_to_set_language_with_current_path(staff_client):
    html = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    form = html[html.index('id="language-switch"') :]
    form = form[: form.index("</form>")]
    assert 'action="/i18n/setlang/" method="post"' in html
    assert '<input type="hidden" name="next" value="/">' in form
    assert re.search(r'name="language" value="fr" lang="fr"\s+class="btn btn-outline-light"', form)
    assert re.search(r'name="language" value="en" lang="en"\s+class="btn btn-light active"', form)
    assert 'aria-pressed="true"' in form and "Français" in form

    response = staff_client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert response.cookies["django_language"].value == "fr"
    # The cookie now wins over the browser's Accept-Language.
    html = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fr">' in html
    assert "Se déconnecter" in html


def test_set_language_refuses_an_offsite_next(staff_client):
    response = staff_client.post(
        "/i18n/setlang/", {"language": "en", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


# --- demo customer warning ---------------------------------------------------------------------


DEMO_WARNING_EN = "The demo customer John Doe still exists."


def test_demo_warning_shown_while_the_demo_customer_exists(staff_client, make_customer):
    make_customer(first_name="John", last_name="Doe", is_demo=True)
    html = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="demo-customer-warning"' in html
    assert DEMO_WARNING_EN in html
    assert "malicious users could use it to place fake orders" in html

    html = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Le client de démonstration John Doe existe encore." in html
    assert "commandes frauduleuses" in html


def test_demo_warning_absent_without_the_demo_customer(staff_client, make_customer):
    make_customer()  # an ordinary customer
    html = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="demo-customer-warning"' not in html
    assert DEMO_WARNING_EN not in html
    assert Customer.objects.filter(is_demo=True).count() == 0


def test_demo_warning_goes_once_the_demo_customer_is_deleted(staff_client, make_customer):
    demo = make_customer(is_demo=True)
    assert 'id="demo-customer-warning"' in staff_client.get(HOME).content.decode()
    Customer.objects.filter(pk=demo.pk).delete()
    assert 'id="demo-customer-warning"' not in staff_client.get(HOME).content.decode()


def test_demo_check_is_lazy(rf, staff_user, django_assert_num_queries):
    request = rf.get(HOME)
    request.user = staff_user
    with django_assert_num_queries(0):
        context = backoffice(request)
    # A callable: the template runs its one query only where the banner is drawn.
    assert callable(context["demo_customer_exists"])
    with django_assert_num_queries(1):
        assert context["demo_customer_exists"]() is False


def test_login_page_runs_no_query(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/staff/login/").status_code == 200


def test_home_query_count_is_fixed(staff_client, make_customer, django_assert_num_queries):
    for _ in range(3):
        make_customer()
    # Session, user, the data version, the summary aggregate, the demo check: nothing per
    # customer. A second view with nothing changed takes the summary from the cache.
    with django_assert_num_queries(5):
        assert staff_client.get(HOME).status_code == 200
    with django_assert_num_queries(4):
        assert staff_client.get(HOME).status_code == 200


# --- home figures ------------------------------------------------------------------------------


@pytest.fixture
def shop(make_customer, actor):
    """Three live customers: one subscribed big spender, one from last month, one guest whose
    only order was cancelled (invalid orders are not sales)."""
    spender = make_customer(consents={"newsletter": True})
    order_record(
        actor=actor,
        email=spender.email,
        first_name=spender.first_name,
        last_name=spender.last_name,
        customer=spender,
        lines=[
            LineInput(product_name="Espresso machine", quantity=3, unit_price=Decimal("1234.56"))
        ],
    )
    old = make_customer()
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    Customer.objects.filter(pk=old.pk).update(created_at=month_start - datetime.timedelta(days=1))
    order_record(
        actor=actor,
        email="guest@example.com",
        first_name="Gaston",
        last_name="Lagaffe",
        status=OrderStatus.CANCELLED,
        lines=[LineInput(product_name="Mug", quantity=1, unit_price=Decimal("999.00"))],
    )
    return spender


def test_home_cards_show_the_shop_figures_in_english(staff_client, shop):
    response = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="en")
    summary = response.context["summary"]
    assert (summary.customers, summary.new_this_month, summary.newsletter_subscribers) == (3, 2, 1)
    assert summary.average_lifetime_value == Decimal("1234.56")
    html = response.content.decode()
    assert stat(html, "customers") == "3"
    assert stat(html, "new-this-month") == "2"
    assert stat(html, "newsletter-subscribers") == "1"
    assert stat(html, "average-lifetime-value") == "€1,234.56"
    assert "33% of customers" in html
    assert "Average lifetime value" in html and "New this month" in html
    assert 'id="no-customers"' not in html


def test_home_cards_show_the_shop_figures_in_french(staff_client, shop):
    html = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert stat(html, "customers") == "3"
    assert stat(html, "average-lifetime-value") == "1\xa0234,56\xa0€"
    assert "33\xa0% des clients" in html
    for label in ("Clients", "Nouveaux ce mois-ci", "Abonnés à la newsletter"):
        assert label in html
    assert "Valeur vie client moyenne" in html


def test_home_without_customers_says_so(staff_client):
    html = staff_client.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert stat(html, "customers") == "0"
    assert stat(html, "average-lifetime-value") == "€0.00"
    assert "0% of customers" in html
    assert 'id="no-customers"' in html and "No customers yet" in html


# --- money filter ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "value", "expected"),
    [
        ("fr", Decimal("1234.56"), "1\xa0234,56\xa0€"),
        ("en", Decimal("1234.56"), "€1,234.56"),
        ("fr", Decimal("1234567.8"), "1\xa0234\xa0567,80\xa0€"),
        ("en", 0, "€0.00"),
        ("en", Decimal("-12.5"), "-€12.50"),
        ("fr", Decimal("-12.5"), "-12,50\xa0€"),
        ("en", Decimal("0.005"), "€0.01"),
        ("fr", "12.345", "12,35\xa0€"),
        ("en", Decimal("1234567.891"), "€1,234,567.89"),
        ("en", None, ""),
        ("en", "not a number", ""),
    ],
)
def test_money_follows_the_language(language, value, expected):
    with translation.override(language):
        assert money(value) == expected


def test_money_in_templates_with_another_currency():
    template = Template("{% load backoffice %}{{ amount|money }} / {{ amount|money:'USD' }}")
    with translation.override("en"):
        assert template.render(Context({"amount": Decimal("5")})) == "€5.00 / $5.00"


# --- error pages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Page not found"), ("fr", "Page introuvable")]
)
def test_404_page_for_staff(staff_client, language, heading):
    response = staff_client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert heading in html
    assert "/no/such/page/" not in html  # nothing of the request is echoed back
    assert "Traceback" not in html and "urlpatterns" not in html


def test_404_page_for_anonymous_visitors_is_the_same_plain_page(client):
    response = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert "logout-form" not in html and "main-navbar" not in html


@pytest.mark.parametrize(("language", "heading"), [("en", "Access denied"), ("fr", "Accès refusé")])
def test_403_page(rf, staff_user, language, heading):
    request = rf.get("/somewhere/")
    request.user = staff_user
    with translation.override(language):
        response = defaults.permission_denied(request, PermissionDenied("secret detail"))
    assert response.status_code == 403
    html = response.content.decode()
    assert heading in html
    assert "secret detail" not in html


def test_csrf_failure_page_is_ours_and_translated():
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/staff/login/", {"username": "x", "password": "y"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "Ce formulaire a expiré" in html
    assert "CSRF" not in html


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "Server error"), ("fr", "Erreur du serveur")]
)
def test_500_page_needs_no_context(language, heading):
    with translation.override(language):
        html = loader.get_template("500.html").render()
        response = defaults.server_error(RequestFactory().get("/"))
    assert f'<html lang="{language}">' in html
    assert heading in html
    assert "{%" not in html and "stylesheet" not in html  # self-contained, no static files
    assert response.status_code == 500
    assert heading in response.content.decode()


def test_400_page(rf):
    with translation.override("en"):
        response = defaults.bad_request(rf.get("/"), Exception("detail"))
    assert response.status_code == 400
    assert "Bad request" in response.content.decode()
    assert "detail" not in response.content.decode()
