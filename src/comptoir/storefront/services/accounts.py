"""The customer's own account, as the storefront changes it: registration (turning guests of the
e-mail into the registered customer), password strength and reset, profile, consents, and the
request to be erased.

Every write goes through the customers services (which write the events and consent history,
with the storefront as source and the shopper's address), one transaction per call.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import get_password_validators, validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import event_record
from comptoir.core.models import OutboxMessage
from comptoir.core.normalise import email_clean, email_key
from comptoir.customers.models import Channel, Customer, Language, OptInLevel, Title
from comptoir.customers.services import (
    customer_consent_set,
    customer_create,
    customer_delete,
    customer_guest_convert,
    customer_password_set,
    customer_update,
    delete_mode_default,
)
from comptoir.customers.services.lifecycle import _password_reset_token_create
from comptoir.customers.validation import profile_clean
from comptoir.storefront.errors import LoginLocked, ResetTokenRefused
from comptoir.storefront.models import CustomerSession, PasswordResetToken, token_hash
from comptoir.storefront.selectors import customer_for_login, guest_to_register
from comptoir.storefront.services.sessions import (
    IssuedSession,
    login_failure_record,
    login_lockout_remaining,
    password_matches,
    session_create,
    sessions_revoke_all,
)

# Django's validators with a longer minimum: a storefront password guards orders, addresses
# and personal data. ``COMPTOIR_STOREFRONT_PASSWORD_VALIDATORS`` replaces the list.
PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# A customer asking again within this many seconds gets no second message (and the link of the
# first stays valid): a flood of requests cannot fill the outbox or keep killing the link.
RESET_REQUEST_INTERVAL_SECONDS = 60


def password_errors(*, raw_password: str, email: str, first_name: str, last_name: str) -> list:
    """The strength rules this password breaks (messages in the active language), or []."""
    config = getattr(settings, "COMPTOIR_STOREFRONT_PASSWORD_VALIDATORS", PASSWORD_VALIDATORS)
    # An unsaved customer: the similarity check reads the fields' names from its model.
    person = Customer(email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(
            raw_password, user=person, password_validators=get_password_validators(config)
        )
    except ValidationError as exc:
        return exc.error_list
    return []


# -------------------------------------------------------------------------------------------------
# Registration
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    customer: Customer
    session: IssuedSession | None
    merged_guest_ids: list[int]
    converted_guest_id: int | None


def _registration_clean(
    *, email: str, raw_password: str, first_name: str, last_name: str, language: str | None
) -> dict[str, Any]:
    """Every field checked before anything is written; one ValidationError with all of them."""
    errors: dict[str, list] = {}
    try:
        cleaned = {"email": email_clean(email)}
        if not cleaned["email"]:
            raise ValidationError(_("This field is required."), code="required")
    except ValidationError as exc:
        errors["email"] = exc.error_list
        cleaned = {"email": ""}
    try:
        cleaned.update(profile_clean({"first_name": first_name, "last_name": last_name}))
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if language is not None and language not in Language.values:
        errors["language"] = [
            ValidationError(_("Choose French or English."), code="invalid_choice")
        ]
    broken = password_errors(
        raw_password=raw_password, email=email, first_name=first_name, last_name=last_name
    )
    if broken:
        errors["password"] = broken
    if "email" not in errors:
        taken = (
            Customer.objects.filter(email_key=email_key(cleaned["email"]), is_guest=False)
            .only("pk", "deleted_at")
            .first()
        )
        if taken is not None and taken.deleted_at is None:
            errors["email"] = [
                ValidationError(
                    _("A customer with this e-mail address already exists."), code="duplicate"
                )
            ]
        elif taken is not None:
            # A customer deleted with "deny re-registration" keeps the e-mail taken.
            errors["email"] = [
                ValidationError(_("This e-mail address cannot be registered again."), code="denied")
            ]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _conversion_message_withdraw(customer: Customer, message: OutboxMessage) -> None:
    """The guest conversion writes a "choose your password" link; a customer who registers has
    just chosen one, so the unsent message and its token are withdrawn in the same transaction
    (as if never written): the link would only be a live credential sitting in a mailbox."""
    PasswordResetToken.objects.filter(customer=customer, used_at__isnull=True).delete()
    OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).delete()


@transaction.atomic
def customer_register(
    *,
    email: str,
    raw_password: str,
    first_name: str,
    last_name: str,
    consents: Mapping[str, bool],
    actor: Actor,
    language: str | None = None,
    user_agent: str = "",
) -> Registration:
    """Register a customer on the storefront and log them in.

    If guests of that e-mail exist (they ordered without an account), the newest is turned into
    the registered customer and the others are folded into it (``customer_guest_convert``): their
    orders, carts and addresses become the account's. The names given here win; the consents
    given are recorded with the storefront as source (single opt-in), the others stay as they are.
    """
    cleaned = _registration_clean(
        email=email,
        raw_password=raw_password,
        first_name=first_name,
        last_name=last_name,
        language=language,
    )
    language = language or _request_language()
    guest = guest_to_register(email=cleaned["email"])
    merged: list[int] = []
    if guest is None:
        customer = customer_create(
            actor=actor,
            first_name=first_name,
            last_name=last_name,
            email=cleaned["email"],
            password=raw_password,
            language=language,
        )
    else:
        conversion = customer_guest_convert(customer=guest, actor=actor)
        merged = conversion.merged_guest_ids
        customer = customer_update(
            customer=conversion.customer,
            actor=actor,
            changes={
                "first_name": first_name,
                "last_name": last_name,
                "email": cleaned["email"],
                "language": language,
            },
        )
        customer_password_set(customer=customer, raw_password=raw_password, actor=actor)
        _conversion_message_withdraw(customer, conversion.message)
    for channel, granted in consents.items():
        customer_consent_set(
            customer=customer,
            channel=channel,
            granted=granted,
            actor=actor,
            opt_in_level=OptInLevel.SINGLE,
        )
    customer = Customer.objects.select_related("default_group", "title").get(pk=customer.pk)
    # A guest the shop had disabled stays so: registered, but not logged in.
    session = (
        session_create(customer=customer, actor=actor, user_agent=user_agent)
        if customer.is_enabled
        else None
    )
    return Registration(
        customer=customer,
        session=session,
        merged_guest_ids=merged,
        converted_guest_id=guest.pk if guest is not None else None,
    )


def _request_language() -> str:
    current = (translation.get_language() or "").split("-")[0]
    return current if current in Language.values else settings.LANGUAGE_CODE


# -------------------------------------------------------------------------------------------------
# Password reset
# -------------------------------------------------------------------------------------------------


def _reset_message(customer: Customer, raw_token: str) -> OutboxMessage:
    from comptoir.customers.services.lifecycle import PASSWORD_RESET_HOURS

    template = getattr(
        settings, "COMPTOIR_PASSWORD_RESET_URL", "/account/reset-password/?token={token}"
    )
    hours = getattr(settings, "COMPTOIR_PASSWORD_RESET_HOURS", PASSWORD_RESET_HOURS)
    with translation.override(customer.language):
        subject = _("Reset your password")
        body = _(
            "Hello %(name)s,\n\n"
            "Someone asked to reset the password of the customer account %(email)s.\n\n"
            "To choose a new password, open this link within %(hours)s hours:\n%(link)s\n\n"
            "If you did not ask for it, ignore this message: your password stays as it is."
        ) % {
            "name": customer.full_name,
            "email": customer.email,
            "hours": hours,
            "link": template.format(token=raw_token),
        }
    return OutboxMessage.objects.create(
        kind="password_reset",
        to=customer.email,
        subject=subject,
        body=body,
        language=customer.language,
        customer=customer,
    )


@transaction.atomic
def password_reset_request(*, email: str, actor: Actor) -> OutboxMessage | None:
    """Write a one-time reset token (only its hash is kept; earlier unused ones stop working)
    and the message carrying it to the outbox. Nothing for an e-mail without a registered, live
    account, or when a link was sent less than a minute ago. The caller answers the same in
    every case, so the answer does not tell which e-mails have an account."""
    customer = customer_for_login(email=email)
    if customer is None:
        return None
    now = timezone.now()
    recent = now - datetime.timedelta(seconds=RESET_REQUEST_INTERVAL_SECONDS)
    if PasswordResetToken.objects.filter(
        customer=customer, used_at__isnull=True, created_at__gt=recent
    ).exists():
        return None
    raw = _password_reset_token_create(customer, now)
    message = _reset_message(customer, raw)
    event_record(
        kind="password_reset_requested",
        actor=actor,
        customer_id=customer.pk,
        created_at=now,
        data={"outbox_message": message.pk},
    )
    return message


@transaction.atomic
def password_reset_confirm(*, raw_token: str, raw_password: str, actor: Actor) -> Customer:
    """Set a new password with a reset token. The token is used up, every open session of the
    customer ends (whoever held the old password is logged out) and their failed logins are
    forgotten."""
    from comptoir.storefront.models import LoginFailure

    token = (
        PasswordResetToken.objects.select_for_update()
        .select_related("customer")
        .filter(token_hash=token_hash(raw_token or ""))
        .first()
    )
    now = timezone.now()
    customer = token.customer if token is not None else None
    if (
        token is None
        or token.used_at is not None
        or customer.deleted_at is not None
        or customer.anonymised_at is not None
        or customer.is_guest
    ):
        raise ResetTokenRefused("reset_token_invalid")
    if token.expires_at <= now:
        raise ResetTokenRefused("reset_token_expired")
    broken = password_errors(
        raw_password=raw_password,
        email=customer.email,
        first_name=customer.first_name,
        last_name=customer.last_name,
    )
    if broken:
        raise ValidationError({"password": broken})
    customer_password_set(customer=customer, raw_password=raw_password, actor=actor)
    PasswordResetToken.objects.filter(pk=token.pk).update(used_at=now)
    sessions_revoke_all(customer=customer)
    LoginFailure.objects.filter(email_key=customer.email_key).delete()
    return customer


# -------------------------------------------------------------------------------------------------
# Profile and consents
# -------------------------------------------------------------------------------------------------

# What a customer may change of their own profile. Not the e-mail (it is the login; changing it
# needs a confirmation flow of its own), nor what the shop decides (tax exemption, groups).
ACCOUNT_PROFILE_FIELDS = frozenset(
    {
        "title_id",
        "first_name",
        "last_name",
        "phone",
        "mobile",
        "birthday",
        "language",
        "company",
        "vat_number",
        "siret",
        "website",
    }
)


def account_profile_update(
    *, customer: Customer, changes: Mapping[str, Any], actor: Actor
) -> Customer:
    unknown = set(changes) - ACCOUNT_PROFILE_FIELDS
    if unknown:
        raise TypeError(f"Not account profile fields: {', '.join(sorted(unknown))}")
    changes = dict(changes)
    if "title_id" in changes:
        title_id = changes.pop("title_id")
        title = Title.objects.filter(pk=title_id).first() if title_id is not None else None
        if title_id is not None and title is None:
            raise ValidationError(
                {"title_id": ValidationError(_("Choose a title from the list."), code="invalid")}
            )
        changes["title"] = title
    for field in ("phone", "mobile", "company", "vat_number", "siret", "website"):
        if field in changes and changes[field] is None:
            changes[field] = ""
    customer_update(customer=customer, actor=actor, changes=changes)
    return Customer.objects.select_related("default_group", "title").get(pk=customer.pk)


def account_consent_set(*, customer: Customer, channel: str, granted: bool, actor: Actor) -> bool:
    """The customer gives or withdraws a consent: a history row with the storefront as source
    (single opt-in when given). Returns whether it changed."""
    if channel not in Channel.values:
        raise ValidationError(
            {"channel": ValidationError(_("Unknown consent channel."), code="invalid_channel")}
        )
    return customer_consent_set(
        customer=customer,
        channel=channel,
        granted=granted,
        actor=actor,
        opt_in_level=OptInLevel.SINGLE,
    )


# -------------------------------------------------------------------------------------------------
# Erasure
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureRequest:
    erased: bool  # False: kept for staff to decide
    mode: str  # the delete mode applied, or "" when not applied


def account_erase_request(*, customer: Customer, raw_password: str, actor: Actor) -> ErasureRequest:
    """The customer asks to be erased (GDPR right to erasure), confirming with their password.

    The request is recorded (``erasure_requested``) and the shop's default delete mode is applied
    at once (``customer_delete``), and every session of theirs is removed. Except for a customer
    blocked from ordering: erasing them could lift the block (a re-registration with the same
    e-mail would be a fresh account), so their request is recorded for staff to handle.

    A wrong password counts as a failed login of the e-mail and the login lockout applies
    (``LoginLocked``): a stolen session token is not a way to guess the password.
    """
    wait = login_lockout_remaining(email=customer.email)
    if wait:
        raise LoginLocked(retry_after=wait)
    if not password_matches(customer=customer, raw_password=raw_password):
        login_failure_record(email=customer.email, actor=actor)
        raise ValidationError(
            {"password": ValidationError(_("The password is not correct."), code="incorrect")}
        )
    return _account_erase(customer=customer, actor=actor)


@transaction.atomic
def _account_erase(*, customer: Customer, actor: Actor) -> ErasureRequest:
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if current.is_blocked:
        event_record(
            kind="erasure_requested",
            actor=actor,
            customer_id=current.pk,
            data={"applied": False, "why": "blocked"},
        )
        return ErasureRequest(erased=False, mode="")
    mode = delete_mode_default()
    event_record(
        kind="erasure_requested",
        actor=actor,
        customer_id=current.pk,
        data={"applied": True, "mode": mode},
    )
    # Sessions hold an address and a browser: they go, whatever the mode.
    CustomerSession.objects.filter(customer_id=current.pk).delete()
    customer_delete(customer=current, mode=mode, actor=actor)
    return ErasureRequest(erased=True, mode=mode)
