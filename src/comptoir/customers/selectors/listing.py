"""Reads of customers. Views and the API call these; none of them writes."""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django_countries.fields import Country

from comptoir.core.bulk import execute_hinted
from comptoir.core.search import search_page_ids, search_prefix_ids, search_tested_on_rows
from comptoir.customers.models import (
    SUMMARY_COLUMNS,
    BulkAction,
    Customer,
    DeleteMode,
    ListPreference,
    Membership,
    SavedView,
    Tag,
)
from comptoir.groups.models import Group


def customers_live() -> QuerySet[Customer]:
    """Customers staff normally see: not deleted (soft) and not anonymised."""
    return Customer.objects.filter(deleted_at__isnull=True, anonymised_at__isnull=True)


def customer_find_by_email(
    *, email: str, registered_only: bool = False, lock: bool = False
) -> Customer | None:
    """The customer an e-mail belongs to: the registered account first, else the latest guest.
    ``lock`` (inside a transaction): its row locked (and only its row) until the transaction
    ends, its default group read with it: what an order needs, in one query."""
    from comptoir.core.normalise import email_key

    key = email_key(email)
    if not key:
        return None
    candidates = Customer.objects.filter(email_key=key, anonymised_at__isnull=True)
    if registered_only:
        candidates = candidates.filter(is_guest=False)
    if lock:
        # Only the customer's row (OF self): locking its default group's row too would make
        # every checkout of that group, most of the shop's, wait for the one before to commit.
        candidates = candidates.select_for_update(of=("self",)).select_related("default_group")
    return candidates.order_by("is_guest", "-id").first()


@dataclass(frozen=True)
class CustomerSummary:
    customers: int
    new_this_month: int
    newsletter_subscribers: int
    average_lifetime_value: Decimal


SUMMARY_CACHE_SECONDS = 600


def data_version() -> int:
    """A number that changes whenever customer data changes: every write records an event, so
    the newest event id is one (a primary-key lookup, whatever the table's size)."""
    from comptoir.core.models import Event

    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def customer_summary(queryset: QuerySet[Customer] | None = None) -> CustomerSummary:
    """The summary cards for the given customers (default: all live ones).

    One aggregate query, kept per filter until the data changes: at a million customers the
    aggregate reads every matching row, while the cache answers in one indexed lookup.
    """
    queryset = customers_live() if queryset is None else queryset
    month_start = _month_start()
    key = _summary_key(queryset, month_start, data_version())
    if key is None:
        return _NOTHING
    summary = cache.get(key)
    if summary is None:
        summary = _summary_compute(queryset, month_start)
        cache.set(key, summary, SUMMARY_CACHE_SECONDS)
    return summary


def customer_summary_known(queryset: QuerySet[Customer]) -> CustomerSummary | None:
    """The summary cards of ``queryset`` if they cost nothing now: kept since the data last
    changed, or cheap to compute (a shop of fewer than ``settings.COMPTOIR_LIST_COUNT_LATER_FROM``
    customers). None: the list page shows its rows first and asks for the figures in a second
    request (``customer_summary``), so a search matching 50,000 customers, or the first view
    after any change, does not wait for an aggregate over all of them."""
    month_start = _month_start()
    version, highest = _versions(queryset.db)
    key = _summary_key(queryset, month_start, version)
    if key is None:
        return _NOTHING
    summary = cache.get(key)
    if summary is None and highest < settings.COMPTOIR_LIST_COUNT_LATER_FROM:
        summary = _summary_compute(queryset, month_start)
        cache.set(key, summary, SUMMARY_CACHE_SECONDS)
    return summary


_NOTHING = CustomerSummary(0, 0, 0, Decimal("0.00"))


def _month_start():
    return timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _versions(db: str) -> tuple[int, int]:
    """``data_version()`` and ``_highest_id(db)`` in one round trip (a list page needs both)."""
    from comptoir.core.models import Event

    with connections[db].cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT id FROM {Event._meta.db_table} ORDER BY id DESC LIMIT 1), "
            f"(SELECT id FROM {_TABLE} ORDER BY id DESC LIMIT 1)"
        )
        version, highest = cursor.fetchone()
    return version or 0, highest or 0


