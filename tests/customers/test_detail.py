"""The customer page through the test client: header and badges, key figures and the rank by
sales, each block (with its own pages and its htmx reload), the private note edited in place,
the links to actions, and a fixed number of queries whatever the customer's history."""

import datetime
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import NoReverseMatch
from django.utils import timezone

from comptoir.core.actors import Actor
from comptoir.core.models import Event
from comptoir.customers.models import Customer, OptInLevel
from comptoir.customers.services import (
    address_create,
    customer_block,
    customer_consent_set,
    customer_note_set,
)
from comptoir.orders.models import Cart, CartStatus, Voucher
from comptoir.orders.services import LineInput, order_record, order_status_set, visit_record
from comptoir.support.models import Message, Thread

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def french(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    return client


def page_url(customer, query: str = "") -> str:
    return f"/customers/{customer.pk}/" + (f"?{query}" if query else "")


def block_url(customer, block: str, query: str = "") -> str:
    return f"/customers/{customer.pk}/blocks/{block}/" + (f"?{query}" if query else "")


def section(html: str, block: str) -> str:
    """The HTML of one block of the page."""
    match = re.search(rf'<section[^>]*id="block-{block}".*?</section>', html, re.S)
    assert match, f"no block {block}"
    return match.group(0)


def ids_in(html: str, attribute: str) -> list[int]:
    return [int(value) for value in re.findall(rf'data-{attribute}="(\d+)"', html)]


def place(customer, *, status="paid", lines=None, at=None):
    return order_record(
        actor=Actor.storefront("198.51.100.7"),
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
        customer=customer,
        status=status,
        created_at=at,
        lines=lines or [LineInput("Mug « Bonjour »", 2, Decimal("12.50"), "MUG")],
    )


@pytest.fixture
def helene(make_customer, vip_group, actor):
    """A customer with a bit of everything: groups, tags, consents, addresses, orders valid and
    invalid, carts, visits, vouchers, a support thread, a note."""
    customer = make_customer(
        first_name="Hélène",
        last_name="Dupont",
        email="helene@example.com",
        groups=[vip_group],
        tags=["Fidèle", "Salon Lyon"],
        consents={"newsletter": True},
        opt_in_level=OptInLevel.CONFIRMED,
        phone="01 99 00 12 34",
        phone_region="FR",
        company="Dupont & Fils",
    )
    address_create(
        customer=customer,
        actor=actor,
        first_name="Hélène",
        last_name="Dupont",
        address1="16 rue du Sentier",
        postcode="75002",
        city="Paris",
        country="FR",
    )
    base = timezone.now() - datetime.timedelta(days=30)
    tshirt = LineInput("T-shirt colibri", 1, Decimal("24.90"), "TSH")
    mug = LineInput("Mug « Bonjour »", 2, Decimal("12.50"), "MUG")
    place(customer, lines=[tshirt, mug], at=base)
    place(customer, lines=[mug], at=base + datetime.timedelta(days=1))
    place(customer, status="cancelled", lines=[tshirt], at=base + datetime.timedelta(days=2))
    cart = Cart.objects.create(customer=customer, items_count=1, total=Decimal("24.90"))
    place(customer, lines=[tshirt], at=base + datetime.timedelta(days=3))
    Cart.objects.filter(pk=cart.pk).update(
        status=CartStatus.CONVERTED, order=customer.orders.order_by("-created_at").first()
    )
    Cart.objects.create(customer=customer, status=CartStatus.ABANDONED, items_count=2)
    visit_record(customer=customer, ip_address="192.0.2.44", referrer="https://duckduckgo.com/")
    Voucher.objects.create(customer=customer, code="MERCI10", name="Merci", percent=10)
    thread = Thread.objects.create(customer=customer, subject="Colis abîmé")
    Message.objects.create(thread=thread, body="Le mug est arrivé cassé.")
    Message.objects.create(thread=thread, body="Nous vous en renvoyons un.", from_customer=False)
    for draft in ("Appeler", "Appeler le matin", "Rappeler"):  # a timeline of two pages
        customer_note_set(customer=customer, note=draft, actor=actor)
    customer_note_set(customer=customer, note="Préfère le point relais.", actor=actor)
    return Customer.objects.get(pk=customer.pk)


def test_anonymous_visitors_are_sent_to_login(client, helene):
    for url in (page_url(helene), block_url(helene, "orders"), f"/customers/{helene.pk}/note/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/staff/login/")


def test_the_page_shows_the_customer_and_every_block(staff_client, helene, vip_group):
    response = english(staff_client).get(page_url(helene))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="customer-name">.*Hélène Dupont', html, re.S)
    assert 'id="customer-badges"' in html and "data-badge=" not in html  # nothing to flag
    personal = section(html, "personal")
    assert "helene@example.com" in personal and "+33199001234" in personal
    assert "Dupont &amp; Fils" in personal
    groups = section(html, "groups")
    assert ids_in(groups, "group") == [helene.default_group_id, vip_group.pk]
    assert groups.count('data-role="default-group"') == 1
    assert re.findall(r'data-tag="([^"]+)"', section(html, "tags")) == ["Fidèle", "Salon Lyon"]
    assert "16 rue du Sentier" in section(html, "addresses")
    assert "Préfère le point relais." in section(html, "note")
    assert "MERCI10" in section(html, "vouchers") and "10 %" in section(html, "vouchers")
    messages = section(html, "messages")
    assert "Colis abîmé" in messages and "2 messages" in messages
    assert "Nous vous en renvoyons un." in messages  # the latest message's beginning
    visits = section(html, "visits")
    assert "192.0.2.44" in visits and "https://duckduckgo.com/" in visits


def test_key_figures_come_from_the_stored_figures(staff_client, helene):
    helene.refresh_from_db()
    assert (helene.orders_count, helene.total_spent) == (3, Decimal("99.80"))
    html = english(staff_client).get(page_url(helene)).content.decode()
    assert re.search(r'id="figure-lifetime-value">€99\.80<', html)
    assert re.search(r'id="figure-orders">3<', html)
    assert re.search(r'id="figure-average-order">€33\.27<', html)
    assert re.search(r'id="figure-sales-rank">\s*No\. 1\s*<', html)
    assert 'id="figure-first-order"' in html and 'id="figure-last-visit"' in html
    french_html = french(staff_client).get(page_url(helene)).content.decode()
    assert re.search(r'id="figure-lifetime-value">99,80\xa0€<', french_html)


def test_orders_are_split_valid_and_invalid_with_their_totals(staff_client, helene):
    html = english(staff_client).get(page_url(helene)).content.decode()
    valid, invalid = section(html, "orders"), section(html, "invalid_orders")
    assert len(ids_in(valid, "order")) == 3 and len(ids_in(invalid, "order")) == 1
    assert "3 orders, €99.80 in total" in valid
    assert "1 order, €24.90 in total" in invalid and "Cancelled" in invalid
    newest_first = list(
        helene.orders.filter(is_valid=True).order_by("-created_at").values_list("pk", flat=True)
    )
    assert ids_in(valid, "order") == newest_first


def test_purchased_products_are_summed_over_valid_orders(staff_client, helene):
    products = section(english(staff_client).get(page_url(helene)).content.decode(), "products")
    rows = re.findall(
        r'<tr data-product="(\w+)"><td>([^<]+)</td>.*?<td class="text-end">(\d+)</td>'
        r'<td class="text-end text-nowrap">([^<]+)</td>',
        products,
    )
    # The cancelled order's T-shirt is not counted.
    assert rows == [
        ("MUG", "Mug « Bonjour »", "4", "€50.00"),
        ("TSH", "T-shirt colibri", "2", "€49.80"),
    ]


def test_products_follow_a_change_of_the_valid_orders(staff_client, helene, actor):
    english(staff_client).get(page_url(helene))  # the products are now cached
    cancelled = helene.orders.get(is_valid=False)
    order_status_set(order=cancelled, status="paid", actor=actor)
    products = section(staff_client.get(page_url(helene)).content.decode(), "products")
    assert re.search(r'data-product="TSH">.*?<td class="text-end">3</td>', products)
    place(helene, lines=[LineInput("Savon d'Alep", 5, Decimal("6.90"), "SAVON")])
    products = section(staff_client.get(page_url(helene)).content.decode(), "products")
    assert re.search(r'data-product="SAVON">.*?<td class="text-end">5</td>', products)


def test_products_follow_two_orders_of_the_same_amount_swapping_sides(
    staff_client, make_customer, actor
):
    customer = make_customer()
    valid = place(customer, lines=[LineInput("Bougie", 1, Decimal("20"), "BOUGIE")])
    invalid = place(
        customer, status="cancelled", lines=[LineInput("Savon", 2, Decimal("10"), "SAVON")]
    )
    products = section(english(staff_client).get(page_url(customer)).content.decode(), "products")
    assert "BOUGIE" in products and "SAVON" not in products
    # Same counts and same sales afterwards: only which order is valid changed.
    order_status_set(order=valid, status="cancelled", actor=actor)
    order_status_set(order=invalid, status="paid", actor=actor)
    customer.refresh_from_db()
    assert (customer.orders_count, customer.total_spent) == (1, Decimal("20.00"))
    products = section(staff_client.get(page_url(customer)).content.decode(), "products")
    assert "SAVON" in products and "BOUGIE" not in products


def test_carts_show_abandoned_and_converted(staff_client, helene):
    carts = section(english(staff_client).get(page_url(helene)).content.decode(), "carts")
    assert "1 abandoned · 1 converted · 0 open" in carts
    assert re.findall(r'data-status="(\w+)"', carts) == ["abandoned", "converted"]
    converted = helene.carts.get(status=CartStatus.CONVERTED)
    assert converted.order.reference in carts


def test_consents_show_their_whole_history_with_who_and_how(
    staff_client, helene, actor, staff_user
):
    customer_consent_set(
        customer=helene,
        channel="partner_offers",
        granted=True,
        actor=Actor.storefront("198.51.100.20"),
        opt_in_level=OptInLevel.SINGLE,
    )
    customer_consent_set(customer=helene, channel="newsletter", granted=False, actor=actor)
    consents = section(english(staff_client).get(page_url(helene)).content.decode(), "consents")
    rows = re.findall(r"<tr data-consent=\"\d+\">(.*?)</tr>", consents)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row)[1:] for row in rows]
    assert cells == [
        ["Newsletter", "withdrawn", "Unknown", "Back-office", "Marie Curie", "192.0.2.10"],
        ["Partner offers", "given", "Single opt-in", "Storefront", "Storefront", "198.51.100.20"],
        ["Newsletter", "given", "Confirmed opt-in", "Back-office", "Marie Curie", "192.0.2.10"],
    ]
    current = re.search(r'id="consents-current".*?</ul>', consents, re.S).group(0)
    assert current.count("not given") == 2 and current.count(">given<") == 1


