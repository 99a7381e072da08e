from django.apps import AppConfig


class StaffConfig(AppConfig):
    verbose_name = "Staff"
    name = "comptoir.staff"
    label = "staff"
