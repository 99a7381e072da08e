"""The customer create and edit forms' saves: profile, addresses, groups, tags, consents and
note in one transaction, through the single-purpose services of ``profile``.

Every part is tried even after another failed, so the form can show every error at once; one
``ValidationError`` then carries them all and the transaction rolls back: nothing is saved.
Error keys are the form's field names; an address's errors are ``addresses.<index>.<field>``
(``index`` in the ``addresses`` given, ``__all__`` for the address as a whole), and errors about
the addresses together ("add at least one") ``addresses.__all__``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import event_record
from comptoir.core.models import Event
from comptoir.customers.models import (
    Address,
    Channel,
    Customer,
    CustomerSettings,
    OptInLevel,
    RequirableField,
)
from comptoir.customers.selectors import customer_find_by_email, data_version
from comptoir.customers.services.profile import (
    ConcurrentUpdateError,
    address_create,
    address_delete,
    address_update,
    customer_consent_set,
    customer_create,
    customer_default_group_set,
    customer_groups_add,
    customer_groups_remove,
    customer_note_set,
    customer_tags_set,
    customer_update,
)
from comptoir.customers.services.settings import customer_settings_get
from comptoir.groups.models import Group

Errors = dict[str, list[ValidationError]]
_TAG_MAX = 64


@dataclass(frozen=True)
class AddressInput:
    """One address of the form: a new one (no ``id``), a change, or a removal."""

    fields: Mapping[str, Any] = field(default_factory=dict)  # ``ADDRESS_FIELDS``
    id: int | None = None
    delete: bool = False
    default_shipping: bool = False
    default_billing: bool = False


def staff_consent_note() -> str:
    """What the consent history says when staff give a consent for the customer."""
    return _("Given by staff, who confirmed that the customer agreed.")


def _add(errors: Errors, key: str, error: ValidationError) -> None:
    errors.setdefault(key, []).extend(error.error_list)


def _collect(errors: Errors, exc: ValidationError, prefix: str = "") -> None:
    """Merge a service's error into ``errors``, its field names prefixed."""
    if hasattr(exc, "error_dict"):
        for name, field_errors in exc.error_dict.items():
            errors.setdefault(prefix + name, []).extend(field_errors)
    else:
        _add(errors, prefix + NON_FIELD_ERRORS, exc)


def _raise_if_any(errors: Errors) -> None:
    if errors:
        error = ValidationError(errors)
        duplicate = next(
            (e for e in errors.get("email", []) if e.code == "duplicate" and e.params), None
        )
        if duplicate is not None:
            error.existing_customer_id = duplicate.params["customer_id"]
        raise error


def _groups_check(errors: Errors, groups: Sequence[Group], default_group: Group | None) -> None:
    if not groups:
        _add(errors, "groups", ValidationError(_("Choose at least one group."), code="required"))
    elif default_group is None:
        _add(
            errors,
            "default_group",
            ValidationError(_("Choose the default group."), code="required"),
        )
    elif default_group.pk not in {group.pk for group in groups}:
        _add(
            errors,
            "default_group",
            ValidationError(
                _("The default group must be one of the customer's groups."),
                code="default_not_member",
            ),
        )


def _tags_check(errors: Errors, tags: Iterable[str]) -> None:
    too_long = [name.strip() for name in tags if len(name.strip()) > _TAG_MAX]
    if too_long:
        _add(
            errors,
            "tags",
            ValidationError(_("A tag has at most 64 characters."), code="tag_too_long"),
        )


def _email_check(errors: Errors, email: str, *, exclude_pk: int | None = None) -> None:
    """The duplicate e-mail error, when the profile service stopped at another field's error
    before reaching that check: the form then shows both at once."""
    if "email" in errors:
        return
    existing = customer_find_by_email(email=email or "", registered_only=True)
    if existing is not None and existing.pk != exclude_pk:
        _add(
            errors,
            "email",
            ValidationError(
                _("A customer with this e-mail address already exists."),
                code="duplicate",
                params={"customer_id": existing.pk},
            ),
        )


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _required_check(
    errors: Errors,
    settings: CustomerSettings,
    *,
    profile: Mapping[str, Any],
    addresses: Sequence[AddressInput],
    consents: Mapping[str, bool | None],
) -> None:
    """The optional fields the settings page made required on creation."""
    for name in settings.required_fields or []:
        if name == RequirableField.ADDRESS:
            if not any(not item.delete for item in addresses):
                _add(
                    errors,
                    "addresses.__all__",
                    ValidationError(_("Add at least one address."), code="required"),
                )
        elif name in Channel.values:
            if consents.get(name) is None:
                _add(
                    errors,
                    name,
                    ValidationError(
                        _("Say whether the customer gave this consent."), code="required"
                    ),
                )
        elif name in RequirableField.values and _empty(profile.get(name)):
            _add(errors, name, ValidationError(_("This field is required."), code="required"))


