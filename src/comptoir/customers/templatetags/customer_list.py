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


def _toggle(context, customer, column: Column) -> SafeString:
    attribute, _icon = TOGGLES[column.key]
    on = bool(getattr(customer, attribute))
    url = reverse("customers:toggle", args=[customer.pk, column.key])
    request = context.get("request")
    next_url = context.get("list_next") or (request.get_full_path() if request else "")
    label = gettext("%(column)s: %(customer)s") % {"column": column.label, "customer": customer}
    return format_html(
        '<td class="cell-toggle" data-col="{key}">'
        '<form method="post" action="{url}" hx-post="{url}" hx-target="closest td" '
        'hx-swap="outerHTML" class="m-0">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
        '<input type="hidden" name="value" value="{new}">'
        '<input type="hidden" name="next" value="{next}">'
        '<button type="submit" class="btn btn-sm toggle {state}" aria-pressed="{pressed}" '
        'title="{hint}"><i class="bi {icon}" aria-hidden="true"></i>'
        '<span aria-hidden="true">{text}</span><span class="visually-hidden">{label}</span>'
        "</button></form></td>",
        key=column.key,
        url=url,
        token=str(context.get("csrf_token", "")),
        new="false" if on else "true",
        next=next_url,
        state="toggle-on" if on else "toggle-off",
        pressed="true" if on else "false",
        hint=gettext("Yes: click to switch off") if on else gettext("No: click to switch on"),
        icon="bi-check-lg" if on else "bi-x-lg",
        text=gettext("Yes") if on else gettext("No"),
        label=label,
    )


def _groups(customer) -> SafeString:
    groups = sorted(
        customer.groups.all(), key=lambda group: (group.pk != customer.default_group_id, group.pk)
    )
    return format_html_join(
        " ",
        '<span class="badge {}">{}{}</span>',
        (
            (
                "text-bg-primary" if group.pk == customer.default_group_id else "badge-muted",
                group.name,
                format_html(' <span class="visually-hidden">({})</span>', gettext("default"))
                if group.pk == customer.default_group_id
                else "",
            )
            for group in groups
        ),
    )


def _date(value) -> str:
    return date_format(localtime(value), "SHORT_DATE_FORMAT") if value else ""


def _text(value, css: str = "") -> SafeString:
    return format_html('<td class="{}" title="{}">{}</td>', css, value, value)


def _cell(context, customer, column: Column) -> SafeString:
    key = column.key
    if key in TOGGLES:
        return _toggle(context, customer, column)
    if key == "id":
        return format_html('<td class="text-end text-body-secondary">{}</td>', customer.pk)
    if key == "title":
        return format_html("<td>{}</td>", customer.title.name if customer.title_id else "")
    if key in ("first_name", "last_name"):
        return format_html("<td>{}</td>", getattr(customer, key))
    if key == "email":
        return _text(customer.email, "cell-email text-truncate")
    if key == "company":
        return _text(customer.company, "text-truncate cell-wide")
    if key == "groups":
        return format_html('<td class="cell-groups">{}</td>', _groups(customer))
    if key == "sales":
        return format_html('<td class="text-end text-nowrap">{}</td>', money(customer.total_spent))
    if key == "orders":
        return format_html('<td class="text-end">{}</td>', customer.orders_count)
    if key == "registration":
        return format_html('<td class="text-nowrap">{}</td>', _date(customer.created_at))
    if key == "last_visit":
        return format_html('<td class="text-nowrap">{}</td>', _date(customer.last_visit_at))
    if key == "country":
        return _text(
            customer.country.name if customer.country else "", "text-truncate cell-country"
        )
    if key == "tags":
        return _text(customer.tags_text, "text-truncate cell-wide small")
    raise template.TemplateSyntaxError(f"unknown column {key!r}")


@register.simple_tag(takes_context=True)
def customer_cell(context, customer, column: Column) -> SafeString:
    """The ``<td>`` of one column for one customer."""
    return _cell(context, customer, column)


@register.simple_tag(takes_context=True)
def customer_rows(context, customers) -> SafeString:
    """The table's rows: a selection checkbox (part of the bulk form), then the chosen columns
    in their order."""
    columns = context["columns"]
    rows = []
    for customer in customers:
        checkbox = format_html(
            '<td class="cell-select"><input class="form-check-input row-select" type="checkbox" '
            'name="ids" value="{}" form="bulk-form" aria-label="{}"></td>',
            customer.pk,
            gettext("Select %(name)s") % {"name": customer},
        )
        cells = "".join(_cell(context, customer, column) for column in columns)
        rows.append(
            format_html('<tr data-customer="{}">{}{}</tr>', customer.pk, checkbox, mark_safe(cells))
        )
    return mark_safe("".join(rows))


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
