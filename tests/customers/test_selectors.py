"""List selectors: pages from either end, stable sorts, clamping, fixed query count."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from comptoir.customers.filters import SORTS, CustomerFilterSet
from comptoir.customers.models import Customer
from comptoir.customers.selectors import customer_page, customer_summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def thirty(make_customer):
    customers = [make_customer() for _ in range(30)]
    # Only three distinct sales values: the sort column is full of ties.
    for index, customer in enumerate(customers):
        Customer.objects.filter(pk=customer.pk).update(total_spent=Decimal(index % 3 * 10))
    return customers


def walk(sort_key, per_page):
    queryset = CustomerFilterSet({}).qs
    first = customer_page(queryset=queryset, sort_key=sort_key, page=1, per_page=per_page)
    seen = []
    for number in range(1, first.pages + 1):
        page = customer_page(queryset=queryset, sort_key=sort_key, page=number, per_page=per_page)
        seen += [customer.pk for customer in page.rows]
    return seen


@pytest.mark.parametrize("sort_key", ["sales", "-sales", "newsletter", "-registration", "id"])
@pytest.mark.parametrize("per_page", [7, 10])
def test_pages_cover_every_row_once_in_sort_order(thirty, sort_key, per_page):
    seen = walk(sort_key, per_page)
    assert len(seen) == 30 and len(set(seen)) == 30
    column = SORTS[sort_key.lstrip("-")]
    expected = list(
        Customer.objects.order_by(
            *([f"-{column}", "-id"] if sort_key.startswith("-") else [column, "id"])
        ).values_list("id", flat=True)
    )
    assert seen == expected


def test_last_page_is_read_from_the_end(thirty):
    queryset = CustomerFilterSet({}).qs
    page = customer_page(queryset=queryset, sort_key="sales", page=4, per_page=8)
    assert (page.number, page.pages, page.total) == (4, 4, 30)
    assert len(page.rows) == 6 and page.start_index == 25 and page.end_index == 30
    assert page.has_previous and not page.has_next


def test_page_past_the_end_shows_the_last_one(thirty):
    queryset = CustomerFilterSet({}).qs
    page = customer_page(queryset=queryset, sort_key="-id", page=99, per_page=10)
    assert (page.number, page.clamped_from) == (3, 99)
    assert customer_page(queryset=queryset, sort_key="-id", page=0, per_page=10).number == 1


def test_empty_result(db):
    page = customer_page(queryset=Customer.objects.none(), sort_key="-id", page=1, per_page=10)
    assert (page.rows, page.total, page.pages, page.start_index) == ([], 0, 1, 0)


@pytest.mark.parametrize("per_page", [10, 250])
def test_query_count_does_not_depend_on_page_size(thirty, vip_group, per_page):
    queryset = CustomerFilterSet({"q": "dupont"}).qs
    with CaptureQueriesContext(connection) as queries:
        page = customer_page(queryset=queryset, sort_key="sales", page=1, per_page=per_page)
        [customer.title and customer.title.name for customer in page.rows]
        [[group.name for group in customer.list_groups] for customer in page.rows]
    # count, highest id (SQLite: how selective the filter is), ids, rows with titles, groups
    assert len(queries) == (5 if connection.vendor == "sqlite" else 4)


def test_rows_carry_their_groups_in_group_id_order(make_customer, vip_group):
    from comptoir.customers.models import Membership
    from comptoir.groups.models import Group

    pro = Group.objects.create(name_fr="Professionnels", name_en="Trade", discount=5)
    both, alone = make_customer(), make_customer()
    Membership.objects.bulk_create(
        [Membership(customer=both, group=pro), Membership(customer=both, group=vip_group)]
    )
    page = customer_page(queryset=Customer.objects.all(), sort_key="id", page=1, per_page=10)
    groups = {customer.pk: customer.list_groups for customer in page.rows}
    default = both.default_group
    expected = sorted(
        [(default.pk, default.name_fr), (vip_group.pk, "VIP"), (pro.pk, "Professionnels")]
    )
    assert [(group.pk, group.name_fr) for group in groups[both.pk]] == expected
    assert [group.pk for group in groups[alone.pk]] == [alone.default_group_id]
    with translation.override("en"):
        assert "Trade" in [group.name for group in groups[both.pk]]


def test_summary_for_a_filter(thirty):
    from comptoir.core.actors import Actor
    from comptoir.customers.services import customer_consent_set

    customer_consent_set(
        customer=thirty[0], channel="newsletter", granted=True, actor=Actor.system()
    )
    summary = customer_summary(CustomerFilterSet({"sales_min": "10"}).qs)
    assert summary.customers == 20
    assert summary.new_this_month == 20
    assert summary.newsletter_subscribers == 0
    assert summary.average_lifetime_value == Decimal("15.00")
    assert customer_summary().newsletter_subscribers == 1


def test_summary_is_cached_until_the_data_changes(thirty, django_assert_num_queries):
    from comptoir.core.actors import Actor
    from comptoir.customers.services import customer_consent_set

    queryset = CustomerFilterSet({"sales_min": "10"}).qs
    assert customer_summary(queryset).newsletter_subscribers == 0
    with django_assert_num_queries(1):  # the data version only
        assert customer_summary(queryset).customers == 20
    # thirty[1] has sales of 10, inside the filter.
    customer_consent_set(
        customer=thirty[1], channel="newsletter", granted=True, actor=Actor.system()
    )
    assert customer_summary(queryset).newsletter_subscribers == 1


@pytest.mark.parametrize("selective", [True, False])
@pytest.mark.parametrize("sort_key", ["-sales", "id", "-registration"])
def test_filtered_pages_are_the_same_along_the_sort_index_or_not(
    thirty, monkeypatch, selective, sort_key
):
    """The index walk (a filter that is not selective, ``INDEXED BY`` on SQLite) is only a way
    of reading: both ways give the same pages, every row once, in the sort's order."""
    from comptoir.customers.selectors import listing

    monkeypatch.setattr(listing, "WALK_SORT_INDEX_SHARE", 2.0 if selective else 0.0)
    Customer.objects.filter(pk__in=[c.pk for c in thirty[::2]]).update(newsletter=True)
    queryset = CustomerFilterSet({"newsletter": "true"}).qs
    seen = []
    for number in (1, 2, 3):
        page = customer_page(queryset=queryset, sort_key=sort_key, page=number, per_page=6)
        seen += [customer.pk for customer in page.rows]
    column = SORTS[sort_key.lstrip("-")]
    ordering = [f"-{column}", "-id"] if sort_key.startswith("-") else [column, "id"]
    assert seen == list(queryset.order_by(*ordering).values_list("id", flat=True))
    assert len(seen) == 15
    with CaptureQueriesContext(connection) as captured:
        customer_page(queryset=queryset, sort_key=sort_key, page=1, per_page=6)
    uses_hint = any("INDEXED BY" in q["sql"] or "NOT INDEXED" in q["sql"] for q in captured)
    assert uses_hint == (connection.vendor == "sqlite" and not selective)


