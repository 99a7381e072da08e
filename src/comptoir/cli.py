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
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
