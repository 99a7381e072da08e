"""Writes to staff accounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import event_record


@dataclass(frozen=True)
class EnsuredStaff:
    username: str
    created: bool
    # The generated password, to show once; None when it was given or nothing was created.
    generated_password: str | None = None


def password_generate() -> str:
    """24 URL-safe characters (144 bits) from the OS's secure random source."""
    return secrets.token_urlsafe(18)


@transaction.atomic
def staff_superuser_ensure(
    *, username: str = "admin", email: str = "", password: str | None = None
) -> EnsuredStaff:
    """Create a staff superuser unless an active one exists. Never a fixed default password:
    ``password`` (checked against the password validators) or a generated one."""
    users = get_user_model()
    existing = (
        users.objects.filter(is_superuser=True, is_staff=True, is_active=True)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        return EnsuredStaff(username=existing.get_username(), created=False)
    username = username.strip()
    if not username:
        raise ValidationError(_("The username cannot be empty."), code="required")
    if users.objects.filter(**{users.USERNAME_FIELD: username}).exists():
        # Taking over an existing (disabled or non-admin) account would be a silent privilege
        # change; an operator decides that, not a start-up script.
        raise ValidationError(
            _(
                "A user named %(username)s already exists but is not an active staff "
                "superuser. Choose another name with --username."
            )
            % {"username": username},
            code="exists",
        )
    generated = None
    if password:
        validate_password(password, users(**{users.USERNAME_FIELD: username}, email=email))
    else:
        password = generated = password_generate()
    user = users.objects.create_superuser(
        **{users.USERNAME_FIELD: username}, email=email, password=password
    )
    event_record(
        kind="staff_created",
        actor=Actor.system(),
        object_type="staff",
        object_id=user.pk,
        data={"username": username, "superuser": True},
    )
    return EnsuredStaff(username=username, created=True, generated_password=generated)
