"""Template tags of the customer page: the links of each block's pages, how a timeline event
and its author read, and the rows of the blocks' tables.

``{% load customer_detail %}``.
"""

from __future__ import annotations

import datetime

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat
from django.utils import dateformat
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from comptoir.core.models import Source
from comptoir.core.templatetags.backoffice import money
from comptoir.customers.models import Channel, DeleteMode, OptInLevel
from comptoir.orders.models import CartStatus, OrderStatus
from comptoir.support.models import ThreadStatus

register = template.Library()


def page_param(block: str) -> str:
    """The query-string name of a block's page number: ``orders_page``."""
    return f"{block}_page"


def detail_query(pages: dict[str, int], **changes: int) -> str:
    """The query string of the customer page with each block on its page (page 1 left out).
    Block names and page numbers need no escaping."""
    return "&".join(
        f"{page_param(block)}={int(number)}"
        for block, number in sorted({**pages, **changes}.items())
        if number and number > 1
    )


@register.simple_tag(takes_context=True)
def block_href(context, block: str, number: int) -> str:
    """The whole page with this block on page ``number`` and the others where they are: the
    link works without JavaScript, and is what the address bar shows after an htmx reload."""
    query = detail_query(context["detail_pages"], **{block: number})
    return context["detail_url"] + (f"?{query}" if query else "") + f"#block-{block}"


@register.simple_tag(takes_context=True)
def block_hx(context, block: str, number: int | None = None) -> str:
    """The URL of the block alone (what htmx fetches), on page ``number``."""
    url = context["block_url"].replace("__block__", block)
    return f"{url}?{page_param(block)}={number}" if number else url


@register.filter
def consent_states(customer) -> list[tuple[str, bool, object]]:
    """(channel, given, since when) for each marketing channel, from the customer's row."""
    return [
        (label, getattr(customer, value), getattr(customer, f"{value}_at"))
        for value, label in Channel.choices
    ]


def _pager_link(context, block: str, number: int, icon: str, role: str, label: str, rel: str):
    return format_html(
        '<li class="page-item"><a class="page-link"{} href="{}" hx-get="{}" '
        'hx-target="#block-{}" hx-swap="outerHTML" data-page="{}">'
        '<i class="bi bi-{}" aria-hidden="true"></i>'
        '<span class="visually-hidden">{}</span></a></li>',
        format_html(' rel="{}"', rel) if rel else "",
        block_href(context, block, number),
        block_hx(context, block, number),
        block,
        role,
        icon,
        label,
    )


@register.simple_tag(takes_context=True)
def block_pager(context, block, title: str) -> SafeString:
    """A block's pages (nothing when it has one): first, previous, "page 2 of 5", next, last.
    Plain links that work without JavaScript; htmx fetches the block alone. Built here rather
    than in a template: thirteen blocks' pagers were a fifth of the page's rendering."""
    page = block.page
    if page.pages <= 1:
        return mark_safe("")
    name = block.name
    links = []
    if page.has_previous:
        links.append(
            _pager_link(context, name, 1, "chevron-double-left", "first", _("First page"), "")
        )
        links.append(
            _pager_link(
                context,
                name,
                page.number - 1,
                "chevron-left",
                "previous",
                _("Previous page"),
                "prev",
            )
        )
    links.append(
        format_html(
            '<li class="page-item active" aria-current="page">'
            '<span class="page-link" data-role="page-current">{}</span></li>',
            _("Page %(number)s of %(pages)s")
            % {"number": intcomma(page.number), "pages": intcomma(page.pages)},
        )
    )
    if page.has_next:
        links.append(
            _pager_link(
                context, name, page.number + 1, "chevron-right", "next", _("Next page"), "next"
            )
        )
        links.append(
            _pager_link(
                context, name, page.pages, "chevron-double-right", "last", _("Last page"), ""
            )
        )
    return format_html(
        '<nav class="card-footer bg-body d-flex flex-wrap align-items-center '
        'justify-content-between gap-2 small block-pager" aria-label="{}">'
        '<span class="text-body-secondary" data-role="page-status">{}</span>'
        '<ul class="pagination pagination-sm mb-0">{}</ul></nav>',
        _("Pages of %(title)s") % {"title": title},
        _("%(start)s\u2013%(end)s of %(total)s")
        % {
            "start": intcomma(page.start_index),
            "end": intcomma(page.end_index),
            "total": intcomma(page.total),
        },
        mark_safe("".join(links)),  # each made by format_html
    )


