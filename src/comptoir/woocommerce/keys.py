"""How consumer keys and secrets are made, recognised and re-derived.

The key (``ck_`` and 40 hex digits, WooCommerce's own shape) is kept as its SHA-256 only. The
secret (``cs_`` and 40 hex digits) is an HMAC of the pair's random salt under a key derived from
``SECRET_KEY``: the server can recompute it to check an OAuth signature, while the database alone
does not hold it. ``SECRET_KEY_FALLBACKS`` are tried too, so rotating the server key the Django
way keeps the pairs working; a ``SECRET_KEY`` changed without keeping the old one in the fallbacks
invalidates every pair (they must be created again).
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

KEY_PREFIX = "ck_"
SECRET_PREFIX = "cs_"
_DERIVATION_SALT = "comptoir.woocommerce.consumer_secret"


def consumer_key_generate() -> str:
    return KEY_PREFIX + secrets.token_hex(20)


def consumer_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def secret_salt_generate() -> str:
    return secrets.token_hex(32)


def consumer_secret_derive(salt: str, *, server_key: str | None = None) -> str:
    """The pair's secret, from its salt and the server key (``SECRET_KEY`` by default)."""
    digest = salted_hmac(
        _DERIVATION_SALT, salt, secret=server_key or settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()
    return SECRET_PREFIX + digest[:40]


def consumer_secret_candidates(salt: str) -> list[str]:
    """The secret under the current server key, then under each fallback key."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [consumer_secret_derive(salt, server_key=key) for key in keys]


def consumer_secret_matches(salt: str, given: str) -> bool:
    # Every candidate is compared, matched or not, so timing says nothing about which one.
    found = False
    for candidate in consumer_secret_candidates(salt):
        found |= constant_time_compare(candidate, given)
    return found
