"""The customers list through the test client: the page, its bad inputs, its fixed query count,
the row toggles, the bulk action flow and saved views."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.core.models import Event
from comptoir.customers.models import ConsentRecord, Customer, ListPreference, SavedView
from comptoir.customers.services import customer_block

pytestmark = pytest.mark.django_db

LIST = "/customers/"


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def french(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    return client


def texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def row_ids(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-customer="(\d+)"', response.content.decode())]


def header_keys(response) -> list[str]:
    return re.findall(r'<th scope="col" data-col="(\w+)"', response.content.decode())


@pytest.fixture
def people(make_customer, vip_group):
    helene = make_customer(first_name="Hélène", last_name="Dupont", email="h.dupont@example.com")
    john = make_customer(
        first_name="John",
        last_name="Smith",
        email="john@example.org",
        groups=[vip_group],
        consents={"newsletter": True},
        tags=["Wholesale"],
    )
    Customer.objects.filter(pk=john.pk).update(total_spent=Decimal("250.00"), orders_count=3)
    zoe = make_customer(first_name="Zoé", last_name="Martin", email="zoe@example.net")
    return {"helene": helene, "john": john, "zoe": zoe}


@pytest.mark.parametrize(
    "path",
    [LIST, f"{LIST}1/toggle/newsletter/", f"{LIST}bulk/", f"{LIST}views/", f"{LIST}views/1/"],
)
def test_anonymous_visitors_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")


def test_the_list_shows_the_customers_newest_first_with_the_summary(staff_client, people):
    response = english(staff_client).get(LIST)
    assert response.status_code == 200
    assert row_ids(response) == [people["zoe"].pk, people["john"].pk, people["helene"].pk]
    html = response.content.decode()
    assert header_keys(response)[:3] == ["id", "title", "first_name"]
    assert "company" not in header_keys(response)  # not a default column
    assert '<p class="stat-value" id="list-stat-customers"' in html
    assert re.search(r'id="list-stat-customers"[^>]*>3<', html)
    assert re.search(r'id="list-stat-newsletter-subscribers"[^>]*>1<', html)
    assert "€250.00" in html and "€83.33" in html  # John's sales, the average lifetime value
    # John's groups: the default group first, then VIP; his tags when the column is shown.
    john_row = html.split(f'data-customer="{people["john"].pk}"')[1].split("</tr>")[0]
    assert john_row.index("Customer") < john_row.index("VIP")
    assert 'aria-sort="descending"' in html and 'data-col="id" aria-sort="descending"' in html


def test_search_filter_and_sort(staff_client, people):
    assert row_ids(staff_client.get(LIST, {"q": "helene"})) == [people["helene"].pk]
    assert row_ids(staff_client.get(LIST, {"newsletter": "true"})) == [people["john"].pk]
    assert row_ids(staff_client.get(LIST, {"sales_min": "100"})) == [people["john"].pk]
    by_name = staff_client.get(LIST, {"sort": "first_name"})
    assert row_ids(by_name) == [people["helene"].pk, people["john"].pk, people["zoe"].pk]
    html = by_name.content.decode()
    assert 'data-col="first_name" aria-sort="ascending"' in html
    # The header link reverses the sort and keeps the rest of the state.
    assert 'href="/customers/?sort=-first_name"' in html
    assert row_ids(staff_client.get(LIST, {"sort": "-sales"}))[0] == people["john"].pk


def test_links_keep_the_state_and_reset_the_page(staff_client, make_customer):
    for _ in range(12):
        make_customer(consents={"newsletter": True})
    html = staff_client.get(
        LIST, {"newsletter": "true", "sort": "last_name", "per_page": "10", "page": "2"}
    ).content.decode()
    assert 'id="page-first"' in html
    assert (
        'href="/customers/?newsletter=true&amp;sort=last_name&amp;per_page=10&amp;page=1"' in html
    )
    # Another page size goes back to page 1 (no page parameter).
    assert 'href="/customers/?newsletter=true&amp;sort=last_name&amp;per_page=20"' in html


def test_pages_and_the_last_page(staff_client, make_customer):
    customers = [make_customer() for _ in range(25)]
    response = english(staff_client).get(LIST, {"per_page": "10", "page": "3"})
    assert row_ids(response) == [c.pk for c in customers[:5]][::-1]
    assert "21\u201325 of 25" in response.content.decode()
    assert "Page 3 of 3" in response.content.decode()


def test_chosen_columns_are_shown_in_order_and_remembered(staff_client, staff_user, people):
    response = staff_client.get(LIST, {"cols": "email,id,tags,company"})
    assert header_keys(response) == ["email", "id", "tags", "company"]
    assert "Wholesale" in response.content.decode()
    preference = ListPreference.objects.get(user=staff_user)
    assert preference.columns == ["email", "id", "tags", "company"]
    # Back to the bare list: the remembered choice applies; a page size is remembered too.
    assert header_keys(staff_client.get(LIST)) == ["email", "id", "tags", "company"]
    staff_client.get(LIST, {"per_page": "20"})
    assert ListPreference.objects.get(user=staff_user).per_page == 20
    assert 'aria-current="true" data-per-page="20"' in staff_client.get(LIST).content.decode()
    # Without JavaScript the chooser sends one col= per ticked box, in the chosen order.
    assert header_keys(staff_client.get(LIST, {"col": ["last_name", "id"]})) == ["last_name", "id"]


def test_another_staff_members_columns_are_theirs(client, django_user_model, staff_client, people):
    staff_client.get(LIST, {"cols": "email"})
    other = django_user_model.objects.create_user("paul", password="x-irrelevant-1", is_staff=True)
    client.force_login(other)
    assert header_keys(client.get(LIST))[:2] == ["id", "title"]


@pytest.mark.parametrize(
    ("params", "english_message", "french_message"),
    [
        ({"newsletter": "maybe"}, "These filters were not understood", "Ces filtres"),
        (
            {"registration_after": "31/31/2020"},
            "not understood and are ignored: Registration",
            "Inscription",
        ),
        ({"sales_min": "abc"}, "not understood and are ignored: Sales", "Ventes"),
        ({"group": "999999"}, "not understood and are ignored: Group", "Groupe"),
        ({"sort": "password"}, "Unknown sort order", "Tri inconnu"),
        ({"per_page": "7"}, "Rows per page can be 10, 20, 50, 100, 250", "Lignes par page"),
        ({"per_page": "lots"}, "Rows per page can be", "Lignes par page"),
        ({"page": "abc"}, "is not a page number", "n\u2019est pas un numéro de page"),
        (
            {"page": "99"},
            "There is no page 99; showing page 1 of 1.",
            "Il n\u2019y a pas de page 99",
        ),
        (
            {"cols": "id,password,email"},
            "Unknown columns were left out: password.",
            "Colonnes inconnues",
        ),
        ({"cols": ","}, "Choose at least one column", "Choisissez au moins une colonne"),
    ],
)
def test_bad_input_gives_the_page_with_a_message_in_each_language(
    staff_client, people, params, english_message, french_message
):
    response = english(staff_client).get(LIST, params)
    assert response.status_code == 200
    assert any(english_message in text for text in texts(response)), texts(response)
    assert len(row_ids(response)) == 3  # a sensible page: everything, the bad part ignored
    response = french(staff_client).get(LIST, params)
    assert response.status_code == 200
    assert any(french_message in text for text in texts(response)), texts(response)


def test_filter_errors_are_shown_next_to_the_field(staff_client, people):
    html = english(staff_client).get(LIST, {"newsletter": "maybe"}).content.decode()
    assert 'class="collapse show" id="filters-panel"' in html
    assert re.search(r'name="newsletter"[^>]*class="[^"]*is-invalid', html) or re.search(
        r'class="[^"]*is-invalid[^"]*"[^>]*name="newsletter"', html
    )
    assert "Select a valid choice" in html


def test_unknown_columns_are_dropped_from_the_links(staff_client, people):
    html = staff_client.get(LIST, {"cols": "id,nope", "sort": "nope"}).content.decode()
    assert "nope" not in html.split("<table")[1]
    assert 'href="/customers/?cols=id&amp;sort=id"' in html


@pytest.mark.parametrize("per_page", [10, 250])
def test_the_page_runs_a_fixed_number_of_queries(
    staff_client, staff_user, make_customer, vip_group, per_page
):
    for index in range(30):
        make_customer(groups=[vip_group] if index % 2 else [], tags=["VIP"] if index % 3 else [])
    params = {
        "q": "dupont",
        "newsletter": "false",
        "per_page": str(per_page),
        "cols": ",".join(
            [
                "id",
                "title",
                "first_name",
                "last_name",
                "email",
                "groups",
                "company",
                "sales",
                "orders",
                "enabled",
                "newsletter",
                "partner_offers",
                "registration",
                "last_visit",
                "country",
                "tags",
            ]
        ),
    }
    staff_client.get(LIST, params)  # the preference is written once, here
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(LIST, params)
    assert len(row_ids(response)) == min(per_page, 30)
    # session, user, preference, summary (counts too), highest id (how selective the filter is
    # on SQLite; how frequent the search is), page ids (here along the list without the search,
    # every customer matching it), rows, groups, saved views, the filter menus (titles, groups,
    # tags), the bulk form's groups, the demo-customer check.
    assert len(queries) == 14, "\n".join(query["sql"] for query in queries)
    assert any("w.search_text LIKE" in query["sql"] for query in queries)


@pytest.fixture
def large_shop(settings):
    """The list as a shop past COMPTOIR_LIST_COUNT_LATER_FROM customers shows it: rows first,
    figures in a second request, when they are not already known."""
    settings.COMPTOIR_LIST_COUNT_LATER_FROM = 0


def test_a_large_shop_lists_rows_first_and_its_figures_then(
    staff_client, make_customer, large_shop
):
    customers = [make_customer(last_name="Rouget") for _ in range(5)]
    make_customer(last_name="Blanc")
    Customer.objects.filter(pk=customers[0].pk).update(total_spent=Decimal("50.00"))
    client = english(staff_client)
    response = client.get(LIST, {"q": "rouge", "per_page": "10"})
    html = response.content.decode()
    assert row_ids(response) == [c.pk for c in reversed(customers)]
    # No figures yet: placeholders asking for them with the same query, and the page bar without
    # a count (the page being the last, its count is known though).
    assert 'hx-get="/customers/figures/?q=rouge&amp;per_page=10"' in html
    assert 'hx-trigger="load"' in html and 'aria-busy="true"' in html
    assert not re.search(r'id="list-stat-customers"[^>]*>5<', html)
    assert "1\u20135 of 5" in html and "Page 1 of 1" in html
    assert "figures=1" in html  # the link for browsers without JavaScript

    figures = client.get("/customers/figures/", {"q": "rouge", "per_page": "10"})
    assert figures.status_code == 200
    fragment = figures.content.decode()
    assert re.search(r'id="list-stat-customers"[^>]*>5<', fragment)
    assert "€10.00" in fragment  # the average lifetime value of the five
    assert "hx-get" not in fragment
    assert 'id="list-pager" aria-label="Pages of customers" hx-swap-oob="true"' in fragment
    assert re.search(r'id="select-all" hx-swap-oob="true"', fragment)
    assert "Select all 5 customers matching this filter" in fragment
    assert "All 5 matching customers selected" in fragment

    # Known now: the page shows them at once.
    again = client.get(LIST, {"q": "rouge", "per_page": "10"}).content.decode()
    assert re.search(r'id="list-stat-customers"[^>]*>5<', again)
    assert "/customers/figures/" not in again


def test_a_large_shops_first_pages_go_on_without_a_count(staff_client, make_customer, large_shop):
    customers = [make_customer() for _ in range(12)]
    client = french(staff_client)
    response = client.get(LIST, {"per_page": "20", "sort": "id"})
    assert row_ids(response) == [c.pk for c in customers]  # fewer than a page: counted
    assert "1\u201312 sur 12" in response.content.decode()
    html = client.get(LIST, {"per_page": "10", "sort": "id"}).content.decode()
    assert "1\u201310, décompte des autres en cours…" in html
    assert re.search(r'id="page-current">\s*Page 1\s*<', html)
    assert 'href="/customers/?sort=id&amp;per_page=10&amp;page=2" id="page-next"' in html
    assert '<a class="page-link" href="#" id="page-last" aria-disabled="true"' in html
    assert re.search(r'id="select-all-matching"[^>]*disabled', html)
    second = client.get(LIST, {"per_page": "10", "sort": "id", "page": "2"})
    assert row_ids(second) == [c.pk for c in customers[10:]]
    assert "11\u201312 sur 12" in second.content.decode()
    figures = client.get("/customers/figures/", {"per_page": "10", "sort": "id"})
    fragment = figures.content.decode()
    assert "1\u201310 sur 12" in fragment and "Page 1 sur 2" in fragment
    assert 'href="/customers/?sort=id&amp;per_page=10&amp;page=2" id="page-last"' in fragment
    assert "Sélectionner les 12 clients correspondant à ce filtre" in fragment
    # Without JavaScript, figures=1 asks the page itself for them.
    counted = client.get(LIST, {"per_page": "10", "sort": "id", "figures": "1"})
    assert re.search(r'id="list-stat-customers"[^>]*>12<', counted.content.decode())


@pytest.mark.parametrize("per_page", [10, 50])
def test_a_large_shops_page_and_figures_run_a_fixed_number_of_queries(
    staff_client, make_customer, large_shop, per_page
):
    for _ in range(60):
        make_customer()
    params = {"per_page": str(per_page)}
    staff_client.get(LIST, params)  # the preference is written once, here
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(LIST, params)
    assert len(row_ids(response)) == per_page
    # session, user, preference, data version and highest id (a large shop?) in one, page ids
    # (one row more), rows, groups, saved views, the demo-customer check, the bulk form's
    # groups; no count, no summary, and no filter menus (the closed panel's fields come when
    # it opens).
    assert len(queries) == 10, "\n".join(query["sql"] for query in queries)
    assert not any("COUNT(" in query["sql"].upper() for query in queries)
    with CaptureQueriesContext(connection) as queries:
        staff_client.get("/customers/figures/", params)
    # session, user, preference, data version, summary.
    assert len(queries) == 5, "\n".join(query["sql"] for query in queries)


def test_the_closed_filter_panel_is_fetched_when_opened(staff_client, people, vip_group):
    page = french(staff_client).get(LIST, {"q": "dupont", "sort": "id"}).content.decode()
    assert 'hx-get="/customers/filters/?q=dupont&amp;sort=id"' in page
    assert 'id="id_country"' not in page and 'id="id_q"' in page
    panel = staff_client.get("/customers/filters/", {"q": "dupont", "country": "FR"})
    html = panel.content.decode()
    assert html.lstrip().startswith("<div") and "<html" not in html
    assert 'id="id_country"' in html and '<option value="FR" selected>France</option>' in html
    assert f'<option value="{vip_group.pk}">' in html
    assert "Appliquer les filtres" in html
    # Set filters open the panel with the page, fields included.
    filtered = staff_client.get(LIST, {"country": "FR"}).content.decode()
    assert 'id="id_country"' in filtered and "/customers/filters/" not in filtered


def test_figures_of_bad_input_are_still_figures(staff_client, people, large_shop):
    response = staff_client.get(
        "/customers/figures/", {"sales_min": "abc", "page": "999", "per_page": "7", "sort": "?"}
    )
    assert response.status_code == 200
    assert re.search(r'id="list-stat-customers"[^>]*>3<', response.content.decode())
    panel = english(staff_client).get("/customers/filters/", {"sales_min": "abc", "group": "x"})
    assert panel.status_code == 200
    assert 'id="id_country"' in panel.content.decode()


def test_toggle_newsletter_with_htmx_returns_the_cell_and_records_the_consent(
    staff_client, staff_user, people
):
    helene = people["helene"]
    response = english(staff_client).post(
        f"{LIST}{helene.pk}/toggle/newsletter/",
        {"value": "true", "next": "/customers/?q=helene"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<td class="cell-toggle" data-col="newsletter">')
    assert 'aria-pressed="true"' in html and 'name="value" value="false"' in html
    assert 'name="next" value="/customers/?q=helene"' in html
    assert Customer.objects.get(pk=helene.pk).newsletter is True
    record = ConsentRecord.objects.get(customer=helene, channel="newsletter")
    assert (record.granted, record.source, record.actor_id) == (True, "backoffice", staff_user.pk)
    assert record.ip_address == "127.0.0.1"
    assert Event.objects.filter(kind="consent_changed", customer_id=helene.pk).count() == 1


def test_toggle_enabled_and_partner_offers(staff_client, people):
    john = people["john"]
    response = staff_client.post(
        f"{LIST}{john.pk}/toggle/enabled/", {"value": "false"}, HTTP_HX_REQUEST="true"
    )
    assert 'aria-pressed="false"' in response.content.decode()
    assert Customer.objects.get(pk=john.pk).is_enabled is False
    assert Event.objects.filter(kind="customer_disabled", customer_id=john.pk).exists()
    staff_client.post(
        f"{LIST}{john.pk}/toggle/partner_offers/", {"value": "true"}, HTTP_HX_REQUEST="true"
    )
    assert Customer.objects.get(pk=john.pk).partner_offers is True


def test_toggle_without_javascript_comes_back_to_the_list(staff_client, people):
    zoe = people["zoe"]
    response = english(staff_client).post(
        f"{LIST}{zoe.pk}/toggle/newsletter/", {"value": "true", "next": "/customers/?page=2"}
    )
    assert response.status_code == 302 and response["Location"] == "/customers/?page=2"
    assert any("Newsletter is now on" in text for text in texts(response))
    # An outside address is never followed.
    response = staff_client.post(
        f"{LIST}{zoe.pk}/toggle/newsletter/", {"value": "false", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/customers/"


def test_toggle_bad_requests(staff_client, people):
    pk = people["zoe"].pk
    consents = ConsentRecord.objects.count()
    assert staff_client.get(f"{LIST}{pk}/toggle/newsletter/").status_code == 405
    assert staff_client.post(f"{LIST}{pk}/toggle/password/", {"value": "true"}).status_code == 404
    assert staff_client.post(f"{LIST}{pk}/toggle/newsletter/", {"value": "yes"}).status_code == 400
    assert (
        staff_client.post(f"{LIST}999999/toggle/newsletter/", {"value": "true"}).status_code == 404
    )
    assert ConsentRecord.objects.count() == consents


def test_bulk_confirmation_then_action_on_ticked_rows(staff_client, staff_user, people, vip_group):
    ids = [people["helene"].pk, people["john"].pk]
    params = {"ids": ids, "action": "add_group", "group": vip_group.pk, "query": "sort=first_name"}
    response = english(staff_client).get(f"{LIST}bulk/", params)
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 customers are selected." in html
    assert "This will change 1 customer." in html  # John is already in VIP
    assert "Add to a group" in html and "VIP" in html
    assert not Event.objects.filter(kind="groups_added").exists()  # nothing done yet

    response = staff_client.post(f"{LIST}bulk/", params)
    assert response.status_code == 302
    assert response["Location"] == "/customers/?sort=first_name"
    assert texts(response) == ["1 customer changed."]
    assert people["helene"].memberships.filter(group=vip_group).exists()
    assert not people["zoe"].memberships.filter(group=vip_group).exists()
    event = Event.objects.get(kind="groups_added")
    assert (event.customer_id, event.actor_id, event.source) == (
        people["helene"].pk,
        staff_user.pk,
        "backoffice",
    )


def test_bulk_on_all_matching_the_filter_in_french(staff_client, people):
    params = {"all": "1", "action": "disable", "query": "q=example&newsletter=false"}
    html = french(staff_client).get(f"{LIST}bulk/", params).content.decode()
    assert "Les 2 clients correspondant au filtre sont sélectionnés." in html
    response = staff_client.post(f"{LIST}bulk/", params)
    assert texts(response) == ["2 clients modifiés."]
    assert set(Customer.objects.filter(is_enabled=False).values_list("id", flat=True)) == {
        people["helene"].pk,
        people["zoe"].pk,
    }


def test_bulk_block_needs_a_reason_shown_next_to_the_field(staff_client, people):
    params = {"ids": [people["zoe"].pk], "action": "block", "reason": " ", "query": ""}
    for method in (staff_client.get, staff_client.post):
        response = english(staff_client) and method(f"{LIST}bulk/", params)
        assert response.status_code == 200
        assert "Give a reason for blocking." in response.content.decode()
    assert not Customer.objects.filter(is_blocked=True).exists()
    params["reason"] = "Fraud"
    staff_client.post(f"{LIST}bulk/", params)
    assert Customer.objects.get(pk=people["zoe"].pk).blocked_reason == "Fraud"


def test_bulk_delete_shows_the_mode_and_hides_the_customers(staff_client, people):
    params = {"ids": [people["zoe"].pk], "action": "delete", "delete_mode": "deny", "query": ""}
    html = english(staff_client).get(f"{LIST}bulk/", params).content.decode()
    assert "Delete, deny re-registration" in html and "btn-danger" in html
    staff_client.post(f"{LIST}bulk/", params)
    assert people["zoe"].pk not in row_ids(staff_client.get(LIST))
    assert row_ids(staff_client.get(LIST, {"lifecycle": "deleted"})) == [people["zoe"].pk]


def test_bulk_without_selection_or_with_unreadable_filters_changes_nothing(staff_client, people):
    response = english(staff_client).get(f"{LIST}bulk/", {"action": "enable", "query": "q=x"})
    assert response.status_code == 302 and response["Location"] == "/customers/?q=x"
    assert texts(response) == ["Select at least one customer, or all those matching the filter."]
    response = staff_client.post(
        f"{LIST}bulk/", {"all": "1", "action": "disable", "query": "newsletter=maybe"}
    )
    assert response.status_code == 302
    assert any("Correct the filters" in text for text in texts(response))
    assert not Customer.objects.filter(is_enabled=False).exists()
    response = staff_client.get(f"{LIST}bulk/", {"ids": ["abc"], "action": "enable", "query": ""})
    assert response.status_code == 302
    response = staff_client.get(
        f"{LIST}bulk/", {"ids": [people["zoe"].pk], "action": "fly", "query": ""}
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_bulk_unblock_counts_only_the_blocked(staff_client, people, actor):
    customer_block(customer=people["john"], reason="Fraud", actor=actor)
    params = {"all": "1", "action": "unblock", "query": ""}
    html = english(staff_client).get(f"{LIST}bulk/", params).content.decode()
    assert "All 3 customers matching the filter are selected." in html
    assert "This will change 1 customer." in html
    assert texts(staff_client.post(f"{LIST}bulk/", params)) == ["1 customer changed."]


def test_saved_views_create_list_open_rename_delete(staff_client, staff_user, people):
    query = "newsletter=true&sort=-sales&cols=id,email&page=3"
    response = english(staff_client).post(
        f"{LIST}views/", {"name": "Newsletter fans", "query": query}
    )
    view = SavedView.objects.get(owner=staff_user)
    assert (view.name, view.query) == (
        "Newsletter fans",
        "newsletter=true&sort=-sales&cols=id%2Cemail",
    )
    assert response["Location"] == "/customers/?newsletter=true&sort=-sales&cols=id%2Cemail"
    assert "Newsletter fans" in staff_client.get(LIST).content.decode()  # in the menu

    opened = staff_client.get(f"{LIST}views/{view.pk}/")
    assert opened.status_code == 302 and opened["Location"] == response["Location"]
    assert row_ids(staff_client.get(opened["Location"])) == [people["john"].pk]

    duplicate = staff_client.post(f"{LIST}views/", {"name": "Newsletter fans", "query": ""})
    assert texts(duplicate) == ["You already have a view with this name."]
    assert SavedView.objects.count() == 1

    staff_client.post(f"{LIST}views/{view.pk}/rename/", {"name": "Fans"})
    assert SavedView.objects.get(pk=view.pk).name == "Fans"
    assert "Fans" in staff_client.get(f"{LIST}views/").content.decode()
    renamed = staff_client.post(f"{LIST}views/{view.pk}/rename/", {"name": ""})
    assert texts(renamed) == ["Name the view."]

    staff_client.post(f"{LIST}views/{view.pk}/delete/")
    assert not SavedView.objects.exists()


def test_a_saved_view_is_its_owners_only(client, django_user_model, staff_user):
    view = SavedView.objects.create(owner=staff_user, name="Mine", query="newsletter=true")
    other = django_user_model.objects.create_user("paul", password="x-irrelevant-1", is_staff=True)
    client.force_login(other)
    assert client.get(f"{LIST}views/{view.pk}/").status_code == 404
    assert client.post(f"{LIST}views/{view.pk}/rename/", {"name": "Stolen"}).status_code == 404
    assert client.post(f"{LIST}views/{view.pk}/delete/").status_code == 404
    assert "Mine" not in client.get(f"{LIST}views/").content.decode()
    assert SavedView.objects.get(pk=view.pk).name == "Mine"
    # The same name is free for someone else.
    client.post(f"{LIST}views/", {"name": "Mine", "query": ""})
    assert SavedView.objects.filter(name="Mine").count() == 2


@pytest.mark.parametrize(
    "params",
    [
        {"id": "99999999999999999999999"},
        {"page": "99999999999999999999999999"},
        {"page": "-5"},
        {"per_page": "1e3"},
        {"sales_min": "1e400"},
        {"sales_min": "NaN"},
        {"orders_min": "99999999999999999999999"},
        {"q": "a\x00b"},
        {"q": "%_\\'\""},
        {"q": "99999999999999999999999"},
        {"first_name": "a\x00b"},
        {"group": "99999999999999999999999"},
        {"registration_after": "0001-01-01"},
        {"registration_after": "9999-12-31"},
        {"last_visit_before": "2020-02-30"},
        {"cols": "x" * 5000},
        {"sort": "\x00"},
        {"lifecycle": "zzz"},
    ],
)
def test_hostile_input_never_gives_an_error_page(staff_client, people, params):
    assert staff_client.get(LIST, params).status_code == 200


def test_a_date_the_database_cannot_take_is_a_field_error(staff_client, people):
    response = english(staff_client).get(LIST, {"registration_after": "0001-01-01"})
    assert "Enter a later date." in response.content.decode()
    assert len(row_ids(response)) == 3


@pytest.mark.parametrize(
    "data",
    [
        {"ids": ["99999999999999999999999"], "action": "enable", "query": ""},
        {"all": "1", "action": "enable", "query": "q=a%00b"},
        {"all": "1", "action": "add_tag", "tag": "a\x00b", "query": ""},
        {"all": "1", "action": "block", "reason": "a\x00b", "query": ""},
        {"all": "1", "action": "enable", "query": "registration_after=0001-01-01"},
    ],
)
def test_hostile_bulk_input_never_gives_an_error_page(staff_client, people, data):
    for method in (staff_client.get, staff_client.post):
        assert method(f"{LIST}bulk/", data).status_code in (200, 302)
    assert Customer.objects.filter(is_enabled=True).count() == 3


def test_the_default_accounts_choice_stays_out_of_the_links(staff_client, people):
    html = staff_client.get(LIST, {"lifecycle": "live", "newsletter": "true"}).content.decode()
    assert 'href="/customers/?newsletter=true&amp;sort=id"' in html
    assert not re.search(r'href="[^"]*lifecycle=live', html)
    html = staff_client.get(LIST, {"lifecycle": "all"}).content.decode()
    assert 'href="/customers/?lifecycle=all&amp;sort=id"' in html


def test_direct_control_writes_option_groups_and_required_as_django_does():
    from django.utils import translation

    from comptoir.core.templatetags.backoffice import form_control
    from comptoir.customers.forms import BulkActionForm
    from comptoir.customers.templatetags.customer_list import direct_control

    def parts(html):
        """The opening tag's attributes (in any order), then the options as written."""
        flat = "".join(line.strip() for line in str(html).splitlines())
        tag, options = flat.split(">", 1)
        return sorted(tag.removeprefix("<select ").split(" ")), options

    for language in ("fr", "en"):
        with translation.override(language):
            form = BulkActionForm(data={"action": "block"})
            ours, django = direct_control(form["action"]), form_control(form["action"])
            assert parts(ours) == parts(django)
            assert "<optgroup" in ours and '<option value="block" selected>' in ours
            assert " required" in ours
            assert " required" not in direct_control(form["delete_mode"])


