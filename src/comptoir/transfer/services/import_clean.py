"""Cleaning the records read from an import file, with the same rules as the customer
services (``customers.validation.profile_clean``, the phone and address rules): each record
becomes the values its customer columns will hold, or the reasons it is rejected, each tied to
the file's column. Reads no database (titles and groups are loaded once by the planner), so it
can run ahead of the writes, in another process.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from comptoir.core.normalise import name_clean, phone_to_e164
from comptoir.core.text import fold
from comptoir.customers.models import Address, Title
from comptoir.customers.validation import profile_clean
from comptoir.transfer.formats.base import Record
from comptoir.transfer.models import PasswordPolicy

CONSENTS = ("newsletter", "partner_offers", "sms")
_CONSENT_MOMENTS = tuple((channel, f"{channel}_at") for channel in CONSENTS)
PROFILE_TARGETS = (
    "title", "first_name", "last_name", "email", "phone", "mobile", "birthday", "language",
    "company", "siret", "ape_code", "vat_number", "website", "social_accounts", "external_id",
    "is_tax_exempt", "tax_exemption_ref",
)  # fmt: skip
# What "clear" writes for an empty cell, per field (required fields are never cleared).
CLEARED = {
    "title": None,
    "phone": "",
    "mobile": "",
    "birthday": None,
    "company": "",
    "siret": "",
    "ape_code": "",
    "vat_number": "",
    "website": "",
    "social_accounts": {},
    "external_id": "",
    "tax_exemption_ref": "",
    "note": "",
}
ADDRESS_KEYS = (
    "alias", "first_name", "last_name", "company", "vat_number", "address1", "address2",
    "postcode", "city", "state", "country", "phone",
)  # fmt: skip
_LANGUAGES = {
    "fr": "fr",
    "fre": "fr",
    "fra": "fr",
    "french": "fr",
    "francais": "fr",
    "en": "en",
    "eng": "en",
    "english": "en",
    "anglais": "en",
}
_MALE = {"m", "mr", "mister", "monsieur", "male", "homme", "h", "1", "man", "sir"}
_FEMALE = {"f", "mrs", "ms", "miss", "mme", "mlle", "madame", "mademoiselle", "female", "femme",
           "2", "woman"}  # fmt: skip
_UNKNOWN_GENDER = {"0", "9", "", "not specified", "unknown", "other", "autre", "n/a"}


class RowRejected(Exception):
    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__(problems)
        self.problems = problems


class RecordCleaning:
    """The cleaning half of ``import_plan.Planner``. Expects from it: ``job``, ``clear``,
    ``titles``, ``title_by_gender``, ``groups``, ``group_ids``, ``mapped``, ``region``,
    ``_phones`` and ``column(target)``."""

    def _record_clean(self, record: Record) -> dict[str, Any]:
        """The record's values as the customer columns will hold them, or ``RowRejected``."""
        if record.errors:
            raise RowRejected(list(record.errors))
        raw = dict(record.values)
        problems: list[tuple[str, str]] = []
        values: dict[str, Any] = {}
        if not self.clear:
            raw = {key: value for key, value in raw.items() if value is not None}
        addresses = self._addresses_clean(record, raw, problems)
        values["_addresses"] = addresses
        region = next((a["country"] for a in addresses if a.get("country")), None)
        region = region or raw.pop("_country", None)
        values["_country"] = region or ""
        self._names_fallback(raw, addresses)
        profile: dict[str, Any] = {}
        for target in PROFILE_TARGETS:
            if target not in raw:
                continue
            value = raw[target]
            if value is None:
                if target in CLEARED:
                    profile[target] = CLEARED[target]
                continue
            profile[target] = value
        if "title" in profile or raw.get("gender") is not None:
            try:
                profile["title"] = self._title(raw.get("title"), raw.get("gender"))
            except RowRejected as rejected:
                problems += rejected.problems
                profile.pop("title", None)
        if profile.get("language"):
            profile["language"] = _LANGUAGES.get(
                fold(profile["language"]).split("-")[0].split("_")[0], profile["language"]
            )
        elif "language" in profile:
            profile.pop("language")
        phones = {key: profile.pop(key) for key in ("phone", "mobile") if key in profile}
        try:
            values.update(profile_clean(profile))
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                column = self.column(name) or self.column("gender" if name == "title" else name)
                problems += [(column, message) for message in messages]
        for key, number in phones.items():
            try:
                values[key], values[f"{key}_input"] = self._phone(number or "", region)
            except ValidationError as error:
                problems.append((self.column(key), error.messages[0]))
        self._state_clean(raw, values, problems)
        if problems:
            raise RowRejected(problems)
        return values

    def _phone(self, raw: str, region: str | None) -> tuple[str, str]:
        raw = raw.strip()
        if not raw:
            return "", ""
        key = (raw, region or self.region)
        found = self._phones.get(key)
        if found is None:
            try:
                found = phone_to_e164(raw, region)
            except ValidationError as error:
                found = error
            if len(self._phones) < 100_000:
                self._phones[key] = found
        if isinstance(found, ValidationError):
            raise found
        return found, raw[:40]

    def _title(self, title: str | None, gender: str | None) -> Title | None:
        if title:
            found = self.titles.get(title_word(title))
            if found is None:
                found = self._title_for_gender(title_word(title))
            if found is None:
                raise RowRejected(
                    [(self.column("title"), _("Unknown title “%(title)s”.") % {"title": title})]
                )
            return found
        if gender is not None:
            word = title_word(gender)
            if word in _UNKNOWN_GENDER:
                return None
            found = self._title_for_gender(word)
            if found is None:
                raise RowRejected(
                    [
                        (
                            self.column("gender"),
                            _("Unknown gender “%(gender)s”.") % {"gender": gender},
                        )
                    ]
                )
            return found
        return None

    def _title_for_gender(self, word: str) -> Title | None:
        if word in _MALE:
            return self.title_by_gender.get("male")
        if word in _FEMALE:
            return self.title_by_gender.get("female")
        return None

    def _names_fallback(self, raw: dict[str, Any], addresses: list[dict[str, Any]]) -> None:
        """A file of addresses (PrestaShop, Magento) names the customer on the address."""
        for name in ("first_name", "last_name"):
            if not raw.get(name):
                found = next((a[name] for a in addresses if a.get(name)), None)
                if found and name not in self.mapped:
                    raw[name] = found
        if "company" not in self.mapped:
            company = next((a["company"] for a in addresses if a.get("company")), None)
            if company:
                raw["company"] = company
        if "phone" not in self.mapped:
            phone = next((a["_phone_input"] for a in addresses if a.get("_phone_input")), None)
            if phone:
                raw["phone"] = phone

    def _addresses_clean(
        self, record: Record, raw: dict[str, Any], problems: list[tuple[str, str]]
    ) -> list[dict[str, Any]]:
        addresses = []
        for given in record.addresses:
            # The parser already trimmed each cell and collapsed its spaces.
            address = {key: given.get(key) or "" for key in ADDRESS_KEYS}
            address["country"] = address["country"].upper()
            if not address["address1"]:
                # A location without a street (WooCommerce's report) is no address; its country
                # still says where the customer is.
                if address["country"] and not raw.get("_country"):
                    raw["_country"] = address["country"]
                continue
            if not address["city"]:
                problems.append((self._address_column("city"), _("This address has no city.")))
            if not address["country"]:
                problems.append(
                    (self._address_column("country"), _("This address has no country."))
                )
            for key in ("first_name", "last_name"):
                if not address[key]:
                    address[key] = name_clean(raw.get(key) or "")
            for key, limit in _ADDRESS_LIMITS:
                if len(address[key]) > limit:
                    problems.append((self._address_column(key), _("This value is too long.")))
            if address["phone"]:
                address["_phone_input"] = address["phone"]
                try:
                    address["phone"] = self._phone(address["phone"], address["country"] or None)[0]
                except ValidationError as error:
                    problems.append((self._address_column("phone"), error.messages[0]))
            address["is_default_billing"] = bool(given.get("default_billing"))
            address["is_default_shipping"] = bool(given.get("default_shipping"))
            addresses.append(address)
        return addresses

    def _address_column(self, key: str) -> str:
        for slot in ("address", "billing", "shipping"):
            column = self.column(f"{slot}.{key}")
            if column:
                return column
        if key in ("address1", "address2"):
            return self._address_column("street")
        return ""

    def _state_clean(
        self, raw: dict[str, Any], values: dict[str, Any], problems: list[tuple[str, str]]
    ) -> None:
        """Account state, consents, groups, tags, note, registration and password."""
        for key in ("is_guest", "is_enabled"):
            if raw.get(key) is not None:
                values[key] = raw[key]
        if raw.get("is_blocked") is not None:
            values["is_blocked"] = raw["is_blocked"]
            reason = (raw.get("blocked_reason") or "").strip()
            if raw["is_blocked"] and not reason:
                problems.append(
                    (self.column("blocked_reason") or self.column("is_blocked"),
                     _("A blocked customer needs a reason for blocking."))
                )  # fmt: skip
            values["blocked_reason"] = reason if raw["is_blocked"] else ""
        for channel, moment in _CONSENT_MOMENTS:
            if raw.get(channel) is not None:
                values[channel] = raw[channel]
                values[moment] = raw.get(moment)
        values["_opt_in"] = raw.get("newsletter_opt_in") or self.job.opt_in_level
        if "note" in raw:
            values["note"] = (raw["note"] or "").strip()
        if raw.get("created_at") is not None:
            values["created_at"] = raw["created_at"]
        groups = self._groups(raw, problems)
        if groups is not None:
            values["_groups"] = groups
        default = self._default_group(raw, problems)
        if default is not None:
            values["_default_group"] = default
        if "tags" in raw:
            tags = raw["tags"] or []
            if any(len(tag) > 64 for tag in tags):
                problems.append((self.column("tags"), _("A tag has at most 64 characters.")))
            values["_tags"] = tags
        password = raw.get("password")
        if password:
            if self.job.passwords == PasswordPolicy.HASH:
                values["_password"] = password
            else:
                values["_must_reset"] = True
        if raw.get("password_hash"):
            values["_must_reset"] = True

    def _groups(self, raw: dict[str, Any], problems) -> list[int | str] | None:
        if "groups" not in raw and "group_ids" not in raw:
            return None
        found: list[int | str] = []
        for name in raw.get("groups") or []:
            found.append(self.groups.get(fold(name).strip(), name))
        for pk in raw.get("group_ids") or []:
            if pk not in self.group_ids:
                problems.append(
                    (self.column("group_ids"), _("There is no group with id %(id)s.") % {"id": pk})
                )
            found.append(pk)
        return list(dict.fromkeys(found))

    def _default_group(self, raw: dict[str, Any], problems) -> int | str | None:
        if raw.get("default_group_id") is not None:
            pk = raw["default_group_id"]
            if pk not in self.group_ids:
                problems.append(
                    (self.column("default_group_id"),
                     _("There is no group with id %(id)s.") % {"id": pk})
                )  # fmt: skip
            return pk
        name = raw.get("default_group")
        if name:
            return self.groups.get(fold(name).strip(), name)
        return None


_ADDRESS_LIMITS = tuple(
    (key, Address._meta.get_field(key).max_length)
    for key in ADDRESS_KEYS
    if key not in ("country", "phone")
)

_WORD = re.compile(r"[\s.]+")


def title_word(value: str) -> str:
    """How titles and genders are compared: "M." and "m" are one."""
    return _WORD.sub("", fold(value or ""))
