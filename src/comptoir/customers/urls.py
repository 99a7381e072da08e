"""URLs of the customers section: the list, its row toggles, bulk actions and saved views; the
create and edit pages; the settings page and its titles; the lifecycle actions' confirmation
screens (delete, block, login, convert a guest, merge, personal data); the customer page, its
blocks reloaded alone and its private note."""

from django.urls import path

from comptoir.customers.views import detail, edit, lifecycle, listing

app_name = "customers"
urlpatterns = [
    path("", listing.customer_list, name="list"),
    path("figures/", listing.customer_list_figures, name="list_figures"),
    path("filters/", listing.customer_list_filters, name="list_filters"),
    path("<int:pk>/toggle/<str:field>/", listing.customer_toggle, name="toggle"),
    path("bulk/", listing.customer_bulk, name="bulk"),
    path("views/", listing.saved_views, name="saved_views"),
    path("views/<int:pk>/", listing.saved_view_open, name="saved_view_open"),
    path("views/<int:pk>/rename/", listing.saved_view_rename_view, name="saved_view_rename"),
    path("views/<int:pk>/delete/", listing.saved_view_delete_view, name="saved_view_delete"),
    path("<int:pk>/", detail.customer_detail_view, name="detail"),
    path("<int:pk>/blocks/<slug:block>/", detail.customer_detail_block_view, name="detail_block"),
    path("<int:pk>/note/", detail.customer_note_view, name="note"),
    path("new/", edit.customer_create_view, name="create"),
    path("<int:pk>/edit/", edit.customer_edit_view, name="edit"),
    path("settings/", edit.customers_settings_view, name="settings"),
    path("settings/titles/new/", edit.title_create_view, name="title_create"),
    path("settings/titles/<int:pk>/", edit.title_update_view, name="title_update"),
    path("settings/titles/<int:pk>/delete/", edit.title_delete_view, name="title_delete"),
    path("<int:pk>/delete/", lifecycle.customer_delete_view, name="delete"),
    path("<int:pk>/block/", lifecycle.customer_block_view, name="block"),
    path("<int:pk>/unblock/", lifecycle.customer_unblock_view, name="unblock"),
    path("<int:pk>/login/", lifecycle.customer_login_view, name="login"),
    path("<int:pk>/convert/", lifecycle.customer_convert_view, name="convert_guest"),
    path("<int:pk>/merge/", lifecycle.customer_merge_view, name="merge"),
    path(
        "<int:pk>/personal-data/",
        lifecycle.customer_personal_data_view,
        name="export_personal_data",
    ),
]
