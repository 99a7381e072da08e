"""The list page's memory: each staff member's columns and page size, and their saved views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.customers.models import (
    ListPreference,
    SavedView,
)

# -------------------------------------------------------------------------------------------------
# The list page's memory: each staff member's columns and page size, and their saved views.
# Personal display settings, not shop data: they write no event.
# -------------------------------------------------------------------------------------------------

SAVED_VIEW_QUERY_MAX = 2000
# Parameters that describe one visit rather than the view: not kept in a saved view.
_TRANSIENT_PARAMS = frozenset({"page", "csrfmiddlewaretoken"})


def list_preference_remember(
    *, user, columns: Sequence[str] | None = None, per_page: int | None = None
) -> bool:
    """Remember the columns and/or page size the staff member chose; False if already so."""
    preference, _created = ListPreference.objects.get_or_create(user=user)
    changes: dict[str, Any] = {}
    if columns is not None and list(columns) != preference.columns:
        changes["columns"] = list(columns)
    if per_page is not None and per_page != preference.per_page:
        changes["per_page"] = per_page
    if not changes:
        return _created
    ListPreference.objects.filter(pk=preference.pk).update(**changes, updated_at=timezone.now())
    return True


def saved_view_query_clean(query: str) -> str:
    """The list's query string as a saved view keeps it: without the page number, empty values
    or a leading '?'."""
    pairs = [
        (key, value)
        for key, value in parse_qsl((query or "").lstrip("?"), keep_blank_values=False)
        if key not in _TRANSIENT_PARAMS
    ]
    return urlencode(pairs)


def _saved_view_name_clean(*, owner, name: str, exclude_pk: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ValidationError(_("Name the view."), code="required")})
    if len(name) > 100:
        raise ValidationError(
            {
                "name": ValidationError(
                    _("A view name has at most 100 characters."), code="max_length"
                )
            }
        )
    taken = SavedView.objects.filter(owner=owner, name=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError(
            {
                "name": ValidationError(
                    _("You already have a view with this name."), code="duplicate"
                )
            }
        )
    return name


@transaction.atomic
def saved_view_create(*, owner, name: str, query: str) -> SavedView:
    """Save the list's current state under a name, for its owner only."""
    name = _saved_view_name_clean(owner=owner, name=name)
    query = saved_view_query_clean(query)
    if len(query) > SAVED_VIEW_QUERY_MAX:
        raise ValidationError(_("This view has too many filters to be saved."), code="too_long")
    return SavedView.objects.create(owner=owner, name=name, query=query)


@transaction.atomic
def saved_view_rename(*, saved_view: SavedView, name: str) -> SavedView:
    saved_view.name = _saved_view_name_clean(
        owner=saved_view.owner_id, name=name, exclude_pk=saved_view.pk
    )
    saved_view.save(update_fields=["name"])
    return saved_view


@transaction.atomic
def saved_view_delete(*, saved_view: SavedView) -> None:
    saved_view.delete()
