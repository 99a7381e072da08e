"""The ``comptoir`` console command: Django's management commands under the product's name.

``comptoir demo --customers 1000``, ``comptoir migrate``, ``comptoir runserver`` ...
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "comptoir"
    if argv[1:2] == ["db_worker"]:
        _jobs_recover()
    execute_from_command_line(argv)


def _jobs_recover() -> None:
    """A worker starting puts back in the queue the imports a dead worker left half done (they
    go on from their last committed batch; see ``transfer.services.importing``)."""
    import contextlib

    import django
    from django.db import DatabaseError

    django.setup()
    from comptoir.transfer.services.importing import import_jobs_recover

    with contextlib.suppress(DatabaseError):  # not migrated yet: nothing to recover
        import_jobs_recover()


if __name__ == "__main__":
    main()
