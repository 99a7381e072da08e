"""The customers settings page's writes: the one ``CustomerSettings`` row (fields required on
creation, default delete mode) and the titles list. Each service writes its event.

``customer_settings_get`` reads the row (an unsaved default when nobody has saved it yet, so a
read never writes); ``customer_settings_cached`` is the same through the cache, for pages that
only need a default (the list's delete menu) and must not pay a query for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from comptoir.core.actors import Actor
from comptoir.core.events import changes_between, event_record
from comptoir.customers.models import (
    Customer,
    CustomerSettings,
    DeleteMode,
    Gender,
    RequirableField,
    Title,
)

SETTINGS_CACHE_KEY = "customers:settings:v1"
# Another process's cached copy may lag a change by this long; only defaults are read that way.
SETTINGS_CACHE_SECONDS = 60
_TITLE_NAME_MAX = Title._meta.get_field("name_fr").max_length


def customer_settings_get() -> CustomerSettings:
    """The settings row, or the defaults (unsaved) before anyone saved the settings page."""
    return CustomerSettings.objects.filter(pk=1).first() or CustomerSettings(pk=1)


def customer_settings_cached() -> CustomerSettings:
    """``customer_settings_get`` through the cache (cleared when the settings change)."""
    found = cache.get(SETTINGS_CACHE_KEY)
    if found is None:
        found = customer_settings_get()
        cache.set(SETTINGS_CACHE_KEY, found, SETTINGS_CACHE_SECONDS)
    return found


def _settings_values(row: CustomerSettings) -> dict:
    return {"required_fields": sorted(row.required_fields or []), "delete_mode": row.delete_mode}


@transaction.atomic
def customer_settings_update(
    *, actor: Actor, required_fields: Iterable[str], delete_mode: str
) -> CustomerSettings:
    """Save the settings page. Returns the row; an event records what changed."""
    required = sorted(set(required_fields))
    errors = {}
    unknown = [name for name in required if name not in RequirableField.values]
    if unknown:
        errors["required_fields"] = ValidationError(
            _("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)}, code="invalid_choice"
        )
    if delete_mode not in DeleteMode.values:
        errors["delete_mode"] = ValidationError(
            _("Choose one of the three delete modes."), code="invalid_choice"
        )
    if errors:
        raise ValidationError(errors)
    row, _created = CustomerSettings.objects.select_for_update().get_or_create(pk=1)
    before = _settings_values(row)
    after = {"required_fields": required, "delete_mode": delete_mode}
    diff = changes_between(before, after)
    if not diff:
        return row
    row.required_fields, row.delete_mode = required, delete_mode
    row.updated_at = timezone.now()
    row.save()
    event_record(
        kind="customer_settings_changed",
        actor=actor,
        object_type="settings",
        object_id=row.pk,
        data={"changes": diff},
    )
    transaction.on_commit(lambda: cache.delete(SETTINGS_CACHE_KEY))
    return row


# -------------------------------------------------------------------------------------------------
# Titles
# -------------------------------------------------------------------------------------------------


def _title_clean(*, name_fr: str, name_en: str, gender: str, exclude_pk: int | None) -> dict:
    cleaned = {"name_fr": (name_fr or "").strip(), "name_en": (name_en or "").strip()}
    errors: dict[str, ValidationError] = {}
    for field, value in cleaned.items():
        if not value:
            errors[field] = ValidationError(_("This field is required."), code="required")
        elif len(value) > _TITLE_NAME_MAX:
            errors[field] = ValidationError(_("This value is too long."), code="max_length")
        else:
            others = Title.objects.filter(**{f"{field}__iexact": value})
            if exclude_pk:
                others = others.exclude(pk=exclude_pk)
            if others.exists():
                errors[field] = ValidationError(
                    _("There is already a title with this name."), code="duplicate"
                )
    if gender not in Gender.values:
        errors["gender"] = ValidationError(_("Choose a gender."), code="invalid_choice")
    if errors:
        raise ValidationError(errors)
    return {**cleaned, "gender": gender}


@transaction.atomic
def title_create(
    *, actor: Actor, name_fr: str, name_en: str, gender: str, position: int | None = None
) -> Title:
    """Add a title to the list (at the end unless a position is given)."""
    cleaned = _title_clean(name_fr=name_fr, name_en=name_en, gender=gender, exclude_pk=None)
    if position is None:
        last = Title.objects.order_by("-position").values_list("position", flat=True).first()
        position = (last or 0) + 1
    title = Title.objects.create(**cleaned, position=position)
    event_record(
        kind="title_created",
        actor=actor,
        object_type="title",
        object_id=title.pk,
        data={**cleaned, "position": position},
    )
    return title


@transaction.atomic
def title_update(
    *, title: Title, actor: Actor, name_fr: str, name_en: str, gender: str, position: int
) -> Title:
    """Rename a title (or change its gender or place in the list)."""
    cleaned = _title_clean(name_fr=name_fr, name_en=name_en, gender=gender, exclude_pk=title.pk)
    cleaned["position"] = max(0, int(position))
    current = Title.objects.select_for_update().get(pk=title.pk)
    diff = changes_between({field: getattr(current, field) for field in cleaned}, cleaned)
    if not diff:
        return current
    for field, value in cleaned.items():
        setattr(current, field, value)
    current.save()
    event_record(
        kind="title_changed",
        actor=actor,
        object_type="title",
        object_id=current.pk,
        data={"changes": diff},
    )
    return current


@transaction.atomic
def title_delete(*, title: Title, actor: Actor) -> None:
    """Remove a title from the list. A title some customers have is refused, not detached:
    detaching would change those customers' records behind their timelines' back."""
    current = Title.objects.select_for_update().get(pk=title.pk)
    in_use = Customer.objects.filter(title=current).count()
    if in_use:
        # No ``params``: the message is formatted here, and a title may contain a "%".
        error = ValidationError(
            ngettext(
                "“%(title)s” is the title of %(count)s customer; give them another title "
                "before deleting it.",
                "“%(title)s” is the title of %(count)s customers; give them another title "
                "before deleting it.",
                in_use,
            )
            % {"title": current.name, "count": in_use},
            code="in_use",
        )
        error.customers_count = in_use
        raise error
    event_record(
        kind="title_deleted",
        actor=actor,
        object_type="title",
        object_id=current.pk,
        data={"name_fr": current.name_fr, "name_en": current.name_en},
    )
    current.delete()
