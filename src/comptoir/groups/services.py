"""Writes to groups: create, update, delete (moving the members), and the default group.

Exactly one group is the default: it can be replaced, never removed. Every service validates all
its fields first and raises one ``ValidationError`` keyed by field, then writes in one
transaction with its event.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import changes_between, event_record
from comptoir.customers.models import Customer, Membership
from comptoir.customers.services.bulk import _TARGETS, _events_insert, _targets, _targets_sql
from comptoir.groups.models import Group, PriceDisplay

NAME_MAX_LENGTH = Group._meta.get_field("name_fr").max_length
CSS_CLASS_MAX_LENGTH = Group._meta.get_field("css_class").max_length
# One or more CSS class names separated by spaces; the storefront writes them into its HTML, so
# nothing else (quotes, angle brackets) may get through.
_CSS_CLASSES = re.compile(r"-?[_a-zA-Z][_a-zA-Z0-9-]*(?: -?[_a-zA-Z][_a-zA-Z0-9-]*)*")
# The fields a group's form edits, in the order events list them.
EDITABLE_FIELDS = (
    "name_fr",
    "name_en",
    "description",
    "discount",
    "price_display",
    "show_prices",
    "css_class",
)


def _discount_clean(discount: Decimal | int | str) -> Decimal:
    try:
        value = Decimal(str(discount))
    except ArithmeticError:
        value = Decimal("-1")
    if not value.is_finite() or not (0 <= value <= 100):
        raise ValidationError(
            {"discount": _("The discount must be between 0 and 100 %.")}, code="discount_range"
        )
    return value.quantize(Decimal("0.01"))


def _fields_clean(fields: dict) -> dict:
    """The given group fields, cleaned; every field's problem in one ``ValidationError``."""
    errors: dict[str, str] = {}
    cleaned = dict(fields)
    for name in ("name_fr", "name_en"):
        if name in fields:
            cleaned[name] = (fields[name] or "").strip()
            if not cleaned[name]:
                errors[name] = _("This field is required.")
            elif len(cleaned[name]) > NAME_MAX_LENGTH:
                errors[name] = _("Use at most %(max)d characters.") % {"max": NAME_MAX_LENGTH}
    if "description" in fields:
        cleaned["description"] = (fields["description"] or "").strip()
    if "discount" in fields:
        try:
            cleaned["discount"] = _discount_clean(fields["discount"])
        except ValidationError as error:
            errors.update({key: value[0] for key, value in error.message_dict.items()})
    if "price_display" in fields and fields["price_display"] not in PriceDisplay.values:
        errors["price_display"] = _("Choose tax included or tax excluded.")
    if "show_prices" in fields:
        cleaned["show_prices"] = bool(fields["show_prices"])
    if "css_class" in fields:
        cleaned["css_class"] = " ".join((fields["css_class"] or "").split())
        if len(cleaned["css_class"]) > CSS_CLASS_MAX_LENGTH:
            errors["css_class"] = _("Use at most %(max)d characters.") % {
                "max": CSS_CLASS_MAX_LENGTH
            }
        elif cleaned["css_class"] and not _CSS_CLASSES.fullmatch(cleaned["css_class"]):
            errors["css_class"] = _(
                "Use CSS class names: letters, digits, hyphens and underscores, not starting "
                "with a digit, separated by spaces."
            )
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def group_create(
    *,
    actor: Actor,
    name_fr: str,
    name_en: str,
    discount: Decimal | int | str = 0,
    description: str = "",
    price_display: str = PriceDisplay.TAX_INCLUDED,
    show_prices: bool = True,
    css_class: str = "",
    is_default: bool = False,
) -> Group:
    """Create a group; ``is_default`` makes it the default in place of the current one."""
    cleaned = _fields_clean(
        {
            "name_fr": name_fr,
            "name_en": name_en,
            "description": description,
            "discount": discount,
            "price_display": price_display,
            "show_prices": show_prices,
            "css_class": css_class,
        }
    )
    group = Group.objects.create(**cleaned)
    event_record(
        kind="group_created",
        actor=actor,
        object_type="group",
        object_id=group.pk,
        data={field: getattr(group, field) for field in EDITABLE_FIELDS},
    )
    if is_default:
        group_default_set(group=group, actor=actor)
    return group


