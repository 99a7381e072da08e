"""Forms of the customer page: the private note edited in place."""

from django import forms
from django.utils.translation import gettext_lazy as _

NOTE_MAX_LENGTH = 10_000


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Private note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Seen by staff only, never by the customer."),
    )
