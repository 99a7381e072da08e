"""Reads of customers, one module per screen family:

- ``listing``: the customers list (filters, page, summary, bulk targets, saved views);
- ``detail``: one customer's page (key figures, sales rank, its blocks page by page).

Everything public is importable from ``comptoir.customers.selectors``.
"""

from comptoir.customers.selectors.detail import (
    BLOCK_NAMES,
    Block,
    BlockPage,
    CustomerBlock,
    CustomerDetail,
    KeyFigures,
    customer_detail,
    customer_detail_block,
    customer_for_page,
    customer_key_figures,
    customer_sales_rank,
)
from comptoir.customers.selectors.lifecycle import (
    MERGE_FIELDS,
    MergePreview,
    customer_guests_to_fold,
    customer_merge_candidates,
    customer_merge_preview,
    customer_personal_data,
)
from comptoir.customers.selectors.listing import (
    PAGE_SIZES,
    SUMMARY_CACHE_SECONDS,
    UNCOUNTED_PAGES,
    CustomerPage,
    CustomerSummary,
    customer_find_by_email,
    customer_page,
    customer_page_numbers,
    customer_search_walk,
    customer_selection,
    customer_summary,
    customer_summary_known,
    customers_bulk_targets,
    customers_live,
    data_version,
    demo_customer_exists,
    list_preference_get,
    saved_views_for,
)

__all__ = [
    "BLOCK_NAMES",
    "MERGE_FIELDS",
    "PAGE_SIZES",
    "SUMMARY_CACHE_SECONDS",
    "UNCOUNTED_PAGES",
    "Block",
    "BlockPage",
    "CustomerBlock",
    "CustomerDetail",
    "CustomerPage",
    "CustomerSummary",
    "KeyFigures",
    "MergePreview",
    "customer_detail",
    "customer_detail_block",
    "customer_find_by_email",
    "customer_for_page",
    "customer_guests_to_fold",
    "customer_key_figures",
    "customer_merge_candidates",
    "customer_merge_preview",
    "customer_page",
    "customer_page_numbers",
    "customer_personal_data",
    "customer_sales_rank",
    "customer_search_walk",
    "customer_selection",
    "customer_summary",
    "customer_summary_known",
    "customers_bulk_targets",
    "customers_live",
    "data_version",
    "demo_customer_exists",
    "list_preference_get",
    "saved_views_for",
]