def test_the_timeline_shows_each_event_with_its_author(staff_client, helene):
    timeline = section(english(staff_client).get(page_url(helene)).content.decode(), "timeline")
    kinds = re.findall(r'data-kind="(\w+)"', timeline)
    assert kinds[0] == "note_changed" and "customer_created" not in kinds  # page 1 of 2
    assert "Private note changed" in timeline and "Order placed" in timeline
    assert "Marie Curie" in timeline and "Storefront" in timeline
    total = Event.objects.filter(customer_id=helene.pk).count()
    assert total > 10 and re.search(rf'data-role="count">{total}<', timeline)


def test_header_badges_say_the_state(staff_client, make_customer, actor):
    customer = make_customer(first_name="Paul", last_name="Guest", is_guest=True)
    Customer.objects.filter(pk=customer.pk).update(
        is_enabled=False, is_tax_exempt=True, tax_exemption_ref="EX-42", is_demo=True
    )
    customer_block(customer=customer, reason="Impayés répétés", actor=actor)
    html = english(staff_client).get(page_url(customer)).content.decode()
    assert re.findall(r'data-badge="([\w-]+)"', html) == [
        "guest",
        "disabled",
        "blocked",
        "tax-exempt",
        "demo",
    ]
    assert "EX-42" in html
    assert re.search(r'id="customer-blocked-reason">Impayés répétés<', html)
    assert "by Marie Curie" in html
    Customer.objects.filter(pk=customer.pk).update(deleted_at=timezone.now())
    html = staff_client.get(page_url(customer)).content.decode()
    assert 'data-badge="deleted"' in html
    Customer.objects.filter(pk=customer.pk).update(anonymised_at=timezone.now())
    html = staff_client.get(page_url(customer)).content.decode()
    assert 'data-badge="anonymised"' in html and 'data-badge="deleted"' not in html


