from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "comptoir.core"
    label = "core"

    def ready(self) -> None:
        from comptoir.core.search import register_sqlite_functions

        connection_created.connect(register_sqlite_functions, dispatch_uid="comptoir_fold")
