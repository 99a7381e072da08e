"""URLs of the customers section: the list, its row toggles, bulk actions and saved views."""

from django.urls import path

from comptoir.customers.views import listing

app_name = "customers"
urlpatterns = [
    path("", listing.customer_list, name="list"),
    path("<int:pk>/toggle/<str:field>/", listing.customer_toggle, name="toggle"),
    path("bulk/", listing.customer_bulk, name="bulk"),
    path("views/", listing.saved_views, name="saved_views"),
    path("views/<int:pk>/", listing.saved_view_open, name="saved_view_open"),
    path("views/<int:pk>/rename/", listing.saved_view_rename_view, name="saved_view_rename"),
    path("views/<int:pk>/delete/", listing.saved_view_delete_view, name="saved_view_delete"),
]
