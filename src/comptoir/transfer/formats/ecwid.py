"""Ecwid (Lightspeed E-Series): the historic customer import (``"name","email","password"``)
and the fields of its current template under their plain English names (the full template is
not published; other columns are left to the user's mapping).
"""

from django.utils.translation import gettext_lazy as _

from comptoir.transfer.formats.base import Format

FORMAT = Format(
    key="ecwid",
    label=_("Ecwid"),
    columns={
        "name": "full_name",
        "customer name": "full_name",
        "email": "email",
        "customer email": "email",
        "password": "password",
        "phone": "phone",
        "customer phone": "phone",
        "group": "default_group",
        "customer group": "default_group",
        "tax exempt": "is_tax_exempt",
        "accepts marketing": "newsletter",
        "company": "company",
        "shipping name": "shipping.full_name",
        "shipping company": "shipping.company",
        "shipping address": "shipping.street",
        "shipping street": "shipping.street",
        "shipping city": "shipping.city",
        "shipping zip": "shipping.postcode",
        "shipping postal code": "shipping.postcode",
        "shipping state": "shipping.state",
        "shipping country": "shipping.country",
        "shipping phone": "shipping.phone",
    },
    signatures={
        "customer import": ["name", "email", "password"],
        "customer template": ["name", "email", "accepts marketing"],
    },
)

FORMATS = (FORMAT,)
