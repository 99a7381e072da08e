"""Nothing of the back-office without a staff login.

Django's LoginRequiredMiddleware makes every view private unless marked ``login_not_required``;
this one also turns away signed-in users who are not staff.
"""

from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware


class StaffRequiredMiddleware(LoginRequiredMiddleware):
    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        user = request.user
        if user.is_authenticated and not (user.is_active and user.is_staff):
            # Logged out rather than shown a 403: a customer-facing or revoked account has no
            # business holding a back-office session at all.
            logout(request)
        return super().process_view(request, view_func, view_args, view_kwargs)
