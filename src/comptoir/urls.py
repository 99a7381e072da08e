"""The project's URL map: each app's URLs under its prefix, plus Django's language switch.

Error pages are Django's default handlers rendering ``templates/400.html``, ``403.html``,
``404.html`` and ``500.html``; none shows technical detail.
"""

from django.conf.urls.i18n import set_language
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path, re_path

from comptoir.api import api
from comptoir.core.api import api_not_found, public
from comptoir.storefront.api import api as storefront

urlpatterns = [
    path("", include("comptoir.core.urls")),
    path("staff/", include("comptoir.staff.urls")),
    path("customers/", include("comptoir.customers.urls")),
    path("groups/", include("comptoir.groups.urls")),
    path("transfer/", include("comptoir.transfer.urls")),
    path("woocommerce/keys/", include("comptoir.woocommerce.urls")),
    path("webhooks/", include("comptoir.webhooks.urls")),
    # The APIs authenticate on their own; anything else under /api/ is a JSON 404.
    path("api/v1/", include((public(api.urls[0]), api.urls[1]), namespace=api.urls[2])),
    path(
        "api/storefront/v1/",
        include((public(storefront.urls[0]), storefront.urls[1]), namespace=storefront.urls[2]),
    ),
    re_path(r"^api/", api_not_found, name="api-not-found"),
    # WooCommerce REST API v3 (customers): its views authenticate with consumer keys.
    path("wp-json/", include("comptoir.woocommerce.api_urls")),  # views marked public
    # The language switch is on the login page too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
]
