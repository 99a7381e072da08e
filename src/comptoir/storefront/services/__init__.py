"""Writes of the storefront, one module per concern:

- ``sessions``: log in (password check, lockout), sessions (open, touch, revoke);
- ``accounts``: register (guest conversion), password strength and reset, profile, consents,
  the request to be erased;
- ``addresses``: the customer's address book with its default flags;
- ``checkout``: place an order (cart conversion, shipping address kept).

Everything public is importable from ``comptoir.storefront.services``.
"""

from comptoir.storefront.services.accounts import (
    ErasureRequest,
    Registration,
    account_consent_set,
    account_erase_request,
    account_profile_update,
    customer_register,
    password_errors,
    password_reset_confirm,
    password_reset_request,
)
from comptoir.storefront.services.addresses import (
    account_address_add,
    account_address_change,
    account_address_remove,
)
from comptoir.storefront.services.checkout import PlacedOrder, storefront_order_place
from comptoir.storefront.services.sessions import (
    IssuedSession,
    customer_login,
    login_lockout_remaining,
    session_create,
    session_revoke,
    session_touch,
    sessions_revoke_all,
)

__all__ = [
    "ErasureRequest",
    "IssuedSession",
    "PlacedOrder",
    "Registration",
    "account_address_add",
    "account_address_change",
    "account_address_remove",
    "account_consent_set",
    "account_erase_request",
    "account_profile_update",
    "customer_login",
    "customer_register",
    "login_lockout_remaining",
    "password_errors",
    "password_reset_confirm",
    "password_reset_request",
    "session_create",
    "session_revoke",
    "session_touch",
    "sessions_revoke_all",
    "storefront_order_place",
]
