from django.apps import AppConfig


class TransferConfig(AppConfig):
    name = "comptoir.transfer"
    label = "transfer"
