"""Comptoir's own file format: the "Comptoir full" export profile, re-importable without loss.

This module is the one definition of that format, shared by the export (which writes it) and the
import (which recognises and reads it). Change a column here and both follow.

Layout: one row per customer, flat. The customer's columns come first, then the columns of one
address. A customer with several addresses takes one row per address: the first row carries the
customer and its first address (the default billing one first), each following row repeats only
``id`` and ``email`` (every other customer column empty) and carries one more address. A reader
recognises such a continuation row by its ``id`` (or, without an id, its ``email``) being the
same as the row above's and its names being empty. A customer without address has empty address
columns.

Cell values (what the export writes and the import reads back):
- booleans ``1``/``0``; dates ``YYYY-MM-DD``; date-times ISO 8601 with offset
  (``2024-03-01T14:05:00+01:00``); decimals with a dot (``1234.50``), never a currency sign;
- ``groups`` and ``tags``: names joined with `` | `` (a group by its name in the file's language;
  the import matches either language, case-insensitively); ``default_group`` one group name;
- ``title``: the title's name (either language on import); ``language``: ``fr`` or ``en``;
- ``country`` of an address: ISO 3166-1 alpha-2; phones as stored (E.164);
- ``social_accounts``: JSON object text (``{"instagram": "@jane"}``), empty when there is none.

Headers: the export writes either the ``key`` (the stable, language-neutral header, the default)
or the French or English label; the import recognises all three, in any order and case. The
labels are format data, not interface text, so they are spelled out here in both languages
instead of going through the translation catalogue: a file written in French must read back the
same whatever the catalogues say.

The figures (orders, sales, last order, last visit) are written for information and never
imported: they belong to the orders, and the order services keep them.
"""

from __future__ import annotations

from dataclasses import dataclass

PLATFORM = "comptoir"

# How a cell is written and read.
TEXT = "text"
BOOL = "bool"
DATE = "date"
DATETIME = "datetime"
DECIMAL = "decimal"
INTEGER = "integer"
LIST = "list"  # names joined with LIST_SEPARATOR
JSON = "json"

LIST_SEPARATOR = " | "


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the default header, and the field name the import maps it to
    en: str  # English header label
    fr: str  # French header label
    kind: str = TEXT
    address: bool = False  # part of the address block of the row
    importable: bool = True  # False: exported for information, ignored on import

    def header(self, style: str = "key") -> str:
        """The header for a style: ``key`` (default), ``en`` or ``fr``."""
        return {"key": self.key, "en": self.en, "fr": self.fr}[style]


