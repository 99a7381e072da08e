"""Forms and query-string parsing of the customers list: the columns it can show, the display
part of its URL (columns, page size, page), the bulk action form and the saved-view form.

The filters themselves are the FilterSet's (``filters.py``); this module reads the rest of the
URL and turns every bad value into a message instead of an error page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django import forms
from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from comptoir.customers.models import BulkAction, DeleteMode, ListPreference
from comptoir.customers.selectors import PAGE_SIZES
from comptoir.groups.models import Group


@dataclass(frozen=True)
class Column:
    key: str  # also its sort key (filters.SORTS) and its name in ``cols=``
    label: Promise
    numeric: bool = False


COLUMNS: dict[str, Column] = {
    column.key: column
    for column in (
        Column("id", _("ID"), numeric=True),
        Column("title", _("Title")),
        Column("first_name", _("First name")),
        Column("last_name", _("Last name")),
        Column("email", _("E-mail")),
        Column("groups", _("Groups")),
        Column("company", _("Company")),
        Column("sales", _("Sales"), numeric=True),
        Column("orders", _("Orders"), numeric=True),
        Column("enabled", _("Enabled")),
        Column("newsletter", _("Newsletter")),
        Column("partner_offers", _("Partner offers")),
        Column("registration", _("Registration")),
        Column("last_visit", _("Last visit")),
        Column("country", _("Country")),
        Column("tags", _("Tags")),
    )
}
# What a staff member sees before choosing: everything but company and tags, which matter to
# some shops only.
DEFAULT_COLUMNS = tuple(key for key in COLUMNS if key not in {"company", "tags"})
DEFAULT_PER_PAGE = 50


@dataclass
class ListDisplay:
    """The display part of the list's URL, read leniently: what to show and what was wrong."""

    columns: list[str]
    per_page: int
    page: int
    # Values the URL gave explicitly and that were valid (kept in links, remembered).
    explicit_columns: list[str] | None = None
    explicit_per_page: int | None = None
    problems: list[str] = field(default_factory=list)

    def differs_from(self, preference: ListPreference | None) -> bool:
        """Whether the URL chose columns or a page size other than the remembered ones."""
        columns = preference.columns if preference else None
        per_page = preference.per_page if preference else None
        return (self.explicit_columns is not None and self.explicit_columns != columns) or (
            self.explicit_per_page is not None and self.explicit_per_page != per_page
        )


def _columns_parse(data: QueryDict) -> tuple[list[str] | None, list[str]]:
    """``cols=a,b,c`` (links, saved views) or repeated ``col=a`` (the column chooser without
    JavaScript). Returns the known columns in order, and the unknown names."""
    if "cols" in data:
        names = [name.strip() for name in data.get("cols", "").split(",")]
    elif "col" in data:
        names = [name.strip() for name in data.getlist("col")]
    else:
        return None, []
    names = [name for name in names if name]
    known = list(dict.fromkeys(name for name in names if name in COLUMNS))
    unknown = [name for name in names if name not in COLUMNS]
    return known, unknown


def list_display_parse(data: QueryDict, *, preference: ListPreference | None) -> ListDisplay:
    """Columns, page size and page number from the URL, else from the staff member's remembered
    choice, else the defaults. Bad values become messages (in the active language), never
    errors."""
    problems: list[str] = []
    remembered_columns = [
        name for name in (preference.columns if preference else []) if name in COLUMNS
    ]
    columns, unknown = _columns_parse(data)
    if unknown:
        problems.append(
            gettext("Unknown columns were left out: %(names)s.")
            % {"names": ", ".join(name[:40] for name in unknown[:5])}
        )
    explicit_columns = columns or None
    if columns == []:
        problems.append(gettext("Choose at least one column; the usual columns are shown."))

    explicit_per_page = None
    per_page = (preference.per_page if preference else None) or DEFAULT_PER_PAGE
    if data.get("per_page"):
        try:
            asked = int(data["per_page"])
        except ValueError:
            asked = None
        if asked in PAGE_SIZES:
            per_page = explicit_per_page = asked
        else:
            problems.append(
                gettext("Rows per page can be %(sizes)s; showing %(per_page)s.")
                % {"sizes": ", ".join(str(size) for size in PAGE_SIZES), "per_page": per_page}
            )
    if per_page not in PAGE_SIZES:
        per_page = DEFAULT_PER_PAGE

    page = 1
    if data.get("page"):
        try:
            page = int(data["page"])
        except ValueError:
            problems.append(
                gettext("“%(page)s” is not a page number; showing the first page.")
                % {"page": data["page"][:20]}
            )
    return ListDisplay(
        columns=explicit_columns or remembered_columns or list(DEFAULT_COLUMNS),
        per_page=per_page,
        page=page,
        explicit_columns=explicit_columns,
        explicit_per_page=explicit_per_page,
        problems=problems,
    )


def _choices(*actions: BulkAction) -> list[tuple[str, str]]:
    return [(action.value, action.label) for action in actions]


