"""Forms of staff accounts: the back-office login."""

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


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