@transaction.atomic
def group_update(
    *,
    group: Group,
    actor: Actor,
    name_fr: str | None = None,
    name_en: str | None = None,
    description: str | None = None,
    discount: Decimal | int | str | None = None,
    price_display: str | None = None,
    show_prices: bool | None = None,
    css_class: str | None = None,
    is_default: bool | None = None,
) -> Group:
    """Change a group's fields (``None``: leave as it is); records what changed.

    ``is_default=True`` makes the group the default (the previous one stops being it, in this
    transaction); the default group cannot be un-defaulted here, only replaced, so there is
    always one.
    """
    given = {
        "name_fr": name_fr,
        "name_en": name_en,
        "description": description,
        "discount": discount,
        "price_display": price_display,
        "show_prices": show_prices,
        "css_class": css_class,
    }
    current = Group.objects.select_for_update().get(pk=group.pk)
    try:
        cleaned = _fields_clean({key: value for key, value in given.items() if value is not None})
    except ValidationError as error:
        errors = error.message_dict
    else:
        errors = {}
    if is_default is False and current.is_default:
        errors["is_default"] = [
            _(
                "There must always be a default group: make another group the default instead "
                "of this one."
            )
        ]
    if errors:
        raise ValidationError(errors)
    before = {field: getattr(current, field) for field in EDITABLE_FIELDS}
    changes = changes_between(before, cleaned)
    if changes:
        Group.objects.filter(pk=current.pk).update(**cleaned, updated_at=timezone.now())
        event_record(
            kind="group_updated",
            actor=actor,
            object_type="group",
            object_id=current.pk,
            data={"changes": changes},
        )
    for field, value in cleaned.items():
        setattr(group, field, value)
    if is_default and not current.is_default:
        group_default_set(group=group, actor=actor)
    group.is_default = bool(is_default) or current.is_default
    return group


@transaction.atomic
def group_default_set(*, group: Group, actor: Actor) -> None:
    """Make ``group`` the default, in one transaction so there is never zero or two."""
    previous = Group.objects.select_for_update().filter(is_default=True).first()
    if previous is not None and previous.pk == group.pk:
        return
    Group.objects.filter(is_default=True).update(is_default=False)
    Group.objects.filter(pk=group.pk).update(is_default=True)
    group.is_default = True
    event_record(
        kind="group_default_changed",
        actor=actor,
        object_type="group",
        object_id=group.pk,
        data={"before": previous.pk if previous else None},
    )


@dataclass(frozen=True)
class GroupDeletion:
    """What deleting a group did to its members."""

    members: int  # customers who were in the group (each lost it)
    joined: int  # of them, customers who joined the target (it was their only or default group)
    defaults_moved: int  # of them, customers whose default group became the target


@transaction.atomic
def group_delete(*, group: Group, move_to: Group | None, actor: Actor) -> GroupDeletion:
    """Delete a group, moving its members to ``move_to`` first (required when it has any).

    Customers for whom it was the only group join ``move_to``; customers for whom it was the
    default group get ``move_to`` as default (and join it). Other members just lose the group.
    Closed and anonymised accounts are moved too: the rows stay, with their groups. Set-based
    (one statement per table, events with ``INSERT ... SELECT``), whatever the group's size.
    """
    current, target = _delete_rows_lock(group=group, move_to=move_to)
    has_members = (
        Membership.objects.filter(group=current).exists()
        or Customer.objects.filter(default_group=current).exists()
    )
    errors = {}
    if current.is_default:
        errors["group"] = _(
            "The default group cannot be deleted: make another group the default first."
        )
    if target is not None and target.pk == current.pk:
        errors["move_to"] = _("Choose a group other than the one being deleted.")
    elif has_members and target is None:
        errors["move_to"] = _("Choose the group its customers move to.")
    if errors:
        raise ValidationError(errors)
    deletion = _members_move(group=current, target=target, actor=actor) if has_members else None
    deletion = deletion or GroupDeletion(members=0, joined=0, defaults_moved=0)
    Group.objects.filter(pk=current.pk).delete()
    event_record(
        kind="group_deleted",
        actor=actor,
        object_type="group",
        object_id=current.pk,
        data={
            "name_fr": current.name_fr,
            "name_en": current.name_en,
            "moved_to": target.pk if target is not None else None,
            "members": deletion.members,
            "joined": deletion.joined,
            "defaults_moved": deletion.defaults_moved,
        },
    )
    return deletion


