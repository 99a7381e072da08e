"""Template tags of the customers list: links that change one parameter of the list's URL, the
column headers with their sort links, and the table cells.

``{% load customer_list %}``. Cells are built here in Python rather than with one ``{% include %}``
per cell: a page of 250 rows by 16 columns is 4,000 cells, and a template per cell costs tens of
milliseconds where this costs a few.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django import forms, template
from django.forms.utils import flatatt
from django.forms.widgets import CheckboxInput, FileInput, Input
from django.urls import reverse
from django.utils.formats import date_format, get_format
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone
from django.utils.translation import get_language, gettext

from comptoir.core.links import url_of
from comptoir.core.templatetags.backoffice import form_control, money_formatter
from comptoir.customers.filters import DEFAULT_SORT
from comptoir.customers.forms import COLUMNS, Column

register = template.Library()


def list_href(query, **changes) -> str:
    """The list's URL with ``changes`` applied to ``query`` (None or "" removes a parameter)."""
    query = query.copy()
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return url_of("customers:list") + (f"?{encoded}" if encoded else "")


@register.simple_tag(takes_context=True)
def list_url(context, **changes) -> str:
    """``{% list_url page=3 %}``: the current list with one parameter changed. The current
    query holds no page number, so any other change goes back to the first page."""
    return list_href(context["list_query"], **changes)


@dataclass(frozen=True)
class Header:
    column: Column
    url: str
    # "ascending", "descending" or "" (for aria-sort and the arrow).
    direction: str
    next_direction: str


@register.simple_tag(takes_context=True)
def list_headers(context) -> list[Header]:
    """One header per shown column, with the link that sorts on it (or reverses the sort)."""
    sort_key = context.get("sort_key") or DEFAULT_SORT
    current, descending = sort_key.lstrip("-"), sort_key.startswith("-")
    headers = []
    for column in context["columns"]:
        if column.key == current:
            direction = "descending" if descending else "ascending"
            next_sort = column.key if descending else f"-{column.key}"
        else:
            direction = ""
            next_sort = column.key
        headers.append(
            Header(
                column=column,
                url=list_href(context["list_query"], sort=next_sort),
                direction=direction,
                next_direction="descending" if next_sort.startswith("-") else "ascending",
            )
        )
    return headers


@dataclass(frozen=True)
class ColumnChoice:
    column: Column
    label: str
    shown: bool
    move_up: str
    move_down: str


@register.simple_tag(takes_context=True)
def column_choices(context) -> list[ColumnChoice]:
    """The column chooser's items: every column, the shown ones first in their order, with
    their labels translated here (two ``blocktranslate`` per column cost the page 0.7 ms)."""
    shown = context["shown_columns"]
    choices = []
    for column in context["all_columns"]:
        label = str(column.label)
        choices.append(
            ColumnChoice(
                column=column,
                label=label,
                shown=column.key in shown,
                move_up=gettext("Move %(column)s up") % {"column": label},
                move_down=gettext("Move %(column)s down") % {"column": label},
            )
        )
    return choices


TOGGLES = {
    "enabled": ("is_enabled", "bi-person-check"),
    "newsletter": ("newsletter", "bi-envelope-check"),
    "partner_offers": ("partner_offers", "bi-megaphone"),
}


