"""Our customer as WooCommerce's v3 customer object, and a WooCommerce body as our changes.

Reading (ours → WooCommerce):

- ``id``, ``email``, ``first_name``, ``last_name``; ``date_created`` is the registration date and
  ``date_modified`` the last profile change, each in the shop's time zone and in UTC (``_gmt``);
- ``role`` is always ``customer`` and ``username`` the e-mail (Comptoir has no user names);
- ``billing`` is the default billing address, ``shipping`` the default shipping address (empty
  strings when there is none). ``billing.email`` is the account e-mail; ``billing.phone`` the
  customer's phone, else the address's; ``billing.company`` falls back to the customer's company;
- ``is_paying_customer`` says whether the customer has a valid order; ``avatar_url`` is the
  Gravatar address of the e-mail; ``meta_data`` is always empty.

Writing (WooCommerce → ours), every field optional unless said:

- ``email``, ``first_name``, ``last_name`` set the profile (on creation, names missing at the top
  level are taken from ``billing``, then ``shipping``); ``password`` the storefront password;
- ``billing.phone`` sets the customer's phone; ``billing.email`` is ignored (the account e-mail
  is the billing e-mail here);
- the other ``billing``/``shipping`` fields set the default billing/shipping address, created
  when the customer has none and the request gives one (an address line, a city, a country...);
  an address name left empty takes the customer's name;
- ``username``, ``role``, ``meta_data`` and the read-only fields are accepted and ignored.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.customers.models import Address
from comptoir.woocommerce.errors import WooError, invalid_params, missing_params
from comptoir.woocommerce.selectors import WooCustomer

# WooCommerce's address fields and ours.
ADDRESS_FIELDS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company",
    "address_1": "address1",
    "address_2": "address2",
    "city": "city",
    "state": "state",
    "postcode": "postcode",
    "country": "country",
    "phone": "phone",
}
WOO_ADDRESS_FIELD = {ours: woo for woo, ours in ADDRESS_FIELDS.items()}
BILLING_ORDER = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "postcode",
    "country",
    "state",
    "email",
    "phone",
)
SHIPPING_ORDER = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "postcode",
    "country",
    "state",
    "phone",
)
# An address is only created from these: names, a phone or a company alone are not an address.
ADDRESS_CONTENT = ("address1", "address2", "city", "state", "postcode", "country")


def _wc_date(moment: datetime.datetime | None) -> tuple[str | None, str | None]:
    """WooCommerce's pair: the shop's local time and UTC, both without an offset."""
    if moment is None:
        return None, None
    local = timezone.localtime(moment).replace(tzinfo=None, microsecond=0)
    utc = moment.astimezone(datetime.UTC).replace(tzinfo=None, microsecond=0)
    return local.isoformat(), utc.isoformat()


def avatar_url(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"https://secure.gravatar.com/avatar/{digest}?s=96&d=mm&r=g"


def _address_values(address: Address | None) -> dict[str, str]:
    if address is None:
        return {woo: "" for woo in ADDRESS_FIELDS}
    return {
        woo: str(getattr(address, ours).code if ours == "country" else getattr(address, ours))
        for woo, ours in ADDRESS_FIELDS.items()
    }


def customer_to_woo(record: WooCustomer, *, collection_url: str) -> dict[str, Any]:
    """The v3 customer object of ``record``. ``collection_url`` is the absolute URL of
    ``/wp-json/wc/v3/customers``, for the ``_links``."""
    customer = record.customer
    billing_values = _address_values(record.billing)
    billing_values["email"] = customer.email
    billing_values["phone"] = customer.phone or billing_values["phone"]
    billing_values["company"] = billing_values["company"] or customer.company
    shipping_values = _address_values(record.shipping)
    created, created_gmt = _wc_date(customer.created_at)
    modified, modified_gmt = _wc_date(customer.updated_at)
    return {
        "id": customer.pk,
        "date_created": created,
        "date_created_gmt": created_gmt,
        "date_modified": modified,
        "date_modified_gmt": modified_gmt,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "role": "customer",
        "username": customer.email,
        "billing": {name: billing_values[name] for name in BILLING_ORDER},
        "shipping": {name: shipping_values[name] for name in SHIPPING_ORDER},
        "is_paying_customer": customer.orders_count > 0,
        "avatar_url": avatar_url(customer.email),
        "meta_data": [],
        "_links": {
            "self": [{"href": f"{collection_url}/{customer.pk}"}],
            "collection": [{"href": collection_url}],
        },
    }


def _fields_tree(fields: list[str]) -> dict[str, Any]:
    """``["id", "billing.city"]`` as ``{"id": True, "billing": {"city": True}}``; a whole field
    asked for wins over its parts."""
    tree: dict[str, Any] = {}
    for path in fields:
        node = tree
        *parents, last = path.split(".")
        for part in parents:
            child = node.get(part)
            if child is True:
                break
            node = node.setdefault(part, {})
        else:
            node[last] = True
    return tree


def _fields_pick(data: dict[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, value in data.items():
        wanted = tree.get(name)
        if wanted is True:
            kept[name] = value
        elif isinstance(wanted, dict) and isinstance(value, dict):
            kept[name] = _fields_pick(value, wanted)
    return kept


def fields_keep(data: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """WordPress's ``_fields``: only the requested fields, ``billing.city`` picking one field of
    an object (``_links`` only when asked for), in the object's own order."""
    if not fields:
        return data
    return _fields_pick(data, _fields_tree(fields))


