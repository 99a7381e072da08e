"""Forms of one customer's lifecycle actions: how to delete, why to block, whether the login
is on, which duplicate to merge and whose values win."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.customers.models import DeleteMode
from comptoir.customers.selectors.lifecycle import DUPLICATE, MERGE_FIELDS, SURVIVOR, MergePreview


class DeleteForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("How to delete"),
        choices=DeleteMode.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={
            "required": _("Choose how to delete."),
            "invalid_choice": _("Choose how to delete."),
        },
    )


class BlockForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for blocking"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Staff see it on the customer's page; the customer is never shown it."),
        error_messages={"required": _("Give a reason for blocking.")},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give a reason for blocking."), code="required")
        return reason


class LoginForm(forms.Form):
    """The state asked for, not a toggle: posting twice does not switch back."""

    enabled = forms.TypedChoiceField(
        choices=[("true", _("Enable")), ("false", _("Disable"))],
        coerce=lambda value: value == "true",
        error_messages={"required": _("Choose enable or disable.")},
    )


class MergeSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Find the duplicate"),
        required=False,
        max_length=200,
        help_text=_("Its id, e-mail address, name or phone number."),
    )


class MergeForm(forms.Form):
    """Whose value wins for each field, and the versions the preview showed (a change since
    then refuses the merge)."""

    duplicate = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    duplicate_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    survivor_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, preview: MergePreview, **kwargs):
        initial = {
            "duplicate": preview.duplicate.pk,
            "duplicate_version": preview.duplicate.version,
            "survivor_version": preview.survivor.version,
            **{row.field.name: row.default for row in preview.rows},
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.preview = preview
        for row in preview.rows:
            self.fields[row.field.name] = forms.ChoiceField(
                label=row.field.label,
                choices=[(SURVIVOR, _("This customer")), (DUPLICATE, _("The duplicate"))],
                widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                error_messages={"required": _("Choose whose value wins.")},
            )

    @property
    def choices(self) -> dict[str, str]:
        return {
            merge_field.name: self.cleaned_data[merge_field.name] for merge_field in MERGE_FIELDS
        }

    def rows(self):
        """Each preview row with its bound field, for the side-by-side table."""
        return [(row, self[row.field.name]) for row in self.preview.rows]
