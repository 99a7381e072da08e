"""The export screen's form: scope, profile, columns (chosen and ordered), file options.

Each profile has its own column list (``columns_<profile>``): the page shows the chosen one, and
the order in which the ticked boxes arrive is the order of the file's columns. The form turns
its input into the ``ExportSpec`` and ``FileOptions`` the export services take.
"""

from __future__ import annotations

from django import forms
from django.http import QueryDict
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from comptoir.transfer.formats.comptoir import CONTINUATION_KEYS
from comptoir.transfer.formats.profiles import (
    ADDRESS_ROWS,
    DEFAULT_PROFILE,
    PROFILES,
    Profile,
    profile_choices,
)
from comptoir.transfer.selectors.exporting import (
    ExportScope,
    ExportSpec,
    Scope,
    export_query_clean,
)
from comptoir.transfer.services.exporting import CSV, DELIMITERS, XLSX, FileOptions

AUTO = "auto"
SCOPE_CHOICES = [
    (Scope.ALL, _("All customers")),
    (Scope.FILTER, _("The customers matching the list's filter")),
    (Scope.SELECTION, _("The customers selected in the list")),
]
FORMAT_CHOICES = [(CSV, _("CSV")), (XLSX, _("Excel workbook (XLSX)"))]
DELIMITER_CHOICES = [
    (AUTO, _("As the profile's destination expects")),
    ("semicolon", _("Semicolon (;)")),
    ("comma", _("Comma (,)")),
    ("tab", _("Tab")),
]
ENCODING_CHOICES = [
    (AUTO, _("As the profile's destination expects")),
    ("bom", _("UTF-8 with BOM (Excel opens accents right)")),
    ("plain", _("UTF-8 without BOM")),
]
HEADER_CHOICES = [
    ("fr", _("French")),
    ("en", _("English")),
    ("key", _("Technical names (the same in every language)")),
]
DELIVERY_DOWNLOAD = "download"
DELIVERY_BACKGROUND = "background"


def columns_field_name(profile_key: str) -> str:
    return f"columns_{profile_key}"


def column_label(column) -> str:
    """A column as the export screen names it: its header in the user's language."""
    return column.fr if (get_language() or "fr").startswith("fr") else column.en