@pytest.mark.parametrize("walk", [True, False])
@pytest.mark.parametrize("sort_key", ["-id", "id", "-sales"])
def test_searched_pages_are_the_same_along_the_sort_index_or_not(
    thirty, monkeypatch, walk, sort_key
):
    """A search read along the sort's index (its matches tested row by row, "+id" on SQLite's
    primary key) gives the pages the search's own index gives."""
    from comptoir.customers.selectors import listing

    monkeypatch.setattr(listing, "WALK_SORT_INDEX_SHARE", 0.0 if walk else 2.0)
    # "Dupont4" of Dupont40 to Dupont49 (the numbers run on across tests): ten of the thirty.
    queryset = CustomerFilterSet({"q": thirty[10].last_name[:-1]}).qs
    expected = list(queryset.order_by(*listing._ordering(sort_key)[0]).values_list("id", flat=True))
    assert len(expected) >= 2
    seen = []
    with CaptureQueriesContext(connection) as captured:
        for number in (1, 2, 3, 4):
            page = customer_page(queryset=queryset, sort_key=sort_key, page=number, per_page=3)
            seen += [customer.pk for customer in page.rows]
    assert seen == expected
    membership_test = any('+"customers_customer"."id" IN' in q["sql"] for q in captured)
    assert membership_test == (connection.vendor == "sqlite" and walk and "id" in sort_key)


