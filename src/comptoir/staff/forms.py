"""Forms of staff accounts: the back-office login, a new API token."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from comptoir.staff.services import API_TOKEN_NAME_MAX, MAX_REQUESTS_PER_MINUTE


class StaffLoginForm(AuthenticationForm):
    """The back-office login: only active staff accounts get in."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Wrong username or password. Both are case-sensitive: check Caps Lock and try again."
        ),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise ValidationError(_("This account has no access to the back-office."), code="staff")


class ApiTokenForm(forms.Form):
    """A new API token: its name, whether it may write, its rate limit."""

    name = forms.CharField(
        label=_("Name"),
        max_length=API_TOKEN_NAME_MAX,
        help_text=_("What uses it, to recognise it later: “Accounting export”, “Shop checkout”."),
    )
    read_only = forms.BooleanField(
        label=_("Read only"),
        required=False,
        help_text=_("It can read everything but change nothing."),
    )
    requests_per_minute = forms.IntegerField(
        label=_("Requests per minute"),
        min_value=1,
        max_value=MAX_REQUESTS_PER_MINUTE,
        help_text=_("Beyond this the API answers “too many requests” until the minute is over."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requests_per_minute"].initial = settings.COMPTOIR_API_REQUESTS_PER_MINUTE
