from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "comptoir.support"
    label = "support"
