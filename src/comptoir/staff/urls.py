"""URLs of staff accounts: login and logout."""

from django.urls import path

from comptoir.staff import views

app_name = "staff"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
]
