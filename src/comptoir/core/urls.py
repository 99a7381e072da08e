"""URLs of the back-office shell: the home page."""

from django.urls import path

from comptoir.core import views

app_name = "core"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
]
