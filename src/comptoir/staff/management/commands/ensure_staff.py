"""``comptoir ensure_staff``: make sure someone can sign in to a fresh back-office.

Creates a staff superuser only when no active one exists, with a random password shown once
(or the one in ``COMPTOIR_ADMIN_PASSWORD`` for automation, never shown). Safe to run on every
start: when an administrator exists it changes nothing.
"""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from comptoir.staff.services import staff_superuser_ensure

PASSWORD_ENV = "COMPTOIR_ADMIN_PASSWORD"


class Command(BaseCommand):
    help = "Create a staff superuser if no active one exists; print its password once."

    def add_arguments(self, parser):
        parser.add_argument(
            "--username", default="admin", help="Username of the account to create (admin)."
        )
        parser.add_argument("--email", default="", help="E-mail address of the account.")

    def handle(self, *args, username: str, email: str, **options):
        password = os.environ.get(PASSWORD_ENV) or None
        try:
            result = staff_superuser_ensure(username=username, email=email, password=password)
        except ValidationError as error:
            if password:
                raise CommandError(
                    _("The password in %(variable)s was refused: %(problems)s")
                    % {"variable": PASSWORD_ENV, "problems": " ".join(error.messages)}
                ) from error
            raise CommandError(" ".join(error.messages)) from error
        if not result.created:
            self.stdout.write(
                _("An active staff superuser already exists (%(username)s); nothing changed.")
                % {"username": result.username}
            )
            return
        if result.generated_password is None:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Created the staff superuser %(username)s (password from %(variable)s).")
                    % {"username": result.username, "variable": PASSWORD_ENV}
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                _("Created the staff superuser %(username)s.") % {"username": result.username}
            )
        )
        self.stdout.write(
            _("Its password, shown only this once: %(password)s")
            % {"password": result.generated_password}
        )
        self.stdout.write(_("Store it in a password manager now; it cannot be displayed again."))
