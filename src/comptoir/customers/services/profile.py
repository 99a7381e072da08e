"""Writes to one customer: create, update, consents, groups, block, login, note, password,
tags and addresses. Each service runs in one transaction and writes its event in it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import changes_between, event_record
from comptoir.core.normalise import email_key
from comptoir.customers.models import (
    Address,
    Channel,
    ConsentRecord,
    Customer,
    Membership,
    OptInLevel,
    Tag,
)
from comptoir.customers.search import search_text_for
from comptoir.customers.validation import profile_clean
from comptoir.groups.models import Group
from comptoir.groups.selectors import group_default


class ConcurrentUpdateError(ValidationError):
    """Someone else saved the customer since the form was opened."""

    def __init__(self, *, changed: dict[str, dict]):
        super().__init__(
            _("Another staff member changed this customer meanwhile. Review their changes."),
            code="stale",
        )
        self.changed = changed


def _email_taken(key: str, *, exclude_pk: int | None = None) -> Customer | None:
    if not key:
        return None
    taken = Customer.objects.filter(email_key=key, is_guest=False)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    return taken.first()


def _duplicate_email_error(existing: Customer) -> ValidationError:
    error = ValidationError(
        {
            "email": ValidationError(
                _("A customer with this e-mail address already exists."),
                code="duplicate",
                params={"customer_id": existing.pk},
            )
        }
    )
    error.existing_customer_id = existing.pk
    return error


def _save_unique(customer: Customer, **save_kwargs: Any) -> None:
    """Save, turning the database's unique-email refusal (a race) into a field error."""
    try:
        with transaction.atomic():
            customer.save(**save_kwargs)
    except IntegrityError:
        existing = _email_taken(customer.email_key, exclude_pk=customer.pk)
        if existing is None:
            raise
        raise _duplicate_email_error(existing) from None


def _profile_snapshot(customer: Customer, fields: Iterable[str]) -> dict[str, Any]:
    return {field: getattr(customer, field) for field in fields}


@transaction.atomic
def customer_create(
    *,
    actor: Actor,
    first_name: str,
    last_name: str,
    email: str = "",
    is_guest: bool = False,
    password: str | None = None,
    groups: Iterable[Group] = (),
    default_group: Group | None = None,
    consents: Mapping[str, bool] | None = None,
    opt_in_level: str = OptInLevel.UNKNOWN,
    tags: Iterable[str] = (),
    note: str = "",
    is_demo: bool = False,
    phone_region: str | None = None,
    **profile: Any,
) -> Customer:
    """Create a registered customer or a guest, in its groups, with its initial consents."""
    cleaned = profile_clean(
        {"first_name": first_name, "last_name": last_name, "email": email, **profile},
        phone_region=phone_region,
    )
    key = email_key(cleaned["email"])
    if not is_guest:
        if not key:
            raise ValidationError(
                {"email": ValidationError(_("This field is required."), code="required")}
            )
        existing = _email_taken(key)
        if existing is not None:
            raise _duplicate_email_error(existing)
    default_group = default_group or group_default()
    member_of = {group.pk: group for group in groups}
    member_of.setdefault(default_group.pk, default_group)

    customer = Customer(
        **cleaned,
        email_key=key,
        is_guest=is_guest,
        note=note.strip(),
        is_demo=is_demo,
        default_group=default_group,
        password=make_password(password) if password else "",
    )
    customer.search_text = search_text_for(customer)
    _save_unique(customer, force_insert=True)
    Membership.objects.bulk_create(
        Membership(customer=customer, group_id=group_id) for group_id in member_of
    )
    if tags:
        _tags_apply(customer, tags_get_or_create(names=tags))
    event_record(
        kind="customer_created",
        actor=actor,
        customer_id=customer.pk,
        data={"guest": is_guest, "email": customer.email, "name": customer.full_name},
    )
    for channel, granted in (consents or {}).items():
        customer_consent_set(
            customer=customer,
            channel=channel,
            granted=granted,
            actor=actor,
            opt_in_level=opt_in_level,
        )
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    actor: Actor,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
    phone_region: str | None = None,
) -> Customer:
    """Change profile fields. With ``expected_version``, refuse if someone saved meanwhile."""
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    cleaned = profile_clean(changes, phone_region=phone_region)
    if expected_version is not None and current.version != expected_version:
        raise ConcurrentUpdateError(changed=_changes_since(current, expected_version))
    if "email" in cleaned:
        key = email_key(cleaned["email"])
        if not current.is_guest and not key:
            raise ValidationError(
                {"email": ValidationError(_("This field is required."), code="required")}
            )
        if not current.is_guest:
            existing = _email_taken(key, exclude_pk=current.pk)
            if existing is not None:
                raise _duplicate_email_error(existing)
        cleaned["email_key"] = key
    before = _profile_snapshot(current, cleaned)
    diff = changes_between(before, cleaned)
    diff.pop("email_key", None)
    if not diff:
        return current
    for field, value in cleaned.items():
        setattr(current, field, value)
    current.search_text = search_text_for(current)
    current.updated_at = timezone.now()
    current.version += 1
    _save_unique(
        current,
        update_fields=[*cleaned, "search_text", "updated_at", "version"],
    )
    event_record(
        kind="customer_updated",
        actor=actor,
        customer_id=current.pk,
        data={"changes": diff, "version": current.version},
    )
    return current


