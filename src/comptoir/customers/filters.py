"""The customers FilterSet: one definition of search, filters and sorts, shared by the list
page, "select all matching", the bulk actions, the export and the API.

Every filter is served by an index: the search and the text columns by the trigram index over
``search_text`` (a column filter then checks the column itself, folded, on the few rows left),
the others by the (column, id) sort indexes or the membership/tag tables.
"""

from __future__ import annotations

import datetime

import django_filters as filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from comptoir.core.search import Fold, search_filter
from comptoir.core.text import fold
from comptoir.customers.models import Customer, Language, Tag, Title
from comptoir.groups.models import Group

# Sort keys offered to users, mapped to the column they sort on. Each has a (column, id) index.
SORTS = {
    "id": "id",
    "title": "title",
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "groups": "default_group",
    "company": "company",
    "sales": "total_spent",
    "orders": "orders_count",
    "enabled": "is_enabled",
    "newsletter": "newsletter",
    "partner_offers": "partner_offers",
    "registration": "created_at",
    "last_visit": "last_visit_at",
    "country": "country",
    "tags": "tags_text",
}
DEFAULT_SORT = "-id"

YES_NO = [("true", _("Yes")), ("false", _("No"))]


class LifecycleChoice:
    LIVE = "live"
    DELETED = "deleted"
    ALL = "all"
    choices = [
        (LIVE, _("Active accounts")),
        (DELETED, _("Deleted (re-registration denied)")),
        (ALL, _("All")),
    ]


def sort_choices() -> list[tuple[str, str]]:
    return [(key, key) for key in SORTS] + [(f"-{key}", f"-{key}") for key in SORTS]


class YesNoFilter(filters.TypedChoiceFilter):
    """A boolean filter whose query-string values are "true"/"false" (anything else: an error)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", YES_NO)
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)


class CustomerFilterForm(forms.Form):
    """The FilterSet's form, which also refuses dates the database cannot take."""

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, slice) and not _range_storable(value):
                # The first day of year 1 passes the date field, but east of UTC its start lies
                # before year 1 and the query would fail; it is a field error instead.
                self.add_error(
                    name, forms.ValidationError(_("Enter a later date."), code="out_of_range")
                )
        return cleaned


def _range_storable(value: slice) -> bool:
    for bound in (value.start, value.stop):
        if isinstance(bound, datetime.datetime):
            try:
                bound.astimezone(datetime.UTC)
            except OverflowError:
                return False
    return True