@pytest.mark.parametrize("walk_rows", [20_000, 1])
@pytest.mark.parametrize("sort_key", ["-id", "last_name", "-sales"])
def test_searched_pages_read_along_the_unsearched_list_are_the_same(
    thirty, monkeypatch, walk_rows, sort_key
):
    """The first pages of a frequent search, read among the first rows of the list without
    the search (SearchWalk), are the pages the search's own index gives; a walk too short for
    the matches' share is not tried."""
    from comptoir.customers.selectors import listing

    monkeypatch.setattr(listing, "SEARCH_WALK_ROWS", walk_rows)
    monkeypatch.setattr(listing, "SEARCH_WALK_ROWS_SQLITE", walk_rows)
    filterset = CustomerFilterSet({"q": thirty[10].last_name[:-1], "sort": sort_key})
    queryset = filterset.qs
    expected = list(queryset.order_by(*listing._ordering(sort_key)[0]).values_list("id", flat=True))
    assert len(expected) >= 4
    seen = []
    with CaptureQueriesContext(connection) as captured:
        for number in (1, 2, 3, 4):
            page = customer_page(
                queryset=queryset,
                sort_key=sort_key,
                page=number,
                per_page=3,
                total=len(expected),
                search=listing.customer_search_walk(filterset),
            )
            seen += [customer.pk for customer in page.rows]
    assert seen == expected
    walked = sum("w.search_text LIKE" in query["sql"] for query in captured)
    # Pages 1 and 2 start before the middle of the ten matches; 3 and 4 are read from the end.
    assert walked == (2 if walk_rows > 1 else 0)


@pytest.mark.parametrize("sort_key", ["-id", "last_name", "-sales"])
def test_uncounted_pages_are_the_counted_pages_without_their_count(thirty, sort_key):
    """customer_page(count=False): the first pages read without counting, one row beyond the
    page telling whether another follows; the last one knows its count after all."""
    queryset = CustomerFilterSet({}).qs
    counted = [
        customer_page(queryset=queryset, sort_key=sort_key, page=number, per_page=7)
        for number in range(1, 6)
    ]
    for number, expected in enumerate(counted, start=1):
        with CaptureQueriesContext(connection) as captured:
            page = customer_page(
                queryset=queryset, sort_key=sort_key, page=number, per_page=7, count=False
            )
        assert [c.pk for c in page.rows] == [c.pk for c in expected.rows]
        assert not any("COUNT(" in q["sql"].upper() for q in captured)
        assert page.has_next == (number < 5)
        assert (page.start_index, page.end_index) == (expected.start_index, expected.end_index)
        # Pages 1-4 are full and have a successor: not counted. Page 5 holds the last two.
        assert (page.total, page.pages) == ((None, None) if number < 5 else (30, 5))
    assert counted[-1].end_index == 30