def _changes_since(customer: Customer, version: int) -> dict[str, dict]:
    """What the updates after ``version`` changed, merged from their events."""
    from comptoir.core.models import Event

    merged: dict[str, dict] = {}
    updates = Event.objects.filter(
        customer_id=customer.pk, kind="customer_updated", data__version__gt=version
    ).order_by("id")
    for event in updates:
        for field, change in event.data.get("changes", {}).items():
            merged.setdefault(field, {"before": change["before"]})["after"] = change["after"]
    return merged


@transaction.atomic
def customer_consent_set(
    *,
    customer: Customer,
    channel: str,
    granted: bool,
    actor: Actor,
    opt_in_level: str = OptInLevel.UNKNOWN,
    note: str = "",
) -> bool:
    """Set one marketing consent; a change writes a history row. Returns whether it changed."""
    if channel not in Channel.values:
        raise ValidationError(_("Unknown consent channel."), code="invalid_channel")
    if opt_in_level not in OptInLevel.values:
        raise ValidationError(_("Unknown opt-in level."), code="invalid_opt_in")
    current = Customer.objects.select_for_update().only(channel).get(pk=customer.pk)
    if getattr(current, channel) == granted:
        return False
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(**{channel: granted, f"{channel}_at": now})
    setattr(customer, channel, granted)
    setattr(customer, f"{channel}_at", now)
    ConsentRecord.objects.create(
        customer=customer,
        channel=channel,
        granted=granted,
        created_at=now,
        source=actor.source,
        actor_id=actor.user_id,
        ip_address=actor.ip_address,
        opt_in_level=opt_in_level if granted else OptInLevel.UNKNOWN,
        note=note[:255],
    )
    event_record(
        kind="consent_changed",
        actor=actor,
        customer_id=customer.pk,
        created_at=now,
        data={"channel": channel, "granted": granted, "opt_in_level": opt_in_level},
    )
    return True


@transaction.atomic
def customer_groups_add(*, customer: Customer, groups: Iterable[Group], actor: Actor) -> list[int]:
    """Add the customer to groups; returns the ids of the groups actually added."""
    wanted = {group.pk for group in groups}
    already = set(
        customer.memberships.filter(group_id__in=wanted).values_list("group_id", flat=True)
    )
    added = sorted(wanted - already)
    if added:
        Membership.objects.bulk_create(
            Membership(customer=customer, group_id=group_id) for group_id in added
        )
        event_record(
            kind="groups_added", actor=actor, customer_id=customer.pk, data={"groups": added}
        )
    return added


@transaction.atomic
def customer_groups_remove(
    *, customer: Customer, groups: Iterable[Group], actor: Actor
) -> list[int]:
    """Remove the customer from groups; the default group cannot be removed."""
    wanted = {group.pk for group in groups}
    if customer.default_group_id in wanted:
        raise ValidationError(
            _("The default group cannot be removed; choose another default group first."),
            code="default_group",
        )
    removed = sorted(
        customer.memberships.filter(group_id__in=wanted).values_list("group_id", flat=True)
    )
    if removed:
        customer.memberships.filter(group_id__in=removed).delete()
        event_record(
            kind="groups_removed", actor=actor, customer_id=customer.pk, data={"groups": removed}
        )
    return removed


@transaction.atomic
def customer_groups_reset(*, customer: Customer, actor: Actor) -> list[int]:
    """'Remove from all groups': only the default group remains."""
    others = Group.objects.filter(memberships__customer=customer).exclude(
        pk=customer.default_group_id
    )
    return customer_groups_remove(customer=customer, groups=list(others), actor=actor)