# What each kind of event is called on the timeline. Kinds from later work that are not here
# show their raw name rather than nothing.
EVENT_LABELS = {
    "customer_created": gettext_lazy("Customer created"),
    "customer_updated": gettext_lazy("Profile changed"),
    "consent_changed": gettext_lazy("Consent changed"),
    "groups_added": gettext_lazy("Added to groups"),
    "groups_removed": gettext_lazy("Removed from groups"),
    "default_group_changed": gettext_lazy("Default group changed"),
    "customer_blocked": gettext_lazy("Blocked from ordering"),
    "customer_unblocked": gettext_lazy("Unblocked"),
    "customer_enabled": gettext_lazy("Login enabled"),
    "customer_disabled": gettext_lazy("Login disabled"),
    "note_changed": gettext_lazy("Private note changed"),
    "password_changed": gettext_lazy("Password changed"),
    "tags_changed": gettext_lazy("Tags changed"),
    "tags_added": gettext_lazy("Tag added"),
    "tags_removed": gettext_lazy("Tag removed"),
    "address_added": gettext_lazy("Address added"),
    "address_changed": gettext_lazy("Address changed"),
    "address_removed": gettext_lazy("Address removed"),
    "order_recorded": gettext_lazy("Order placed"),
    "order_status_changed": gettext_lazy("Order status changed"),
    "customer_deleted": gettext_lazy("Deleted"),
    "customer_anonymised": gettext_lazy("Anonymised"),
    "customer_merged": gettext_lazy("Merged"),
    "guest_converted": gettext_lazy("Guest converted to a registered customer"),
    "personal_data_exported": gettext_lazy("Personal data exported"),
}


@register.filter
def event_label(event) -> str:
    label = EVENT_LABELS.get(event.kind)
    return str(label) if label else event.kind.replace("_", " ").capitalize()


def _choice(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _field_labels(names) -> str:
    from comptoir.customers.models import Customer

    labels = []
    for name in names:
        try:
            labels.append(str(Customer._meta.get_field(name).verbose_name))
        except Exception:  # a field removed since the event was written
            labels.append(name)
    return ", ".join(labels)


def _groups(ids, groups: dict) -> str:
    return ", ".join(str(groups[pk]) if pk in groups else f"#{pk}" for pk in ids or ())


@register.simple_tag
def event_details(event, groups: dict | None = None) -> str:
    """A short line saying what the event changed (from its before/after data). ``groups``:
    the groups by id, to name those an event mentions."""
    data = event.data or {}
    kind = event.kind
    group_names = groups or {}
    if kind == "consent_changed":
        state = _("given") if data.get("granted") else _("withdrawn")
        text = f"{_choice(Channel, data.get('channel'))}: {state}"
        level = data.get("opt_in_level")
        if data.get("granted") and level and level != OptInLevel.UNKNOWN:
            text += f" ({_choice(OptInLevel, level)})"
        return text
    if kind == "customer_updated":
        return _field_labels(data.get("changes", {}))
    if kind in ("customer_blocked", "customer_unblocked"):
        return data.get("reason", "")
    if kind == "order_recorded":
        status = _choice(OrderStatus, data.get("status"))
        return f"{data.get('reference', '')} · {money(data.get('total'))} · {status}"
    if kind == "order_status_changed":
        before, after = (
            _choice(OrderStatus, data.get("before")),
            _choice(OrderStatus, data.get("after")),
        )
        return f"{data.get('reference', '')}: {before} → {after}"
    if kind in ("groups_added", "groups_removed"):
        return _groups(data.get("groups"), group_names)
    if kind == "default_group_changed":
        before = _groups([data.get("before")], group_names)
        return f"{before} → {_groups([data.get('after')], group_names)}"
    if kind == "tags_changed":
        return ", ".join(data.get("after", [])) or _("no tags")
    if kind in ("tags_added", "tags_removed"):
        return ", ".join(data.get("tags", []))
    if kind in ("address_added", "address_changed"):
        return data.get("city", "") or _field_labels(data.get("changes", {}))
    if kind == "customer_deleted":
        return _choice(DeleteMode, data.get("mode"))
    return ""


@register.filter
def author(record) -> str:
    """Who made a change: the staff member, else where it came from (storefront, import...)."""
    if record.actor_id and record.actor is not None:
        return record.actor.get_full_name() or record.actor.get_username()
    return _choice(Source, record.source)


# The rows of the blocks' lists, built here in Python rather than looped over in templates, as
# the customers list does (customer_list.py): the page shows some seventy rows, each with
# dates, amounts and labels, and the template engine took about twice as long for them. Every
# value goes through format_html, so it is escaped.


class _Cells:
    """The active language's date formats and choice labels, looked up once per block."""

    def __init__(self):
        self.datetime_format = get_format("SHORT_DATETIME_FORMAT")
        self.date_format = get_format("SHORT_DATE_FORMAT")

    def when(self, value) -> str:
        return dateformat.format(localtime(value), self.datetime_format) if value else ""

    def day(self, value) -> str:
        if not value:
            return ""
        if isinstance(value, datetime.datetime):
            value = localtime(value)
        return dateformat.format(value, self.date_format)


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices.choices}


