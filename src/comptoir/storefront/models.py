"""What the storefront's customer account needs of its own: password-reset tokens, the sessions
a customer opens by logging in, and the failed logins that lock an e-mail for a while.

Only a hash of each token is stored: a reset token travels once, in the message to the customer
(the outbox), a session token once, in the login answer; a leaked table cannot be replayed.
"""

import hashlib

from django.db import models
from django.utils.translation import gettext_lazy as _


def token_hash(raw_token: str) -> str:
    """The stored form of a token. Tokens are long random strings (``secrets.token_urlsafe``),
    so a plain SHA-256 is enough: there is nothing to brute-force as with a password."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


class PasswordResetToken(models.Model):
    """A one-time right to set the storefront password of a customer, until ``expires_at``."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="password_reset_tokens",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("password reset token")
        verbose_name_plural = _("password reset tokens")

    def __str__(self) -> str:
        return f"#{self.pk} ({self.customer_id})"


class CustomerSession(models.Model):
    """A customer logged in on the storefront: the bearer token of the "my account" calls is
    valid until ``expires_at``, or until it is revoked (log out, password changed, erased)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="storefront_sessions",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"))
    expires_at = models.DateTimeField(_("expires"))
    # Moved at most once a minute: a write on every call would cost more than it tells.
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("customer session")
        verbose_name_plural = _("customer sessions")

    def __str__(self) -> str:
        return f"#{self.pk} ({self.customer_id})"


class LoginFailure(models.Model):
    """One failed storefront login for an e-mail (known to the shop or not).

    Kept in the database rather than the cache: the count must be shared by every worker
    process and survive a restart, or the lockout would only slow a guesser down. Rows older
    than the lockout window are pruned as new ones are written; a successful login removes
    that e-mail's rows.
    """

    email_key = models.CharField(max_length=254)
    created_at = models.DateTimeField(_("when"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("failed login")
        verbose_name_plural = _("failed logins")
        indexes = [
            models.Index(fields=["email_key", "-created_at"], name="login_failure_email"),
            models.Index(fields=["created_at"], name="login_failure_created"),
        ]

    def __str__(self) -> str:
        return f"{self.email_key} {self.created_at:%Y-%m-%d %H:%M}"


class OrderIdempotencyKey(models.Model):
    """The ``Idempotency-Key`` a checkout sent with an order, so that a retried call (a timeout,
    a double click, a worker restarted mid-answer) gets the order placed the first time instead
    of a second one. ``request_hash`` is a digest of what was asked: the same key with another
    order is refused rather than answered with the wrong order. Kept as long as its order (one
    small row each; deleted with it)."""

    key = models.CharField(max_length=255, unique=True)
    request_hash = models.CharField(max_length=64)
    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="storefront_idempotency_key"
    )
    # What the first answer said beyond the order itself, so a replay says the same.
    group = models.ForeignKey(
        "groups.Group", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    customer_created = models.BooleanField(default=False)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("order idempotency key")
        verbose_name_plural = _("order idempotency keys")

    def __str__(self) -> str:
        return self.key