class _RowWriter:
    """Writes the table's cells.

    A page of 250 rows by 16 columns is 4,000 cells: what does not depend on the row (labels in
    the active language, the toggle URL pattern, the CSRF token, the return URL) is computed once
    here, and each cell is one f-string with its values escaped, rather than a template or a
    ``format_html`` call per cell (which made the rows most of the page's time).
    """

    def __init__(self, context):
        request = context.get("request")
        self.token = escape(str(context.get("csrf_token", "")))
        self.next_url = escape(
            context.get("list_next") or (request.get_full_path() if request else "")
        )
        # The toggle URL with placeholders, reversed once (`reverse` costs ~20 µs a call).
        self.toggle_url = reverse("customers:toggle", args=[999999999, "FIELD"])
        self.yes, self.no = escape(gettext("Yes")), escape(gettext("No"))
        self.hint_on = escape(gettext("Yes: click to switch off"))
        self.hint_off = escape(gettext("No: click to switch on"))
        self.toggle_label = gettext("%(column)s: %(customer)s")
        self.select_label = gettext("Select %(name)s")
        self.default_label = escape(gettext("default"))
        # The customer's page, reversed once: the id, name and e-mail cells link to it.
        self.detail_url = reverse("customers:detail", args=[999999999])
        self.money = money_formatter()
        # Written once per page: a country's translated name and a day's local format cost
        # ten microseconds each, and a page repeats a few countries and days.
        self.countries: dict[str, str] = {}
        self.days: dict[date, str] = {}
        self.day_format = _day_format()
        self.zone = get_current_timezone()
        # A group's or title's name in the active language (``name_fr`` / ``name_en``).
        self.name_field = "name_en" if (get_language() or "fr").startswith("en") else "name_fr"
        self.labels: dict[str, str] = {}  # the columns' lazy labels, translated once
        # Each column's cell writer, looked up once per cell.
        self.writers: dict[str, Callable[[object], str]] = {
            "id": lambda customer: self.linked(customer, customer.pk, "text-end"),
            "title": self.title,
            "first_name": lambda customer: self.linked(customer, customer.first_name),
            "last_name": lambda customer: self.linked(customer, customer.last_name),
            "email": lambda customer: self.linked(
                customer, customer.email, "cell-email text-truncate"
            ),
            "company": lambda customer: _text(customer.company, "text-truncate cell-wide"),
            "groups": lambda customer: f'<td class="cell-groups">{self.groups(customer)}</td>',
            "sales": lambda customer: (
                f'<td class="text-end text-nowrap">{_escape(self.money(customer.total_spent))}</td>'
            ),
            "orders": lambda customer: f'<td class="text-end">{customer.orders_count}</td>',
            "registration": lambda customer: (
                f'<td class="text-nowrap">{self.day(customer.created_at)}</td>'
            ),
            "last_visit": lambda customer: (
                f'<td class="text-nowrap">{self.day(customer.last_visit_at)}</td>'
            ),
            "country": lambda customer: _text(self.country(customer), "text-truncate cell-country"),
            "tags": lambda customer: _text(customer.tags_text, "text-truncate cell-wide small"),
            **{key: functools.partial(self.toggle, key=key) for key in TOGGLES},
        }

    def country(self, customer) -> str:
        country = customer.country
        if country.code not in self.countries:
            self.countries[country.code] = country.name if country else ""
        return self.countries[country.code]

    def day(self, value) -> str:
        """A moment as its day in the local time zone, in the language's short format."""
        if not value:
            return ""
        local = value.astimezone(self.zone).date()
        if local not in self.days:
            self.days[local] = _escape(self.day_format(local))
        return self.days[local]

    def toggle(self, customer, key: str) -> str:
        attribute, _icon = TOGGLES[key]
        on = bool(getattr(customer, attribute))
        url = self.toggle_url.replace("999999999", str(customer.pk)).replace("FIELD", key)
        if key not in self.labels:
            self.labels[key] = str(COLUMNS[key].label)
        label = self.toggle_label % {"column": self.labels[key], "customer": customer}
        label = _escape(label)
        state, pressed = ("toggle-on", "true") if on else ("toggle-off", "false")
        return (
            f'<td class="cell-toggle" data-col="{key}">'
            f'<form method="post" action="{url}" hx-post="{url}" hx-target="closest td" '
            'hx-swap="outerHTML" class="m-0">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{self.token}">'
            f'<input type="hidden" name="value" value="{"false" if on else "true"}">'
            f'<input type="hidden" name="next" value="{self.next_url}">'
            f'<button type="submit" class="btn btn-sm toggle {state}" aria-pressed="{pressed}" '
            f'title="{self.hint_on if on else self.hint_off}">'
            f'<i class="bi {"bi-check-lg" if on else "bi-x-lg"}" aria-hidden="true"></i>'
            f'<span aria-hidden="true">{self.yes if on else self.no}</span>'
            f'<span class="visually-hidden">{label}</span></button></form></td>'
        )

    def groups(self, customer) -> str:
        default_id = customer.default_group_id
        # ``list_rows`` read them as plain values; a customer read otherwise has its groups.
        groups = getattr(customer, "list_groups", None)
        if groups is None:
            groups = customer.groups.all()
        groups = sorted(groups, key=lambda group: (group.pk != default_id, group.pk))
        name = self.name_field
        return " ".join(
            f'<span class="badge text-bg-primary">{_escape(getattr(group, name))} '
            f'<span class="visually-hidden">({self.default_label})</span></span>'
            if group.pk == default_id
            else f'<span class="badge badge-muted">{_escape(getattr(group, name))}</span>'
            for group in groups
        )

    def linked(self, customer, text, css: str = "") -> str:
        """A cell whose text links to the customer's page."""
        if text in ("", None):
            return f'<td class="{css}"></td>'
        text = _escape(text)
        url = self.detail_url.replace("999999999", str(customer.pk))
        return (
            f'<td class="{css}" title="{text}">'
            f'<a href="{url}" class="customer-link">{text}</a></td>'
        )

    def title(self, customer) -> str:
        title = customer.title
        return f"<td>{_escape(getattr(title, self.name_field)) if title else ''}</td>"

    def cell(self, customer, column: Column) -> str:
        try:
            write = self.writers[column.key]
        except KeyError:
            raise template.TemplateSyntaxError(f"unknown column {column.key!r}") from None
        return write(customer)

    def row(self, customer, columns) -> str:
        label = _escape(self.select_label % {"name": customer})
        cells = "".join(self.writers[column.key](customer) for column in columns)
        return (
            f'<tr data-customer="{customer.pk}"><td class="cell-select">'
            '<input class="form-check-input row-select" type="checkbox" '
            f'name="ids" value="{customer.pk}" form="bulk-form" aria-label="{label}"></td>'
            f"{cells}</tr>"
        )


