"""Cleaning of the customer profile fields, shared by create and update.

``profile_clean`` returns the values as they will be stored, or raises one ``ValidationError``
holding every field's message, in the active language.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.normalise import email_clean, name_clean, phone_to_e164
from comptoir.customers.models import Customer, Language, Title

# Fields a service may set through create/update; everything else has its own service.
PROFILE_FIELDS = frozenset(
    {
        "title",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "birthday",
        "language",
        "company",
        "siret",
        "ape_code",
        "vat_number",
        "website",
        "social_accounts",
        "external_id",
        "is_tax_exempt",
        "tax_exemption_ref",
    }
)
_APE = re.compile(r"^\d{2}\.?\d{2}[A-Z]$")
_url_validator = URLValidator(schemes=["http", "https"])


@functools.cache
def _max_length(field: str) -> int:
    return Customer._meta.get_field(field).max_length


def _clean_one(field: str, value: Any, *, phone_region: str | None) -> dict[str, Any]:
    """Clean one field; returns the columns it sets (a phone sets two)."""
    if field in {"first_name", "last_name"}:
        cleaned = name_clean(value)
        if not cleaned:
            raise ValidationError(_("This field is required."), code="required")
        if len(cleaned) > _max_length(field):
            raise ValidationError(_("This value is too long."), code="max_length")
        return {field: cleaned}
    if field == "email":
        cleaned = email_clean(value)
        if len(cleaned) > _max_length("email"):
            raise ValidationError(_("This value is too long."), code="max_length")
        return {"email": cleaned}
    if field in {"phone", "mobile"}:
        raw = (value or "").strip()
        return {field: phone_to_e164(raw, phone_region), f"{field}_input": raw}
    if field == "birthday":
        if value in (None, ""):
            return {"birthday": None}
        if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
            raise ValidationError(_("Enter a valid date."), code="invalid")
        if value > timezone.localdate():
            raise ValidationError(_("The birthday cannot be in the future."), code="future")
        if value.year < 1900:
            raise ValidationError(_("Enter a birthday after 1900."), code="too_old")
        return {"birthday": value}
    if field == "language":
        if value not in Language.values:
            raise ValidationError(_("Choose French or English."), code="invalid_choice")
        return {"language": value}
    if field == "title":
        if value is not None and not isinstance(value, Title):
            raise ValidationError(_("Choose a title from the list."), code="invalid_choice")
        return {"title": value}
    if field == "siret":
        digits = re.sub(r"\s", "", value or "")
        if digits and not re.fullmatch(r"\d{14}", digits):
            raise ValidationError(_("A SIRET number has 14 digits."), code="invalid_siret")
        return {"siret": digits}
    if field == "ape_code":
        code = re.sub(r"\s", "", value or "").upper()
        if code and not _APE.match(code):
            raise ValidationError(_("An APE/NAF code looks like 4711D."), code="invalid_ape")
        return {"ape_code": code.replace(".", "")}
    if field == "vat_number":
        vat = re.sub(r"[\s.-]", "", value or "").upper()
        if len(vat) > _max_length("vat_number"):
            raise ValidationError(_("This value is too long."), code="max_length")
        return {"vat_number": vat}
    if field == "website":
        url = (value or "").strip()
        if url:
            try:
                _url_validator(url)
            except ValidationError:
                raise ValidationError(
                    _("Enter a valid web address, e.g. https://example.com."), code="invalid_url"
                ) from None
        return {"website": url}
    if field == "social_accounts":
        accounts = value or {}
        if not isinstance(accounts, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in accounts.items()
        ):
            raise ValidationError(_("Social accounts are pairs of network and handle."))
        return {"social_accounts": {k.strip(): v.strip() for k, v in accounts.items() if v}}
    if field == "is_tax_exempt":
        return {"is_tax_exempt": bool(value)}
    # Plain text fields: company, external_id, tax_exemption_ref.
    text = (value or "").strip()
    if len(text) > _max_length(field):
        raise ValidationError(_("This value is too long."), code="max_length")
    return {field: text}


def profile_clean(values: Mapping[str, Any], *, phone_region: str | None = None) -> dict[str, Any]:
    """Clean the given profile fields. Unknown fields are a programming error."""
    if not PROFILE_FIELDS.issuperset(values):
        unknown = set(values) - PROFILE_FIELDS
        raise TypeError(f"Not profile fields: {', '.join(sorted(unknown))}")
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[ValidationError]] = {}
    for field, value in values.items():
        try:
            cleaned.update(_clean_one(field, value, phone_region=phone_region))
        except ValidationError as exc:
            errors[field] = exc.error_list
    if errors:
        raise ValidationError(errors)
    return cleaned