def test_an_uncounted_page_past_the_end_or_too_deep_is_counted(thirty):
    from comptoir.customers.selectors import listing

    queryset = CustomerFilterSet({}).qs
    past = customer_page(queryset=queryset, sort_key="-id", page=4, per_page=20, count=False)
    assert (past.number, past.total, past.pages, past.clamped_from) == (2, 30, 2, 4)
    assert len(past.rows) == 10
    deep = listing.UNCOUNTED_PAGES + 1
    page = customer_page(queryset=queryset, sort_key="id", page=deep, per_page=2, count=False)
    assert (page.total, page.pages) == (30, 15)
    assert [c.pk for c in page.rows] == [c.pk for c in thirty[2 * deep - 2 : 2 * deep]]
    nothing = CustomerFilterSet({"q": "no such customer"}).qs
    empty = customer_page(queryset=nothing, sort_key="-id", page=1, per_page=20, count=False)
    assert (empty.rows, empty.total, empty.pages, empty.start_index) == ([], 0, 1, 0)


@pytest.mark.parametrize(
    ("first_rows", "walked"),
    # A first look that holds the page; one whose share of matches promises the page within the
    # whole walk (a second look); one that finds none (the search's own index answers).
    [(30, 1), (12, 2), (2, 1)],
)
def test_uncounted_searched_pages_walk_in_stages(make_customer, monkeypatch, first_rows, walked):
    from comptoir.customers.selectors import listing

    monkeypatch.setattr(listing, "SEARCH_WALK_FIRST", first_rows)
    monkeypatch.setattr(listing, "SEARCH_WALK_ROWS_SQLITE", 100)
    monkeypatch.setattr(listing, "SEARCH_WALK_ROWS_POSTGRESQL", 100)
    customers = [
        make_customer(last_name="Rouget" if index % 3 == 0 else "Blanc") for index in range(30)
    ]
    # Newest first: Blanc, Blanc, Rouget, ... so the first 12 rows hold 4 of the 10 matches.
    expected = [c.pk for c in reversed(customers) if c.last_name == "Rouget"]
    filterset = CustomerFilterSet({"q": "rouge"})
    with CaptureQueriesContext(connection) as captured:
        page = customer_page(
            queryset=filterset.qs,
            sort_key="-id",
            page=1,
            per_page=4,
            count=False,
            search=listing.customer_search_walk(filterset),
        )
    assert [c.pk for c in page.rows] == expected[:4]
    assert page.has_next and page.total is None
    assert sum("w.search_text LIKE" in q["sql"] for q in captured) == walked


def _summary_sql(queryset):
    """The summary of ``queryset``, and the statements the database ran for it, as it got them
    (after any rewriting on the way)."""
    from django.utils import timezone

    from comptoir.customers.selectors.listing import _summary_compute

    statements = []
    connection.ensure_connection()
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        connection.connection.set_trace_callback(statements.append)
    try:
        with CaptureQueriesContext(connection) as captured:  # PostgreSQL logs what it sent
            summary = _summary_compute(queryset, timezone.now().replace(day=1))
    finally:
        if sqlite:
            connection.connection.set_trace_callback(None)
    if not sqlite:
        statements = [query["sql"] for query in captured.captured_queries]
    return summary, "\n".join(statements)


def test_a_searched_summary_reads_the_narrow_index_on_sqlite(make_customer, actor):
    from comptoir.customers.services import customer_consent_set

    reds = [make_customer(last_name="Rouget") for _ in range(3)]
    make_customer(last_name="Blanc")
    customer_consent_set(customer=reds[0], channel="newsletter", granted=True, actor=actor)
    Customer.objects.filter(pk=reds[1].pk).update(total_spent=Decimal("30.00"))

    summary, sql = _summary_sql(CustomerFilterSet({"q": "rouge"}).qs)
    assert (summary.customers, summary.newsletter_subscribers) == (3, 1)
    assert summary.new_this_month == 3
    assert summary.average_lifetime_value == Decimal("10.00")
    assert ('INDEXED BY "customer_summary"' in sql) == (connection.vendor == "sqlite")
    # PostgreSQL tests the search on the rows it aggregates, not in a subquery first.
    assert ("MATERIALIZED" in sql) is False
    assert "rouge" in sql