# Django's date format characters that strftime writes the same way.
_STRFTIME = {"d": "%d", "m": "%m", "Y": "%Y", "y": "%y"}


def _day_format() -> Callable[[date], str]:
    """The active language's short date format as a function of a day: ``strftime`` when the
    format only numbers the day, month and year (about ten times faster than
    ``date_format``), else ``date_format`` itself."""
    django_format = get_format("SHORT_DATE_FORMAT")
    if all(char in _STRFTIME or char in " /.-" for char in django_format):
        pattern = "".join(_STRFTIME.get(char, char) for char in django_format)
        return lambda day: day.strftime(pattern)
    return lambda day: date_format(day, "SHORT_DATE_FORMAT")


def _text(value, css: str) -> str:
    value = _escape(value or "")
    return f'<td class="{css}" title="{value}">{value}</td>'


def _escape(value) -> str:
    """Django's ``escape`` without its lazy-string check and ``SafeString`` wrapper (its very
    result: ``html.escape(str(value))``): the rows call it some 1,000 times a page, a third of
    their time; they are marked safe once, whole."""
    return html.escape(str(value))


@register.simple_tag(takes_context=True)
def customer_cell(context, customer, column: Column) -> SafeString:
    """The ``<td>`` of one column for one customer (what a row toggle answers with)."""
    return mark_safe(_RowWriter(context).cell(customer, column))


@register.simple_tag(takes_context=True)
def customer_rows(context, customers) -> SafeString:
    """The table's rows: a selection checkbox (part of the bulk form), then the chosen columns
    in their order. Every value is escaped in ``_RowWriter``."""
    writer = _RowWriter(context)
    columns = context["columns"]
    return mark_safe("".join(writer.row(customer, columns) for customer in customers))


@register.simple_tag(takes_context=True)
def list_hidden_inputs(context, without: str = "", only: str = "") -> SafeString:
    """The list's current parameters as hidden inputs, for the small GET forms of the page (go to
    page, columns, filters) that change some parameters and keep the others. ``without`` /
    ``only``: comma-separated names to leave out / to keep."""
    skip = set(filter(None, without.split(",")))
    keep = set(filter(None, only.split(",")))
    return format_html_join(
        "",
        '<input type="hidden" name="{}" value="{}">',
        (
            (key, value)
            for key, values in context["list_query"].lists()
            if key not in skip and (not keep or key in keep)
            for value in values
        ),
    )


