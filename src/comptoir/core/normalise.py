"""Normalisers and validators for what people type: e-mails, phones, names.

Each returns the clean value or raises ``ValidationError`` with a message in the active language.
"""

from __future__ import annotations

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
    return _spaces.sub(" ", value or "").strip()


def email_clean(value: str | None) -> str:
    """The e-mail as it will be stored (trimmed), after checking its shape. '' stays ''."""
    email = (value or "").strip()
    if email:
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
    try:
        number = phonenumbers.parse(raw, (region or settings.PHONENUMBER_DEFAULT_REGION).upper())
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Enter a valid phone number, e.g. +33 6 12 34 56 78."), code="invalid_phone"
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("Enter a valid phone number, e.g. +33 6 12 34 56 78."), code="invalid_phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
