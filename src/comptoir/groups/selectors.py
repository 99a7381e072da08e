"""Reads of groups: the default group, the groups list with member counts, what deleting a
group would move."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.utils.translation import get_language

from comptoir.groups.models import Group

GROUPS_PER_PAGE = 50
# As long as the customers list's summary cards: the data version already ends a stale entry
# at the next change; this bounds it when the data changed without an event (a bulk load).
MEMBER_COUNTS_CACHE_SECONDS = 600


def group_default() -> Group:
    """The default group; there is always exactly one (the demo or the first migration makes it)."""
    return Group.objects.get(is_default=True)


def groups_ordered() -> QuerySet[Group]:
    """Every group, the default first, then by name in the active language (id breaks ties)."""
    name = "name_en" if (get_language() or "fr").startswith("en") else "name_fr"
    return Group.objects.order_by("-is_default", name, "id")


def group_member_counts() -> dict[int, int]:
    """{group id: number of live customers in it}, the number the customers list filtered on
    the group shows (closed and anonymised accounts left out).

    One grouped query over the memberships, kept until the data changes (every change writes
    an event, so the newest event id is the data version): at a million memberships the query
    reads them all, the cache answers with one indexed lookup.
    """
    from comptoir.customers.models import Membership
    from comptoir.customers.selectors import data_version

    key = f"groups:member_counts:{data_version()}"
    counts = cache.get(key)
    if counts is None:
        rows = (
            Membership.objects.filter(
                customer__deleted_at__isnull=True, customer__anonymised_at__isnull=True
            )
            .values_list("group_id")
            .annotate(members=Count("id"))
            .order_by()
        )
        counts = dict(rows)
        cache.set(key, counts, MEMBER_COUNTS_CACHE_SECONDS)
    return counts


@dataclass(frozen=True)
class GroupRow:
    group: Group
    members: int


def group_page(*, page: int | str | None) -> tuple[Page, list[GroupRow]]:
    """One page of the groups list with each group's member count, in a fixed number of
    queries: the count of groups, the page's rows, the data version and (when not cached) the
    member counts. A page number out of range or not a number gives the nearest page."""
    paginator = Paginator(groups_ordered(), GROUPS_PER_PAGE)
    current = paginator.get_page(page)
    counts = group_member_counts()
    rows = [GroupRow(group=group, members=counts.get(group.pk, 0)) for group in current]
    return current, rows


@dataclass(frozen=True)
class GroupMembership:
    """Who is in a group, as the delete screen tells it before anything moves."""

    members: int  # every customer in the group, closed and anonymised accounts included
    default_for: int  # of them, customers whose default group it is


def group_membership(*, group: Group) -> GroupMembership:
    """Exact counts for one group, each from an index (membership by group, customer by
    default group)."""
    from comptoir.customers.models import Customer, Membership

    return GroupMembership(
        members=Membership.objects.filter(group=group).count(),
        default_for=Customer.objects.filter(default_group=group).count(),
    )
