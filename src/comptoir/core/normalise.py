"""Normalisers and validators for what people type: e-mails, phones, names.

Each returns the clean value or raises ``ValidationError`` with a message in the active language.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

# Messages are translated when raised (gettext, not lazy), so a caller that reads them after
# leaving a translation.override still gets the language the check ran in.
_email_validator = EmailValidator()
_spaces = re.compile(r"\s+")


def name_clean(value: str | None) -> str:
    """Trim and collapse inner whitespace: '  Jean   Pierre ' -> 'Jean Pierre'."""
    value = value or ""
    if value.isprintable() and "  " not in value:
        # Every whitespace character but the space is unprintable, so this value's runs are
        # single spaces already: the regex would change nothing (an import cleans millions).
        return value.strip()
    return _spaces.sub(" ", value).strip()


# The everyday shape of an e-mail (ASCII letters, digits, dots, "_", "+" and "-"; a domain of
# such labels and a TLD of letters): Django's EmailValidator accepts every address of this
# shape (a test checks it), so these skip it. It costs several times more (a lazy regex object,
# a second regex for the domain) and an import checks a million addresses.
_label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PLAIN_EMAIL = re.compile(
    rf"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@{_label}(?:\.{_label})*\.[A-Za-z]{{2,63}}"
)


def email_clean(value: str | None) -> str:
    """The e-mail as it will be stored (trimmed), after checking its shape. '' stays ''."""
    email = (value or "").strip()
    if email and not (len(email) <= 320 and PLAIN_EMAIL.fullmatch(email)):
        try:
            _email_validator(email)
        except ValidationError:
            raise ValidationError(_("Enter a valid e-mail address."), code="invalid") from None
    return email


def email_key(value: str | None) -> str:
    """The comparison form of an e-mail: trimmed and case-folded."""
    return (value or "").strip().lower()


def phone_to_e164(value: str | None, region: str | None = None) -> str:
    """'06 12 34 56 78' -> '+33612345678' (region from the address or the shop's default)."""
    raw = (value or "").strip()
    if not raw:
        return ""
    region = (region or settings.PHONENUMBER_DEFAULT_REGION).upper()
    plain = phone_plain_to_e164(raw, region)
    if plain is not None:
        return plain
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Enter a valid phone number, e.g. +33 6 12 34 56 78."), code="invalid_phone"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("Enter a valid phone number, e.g. +33 6 12 34 56 78."), code="invalid_phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# Numbers written the common ways: digits in groups separated by one space, dot or dash, with
# or without a leading "+".
_PLAIN_PHONE = re.compile(r"\+?[0-9]+(?:[ .\-][0-9]+)*")


def phone_plain_to_e164(raw: str, region: str) -> str | None:
    """The E.164 form of a valid number written plainly ("06 12 34 56 78", "+44 20 7946
    0123"), as ``phonenumbers`` reads it; ``None`` for anything else, which then takes the
    full parse (other shapes, invalid numbers, numbering plans with rarer rules).

    ``phonenumbers.parse`` spends most of its time on what such a number does not have (text
    around it, an extension, letters, a dialling prefix such as 00): an import reads a
    million numbers. The country code, the national prefix, the lengths and the validity
    below are phonenumbers' own rules and data; the tests compare both ways over many
    numbers.
    """
    if not _PLAIN_PHONE.fullmatch(raw):
        return None
    digits = raw.replace(" ", "").replace(".", "").replace("-", "")
    if digits[0] == "+":
        country_code, national = _country_code_split(digits[1:])
        metadata = _country_metadata(country_code)
    else:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        # Only a national number led by the national prefix "0": neither a dialling prefix
        # ("00...") nor digits the full parse may read as a country code without its "+".
        if (
            metadata is None
            or metadata.international_prefix != "00"
            or not digits.startswith("0")
            or digits.startswith("00")
        ):
            return None
        country_code, national = metadata.country_code, digits
    if metadata is None or len(national) < 3:
        return None
    national = _national_prefix_strip(national, metadata)
    # A leading zero left (Italy) is kept apart by phonenumbers: the long way.
    if national is None or not 3 <= len(national) <= 17 or national[0] == "0":
        return None
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    if not _valid(number, national, metadata):
        return None
    return f"+{country_code}{national}"


def _valid(number: phonenumbers.PhoneNumber, national: str, metadata) -> bool:
    """``phonenumbers.is_valid_number(number)``, its common case answered first.

    phonenumbers judges a number by the plan of the first region of its country code that
    claims it; a main region without leading digits of its own claims every number of a type
    it knows. There, a number that matches the plan's general pattern and its fixed-line or
    mobile one is valid (its type is one of those). ``is_valid_number`` tries the eight rarer
    types first (premium, toll-free, VoIP...), compiling each pattern again on every call: half
    of an import's phone cleaning. Anything else takes phonenumbers' own way."""
    if (
        metadata.leading_digits is None
        and _main_region(number.country_code) == metadata.id
        and _matches(national, metadata.general_desc)
        and (_matches(national, metadata.fixed_line) or _matches(national, metadata.mobile))
    ):
        return True
    return phonenumbers.is_valid_number(number)


def _main_region(country_code: int) -> str:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    return regions[0] if regions else ""


def _matches(national: str, description) -> bool:
    """phonenumbers' ``_is_number_matching_desc``, with the pattern compiled once."""
    if description is None:
        return False
    lengths = description.possible_length
    if lengths and len(national) not in lengths:
        return False
    pattern = description.national_number_pattern
    return bool(pattern) and _pattern(pattern).fullmatch(national) is not None


def _country_code_split(digits: str) -> tuple[int, str]:
    """(country code, the rest) of the digits after a "+": the first one to three digits
    that are a country code (0 when none is)."""
    if len(digits) < 3 or digits[0] == "0":
        return 0, digits
    for length in (1, 2, 3):
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[length:]
    return 0, digits


def _country_metadata(country_code: int):
    """The numbering plan of a country code's main region (None for none, or for the
    non-geographic codes)."""
    if not country_code:
        return None
    region = phonenumbers.region_code_for_country_code(country_code)
    return phonenumbers.PhoneMetadata.metadata_for_region(region)


def _national_prefix_strip(national: str, metadata) -> str | None:
    """The number without its national prefix ("0"), as the full parse strips it; ``None``
    where its rules go further (carrier codes, rewriting) or it would keep the prefix."""
    prefix = metadata.national_prefix_for_parsing
    if not prefix:
        return national
    found = _pattern(prefix).match(national)
    if found is None:
        return national
    if found.re.groups or metadata.national_prefix_transform_rule:
        return None
    general = metadata.general_desc
    if not general.national_number_pattern:
        return None
    stripped = national[found.end() :]
    pattern = _pattern(general.national_number_pattern)
    if pattern.fullmatch(national) and not pattern.fullmatch(stripped):
        return None  # the prefix may belong to the number
    if len(stripped) not in general.possible_length:
        return None
    if len(stripped) in general.possible_length_local_only:
        return None
    return stripped


@functools.cache
def _pattern(expression: str) -> re.Pattern:
    return re.compile(expression)


def phone_national_digits(e164: str) -> str:
    """'+33612345678' -> '0612345678': the digits people type, for search."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return re.sub(r"\D", "", national)