def _rows(rows) -> SafeString:
    return mark_safe("".join(rows))  # each row made by format_html


@register.simple_tag
def order_rows(orders) -> SafeString:
    cells, statuses = _Cells(), _labels(OrderStatus)
    return _rows(
        format_html(
            '<tr data-order="{}"><td class="font-monospace">{}</td>'
            '<td class="text-nowrap">{}</td><td>{}</td><td>{}</td>'
            '<td class="text-end text-nowrap">{}</td></tr>',
            order.pk,
            order.reference,
            cells.when(order.created_at),
            statuses.get(order.status, order.status),
            order.payment_method or "—",
            money(order.total, order.currency),
        )
        for order in orders
    )


CART_BADGES = {
    CartStatus.ABANDONED: "text-bg-warning",
    CartStatus.CONVERTED: "text-bg-success",
    CartStatus.OPEN: "text-bg-light border",
}


@register.simple_tag
def cart_rows(carts) -> SafeString:
    cells, statuses = _Cells(), _labels(CartStatus)
    return _rows(
        format_html(
            '<tr data-cart="{}" data-status="{}"><td class="text-nowrap">{}</td>'
            '<td><span class="badge {}">{}</span></td><td class="text-end">{}</td>'
            '<td class="text-end text-nowrap">{}</td><td class="font-monospace">{}</td></tr>',
            cart.pk,
            cart.status,
            cells.when(cart.created_at),
            CART_BADGES.get(cart.status, "text-bg-light"),
            statuses.get(cart.status, cart.status),
            cart.items_count,
            money(cart.total, cart.currency),
            cart.order.reference if cart.order_id else "—",
        )
        for cart in carts
    )


@register.simple_tag
def product_rows(products) -> SafeString:
    return _rows(
        format_html(
            '<tr data-product="{}"><td>{}</td><td class="font-monospace">{}</td>'
            '<td class="text-end">{}</td><td class="text-end text-nowrap">{}</td></tr>',
            product.reference,
            product.name,
            product.reference or "—",
            intcomma(product.quantity),
            money(product.total),
        )
        for product in products
    )


@register.simple_tag
def consent_rows(records) -> SafeString:
    cells = _Cells()
    channels, levels, sources = _labels(Channel), _labels(OptInLevel), _labels(Source)
    given, withdrawn = _("given"), _("withdrawn")
    return _rows(
        format_html(
            '<tr data-consent="{}"><td class="text-nowrap">{}</td><td>{}</td><td>{}</td>'
            '<td>{}</td><td>{}</td><td>{}</td><td class="font-monospace">{}</td></tr>',
            record.pk,
            cells.when(record.created_at),
            channels.get(record.channel, record.channel),
            given if record.granted else withdrawn,
            levels.get(record.opt_in_level, record.opt_in_level),
            sources.get(record.source, record.source),
            author(record),
            record.ip_address or "—",
        )
        for record in records
    )


