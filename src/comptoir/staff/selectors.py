"""Reads of staff accounts: the API tokens a staff member may see."""

from __future__ import annotations

from django.db.models import QuerySet

from comptoir.staff.models import ApiToken, User


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """The tokens ``user`` may see and revoke, newest first: their own; every one for a
    superuser. Their staff member comes in the same query."""
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
    return tokens if user.is_superuser else tokens.filter(user=user)


def api_token_get(*, user: User, pk: int) -> ApiToken | None:
    """One token ``user`` may see; None when it does not exist or is someone else's (a caller
    answers "not found" either way, so other people's tokens are not even confirmed)."""
    return api_token_list(user=user).filter(pk=pk).first()
