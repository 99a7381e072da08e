"""Template tags of the back-office shell: the section navigation, money, form controls.

``{% load backoffice %}`` in any template that needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms, template
from django.urls import NoReverseMatch
from django.utils.formats import get_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from comptoir.core.links import url_of

register = template.Library()


@dataclass(frozen=True)
class Section:
    """A top-level section of the back-office.

    ``url_names`` are tried in order; a section whose page does not exist yet is shown disabled
    instead of linking to a dead URL, and lights up by itself once its app adds the URL name.
    ``active_prefix`` is matched against the current view name (``namespace:name``).
    """

    label: str
    icon: str
    url_names: tuple[str, ...]
    active_prefix: str


SECTIONS = (
    Section(_("Home"), "house", ("core:home",), "core:home"),
    Section(_("Customers"), "people", ("customers:list",), "customers:"),
    Section(_("Groups"), "diagram-3", ("groups:list",), "groups:"),
    Section(_("Import"), "box-arrow-in-down", ("transfer:import",), "transfer:import"),
    Section(_("Export"), "box-arrow-up", ("transfer:export",), "transfer:export"),
    Section(_("Exports"), "archive", ("transfer:exports",), "transfer:exports"),
    Section(_("Outbox"), "envelope", ("core:outbox",), "core:outbox"),
    Section(_("Settings"), "gear", ("customers:settings",), "customers:settings"),
    Section(_("Webhooks"), "broadcast", ("webhooks:list",), "webhooks:"),
    Section(_("API"), "code-slash", ("staff:tokens",), "staff:token"),
    Section(_("WooCommerce"), "plug", ("woocommerce:keys",), "woocommerce:"),
)


@dataclass(frozen=True)
class NavItem:
    label: str
    icon: str
    url: str | None
    active: bool


def _first_url(url_names: tuple[str, ...]) -> str | None:
    for name in url_names:
        try:
            return url_of(name)
        except NoReverseMatch:
            continue
    return None


@register.simple_tag(takes_context=True)
def backoffice_nav(context) -> list[NavItem]:
    """The navbar sections with their URL (None while not built yet) and the current one."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    view_name = match.view_name if match else ""
    # The longest matching prefix wins: the customers settings page lights "Settings", not
    # "Customers" as well.
    matching = [
        s.active_prefix for s in SECTIONS if view_name and view_name.startswith(s.active_prefix)
    ]
    current = max(matching, key=len, default=None)
    return [
        NavItem(
            label=section.label,
            icon=section.icon,
            url=_first_url(section.url_names),
            active=section.active_prefix == current,
        )
        for section in SECTIONS
    ]


CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}


@register.filter
def money(value, currency: str = "EUR") -> str:
    """An amount in the active language's number format with its currency symbol.

    French gives "1 234,56 €", English "€1,234.56": the separators come from Django's locale
    formats (grouping forced), the symbol's place from the translation catalogue.
    """
    return money_formatter(currency)(value)


def money_formatter(currency: str = "EUR") -> Callable[[object], str]:
    """``money`` for many amounts in a row (a table's column): the active language's
    separators and symbol looked up once, each amount then formatted by ``format()``."""
    code = (currency or "EUR").upper()
    pattern = pgettext("amount with its currency symbol", "%(symbol)s%(amount)s")
    symbol = CURRENCY_SYMBOLS.get(code, code)
    # Python writes "1,234.56"; the language's separators replace those two.
    separators = str.maketrans(
        {",": get_format("THOUSAND_SEPARATOR"), ".": get_format("DECIMAL_SEPARATOR")}
    )

    def write(value) -> str:
        if value is None or value == "":
            return ""
        try:
            amount = Decimal(str(value)).quantize(_CENTS, ROUND_HALF_UP)
        except (InvalidOperation, ValueError):
            return ""
        sign = "-" if amount < 0 else ""
        text = format(abs(amount), ",.2f").translate(separators)
        return sign + pattern % {"symbol": symbol, "amount": text}

    return write


_CENTS = Decimal("0.01")


_CONTROL_CLASSES = {
    forms.CheckboxInput: "form-check-input",
    forms.RadioSelect: "form-check-input",
    forms.CheckboxSelectMultiple: "form-check-input",
    forms.Select: "form-select",
    forms.SelectMultiple: "form-select",
}


@register.filter
def form_control(bound_field):
    """Render a form field's widget with Bootstrap's classes, marked invalid when it has errors.

    ``{{ form.email|form_control }}``: Django already adds ``aria-invalid`` and links the help
    text; this adds the classes so the error is also visible.
    """
    widget = bound_field.field.widget
    css = next(
        (css for kind, css in _CONTROL_CLASSES.items() if isinstance(widget, kind)),
        "form-control",
    )
    classes = [widget.attrs.get("class", ""), css]
    if bound_field.errors:
        classes.append("is-invalid")
    return bound_field.as_widget(attrs={"class": " ".join(c for c in classes if c)})