def test_rank_by_sales_counts_who_sold_more(staff_client, make_customer):
    from comptoir.customers.selectors import customer_sales_rank

    sales = {"a": "500.00", "b": "250.00", "c": "250.00", "d": "100.00", "e": "0"}
    people = {}
    for name, amount in sales.items():
        people[name] = make_customer(last_name=name)
        Customer.objects.filter(pk=people[name].pk).update(total_spent=Decimal(amount))
        people[name].refresh_from_db()
    ranks = {name: customer_sales_rank(customer=people[name]) for name in sales}
    assert ranks == {"a": 1, "b": 2, "c": 2, "d": 4, "e": None}
    html = english(staff_client).get(page_url(people["e"])).content.decode()
    assert "No sales yet" in html


def test_the_rank_follows_new_orders(make_customer):
    from comptoir.customers.selectors import customer_sales_rank

    first, second = make_customer(), make_customer()
    place(first, lines=[LineInput("Lampe", 1, Decimal("60"))])
    place(second, lines=[LineInput("Mug", 1, Decimal("10"))])
    second.refresh_from_db()
    assert customer_sales_rank(customer=second) == 2  # now cached for this data version
    place(second, lines=[LineInput("Casque", 1, Decimal("80"))])
    second.refresh_from_db()
    assert customer_sales_rank(customer=second) == 1


