"""Writes to groups. Exactly one group is the default: it can be replaced, never removed."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.core.actors import Actor
from comptoir.core.events import event_record
from comptoir.groups.models import Group, PriceDisplay


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
) -> Group:
    errors = {}
    if not name_fr.strip():
        errors["name_fr"] = _("This field is required.")
    if not name_en.strip():
        errors["name_en"] = _("This field is required.")
    if price_display not in PriceDisplay.values:
        errors["price_display"] = _("Choose tax included or tax excluded.")
    if errors:
        raise ValidationError(errors)
    group = Group.objects.create(
        name_fr=name_fr.strip(),
        name_en=name_en.strip(),
        discount=_discount_clean(discount),
        description=description.strip(),
        price_display=price_display,
        show_prices=show_prices,
        css_class=css_class.strip(),
    )
    event_record(
        kind="group_created",
        actor=actor,
        object_type="group",
        object_id=group.pk,
        data={"name_fr": group.name_fr, "name_en": group.name_en, "discount": group.discount},
    )
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
