from django.conf.urls.i18n import set_language
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

urlpatterns = [
    path("", include("comptoir.core.urls")),
    path("staff/", include("comptoir.staff.urls")),
    # The language switch is on the login page too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
]