def _delete_rows_lock(*, group: Group, move_to: Group | None) -> tuple[Group, Group | None]:
    """Lock the group and the target (PostgreSQL), so nobody joins the group, makes it a
    default or deletes the target while the members move: those writes wait on the rows' lock,
    then find the group gone. Locked in id order, as any other such pair, to avoid deadlocks."""
    ids = [group.pk] + ([move_to.pk] if move_to is not None else [])
    rows = {row.pk: row for row in Group.objects.select_for_update().filter(pk__in=ids)}
    errors = {}
    if group.pk not in rows:
        errors["group"] = _("This group no longer exists.")
    if move_to is not None and move_to.pk not in rows:
        errors["move_to"] = _("The group chosen to move the customers to no longer exists.")
    if errors:
        raise ValidationError(errors)
    return rows[group.pk], rows.get(move_to.pk) if move_to is not None else None


def _members_move(*, group: Group, target: Group, actor: Actor) -> GroupDeletion:
    """Move the members of ``group`` to ``target``; ``group`` is left with no member.

    Each step fills the temporary table with the customers it changes, changes them with one
    statement and writes their events with one ``INSERT ... SELECT``.
    """
    now = timezone.now()
    members = Customer.objects.filter(
        id__in=Membership.objects.filter(group=group).values("customer_id")
    )
    in_target = Membership.objects.filter(group=target, customer_id=OuterRef("pk"))
    elsewhere = Membership.objects.filter(customer_id=OuterRef("pk")).exclude(group=group)
    # A customer's default group is always one of its groups, so every customer concerned is
    # among the members: the query starts from the group's memberships (an index range).
    joining = members.filter(Q(default_group=group) | ~Q(Exists(elsewhere))).filter(
        ~Q(Exists(in_target))
    )
    with _targets(joining, lock=False) as joined:
        if joined:
            _memberships_insert(group=target, now=now)
            _events_insert(kind="groups_added", actor=actor, now=now, data={"groups": [target.pk]})
    with _targets(Customer.objects.filter(default_group=group), lock=False) as defaults_moved:
        if defaults_moved:
            Customer.objects.filter(id__in=_targets_sql()).update(
                default_group=target, version=F("version") + 1, updated_at=now
            )
            _events_insert(
                kind="default_group_changed",
                actor=actor,
                now=now,
                data={"before": group.pk, "after": target.pk},
            )
    with _targets(members, lock=False) as count:
        if count:
            _events_insert(kind="groups_removed", actor=actor, now=now, data={"groups": [group.pk]})
            Membership.objects.filter(group=group).delete()
    return GroupDeletion(members=count, joined=joined, defaults_moved=defaults_moved)


def _memberships_insert(*, group: Group, now: datetime.datetime) -> None:
    """Put every customer of the temporary table into ``group``, with one INSERT ... SELECT."""
    connection = connections[Membership.objects.db]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Membership._meta.db_table} (customer_id, group_id, created_at)"
            f" SELECT t.id, %s, %s FROM {_TARGETS} t",
            [group.pk, connection.ops.adapt_datetimefield_value(now)],
        )
