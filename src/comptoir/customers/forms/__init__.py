"""Forms of the customers section, one module per screen family:

- ``listing``: the customers list (filters, page, summary, bulk targets, saved views).

Everything public is importable from ``comptoir.customers.forms``.
"""

from comptoir.customers.forms.listing import (
    BULK_ACTION_CHOICES,
    COLUMNS,
    DEFAULT_COLUMNS,
    DEFAULT_PER_PAGE,
    BulkActionForm,
    Column,
    ListDisplay,
    SavedViewForm,
    SelectionForm,
    filter_form_polish,
    list_display_parse,
)

__all__ = [
    "BULK_ACTION_CHOICES",
    "COLUMNS",
    "DEFAULT_COLUMNS",
    "DEFAULT_PER_PAGE",
    "BulkActionForm",
    "Column",
    "ListDisplay",
    "SavedViewForm",
    "SelectionForm",
    "filter_form_polish",
    "list_display_parse",
]