# The options of menus whose choices are fixed in code (yes/no, languages, countries, actions),
# escaped, per form, field and language: the country menu alone has 250 of them. A group of
# options (``<optgroup>``) is its escaped label and its options.
_FIXED_MENUS: dict[tuple[str, str, str], list[tuple[str, object]]] = {}


def _escaped_choices(choices) -> list[tuple[str, object]]:
    return [
        (escape(str(value)), _escaped_choices(label))
        if isinstance(label, (list, tuple))
        else (escape(str(value)), escape(str(label)))
        for value, label in choices
    ]


def _menu_options(bound_field) -> list[tuple[str, object]]:
    field = bound_field.field
    if isinstance(field, forms.ModelChoiceField):
        # The queryset read as a list: the field's own choices iterate it with .iterator(),
        # a server-side cursor on PostgreSQL (DECLARE, FETCH, CLOSE: three round trips for a
        # dozen groups).
        choices = [
            (field.prepare_value(obj), field.label_from_instance(obj)) for obj in field.queryset
        ]
        if field.empty_label is not None:
            choices.insert(0, ("", field.empty_label))
        return _escaped_choices(choices)
    key = (type(bound_field.form).__qualname__, bound_field.name, get_language() or "")
    if key not in _FIXED_MENUS:
        _FIXED_MENUS[key] = _escaped_choices(field.choices)
    return _FIXED_MENUS[key]


def _options_html(options: list[tuple[str, object]], selected: str) -> str:
    return "".join(
        f'<optgroup label="{option}">{_options_html(label, selected)}</optgroup>'
        if isinstance(label, list)
        else f'<option value="{option}" selected>{label}</option>'
        if option == selected
        else f'<option value="{option}">{label}</option>'
        for option, label in options
    )


@register.filter
def direct_control(bound_field) -> SafeString:
    """A form control with Bootstrap's classes, written directly: a menu (``<select>``) with its
    options, or an ``<input>``; the same markup as Django's widget templates, which render each
    ``<option>`` and each attribute list through a template of their own. The filter panel has
    a dozen menus (the country one with 250 options) and five inputs, which made the page
    several times slower than the table. Other widgets go through ``backoffice.form_control``.
    """
    widget = bound_field.field.widget
    if isinstance(widget, forms.Select) and not widget.allow_multiple_selected:
        return _menu_html(bound_field)
    if isinstance(widget, Input) and not isinstance(widget, (CheckboxInput, FileInput)):
        return _input_html(bound_field, widget)
    return form_control(bound_field)


def _menu_html(bound_field) -> SafeString:
    value = bound_field.value()
    selected = "" if value is None else escape(str(value))
    invalid = bool(bound_field.errors)
    # Django's rule for ``required`` (not on a menu whose first option has a value).
    required = bound_field.build_widget_attrs({}).get("required", False)
    return format_html(
        '<select name="{}" id="{}" class="form-select{}"{}{}>{}</select>',
        bound_field.html_name,
        bound_field.auto_id,
        " is-invalid" if invalid else "",
        mark_safe(" required") if required else "",
        mark_safe(' aria-invalid="true"') if invalid else "",
        # every value and label escaped in _menu_options
        mark_safe(_options_html(_menu_options(bound_field), selected)),
    )


def _input_html(bound_field, widget: Input) -> SafeString:
    """What ``form_control`` renders for an input, with the attributes Django would give it."""
    css = [widget.attrs.get("class", ""), "form-control"]
    if bound_field.errors:
        css.append("is-invalid")
    attrs = bound_field.build_widget_attrs({"class": " ".join(filter(None, css))}, widget)
    attrs = widget.build_attrs(widget.attrs, attrs)
    if bound_field.auto_id:
        attrs.setdefault("id", bound_field.auto_id)
    value = widget.format_value(bound_field.value())
    return format_html(
        '<input type="{}" name="{}"{}{}>',
        widget.input_type,
        bound_field.html_name,
        format_html(' value="{}"', value) if value is not None else "",
        flatatt(attrs),
    )