def _summary_key(queryset: QuerySet[Customer], month_start, version: int) -> str | None:
    """The cache key of ``queryset``'s summary, valid until the data changes (``version``, see
    ``data_version``); None for a filter that can match nothing (e.g. an empty id list)."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return None
    fingerprint = f"{sql}|{params!r}|{month_start.isoformat()}|{version}"
    return "customers:summary:" + hashlib.sha256(fingerprint.encode()).hexdigest()


def _summary_compute(queryset: QuerySet[Customer], month_start) -> CustomerSummary:
    with connections[queryset.db].execute_wrapper(_summary_index_hint):
        figures = queryset.aggregate(
            customers=Count("id"),
            new_this_month=Count("id", filter=Q(created_at__gte=month_start)),
            newsletter_subscribers=Count("id", filter=Q(newsletter=True)),
            average_lifetime_value=Avg("total_spent"),
        )
    average = figures["average_lifetime_value"] or Decimal("0")
    return CustomerSummary(
        customers=figures["customers"],
        new_this_month=figures["new_this_month"],
        newsletter_subscribers=figures["newsletter_subscribers"],
        average_lifetime_value=Decimal(average).quantize(Decimal("0.01")),
    )


_TABLE = Customer._meta.db_table
_COLUMN_REFERENCE = re.compile(rf'"{_TABLE}"\."(\w+)"')


def _summary_index_hint(execute, sql, params, many, context):
    """The summary's aggregate, told how to read the matches of a search or a selection.

    SQLite: from the narrow ``customer_summary`` index when it holds every column the query
    names; without statistics (see ``core.bulk.tables_analyze``) SQLite looks the ids up in the
    table, whose wide rows cost twice as much (50,000 matches: 80 -> 47 ms). PostgreSQL: the
    search tested on the rows it aggregates (``search_tested_on_rows``), one pass instead of
    two."""
    vendor = context["connection"].vendor
    if vendor == "postgresql":
        sql = search_tested_on_rows(sql)
    elif (
        vendor == "sqlite"
        and f'"{_TABLE}"."id" IN (' in sql
        and set(_COLUMN_REFERENCE.findall(sql)) <= set(SUMMARY_COLUMNS)
    ):
        sql = sql.replace(f'FROM "{_TABLE}"', f'FROM "{_TABLE}" INDEXED BY "customer_summary"', 1)
        return execute_hinted(lambda hinted: execute(hinted, params, many, context), sql)
    return execute(sql, params, many, context)


def demo_customer_exists() -> bool:
    return Customer.objects.filter(is_demo=True).exists()


@dataclass(frozen=True)
class CustomerPage:
    rows: list[Customer]
    number: int
    per_page: int
    # None when the matches were not counted (``customer_page(count=False)``).
    total: int | None
    pages: int | None
    # Set when the requested page did not exist and another was shown instead.
    clamped_from: int | None = None
    # Whether a next page exists, for an uncounted page (one row was read beyond it).
    more: bool = False

    @property
    def counted(self) -> bool:
        return self.total is not None

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.more if self.pages is None else self.number < self.pages

    @property
    def start_index(self) -> int:
        empty = not self.rows if self.total is None else self.total == 0
        return 0 if empty else (self.number - 1) * self.per_page + 1

    @property
    def end_index(self) -> int:
        if self.total is None:
            return self.start_index + len(self.rows) - 1 if self.rows else 0
        return min(self.number * self.per_page, self.total)


def customer_page_numbers(*, page: int, per_page: int, total: int) -> CustomerPage:
    """Page ``page`` of ``total`` customers without its rows: the numbers the list page shows
    once its matches are counted (``customer_list_figures``)."""
    pages = max(1, -(-total // per_page))
    number = min(max(page, 1), pages)
    return CustomerPage(rows=[], number=number, per_page=per_page, total=total, pages=pages)


PAGE_SIZES = (10, 20, 50, 100, 250)


def _ordering(sort_key: str) -> tuple[list[str], list[str]]:
    """The ORDER BY for a sort key, and its exact reverse; id breaks ties so both are stable."""
    from comptoir.customers.filters import SORTS

    descending = sort_key.startswith("-")
    column = SORTS[sort_key.lstrip("-")]
    if column == "id":
        forward = ["-id" if descending else "id"]
    else:
        forward = [f"-{column}", "-id"] if descending else [column, "id"]
    reverse = [field[1:] if field.startswith("-") else f"-{field}" for field in forward]
    return forward, reverse


# How many rows of a searched list, in its order, are read for the search's first matches before
# the search's own index is asked instead (``SearchWalk``): 3-20 ms at 1M.
SEARCH_WALK_ROWS = 20_000

# The same on SQLite, whose FTS5 index is cheaper than pg_trgm's: a page of a term from its
# index costs about 1 ms plus 0.25 ms per thousand matches, a row read along the list 0.33 µs.
# At 1M they meet near 10,000 matches, whose first page lies within 5,000 rows: a walk of
# 10,000 rows (at most 3.3 ms) keeps the margin of two, where one of 20,000 (6.6 ms) cost more
# than the index for every term of 2,000 to 10,000 matches ("odri": 6.6 ms walked in vain,
# then 0.6 from the index).
SEARCH_WALK_ROWS_SQLITE = 10_000


def _search_walk_rows(db: str) -> int:
    return SEARCH_WALK_ROWS_SQLITE if connections[db].vendor == "sqlite" else SEARCH_WALK_ROWS


@dataclass(frozen=True)
class SearchWalk:
    """A searched page read as "the first rows of the list without its search that match it":
    ``unsearched``, the same list but for the search ``text``; ``walk_sort_index``, a sort key
    whose index SQLite should read ``unsearched`` along (see ``_page_ids``). See
    ``core.search.search_prefix_ids``."""

    unsearched: QuerySet
    text: str
    walk_sort_index: str | None = None


def customer_search_walk(filterset) -> SearchWalk | None:
    """How the pages of a searched ``filterset`` (a ``CustomerFilterSet``) may be read along
    its list without the search; None without a search. A search rare enough for its index to
    answer is never broad enough to walk the sort's index."""
    if not filterset.search_text:
        return None
    unsearched = filterset.unsearched_qs()
    walk = filterset.sort_key if sort_index_walk_pays(unsearched) else None
    return SearchWalk(unsearched, filterset.search_text, walk_sort_index=walk)


