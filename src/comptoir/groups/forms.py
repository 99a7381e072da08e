"""The group form and the delete screen's "move the members to" form.

They only read and type the input; the rules (names required, discount 0 to 100, CSS class names,
one default group) are the services', whose errors the views put back next to the fields.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.groups.models import Group, PriceDisplay
from comptoir.groups.selectors import groups_ordered
from comptoir.groups.services import CSS_CLASS_MAX_LENGTH, EDITABLE_FIELDS, NAME_MAX_LENGTH


class GroupForm(forms.Form):
    name_fr = forms.CharField(label=_("Name in French"), max_length=NAME_MAX_LENGTH)
    name_en = forms.CharField(label=_("Name in English"), max_length=NAME_MAX_LENGTH)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    discount = forms.DecimalField(
        label=_("Discount (%)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        initial=0,
        # Typed as the user's language writes it: "12,5" in French, "12.5" in English.
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text=_("Applied to every price for the customers whose default group this is."),
    )
    price_display = forms.ChoiceField(
        label=_("Price display"),
        choices=PriceDisplay.choices,
        initial=PriceDisplay.TAX_INCLUDED,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    show_prices = forms.BooleanField(label=_("Show prices"), required=False, initial=True)
    css_class = forms.CharField(
        label=_("Storefront CSS class"),
        required=False,
        max_length=CSS_CLASS_MAX_LENGTH,
        help_text=_("Lets the storefront show or hide elements for this group's customers."),
    )
    is_default = forms.BooleanField(
        label=_("Default group"),
        required=False,
        help_text=_(
            "New customers join it; there is exactly one. Making this group the default "
            "replaces the current one."
        ),
    )

    @classmethod
    def for_group(cls, group: Group, data=None) -> GroupForm:
        initial = {field: getattr(group, field) for field in EDITABLE_FIELDS}
        initial["is_default"] = group.is_default
        return cls(data, initial=initial)


class GroupDeleteForm(forms.Form):
    """Where the members of the group being deleted go; the default group is offered first."""

    move_to = forms.ModelChoiceField(
        label=_("Move its customers to"),
        queryset=Group.objects.none(),
        required=False,
        empty_label=None,
    )

    def __init__(self, *args, group: Group, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["move_to"].queryset = groups_ordered().exclude(pk=group.pk)
