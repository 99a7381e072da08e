"""Reading one cell of a customer file: text, yes/no, numbers with a currency, dates in the
shapes platforms write them, lists in one cell.

Every parser takes the cell's text and returns the value, ``None`` for an empty cell, or raises
``CellError`` with a message in the active language. They never raise anything else, whatever
the input (the property tests feed them junk), and they are fast: a million-row file calls each
of them a million times.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.csv_safety import cell_restore


class CellError(ValueError):
    """A cell that cannot be read. ``str(error)`` is the reason, in the active language."""


# Exports guard cells a spreadsheet would run as a formula with a leading apostrophe
# (``core.csv_safety``), and Shopify guards its long ids the same way ("'7210448301122"): the
# apostrophe is not part of the value.
_GUARDED_NUMBER = re.compile(r"^'\+?[0-9]")
_SPACES = re.compile(r"\s+")


def text(value: str) -> str | None:
    """Trimmed text; the spreadsheet guard apostrophe removed; ``None`` when empty."""
    value = value.strip()
    if not value:
        return None
    if value[0] == "'":
        restored = cell_restore(value)
        if restored is value and _GUARDED_NUMBER.match(value):
            restored = value[1:]
        value = restored.strip()
    return value or None


def one_line(value: str) -> str | None:
    """Text on one line with single spaces (names, cities): 'Jean \\n  Pierre' -> 'Jean Pierre'."""
    value = text(value)
    if value is None:
        return None
    if "  " in value or not value.isprintable():
        # Only then can it hold a run of spaces or a space other than " " (tab, line break,
        # no-break space...: all of them are unprintable); most cells do not.
        return _SPACES.sub(" ", value)
    return value


_TRUE = frozenset(
    {"1", "yes", "y", "true", "t", "on", "x", "oui", "o", "vrai", "subscribed", "enabled", "active"}
)
_FALSE = frozenset(
    {
        "0",
        "no",
        "n",
        "false",
        "f",
        "off",
        "non",
        "faux",
        "unsubscribed",
        "not_subscribed",
        "not subscribed",
        "disabled",
        "inactive",
        "invalid",
        "cleaned",
        "-",
    }
)


def boolean(value: str) -> bool | None:
    """yes/no, 0/1, true/false, oui/non (any case); ``None`` when empty."""
    key = value.strip().strip("'").lower()
    if not key:
        return None
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise CellError(_("Expected yes or no (1/0), found “%(value)s”.") % {"value": _short(value)})


def marketing_status(value: str) -> bool | None:
    """A consent status (subscribed, unsubscribed, pending, ...) or a yes/no. ``pending`` is not
    a consent yet: it reads as no."""
    key = value.strip().lower()
    if key == "pending":
        return False
    return boolean(value)


_OPT_IN_LEVELS = {
    "single_opt_in": "single",
    "single": "single",
    "confirmed_opt_in": "confirmed",
    "confirmed": "confirmed",
    "double": "confirmed",
    "double_opt_in": "confirmed",
    "unknown": "unknown",
}


def opt_in_level(value: str) -> str | None:
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    if not key:
        return None
    try:
        return _OPT_IN_LEVELS[key]
    except KeyError:
        raise CellError(_("Unknown opt-in level “%(value)s”.") % {"value": _short(value)}) from None


# Currency signs and codes a sales figure may carry: "1 234,50 €", "$1,234.50", "EUR 12".
_MONEY_NOISE = re.compile(r"[^\d,.\-+]")


def decimal(value: str) -> Decimal | None:
    """A number written the French or the English way, with or without a currency:
    '1 234,50 €' -> 1234.50, '$1,234.50' -> 1234.50, '12,5' -> 12.5, '1.234,5' -> 1234.5."""
    raw = value.strip()
    if not raw:
        return None
    cleaned = _MONEY_NOISE.sub("", raw.replace("\u2212", "-"))
    if not cleaned or not any(ch.isdigit() for ch in cleaned):
        raise CellError(_("Expected a number, found “%(value)s”.") % {"value": _short(value)})
    comma, dot = cleaned.rfind(","), cleaned.rfind(".")
    if comma >= 0 and dot >= 0:
        # Both: the last one is the decimal separator, the other groups thousands.
        if comma > dot:
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif comma >= 0:
        # "1,234" (one comma, three digits after) groups thousands; "12,5" is a decimal comma.
        if cleaned.count(",") > 1 or len(cleaned) - comma - 1 == 3:
            cleaned = cleaned.replace(",", "")
        else:
            cleaned = cleaned.replace(",", ".")
    elif cleaned.count(".") > 1:
        cleaned = cleaned.replace(".", "")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(
            _("Expected a number, found “%(value)s”.") % {"value": _short(value)}
        ) from None
    if not number.is_finite():
        raise CellError(_("Expected a number, found “%(value)s”.") % {"value": _short(value)})
    return number


def integer(value: str) -> int | None:
    """A whole number: '42', "'42" (spreadsheet guard), '42.0'."""
    raw = value.strip().lstrip("'").strip()
    if not raw:
        return None
    if raw.isdecimal() and len(raw) <= 18:
        return int(raw)
    if raw.endswith(".0") and raw[:-2].isdecimal() and len(raw) <= 20:
        return int(raw[:-2])
    raise CellError(_("Expected a whole number, found “%(value)s”.") % {"value": _short(value)})


# Dates. "Empty" dates some platforms write for "never".
_NO_DATE = re.compile(r"^0{4}-0{2}-0{2}([ T]0{2}:0{2}(:0{2})?)?$")
_NUMERIC_DATE = re.compile(
    r"^(?P<a>\d{1,4})[/.\-](?P<b>\d{1,2})[/.\-](?P<c>\d{1,4})"
    r"(?:[ T,]+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?\s*(?P<ampm>[AaPp][Mm])?)?$"
)


def _date_parts(value: str, *, day_first: bool) -> tuple[datetime.date, datetime.time | None]:
    match = _NUMERIC_DATE.match(value)
    if not match:
        raise CellError(_("Expected a date, found “%(value)s”.") % {"value": _short(value)})
    a, b, c = match["a"], match["b"], match["c"]
    if len(a) == 4:  # year first: 2024-03-01, 2024/03/01
        year, month, day = int(a), int(b), int(c)
    elif len(c) in (2, 4):
        first, second = int(a), int(b)
        year = int(c) if len(c) == 4 else 2000 + int(c) if int(c) < 70 else 1900 + int(c)
        # A part above 12 settles which is the day; otherwise the format's habit decides.
        if first > 12 or (day_first and second <= 12):
            day, month = first, second
        else:
            month, day = first, second
    else:
        raise CellError(_("Expected a date, found “%(value)s”.") % {"value": _short(value)})
    try:
        date = datetime.date(year, month, day)
        clock = None
        if match["h"] is not None:
            hour = int(match["h"])
            if match["ampm"]:
                hour = hour % 12 + (12 if match["ampm"].lower() == "pm" else 0)
            clock = datetime.time(hour, int(match["m"]), int(match["s"] or 0))
    except ValueError:
        raise CellError(
            _("This date does not exist: “%(value)s”.") % {"value": _short(value)}
        ) from None
    return date, clock


def date(value: str, *, day_first: bool = True) -> datetime.date | None:
    """2024-03-01, 01/03/2024, 3/1/2024 (month first when ``day_first`` is off), 01.03.2024;
    a time after the date is ignored; ``0000-00-00`` is no date."""
    raw = value.strip().lstrip("'")
    if not raw or _NO_DATE.match(raw):
        return None
    if len(raw) == 10 and raw[4] == "-":
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            pass
    if "T" in raw and raw[:4].isdecimal():
        try:
            return datetime.datetime.fromisoformat(raw).date()
        except ValueError:
            pass
    return _date_parts(raw, day_first=day_first)[0]


def _aware(moment: datetime.datetime) -> datetime.datetime:
    if moment.tzinfo is None:
        zone = timezone.get_current_timezone()
        try:
            return timezone.make_aware(moment, zone)
        except Exception:  # a time skipped or repeated by a clock change: take it as UTC
            return moment.replace(tzinfo=datetime.UTC)
    return moment


def moment(value: str, *, day_first: bool = True) -> datetime.datetime | None:
    """A date and time, ISO 8601 (with or without offset, ``Z``) or the platforms' local forms;
    a time without offset is in the shop's time zone; a date alone is midnight."""
    raw = value.strip().lstrip("'")
    if not raw or _NO_DATE.match(raw):
        return None
    if raw[:4].isdecimal() and len(raw) >= 10 and raw[4] == "-":
        try:
            parsed = datetime.datetime.fromisoformat(raw)
        except ValueError:
            pass
        else:
            if not 1 < parsed.year < 9999:
                raise CellError(_("Expected a date, found “%(value)s”.") % {"value": _short(value)})
            return _aware(parsed)
    day, clock = _date_parts(raw, day_first=day_first)
    return _aware(datetime.datetime.combine(day, clock or datetime.time()))


