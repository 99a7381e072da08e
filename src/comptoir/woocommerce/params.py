"""Request parameters read the way PHP and WordPress read them, so that WooCommerce clients get
what they are used to:

- a repeated parameter counts once, the last value winning (PHP's ``$_GET``); the official Python
  client sends every query parameter twice over plain HTTP;
- ``name[]=a&name[]=b`` and ``billing[city]=Lyon`` become a list and an object;
- integers, booleans (``true``/``True``/``1``/``false``/``0``), enums and id lists are checked
  as WordPress checks them, with one message per refused parameter (``rest_invalid_param``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from comptoir.woocommerce.errors import invalid_params

# What PHP makes of a key: a base name, then any number of [sub] parts.
_BRACKETED = re.compile(r"^(?P<base>[^\[\]]+)(?P<subs>(?:\[[^\[\]]*\])+)")
_SUB = re.compile(r"\[([^\[\]]*)\]")


def php_parse(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Decoded (key, value) pairs, in order, as PHP's ``$_GET``/``$_POST`` hold them."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        match = _BRACKETED.match(key)
        if not match:
            result[key] = value
            continue
        subs = _SUB.findall(match.group("subs"))
        node = result.get(match.group("base"))
        if not isinstance(node, dict):
            node = {}
            result[match.group("base")] = node
        for position, sub in enumerate(subs):
            if sub == "":
                numeric = [int(k) for k in node if k.isdigit()]
                sub = str(max(numeric) + 1 if numeric else 0)
            if position == len(subs) - 1:
                node[sub] = value
            else:
                child = node.get(sub)
                if not isinstance(child, dict):
                    child = {}
                    node[sub] = child
                node = child
    return result


def query_pairs(querydict) -> list[tuple[str, str]]:
    """A Django QueryDict as ordered pairs (every value of every key)."""
    return [(key, value) for key, values in querydict.lists() for value in values]


# WordPress's checks of one value against its declared type.


class ParamError(Exception):
    pass


def wp_integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ParamError(_("%(name)s is not of type integer.") % {"name": name})
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not number.is_integer() or str(value).strip() == "":
        raise ParamError(_("%(name)s is not of type integer.") % {"name": name})
    return int(number)


def wp_boolean(name: str, value: Any) -> bool:
    """WordPress's ``rest_is_boolean``: a boolean, 0 or 1, or the text true/false/1/0 in any
    case (``True`` is what Python's ``urlencode`` makes of ``True``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    raise ParamError(_("%(name)s is not of type boolean.") % {"name": name})


def wp_enum(name: str, value: Any, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise ParamError(
            _("%(name)s is not one of %(choices)s.") % {"name": name, "choices": ", ".join(choices)}
        )
    return value


def wp_id_list(name: str, value: Any) -> list[int]:
    """``1,2 3`` or ``name[]=1&name[]=2``: the positive ids, each once, in order."""
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, list):
        items = value
    else:
        items = [item for item in re.split(r"[\s,]+", str(value)) if item]
    ids: list[int] = []
    for position, item in enumerate(items):
        number = abs(wp_integer(f"{name}[{position}]", item))
        if number not in ids:
            ids.append(number)
    return ids


def wp_string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError(_("%(name)s is not of type string.") % {"name": name})
    return value


def wp_email(name: str, value: Any) -> str:
    text = wp_string(name, value).strip()
    try:
        validate_email(text)
    except ValidationError:
        raise ParamError(_("Invalid email address.")) from None
    return text


# The customers list's parameters.

ORDERBY = ("id", "include", "name", "registered_date")
ORDER = ("asc", "desc")
# The roles of a WordPress shop; only "customer" (and "all") hold Comptoir's customers.
ROLES = (
    "all",
    "administrator",
    "editor",
    "author",
    "contributor",
    "subscriber",
    "customer",
    "shop_manager",
)
CONTEXTS = ("view", "edit")
PER_PAGE_MAX = 100


@dataclass(frozen=True)
class ListQuery:
    page: int = 1
    per_page: int = 10
    offset: int | None = None
    search: str = ""
    email: str = ""
    orderby: str = "name"
    order: str = "asc"
    include: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    role: str = "customer"

    @property
    def start(self) -> int:
        return self.offset if self.offset is not None else (self.page - 1) * self.per_page

    @property
    def page_number(self) -> int:
        """The page the answer is, as WooCommerce counts it (an offset may fall mid-page)."""
        return math.ceil(self.start / self.per_page + 1)


def list_query_parse(params: Mapping[str, Any]) -> ListQuery:
    """The list's parameters, checked as WordPress checks them; every refusal at once."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def check(name: str, parse) -> None:
        if name not in params:
            return
        try:
            values[name] = parse(params[name])
        except ParamError as error:
            errors[name] = str(error)

    def bounded(name: str, low: int, high: int | None):
        def parse(value):
            number = wp_integer(name, value)
            if high is not None and not low <= number <= high:
                raise ParamError(
                    _("%(name)s must be between %(low)s (inclusive) and %(high)s (inclusive)")
                    % {"name": name, "low": low, "high": high}
                )
            if number < low:
                raise ParamError(
                    _("%(name)s must be greater than or equal to %(low)s")
                    % {"name": name, "low": low}
                )
            return number

        return parse

    check("page", bounded("page", 1, None))
    check("per_page", bounded("per_page", 1, PER_PAGE_MAX))
    check("offset", lambda value: abs(wp_integer("offset", value)))
    check("search", lambda value: wp_string("search", value))
    check("email", lambda value: wp_email("email", value) if value != "" else "")
    check("orderby", lambda value: wp_enum("orderby", value, ORDERBY))
    check("order", lambda value: wp_enum("order", value, ORDER))
    check("include", lambda value: tuple(wp_id_list("include", value)))
    check("exclude", lambda value: tuple(wp_id_list("exclude", value)))
    check("role", lambda value: wp_enum("role", value, ROLES))
    check("context", lambda value: wp_enum("context", value, CONTEXTS))
    if errors:
        raise invalid_params(errors)
    values.pop("context", None)
    return ListQuery(**values)


def fields_requested(params: Mapping[str, Any]) -> list[str] | None:
    """WordPress's ``_fields``: the top-level fields to keep in each object, if asked."""
    raw = params.get("_fields")
    if raw is None:
        return None
    items = raw.values() if isinstance(raw, Mapping) else str(raw).split(",")
    fields = [str(item).strip() for item in items if str(item).strip()]
    return fields or None