@pytest.mark.parametrize("data", [{"q": "rouge", "country": "FR"}, {"newsletter": "true"}])
def test_a_summary_needing_other_columns_or_no_ids_is_left_to_the_planner(make_customer, data):
    make_customer(last_name="Rouget")
    _summary, sql = _summary_sql(CustomerFilterSet(data).qs)
    assert "INDEXED BY" not in sql


@pytest.mark.parametrize("term", ["rouge", "rouge 12", "12"])
def test_a_searched_summary_counts_what_the_searched_list_shows(make_customer, term):
    """However the summary reads the search (index hint, test on the rows), it counts the rows
    the list pages through: matches of every word, and the customer whose id is the term."""
    customers = [make_customer(last_name="Rouget", phone=f"06 12 00 00 0{i}") for i in range(3)]
    make_customer(last_name="Rougier", phone="07 99 99 99 99")
    Customer.objects.filter(pk=customers[0].pk).update(deleted_at="2026-01-01T00:00:00Z")
    queryset = CustomerFilterSet({"q": term}).qs
    summary, _sql = _summary_sql(queryset)
    assert summary.customers == queryset.count() == len(set(queryset.values_list("id", flat=True)))
    assert summary.customers > 0


def test_the_postgresql_search_subquery_becomes_a_test_on_the_rows():
    from comptoir.core.search import search_tested_on_rows

    table = '"customers_customer"'
    subquery = (
        f'{table}."id" IN (WITH m AS MATERIALIZED (SELECT id FROM customers_customer WHERE '
        "search_text LIKE %s AND search_text LIKE %s) SELECT id FROM m"
    )
    sql = f"SELECT 1 FROM {table} WHERE ({subquery} UNION ALL SELECT %s) AND {table}.x = %s)"
    assert search_tested_on_rows(sql) == (
        f"SELECT 1 FROM {table} WHERE ((({table}.search_text LIKE %s AND {table}.search_text "
        f'LIKE %s) OR {table}."id" = %s) AND {table}.x = %s)'
    )
    assert search_tested_on_rows(f"SELECT 1 WHERE {subquery})") == (
        f"SELECT 1 WHERE ({table}.search_text LIKE %s AND {table}.search_text LIKE %s)"
    )
    assert search_tested_on_rows("SELECT id FROM m") == "SELECT id FROM m"


def test_a_word_with_punctuation_is_tested_on_the_rows_through_its_marked_form():
    from comptoir.core.search import (
        MARK_LETTERS,
        MARKS,
        PG_MARKED_SEARCH_TEXT,
        _pg_word_test,
        search_tested_on_rows,
    )

    test, params = _pg_word_test("an.ri_")
    dot, underscore = MARK_LETTERS[MARKS.index(".")], MARK_LETTERS[MARKS.index("_")]
    assert params == [f"%an{dot}ri{underscore}%", "an.ri_"]
    assert test == f"{PG_MARKED_SEARCH_TEXT} LIKE %s AND strpos(search_text, %s) > 0"
    assert _pg_word_test("50%") == ("search_text LIKE %s", ["%50\\%%"])
    table = '"customers_customer"'
    sql = (
        f'SELECT 1 FROM {table} WHERE {table}."id" IN (WITH m AS MATERIALIZED (SELECT id FROM '
        f"customers_customer WHERE {test} AND search_text LIKE %s) SELECT id FROM m)"
    )
    marked = PG_MARKED_SEARCH_TEXT.replace("search_text", f"{table}.search_text")
    assert search_tested_on_rows(sql) == (
        f"SELECT 1 FROM {table} WHERE ({marked} LIKE %s AND strpos({table}.search_text, %s) > 0"
        f" AND {table}.search_text LIKE %s)"
    )


