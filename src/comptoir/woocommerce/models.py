"""The WooCommerce key pairs staff create for the tools that speak WooCommerce's REST API, and
the OAuth 1.0a nonces already used with them.

A pair is a consumer key (``ck_…``) and a consumer secret (``cs_…``). Only the key's SHA-256 is
kept, as for the API tokens. The secret cannot be kept only as a hash: one-legged OAuth 1.0a signs
each request with it (HMAC), so the server must be able to compute the same signature. It is not
stored at all either: it is derived, when needed, from a random salt kept here and the server's
``SECRET_KEY`` (``keys.consumer_secret_derive``), so a copy of the database alone does not reveal
it (decision 0011).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class KeyPermission(models.TextChoices):
    """What a key pair may do, as in WooCommerce: GET needs read, writes need write."""

    READ = "read", _("Read")
    WRITE = "write", _("Write")
    READ_WRITE = "read_write", _("Read/Write")


class ConsumerKey(models.Model):
    """A WooCommerce consumer key/secret pair. It acts as the staff member who created it, so
    every change made through it is signed by a person."""

    description = models.CharField(_("description"), max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="woocommerce_keys",
        verbose_name=_("staff member"),
    )
    permissions = models.CharField(
        _("permissions"),
        max_length=10,
        choices=KeyPermission.choices,
        default=KeyPermission.READ_WRITE,
    )
    key_hash = models.CharField(max_length=64, unique=True)
    # The key's last characters, as WooCommerce shows them ("…1a2b3c4"), to recognise a pair.
    truncated_key = models.CharField(_("consumer key ending in"), max_length=7)
    # The secret is derived from this and SECRET_KEY; it is never stored.
    secret_salt = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_access = models.DateTimeField(_("last access"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("WooCommerce key")
        verbose_name_plural = _("WooCommerce keys")
        constraints = [
            models.CheckConstraint(
                condition=Q(permissions__in=["read", "write", "read_write"]),
                name="woocommerce_key_permissions_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.description} (…{self.truncated_key})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_read(self) -> bool:
        return self.permissions in (KeyPermission.READ, KeyPermission.READ_WRITE)

    @property
    def can_write(self) -> bool:
        return self.permissions in (KeyPermission.WRITE, KeyPermission.READ_WRITE)


class UsedNonce(models.Model):
    """An OAuth 1.0a nonce seen with a key. A nonce may be used once: a request replayed within
    the 15 minutes its timestamp stays valid is refused. Rows are purged once expired. Kept in the
    database rather than the cache so that every worker process sees the same nonces."""

    key = models.ForeignKey(ConsumerKey, on_delete=models.CASCADE, related_name="+")
    # SHA-256 of the nonce as sent: a client may send any length.
    nonce_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "nonce_hash"], name="woocommerce_nonce_once")
        ]
        indexes = [models.Index(fields=["expires_at"], name="woocommerce_nonce_expiry")]