@lru_cache(maxsize=1)
def _country_codes() -> dict[str, str]:
    """Folded country names (English and French), alpha-2 and alpha-3 codes -> alpha-2."""
    from django.utils import translation
    from django_countries import countries

    from comptoir.core.text import fold

    codes: dict[str, str] = {}
    for language in ("en", "fr"):
        with translation.override(language):
            for country in countries:
                codes[fold(str(country.name))] = country.code
    for country in countries:
        codes[country.code.lower()] = country.code
        alpha3 = countries.alpha3(country.code)
        if alpha3:
            codes[alpha3.lower()] = country.code
    codes.update({"uk": "GB", "usa": "US", "united states of america": "US"})
    return codes


_COUNTRY_SEEN: dict[str, str] = {}


def country(value: str) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code ('fr', 'FRA') or a name ('France', 'Allemagne')."""
    code = _COUNTRY_SEEN.get(value)
    if code is not None:  # a file writes the same few countries on every row
        return code
    from comptoir.core.text import fold

    raw = one_line(value)
    if raw is None:
        return None
    code = _country_codes().get(fold(raw))
    if code is None:
        raise CellError(_("Unknown country “%(value)s”.") % {"value": _short(value)})
    if len(_COUNTRY_SEEN) < 10_000:
        _COUNTRY_SEEN[value] = code
    return code


LIST_SPLIT = re.compile(r"\s*[|,;]\s*")
PIPE_SPLIT = re.compile(r"\s*\|\s*")


def names(value: str, *, split: re.Pattern = LIST_SPLIT) -> list[str] | None:
    """Names in one cell, separated by ``|``, ``,`` or ``;`` (or what ``split`` matches):
    'VIP, Pro' -> ['VIP', 'Pro'] (each once, in order)."""
    raw = text(value)
    if raw is None:
        return None
    seen: dict[str, str] = {}
    for name in split.split(raw):
        name = name.strip()
        if name:
            seen.setdefault(name.lower(), name)
    return list(seen.values()) or None


def integers(value: str) -> list[int] | None:
    """Ids in one cell: '1,3' -> [1, 3]."""
    parts = names(value)
    if parts is None:
        return None
    return [number for part in parts if (number := integer(part)) is not None]


def full_name(value: str) -> tuple[str, str] | None:
    """'Jean Pierre Dupont' -> ('Jean Pierre', 'Dupont'); 'Dupont, Jean' -> ('Jean', 'Dupont');
    a single word is taken as the last name."""
    raw = one_line(value)
    if raw is None:
        return None
    if "," in raw:
        last, _sep, first = raw.partition(",")
        return first.strip(), last.strip()
    first, _sep, last = raw.rpartition(" ")
    return first.strip(), last.strip()


def _short(value: str, limit: int = 40) -> str:
    value = value.strip().replace("\n", " ").replace("\r", " ")
    return value if len(value) <= limit else value[: limit - 1] + "…"