@transaction.atomic
def customer_default_group_set(*, customer: Customer, group: Group, actor: Actor) -> bool:
    """Make ``group`` the default group (the customer joins it if needed)."""
    if customer.default_group_id == group.pk:
        return False
    before = customer.default_group_id
    Membership.objects.get_or_create(customer=customer, group=group)
    Customer.objects.filter(pk=customer.pk).update(
        default_group=group, version=F("version") + 1, updated_at=timezone.now()
    )
    customer.default_group = group
    event_record(
        kind="default_group_changed",
        actor=actor,
        customer_id=customer.pk,
        data={"before": before, "after": group.pk},
    )
    return True


@transaction.atomic
def customer_block(*, customer: Customer, reason: str, actor: Actor) -> Customer:
    """Block the customer from ordering. The reason is required and shown to staff."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": ValidationError(_("Give a reason for blocking."), code="required")}
        )
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if current.is_blocked:
        raise ValidationError(_("This customer is already blocked."), code="already_blocked")
    now = timezone.now()
    fields = {
        "is_blocked": True,
        "blocked_reason": reason,
        "blocked_at": now,
        "blocked_by": actor.user,
    }
    Customer.objects.filter(pk=customer.pk).update(**fields, version=F("version") + 1)
    for field, value in fields.items():
        setattr(customer, field, value)
    event_record(
        kind="customer_blocked", actor=actor, customer_id=customer.pk, data={"reason": reason}
    )
    return customer


@transaction.atomic
def customer_unblock(*, customer: Customer, actor: Actor) -> Customer:
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if not current.is_blocked:
        raise ValidationError(_("This customer is not blocked."), code="not_blocked")
    fields = {"is_blocked": False, "blocked_reason": "", "blocked_at": None, "blocked_by": None}
    Customer.objects.filter(pk=customer.pk).update(**fields, version=F("version") + 1)
    for field, value in fields.items():
        setattr(customer, field, value)
    event_record(
        kind="customer_unblocked",
        actor=actor,
        customer_id=customer.pk,
        data={"reason": current.blocked_reason},
    )
    return customer


@transaction.atomic
def customer_enabled_set(*, customer: Customer, enabled: bool, actor: Actor) -> bool:
    """Enable or disable the customer's storefront login. Returns whether it changed."""
    changed = (
        Customer.objects.filter(pk=customer.pk)
        .exclude(is_enabled=enabled)
        .update(is_enabled=enabled, version=F("version") + 1)
    )
    customer.is_enabled = enabled
    if changed:
        event_record(
            kind="customer_enabled" if enabled else "customer_disabled",
            actor=actor,
            customer_id=customer.pk,
        )
    return bool(changed)


@transaction.atomic
def customer_note_set(*, customer: Customer, note: str, actor: Actor) -> bool:
    note = (note or "").strip()
    before = Customer.objects.filter(pk=customer.pk).values_list("note", flat=True).get()
    if before == note:
        return False
    Customer.objects.filter(pk=customer.pk).update(note=note)
    customer.note = note
    event_record(
        kind="note_changed",
        actor=actor,
        customer_id=customer.pk,
        data={"before": before, "after": note},
    )
    return True


@transaction.atomic
def customer_password_set(*, customer: Customer, raw_password: str, actor: Actor) -> None:
    """Set the storefront password (hashed with Argon2; never stored or logged as given)."""
    Customer.objects.filter(pk=customer.pk).update(
        password=make_password(raw_password), must_reset_password=False
    )
    event_record(kind="password_changed", actor=actor, customer_id=customer.pk)


def tags_get_or_create(*, names: Iterable[str]) -> list[Tag]:
    """The tags with these names (case-insensitive), created when missing."""
    wanted: dict[str, str] = {}
    for name in names:
        if name and name.strip():
            # The first spelling wins: "VIP" and "vip" are one tag.
            wanted.setdefault(name.strip().lower(), name.strip())
    for name in wanted.values():
        if len(name) > 64:
            raise ValidationError(_("A tag has at most 64 characters."), code="tag_too_long")
    existing = {tag.name_key: tag for tag in Tag.objects.filter(name_key__in=wanted)}
    missing = [Tag(name=name, name_key=key) for key, name in wanted.items() if key not in existing]
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    return list(Tag.objects.filter(name_key__in=wanted))


def tags_text_for(tags: Iterable[Tag]) -> str:
    """The tag names as the list shows and sorts them: sorted case-insensitively, comma-joined."""
    return ", ".join(sorted((tag.name for tag in tags), key=str.lower))[:1000]


