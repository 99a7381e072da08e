"""Forms of the customers section, one module per screen family:

- ``listing``: the customers list (filters, page, summary, bulk targets, saved views);
- ``profile``: the create and edit pages (customer, addresses) and the settings page.

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
from comptoir.customers.forms.profile import (
    AddressForm,
    AddressFormSet,
    BaseAddressFormSet,
    CustomerForm,
    CustomerSettingsForm,
    TitleForm,
    service_errors_apply,
    tags_parse,
    title_forms,
)

__all__ = [
    "BULK_ACTION_CHOICES",
    "COLUMNS",
    "DEFAULT_COLUMNS",
    "DEFAULT_PER_PAGE",
    "AddressForm",
    "AddressFormSet",
    "BaseAddressFormSet",
    "BulkActionForm",
    "Column",
    "CustomerForm",
    "CustomerSettingsForm",
    "ListDisplay",
    "SavedViewForm",
    "SelectionForm",
    "TitleForm",
    "filter_form_polish",
    "list_display_parse",
    "service_errors_apply",
    "tags_parse",
    "title_forms",
]
