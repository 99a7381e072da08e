"""Forms of the import wizard: the upload, the mapping of the file's columns, the options.

They only read and check what was typed; the services (``transfer.services.importing``)
decide. A service's ``ValidationError`` goes back onto the form with ``errors_attach``.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from comptoir.customers.models import OptInLevel
from comptoir.groups.models import Group
from comptoir.transfer.formats import registry
from comptoir.transfer.models import EmptyCells, ImportMode, MatchKey, PasswordPolicy
from comptoir.transfer.selectors.importing import MappingRow, import_target_choices
from comptoir.transfer.services.importing import import_max_bytes

_RADIO = forms.RadioSelect(attrs={"class": "form-check-input"})


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Customer file"),
        help_text=_(
            "CSV (comma, semicolon or tab; UTF-8 or Windows-1252) or XLSX, exported from "
            "PrestaShop, Shopify, WooCommerce, Magento, Ecwid, Comptoir or made by hand."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx,.xls,.ods"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = import_max_bytes()
        if upload.size > limit:
            raise ValidationError(_("The file is larger than %(size)s MB.") % {"size": limit >> 20})
        return upload


class ImportMappingForm(forms.Form):
    """The file's platform and, for each column, the field it goes into."""

    platform = forms.ChoiceField(label=_("The file comes from"), choices=())

    def __init__(self, *args, columns: list[MappingRow], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        self.fields["platform"].choices = registry.format_choices()
        targets = [("", _("— Do not import —")), *import_target_choices()]
        for column in columns:
            self.fields[f"col_{column.index}"] = forms.ChoiceField(
                label=column.header or _("(column %(number)s)") % {"number": column.index + 1},
                choices=targets,
                required=False,
                initial=column.target,
            )

    def rows(self):
        """(column, its bound field) pairs for the template."""
        return [(column, self[f"col_{column.index}"]) for column in self.columns]

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{column.index}") or "" for column in self.columns]


class ImportOptionsForm(forms.Form):
    mode = forms.ChoiceField(label=_("What to do"), choices=ImportMode.choices, widget=_RADIO)
    match = forms.ChoiceField(
        label=_("Find existing customers by"), choices=MatchKey.choices, widget=_RADIO
    )
    empty_cells = forms.ChoiceField(
        label=_("An empty cell"), choices=EmptyCells.choices, widget=_RADIO
    )
    default_group = forms.ModelChoiceField(
        label=_("Default group of new customers"),
        queryset=Group.objects.order_by("id"),
        required=False,
        empty_label=_("The shop's default group"),
        help_text=_("Used when a row names no default group."),
    )
    consent_note = forms.CharField(
        label=_("Where the marketing consents were collected"),
        max_length=255,
        help_text=_(
            "Kept in each customer's consent history, e.g. “Newsletter form of the old shop”."
        ),
    )
    opt_in_level = forms.ChoiceField(label=_("Opt-in level"), choices=OptInLevel.choices)
    passwords = forms.ChoiceField(
        label=_("Passwords in the file"),
        choices=PasswordPolicy.choices,
        widget=_RADIO,
        help_text=_("A password is never stored as written in the file."),
    )


def errors_attach(form: forms.Form, error: ValidationError) -> None:
    """Put a service's error next to its field (or above the form when it has none)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)
