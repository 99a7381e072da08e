"""The form that creates a WooCommerce key pair."""

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.woocommerce.models import ConsumerKey, KeyPermission


class ConsumerKeyForm(forms.Form):
    description = forms.CharField(
        label=_("Description"),
        max_length=ConsumerKey._meta.get_field("description").max_length,
        help_text=_("What the key is for, e.g. the name of the tool that uses it."),
    )
    permissions = forms.ChoiceField(
        label=_("Permissions"),
        choices=KeyPermission.choices,
        initial=KeyPermission.READ_WRITE,
        help_text=_("Read lets the tool list and fetch customers; write lets it change them."),
    )