def test_each_block_pages_on_its_own_and_links_keep_the_others(staff_client, helene):
    for number in range(12):
        visit_record(customer=helene, ip_address=f"192.0.2.{100 + number}")
    html = english(staff_client).get(page_url(helene, "timeline_page=2")).content.decode()
    timeline = section(html, "timeline")
    assert "customer_created" in re.findall(r'data-kind="(\w+)"', timeline)
    assert re.search(r'data-role="page-current">\s*Page 2 of 2', timeline)
    visits = section(html, "visits")
    assert re.search(r'data-role="page-current">\s*Page 1 of 3', visits)
    # The visits' "next" link keeps the timeline on its page 2.
    next_link = re.search(r'<a class="page-link" rel="next" href="([^"]+)"', visits).group(1)
    assert next_link == f"/customers/{helene.pk}/?timeline_page=2&amp;visits_page=2#block-visits"
    assert f'hx-get="/customers/{helene.pk}/blocks/visits/?visits_page=2"' in visits


def test_pages_past_the_middle_read_from_the_end_show_the_same_rows(helene, actor):
    from comptoir.customers.selectors import customer_detail_block

    for number in range(23):
        visit_record(customer=helene, ip_address="192.0.2.1")  # same second: id breaks ties
        place(helene, status="paid" if number % 2 else "refunded")
        customer_note_set(customer=helene, note=f"note {number}", actor=actor)
    expected = {
        "visits": list(helene.visits.order_by("-created_at", "-id").values_list("pk", flat=True)),
        "orders": list(
            helene.orders.filter(is_valid=True)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
        ),
        "timeline": list(
            Event.objects.filter(customer_id=helene.pk)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
        ),
    }
    for name, ids in expected.items():
        shown = []
        number = 1
        while True:
            page = customer_detail_block(pk=helene.pk, name=name, number=number).block.page
            shown += [row.pk for row in page.rows]
            if not page.has_next:
                break
            number += 1
        assert shown == ids, name
        assert number == page.pages >= 2


