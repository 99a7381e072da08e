"""Writes for the WooCommerce compatibility: key pairs (create, revoke, last access), used OAuth
nonces, and customers changed through the WooCommerce endpoints.

Customers are only ever written through the customers services (``customer_create``,
``customer_update``, ``customer_password_set``, the address services, ``customer_delete`` in the
shop's default delete mode), so every change writes its event, signed by the key's staff member
with the API as source. Each service here runs in one transaction: a refused address undoes the
customer created with it.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import event_record
from comptoir.customers.models import Address, Customer
from comptoir.customers.services import (
    address_create,
    address_update,
    customer_create,
    customer_delete,
    customer_password_set,
    customer_update,
    delete_mode_default,
)
from comptoir.woocommerce.keys import (
    consumer_key_generate,
    consumer_key_hash,
    consumer_secret_derive,
    secret_salt_generate,
)
from comptoir.woocommerce.mapping import ADDRESS_CONTENT, ADDRESS_FIELDS, WooCustomerInput
from comptoir.woocommerce.models import ConsumerKey, KeyPermission, UsedNonce

DESCRIPTION_MAX = ConsumerKey._meta.get_field("description").max_length


@transaction.atomic
def consumer_key_create(
    *, description: str, permissions: str, actor: Actor
) -> tuple[ConsumerKey, str, str]:
    """A new key pair acting as ``actor``'s staff member. Returns the pair, its consumer key and
    its consumer secret: the caller shows both once (only the key's hash is kept)."""
    description = (description or "").strip()
    errors: dict[str, ValidationError] = {}
    if not description:
        errors["description"] = ValidationError(_("Describe what the key is for."), "required")
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = ValidationError(
            _("Keep the description to %(max)s characters.") % {"max": DESCRIPTION_MAX},
            "max_length",
        )
    if permissions not in KeyPermission.values:
        errors["permissions"] = ValidationError(_("Choose the key's permissions."), "invalid")
    if errors:
        raise ValidationError(errors)
    if actor.user is None:
        raise ValidationError(_("Only a staff member can create a WooCommerce key."), "no_staff")
    raw_key = consumer_key_generate()
    salt = secret_salt_generate()
    key = ConsumerKey.objects.create(
        description=description,
        user=actor.user,
        permissions=permissions,
        key_hash=consumer_key_hash(raw_key),
        truncated_key=raw_key[-7:],
        secret_salt=salt,
    )
    event_record(
        kind="woocommerce_key_created",
        actor=actor,
        object_type="woocommerce_key",
        object_id=key.pk,
        data={"description": description, "permissions": permissions},
    )
    return key, raw_key, consumer_secret_derive(salt)


@transaction.atomic
def consumer_key_revoke(*, key: ConsumerKey, actor: Actor) -> ConsumerKey:
    """Revoke a pair for good; revoking twice changes nothing."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        event_record(
            kind="woocommerce_key_revoked",
            actor=actor,
            object_type="woocommerce_key",
            object_id=key.pk,
            data={"description": key.description},
        )
    return key


# Writing the last access on every request would turn each read into a write; once a minute
# says as much to a person looking at the list.
LAST_ACCESS_PRECISION = datetime.timedelta(seconds=60)


def consumer_key_touch(*, key: ConsumerKey) -> None:
    now = timezone.now()
    if key.last_access is None or now - key.last_access > LAST_ACCESS_PRECISION:
        ConsumerKey.objects.filter(pk=key.pk).update(last_access=now)
        key.last_access = now


# Every this many nonces (by row id), the expired ones of every key are purged.
NONCE_PURGE_EVERY = 50


def oauth_nonce_use(*, key: ConsumerKey, nonce: str, expires_at: datetime.datetime) -> bool:
    """Note that ``nonce`` was used with ``key``; False if it already was (a replay). The nonce
    is remembered until ``expires_at``, when its timestamp stops being accepted anyway."""
    nonce_hash = hashlib.sha256(nonce.encode()).hexdigest()
    now = timezone.now()
    try:
        with transaction.atomic():
            used = UsedNonce.objects.create(key=key, nonce_hash=nonce_hash, expires_at=expires_at)
    except IntegrityError:
        # Seen before: a replay, unless that use has expired and was not purged yet.
        reused = UsedNonce.objects.filter(
            key=key, nonce_hash=nonce_hash, expires_at__lt=now
        ).update(expires_at=expires_at)
        return bool(reused)
    if used.pk % NONCE_PURGE_EVERY == 0:
        UsedNonce.objects.filter(expires_at__lt=now).delete()
    return True


# Customers.


def _prefixed(error: ValidationError, prefix: str) -> ValidationError:
    if hasattr(error, "error_dict"):
        return ValidationError(
            {f"{prefix}.{name}": items for name, items in error.error_dict.items()}
        )
    return ValidationError({prefix: error.error_list})


def _address_values(address: Address) -> dict[str, str]:
    return {
        ours: (address.country.code if ours == "country" else str(getattr(address, ours)))
        for ours in ADDRESS_FIELDS.values()
    }


def _address_wanted(
    customer: Customer, current: Address | None, given: dict[str, str] | None
) -> dict[str, str] | None:
    """What one side's address should become; None when the request leaves it alone.

    A side that would hold no address (no street, city, postcode, country...) is left alone:
    names or a phone alone are not an address, and Comptoir keeps a default address once a
    customer has one, so a WooCommerce client cannot clear it by sending empty fields.
    """
    if given is None:
        return None
    base = _address_values(current) if current else dict.fromkeys(ADDRESS_FIELDS.values(), "")
    wanted = {**base, **given}
    if not any(wanted[name] for name in ADDRESS_CONTENT):
        return None
    for name in ("first_name", "last_name"):
        if not wanted[name]:
            wanted[name] = getattr(customer, name)
    return wanted


class _AddressWriter:
    """Applies the wanted billing and shipping addresses, collecting every refusal."""

    def __init__(self, customer: Customer, actor: Actor):
        self.customer = customer
        self.actor = actor
        self.errors: dict[str, list[ValidationError]] = {}

    def _collect(self, error: ValidationError, side: str) -> None:
        for name, items in _prefixed(error, side).error_dict.items():
            self.errors.setdefault(name, []).extend(items)

    def update(self, address: Address, wanted: dict[str, str], side: str) -> None:
        current = _address_values(address)
        changes = {name: value for name, value in wanted.items() if current[name] != value}
        if not changes:
            return
        if "phone" in changes:
            # The phone is read in the address's country.
            changes["country"] = wanted["country"]
        try:
            address_update(address=address, actor=self.actor, **changes)
        except ValidationError as error:
            self._collect(error, side)

    def create(self, wanted: dict[str, str], side: str) -> None:
        try:
            address_create(
                customer=self.customer,
                actor=self.actor,
                default_billing=side == "billing",
                default_shipping=side == "shipping",
                **wanted,
            )
        except ValidationError as error:
            self._collect(error, side)


def _defaults_of(customer: Customer) -> tuple[Address | None, Address | None]:
    defaults = list(
        customer.addresses.filter(Q(is_default_billing=True) | Q(is_default_shipping=True))
    )
    billing = next((address for address in defaults if address.is_default_billing), None)
    shipping = next((address for address in defaults if address.is_default_shipping), None)
    return billing, shipping


def _addresses_apply(
    *,
    customer: Customer,
    billing: dict[str, str] | None,
    shipping: dict[str, str] | None,
    actor: Actor,
    defaults: tuple[Address | None, Address | None],
) -> None:
    """Make the default billing and shipping addresses what the request says.

    In Comptoir one address may be both defaults (a customer's first address is). WooCommerce's
    billing and shipping are independent, so when a request makes them differ, the side that
    changes gets an address of its own and the other keeps the shared one.
    """
    current_billing, current_shipping = defaults
    want_billing = _address_wanted(customer, current_billing, billing)
    want_shipping = _address_wanted(customer, current_shipping, shipping)
    if want_billing is None and want_shipping is None:
        return
    writer = _AddressWriter(customer, actor)
    if current_billing is not None and current_billing == current_shipping:
        shared = _address_values(current_billing)
        billing_values = want_billing or shared
        shipping_values = want_shipping or shared
        if billing_values == shipping_values:
            writer.update(current_billing, billing_values, "billing")
        elif billing_values == shared:
            writer.create(shipping_values, "shipping")
        elif shipping_values == shared:
            writer.create(billing_values, "billing")
        else:
            writer.update(current_billing, billing_values, "billing")
            writer.create(shipping_values, "shipping")
    else:
        first_address = current_billing is None and current_shipping is None
        if want_billing is not None:
            if current_billing is not None:
                writer.update(current_billing, want_billing, "billing")
            else:
                writer.create(want_billing, "billing")
        if want_shipping is not None:
            if current_shipping is not None:
                writer.update(current_shipping, want_shipping, "shipping")
            elif not (first_address and want_billing == want_shipping):
                # A customer's first address is both defaults: the same shipping address given
                # with it needs no second row.
                writer.create(want_shipping, "shipping")
    if writer.errors:
        raise ValidationError(writer.errors)


def _phone_region(data: WooCustomerInput, billing: Address | None) -> str | None:
    country = (data.billing or {}).get("country") or (billing.country.code if billing else "")
    return country.upper() or None


def _profile_changes(
    data: WooCustomerInput, billing: Address | None, *, creating: bool
) -> dict[str, Any]:
    changes: dict[str, Any] = dict(data.profile)
    if data.phone is not None:
        changes["phone"] = data.phone
    company = (data.billing or {}).get("company")
    if company is not None and billing is None:
        has_address = any((data.billing or {}).get(name) for name in ADDRESS_CONTENT)
        if not has_address and (company or not creating):
            # No billing address to hold it: the company is the customer's.
            changes["company"] = company
    return changes


@transaction.atomic
def woo_customer_create(*, data: WooCustomerInput, actor: Actor) -> Customer:
    """Create a registered customer, with its default addresses, from a WooCommerce body."""
    customer = customer_create(
        actor=actor,
        password=data.password,
        phone_region=_phone_region(data, None),
        **_profile_changes(data, None, creating=True),
    )
    _addresses_apply(
        customer=customer,
        billing=data.billing,
        shipping=data.shipping,
        actor=actor,
        defaults=(None, None),
    )
    return customer


@transaction.atomic
def woo_customer_update(*, customer: Customer, data: WooCustomerInput, actor: Actor) -> Customer:
    """Change a customer from a WooCommerce body: profile, password, default addresses."""
    defaults = _defaults_of(customer)
    changes = _profile_changes(data, defaults[0], creating=False)
    if changes:
        customer = customer_update(
            customer=customer,
            actor=actor,
            changes=changes,
            phone_region=_phone_region(data, defaults[0]),
        )
    if data.password:
        customer_password_set(customer=customer, raw_password=data.password, actor=actor)
    _addresses_apply(
        customer=customer,
        billing=data.billing,
        shipping=data.shipping,
        actor=actor,
        defaults=defaults,
    )
    return customer


def woo_customer_delete(*, customer: Customer, actor: Actor) -> bool:
    """Delete a customer in the shop's default delete mode (the customers settings page)."""
    return customer_delete(customer=customer, mode=delete_mode_default(), actor=actor)