@pytest.fixture
def punctuated(make_customer):
    """Customers whose e-mails, names and phones hold the punctuation the marked trigram index
    turns into letters, and one whose name holds such a letter itself (an, the dot's, ri)."""
    from comptoir.core.search import MARK_LETTERS, MARKS

    people = [
        ("Jean-Baptiste", "Martin", "jean-baptiste.martin@example.com"),
        ("Jean", "Baptiste", "jean.baptiste@example.org"),
        ("Adrian", "Rivière", "adrian.riviere@example.com"),
        ("Dorian", "Rigaud", "dorian_rigaud+shop@example.net"),
        ("Ann", "O'Brien", "ann.obrien@example.com"),
        (f"An{MARK_LETTERS[MARKS.index('.')]}ri", "Kasper", "kasper@example.com"),
        ("Brian", "Rimbaud", "brian@rimbaud.example"),
    ]
    customers = []
    for index in range(3):
        for first, last, email in people:
            local, domain = email.split("@")
            customers.append(
                make_customer(first_name=first, last_name=last, email=f"{local}{index}@{domain}")
            )
    return customers


def _matching(text: str, sort_key: str) -> list[int]:
    """The ids a search should show, in the sort's order, decided in Python: every word of the
    folded text inside the customer's folded search text."""
    from comptoir.core.text import fold
    from comptoir.customers.selectors import listing

    words = fold(text).split()
    ordering, _reverse = listing._ordering(sort_key)
    rows = CustomerFilterSet({}).qs.order_by(*ordering).values_list("id", "search_text")
    return [pk for pk, search_text in rows if all(word in fold(search_text) for word in words)]


@pytest.mark.parametrize(
    "text",
    # Words with punctuation (the marked index on PostgreSQL), without (the plain one), both,
    # a short word, and "an.ri", which Kasper's first name must not match though its marked
    # form does.
    ["an.ri", "n-bap", "o'br", "_rigaud+", "example.com", "jean bap", "an.ri 1@", "ri", "dupont"],
)
@pytest.mark.parametrize("sort_key", ["-id", "last_name", "-email"])
@pytest.mark.parametrize("walk", [True, False])
def test_searched_pages_read_through_the_trigram_index_are_the_matches_in_order(
    punctuated, make_customer, monkeypatch, text, sort_key, walk
):
    """Pages of a search, found along the list (the walk) or not (search_page_ids on
    PostgreSQL: the search tested on the rows, index scans off), counted or not, hold exactly
    the matches in order."""
    from comptoir.customers.selectors import listing

    if not walk:
        _no_search_walk(monkeypatch)
    for _ in range(4):
        make_customer()  # Dupont..., matching "dupont"
    expected = _matching(text, sort_key)
    assert expected, text
    filterset = CustomerFilterSet({"q": text, "sort": sort_key})
    seen, uncounted = [], []
    for number in range(1, 6):
        page = customer_page(
            queryset=filterset.qs,
            sort_key=sort_key,
            page=number,
            per_page=2,
            total=len(expected),
            search=listing.customer_search_walk(filterset),
        )
        seen += [customer.pk for customer in page.rows] if page.number == number else []
        page = customer_page(
            queryset=filterset.qs,
            sort_key=sort_key,
            page=number,
            per_page=2,
            count=False,
            search=listing.customer_search_walk(filterset),
        )
        uncounted += [customer.pk for customer in page.rows] if page.number == number else []
    assert seen == expected[:10]
    assert uncounted == expected[:10]


def _no_search_walk(monkeypatch):
    """Every search too rare for the walk along the list: its pages read through its index."""
    from comptoir.customers.selectors import listing

    monkeypatch.setattr(listing, "SEARCH_WALK_FIRST", 1)
    monkeypatch.setattr(listing, "SEARCH_WALK_ROWS", 1)
    monkeypatch.setattr(listing, "SEARCH_WALK_ROWS_SQLITE", 1)
    monkeypatch.setattr(listing, "SEARCH_WALK_ROWS_POSTGRESQL", 1)


