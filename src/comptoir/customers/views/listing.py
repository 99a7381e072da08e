"""The customers list page and what it posts to: row toggles, bulk actions (with their
confirmation page) and saved views.

Views only read the request, call one selector or service, and render; bad input becomes a
message or a form error on a normal page, never an error page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comptoir.core.actors import actor_from_request
from comptoir.customers.filters import DEFAULT_SORT, CustomerFilterSet, LifecycleChoice
from comptoir.customers.forms import (
    COLUMNS,
    BulkActionForm,
    SavedViewForm,
    SelectionForm,
    filter_form_polish,
    list_display_parse,
)
from comptoir.customers.models import Channel, Customer, SavedView
from comptoir.customers.selectors import (
    PAGE_SIZES,
    UNCOUNTED_PAGES,
    customer_page,
    customer_page_numbers,
    customer_search_walk,
    customer_selection,
    customer_summary,
    customer_summary_known,
    customers_bulk_targets,
    list_preference_get,
    saved_views_for,
)
from comptoir.customers.services import (
    customer_consent_set,
    customer_enabled_set,
    customers_bulk_apply,
    delete_mode_default,
    list_preference_remember,
    saved_view_create,
    saved_view_delete,
    saved_view_rename,
)
from comptoir.customers.templatetags.customer_list import TOGGLES, list_href


def _filter_params(filterset: CustomerFilterSet) -> dict[str, list[str]]:
    """The query-string names of each filter (a range filter has two: ``sales_min``, ...)."""
    names = {}
    for name, form_field in filterset.form.fields.items():
        widget = form_field.widget
        suffixes = getattr(widget, "suffixes", None)
        names[name] = [widget.suffixed(name, suffix) for suffix in suffixes] if suffixes else [name]
    names.pop("sort", None)
    return names


def _list_query(request, filterset, display) -> QueryDict:
    """The list's state as links carry it: the filters as given, and the valid sort, page size
    and columns. No page number: a link that changes anything else goes back to page 1."""
    query = QueryDict(mutable=True)
    for names in _filter_params(filterset).values():
        for name in names:
            values = [value for value in request.GET.getlist(name) if value.strip()]
            if name == "lifecycle" and values == [LifecycleChoice.LIVE]:
                continue  # the default: the filter panel always sends it
            if values:
                query.setlist(name, values)
    if request.GET.get("sort") and request.GET["sort"] == filterset.sort_key:
        query["sort"] = filterset.sort_key
    if display.explicit_per_page:
        query["per_page"] = str(display.explicit_per_page)
    if display.explicit_columns:
        query["cols"] = ",".join(display.explicit_columns)
    return query


def _active_filters(filterset: CustomerFilterSet, query: QueryDict) -> int:
    """How many filters of the panel are set (the search box aside)."""
    return sum(
        any(name in query for name in names)
        for field, names in _filter_params(filterset).items()
        if field != "q"
    )


def _filter_problems(filterset: CustomerFilterSet) -> list[str]:
    """Messages for the filters the FilterSet could not read (shown also next to the fields)."""
    errors = dict(filterset.errors)
    problems = []
    if errors.pop("sort", None):
        problems.append(_("Unknown sort order; the newest customers are shown first."))
    if errors:
        fields = filterset.form.fields
        labels = [str(fields[name].label) if name in fields else name for name in errors]
        problems.append(
            _("These filters were not understood and are ignored: %(filters)s.")
            % {"filters": ", ".join(labels)}
        )
    return problems


@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    """The customers list: search, filters, sort, pages, chosen columns, summary cards."""
    filterset = CustomerFilterSet(request.GET)
    preference = list_preference_get(user=request.user)
    display = list_display_parse(request.GET, preference=preference)
    if display.differs_from(preference):
        list_preference_remember(
            user=request.user, columns=display.explicit_columns, per_page=display.explicit_per_page
        )
    queryset = filterset.qs
    # The figures are computed here only when they cost nothing, or when the page needs the
    # count anyway (a page deeper than the uncounted ones is read from the nearer end of the
    # sort); otherwise the rows come first and the page asks for them (``customer_list_figures``).
    # ``figures=1``: a browser without JavaScript asking for them on the page itself.
    if request.GET.get("figures") or display.page > UNCOUNTED_PAGES:
        summary = customer_summary(queryset)
    else:
        summary = customer_summary_known(queryset)
    page = customer_page(
        queryset=queryset,
        sort_key=filterset.sort_key,
        page=display.page,
        per_page=display.per_page,
        total=None if summary is None else summary.customers,
        count=False,
        search=customer_search_walk(filterset),
    )
    problems = _filter_problems(filterset) + display.problems
    if page.clamped_from is not None and page.clamped_from != page.number:
        problems.append(
            _("There is no page %(asked)s; showing page %(page)s of %(pages)s.")
            % {"asked": page.clamped_from, "page": page.number, "pages": page.pages}
        )
    for problem in problems:
        messages.warning(request, problem)
    list_query = _list_query(request, filterset, display)
    active_filters = _active_filters(filterset, list_query)
    return render(
        request,
        "customers/list.html",
        {
            "filterset": filterset,
            "form": filter_form_polish(filterset.form),
            "page": page,
            "summary": summary,
            "columns": [COLUMNS[key] for key in display.columns],
            "all_columns": [COLUMNS[key] for key in display.columns]
            + [column for key, column in COLUMNS.items() if key not in display.columns],
            "shown_columns": set(display.columns),
            "display": display,
            "sort_key": filterset.sort_key,
            "default_sort": DEFAULT_SORT,
            "list_query": list_query,
            "list_query_string": list_query.urlencode(),
            "page_query_string": _with_page(list_query, page.number),
            "page_sizes": PAGE_SIZES,
            "active_filters": active_filters,
            "filters_open": bool(filterset.errors) or bool(active_filters),
            "saved_views": saved_views_for(user=request.user),
            "bulk_form": BulkActionForm(initial={"delete_mode": delete_mode_default()}),
        },
    )


@require_GET
def customer_list_figures(request: HttpRequest) -> HttpResponse:
    """What the list page leaves for later at scale (``customer_summary_known``): the summary
    cards, the page numbers and the "select all N" count, for the same query string. htmx swaps
    them in: the cards in place of their placeholder, the others out of band."""
    filterset = CustomerFilterSet(request.GET)
    display = list_display_parse(request.GET, preference=list_preference_get(user=request.user))
    summary = customer_summary(filterset.qs)
    page = customer_page_numbers(
        page=display.page, per_page=display.per_page, total=summary.customers
    )
    list_query = _list_query(request, filterset, display)
    return render(
        request,
        "customers/_figures.html",
        {
            "summary": summary,
            "page": page,
            "list_query": list_query,
            "page_query_string": _with_page(list_query, page.number),
            "page_sizes": PAGE_SIZES,
            "oob": True,
        },
    )


@require_GET
def customer_list_filters(request: HttpRequest) -> HttpResponse:
    """The filter panel's fields for the list's query string: the list page leaves them out
    while the panel is closed and fetches them when it is first opened."""
    filterset = CustomerFilterSet(request.GET)
    return render(
        request,
        "customers/_filter_panel.html",
        {"form": filter_form_polish(filterset.form)},
    )


def _with_page(query: QueryDict, number: int) -> str:
    """The query string of this very page (where an action should bring the user back)."""
    query = query.copy()
    if number > 1:
        query["page"] = str(number)
    return query.urlencode()


def _safe_next(request: HttpRequest, default: str) -> str:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return default


@require_POST
def customer_toggle(request: HttpRequest, pk: int, field: str) -> HttpResponse:
    """Switch enabled, newsletter or partner offers from the list row. htmx gets the cell back;
    without JavaScript the form posts normally and comes back to the list."""
    if field not in TOGGLES:
        raise Http404
    value = request.POST.get("value")
    if value not in ("true", "false"):
        return HttpResponseBadRequest(_("The new value must be true or false."))
    customer = get_object_or_404(Customer, pk=pk)
    on, actor = value == "true", actor_from_request(request)
    if field == "enabled":
        customer_enabled_set(customer=customer, enabled=on, actor=actor)
    else:
        customer_consent_set(customer=customer, channel=Channel(field), granted=on, actor=actor)
    next_url = _safe_next(request, reverse("customers:list"))
    if request.htmx:
        return render(
            request,
            "customers/_cell.html",
            {"customer": customer, "column": COLUMNS[field], "list_next": next_url},
        )
    messages.success(
        request,
        _("%(what)s is now %(state)s for %(customer)s.")
        % {
            "what": COLUMNS[field].label,
            "state": _("on") if on else _("off"),
            "customer": customer,
        },
    )
    return redirect(next_url)


@require_http_methods(["GET", "POST"])
def customer_bulk(request: HttpRequest) -> HttpResponse:
    """A bulk action: GET shows what it will do and to how many customers, POST does it."""
    data = request.POST if request.method == "POST" else request.GET
    selection_form = SelectionForm(data)
    action_form = BulkActionForm(data)
    back_url = list_href(QueryDict(data.get("query", "")[:4000]))
    if not selection_form.is_valid():
        for error in selection_form.errors.values():
            messages.error(request, error[0])
        return redirect(back_url)
    if data.get("export"):
        return redirect(_export_url(selection_form))
    filterset = CustomerFilterSet(selection_form.list_query)
    if selection_form.selected_ids is None and not filterset.is_valid():
        # "All matching" a filter that could not be read would mean more customers than shown.
        messages.error(
            request, _("Correct the filters before acting on all the customers matching them.")
        )
        return redirect(back_url)
    selection = customer_selection(queryset=filterset.qs, ids=selection_form.selected_ids)
    context = {
        "selection_form": selection_form,
        "action_form": action_form,
        "back_url": back_url,
        "all_matching": selection_form.selected_ids is None,
    }
    if action_form.is_valid() and request.method == "POST":
        try:
            changed = customers_bulk_apply(
                selection=selection,
                action=action_form.cleaned_data["action"],
                actor=actor_from_request(request),
                **action_form.params,
            )
        except ValidationError as error:
            _form_errors_add(action_form, error)
        else:
            messages.success(
                request,
                ngettext("%(count)s customer changed.", "%(count)s customers changed.", changed)
                % {"count": changed},
            )
            return redirect(back_url)
    context["selected"] = selection.count()
    if action_form.is_valid():
        action_label, param_value, action_hidden = action_form.describe()
        context.update(
            action_label=action_label,
            param_value=param_value,
            action_hidden=action_hidden,
            changing=customers_bulk_targets(
                selection=selection,
                action=action_form.cleaned_data["action"],
                **_target_params(action_form),
            ).count(),
        )
    return render(request, "customers/bulk_confirm.html", context)


def _export_url(selection_form: SelectionForm) -> str:
    """The export screen for the selection ("Export selection" in the bulk bar)."""
    query = QueryDict(mutable=True)
    query["query"] = selection_form.cleaned_data.get("query", "")
    if selection_form.selected_ids is None:
        query["all"] = "1"
    else:
        query.setlist("ids", [str(pk) for pk in selection_form.selected_ids])
    return f"{reverse('transfer:export')}?{query.urlencode()}"


def _target_params(action_form: BulkActionForm) -> dict:
    params = action_form.params
    params.pop("reason")
    return params


def _form_errors_add(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_http_methods(["GET", "POST"])
def saved_views(request: HttpRequest) -> HttpResponse:
    """GET: the staff member's saved views, to rename or delete. POST: save the list's state."""
    if request.method == "POST":
        form = SavedViewForm(request.POST)
        query = request.POST.get("query", "")[:4000]
        if form.is_valid():
            try:
                view = saved_view_create(
                    owner=request.user, name=form.cleaned_data["name"], query=query
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
                return redirect(list_href(QueryDict(view.query)))
        else:
            messages.error(request, _("Name the view to save it."))
        return redirect(list_href(QueryDict(query)))
    return render(
        request, "customers/saved_views.html", {"saved_views": saved_views_for(user=request.user)}
    )


@require_GET
def saved_view_open(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    return redirect(list_href(QueryDict(view.query)))


@require_POST
def saved_view_rename_view(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    try:
        saved_view_rename(saved_view=view, name=request.POST.get("name", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("View renamed to “%(name)s”.") % {"name": view.name})
    return redirect("customers:saved_views")


@require_POST
def saved_view_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    name = view.name
    saved_view_delete(saved_view=view)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": name})
    return redirect("customers:saved_views")
