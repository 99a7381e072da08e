"""Reads of customers, one module per screen family:

- ``listing``: the customers list (filters, page, summary, bulk targets, saved views).

Everything public is importable from ``comptoir.customers.selectors``.
"""

from comptoir.customers.selectors.listing import (
    PAGE_SIZES,
    SUMMARY_CACHE_SECONDS,
    CustomerPage,
    CustomerSummary,
    customer_find_by_email,
    customer_page,
    customer_selection,
    customer_summary,
    customers_bulk_targets,
    customers_live,
    data_version,
    demo_customer_exists,
    list_preference_get,
    saved_views_for,
)

__all__ = [
    "PAGE_SIZES",
    "SUMMARY_CACHE_SECONDS",
    "CustomerPage",
    "CustomerSummary",
    "customer_find_by_email",
    "customer_page",
    "customer_selection",
    "customer_summary",
    "customers_bulk_targets",
    "customers_live",
    "data_version",
    "demo_customer_exists",
    "list_preference_get",
    "saved_views_for",
]
