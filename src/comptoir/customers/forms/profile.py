"""Forms of the customer create and edit pages and of the customers settings page.

They only read and shape what staff typed (dates, choices, lengths, social accounts); the rules
(e-mail unique and valid, phones, birthday, the settings' required fields, at least one group
with the default among them, confirmed consents) are the services' (``services.editing``),
which report them all at once; the views put those errors back next to the fields.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from comptoir.customers.models import (
    Address,
    Channel,
    Customer,
    CustomerSettings,
    DeleteMode,
    Gender,
    Language,
    RequirableField,
    Title,
)
from comptoir.customers.services import ADDRESS_FIELDS, AddressInput
from comptoir.customers.validation import PROFILE_FIELDS
from comptoir.groups.models import Group

GIVEN, NOT_GIVEN = "given", "not_given"
CONSENT_CHOICES = [(GIVEN, _("Given")), (NOT_GIVEN, _("Not given"))]
CHANNELS = tuple(Channel.values)
# The profile fields the settings page can make required (the others are channels or address).
REQUIRABLE_PROFILE_FIELDS = frozenset(RequirableField.values) & PROFILE_FIELDS


def _consent_coerce(value: str) -> bool:
    return value == GIVEN


def tags_parse(text: str) -> list[str]:
    """'VIP, wholesale,, vip' -> ['VIP', 'wholesale', 'vip']: the tag service merges cases."""
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def social_accounts_format(accounts: Mapping[str, str]) -> str:
    return "\n".join(f"{network}: {handle}" for network, handle in (accounts or {}).items())


class CustomerForm(forms.Form):
    """Every field of a customer but its addresses (``AddressFormSet``)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    title = forms.ModelChoiceField(
        label=_("Title"), queryset=Title.objects.all(), required=False, empty_label="—"
    )
    first_name = forms.CharField(label=_("First name"), max_length=255)
    last_name = forms.CharField(label=_("Last name"), max_length=255)
    email = forms.CharField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Phone"), max_length=40, required=False, widget=forms.TextInput({"type": "tel"})
    )
    mobile = forms.CharField(
        label=_("Mobile phone"),
        max_length=40,
        required=False,
        widget=forms.TextInput({"type": "tel"}),
    )
    birthday = forms.DateField(
        label=_("Birthday"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    company = forms.CharField(label=_("Company"), max_length=255, required=False)
    siret = forms.CharField(label=_("SIRET"), max_length=20, required=False)
    ape_code = forms.CharField(label=_("APE/NAF code"), max_length=8, required=False)
    vat_number = forms.CharField(label=_("VAT number"), max_length=40, required=False)
    website = forms.CharField(
        label=_("Website"), max_length=200, required=False, widget=forms.URLInput
    )
    social_accounts = forms.CharField(
        label=_("Social accounts"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "instagram: @helene"}),
        help_text=_("One account a line: network, colon, handle."),
    )
    external_id = forms.CharField(label=_("External id"), max_length=64, required=False)
    is_tax_exempt = forms.BooleanField(label=_("Tax exempt"), required=False)
    tax_exemption_ref = forms.CharField(
        label=_("Tax exemption reference"), max_length=64, required=False
    )
    groups = forms.ModelMultipleChoiceField(
        label=_("Groups"),
        queryset=Group.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        required=False,  # "at least one" is the service's to say, with the other errors
    )
    default_group = forms.ModelChoiceField(
        label=_("Default group"),
        queryset=Group.objects.all(),
        empty_label=None,
        help_text=_("Its prices and discount apply to the customer."),
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separated by commas."),
    )
    newsletter = forms.TypedChoiceField(
        label=_("Newsletter"),
        choices=CONSENT_CHOICES,
        coerce=_consent_coerce,
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
    )
    partner_offers = forms.TypedChoiceField(
        label=_("Partner offers"),
        choices=CONSENT_CHOICES,
        coerce=_consent_coerce,
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
    )
    sms = forms.TypedChoiceField(
        label=_("SMS"),
        choices=CONSENT_CHOICES,
        coerce=_consent_coerce,
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
    )
    newsletter_confirmed = forms.BooleanField(
        label=_("The customer agreed to receive the newsletter."), required=False
    )
    partner_offers_confirmed = forms.BooleanField(
        label=_("The customer agreed to receive partner offers."), required=False
    )
    sms_confirmed = forms.BooleanField(
        label=_("The customer agreed to receive text messages."), required=False
    )
    note = forms.CharField(
        label=_("Private note"),
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Seen by staff only."),
    )

    def __init__(
        self,
        data=None,
        *,
        customer: Customer | None = None,
        settings: CustomerSettings | None = None,
        default_group: Group | None = None,
        **kwargs,
    ):
        self.customer = customer
        if customer is not None:
            kwargs.setdefault("initial", self.initial_for(customer))
        else:
            kwargs.setdefault("initial", self.initial_new(settings, default_group))
        super().__init__(data, **kwargs)
        if customer is not None:
            self.fields["version"].required = True
            # A guest ordered without an account: it may have no e-mail.
            self.fields["email"].required = not customer.is_guest
        else:
            # Marked for the page; the service checks them, so that a missing one is reported
            # along with everything else (a form error would stop before the service).
            for name in settings.required_fields if settings else ():
                if name in REQUIRABLE_PROFILE_FIELDS or name in CHANNELS:
                    self.fields[name].required_by_settings = True

    @staticmethod
    def initial_new(settings: CustomerSettings | None, default_group: Group | None) -> dict:
        initial: dict[str, Any] = {
            "language": Language.ENGLISH
            if (get_language() or "").startswith("en")
            else Language.FRENCH
        }
        if default_group is not None:
            initial |= {"groups": [default_group.pk], "default_group": default_group.pk}
        for channel in CHANNELS:
            # A choice the settings require is left unanswered, so that staff really ask.
            if not (settings and settings.requires(channel)):
                initial[channel] = NOT_GIVEN
        return initial

    @staticmethod
    def initial_for(customer: Customer) -> dict:
        initial = {field: getattr(customer, field) for field in PROFILE_FIELDS}
        initial |= {
            "version": customer.version,
            "title": customer.title_id,
            "phone": customer.phone_input or customer.phone,
            "mobile": customer.mobile_input or customer.mobile,
            "social_accounts": social_accounts_format(customer.social_accounts),
            "groups": list(customer.memberships.values_list("group_id", flat=True)),
            "default_group": customer.default_group_id,
            "tags": ", ".join(sorted(customer.tags.values_list("name", flat=True), key=str.lower)),
            "note": customer.note,
        }
        for channel in CHANNELS:
            initial[channel] = GIVEN if getattr(customer, channel) else NOT_GIVEN
        return initial

    def clean_social_accounts(self) -> dict[str, str]:
        accounts: dict[str, str] = {}
        for line in self.cleaned_data["social_accounts"].splitlines():
            if not line.strip():
                continue
            network, colon, handle = line.partition(":")
            if not colon or not network.strip() or not handle.strip():
                raise forms.ValidationError(
                    _("Write one account a line, as network: handle."), code="invalid"
                )
            accounts[network.strip()] = handle.strip()
        return accounts

    def was_given(self, channel: str) -> bool:
        return self.customer is not None and bool(getattr(self.customer, channel))

    def consents_newly_given(self) -> list[str]:
        """The channels set to "given" that were not given when the form was opened."""
        return [
            channel
            for channel in CHANNELS
            if self.consent_choice(channel) == GIVEN and not self.was_given(channel)
        ]

    def consent_choice(self, channel: str) -> str | None:
        """The answer shown for a channel: what was posted, else the initial one."""
        if self.is_bound:
            return self.data.get(self.add_prefix(channel))
        return self.initial.get(channel)

    def consent_rows(self) -> list[dict]:
        """For the template: each channel with its choice and its confirmation box, which shows
        only when the consent is being given."""
        return [
            {
                "channel": channel,
                "field": self[channel],
                "confirm": self[f"{channel}_confirmed"],
                "confirm_shown": channel in self.consents_newly_given(),
                "was_given": self.was_given(channel),
            }
            for channel in CHANNELS
        ]

    # What the services take -------------------------------------------------------------------

    def profile_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {field: data[field] for field in PROFILE_FIELDS}

    def consent_values(self) -> dict[str, bool | None]:
        return {channel: self.cleaned_data.get(channel) for channel in CHANNELS}

    def confirmed_consents(self) -> set[str]:
        return {channel for channel in CHANNELS if self.cleaned_data.get(f"{channel}_confirmed")}

    def tag_names(self) -> list[str]:
        return tags_parse(self.cleaned_data.get("tags", ""))

    # Optimistic locking ------------------------------------------------------------------------

    def conflict_rows(self, changed: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
        """What another staff member changed since the form was opened: per field, the value
        when the form was opened, theirs (now saved) and the one this form holds."""
        titles = {str(title.pk): title.name for title in Title.objects.all()}
        rows = []
        for name, change in changed.items():
            if name not in self.fields:
                continue  # phone_input and the like: the phone row says it
            rows.append(
                {
                    "field": str(self.fields[name].label),
                    "before": self._shown(name, change.get("before"), titles),
                    "theirs": self._shown(name, change.get("after"), titles),
                    "yours": self._shown(name, self._typed(name), titles),
                }
            )
        return rows

    def _typed(self, name: str) -> Any:
        if name == "is_tax_exempt":
            return bool(self.data.get(self.add_prefix(name)))
        return self.data.get(self.add_prefix(name), "")

    @staticmethod
    def _shown(name: str, value: Any, titles: Mapping[str, str]) -> str:
        if value is None or value == "" or value == {}:
            return "—"
        if name == "title":
            return titles.get(str(value), str(value))
        if isinstance(value, bool):
            return gettext("Yes") if value else gettext("No")
        if isinstance(value, dict):
            return social_accounts_format(value)
        if name == "birthday":
            try:
                return date_format(datetime.date.fromisoformat(str(value)), "SHORT_DATE_FORMAT")
            except ValueError:
                return str(value)
        if name == "language":
            return str(dict(Language.choices).get(value, value))
        return str(value)


def _country_choices() -> list[tuple[str, str]]:
    return [("", "—"), *countries]


class AddressForm(forms.Form):
    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    alias = forms.CharField(
        label=_("Alias"), max_length=32, required=False, help_text=_("e.g. Home, Office")
    )
    first_name = forms.CharField(label=_("First name"), max_length=255)
    last_name = forms.CharField(label=_("Last name"), max_length=255)
    company = forms.CharField(label=_("Company"), max_length=255, required=False)
    vat_number = forms.CharField(label=_("VAT number"), max_length=32, required=False)
    address1 = forms.CharField(label=_("Address"), max_length=255)
    address2 = forms.CharField(label=_("Address (2)"), max_length=255, required=False)
    postcode = forms.CharField(label=_("Postcode"), max_length=16, required=False)
    city = forms.CharField(label=_("City"), max_length=128)
    state = forms.CharField(label=_("State/province"), max_length=64, required=False)
    country = forms.ChoiceField(label=_("Country"), choices=_country_choices)
    phone = forms.CharField(
        label=_("Phone"), max_length=40, required=False, widget=forms.TextInput({"type": "tel"})
    )

    @staticmethod
    def initial_for(address: Address) -> dict:
        initial = {field: getattr(address, field) for field in ADDRESS_FIELDS}
        initial |= {"id": address.pk, "country": address.country.code}
        return initial


class BaseAddressFormSet(forms.BaseFormSet):
    """The customer's addresses, plus the new ones; which is the default shipping and billing
    address is one radio choice across the forms (``<prefix>-default_shipping``)."""

    def __init__(self, data=None, *, addresses: Sequence[Address] = (), **kwargs):
        self.addresses = {address.pk: address for address in addresses}
        # Errors about the addresses as a whole that came back from the service.
        self.service_errors: list[str] = []
        kwargs.setdefault("initial", [AddressForm.initial_for(a) for a in addresses])
        kwargs.setdefault("prefix", "addresses")
        super().__init__(data, **kwargs)

    def default_key(self, flag: str) -> str:
        """The prefix of the form chosen as default ``shipping`` or ``billing``."""
        if self.is_bound:
            return self.data.get(f"{self.prefix}-default_{flag}", "")
        for form, initial in zip(self.forms, self.initial or [], strict=False):
            address = self.addresses.get(initial.get("id"))
            if address is not None and getattr(address, f"is_default_{flag}"):
                return form.prefix
        return self.forms[0].prefix if self.forms else ""

    @property
    def default_shipping_key(self) -> str:
        return self.default_key("shipping")

    @property
    def default_billing_key(self) -> str:
        return self.default_key("billing")

    def clean(self):
        for form in self.forms:
            if self._should_delete_form(form):
                continue  # removing an address already gone is no error
            address_id = form.cleaned_data.get("id") if hasattr(form, "cleaned_data") else None
            if address_id is not None and address_id not in self.addresses:
                form.add_error(
                    None,
                    forms.ValidationError(
                        _("This address was removed meanwhile; add it again if needed."),
                        code="gone",
                    ),
                )

    def rows(self) -> list[tuple[AddressForm, AddressInput]]:
        """The forms that say something (unchanged blank forms do not), each with what the
        service takes. Forms and inputs stay paired so the service's errors find their form."""
        shipping, billing = self.default_key("shipping"), self.default_key("billing")
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            deleted = self.can_delete and self._should_delete_form(form)
            if not data.get("id") and (deleted or not form.has_changed()):
                continue
            rows.append(
                (
                    form,
                    AddressInput(
                        id=data.get("id"),
                        delete=deleted,
                        fields={} if deleted else {f: data.get(f, "") for f in ADDRESS_FIELDS},
                        default_shipping=form.prefix == shipping,
                        default_billing=form.prefix == billing,
                    ),
                )
            )
        return rows


AddressFormSet = forms.formset_factory(
    AddressForm, formset=BaseAddressFormSet, extra=0, can_delete=True
)


def service_errors_apply(
    error: forms.ValidationError,
    *,
    form: forms.Form,
    formset: BaseAddressFormSet | None = None,
    address_rows: Sequence[tuple[forms.Form, AddressInput]] = (),
) -> None:
    """Put a service's errors next to their fields: profile fields on ``form``,
    ``addresses.N.field`` on the N-th address row's form, ``addresses.__all__`` above the
    addresses, anything else at the top of the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, errors in error.error_dict.items():
        parts = key.split(".")
        if parts[0] != "addresses" or len(parts) == 1:
            form.add_error(key if key in form.fields else None, errors)
        elif len(parts) == 2 and formset is not None:
            formset.service_errors.extend(message for e in errors for message in e.messages)
        elif len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(address_rows):
            target = address_rows[int(parts[1])][0]
            target.add_error(parts[2] if parts[2] in target.fields else None, errors)
        else:
            form.add_error(None, errors)


class CustomerSettingsForm(forms.Form):
    required_fields = forms.MultipleChoiceField(
        label=_("Required when creating a customer"),
        choices=RequirableField.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    delete_mode = forms.ChoiceField(
        label=_("Delete mode offered first"),
        choices=DeleteMode.choices,
        widget=forms.RadioSelect,
    )


class TitleForm(forms.Form):
    name_fr = forms.CharField(label=_("Name (French)"), max_length=32)
    name_en = forms.CharField(label=_("Name (English)"), max_length=32)
    gender = forms.ChoiceField(
        label=_("Gender"),
        choices=Gender.choices,
        widget=forms.Select(attrs={"style": "min-width: 8rem"}),
    )
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        required=False,
        widget=forms.NumberInput(attrs={"style": "width: 5rem"}),
    )

    def __init__(self, *args, form_id: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if form_id:  # the settings page's rows: the inputs join a form outside the table
            for form_field in self.fields.values():
                form_field.widget.attrs["form"] = form_id


def title_forms(titles: Iterable[Title]) -> list[tuple[Title, TitleForm]]:
    """One rename form per title, prefixed with its id so that the page can hold them all."""
    return [
        (
            title,
            TitleForm(
                prefix=f"title-{title.pk}",
                form_id=f"title-form-{title.pk}",
                initial={
                    "name_fr": title.name_fr,
                    "name_en": title.name_en,
                    "gender": title.gender,
                    "position": title.position,
                },
            ),
        )
        for title in titles
    ]