def _unconfirmed_error() -> ValidationError:
    return ValidationError(
        _("Confirm that the customer agreed to this consent."), code="unconfirmed"
    )


def _consents_check(
    errors: Errors,
    consents: Mapping[str, bool | None],
    *,
    confirmed: Collection[str],
    given_before: Mapping[str, bool],
) -> None:
    """Before anything is written: giving a consent needs staff's confirmation."""
    for channel, wanted in consents.items():
        if channel not in Channel.values:
            raise TypeError(f"Not a consent channel: {channel}")
        if wanted and not given_before.get(channel) and channel not in confirmed:
            _add(errors, f"{channel}_confirmed", _unconfirmed_error())


def _consents_apply(
    errors: Errors,
    customer: Customer,
    *,
    consents: Mapping[str, bool | None],
    confirmed: Collection[str],
    actor: Actor,
) -> None:
    """Set the consents; giving one needs staff's confirmation that the customer agreed (checked
    again here against the locked row: it may have changed since ``_consents_check``)."""
    for channel, wanted in consents.items():
        if wanted is None or wanted == getattr(customer, channel):
            continue
        if wanted and channel not in confirmed:
            if f"{channel}_confirmed" not in errors:
                _add(errors, f"{channel}_confirmed", _unconfirmed_error())
            continue
        customer_consent_set(
            customer=customer,
            channel=channel,
            granted=wanted,
            actor=actor,
            opt_in_level=OptInLevel.SINGLE if wanted else OptInLevel.UNKNOWN,
            note=staff_consent_note() if wanted else "",
        )


def _addresses_apply(
    errors: Errors, customer: Customer, *, addresses: Sequence[AddressInput], actor: Actor
) -> None:
    """Create, change and remove the addresses, then settle the default ones."""
    existing = {address.pk: address for address in customer.addresses.all()}
    kept: dict[int, Address] = {}
    for index, item in enumerate(addresses):
        prefix = f"addresses.{index}."
        address = existing.get(item.id) if item.id is not None else None
        if item.id is not None and address is None:
            if not item.delete:  # removing what is already gone is no error
                _add(
                    errors,
                    prefix + NON_FIELD_ERRORS,
                    ValidationError(
                        _("This address was removed meanwhile; add it again if needed."),
                        code="gone",
                    ),
                )
            continue
        try:
            if item.delete:
                address_delete(address=address, actor=actor)
            elif address is not None:
                kept[index] = address_update(address=address, actor=actor, **item.fields)
            else:
                kept[index] = address_create(customer=customer, actor=actor, **item.fields)
        except ValidationError as exc:
            _collect(errors, exc, prefix)
    if errors:
        return

    def chosen(flag: str) -> Address | None:
        return next(
            (kept[i] for i, item in enumerate(addresses) if getattr(item, flag) and i in kept),
            None,
        )

    address_defaults_set(
        customer=customer,
        shipping=chosen("default_shipping"),
        billing=chosen("default_billing"),
        actor=actor,
    )


@transaction.atomic
def address_defaults_set(
    *,
    customer: Customer,
    shipping: Address | None,
    billing: Address | None,
    actor: Actor,
) -> bool:
    """Make these the default shipping and billing addresses. ``None`` keeps the current default,
    or, when it is gone, makes the oldest address the default. Returns whether anything changed.
    """
    addresses = list(customer.addresses.order_by("id"))
    changes: dict[str, dict] = {}
    for flag, wanted in (("is_default_shipping", shipping), ("is_default_billing", billing)):
        current = next((address for address in addresses if getattr(address, flag)), None)
        if wanted is not None and wanted.customer_id != customer.pk:
            raise ValidationError(_("This address belongs to another customer."), code="foreign")
        target = wanted or current or (addresses[0] if addresses else None)
        if target is None or target == current:
            continue
        # Two statements: PostgreSQL checks the one-default index row by row, so the old
        # default must be cleared before the new one is set.
        customer.addresses.filter(**{flag: True}).update(**{flag: False})
        Address.objects.filter(pk=target.pk).update(**{flag: True}, updated_at=timezone.now())
        changes[flag] = {"before": current.pk if current else None, "after": target.pk}
        if flag == "is_default_billing":
            # The list filters and sorts on the default billing address's country, kept on the
            # customer row.
            customer.country = Address.objects.get(pk=target.pk).country.code
            Customer.objects.filter(pk=customer.pk).update(country=customer.country)
    if not changes:
        return False
    event_record(
        kind="address_defaults_changed",
        actor=actor,
        customer_id=customer.pk,
        data={"changes": changes},
    )
    return True


