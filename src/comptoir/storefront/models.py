"""What the storefront's customer account needs of its own: password-reset tokens.

Only a hash of each token is stored: the token itself travels once, in the message to the
customer (the outbox), and a leaked table cannot be replayed.
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
