"""The customer page: header with badges, key figures, and the blocks (personal data,
consents, groups, tags, addresses, orders, carts, products, messages, vouchers, visits,
timeline, private note).

Each block pages on its own: its links carry every block's page in the query string (so a
link, or the address bar, reproduces what is shown), and with htmx only that block is fetched
again, from ``customer_detail_block_view``, which also tells the browser the page's new address.
The private note is edited in place. Links to actions other screens provide (edit, block,
merge, ...) are shown only once those screens exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from comptoir.core.actors import actor_from_request
from comptoir.customers.forms.detail import NoteForm
from comptoir.customers.models import Customer
from comptoir.customers.selectors import (
    BLOCK_NAMES,
    customer_detail,
    customer_detail_block,
    customer_for_page,
)
from comptoir.customers.services import customer_note_set
from comptoir.customers.templatetags.customer_detail import detail_query, page_param

# Far beyond any real page; keeps a silly number in a link from reaching the database.
MAX_PAGE = 1_000_000


def _page_number(raw: str | None) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_PAGE)


def _pages_in(query: QueryDict) -> dict[str, int]:
    """Each block's page as the query string gives it (blocks on page 1 left out)."""
    pages = {}
    for name in BLOCK_NAMES:
        number = _page_number(query.get(page_param(name)))
        if number > 1:
            pages[name] = number
    return pages


def _pages_shown(request: HttpRequest) -> dict[str, int]:
    """The blocks' pages of the customer page the user is looking at. An htmx request comes
    from that page: its address (``HX-Current-URL``) says where the other blocks are."""
    current = request.htmx.current_url if request.htmx else None
    if current:
        return _pages_in(QueryDict(urlsplit(current).query))
    return _pages_in(request.GET)


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    url: str
    icon: str
    danger: bool = False


def _url_or_none(name: str, pk: int) -> str | None:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:  # that screen is not built yet: no dead link
        return None


def _actions(customer: Customer) -> list[Action]:
    """The actions offered on this customer whose screens exist, in the order shown."""
    live = customer.anonymised_at is None
    blocked, guest = customer.is_blocked, customer.is_guest
    actions: list[Action] = []

    def offer(key: str, label: str, icon: str, *url_names: str, when: bool = True) -> None:
        if not when:
            return
        url = next(filter(None, (_url_or_none(name, customer.pk) for name in url_names)), None)
        if url:
            actions.append(Action(key, label, url, icon, danger=key == "delete"))

    offer("edit", _("Edit"), "pencil", "customers:edit", when=live)
    offer("block", _("Block"), "slash-circle", "customers:block", when=live and not blocked)
    # Unblocking may be a screen of its own or the other half of the block screen.
    offer("unblock", _("Unblock"), "unlock", "customers:unblock", "customers:block", when=blocked)
    login = _("Disable login") if customer.is_enabled else _("Enable login")
    offer("login", login, "person-lock", "customers:login", when=live)
    convert = _("Convert to a registered customer")
    offer("convert_guest", convert, "person-check", "customers:convert_guest", when=live and guest)
    offer("merge", _("Merge a duplicate"), "intersect", "customers:merge", when=live)
    offer("export", _("Export personal data"), "file-earmark-zip", "customers:export_personal_data")
    offer("delete", _("Delete"), "trash", "customers:delete")
    return actions


def _links(customer: Customer, pages: dict[str, int]) -> dict:
    """What the blocks' templates build their links from."""
    return {
        "customer": customer,
        "detail_url": reverse("customers:detail", args=[customer.pk]),
        "block_url": reverse("customers:detail_block", args=[customer.pk, "__block__"]),
        "detail_pages": pages,
    }


def _page_address(context: dict) -> str:
    query = detail_query(context["detail_pages"])
    return context["detail_url"] + (f"?{query}" if query else "")


def _detail_render(request: HttpRequest, pk: int, *, note_form: NoteForm | None = None):
    detail = customer_detail(pk=pk, pages=_pages_in(request.GET))
    if detail is None:
        raise Http404
    # The pages really shown (a page past the end shows the last one), so links start there.
    pages = {
        name: block.page.number for name, block in detail.blocks.items() if block.page.number > 1
    }
    customer = detail.customer
    if note_form is None and request.GET.get("note") == "edit":
        note_form = NoteForm(initial={"note": customer.note})
    context = {
        **_links(customer, pages),
        "figures": detail.figures,
        "blocks": detail.blocks,
        "actions": _actions(customer),
        "note_form": note_form,
    }
    return render(request, "customers/detail.html", context)


@require_GET
def customer_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer page, each block on the page its ``<block>_page`` parameter names."""
    return _detail_render(request, pk)


@require_GET
def customer_detail_block_view(request: HttpRequest, pk: int, block: str) -> HttpResponse:
    """One block of the customer page (htmx). Without htmx, the whole page at that state."""
    if block not in BLOCK_NAMES and block != "note":
        raise Http404
    pages = _pages_shown(request)
    if block == "note":
        return _note_block(request, pk, pages, editing=request.GET.get("edit") == "1")
    number = _page_number(request.GET.get(page_param(block)))
    found = customer_detail_block(pk=pk, name=block, number=number)
    if found is None:
        raise Http404
    pages.pop(block, None)
    if found.block.page.number > 1:
        pages[block] = found.block.page.number
    context = {**_links(found.customer, pages), "block": found.block}
    if not request.htmx:
        return redirect(_page_address(context) + f"#block-{block}")
    response = render(request, f"customers/detail/{block}.html", context)
    response["HX-Push-Url"] = _page_address(context)
    return response


def _note_block(request: HttpRequest, pk: int, pages: dict[str, int], *, editing: bool):
    customer = customer_for_page(pk=pk)
    if customer is None:
        raise Http404
    context = _links(customer, pages)
    if not request.htmx:
        query = detail_query(pages)
        suffix = "note=edit" if editing else ""
        joined = "&".join(part for part in (query, suffix) if part)
        return redirect(context["detail_url"] + (f"?{joined}" if joined else "") + "#block-note")
    if editing:
        context["note_form"] = NoteForm(initial={"note": customer.note})
    return render(request, "customers/detail/note.html", context)


@require_POST
def customer_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the private note (``customer_note_set``). htmx gets the note block back, in place;
    a plain form post comes back to the page."""
    customer = customer_for_page(pk=pk)
    if customer is None:
        raise Http404
    form = NoteForm(request.POST)
    if not form.is_valid():
        if request.htmx:
            context = {**_links(customer, _pages_shown(request)), "note_form": form}
            return render(request, "customers/detail/note.html", context)
        return _detail_render(request, pk, note_form=form)
    changed = customer_note_set(
        customer=customer, note=form.cleaned_data["note"], actor=actor_from_request(request)
    )
    notice = _("Note saved.") if changed else _("The note is unchanged.")
    if request.htmx:
        context = {**_links(customer, _pages_shown(request)), "note_notice": notice}
        return render(request, "customers/detail/note.html", context)
    messages.success(request, notice)
    return redirect(reverse("customers:detail", args=[pk]) + "#block-note")