class CustomerFilterSet(filters.FilterSet):
    q = filters.CharFilter(method="filter_search", label=_("Search"))
    id = filters.NumberFilter(field_name="id", label=_("ID"), min_value=1)
    title = filters.ModelChoiceFilter(queryset=Title.objects.all(), label=_("Title"))
    first_name = filters.CharFilter(method="filter_column_text", label=_("First name"))
    last_name = filters.CharFilter(method="filter_column_text", label=_("Last name"))
    email = filters.CharFilter(method="filter_column_text", label=_("E-mail"))
    company = filters.CharFilter(method="filter_column_text", label=_("Company"))
    group = filters.ModelChoiceFilter(
        queryset=Group.objects.all(), method="filter_group", label=_("Group")
    )
    sales = filters.RangeFilter(field_name="total_spent", label=_("Sales"))
    orders = filters.RangeFilter(field_name="orders_count", label=_("Orders"))
    enabled = YesNoFilter(field_name="is_enabled", label=_("Enabled"))
    newsletter = YesNoFilter(field_name="newsletter", label=_("Newsletter"))
    partner_offers = YesNoFilter(field_name="partner_offers", label=_("Partner offers"))
    sms = YesNoFilter(field_name="sms", label=_("SMS"))
    tax_exempt = YesNoFilter(field_name="is_tax_exempt", label=_("Tax exempt"))
    blocked = YesNoFilter(field_name="is_blocked", label=_("Blocked"))
    guest = YesNoFilter(field_name="is_guest", label=_("Guest"))
    registration = filters.DateFromToRangeFilter(field_name="created_at", label=_("Registration"))
    last_visit = filters.DateFromToRangeFilter(field_name="last_visit_at", label=_("Last visit"))
    language = filters.ChoiceFilter(choices=Language.choices, label=_("Language"))
    country = filters.ChoiceFilter(choices=countries, label=_("Country"))
    tag = filters.ModelChoiceFilter(
        queryset=Tag.objects.all(), method="filter_tag", label=_("Tag"), to_field_name="name_key"
    )
    lifecycle = filters.ChoiceFilter(
        choices=LifecycleChoice.choices,
        method="filter_lifecycle",
        label=_("Accounts"),
        empty_label=None,
    )
    sort = filters.ChoiceFilter(
        choices=sort_choices, method="filter_noop", label=_("Sort"), empty_label=None
    )

    class Meta:
        model = Customer
        form = CustomerFilterForm
        fields: list[str] = []

    def get_form_class(self) -> type[forms.Form]:
        """The form, built once per process: django-filter builds a new form class, its two
        dozen fields included, for every FilterSet (about 1 ms a request). None of ours depends
        on the request: labels are lazy, menus read their choices (countries in the active
        language, groups, tags) when iterated, and each form deep-copies the class's fields."""
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    @property
    def qs(self) -> QuerySet[Customer]:
        if not hasattr(self, "_qs"):
            self._qs = self._live_unless_asked(super().qs)
        return self._qs

    def _live_unless_asked(self, queryset: QuerySet[Customer]) -> QuerySet[Customer]:
        # Soft-deleted and anonymised customers are hidden unless asked for.
        if not self.is_bound or not self.form.cleaned_data.get("lifecycle"):
            queryset = self.filter_lifecycle(queryset, "lifecycle", LifecycleChoice.LIVE)
        return queryset

    @property
    def sort_key(self) -> str:
        """The requested sort if valid, else the default (newest first)."""
        if self.is_bound and (self.form.is_valid() or "sort" not in self.form.errors):
            return self.form.cleaned_data.get("sort") or DEFAULT_SORT
        return DEFAULT_SORT

    @property
    def search_text(self) -> str:
        """The search box's text, if the filters are valid."""
        return (self.is_valid() and self.form.cleaned_data.get("q")) or ""

    def unsearched_qs(self) -> QuerySet[Customer]:
        """``qs`` without the search box's text: the same filters, from the values already
        cleaned (a second FilterSet would build and validate its form again, and look up its
        group, tag or title once more)."""
        queryset = self.queryset.all()
        if self.is_bound:
            self.errors  # noqa: B018 (validates the form, as django-filter's qs does)
            for name, value in self.form.cleaned_data.items():
                if name != "q":
                    queryset = self.filters[name].filter(queryset, value)
        return self._live_unless_asked(queryset)

    def filter_search(self, queryset, name, value):
        return search_filter(queryset, value)

    def filter_column_text(self, queryset, name, value):
        term = fold(value).strip()
        if not term:
            return queryset
        # The index narrows to rows whose search text has the term; the folded column confirms.
        narrowed = search_filter(queryset, term)
        return narrowed.alias(**{f"{name}_folded": Fold(name)}).filter(
            **{f"{name}_folded__contains": term}
        )

    def filter_group(self, queryset, name, value):
        return queryset.filter(id__in=value.memberships.values("customer_id"))

    def filter_tag(self, queryset, name, value):
        return queryset.filter(
            id__in=Customer.tags.through.objects.filter(tag=value).values("customer_id")
        )

    def filter_lifecycle(self, queryset, name, value):
        live = Q(deleted_at__isnull=True, anonymised_at__isnull=True)
        if value == LifecycleChoice.DELETED:
            return queryset.filter(deleted_at__isnull=False)
        if value == LifecycleChoice.ALL:
            return queryset
        return queryset.filter(live)

    def filter_noop(self, queryset, name, value):
        return queryset
