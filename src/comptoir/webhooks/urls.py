"""URLs of the webhooks section: the list, create, a webhook's page, edit, switch off/on,
delete, test, and a delivery with its "retry now" / "send again"."""

from django.urls import path

from comptoir.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.webhook_list, name="list"),
    path("new/", views.webhook_create_view, name="create"),
    path("<int:pk>/", views.webhook_detail, name="detail"),
    path("<int:pk>/edit/", views.webhook_edit, name="edit"),
    path("<int:pk>/active/", views.webhook_active, name="active"),
    path("<int:pk>/delete/", views.webhook_delete_view, name="delete"),
    path("<int:pk>/test/", views.webhook_test, name="test"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery"),
    path("deliveries/<int:pk>/redeliver/", views.delivery_redeliver_view, name="redeliver"),
]