class ExportForm(forms.Form):
    scope = forms.ChoiceField(
        label=_("Customers"), choices=SCOPE_CHOICES, initial=Scope.ALL, widget=forms.RadioSelect
    )
    # The list's state, carried as the list's bulk bar carries it.
    query = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
    ids = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.MultipleHiddenInput
    )
    all = forms.BooleanField(required=False, widget=forms.HiddenInput)
    profile = forms.ChoiceField(
        label=_("Profile"),
        choices=profile_choices,
        initial=DEFAULT_PROFILE,
        widget=forms.RadioSelect,
    )
    file_format = forms.ChoiceField(
        label=_("File"), choices=FORMAT_CHOICES, initial=CSV, widget=forms.RadioSelect
    )
    delimiter = forms.ChoiceField(label=_("Separator"), choices=DELIMITER_CHOICES, initial=AUTO)
    encoding = forms.ChoiceField(label=_("Encoding"), choices=ENCODING_CHOICES, initial=AUTO)
    headers = forms.ChoiceField(label=_("Column headers"), choices=HEADER_CHOICES)
    # Which submit button: download now, or prepare in the background.
    delivery = forms.ChoiceField(
        choices=[(DELIVERY_DOWNLOAD, ""), (DELIVERY_BACKGROUND, "")], required=False
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        language = (get_language() or "fr")[:2]
        self.fields["headers"].initial = language if language in ("fr", "en") else "fr"
        raw_ids = data.getlist("ids") if data is not None else []
        self.fields["ids"].choices = [
            (value, value) for value in raw_ids if value.isdecimal() and len(value) <= 18
        ]
        for profile in PROFILES.values():
            self.fields[columns_field_name(profile.key)] = forms.MultipleChoiceField(
                label=profile.label,
                choices=[(column.key, column_label(column)) for column in profile.columns],
                initial=profile.default_columns,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )

    def clean(self):
        cleaned = super().clean()
        profile = PROFILES.get(cleaned.get("profile") or "")
        if profile is not None:
            self._columns_check(profile, cleaned)
        if cleaned.get("scope") == Scope.SELECTION and not (
            cleaned.get("all") or cleaned.get("ids")
        ):
            self.add_error(
                "scope",
                forms.ValidationError(
                    _("No customer was selected in the list: choose another scope."),
                    code="empty_selection",
                ),
            )
        return cleaned

    def _columns_check(self, profile: Profile, cleaned: dict) -> None:
        name = columns_field_name(profile.key)
        chosen = cleaned.get(name) or []
        if not chosen:
            self.add_error(name, forms.ValidationError(_("Choose at least one column."), "empty"))
            return
        for column in profile.columns:
            if column.required and column.key not in chosen:
                self.add_error(
                    name,
                    forms.ValidationError(
                        _("This file needs the column “%(column)s”."),
                        code="required_column",
                        params={"column": column_label(column)},
                    ),
                )
        by_key = profile.columns_by_key
        if (
            profile.layout == ADDRESS_ROWS
            and any(by_key[key].is_address for key in chosen)
            and not set(chosen) & set(CONTINUATION_KEYS)
        ):
            self.add_error(
                name,
                forms.ValidationError(
                    _(
                        "Keep the ID or the e-mail column: a customer's further addresses are "
                        "attached to them by it."
                    ),
                    code="continuation_key",
                ),
            )

    # What the export services take

    @property
    def spec(self) -> ExportSpec:
        data = self.cleaned_data
        kind = data["scope"]
        ids = None
        if kind == Scope.SELECTION and not data.get("all"):
            ids = tuple(dict.fromkeys(data.get("ids") or []))
        query = export_query_clean(data.get("query") or "") if kind != Scope.ALL else ""
        return ExportSpec(
            profile=data["profile"],
            columns=tuple(dict.fromkeys(data[columns_field_name(data["profile"])])),
            headers=data["headers"],
            scope=ExportScope(kind=kind, query=query, ids=ids),
        )

    @property
    def options(self) -> FileOptions:
        data = self.cleaned_data
        encoding = data["encoding"]
        return FileOptions(
            format=data["file_format"],
            delimiter=DELIMITERS.get(data["delimiter"]),
            bom=None if encoding == AUTO else encoding == "bom",
        )

    @property
    def background(self) -> bool:
        return self.cleaned_data.get("delivery") == DELIVERY_BACKGROUND

    # For the page

    def column_rows(self, profile: Profile) -> list[tuple[str, str, bool, bool]]:
        """(key, label, ticked, required) for a profile's columns, in the order the page shows
        them: the submitted order first (after an error), else the profile's."""
        name = columns_field_name(profile.key)
        if self.is_bound:
            ticked = [key for key in self.data.getlist(name) if key in profile.columns_by_key]
        else:
            ticked = profile.default_columns
        ordered = list(dict.fromkeys(ticked)) + [
            column.key for column in profile.columns if column.key not in ticked
        ]
        by_key = profile.columns_by_key
        return [
            (key, column_label(by_key[key]), key in ticked, by_key[key].required) for key in ordered
        ]


def export_initial(data: QueryDict) -> dict:
    """The form's starting values from the link that opened the screen: the customers list's
    "Export" button (``query``) or its bulk bar (``query`` with ``ids`` or ``all``)."""
    ids = [value for value in data.getlist("ids") if value.isdecimal() and len(value) <= 18]
    everything = data.get("all") in ("1", "true", "on")
    query = data.get("query", "")[:4000]
    scope = Scope.SELECTION if ids or everything else Scope.FILTER if query else Scope.ALL
    initial = {"query": query, "ids": ids, "all": everything, "scope": scope}
    if data.get("profile") in PROFILES:
        initial["profile"] = data["profile"]
    return initial


def export_form_unbound(data: QueryDict) -> ExportForm:
    """The form as the screen opens: unbound, with the list's state as initial values (the ids
    are offered as choices so they render as hidden fields)."""
    initial = export_initial(data)
    form = ExportForm(initial=initial)
    form.fields["ids"].choices = [(value, value) for value in initial["ids"]]
    return form


def export_error_message() -> str:
    return gettext("The export could not start: correct the fields marked below.")
