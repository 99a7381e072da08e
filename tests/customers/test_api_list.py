"""GET /api/v1/customers: the list page's filters, search and sorts through the same FilterSet,
cursor pages that skip and repeat nothing, a fixed number of queries, clear 400s."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from comptoir.customers.filters import SORTS, CustomerFilterSet
from comptoir.customers.models import Customer, Title
from comptoir.customers.selectors import customers_live
from comptoir.customers.selectors.listing import _ordering
from comptoir.customers.services import customer_tags_set
from tests.customers.test_api_support import (  # noqa: F401  (fixtures)
    anonymous_api_fixture,
    api_fixture,
    assert_problem,
    field_errors,
    read_only_api_fixture,
    read_only_token_fixture,
    token_fixture,
    wrong_token_api_fixture,
)


def _walk(api, params: dict) -> tuple[list[int], list[dict]]:
    """Follow the next links from the first page; the ids in order and every page's body."""
    response = api.get("", params)
    assert response.status_code == 200, response.content
    pages = [response.json()]
    while pages[-1]["next"]:
        response = api.get_url(pages[-1]["next"])
        assert response.status_code == 200, response.content
        pages.append(response.json())
    return [row["id"] for page in pages for row in page["results"]], pages


def _walk_back(api, url: str) -> list[list[int]]:
    """Follow the previous links from ``url``; each page's ids, last page first."""
    pages = []
    while url:
        response = api.get_url(url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([row["id"] for row in body["results"]])
        url = body["previous"]
    return pages


@pytest.fixture
def shop(make_customer, vip_group):
    """Seventeen customers whose sort values repeat, with NULLs where a sort column has them,
    and sales added up the way the order services do (F() sums: floats on SQLite)."""
    mr = Title.objects.create(name_fr="M.", name_en="Mr", gender="male", position=2)
    ms = Title.objects.create(name_fr="Mme", name_en="Ms", gender="female", position=1)
    now = timezone.now()
    customers = []
    for n in range(17):
        customer = make_customer(
            first_name=["Zoé", "Adam", "Émile"][n % 3],
            last_name=f"Martin{n % 4}",
            email=f"client{n % 5}.{n}@example.com",
            groups=[vip_group] if n % 4 == 0 else [],
        )
        customers.append(customer)
        Customer.objects.filter(pk=customer.pk).update(
            newsletter=n % 3 == 0,
            title=[None, mr, ms][n % 3],
            last_visit_at=None if n % 4 == 1 else now - datetime.timedelta(days=n % 3),
            created_at=now - datetime.timedelta(hours=n % 2),
            country=["FR", "BE", ""][n % 3],
        )
        if n % 8 == 3:
            # The same amount, stored exactly: equal to the sums below once rounded, but not
            # to the float SQLite keeps for them (0.30000000000000004).
            Customer.objects.filter(pk=customer.pk).update(total_spent=Decimal("0.30"))
            continue
        for _ in range(n % 4):
            Customer.objects.filter(pk=customer.pk).update(
                total_spent=F("total_spent") + Decimal("0.10"), orders_count=F("orders_count") + 1
            )
    return customers


@pytest.mark.parametrize("along_sort_index", [True, False])
def test_pages_walk_every_sort_without_skipping_or_repeating(
    api, shop, actor, monkeypatch, along_sort_index
):
    # On SQLite a broad filter's pages are read along the sort's index (decision 0010); the
    # planner's own choice must give the same pages.
    monkeypatch.setattr(
        "comptoir.customers.api.sort_index_walk_pays", lambda queryset: along_sort_index
    )
    customer_tags_set(customer=shop[0], names=["VIP", "b"], actor=actor)
    customer_tags_set(customer=shop[1], names=["VIP"], actor=actor)
    for sort in [*SORTS, *(f"-{key}" for key in SORTS)]:
        # The order the list page shows for this sort, the reference.
        expected = list(customers_live().order_by(*_ordering(sort)[0]).values_list("id", flat=True))
        ids, pages = _walk(api, {"sort": sort, "limit": 4})
        assert ids == expected, sort
        assert [len(page["results"]) for page in pages] == [4, 4, 4, 4, 1], sort
        assert pages[0]["previous"] is None
        # Back from the last page: the same pages in reverse.
        back = _walk_back(api, pages[-1]["previous"])
        assert [i for page in reversed(back) for i in page] == expected[:16], sort
        assert all(len(page) == 4 for page in back), sort


def test_pages_keep_filters_and_limit_in_their_links(api, shop):
    ids, pages = _walk(api, {"newsletter": "true", "sort": "last_name", "limit": 2})
    expected = [
        c.pk for c in sorted(shop, key=lambda c: (c.last_name, c.pk)) if shop.index(c) % 3 == 0
    ]
    assert ids == expected
    assert "newsletter=true" in pages[0]["next"]
    assert "limit=2" in pages[0]["next"]
    assert pages[0]["next"].startswith("http://testserver/api/v1/customers?")


@pytest.mark.parametrize(
    ("sort", "row_value"),
    [
        ("-sales", '("customers_customer"."total_spent", "customers_customer"."id") <'),
        ("last_name", '("customers_customer"."last_name", "customers_customer"."id") >'),
        # NULLs (last visit) and the title's position (a join) keep the spelled-out form.
        ("last_visit", None),
        ("title", None),
    ],
)
def test_next_pages_start_from_a_row_value(api, shop, sort, row_value):
    # One comparison both databases start the (column, id) index walk from; a spelled-out OR
    # made them read every row sharing the position's value first.
    following = api.get("", {"sort": sort, "limit": 3}).json()["next"]
    with CaptureQueriesContext(connection) as captured:
        response = api.get_url(following)
    assert response.status_code == 200
    page_sql = " ".join(query["sql"] for query in captured.captured_queries)
    if row_value:
        assert row_value in page_sql
    else:
        assert '", "customers_customer"."id") ' not in page_sql


def test_first_page_values(api, shop, vip_group, default_group):
    newest = shop[-1]
    response = api.get("", {"limit": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] is None
    (row,) = body["results"]
    assert row["id"] == newest.pk
    assert row["email"] == newest.email
    assert row["first_name"] == "Adam"
    assert row["default_group"] == {"id": default_group.pk, "name": default_group.name_en}
    assert row["total_spent"] == "0.00"
    assert "password" not in row and "search_text" not in row


def test_count_only_when_asked(api, shop):
    body = api.get("", {"count": "true", "newsletter": "true", "limit": 2}).json()
    assert body["count"] == 6
    assert len(body["results"]) == 2


def test_search_and_filters_are_the_list_pages(api, shop, vip_group):
    params = {"q": "emile", "group": str(vip_group.pk), "sort": "id"}
    body = api.get("", params).json()
    expected = list(CustomerFilterSet(params).qs.order_by("id").values_list("id", flat=True))
    assert [row["id"] for row in body["results"]] == expected
    assert expected  # the search folds accents: "emile" finds Émile
    assert all(row["first_name"] == "Émile" for row in body["results"])
    assert all(vip_group.pk in [g["id"] for g in row["groups"]] for row in body["results"])


@pytest.mark.parametrize("walk_rows", [3, 8, 10_000])
@pytest.mark.parametrize(
    "params",
    [
        {"q": "zoe"},  # 6 of 17, accents folded
        {"q": "MARTIN1 adam"},  # two words, both needed
        {"q": "client", "sort": "-sales", "newsletter": "true"},
        {"q": "martin", "sort": "last_visit"},  # NULLs in the sort column
        {"q": "nobody"},
    ],
)
def test_searched_pages_are_the_same_whichever_way_they_are_found(
    api, shop, monkeypatch, params, walk_rows
):
    # A searched page is first looked for among the first `walk_rows` rows of the list without
    # the search; when too few match there, through the search's index. Same pages either way.
    monkeypatch.setattr("comptoir.customers.selectors.api.SEARCH_WALK_ROWS", walk_rows)
    filterset = CustomerFilterSet(params)
    expected = list(
        filterset.qs.order_by(*_ordering(filterset.sort_key)[0]).values_list("id", flat=True)
    )
    with CaptureQueriesContext(connection) as captured:
        ids, pages = _walk(api, {**params, "limit": 2})
    assert ids == expected
    # (read before the next request, which empties the connection's query log)
    walked = sum("SELECT w.id FROM" in query["sql"] for query in captured.captured_queries)
    assert walked == len(pages)  # each page tried the walk first
    if pages[-1]["previous"]:
        back = _walk_back(api, pages[-1]["previous"])
        before_last = len(expected) - len(pages[-1]["results"])
        assert [i for page in reversed(back) for i in page] == expected[:before_last]


def test_a_searched_page_found_along_the_list_skips_the_search_index(api, shop, monkeypatch):
    monkeypatch.setattr("comptoir.customers.selectors.api.SEARCH_WALK_ROWS", 10_000)
    with CaptureQueriesContext(connection) as captured:
        body = api.get("", {"q": "zoe", "limit": 2}).json()
    assert len(body["results"]) == 2
    index = "customer_search_fts" if connection.vendor == "sqlite" else "AS MATERIALIZED"
    assert not any(index in query["sql"] for query in captured.captured_queries)
    # The whole search found fewer rows than a page: the index answers.
    with CaptureQueriesContext(connection) as captured:
        body = api.get("", {"q": "zoe", "limit": 50}).json()
    assert len(body["results"]) == 6
    assert any(index in query["sql"] for query in captured.captured_queries)


def test_searching_an_id_finds_it_along_the_list_too(api, shop, monkeypatch):
    monkeypatch.setattr("comptoir.customers.selectors.api.SEARCH_WALK_ROWS", 10_000)
    body = api.get("", {"q": f"#{shop[4].pk}", "limit": 1}).json()
    assert [row["id"] for row in body["results"]] == [shop[4].pk]


def test_deleted_customers_only_with_lifecycle(api, shop):
    gone = shop[3]
    Customer.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    live = [row["id"] for row in api.get("", {"limit": 250}).json()["results"]]
    assert gone.pk not in live and len(live) == 16
    deleted = api.get("", {"lifecycle": "deleted"}).json()["results"]
    assert [row["id"] for row in deleted] == [gone.pk]
    assert deleted[0]["deleted_at"] is not None


def test_list_runs_a_fixed_number_of_queries(
    api, shop, actor, vip_group, django_assert_num_queries
):
    for customer in shop:
        customer_tags_set(customer=customer, names=["a", f"t{customer.pk}"], actor=actor)
    # Token, page ids, customers, their groups, their tags; on SQLite, for a filter matching
    # many customers, the highest id and a probe (the first time a filter is asked for in a
    # minute), then the ids along the sort's index.
    sqlite = connection.vendor == "sqlite"
    first, page = (8, 6) if sqlite else (5, 5)
    api.get("", {"limit": 1})  # the token's last-used time is written once a minute
    with django_assert_num_queries(first):
        api.get("", {"limit": 1, "newsletter": "true"})
    with django_assert_num_queries(page):
        api.get("", {"limit": 1, "newsletter": "true"})
    with django_assert_num_queries(page):
        small = api.get("", {"limit": 2})
    with django_assert_num_queries(page):
        large = api.get("", {"limit": 250, "sort": "title"})
    with django_assert_num_queries(page):
        deep = api.get_url(small.json()["next"])
    # ... and the count when asked.
    with django_assert_num_queries(page + 1):
        api.get("", {"limit": 100, "count": "true"})
    assert len(small.json()["results"]) == 2
    assert len(large.json()["results"]) == 17
    assert len(deep.json()["results"]) == 2
    assert all(len(row["tags"]) == 2 for row in large.json()["results"])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "password"}, "sort"),
        ({"sales_min": "a lot"}, "sales"),
        ({"enabled": "maybe"}, "enabled"),
        ({"registration_after": "yesterday"}, "registration"),
        ({"group": "999999"}, "group"),
        ({"lifecycle": "zombie"}, "lifecycle"),
        ({"country": "XX"}, "country"),
        ({"limit": "0"}, "limit"),
        ({"limit": "251"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"count": "perhaps"}, "count"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "eyJmb28iOiAiYmFyIn0"}, "cursor"),  # {"foo": "bar"}
    ],
)
def test_bad_parameters_are_a_400_naming_them(api, shop, params, field):
    response = api.get("", params)
    body = assert_problem(
        response, 400, "validation" if field not in {"limit", "count"} else "invalid-request"
    )
    assert field in field_errors(response), body


