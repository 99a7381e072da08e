"""Reads for the WooCommerce compatibility: key pairs, and customers as WooCommerce lists them
(registered, live customers with their default billing and shipping addresses).

The list goes through the customers list's FilterSet (search, guests, deleted accounts) and its
page selector, in a fixed number of queries whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from comptoir.core.normalise import email_key
from comptoir.customers.filters import CustomerFilterSet
from comptoir.customers.models import Address, Customer
from comptoir.customers.selectors import customer_page, customers_live
from comptoir.woocommerce.keys import consumer_key_hash
from comptoir.woocommerce.models import ConsumerKey
from comptoir.woocommerce.params import ListQuery


def consumer_key_find(*, raw: str) -> ConsumerKey | None:
    """The live pair whose consumer key is ``raw``, with its staff member; None when unknown,
    revoked, or when its staff member was deactivated or is no longer staff (as API tokens)."""
    if not raw or len(raw) > 200:
        return None
    return (
        ConsumerKey.objects.select_related("user")
        .filter(
            key_hash=consumer_key_hash(raw),
            revoked_at__isnull=True,
            user__is_active=True,
            user__is_staff=True,
        )
        .first()
    )


def consumer_keys_for(*, user) -> list[ConsumerKey]:
    """The pairs a staff member sees: their own, every one for a superuser; newest first."""
    keys = ConsumerKey.objects.select_related("user").order_by("-created_at", "-id")
    if not user.is_superuser:
        keys = keys.filter(user=user)
    return list(keys)


def consumer_key_get(*, user, pk: int) -> ConsumerKey | None:
    keys = ConsumerKey.objects.select_related("user").filter(pk=pk)
    if not user.is_superuser:
        keys = keys.filter(user=user)
    return keys.first()


@dataclass(frozen=True)
class WooCustomer:
    """A customer with what its WooCommerce object shows: the default addresses."""

    customer: Customer
    billing: Address | None
    shipping: Address | None


@dataclass(frozen=True)
class WooPage:
    rows: list[WooCustomer]
    total: int
    pages: int


# The largest id a database row can have (a 64-bit integer).
ID_MAX = 2**63 - 1
# WooCommerce's orderby, as the customers list's sort keys.
SORT_KEYS = {"id": "id", "include": "id", "name": "first_name", "registered_date": "registration"}


def woo_customers(query: ListQuery) -> QuerySet[Customer]:
    """The customers a list query matches: registered (WooCommerce lists users, not guests), not
    deleted, filtered by search, e-mail, ids and role. As in WooCommerce, ``email`` replaces
    ``search`` when both are given."""
    data = {"guest": "false"}
    if query.search.strip() and not query.email:
        data["q"] = query.search
    queryset = CustomerFilterSet(data, queryset=Customer.objects.all()).qs
    if query.role not in ("all", "customer"):
        # Comptoir's customers are WordPress's "customer" role; no one holds the others.
        return queryset.none()
    if query.email:
        queryset = queryset.filter(email_key=email_key(query.email))
    if query.include:
        # An id no row can have (beyond a 64-bit integer) matches nothing, not everything.
        include = [pk for pk in query.include if pk <= ID_MAX]
        queryset = queryset.filter(id__in=include) if include else queryset.none()
    if query.exclude:
        queryset = queryset.exclude(id__in=[pk for pk in query.exclude if pk <= ID_MAX])
    return queryset


def _with_addresses(customers: list[Customer]) -> list[WooCustomer]:
    """The customers with their default addresses, in one query."""
    billing: dict[int, Address] = {}
    shipping: dict[int, Address] = {}
    if customers:
        defaults = Address.objects.filter(
            Q(is_default_billing=True) | Q(is_default_shipping=True),
            customer_id__in=[customer.pk for customer in customers],
        )
        for address in defaults:
            if address.is_default_billing:
                billing[address.customer_id] = address
            if address.is_default_shipping:
                shipping[address.customer_id] = address
    return [
        WooCustomer(customer, billing.get(customer.pk), shipping.get(customer.pk))
        for customer in customers
    ]


def woo_customers_page(*, query: ListQuery) -> WooPage:
    """One page of the list: the rows, the total and the number of pages."""
    queryset = woo_customers(query)
    total = queryset.count()
    per_page, start = query.per_page, query.start
    pages = -(-total // per_page)
    if start >= total:
        customers: list[Customer] = []
    elif query.orderby == "include" and query.include:
        # WordPress orders by the position in ``include`` (MySQL's FIELD()).
        found = set(queryset.values_list("id", flat=True))
        ordered = [pk for pk in query.include if pk in found]
        if query.order == "desc":
            ordered.reverse()
        customers = _by_ids(ordered[start : start + per_page])
    else:
        sort_key = SORT_KEYS[query.orderby]
        if query.order == "desc":
            sort_key = f"-{sort_key}"
        if start % per_page == 0:
            customers = customer_page(
                queryset=queryset,
                sort_key=sort_key,
                page=start // per_page + 1,
                per_page=per_page,
                total=total,
                fetch=_by_ids,
            ).rows
        else:
            # An ``offset`` that falls mid-page: the plain slice of the same order.
            column = {"first_name": "first_name", "registration": "created_at", "id": "id"}[
                sort_key.lstrip("-")
            ]
            descending = sort_key.startswith("-")
            ordering = [f"-{column}", "-id"] if descending else [column, "id"]
            ids = list(
                queryset.order_by(*dict.fromkeys(ordering)).values_list("id", flat=True)[
                    start : start + per_page
                ]
            )
            customers = _by_ids(ids)
    return WooPage(rows=_with_addresses(customers), total=total, pages=pages)


def _by_ids(ids: list[int]) -> list[Customer]:
    by_id = Customer.objects.in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def woo_customer_get(*, customer_id: int) -> WooCustomer | None:
    """A registered, live customer by id, with its default addresses; None otherwise."""
    customer = customers_live().filter(pk=customer_id, is_guest=False).first()
    if customer is None:
        return None
    return _with_addresses([customer])[0]
