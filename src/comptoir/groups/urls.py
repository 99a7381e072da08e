"""URLs of the groups section: the list, create, edit and delete."""

from django.urls import path

from comptoir.groups import views

app_name = "groups"
urlpatterns = [
    path("", views.group_list, name="list"),
    path("new/", views.group_create_view, name="create"),
    path("<int:pk>/edit/", views.group_edit, name="edit"),
    path("<int:pk>/delete/", views.group_delete_view, name="delete"),
]
