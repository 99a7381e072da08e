"""WooCommerce: Analytics > Customers > Download (the name in one cell, no street), and the
customer export plugins, which use the user-meta keys (``billing_*``, ``shipping_*``, also the
REST API's field names).

"customer_id" is WooCommerce's id, kept as the external id (0 for guests: no id). Order counts
and totals are figures the orders will give again: not imported.
"""

from django.utils.translation import gettext_lazy as _

from comptoir.transfer.formats.base import Format

ANALYTICS = Format(
    key="woocommerce_analytics",
    label=_("WooCommerce (Analytics customers report)"),
    columns={
        "Name": "full_name",
        "Username": "",
        "Last Active": "",
        "Sign Up": "created_at",
        "Email": "email",
        "Orders": "",
        "Total Spend": "",
        "AOV": "",
        "Country / Region": "address.country",
        "Country": "address.country",
        "City": "address.city",
        "Region": "address.state",
        "Postal Code": "address.postcode",
        "Billing Phone": "phone",
        "Shipping Phone": "",
        "Role": "",
    },
    signatures={"analytics report": ["Name", "Username", "Last Active", "Sign Up", "Email"]},
    day_first=False,
)

_ADDRESS_KEYS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company",
    "address_1": "address1",
    "address_2": "address2",
    "postcode": "postcode",
    "city": "city",
    "state": "state",
    "country": "country",
    "phone": "phone",
}

PLUGIN = Format(
    key="woocommerce",
    label=_("WooCommerce (customer export plugin)"),
    columns={
        "customer_id": "external_id",
        "id": "external_id",
        "first_name": "first_name",
        "last_name": "last_name",
        "email": "email",
        "username": "",
        "role": "",
        "date_registered": "created_at",
        "date_created": "created_at",
        "billing_email": "",
        "billing_phone": "phone",
        **{f"billing_{key}": f"billing.{name}" for key, name in _ADDRESS_KEYS.items()},
        **{
            f"shipping_{key}": f"shipping.{name}"
            for key, name in _ADDRESS_KEYS.items()
            if key != "phone"
        },
        "shipping_phone": "shipping.phone",
        "total_spent": "",
        "order_count": "",
        "orders_count": "",
    },
    signatures={
        "customer export": ["first_name", "last_name", "email", "billing_address_1"],
    },
    day_first=False,
)

FORMATS = (ANALYTICS, PLUGIN)
