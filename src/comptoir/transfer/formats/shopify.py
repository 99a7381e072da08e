"""Shopify: the customers export (current, 2023+), the import template, and the legacy
export/template (before 2022); plus the consent columns apps add and the metafield columns
newer exports append (not imported).

"Customer ID" is Shopify's id, kept as the external id (it may start with an apostrophe).
Booleans are yes/no; tags are comma-separated in one cell. Totals are not imported.
"""

from django.utils.translation import gettext_lazy as _

from comptoir.transfer.formats.base import Format

FORMAT = Format(
    key="shopify",
    label=_("Shopify"),
    columns={
        "Customer ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Accepts Email Marketing": "newsletter",
        "Default Address Company": "address.company",
        "Default Address Address1": "address.address1",
        "Default Address Address2": "address.address2",
        "Default Address City": "address.city",
        "Default Address Province Code": "address.state",
        "Default Address Country Code": "address.country",
        "Default Address Zip": "address.postcode",
        "Default Address Phone": "address.phone",
        "Phone": "phone",
        "Accepts SMS Marketing": "sms",
        "Accepts WhatsApp Marketing": "",
        "Total Spent": "",
        "Total Orders": "",
        "Note": "note",
        "Tax Exempt": "is_tax_exempt",
        "Tags": "tags",
        # Legacy (before 2022)
        "Company": "address.company",
        "Address1": "address.address1",
        "Address2": "address.address2",
        "City": "address.city",
        "Province": "address.state",
        "Province Code": "address.state",
        "Country": "address.country",
        "Country Code": "address.country",
        "Zip": "address.postcode",
        "Accepts Marketing": "newsletter",
        # Consent columns written by apps (Matrixify, BulkFlow)
        "Email Marketing: Status": "newsletter",
        "Email Marketing: Level": "newsletter_opt_in",
        "Email Marketing: Updated At": "newsletter_at",
        "SMS Marketing: Status": "sms",
        "SMS Marketing: Level": "",
        "SMS Marketing: Updated At": "sms_at",
    },
    signatures={
        "export": ["Customer ID", "First Name", "Last Name", "Email", "Accepts Email Marketing"],
        "import template": ["First Name", "Last Name", "Email", "Accepts Email Marketing"],
        "legacy": ["First Name", "Last Name", "Email", "Accepts Marketing", "Address1"],
    },
    day_first=False,
    ignored_patterns=(r"\(customer\.metafields\.[^)]*\)\s*$",),
)

FORMATS = (FORMAT,)