def customer_create_full(
    *,
    actor: Actor,
    profile: Mapping[str, Any],
    groups: Sequence[Group],
    default_group: Group | None,
    addresses: Sequence[AddressInput] = (),
    tags: Iterable[str] = (),
    consents: Mapping[str, bool | None] | None = None,
    confirmed_consents: Collection[str] = (),
    note: str = "",
    phone_region: str | None = None,
) -> Customer:
    """Create a registered customer from the back-office form, with everything it holds.

    ``consents`` maps a channel to given (True), not given (False) or not asked (None); giving
    one needs the channel in ``confirmed_consents``. The settings page's required fields apply.
    """
    consents = dict(consents or {})
    tags = list(tags)
    errors: Errors = {}
    _groups_check(errors, groups, default_group)
    _tags_check(errors, tags)
    _required_check(
        errors, customer_settings_get(), profile=profile, addresses=addresses, consents=consents
    )
    _consents_check(errors, consents, confirmed=confirmed_consents, given_before={})
    with transaction.atomic():
        try:
            customer = customer_create(
                actor=actor,
                groups=groups,
                default_group=default_group,
                tags=[] if "tags" in errors else tags,
                note=note,
                phone_region=phone_region,
                **profile,
            )
        except ValidationError as exc:
            _collect(errors, exc)
            _email_check(errors, profile.get("email", ""))
        else:
            _consents_apply(
                errors, customer, consents=consents, confirmed=confirmed_consents, actor=actor
            )
            _addresses_apply(errors, customer, addresses=addresses, actor=actor)
        _raise_if_any(errors)
    return Customer.objects.get(pk=customer.pk)


def customer_edit(
    *,
    customer: Customer,
    actor: Actor,
    expected_version: int,
    profile: Mapping[str, Any],
    groups: Sequence[Group],
    default_group: Group | None,
    addresses: Sequence[AddressInput] = (),
    tags: Iterable[str] = (),
    consents: Mapping[str, bool | None] | None = None,
    confirmed_consents: Collection[str] = (),
    note: str | None = None,
    phone_region: str | None = None,
) -> Customer:
    """Save the edit form. Raises ``ConcurrentUpdateError`` when the customer changed since
    ``expected_version`` (the version the form was opened at); any saved change bumps it."""
    consents = dict(consents or {})
    tags = list(tags)
    errors: Errors = {}
    _groups_check(errors, groups, default_group)
    _tags_check(errors, tags)
    _consents_check(
        errors,
        consents,
        confirmed=confirmed_consents,
        given_before={channel: getattr(customer, channel) for channel in Channel.values},
    )
    with transaction.atomic():
        before = data_version()
        try:
            # First: it locks the row and checks the version before anything else is written.
            current = customer_update(
                customer=customer,
                actor=actor,
                changes=profile,
                expected_version=expected_version,
                phone_region=phone_region,
            )
        except ConcurrentUpdateError:
            raise
        except ValidationError as exc:
            _collect(errors, exc)
            current = Customer.objects.get(pk=customer.pk)
            if not current.is_guest:
                _email_check(errors, profile.get("email", ""), exclude_pk=current.pk)
        if note is not None:
            customer_note_set(customer=current, note=note, actor=actor)
        if "groups" not in errors and "default_group" not in errors:
            _groups_apply(current, groups=groups, default_group=default_group, actor=actor)
        if "tags" not in errors:
            customer_tags_set(customer=current, names=tags, actor=actor)
        _consents_apply(
            errors, current, consents=consents, confirmed=confirmed_consents, actor=actor
        )
        _addresses_apply(errors, current, addresses=addresses, actor=actor)
        _raise_if_any(errors)
        _version_bump_if_changed(current, expected_version=expected_version, since_event=before)
    return Customer.objects.get(pk=customer.pk)


def _groups_apply(
    customer: Customer, *, groups: Sequence[Group], default_group: Group, actor: Actor
) -> None:
    # The new default first: the old one can only be left once it is no longer the default.
    customer_default_group_set(customer=customer, group=default_group, actor=actor)
    wanted = {group.pk for group in groups}
    member_of = set(customer.memberships.values_list("group_id", flat=True))
    customer_groups_add(
        customer=customer, groups=[g for g in groups if g.pk not in member_of], actor=actor
    )
    leaving = member_of - wanted
    if leaving:
        customer_groups_remove(
            customer=customer, groups=list(Group.objects.filter(pk__in=leaving)), actor=actor
        )


def _version_bump_if_changed(
    customer: Customer, *, expected_version: int, since_event: int
) -> None:
    """Addresses, tags, consents and groups do not move the version themselves; a save that
    changed only those must still make a form opened before it stale."""
    if Event.objects.filter(customer_id=customer.pk, id__gt=since_event).exists():
        Customer.objects.filter(pk=customer.pk, version=expected_version).update(
            version=F("version") + 1, updated_at=timezone.now()
        )