COLUMNS: tuple[Column, ...] = (
    # Identity
    Column("id", "ID", "ID", INTEGER),
    Column("external_id", "External ID", "ID externe"),
    Column("title", "Title", "Titre"),
    Column("first_name", "First name", "Prénom"),
    Column("last_name", "Last name", "Nom"),
    Column("email", "Email", "E-mail"),
    Column("phone", "Phone", "Téléphone"),
    Column("mobile", "Mobile phone", "Téléphone portable"),
    Column("birthday", "Birthday", "Date de naissance", DATE),
    Column("language", "Language", "Langue"),
    Column("company", "Company", "Société"),
    Column("siret", "SIRET", "SIRET"),
    Column("ape_code", "APE code", "Code APE"),
    Column("vat_number", "VAT number", "Numéro de TVA"),
    Column("website", "Website", "Site web"),
    Column("social_accounts", "Social accounts", "Réseaux sociaux", JSON),
    # Account state
    Column("is_guest", "Guest", "Invité", BOOL),
    Column("is_enabled", "Enabled", "Activé", BOOL),
    Column("is_tax_exempt", "Tax exempt", "Exonéré de taxes", BOOL),
    Column("tax_exemption_ref", "Tax exemption reference", "Référence d'exonération"),
    Column("is_blocked", "Blocked", "Bloqué", BOOL),
    Column("blocked_reason", "Blocked reason", "Motif du blocage"),
    # Consents (current state and when it last changed)
    Column("newsletter", "Newsletter", "Lettre d'informations", BOOL),
    Column("newsletter_at", "Newsletter date", "Date lettre d'informations", DATETIME),
    Column("partner_offers", "Partner offers", "Offres partenaires", BOOL),
    Column("partner_offers_at", "Partner offers date", "Date offres partenaires", DATETIME),
    Column("sms", "SMS", "SMS", BOOL),
    Column("sms_at", "SMS date", "Date SMS", DATETIME),
    # Groups, tags, note
    Column("groups", "Groups", "Groupes", LIST),
    Column("default_group", "Default group", "Groupe par défaut"),
    Column("tags", "Tags", "Étiquettes", LIST),
    Column("note", "Note", "Note"),
    Column("created_at", "Registration", "Inscription", DATETIME),
    # Figures: information only (see the module docstring)
    Column("orders_count", "Orders", "Commandes", INTEGER, importable=False),
    Column("total_spent", "Sales", "Ventes", DECIMAL, importable=False),
    Column("last_order_at", "Last order", "Dernière commande", DATETIME, importable=False),
    Column("last_visit_at", "Last visit", "Dernière visite", DATETIME, importable=False),
    # One address (see the layout in the module docstring)
    Column("address_alias", "Address alias", "Alias de l'adresse", address=True),
    Column("address_first_name", "Address first name", "Prénom (adresse)", address=True),
    Column("address_last_name", "Address last name", "Nom (adresse)", address=True),
    Column("address_company", "Address company", "Société (adresse)", address=True),
    Column("address_vat_number", "Address VAT number", "TVA (adresse)", address=True),
    Column("address_line1", "Address line 1", "Adresse", address=True),
    Column("address_line2", "Address line 2", "Adresse (2)", address=True),
    Column("address_postcode", "Postcode", "Code postal", address=True),
    Column("address_city", "City", "Ville", address=True),
    Column("address_state", "State", "État/Région", address=True),
    Column("address_country", "Country", "Pays", address=True),
    Column("address_phone", "Address phone", "Téléphone (adresse)", address=True),
    Column(
        "address_default_billing",
        "Default billing address",
        "Adresse de facturation par défaut",
        BOOL,
        address=True,
    ),
    Column(
        "address_default_shipping",
        "Default shipping address",
        "Adresse de livraison par défaut",
        BOOL,
        address=True,
    ),
)

COLUMNS_BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}
CUSTOMER_COLUMNS = tuple(column for column in COLUMNS if not column.address)
ADDRESS_COLUMNS = tuple(column for column in COLUMNS if column.address)
# The address columns' keys without their prefix are the ``Address`` model's fields, except
# these two.
ADDRESS_FIELD_OF = {
    column.key: {"line1": "address1", "line2": "address2"}.get(
        column.key.removeprefix("address_"), column.key.removeprefix("address_")
    )
    for column in ADDRESS_COLUMNS
}
# Columns a continuation row repeats (see the layout in the module docstring).
CONTINUATION_KEYS = ("id", "email")


def headers(style: str = "key") -> list[str]:
    """The header row in a style: ``key`` (default), ``en`` or ``fr``."""
    return [column.header(style) for column in COLUMNS]


def _target(column: Column) -> str:
    """What the import reads a column into ("" for the figures, which it leaves alone)."""
    if not column.importable:
        return ""
    if column.address:
        return "address." + ADDRESS_FIELD_OF[column.key]
    return column.key


def _format():
    from django.utils.translation import gettext_lazy as _

    from comptoir.transfer.formats import cells
    from comptoir.transfer.formats.base import Format

    columns: dict[str, str] = {}
    for column in COLUMNS:
        for style in ("key", "en", "fr"):
            columns.setdefault(column.header(style), _target(column))
    return Format(
        key=PLATFORM,
        label=_("Comptoir"),
        columns=columns,
        signatures={
            style: [
                COLUMNS_BY_KEY[key].header(style)
                for key in ("id", "email", "first_name", "last_name", "is_enabled", "newsletter_at")
            ]
            for style in ("key", "en", "fr")
        },
        continuation_rows=True,
        # Our lists are joined with " | ": a tag may hold a comma.
        list_split=cells.PIPE_SPLIT,
    )


FORMAT = _format()