def test_a_page_past_the_end_or_garbage_shows_a_real_page(staff_client, helene):
    response = english(staff_client).get(page_url(helene, "timeline_page=99&orders_page=abc"))
    assert response.status_code == 200
    timeline = section(response.content.decode(), "timeline")
    assert re.search(r'data-role="page-current">\s*Page 2 of 2', timeline)
    assert staff_client.get(page_url(helene, "timeline_page=-4")).status_code == 200


def test_a_block_alone_for_htmx_with_the_address_of_the_page(staff_client, helene):
    current = (
        f"http://testserver/customers/{helene.pk}/?orders_page=1&visits_page=1&timeline_page=1"
    )
    response = english(staff_client).get(
        block_url(helene, "timeline", "timeline_page=2"),
        headers={**HTMX, "HX-Current-URL": current.replace("timeline_page=1", "carts_page=1")},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<section class="card') and "<html" not in html
    assert html.count("<section") == 1 and 'id="block-timeline"' in html
    assert "customer_created" in html
    assert response["HX-Push-Url"] == f"/customers/{helene.pk}/?timeline_page=2"
    # The other blocks' pages, from the page the user is on, stay in the address.
    for _visit in range(12):
        visit_record(customer=helene, ip_address="192.0.2.1")
    response = staff_client.get(
        block_url(helene, "timeline", "timeline_page=2"),
        headers={**HTMX, "HX-Current-URL": f"http://testserver{page_url(helene, 'visits_page=3')}"},
    )
    assert response["HX-Push-Url"] == f"/customers/{helene.pk}/?timeline_page=2&visits_page=3"
    first_page = f'href="/customers/{helene.pk}/?visits_page=3#block-timeline"'
    assert first_page in response.content.decode()


def test_a_block_url_opened_without_htmx_goes_to_the_whole_page(staff_client, helene):
    response = staff_client.get(block_url(helene, "timeline", "timeline_page=2"))
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{helene.pk}/?timeline_page=2#block-timeline"


def test_unknown_customer_or_block_is_a_404(staff_client, helene):
    assert staff_client.get("/customers/999999/").status_code == 404
    assert staff_client.get("/customers/999999/blocks/orders/", headers=HTMX).status_code == 404
    assert staff_client.get(block_url(helene, "password"), headers=HTMX).status_code == 404
    assert staff_client.post("/customers/999999/note/", {"note": "x"}).status_code == 404


def test_the_note_is_edited_in_place(staff_client, helene, staff_user):
    response = english(staff_client).get(block_url(helene, "note", "edit=1"), headers=HTMX)
    form = response.content.decode()
    assert 'id="note-form"' in form and "Préfère le point relais." in form
    assert f'hx-post="/customers/{helene.pk}/note/"' in form
    response = staff_client.post(
        f"/customers/{helene.pk}/note/", {"note": "  Livrer le mardi.  "}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<section") == 1 and 'id="note-text">Livrer le mardi.<' in html
    assert 'id="note-notice"' in html and "Note saved." in html
    helene.refresh_from_db()
    assert helene.note == "Livrer le mardi."
    event = Event.objects.filter(customer_id=helene.pk, kind="note_changed").latest("id")
    assert event.actor == staff_user and event.data == {
        "before": "Préfère le point relais.",
        "after": "Livrer le mardi.",
    }
    response = staff_client.get(block_url(helene, "note"), headers=HTMX)  # "cancel"
    assert 'id="note-form"' not in response.content.decode()


def test_a_note_too_long_is_refused_next_to_the_field(staff_client, helene):
    events = Event.objects.count()
    response = english(staff_client).post(
        f"/customers/{helene.pk}/note/", {"note": "x" * 10_001}, headers=HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'id="note-error"' in html
    assert "at most 10000 characters" in html
    helene.refresh_from_db()
    assert helene.note == "Préfère le point relais." and Event.objects.count() == events
    response = french(staff_client).post(f"/customers/{helene.pk}/note/", {"note": "x" * 10_001})
    assert response.status_code == 200 and "au plus 10000 caractères" in response.content.decode()


def test_the_note_without_javascript(staff_client, helene):
    response = english(staff_client).get(block_url(helene, "note", "edit=1"))
    assert response["Location"] == f"/customers/{helene.pk}/?note=edit#block-note"
    html = staff_client.get(page_url(helene, "note=edit")).content.decode()
    assert 'id="note-form"' in section(html, "note")
    response = staff_client.post(f"/customers/{helene.pk}/note/", {"note": ""})
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{helene.pk}/#block-note"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Note saved."]
    helene.refresh_from_db()
    assert helene.note == ""


def test_action_links_appear_only_for_screens_that_exist(staff_client, helene, monkeypatch):
    from comptoir.customers.views import detail

    html = english(staff_client).get(page_url(helene)).content.decode()
    shown = re.findall(r'data-action="(\w+)"', html)
    real = detail.reverse
    missing = {"customers:merge", "customers:delete"}

    def reverse_without_some(name, *args, **kwargs):
        if name in missing:
            raise NoReverseMatch(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(detail, "reverse", reverse_without_some)
    html = staff_client.get(page_url(helene)).content.decode()
    assert re.findall(r'data-action="(\w+)"', html) == [
        action for action in shown if action not in ("merge", "delete")
    ]
    assert "convert_guest" not in shown  # a registered customer


def test_the_page_runs_a_fixed_number_of_queries(
    staff_client, helene, make_customer, django_assert_num_queries
):
    # session, user, the demo-customer banner, customer, counts, data version, sales rank,
    # group names (for the timeline), invalid orders' sum, products, then the page of each of
    # the 11 blocks read from the database. Rank, group names and products are then cached until
    # the data changes.
    empty = make_customer()
    Customer.objects.filter(pk=empty.pk).update(total_spent=Decimal("1"))  # ranked too
    with django_assert_num_queries(21):
        assert staff_client.get(page_url(helene)).status_code == 200
    for number in range(30):
        visit_record(customer=helene, ip_address="192.0.2.1")
        place(helene, status="cancelled" if number % 3 else "paid")
        Voucher.objects.create(customer=helene, code=f"V{number}", name="V")
    with django_assert_num_queries(21):
        assert staff_client.get(page_url(helene, "visits_page=3&orders_page=2")).status_code == 200
    with django_assert_num_queries(18):  # rank, group names and products cached
        assert staff_client.get(page_url(helene, "visits_page=3&orders_page=2")).status_code == 200
    with django_assert_num_queries(19):  # no products to read (no valid order), groups cached
        assert staff_client.get(page_url(empty)).status_code == 200


def test_a_block_alone_runs_only_its_queries(staff_client, helene, django_assert_num_queries):
    # session, user, customer, its count, its page.
    with django_assert_num_queries(5):
        staff_client.get(block_url(helene, "visits", "visits_page=2"), headers=HTMX)
    # session, user, customer, invalid orders' sum, page.
    with django_assert_num_queries(5):
        staff_client.get(block_url(helene, "orders"), headers=HTMX)


def test_the_list_links_names_and_emails_to_the_page(staff_client, helene):
    html = staff_client.get("/customers/").content.decode()
    link = f'<a href="/customers/{helene.pk}/" class="customer-link">'
    assert f"{link}Hélène</a>" in html and f"{link}helene@example.com</a>" in html