def test_direct_control_writes_model_menus_as_django_does(people, vip_group, actor):
    """Model menus (groups, tags by their key) read as a plain list, the same options."""
    from comptoir.core.templatetags.backoffice import form_control
    from comptoir.customers.filters import CustomerFilterSet
    from comptoir.customers.forms import BulkActionForm
    from comptoir.customers.services import customer_tags_set
    from comptoir.customers.templatetags.customer_list import direct_control

    customer_tags_set(customer=people["helene"], names=["Grossiste", "VIP <b>"], actor=actor)
    bulk = BulkActionForm(data={"group": str(vip_group.pk)})
    panel = CustomerFilterSet({"tag": "grossiste"}).form
    for bound in (bulk["group"], panel["tag"], panel["group"]):
        ours = "".join(line.strip() for line in str(direct_control(bound)).splitlines())
        django = "".join(line.strip() for line in str(form_control(bound)).splitlines())
        assert ours.split(">", 1)[1] == django.split(">", 1)[1]
    assert f'<option value="{vip_group.pk}" selected>' in direct_control(bulk["group"])
    assert "VIP &lt;b&gt;" in direct_control(panel["tag"])


@pytest.mark.parametrize("language", ["fr", "en"])
def test_list_dates_are_the_languages_short_format(language):
    import datetime

    from django.utils import translation
    from django.utils.formats import date_format

    from comptoir.customers.templatetags.customer_list import _day_format

    with translation.override(language):
        write = _day_format()
        for day in (datetime.date(2026, 1, 5), datetime.date(1999, 12, 31)):
            assert write(day) == date_format(day, "SHORT_DATE_FORMAT")