@register.simple_tag
def voucher_rows(vouchers) -> SafeString:
    cells, yes, no = _Cells(), _("Yes"), _("No")
    return _rows(
        format_html(
            '<tr data-voucher="{}"><td class="font-monospace">{}</td><td>{}</td>'
            '<td class="text-end text-nowrap">{}</td><td class="text-nowrap">{}</td>'
            "<td>{}</td></tr>",
            voucher.pk,
            voucher.code,
            voucher.name,
            _voucher_value(voucher),
            cells.day(voucher.valid_until) or "—",
            yes if voucher.is_used else no,
        )
        for voucher in vouchers
    )


def _voucher_value(voucher) -> str:
    parts = []
    if voucher.percent:
        parts.append(f"{floatformat(voucher.percent, '-2')} %")
    if voucher.amount or not voucher.percent:
        parts.append(money(voucher.amount))
    return " + ".join(parts)


@register.simple_tag
def visit_rows(visits) -> SafeString:
    cells = _Cells()
    return _rows(
        format_html(
            '<tr data-visit="{}"><td class="text-nowrap">{}</td>'
            '<td class="font-monospace">{}</td><td class="text-break">{}</td></tr>',
            visit.pk,
            cells.when(visit.created_at),
            visit.ip_address or "—",
            Truncator(visit.referrer).chars(80) if visit.referrer else "—",
        )
        for visit in visits
    )


THREAD_BADGES = {
    ThreadStatus.OPEN: "text-bg-info",
    ThreadStatus.PENDING: "text-bg-warning",
    ThreadStatus.CLOSED: "text-bg-light border",
}


@register.simple_tag
def thread_items(threads) -> SafeString:
    cells, statuses = _Cells(), _labels(ThreadStatus)
    items = []
    for thread in threads:
        count = ngettext("%(count)s message", "%(count)s messages", thread.messages_count) % {
            "count": intcomma(thread.messages_count)
        }
        excerpt = thread.last_message_excerpt
        items.append(
            format_html(
                '<li class="list-group-item" data-thread="{}">'
                '<div class="d-flex flex-wrap justify-content-between gap-2">'
                '<span class="fw-semibold">{}</span>'
                '<span class="text-body-secondary text-nowrap">'
                '<span class="badge {}">{}</span> {}</span></div>'
                '<p class="mb-0 text-body-secondary">{}{}</p></li>',
                thread.pk,
                thread.subject,
                THREAD_BADGES.get(thread.status, "text-bg-light"),
                statuses.get(thread.status, thread.status),
                cells.when(thread.updated_at),
                count,
                format_html(' · <span class="fst-italic">{}</span>', Truncator(excerpt).chars(140))
                if excerpt
                else "",
            )
        )
    return _rows(items)


@register.simple_tag
def timeline_items(events, groups: dict | None = None) -> SafeString:
    cells, sources, by = _Cells(), _labels(Source), _("By")
    items = []
    for event in events:
        details = event_details(event, groups)
        staff = format_html(
            ' <span class="badge text-bg-light border ms-1">{}</span>',
            sources.get(event.source, event.source),
        )
        items.append(
            format_html(
                '<li class="list-group-item" data-event="{}" data-kind="{}">'
                '<div class="d-flex flex-wrap justify-content-between gap-2">'
                '<span class="fw-semibold">{}</span>'
                '<time class="text-body-secondary text-nowrap" datetime="{}">{}</time></div>'
                "{}"
                '<div class="text-body-secondary" data-role="author">'
                '<i class="bi bi-person me-1" aria-hidden="true"></i>'
                '<span class="visually-hidden">{} </span>{}{}{}</div></li>',
                event.pk,
                event.kind,
                event_label(event),
                event.created_at.isoformat(),
                cells.when(event.created_at),
                format_html('<div class="text-break" data-role="details">{}</div>', details)
                if details
                else "",
                by,
                author(event),
                staff if event.actor_id else "",
                format_html(' <span class="font-monospace ms-1">{}</span>', event.ip_address)
                if event.ip_address
                else "",
            )
        )
    return _rows(items)
