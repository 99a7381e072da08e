from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "comptoir.groups"
    label = "groups"
