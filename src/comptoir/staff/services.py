"""Writes to staff accounts."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import event_record
from comptoir.staff.models import ApiToken


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


TOKEN_PREFIX = "cpt_"


def api_token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


API_TOKEN_NAME_MAX = ApiToken._meta.get_field("name").max_length
# A ceiling far above any real integration, so a typo cannot switch the limit off.
MAX_REQUESTS_PER_MINUTE = 100_000


@transaction.atomic
def api_token_create(
    *,
    name: str,
    actor: Actor,
    read_only: bool = False,
    requests_per_minute: int | None = None,
    rate_ceiling: int | None = None,
) -> tuple[ApiToken, str]:
    """A new token acting as ``actor``'s staff member. Returns the token and its secret, which
    is kept nowhere: the caller shows it once.

    ``rate_ceiling`` is the most requests per minute the new token may get; a token that
    creates another passes its own, so minting tokens cannot lift its rate limit."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ValidationError(_("Give the token a name."), "required")})
    if len(name) > API_TOKEN_NAME_MAX:
        raise ValidationError(
            {
                "name": ValidationError(
                    _("Keep the name to %(max)s characters.") % {"max": API_TOKEN_NAME_MAX},
                    "max_length",
                )
            }
        )
    if actor.user is None:
        raise ValidationError(_("Only a staff member can create an API token."), "no_staff")
    if requests_per_minute is None:
        requests_per_minute = settings.COMPTOIR_API_REQUESTS_PER_MINUTE
        if rate_ceiling is not None:
            requests_per_minute = min(requests_per_minute, rate_ceiling)
    ceiling = min(MAX_REQUESTS_PER_MINUTE, rate_ceiling or MAX_REQUESTS_PER_MINUTE)
    if not 1 <= requests_per_minute <= ceiling:
        raise ValidationError(
            {
                "requests_per_minute": ValidationError(
                    _("Enter a number of requests per minute between 1 and %(ceiling)s.")
                    % {"ceiling": ceiling},
                    "out_of_range",
                )
            }
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        user=actor.user,
        prefix=raw[:12],
        key_hash=api_token_hash(raw),
        read_only=read_only,
        requests_per_minute=requests_per_minute,
    )
    event_record(
        kind="api_token_created",
        actor=actor,
        object_type="api_token",
        object_id=token.pk,
        data={
            "name": token.name,
            "read_only": read_only,
            "requests_per_minute": requests_per_minute,
        },
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Actor) -> ApiToken:
    """Revoke a token for good; revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        event_record(
            kind="api_token_revoked",
            actor=actor,
            object_type="api_token",
            object_id=token.pk,
            data={"name": token.name},
        )
    return token


# Writing the last-used time on every request would turn each read into a write; once a minute
# says as much to a person looking at the list.
LAST_USED_PRECISION = datetime.timedelta(seconds=60)


def api_token_touch(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
