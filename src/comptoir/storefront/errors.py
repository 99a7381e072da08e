"""The storefront's refusals: what the services raise when a call is understood but may not be
done, each with its HTTP status, its stable problem type (``urn:comptoir:problem:<slug>``) and a
``reason`` code the shop's front end switches on. The API turns them into problem+json
(``storefront.api``); the message is said to the customer, in the request's language.

Field errors (a weak password, a taken e-mail) stay ``ValidationError``: 400 with per-field
errors, as everywhere in Comptoir.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


class StorefrontRefusal(Exception):
    status = 400
    slug = "refused"
    reason = "refused"

    def __init__(self, message: str, *, reason: str | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason or self.reason
        self.retry_after = retry_after


class InvalidCredentials(StorefrontRefusal):
    status, slug, reason = 401, "invalid-credentials", "invalid_credentials"

    def __init__(self) -> None:
        super().__init__(_("The e-mail address or the password is not correct."))


class PasswordResetRequired(StorefrontRefusal):
    """The account has no password yet (a converted guest, an import that asked for a reset)."""

    status, slug, reason = 403, "password-reset-required", "password_reset_required"

    def __init__(self) -> None:
        super().__init__(
            _("This account has no password yet. Ask for a password reset link to choose one.")
        )


class AccountDisabled(StorefrontRefusal):
    status, slug, reason = 403, "account-disabled", "account_disabled"

    def __init__(self) -> None:
        super().__init__(_("This customer account is disabled. Please contact the shop."))


class LoginLocked(StorefrontRefusal):
    status, slug, reason = 429, "login-locked", "too_many_failures"

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(
            _(
                "Too many failed logins for this e-mail address. "
                "Try again in %(minutes)s minutes or reset your password."
            )
            % {"minutes": max(1, -(-retry_after // 60))},
            retry_after=retry_after,
        )


class SessionRefused(StorefrontRefusal):
    """No usable customer session on a "my account" call. ``reason``: ``session_missing``,
    ``session_invalid`` (unknown, revoked, or its customer is gone) or ``session_expired``."""

    status, slug = 401, "customer-session-required"

    def __init__(self, reason: str) -> None:
        messages = {
            "session_missing": _(
                "Log in first: send the session token as 'Authorization: Bearer'."
            ),
            "session_expired": _("Your session has expired. Please log in again."),
        }
        super().__init__(
            messages.get(reason, _("This session is not valid. Please log in again.")),
            reason=reason,
        )


class StorefrontKeyRefused(StorefrontRefusal):
    """A server call without the shop's storefront key (``X-Storefront-Key``). ``reason``:
    ``storefront_key_missing``, ``storefront_key_invalid``, ``storefront_key_not_configured``."""

    status, slug = 401, "storefront-key-required"

    def __init__(self, reason: str) -> None:
        if reason == "storefront_key_not_configured":
            self.status = 503
            message = _("The storefront API is not configured: no storefront key is set.")
        elif reason == "storefront_key_missing":
            message = _("Send the shop's storefront key in the 'X-Storefront-Key' header.")
        else:
            message = _("The storefront key is not valid.")
        super().__init__(message, reason=reason)


class ResetTokenRefused(StorefrontRefusal):
    """A password-reset token that cannot be used: ``reset_token_invalid`` (unknown, already
    used, or its customer is gone) or ``reset_token_expired``."""

    status, slug = 400, "reset-token-refused"

    def __init__(self, reason: str) -> None:
        if reason == "reset_token_expired":
            message = _("This password reset link has expired. Ask for a new one.")
        else:
            message = _("This password reset link is not valid. Ask for a new one.")
        super().__init__(message, reason=reason)


class IdempotencyKeyRefused(StorefrontRefusal):
    """An ``Idempotency-Key`` that was already used for another order: ``idempotency_key_reused``
    (the body differs from the first call's) or ``idempotency_key_spent`` (the order placed with
    it can no longer be given back: its customer has been erased since)."""

    status, slug = 422, "idempotency-key-reused"

    def __init__(self, reason: str) -> None:
        if reason == "idempotency_key_spent":
            message = _("An order was already placed with this Idempotency-Key.")
        else:
            message = _(
                "This Idempotency-Key was already used for a different order. Send a new key "
                "for a new order, or the same body to get the order placed the first time."
            )
        super().__init__(message, reason=reason)