@pytest.mark.parametrize(
    "data", [{}, {"first_name": 'a"<b', "id": "12"}, {"id": "not a number", "email": "x"}]
)
def test_direct_control_writes_inputs_as_django_does(db, data):
    import re

    from comptoir.core.templatetags.backoffice import form_control
    from comptoir.customers.filters import CustomerFilterSet
    from comptoir.customers.forms import filter_form_polish
    from comptoir.customers.templatetags.customer_list import direct_control

    def attributes(html):
        return sorted(re.findall(r'([\w-]+)(?:="([^"]*)")?', str(html).strip()))

    form = filter_form_polish(CustomerFilterSet(data).form)
    for name in ("id", "first_name", "last_name", "email", "company"):
        assert str(direct_control(form[name])).startswith("<input ")
        assert attributes(direct_control(form[name])) == attributes(form_control(form[name]))
    if "id" in data and not data["id"].isdigit():
        assert 'aria-invalid="true"' in direct_control(form["id"])


@pytest.mark.parametrize(
    ("language", "cells"),
    [
        (
            "en",
            [
                "Mrs",
                "Hélène",
                "Dupont",
                "h.dupont@example.com",
                "Trade",
                "VIP",
                "Atelier",
                "€1,234.50",
                "7",
                "Germany",
                "Wholesale",
            ],
        ),
        (
            "fr",
            [
                "Mme",
                "Hélène",
                "Dupont",
                "h.dupont@example.com",
                "Professionnels",
                "VIP",
                "Atelier",
                "1\u202f234,50\xa0€",
                "7",
                "Allemagne",
                "Wholesale",
            ],
        ),
    ],
)
def test_a_row_shows_every_column_in_the_users_language(
    staff_client, make_customer, vip_group, language, cells
):
    """The rows are read as plain values (``ListRow``): each cell, the title, the groups (the
    default one first) and the country's name in the language of the page."""
    from comptoir.customers.forms import COLUMNS
    from comptoir.customers.models import Title
    from comptoir.groups.models import Group

    trade = Group.objects.create(name_fr="Professionnels", name_en="Trade", discount=5)
    customer = make_customer(
        title=Title.objects.get(name_en="Mrs"),
        first_name="Hélène",
        last_name="Dupont",
        email="h.dupont@example.com",
        company="Atelier",
        groups=[vip_group, trade],
        tags=["Wholesale"],
    )
    Customer.objects.filter(pk=customer.pk).update(
        total_spent=Decimal("1234.50"), orders_count=7, default_group=trade, country="DE"
    )
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = staff_client.get(LIST, {"cols": ",".join(COLUMNS)}).content.decode()
    row = re.search(rf'<tr data-customer="{customer.pk}">(.*?)</tr>', html, re.S).group(1)
    shown = [
        re.sub(r"<[^>]+>", " ", cell).split()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]
    text = " ".join(" ".join(words) for words in shown)
    position = 0
    for cell in cells:
        found = text.find(cell.replace("\u202f", " ").replace("\xa0", " "), position)
        assert found >= 0, (cell, text)
        position = found
