"""The back-office screens of the WooCommerce key pairs: the list, create, revoke."""

from django.urls import path

from comptoir.woocommerce import keys_views

app_name = "woocommerce"
urlpatterns = [
    path("", keys_views.key_list, name="keys"),
    path("new/", keys_views.key_create, name="key_create"),
    path("<int:pk>/revoke/", keys_views.key_revoke, name="key_revoke"),
]
