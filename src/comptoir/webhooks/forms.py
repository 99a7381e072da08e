"""The webhook form. It only reads and types the input; the rules (required fields, http(s) URL,
known topics, the secret's shape) are the services', whose errors the views put back next to
the fields. So the fields are not ``required`` here: the service sees every field and reports
every error at once."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.webhooks.models import Webhook
from comptoir.webhooks.services import NAME_MAX_LENGTH, SECRET_MAX_LENGTH, URL_MAX_LENGTH
from comptoir.webhooks.topics import TOPIC_LABELS


class WebhookForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=NAME_MAX_LENGTH,
        help_text=_("Says who receives it, such as “ERP” or “Newsletter tool”."),
    )
    url = forms.CharField(
        label=_("URL"),
        required=False,
        max_length=URL_MAX_LENGTH,
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
        help_text=_("Each change is POSTed to this address as JSON."),
    )
    topics = forms.MultipleChoiceField(
        label=_("Topics"),
        choices=list(TOPIC_LABELS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        initial=True,
        help_text=_("Switched off, it is sent nothing, not even the changes made meanwhile."),
    )
    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        max_length=SECRET_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("Signs every delivery. Leave it empty to have a random one made."),
    )

    @classmethod
    def for_webhook(cls, webhook: Webhook, data=None) -> WebhookEditForm:
        initial = {
            "name": webhook.name,
            "url": webhook.url,
            "topics": webhook.topics,
            "is_active": webhook.is_active,
        }
        return WebhookEditForm(data, initial=initial)


class WebhookEditForm(WebhookForm):
    secret = forms.CharField(
        label=_("New secret"),
        required=False,
        max_length=SECRET_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("Leave it empty to keep the current secret."),
    )
    secret_regenerate = forms.BooleanField(
        label=_("Make a new random secret"),
        required=False,
        help_text=_("The receiver must then be given the new secret."),
    )