def test_bad_filter_message_in_french(api, shop):
    response = api.in_language("fr").get("", {"sort": "password"})
    assert_problem(response, 400, "validation")
    assert "Sélectionnez un choix valide" in field_errors(response)["sort"]
    response = api.get("", {"sort": "password"})
    assert "Select a valid choice" in field_errors(response)["sort"]


def test_a_cursor_belongs_to_its_sort_and_filters(api, shop):
    first = api.get("", {"sort": "email", "limit": 2}).json()
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    other_sort = api.get("", {"sort": "-email", "limit": 2, "cursor": cursor})
    assert_problem(other_sort, 400, "validation")
    assert "another sort" in field_errors(other_sort)["cursor"]
    other_filter = api.get("", {"sort": "email", "limit": 2, "q": "zoe", "cursor": cursor})
    assert "cursor" in field_errors(other_filter)
    # The limit may change from page to page.
    assert api.get("", {"sort": "email", "limit": 5, "cursor": cursor}).status_code == 200


def test_a_tampered_cursor_is_a_400_not_a_500(api, shop):
    import base64
    import json

    first = api.get("", {"sort": "registration", "limit": 2}).json()
    raw = first["next"].split("cursor=")[1].split("&")[0]
    body = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    for values in (["not a date", 3], [body["v"][0], "x"], [body["v"][0], 2**70], [[1], 3], [1]):
        forged = {**body, "v": values}
        forged_cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
        response = api.get("", {"sort": "registration", "limit": 2, "cursor": forged_cursor})
        assert_problem(response, 400, "validation")
        assert "cursor" in field_errors(response)


def test_query_parameters_documented_are_the_filtersets(api):
    """The OpenAPI parameters of the list are exactly the FilterSet's query-string names, plus
    the page's own: a filter added to the list page shows up in the API's documentation."""
    from comptoir.customers.api_schemas import CustomerListQuery

    filterset = CustomerFilterSet({})
    names = set()
    for name, form_field in filterset.form.fields.items():
        suffixes = getattr(form_field.widget, "suffixes", None)
        names |= {form_field.widget.suffixed(name, s) for s in suffixes} if suffixes else {name}
    assert set(CustomerListQuery.model_fields) == names | {"cursor", "limit", "count"}


def test_anonymous_and_wrong_token_are_refused(anonymous_api, wrong_token_api, shop):
    for caller in (anonymous_api, wrong_token_api):
        response = caller.get("")
        assert_problem(response, 401, "unauthenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_read_only_token_reads_the_list(read_only_api, shop):
    assert len(read_only_api.get("").json()["results"]) == 17


def test_staff_session_reads_the_list(staff_client, shop):
    response = staff_client.get("/api/v1/customers", {"limit": 3})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3