def test_a_rare_search_page_on_postgresql_reads_the_trigram_index_without_joining_back(
    punctuated, monkeypatch
):
    from comptoir.customers.selectors import listing

    _no_search_walk(monkeypatch)
    filterset = CustomerFilterSet({"q": "an.ri"})
    with CaptureQueriesContext(connection) as captured:
        page = customer_page(
            queryset=filterset.qs,
            sort_key="-id",
            page=1,
            per_page=2,
            count=False,
            search=listing.customer_search_walk(filterset),
        )
    assert [c.pk for c in page.rows] == _matching("an.ri", "-id")[:2]
    statements = "\n".join(query["sql"] for query in captured)
    postgresql = connection.vendor == "postgresql"
    assert ("SET enable_indexscan = off; " in statements) is postgresql
    if postgresql:
        # One statement: the setting, the read, the reset (one round trip).
        [page_read] = [query["sql"] for query in captured if "enable_indexscan" in query["sql"]]
        assert page_read.startswith("SET enable_indexscan = off; SELECT ")
        assert page_read.endswith("; RESET enable_indexscan")
        assert "MATERIALIZED" not in page_read and "strpos(" in page_read
        # The setting ended with the read.
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_indexscan")
            assert cursor.fetchone()[0] == "on"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pg_trgm indexes")
@pytest.mark.parametrize(("word", "index"), [("an.ri", "marks"), ("anri", "trgm")])
def test_a_word_with_punctuation_reads_the_marked_trigram_index(punctuated, word, index):
    from importlib import import_module

    from comptoir.core.search import PG_MARKED_SEARCH_TEXT, search_ids_sql

    migration = import_module("comptoir.customers.migrations.0010_search_marks_index")
    assert migration.MARKED_SEARCH_TEXT == PG_MARKED_SEARCH_TEXT
    sql, params = search_ids_sql([word], table="customers_customer")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a few rows: the index all the same
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    used = {name for name in ("marks", "trgm") if f"customer_search_{name}" in plan}
    assert used == {index}


def test_the_list_reads_the_same_while_a_large_import_has_its_indexes_off(
    thirty, monkeypatch, make_customer
):
    """A large import into an empty table drops the sort and summary indexes until its end
    (decision 0016): the list's queries that name them on SQLite (``INDEXED BY``) then run
    without the hints, and find what they found with them."""
    from comptoir.core.bulk import indexes_drop
    from comptoir.customers.selectors import listing

    monkeypatch.setattr(listing, "WALK_SORT_INDEX_SHARE", 0.0)  # always along the sort's index
    make_customer(last_name="Rouget")
    sorted_pages, summaries = [], []
    for _ in ("with", "without"):
        pages = []
        with CaptureQueriesContext(connection) as captured:
            for sort_key in ("-sales", "last_name", "id"):
                searched = CustomerFilterSet({"q": thirty[10].last_name[:-1], "sort": sort_key})
                for queryset, search in (
                    (CustomerFilterSet({}).qs, None),
                    (searched.qs, listing.customer_search_walk(searched)),
                ):
                    page = customer_page(queryset=queryset, sort_key=sort_key, page=1, per_page=4,
                                         total=30, search=search)  # fmt: skip
                    pages.append([customer.pk for customer in page.rows])
        sorted_pages.append(pages)
        summaries.append(_summary_sql(CustomerFilterSet({"q": "rouge"}).qs))
        hinted = any("INDEXED BY" in query["sql"] for query in captured)
        assert hinted == (connection.vendor == "sqlite")
        indexes_drop(Customer, keep_columns=("email_key", "external_id"))
    assert sorted_pages[0] == sorted_pages[1] and len(sorted_pages[0][0]) == 4
    assert summaries[0][0] == summaries[1][0] and summaries[0][0].customers == 1
    assert ('INDEXED BY "customer_summary"' in summaries[0][1]) == (connection.vendor == "sqlite")
