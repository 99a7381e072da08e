"""The export profiles: which columns each destination's file has, under which headers, with
which delimiter and booleans, and for whom.

A profile is data only. Each column names a ``source``, the value it carries, which the export
selector (``transfer.selectors.exporting``) knows how to read in bulk:

- a ``Customer`` field (``first_name``, ``created_at``, ...), read by SQL;
- ``title``, ``default_group``, ``groups``, ``tags``: names, looked up once per chunk of rows;
- ``address:<field>``: a field of an address (the row's own in the Comptoir layout, the default
  address in the others);
- a few derived values a destination asks for: ``phone_any`` (phone, else mobile),
  ``sms_phone`` (mobile, else phone, only with the SMS consent), ``birthday_mmdd`` (Mailchimp),
  ``address_oneline`` (Mailchimp's one-cell address).

Headers are part of each platform's format (Shopify matches them case-sensitively, PrestaShop
writes them in the shop's language), so they are spelled out here in English and French rather
than going through the translation catalogue: a file must read the same whatever the catalogues
say. Comptoir's own columns come from ``formats.comptoir`` (the one definition the import reads
too). Passwords, hashes and tokens are not a source: no profile can name them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from comptoir.transfer.formats import comptoir

TEXT, BOOL, DATE, DATETIME = comptoir.TEXT, comptoir.BOOL, comptoir.DATE, comptoir.DATETIME
DECIMAL, INTEGER, LIST, JSON = comptoir.DECIMAL, comptoir.INTEGER, comptoir.LIST, comptoir.JSON

# Layouts: one row per customer, or (Comptoir) one row per address with continuation rows.
FLAT = "flat"
ADDRESS_ROWS = "address_rows"

# Header styles: the column's key (language-neutral), English or French labels.
HEADER_STYLES = ("key", "en", "fr")


@dataclass(frozen=True, slots=True)
class ExportColumn:
    key: str  # unique in its profile; what the form and the command line name
    en: str
    fr: str
    source: str
    kind: str = TEXT
    default: bool = True  # ticked when the export screen opens
    required: bool = False  # the destination cannot take a file without it

    def header(self, style: str) -> str:
        return {"key": self.key, "en": self.en, "fr": self.fr}[style]

    @property
    def is_address(self) -> bool:
        return self.source.startswith("address")


@dataclass(frozen=True, slots=True)
class Profile:
    key: str
    label: Promise
    description: Promise
    columns: tuple[ExportColumn, ...]
    delimiter: str  # the destination's usual one, used when the user does not choose
    bom: bool  # whether the destination's usual file starts with a UTF-8 BOM
    booleans: tuple[str, str] = ("1", "0")  # how yes and no are written
    newsletter_only: bool = False  # mailing tools: only customers who accepted the newsletter
    fixed_headers: bool = False  # the headers do not follow the chosen language
    layout: str = FLAT
    list_separator: str = comptoir.LIST_SEPARATOR

    @property
    def columns_by_key(self) -> dict[str, ExportColumn]:
        return {column.key: column for column in self.columns}

    @property
    def default_columns(self) -> list[str]:
        return [column.key for column in self.columns if column.default]


def _fixed(header: str, source: str, kind: str = TEXT, **options) -> ExportColumn:
    """A column whose header is the same in every language (Shopify, Mailchimp, Brevo)."""
    key = header.lower().replace(" ", "_")
    return ExportColumn(key, header, header, source, kind, **options)


def _comptoir_column(column: comptoir.Column) -> ExportColumn:
    source = "address:" + comptoir.ADDRESS_FIELD_OF[column.key] if column.address else column.key
    return ExportColumn(
        column.key, column.en, column.fr, source, column.kind, required=column.key == "email"
    )


COMPTOIR = Profile(
    key="comptoir",
    label=_("Comptoir (complete)"),
    description=_(
        "Every field, one row per address: the file Comptoir's import reads back without loss."
    ),
    columns=tuple(_comptoir_column(column) for column in comptoir.COLUMNS),
    delimiter=";",
    bom=True,
    layout=ADDRESS_ROWS,
)

# PrestaShop's customer grid export (Customers > Export), with its labels in either language.
PRESTASHOP = Profile(
    key="prestashop",
    label=_("PrestaShop"),
    description=_("The columns of PrestaShop's customer export, semicolon-separated."),
    columns=(
        ExportColumn("id", "ID", "ID", "id", INTEGER),
        ExportColumn("social_title", "Social title", "Titre", "title"),
        ExportColumn("first_name", "First name", "Prénom", "first_name"),
        ExportColumn("last_name", "Last name", "Nom", "last_name"),
        ExportColumn("email", "Email address", "Adresse e-mail", "email", required=True),
        ExportColumn("group", "Group", "Groupe", "default_group"),
        ExportColumn("company", "Company", "Société", "company"),
        ExportColumn("sales", "Sales", "Ventes", "total_spent", DECIMAL),
        ExportColumn("enabled", "Enabled", "Activé", "is_enabled", BOOL),
        ExportColumn("newsletter", "Newsletter", "Lettre d'informations", "newsletter", BOOL),
        ExportColumn(
            "partner_offers", "Partner offers", "Offres partenaires", "partner_offers", BOOL
        ),
        ExportColumn("registration", "Registration", "Inscription", "created_at", DATETIME),
        ExportColumn("last_visit", "Last visit", "Dernière visite", "last_visit_at", DATETIME),
    ),
    delimiter=";",
    bom=False,
)

# Shopify's current customer export (its import reads the same columns).
SHOPIFY = Profile(
    key="shopify",
    label=_("Shopify"),
    description=_("Shopify's customer file: default address, marketing consents, tags."),
    columns=(
        _fixed("Customer ID", "id", INTEGER),
        _fixed("First Name", "first_name"),
        _fixed("Last Name", "last_name"),
        _fixed("Email", "email", required=True),
        _fixed("Accepts Email Marketing", "newsletter", BOOL),
        _fixed("Default Address Company", "address:company"),
        _fixed("Default Address Address1", "address:address1"),
        _fixed("Default Address Address2", "address:address2"),
        _fixed("Default Address City", "address:city"),
        _fixed("Default Address Province Code", "address:state"),
        _fixed("Default Address Country Code", "address:country"),
        _fixed("Default Address Zip", "address:postcode"),
        _fixed("Default Address Phone", "address:phone"),
        _fixed("Phone", "phone_any"),
        _fixed("Accepts SMS Marketing", "sms", BOOL),
        _fixed("Total Spent", "total_spent", DECIMAL),
        _fixed("Total Orders", "orders_count", INTEGER),
        _fixed("Note", "note"),
        _fixed("Tax Exempt", "is_tax_exempt", BOOL),
        _fixed("Tags", "tags_text"),
    ),
    delimiter=",",
    bom=False,
    booleans=("yes", "no"),
    fixed_headers=True,
)

# Mailchimp's audience import: the header its import maps onto the default fields by itself.
MAILCHIMP = Profile(
    key="mailchimp",
    label=_("Mailchimp"),
    description=_("Subscribers only: Mailchimp's audience import columns."),
    columns=(
        _fixed("Email Address", "email", required=True),
        _fixed("First Name", "first_name"),
        _fixed("Last Name", "last_name"),
        _fixed("Address", "address_oneline"),
        _fixed("Phone Number", "phone_any"),
        _fixed("Birthday", "birthday_mmdd"),
        _fixed("Tags", "tags_text"),
    ),
    delimiter=",",
    bom=False,
    newsletter_only=True,
    fixed_headers=True,
)

# Brevo's contact import: its attribute names. SMS only for customers who accepted SMS.
BREVO = Profile(
    key="brevo",
    label=_("Brevo"),
    description=_("Subscribers only: Brevo's contact attributes, semicolon-separated."),
    columns=(
        _fixed("EMAIL", "email", required=True),
        _fixed("FIRSTNAME", "first_name"),
        _fixed("LASTNAME", "last_name"),
        _fixed("SMS", "sms_phone"),
        _fixed("EXT_ID", "id", INTEGER, default=False),
    ),
    delimiter=";",
    bom=False,
    newsletter_only=True,
    fixed_headers=True,
)

PROFILES: dict[str, Profile] = {
    profile.key: profile for profile in (COMPTOIR, PRESTASHOP, SHOPIFY, MAILCHIMP, BREVO)
}
DEFAULT_PROFILE = COMPTOIR.key


def profile_get(key: str) -> Profile:
    """The profile called ``key`` (``KeyError`` when there is none)."""
    return PROFILES[key]


def profile_choices() -> list[tuple[str, Promise]]:
    return [(profile.key, profile.label) for profile in PROFILES.values()]
