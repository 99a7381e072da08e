"""The targets a column of a customer file can be imported into: the customer's fields, and the
fields of an address in one of three slots: ``address.*`` (the file's one address), ``billing.*``
and ``shipping.*`` (WooCommerce writes both). Each target names the cell parser that reads it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True, slots=True)
class Target:
    key: str
    label: Promise | str
    kind: str  # which cell parser reads it (see PARSERS)


CUSTOMER_TARGETS: tuple[Target, ...] = (
    Target("id", _("Comptoir id"), "integer"),
    Target("external_id", _("External id (the other platform's id)"), "text"),
    Target("title", _("Title (M., Mme, ...)"), "line"),
    Target("gender", _("Gender (male/female, 1/2)"), "line"),
    Target("first_name", _("First name"), "line"),
    Target("last_name", _("Last name"), "line"),
    Target("full_name", _("Full name (first and last in one cell)"), "full_name"),
    Target("email", _("E-mail"), "text"),
    Target("phone", _("Phone"), "text"),
    Target("mobile", _("Mobile phone"), "text"),
    Target("birthday", _("Birthday"), "date"),
    Target("language", _("Language"), "line"),
    Target("company", _("Company"), "text"),
    Target("siret", _("SIRET"), "text"),
    Target("ape_code", _("APE/NAF code"), "text"),
    Target("vat_number", _("VAT number"), "text"),
    Target("website", _("Website"), "text"),
    Target("social_accounts", _("Social accounts (JSON)"), "json"),
    Target("is_guest", _("Guest (yes/no)"), "bool"),
    Target("is_enabled", _("Enabled (yes/no)"), "bool"),
    Target("is_tax_exempt", _("Tax exempt (yes/no)"), "bool"),
    Target("tax_exemption_ref", _("Tax exemption reference"), "text"),
    Target("is_blocked", _("Blocked (yes/no)"), "bool"),
    Target("blocked_reason", _("Reason for blocking"), "text"),
    Target("newsletter", _("Newsletter consent"), "status"),
    Target("newsletter_at", _("Newsletter consent date"), "datetime"),
    Target("newsletter_opt_in", _("Newsletter opt-in level"), "opt_in"),
    Target("partner_offers", _("Partner offers consent"), "status"),
    Target("partner_offers_at", _("Partner offers consent date"), "datetime"),
    Target("sms", _("SMS consent"), "status"),
    Target("sms_at", _("SMS consent date"), "datetime"),
    Target("groups", _("Groups (names)"), "names"),
    Target("group_ids", _("Groups (Comptoir ids)"), "integers"),
    Target("default_group", _("Default group (name)"), "line"),
    Target("default_group_id", _("Default group (Comptoir id)"), "integer"),
    Target("tags", _("Tags"), "names"),
    Target("note", _("Private note"), "text"),
    Target("created_at", _("Registration date"), "datetime"),
    Target("password", _("Password (plain text)"), "raw"),
    Target("password_hash", _("Password hash of another platform"), "text"),
)
ADDRESS_FIELDS: tuple[Target, ...] = (
    Target("alias", _("alias"), "line"),
    Target("first_name", _("first name"), "line"),
    Target("last_name", _("last name"), "line"),
    Target("full_name", _("full name"), "full_name"),
    Target("company", _("company"), "line"),
    Target("vat_number", _("VAT number"), "line"),
    Target("address1", _("street"), "line"),
    Target("address2", _("street (2)"), "line"),
    Target("street", _("street (several lines)"), "text"),
    Target("postcode", _("postcode"), "line"),
    Target("city", _("city"), "line"),
    Target("state", _("state/province"), "line"),
    Target("country", _("country"), "country"),
    Target("phone", _("phone"), "text"),
    Target("default_billing", _("default billing (yes/no)"), "bool"),
    Target("default_shipping", _("default shipping (yes/no)"), "bool"),
)
ADDRESS_SLOTS = {
    "address": _("Address"),
    "billing": _("Billing address"),
    "shipping": _("Shipping address"),
}


def _address_targets() -> Iterable[Target]:
    for slot, slot_label in ADDRESS_SLOTS.items():
        for item in ADDRESS_FIELDS:
            # "Billing address: city", translated when shown.
            yield Target(
                f"{slot}.{item.key}", format_lazy("{}: {}", slot_label, item.label), item.kind
            )


TARGETS: dict[str, Target] = {
    target.key: target for target in (*CUSTOMER_TARGETS, *_address_targets())
}
IDENTIFIER_TARGETS = ("id", "external_id", "email")