# The action menu, grouped as staff think of them.
BULK_ACTION_CHOICES = [
    ("", _("Choose an action…")),
    (
        _("Account"),
        _choices(BulkAction.ENABLE, BulkAction.DISABLE, BulkAction.BLOCK, BulkAction.UNBLOCK),
    ),
    (
        _("Marketing consents"),
        _choices(
            BulkAction.NEWSLETTER_ON,
            BulkAction.NEWSLETTER_OFF,
            BulkAction.PARTNER_OFFERS_ON,
            BulkAction.PARTNER_OFFERS_OFF,
        ),
    ),
    (
        _("Groups"),
        _choices(BulkAction.ADD_GROUP, BulkAction.REMOVE_GROUP, BulkAction.RESET_GROUPS),
    ),
    (
        _("Tax and tags"),
        _choices(
            BulkAction.TAX_EXEMPT_ON,
            BulkAction.TAX_EXEMPT_OFF,
            BulkAction.ADD_TAG,
            BulkAction.REMOVE_TAG,
        ),
    ),
    (_("Delete"), _choices(BulkAction.DELETE)),
]


def filter_form_polish(form: forms.Form) -> forms.Form:
    """The FilterSet's form as the list page shows it: every menu starts with an empty "Any"
    choice (the yes/no ones have none of their own: without it, applying the filters would
    also set every yes/no filter to its first answer)."""
    for form_field in form.fields.values():
        if not isinstance(form_field, forms.ChoiceField):
            continue
        if hasattr(form_field, "empty_label"):
            # Model menus and django-filter's menus add their empty choice when iterated;
            # None means a menu that always has a value (accounts, sort).
            if form_field.empty_label is not None:
                form_field.empty_label = _("Any")
        else:
            form_field.choices = [("", _("Any")), *form_field.choices]
    return form


class SelectionForm(forms.Form):
    """Which customers a bulk action is for: ticked ids, or all matching the list's filter
    (``query``: the list's query string, carried as one value so that its ``group`` or ``tag``
    filter cannot mix with the action's own ``group`` or ``tag``)."""

    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)
    all = forms.BooleanField(required=False)
    query = forms.CharField(required=False, max_length=4000)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        # Any positive integer is a valid choice; whether it is a customer is the selector's.
        raw = data.getlist("ids") if data is not None else []
        # (At most 18 digits: an id, not a number too large for the database.)
        self.fields["ids"].choices = [
            (value, value) for value in raw if value.isdigit() and len(value) <= 18
        ]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("all") and not cleaned.get("ids"):
            raise forms.ValidationError(
                _("Select at least one customer, or all those matching the filter."),
                code="empty",
            )
        return cleaned

    @property
    def list_query(self) -> QueryDict:
        return QueryDict(self.cleaned_data.get("query", "") if self.is_valid() else "")

    @property
    def selected_ids(self) -> list[int] | None:
        """The ticked ids, or None for 'all matching'."""
        return None if self.cleaned_data.get("all") else self.cleaned_data.get("ids")


class BulkActionForm(forms.Form):
    """The action and its parameters. Which parameter an action needs is checked here, so the
    confirmation page can show the error next to the field."""

    action = forms.ChoiceField(label=_("Action"), choices=BULK_ACTION_CHOICES)
    group = forms.ModelChoiceField(label=_("Group"), queryset=Group.objects.all(), required=False)
    reason = forms.CharField(label=_("Reason for blocking"), required=False, max_length=1000)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=64)
    delete_mode = forms.ChoiceField(
        label=_("How to delete"), choices=DeleteMode.choices, required=False
    )

    REQUIRED = {
        BulkAction.ADD_GROUP: ("group", _("Choose a group.")),
        BulkAction.REMOVE_GROUP: ("group", _("Choose a group.")),
        BulkAction.BLOCK: ("reason", _("Give a reason for blocking.")),
        BulkAction.ADD_TAG: ("tag", _("Name the tag.")),
        BulkAction.REMOVE_TAG: ("tag", _("Name the tag.")),
        BulkAction.DELETE: ("delete_mode", _("Choose how to delete.")),
    }

    def clean(self):
        cleaned = super().clean()
        needed = self.REQUIRED.get(cleaned.get("action"))
        if needed:
            name, message = needed
            value = cleaned.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                self.add_error(name, forms.ValidationError(message, code="required"))
        return cleaned

    @property
    def params(self) -> dict:
        """The parameters as the bulk selector and service take them."""
        data = self.cleaned_data
        return {
            "group": data.get("group"),
            "reason": data.get("reason", ""),
            "tag_name": data.get("tag", ""),
            "delete_mode": data.get("delete_mode") or None,
        }

    @property
    def param_names(self) -> Sequence[str]:
        needed = self.REQUIRED.get(self.cleaned_data.get("action"))
        return (needed[0],) if needed else ()

    def describe(self) -> tuple[str, str, list[tuple[str, str]]]:
        """For the confirmation page: the action's label, its parameter as people read it, and
        the (name, value) pairs that carry the action to the POST."""
        action = self.cleaned_data["action"]
        hidden = [("action", action)]
        shown = ""
        for name in self.param_names:
            value = self.cleaned_data[name]
            if name == "group":
                shown, value = value.name, value.pk
            elif name == "delete_mode":
                shown = DeleteMode(value).label
            else:
                shown = value
            hidden.append((name, str(value)))
        return str(BulkAction(action).label), str(shown), hidden


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    query = forms.CharField(required=False, max_length=4000)
