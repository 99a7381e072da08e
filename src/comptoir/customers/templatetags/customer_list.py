"""Template tags of the customers list: links that change one parameter of the list's URL, the
column headers with their sort links, and the table cells.

``{% load customer_list %}``. Cells are built here in Python rather than with one ``{% include %}``
per cell: a page of 250 rows by 16 columns is 4,000 cells, and a template per cell costs tens of
milliseconds where this costs a few.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms, template
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import get_language, gettext

from comptoir.core.templatetags.backoffice import form_control, money
from comptoir.customers.filters import DEFAULT_SORT
from comptoir.customers.forms import Column

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
    return reverse("customers:list") + (f"?{encoded}" if encoded else "")


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

    def toggle(self, customer, column: Column) -> str:
        attribute, _icon = TOGGLES[column.key]
        on = bool(getattr(customer, attribute))
        url = self.toggle_url.replace("999999999", str(customer.pk)).replace("FIELD", column.key)
        label = escape(self.toggle_label % {"column": column.label, "customer": customer})
        state, pressed = ("toggle-on", "true") if on else ("toggle-off", "false")
        return (
            f'<td class="cell-toggle" data-col="{column.key}">'
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
        groups = sorted(customer.groups.all(), key=lambda group: (group.pk != default_id, group.pk))
        return " ".join(
            f'<span class="badge text-bg-primary">{escape(group.name)} '
            f'<span class="visually-hidden">({self.default_label})</span></span>'
            if group.pk == default_id
            else f'<span class="badge badge-muted">{escape(group.name)}</span>'
            for group in groups
        )

    def linked(self, customer, text, css: str = "") -> str:
        """A cell whose text links to the customer's page."""
        if text in ("", None):
            return f'<td class="{css}"></td>'
        text = escape(text)
        url = self.detail_url.replace("999999999", str(customer.pk))
        return (
            f'<td class="{css}" title="{text}">'
            f'<a href="{url}" class="customer-link">{text}</a></td>'
        )

    def cell(self, customer, column: Column) -> str:
        key = column.key
        if key in TOGGLES:
            return self.toggle(customer, column)
        if key == "id":
            return self.linked(customer, customer.pk, "text-end")
        if key == "title":
            return f"<td>{escape(customer.title.name) if customer.title_id else ''}</td>"
        if key in ("first_name", "last_name"):
            return self.linked(customer, getattr(customer, key))
        if key == "email":
            return self.linked(customer, customer.email, "cell-email text-truncate")
        if key == "company":
            return _text(customer.company, "text-truncate cell-wide")
        if key == "groups":
            return f'<td class="cell-groups">{self.groups(customer)}</td>'
        if key == "sales":
            return f'<td class="text-end text-nowrap">{escape(money(customer.total_spent))}</td>'
        if key == "orders":
            return f'<td class="text-end">{customer.orders_count}</td>'
        if key == "registration":
            return f'<td class="text-nowrap">{_date(customer.created_at)}</td>'
        if key == "last_visit":
            return f'<td class="text-nowrap">{_date(customer.last_visit_at)}</td>'
        if key == "country":
            name = customer.country.name if customer.country else ""
            return _text(name, "text-truncate cell-country")
        if key == "tags":
            return _text(customer.tags_text, "text-truncate cell-wide small")
        raise template.TemplateSyntaxError(f"unknown column {key!r}")

    def row(self, customer, columns) -> str:
        label = escape(self.select_label % {"name": customer})
        cells = "".join(self.cell(customer, column) for column in columns)
        return (
            f'<tr data-customer="{customer.pk}"><td class="cell-select">'
            '<input class="form-check-input row-select" type="checkbox" '
            f'name="ids" value="{customer.pk}" form="bulk-form" aria-label="{label}"></td>'
            f"{cells}</tr>"
        )


def _date(value) -> str:
    return escape(date_format(localtime(value), "SHORT_DATE_FORMAT")) if value else ""


def _text(value, css: str) -> str:
    value = escape(value or "")
    return f'<td class="{css}" title="{value}">{value}</td>'


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


# The options of menus whose choices are fixed in code (yes/no, languages, countries), escaped,
# per form, field and language: the country menu alone has 250 of them.
_FIXED_MENUS: dict[tuple[str, str, str], list[tuple[str, str]]] = {}


def _menu_options(bound_field) -> list[tuple[str, str]]:
    field = bound_field.field

    def escaped():
        return [(escape(str(value)), escape(str(label))) for value, label in field.choices]

    if isinstance(field, forms.ModelChoiceField):
        return escaped()
    key = (type(bound_field.form).__qualname__, bound_field.name, get_language() or "")
    if key not in _FIXED_MENUS:
        _FIXED_MENUS[key] = escaped()
    return _FIXED_MENUS[key]


@register.filter
def menu_control(bound_field) -> SafeString:
    """A filter menu (``<select>``) with Bootstrap's classes, its options written directly.

    Django renders each ``<option>`` through a template of its own; the filter panel has a dozen
    menus, the country one with 250 options, which made the page several times slower than the
    table. Other widgets go through ``backoffice.form_control``.
    """
    widget = bound_field.field.widget
    if not isinstance(widget, forms.Select) or widget.allow_multiple_selected:
        return form_control(bound_field)
    value = bound_field.value()
    selected = "" if value is None else escape(str(value))
    options = "".join(
        f'<option value="{option}" selected>{label}</option>'
        if option == selected
        else f'<option value="{option}">{label}</option>'
        for option, label in _menu_options(bound_field)
    )
    invalid = bool(bound_field.errors)
    return format_html(
        '<select name="{}" id="{}" class="form-select{}"{}>{}</select>',
        bound_field.html_name,
        bound_field.auto_id,
        " is-invalid" if invalid else "",
        mark_safe(' aria-invalid="true"') if invalid else "",
        mark_safe(options),  # every value and label escaped in _menu_options
    )
