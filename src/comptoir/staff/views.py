"""Staff sign-in and sign-out pages."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _

from comptoir.staff.forms import StaffLoginForm


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    """The one public page of the back-office; only staff accounts get past it."""

    template_name = "staff/login.html"
    authentication_form = StaffLoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only, as Django requires) and say so on the login page."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # Added after the session is flushed, so the message survives into the next page.
        messages.success(request, _("You have been logged out."))
        return response
