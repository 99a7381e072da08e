"""The customer's own address book, as the storefront changes it: the customers address
services, with the default shipping and billing flags handled in the same transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from comptoir.core.actors import Actor
from comptoir.customers.models import Address, Customer
from comptoir.customers.services import (
    address_create,
    address_defaults_set,
    address_delete,
    address_update,
)


@transaction.atomic
def account_address_add(
    *,
    customer: Customer,
    actor: Actor,
    default_shipping: bool = False,
    default_billing: bool = False,
    **fields: Any,
) -> Address:
    """Add an address; the first one is the default for both shipping and billing."""
    address = address_create(
        customer=customer,
        actor=actor,
        default_shipping=default_shipping,
        default_billing=default_billing,
        **fields,
    )
    address.refresh_from_db()
    return address


@transaction.atomic
def account_address_change(
    *,
    address: Address,
    actor: Actor,
    default_shipping: bool | None = None,
    default_billing: bool | None = None,
    **fields: Any,
) -> Address:
    """Change an address's fields; ``default_*=True`` makes it that default. (False is not an
    order: a customer with addresses always has a default, they choose another instead.)"""
    if fields:
        address_update(address=address, actor=actor, **fields)
    if default_shipping or default_billing:
        address_defaults_set(
            customer=address.customer,
            shipping=address if default_shipping else None,
            billing=address if default_billing else None,
            actor=actor,
        )
    address.refresh_from_db()
    return address


@transaction.atomic
def account_address_remove(*, address: Address, actor: Actor) -> None:
    """Remove an address; if it was a default, the oldest remaining one takes its place."""
    customer = address.customer
    address_delete(address=address, actor=actor)
    if customer.addresses.exists():
        address_defaults_set(customer=customer, shipping=None, billing=None, actor=actor)
