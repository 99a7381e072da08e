"""Magento 2 (System > Data Transfer): the customers main file, the addresses file, and the
composite file (customers and addresses in one, with continuation rows: a row whose customer
columns are empty adds an address to the customer above).

A customer is known by its e-mail (``_website`` is Magento's scope, not ours). Magento's
password hashes cannot be reused: such customers must reset their password. Dates come as
``2015-10-30 12:49:47`` or month first (``5/6/2012 15:53``); ``gender`` is Male/Female.
"""

from django.utils.translation import gettext_lazy as _

from comptoir.transfer.formats.base import Format

_CUSTOMER = {
    "email": "email",
    "_website": "",
    "_store": "",
    "confirmation": "",
    "created_at": "created_at",
    "created_in": "",
    "disable_auto_group_change": "",
    "dob": "birthday",
    "firstname": "first_name",
    "gender": "gender",
    "group_id": "",
    "lastname": "last_name",
    "middlename": "",
    "password_hash": "password_hash",
    "prefix": "title",
    "reward_update_notification": "",
    "reward_warning_notification": "",
    "rp_token": "",
    "rp_token_created_at": "",
    "store_id": "",
    "suffix": "",
    "taxvat": "vat_number",
    "updated_at": "",
    "website_id": "",
    "password": "password",
}
_ADDRESS = {
    "city": "address.city",
    "company": "address.company",
    "country_id": "address.country",
    "fax": "",
    "firstname": "address.first_name",
    "lastname": "address.last_name",
    "middlename": "",
    "postcode": "address.postcode",
    "prefix": "",
    "region": "address.state",
    "region_id": "",
    "street": "address.street",
    "suffix": "",
    "telephone": "address.phone",
    "vat_id": "address.vat_number",
    "vat_is_valid": "",
    "vat_request_date": "",
    "vat_request_id": "",
    "vat_request_success": "",
}
_DEFAULTS = {
    "_address_default_billing_": "address.default_billing",
    "_address_default_shipping_": "address.default_shipping",
}

CUSTOMERS = Format(
    key="magento",
    label=_("Magento 2 (customers main file)"),
    columns=_CUSTOMER,
    signatures={"customers main file": ["email", "_website", "firstname", "lastname"]},
    day_first=False,
)

ADDRESSES = Format(
    key="magento_addresses",
    label=_("Magento 2 (customer addresses)"),
    columns={"_website": "", "_email": "email", "_entity_id": "", **_ADDRESS, **_DEFAULTS},
    signatures={"addresses": ["_website", "_email", "street", "city"]},
    day_first=False,
    continuation_rows=True,
)

COMPOSITE = Format(
    key="magento_composite",
    label=_("Magento 2 (customers and addresses)"),
    columns={
        **_CUSTOMER,
        **{f"_address_{key}": target for key, target in _ADDRESS.items()},
        **_DEFAULTS,
    },
    signatures={"composite": ["email", "_website", "_address_city", "_address_street"]},
    day_first=False,
    continuation_rows=True,
)

FORMATS = (COMPOSITE, CUSTOMERS, ADDRESSES)
