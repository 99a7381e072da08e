"""URLs of the customers section: the list, its row toggles, bulk actions and saved views."""

from django.urls import path

from comptoir.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:pk>/toggle/<str:field>/", views.customer_toggle, name="toggle"),
    path("bulk/", views.customer_bulk, name="bulk"),
    path("views/", views.saved_views, name="saved_views"),
    path("views/<int:pk>/", views.saved_view_open, name="saved_view_open"),
    path("views/<int:pk>/rename/", views.saved_view_rename_view, name="saved_view_rename"),
    path("views/<int:pk>/delete/", views.saved_view_delete_view, name="saved_view_delete"),
]