def customer_page(
    *,
    queryset: QuerySet[Customer],
    sort_key: str,
    page: int,
    per_page: int,
    total: int | None = None,
    count: bool = True,
    fetch: Callable[[list[int]], list[Customer]] | None = None,
    search: SearchWalk | None = None,
) -> CustomerPage:
    """One page of customers, in a fixed number of queries whatever the page size or number.

    The page's ids come from the (column, id) index alone, read from whichever end of the sort is
    nearer, so the last page costs what the first does; the rows are then fetched by id, by
    ``fetch`` (default: ``list_rows``, what the list's table shows). ``total``, when the caller
    already counted ``queryset`` (the summary cards do), saves the count query. ``search``
    (``queryset`` being searched): a first page of a frequent search is read along the list
    without the search (``_search_walk_page``); one query more when that walk is tried and
    falls short. ``count=False`` (no ``total`` at hand): one of the first ``UNCOUNTED_PAGES``
    pages is read without counting the matches (``_uncounted_page``); a later page, or one
    past the end, is counted as usual.
    """
    fetch = list_rows if fetch is None else fetch
    if total is None and not count and 1 <= page <= UNCOUNTED_PAGES:
        uncounted = _uncounted_page(queryset, sort_key, page, per_page, fetch, search)
        if uncounted is not None:
            return uncounted
    vendor = connections[queryset.db].vendor
    total = queryset.count() if total is None else total
    pages = max(1, -(-total // per_page))
    clamped_from = None
    if page > pages or page < 1:
        clamped_from, page = page, min(max(page, 1), pages)
    offset = (page - 1) * per_page
    forward, reverse = _ordering(sort_key)
    # The highest id stands for the number of customers: one lookup at the end of the primary
    # key, where a count would read the whole table.
    searched = search is not None and total > 0 and offset < total // 2
    highest = _highest_id(queryset.db) if searched or (total > 0 and vendor == "sqlite") else 0
    walk = total > 0 and vendor == "sqlite" and total >= highest * WALK_SORT_INDEX_SHARE
    found = None
    if searched:
        end = min(offset + per_page, total)
        found = _search_walk_page(search, forward, offset, end, total=total, highest=highest)
    if found is not None:
        ids = found
    elif total == 0:
        ids = []
    elif offset > total // 2:
        # Nearer the end: read the reversed order from the end and flip the result.
        end = total - offset
        ids = _page_ids(queryset, reverse, max(0, end - per_page), end, sort_key, walk, search)
        ids = ids[::-1]
    else:
        ids = _page_ids(queryset, forward, offset, offset + per_page, sort_key, walk, search)
    return CustomerPage(
        rows=fetch(ids) if ids else [],
        number=page,
        per_page=per_page,
        total=total,
        pages=pages,
        clamped_from=clamped_from,
    )


def _search_walk_page(
    search: SearchWalk, ordering: list[str], start: int, end: int, *, total: int, highest: int
) -> list[int] | None:
    """The ids ``start:end`` of the searched list, found among the first ``SEARCH_WALK_ROWS``
    (``SEARCH_WALK_ROWS_SQLITE``) rows of the list without its search, if they are there: a
    frequent term (a range of phone numbers, a common name: tens of thousands of customers)
    fills the first pages within a few thousand rows, where the search's index reads and
    checks every match (on PostgreSQL, 100 ms for 40,000). Tried only when the matches' share
    of all customers says the rows needed are well within the walk (twice the expected
    number), so a rare term costs one primary-key lookup more, not a walk that finds
    nothing."""
    rows = _search_walk_rows(search.unsearched.db)
    if end * highest > total * rows // 2:
        return None
    query = search.unsearched.order_by(*ordering).values_list("id", "search_text")
    rewrite = None
    if search.walk_sort_index and connections[search.unsearched.db].vendor == "sqlite":
        rewrite = functools.partial(sort_index_hint, sort_key=search.walk_sort_index)
    found = search_prefix_ids(query[:rows], search.text, wanted=end, rewrite=rewrite)
    return None if found is None else found[start:end]


# Pages a list shows without counting its matches first (``customer_page(count=False)``): the
# pages reached by "next" from the first; deeper ones are read from the nearer end of the sort,
# which needs the count.
UNCOUNTED_PAGES = 5

# The whole walk of an uncounted page's search on PostgreSQL (``_search_walk_staged``). Each row
# read along the list costs about 0.4 µs; each candidate pg_trgm hands over instead
# (``search_page_ids``) about 1.5 µs, and a term has one to three times as many candidates as
# matches. At 1M the two meet near 3,000 matches (0.3 %), whose first page lies within 17,000
# rows of the list: a walk four times as long as SQLite's (whose FTS5 index answers such a term
# in 1-3 ms), tried when the first look promises the page within its half (at least 6 matches in
# 2,000 rows).
SEARCH_WALK_ROWS_POSTGRESQL = 2 * SEARCH_WALK_ROWS

# The first look of an uncounted page's search walk (``_search_walk_staged``): a page of 50 of a
# term that 2.5 % of the customers match lies within it.
SEARCH_WALK_FIRST = 2_000


def _uncounted_page(queryset, sort_key, page, per_page, fetch, search) -> CustomerPage | None:
    """Page ``page`` read without counting the matches: one row more than the page says
    whether another follows; when none does, the count is known after all. None when the page
    is empty (past the end, or nothing matches): the caller counts and shows the last page."""
    forward, _reverse = _ordering(sort_key)
    start, end = (page - 1) * per_page, page * per_page + 1
    if search is not None:
        found = _search_walk_staged(search, forward, end)
        if found is not None:
            ids = found[start:]
        else:
            # Not found along the walk: too rare a term for the sort's index to pay either.
            ids = _page_ids(queryset, forward, start, end, search=search)
    else:
        walk = sort_index_walk_pays(queryset)
        ids = _page_ids(queryset, forward, start, end, sort_key, walk)
    if not ids:
        return None
    more = len(ids) > per_page
    ids = ids[:per_page]
    return CustomerPage(
        rows=fetch(ids),
        number=page,
        per_page=per_page,
        total=None if more else start + len(ids),
        pages=None if more else page,
        more=more,
    )


def _search_walk_staged(search: SearchWalk, ordering: list[str], wanted: int) -> list[int] | None:
    """The first ``wanted`` ids of the searched list read along the list without the search,
    as ``_search_walk_page`` does, when no count says beforehand whether the walk will find
    them: first among its first ``SEARCH_WALK_FIRST`` rows, then among ``SEARCH_WALK_ROWS_SQLITE``
    (``SEARCH_WALK_ROWS_POSTGRESQL``) if the share matching at first says they lie well within
    (twice). A rare term costs that first look (a millisecond or two), then its own index
    answers. None: the index must answer."""
    query = search.unsearched.order_by(*ordering).values_list("id", "search_text")
    rewrite = None
    if search.walk_sort_index and connections[search.unsearched.db].vendor == "sqlite":
        rewrite = functools.partial(sort_index_hint, sort_key=search.walk_sort_index)
    first = search_prefix_ids(
        query[:SEARCH_WALK_FIRST], search.text, wanted=wanted, rewrite=rewrite, partial=True
    )
    if len(first) == wanted:
        return first
    rows = SEARCH_WALK_ROWS_SQLITE
    if connections[search.unsearched.db].vendor == "postgresql":
        rows = SEARCH_WALK_ROWS_POSTGRESQL
    if not first or wanted * SEARCH_WALK_FIRST // len(first) > rows // 2:
        return None
    return search_prefix_ids(query[:rows], search.text, wanted=wanted, rewrite=rewrite)


def _in_language(names) -> str:
    return names.name_en if (get_language() or "fr").startswith("en") else names.name_fr


class GroupBadge(NamedTuple):
    """A group as the list's rows show it: its id and names, no model instance."""

    pk: int
    name_fr: str
    name_en: str

    name = property(_in_language)


class TitleBadge(NamedTuple):
    """A social title as the list's rows show it."""

    name_fr: str
    name_en: str

    name = property(_in_language)


@dataclass(slots=True)
class ListRow:
    """A customer as the list's table shows it (``templatetags.customer_list._RowWriter``, which
    also writes a toggled cell of a ``Customer``): the same names, plain values read in one
    query. Reading a page of 50 as models (``select_related``, ``only``, ``in_bulk``) cost 1.9
    ms on SQLite, as values 0.8."""

    pk: int
    title: TitleBadge | None
    first_name: str
    last_name: str
    email: str
    company: str
    default_group_id: int | None
    total_spent: Decimal
    orders_count: int
    created_at: datetime
    last_visit_at: datetime | None
    country: Country
    tags_text: str
    is_enabled: bool
    newsletter: bool
    partner_offers: bool
    list_groups: list[GroupBadge]

    id = property(lambda self: self.pk)
    full_name = Customer.full_name
    __str__ = Customer.__str__


# What the list's cells read, in ``ListRow``'s order (the title as its two names), and nothing
# more: each further column is a value to convert per row (dates most of all): reading 50 rows
# took a third longer with every column.
LIST_ROW_FIELDS = (
    "id",
    "title__name_fr",
    "title__name_en",
    "first_name",
    "last_name",
    "email",
    "company",
    "default_group_id",
    "total_spent",
    "orders_count",
    "created_at",
    "last_visit_at",
    "country",
    "tags_text",
    "is_enabled",
    "newsletter",
    "partner_offers",
)


def list_rows(ids: list[int]) -> list[ListRow]:
    """The customers of ``ids``, in that order, as the list's table shows them (``ListRow``),
    their groups in group id order. Two queries, both of plain values: prefetching the groups
    as models took half the page's database time (a model instance per membership, and the
    prefetch machinery)."""
    memberships = (
        Membership.objects.filter(customer_id__in=ids)
        .order_by("customer_id", "group_id")
        .values_list("customer_id", "group_id", "group__name_fr", "group__name_en")
    )
    groups: dict[int, list[GroupBadge]] = {}
    for customer_id, *group in memberships:
        groups.setdefault(customer_id, []).append(GroupBadge(*group))
    countries: dict[str, Country] = {}
    by_id = {}
    for (
        pk,
        title_fr,
        title_en,
        *values,
        country,
        tags,
        enabled,
        news,
        offers,
    ) in Customer.objects.filter(id__in=ids).values_list(*LIST_ROW_FIELDS):
        if country not in countries:
            countries[country] = Country(code=country)
        title = None if title_fr is None else TitleBadge(title_fr, title_en)
        by_id[pk] = ListRow(
            pk, title, *values, countries[country], tags, enabled, news, offers, groups.get(pk, [])
        )
    return [by_id[pk] for pk in ids if pk in by_id]


# A filter matching at least this share of all customers is cheaper to read along the sort's
# own index, stopping once the page is full, than through the filter's index and a sort of every
# match: at 2 %, a page of 50 reads about 2,500 index entries.
WALK_SORT_INDEX_SHARE = 0.02


def _highest_id(db: str) -> int:
    return Customer.objects.using(db).order_by("-id").values_list("id", flat=True).first() or 0


def _page_ids(
    queryset,
    ordering,
    start: int,
    end: int,
    sort_key: str = "",
    walk: bool = False,
    search: SearchWalk | None = None,
) -> list[int]:
    """The ids of one page, in ``ordering``.

    SQLite's planner has no row estimates for a LIMIT: given ``country = 'FR'`` (half the shop)
    and a sort on sales, it reads the half million French customers through the country index
    and sorts them all (300 ms), where walking the sales index and keeping the French ones stops
    after a few hundred rows. ``walk`` (a filter that is not selective) makes it take the sort's
    index with ``INDEXED BY``. PostgreSQL weighs the LIMIT itself from its statistics, except
    for a search (``search``, ``queryset`` being searched): see ``search_page_ids``.
    """
    query = queryset.order_by(*ordering).values_list("id", flat=True)[start:end]
    if search is not None and connections[queryset.db].vendor == "postgresql":
        return search_page_ids(query)
    if not walk:  # (only ever set on SQLite)
        return list(query)
    return [row[0] for row in rows_along_sort_index(query, sort_key)]


def sort_index_hint(sql: str, sort_key: str) -> str:
    """``sql`` (a query over customers sorted on ``sort_key``, its select list plain columns)
    told, on SQLite, to read the customers along the sort's own index (see ``_page_ids``)."""
    from comptoir.customers.filters import SORTS

    column = SORTS[sort_key.lstrip("-")]
    # The primary key is the table itself (rowid order): no index at all is the walk.
    hint = "NOT INDEXED" if column == "id" else f'INDEXED BY "customer_sort_{column}"'
    table = Customer._meta.db_table
    # The first FROM is the outer query's: the select list (plain columns) holds no subquery.
    sql = re.sub(rf'FROM "{table}"(?=\s|$)', f'FROM "{table}" {hint}', sql, count=1)
    if column == "id":
        # NOT INDEXED still lets SQLite look the search's matches up by rowid, one by one, and
        # sort them all (45,000 of them for a frequent phone fragment: 55 ms); "+id" makes the
        # search a membership test along the walk (15 ms).
        sql = sql.replace(
            f'"{table}"."id" IN (SELECT rowid FROM', f'+"{table}"."id" IN (SELECT rowid FROM'
        )
    return sql


def rows_along_sort_index(query: QuerySet, sort_key: str) -> list[tuple]:
    """The rows of ``query`` (a values_list over customers, sorted on ``sort_key``), read on
    SQLite along the sort's own index (``INDEXED BY``; see ``_page_ids``)."""
    sql, params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        hinted = sort_index_hint(sql, sort_key)
        execute_hinted(lambda statement: cursor.execute(statement, params), hinted)
        return cursor.fetchall()


# How long the answer of sort_index_walk_pays is kept for one filter (seconds): it only picks
# how a page is read, never which rows it holds, so a stale answer costs time, not correctness.
WALK_PROBE_SECONDS = 60
_walk_probes: dict[tuple, tuple[float, bool]] = {}
_WALK_PROBES_MAX = 256


def sort_index_probes_clear() -> None:
    """Forget the probes' answers (the tests, whose data changes under the same filters)."""
    _walk_probes.clear()


def sort_index_walk_pays(queryset: QuerySet[Customer]) -> bool:
    """Whether a page of ``queryset`` is better read along the sort's index: on SQLite, when it
    matches at least ``WALK_SORT_INDEX_SHARE`` of the customers. Found without counting them
    all (the API has no count at hand, as the list page has): one probe that stops at that many
    matches, a few milliseconds at 1M where a count of a broad filter reads all of it; kept a
    minute per filter in this process, as an integration pages through one filter many times."""
    if connections[queryset.db].vendor != "sqlite":
        return False
    try:
        sql, params = queryset.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:
        return False
    key = (queryset.db, sql, tuple(map(str, params)))
    now = time.monotonic()
    kept = _walk_probes.get(key)
    if kept is not None and now - kept[0] < WALK_PROBE_SECONDS:
        return kept[1]
    needed = max(1, int(_highest_id(queryset.db) * WALK_SORT_INDEX_SHARE))
    pays = queryset.order_by()[needed - 1 : needed].exists()
    if len(_walk_probes) >= _WALK_PROBES_MAX:
        _walk_probes.clear()
    _walk_probes[key] = (now, pays)
    return pays


# The list page's own reads: what the staff member keeps (columns, saved views) and which
# customers a bulk action would change.


def list_preference_get(*, user) -> ListPreference | None:
    """The staff member's remembered list arrangement, if they ever changed it."""
    return ListPreference.objects.filter(user=user).first()


def saved_views_for(*, user) -> list[SavedView]:
    """The staff member's saved views, by name. Each is private to its owner."""
    return list(SavedView.objects.filter(owner=user).only("id", "name", "query"))


def customer_selection(
    *, queryset: QuerySet[Customer], ids: Iterable[int] | None = None
) -> QuerySet[Customer]:
    """The customers a bulk action applies to: those matching the list's filter, or only the
    given ids among them. Ids outside the filter (a row deleted or changed meanwhile) drop out
    rather than being acted upon unseen."""
    if ids is None:
        return queryset
    return queryset.filter(id__in=sorted(set(ids)))


def customers_bulk_targets(
    *,
    selection: QuerySet[Customer],
    action: str,
    group: Group | None = None,
    tag_name: str = "",
    delete_mode: str | None = None,
) -> QuerySet[Customer]:
    """The customers of ``selection`` that ``action`` would really change.

    Enabling an enabled customer or adding a member to their group changes nothing, so counts
    and events only cover these. The confirmation page counts them; the bulk services act on
    exactly them.
    """
    column_sets = {
        BulkAction.ENABLE: ("is_enabled", True),
        BulkAction.DISABLE: ("is_enabled", False),
        BulkAction.NEWSLETTER_ON: ("newsletter", True),
        BulkAction.NEWSLETTER_OFF: ("newsletter", False),
        BulkAction.PARTNER_OFFERS_ON: ("partner_offers", True),
        BulkAction.PARTNER_OFFERS_OFF: ("partner_offers", False),
        BulkAction.TAX_EXEMPT_ON: ("is_tax_exempt", True),
        BulkAction.TAX_EXEMPT_OFF: ("is_tax_exempt", False),
        BulkAction.BLOCK: ("is_blocked", True),
        BulkAction.UNBLOCK: ("is_blocked", False),
    }
    if action in column_sets:
        column, value = column_sets[action]
        return selection.exclude(**{column: value})
    # "Not in the group / without the tag" is NOT EXISTS, never NOT IN (subquery): PostgreSQL
    # cannot turn NOT IN into an anti-join, and once the subquery outgrows work_mem (a group of
    # a million members) it rescans it for every customer.
    if action in (BulkAction.ADD_GROUP, BulkAction.REMOVE_GROUP):
        if group is None:
            return selection.none()
        membership = Membership.objects.filter(group=group, customer_id=OuterRef("pk"))
        if action == BulkAction.ADD_GROUP:
            return selection.filter(~Exists(membership))
        # The default group cannot be left; those customers stay in it.
        return selection.filter(Exists(membership)).exclude(default_group=group)
    if action == BulkAction.RESET_GROUPS:
        others = Membership.objects.filter(customer_id=OuterRef("pk")).exclude(
            group_id=OuterRef("default_group_id")
        )
        return selection.filter(Exists(others))
    if action in (BulkAction.ADD_TAG, BulkAction.REMOVE_TAG):
        tag = Tag.objects.filter(name_key=tag_name.strip().lower()).first()
        if tag is None:
            # A tag that does not exist yet is new to everyone; nobody can lose it.
            return selection if action == BulkAction.ADD_TAG else selection.none()
        tagged = Customer.tags.through.objects.filter(tag=tag, customer_id=OuterRef("pk"))
        if action == BulkAction.ADD_TAG:
            return selection.filter(~Exists(tagged))
        return selection.filter(Exists(tagged))
    if action == BulkAction.DELETE:
        if delete_mode == DeleteMode.DENY_REREGISTRATION:
            return selection.filter(deleted_at__isnull=True)
        if delete_mode == DeleteMode.ANONYMISE:
            return selection.filter(anonymised_at__isnull=True)
        if delete_mode == DeleteMode.ALLOW_REREGISTRATION:
            return selection
        return selection.none()
    raise ValueError(f"Unknown bulk action: {action!r}")