@dataclass
class WooCustomerInput:
    """A create or update body, in our terms. Only what the body gave is set."""

    profile: dict[str, str] = field(default_factory=dict)  # first_name, last_name, email
    phone: str | None = None  # billing.phone
    password: str | None = None
    # Address fields in our names (``ADDRESS_FIELDS``' values), None when the side is absent.
    billing: dict[str, str] | None = None
    shipping: dict[str, str] | None = None


def _string(name: str, value: Any, errors: dict[str, str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors[name] = _("%(name)s is not of type string.") % {"name": name}
        return None
    # WordPress's sanitize_text_field: a number sent where text is expected is taken as text.
    return str(value).strip()


def _address_input(
    side: str, value: Any, errors: dict[str, str], *, with_phone: bool
) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors[side] = _("%(name)s is not of type object.") % {"name": side}
        return None
    fields: dict[str, str] = {}
    for woo, ours in ADDRESS_FIELDS.items():
        if woo == "phone" and not with_phone:
            continue
        name = f"{side}[{woo}]"
        text = _string(name, value.get(woo), errors)
        if text is None:
            continue
        # The address services do not check lengths (the forms do); a phone is checked as a
        # number and stored shorter (E.164).
        if woo != "phone" and len(text) > Address._meta.get_field(ours).max_length:
            errors[name] = _("This value is too long.")
            continue
        fields[ours] = text
    return fields


def woo_input_parse(body: Mapping[str, Any], *, creating: bool) -> WooCustomerInput:
    """The customer fields of a create (POST) or update (PUT) body, checked for their types.

    Raises ``WooError``: ``rest_invalid_param`` for a value of the wrong type,
    ``rest_missing_callback_param`` when creating without an e-mail or a name.
    """
    errors: dict[str, str] = {}
    data = WooCustomerInput()
    for name in ("email", "first_name", "last_name"):
        text = _string(name, body.get(name), errors)
        if text is not None:
            data.profile[name] = text
    password = body.get("password")
    if password is not None:
        if not isinstance(password, str):
            errors["password"] = _("%(name)s is not of type string.") % {"name": "password"}
        elif password:
            data.password = password
    data.billing = _address_input("billing", body.get("billing"), errors, with_phone=False)
    data.shipping = _address_input("shipping", body.get("shipping"), errors, with_phone=True)
    billing = body.get("billing")
    if isinstance(billing, Mapping):
        data.phone = _string("billing[phone]", billing.get("phone"), errors)
    if errors:
        raise invalid_params(errors)
    if creating:
        _names_fallback(data)
        missing = [
            name for name in ("email", "first_name", "last_name") if not data.profile.get(name)
        ]
        if missing:
            raise missing_params(missing)
    return data


def _names_fallback(data: WooCustomerInput) -> None:
    """WooCommerce creates customers without names; Comptoir needs them. A tool that only fills
    the addresses' names gets those."""
    for name in ("first_name", "last_name"):
        if data.profile.get(name):
            continue
        for side in (data.billing, data.shipping):
            if side and side.get(name):
                data.profile[name] = side[name]
                break


# Our services' field errors, under WooCommerce's names.


def _woo_field(name: str) -> str:
    side, _dot, field_name = name.partition(".")
    if side in ("billing", "shipping") and field_name:
        return f"{side}[{WOO_ADDRESS_FIELD.get(field_name, field_name)}]"
    if name == "phone":
        return "billing[phone]"
    if name == "company":
        return "billing[company]"
    return name


def woo_error_from_validation(error: ValidationError, *, creating: bool) -> WooError:
    """A service's refusal as WooCommerce's error: its own codes for an e-mail already taken or
    not valid, ``rest_invalid_param`` with a message per field otherwise."""
    by_field: dict[str, list[ValidationError]] = (
        error.error_dict if hasattr(error, "error_dict") else {"": error.error_list}
    )
    email_errors = by_field.get("email", [])
    codes = {item.code for item in email_errors}
    messages = [message for item in email_errors for message in item.messages]
    if "duplicate" in codes:
        if creating:
            return WooError("registration-error-email-exists", messages[0], 400)
        return WooError("woocommerce_rest_customer_invalid_email", messages[0], 400)
    if email_errors and creating:
        return WooError("registration-error-invalid-email", messages[0], 400)
    params: dict[str, str] = {}
    for name, items in by_field.items():
        text = " ".join(message for item in items for message in item.messages)
        params[_woo_field(name) if name else "customer"] = text
    return invalid_params(params)
