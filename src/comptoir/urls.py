"""The project's URL map: each app's URLs under its prefix, plus Django's language switch.

Error pages are Django's default handlers rendering ``templates/400.html``, ``403.html``,
``404.html`` and ``500.html``; none shows technical detail.
"""

from django.conf.urls.i18n import set_language
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

urlpatterns = [
    path("", include("comptoir.core.urls")),
    path("staff/", include("comptoir.staff.urls")),
    path("customers/", include("comptoir.customers.urls")),
    path("groups/", include("comptoir.groups.urls")),
    path("transfer/", include("comptoir.transfer.urls")),
    # The language switch is on the login page too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
]