def _tags_apply(customer: Customer, tags: list[Tag]) -> None:
    customer.tags.set(tags)
    customer.tags_text = tags_text_for(tags)
    Customer.objects.filter(pk=customer.pk).update(tags_text=customer.tags_text)


@transaction.atomic
def customer_tags_set(*, customer: Customer, names: Iterable[str], actor: Actor) -> None:
    before = sorted(customer.tags.values_list("name", flat=True))
    tags = tags_get_or_create(names=names)
    after = sorted(tag.name for tag in tags)
    if before == after:
        return
    _tags_apply(customer, tags)
    event_record(
        kind="tags_changed",
        actor=actor,
        customer_id=customer.pk,
        data={"before": before, "after": after},
    )


ADDRESS_FIELDS = (
    "alias",
    "first_name",
    "last_name",
    "company",
    "vat_number",
    "address1",
    "address2",
    "postcode",
    "city",
    "state",
    "country",
    "phone",
)


def _address_clean(values: Mapping[str, Any]) -> dict[str, Any]:
    from django_countries import countries

    from comptoir.core.normalise import name_clean, phone_to_e164

    errors: dict[str, ValidationError] = {}
    cleaned: dict[str, Any] = {}
    for field, value in values.items():
        if field not in ADDRESS_FIELDS:
            raise TypeError(f"Not an address field: {field}")
        cleaned[field] = name_clean(value) if isinstance(value, str) else value
    for field in ("first_name", "last_name", "address1", "city", "country"):
        if field in cleaned and not cleaned[field]:
            errors[field] = ValidationError(_("This field is required."), code="required")
    if cleaned.get("country"):
        cleaned["country"] = str(cleaned["country"]).upper()
        if cleaned["country"] not in dict(countries):
            errors["country"] = ValidationError(
                _("Choose a country from the list."), code="invalid_choice"
            )
    if cleaned.get("phone") and "country" not in errors:
        try:
            cleaned["phone"] = phone_to_e164(cleaned["phone"], cleaned.get("country"))
        except ValidationError as exc:
            errors["phone"] = exc
    if errors:
        raise ValidationError(errors)
    return cleaned


def _refresh_from_addresses(customer: Customer) -> None:
    """Copy what the list needs from the addresses: the search text and the default billing
    address's country."""
    billing = customer.addresses.order_by("-is_default_billing", "id").first()
    customer.country = billing.country.code if billing else ""
    customer.search_text = search_text_for(customer)
    Customer.objects.filter(pk=customer.pk).update(
        search_text=customer.search_text, country=customer.country
    )


@transaction.atomic
def address_create(
    *,
    customer: Customer,
    actor: Actor,
    default_shipping: bool = False,
    default_billing: bool = False,
    **fields: Any,
) -> Address:
    for required in ("first_name", "last_name", "address1", "city", "country"):
        fields.setdefault(required, "")
    cleaned = _address_clean(fields)
    first = not customer.addresses.exists()
    default_shipping, default_billing = default_shipping or first, default_billing or first
    if default_shipping:
        customer.addresses.update(is_default_shipping=False)
    if default_billing:
        customer.addresses.update(is_default_billing=False)
    address = Address.objects.create(
        customer=customer,
        is_default_shipping=default_shipping,
        is_default_billing=default_billing,
        **cleaned,
    )
    _refresh_from_addresses(customer)
    event_record(
        kind="address_added",
        actor=actor,
        customer_id=customer.pk,
        data={"address": address.pk, "city": address.city},
    )
    return address


@transaction.atomic
def address_update(*, address: Address, actor: Actor, **fields: Any) -> Address:
    cleaned = _address_clean(fields)
    diff = changes_between(_profile_snapshot(address, cleaned), cleaned)
    if not diff:
        return address
    for field, value in cleaned.items():
        setattr(address, field, value)
    address.updated_at = timezone.now()
    address.save()
    _refresh_from_addresses(address.customer)
    event_record(
        kind="address_changed",
        actor=actor,
        customer_id=address.customer_id,
        data={"address": address.pk, "changes": diff},
    )
    return address


@transaction.atomic
def address_delete(*, address: Address, actor: Actor) -> None:
    customer = address.customer
    address_id = address.pk
    address.delete()
    _refresh_from_addresses(customer)
    event_record(
        kind="address_removed", actor=actor, customer_id=customer.pk, data={"address": address_id}
    )
