"""The WooCommerce REST API's URLs, mounted at ``/wp-json/`` outside the staff login (the views
authenticate with consumer keys). WordPress accepts a route with or without a trailing slash;
anything else under ``/wp-json/`` answers WordPress's ``rest_no_route``."""

from django.urls import path

from comptoir.woocommerce import views

app_name = "woocommerce-api"
urlpatterns = [
    path("wc/v3/customers", views.customers, name="customers"),
    path("wc/v3/customers/", views.customers, name="customers-slash"),
    path("wc/v3/customers/batch", views.batch, name="batch"),
    path("wc/v3/customers/batch/", views.batch, name="batch-slash"),
    path("wc/v3/customers/<int:pk>", views.customer, name="customer"),
    path("wc/v3/customers/<int:pk>/", views.customer, name="customer-slash"),
    path("", views.not_found, name="index"),
    path("<path:rest>", views.not_found, name="no-route"),
]
