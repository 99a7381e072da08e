"""URLs of the back-office shell: the home page and the outbox."""

from django.urls import path

from comptoir.core import views

app_name = "core"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("outbox/", views.OutboxView.as_view(), name="outbox"),
]
