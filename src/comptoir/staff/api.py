"""The back-office API's token endpoints (mounted by comptoir.api under /api/v1/tokens): list the
tokens the caller may see, create one (its secret is in that one response and nowhere else),
get one, revoke one.

A staff member sees and revokes their own tokens; a superuser every token. Someone else's token
answers 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status

from comptoir.core.api import StrictSchema, not_found
from comptoir.staff.api_auth import api_actor
from comptoir.staff.models import ApiToken
from comptoir.staff.selectors import api_token_get, api_token_list
from comptoir.staff.services import (
    API_TOKEN_NAME_MAX,
    MAX_REQUESTS_PER_MINUTE,
    api_token_create,
    api_token_revoke,
)

router = Router(tags=["tokens"])

# Ids are 64-bit in the database; a larger number cannot name a token.
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The token's id.")]


class ApiTokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it.")
    staff_member: str = Field(
        alias="user.username", description="The username of the staff member it acts as."
    )
    read_only: bool
    requests_per_minute: int
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")
    revoked_at: datetime | None
    is_active: bool


class ApiTokenCreatedOut(ApiTokenOut):
    secret: str = Field(
        description="The token to send as 'Authorization: Bearer <secret>'. Shown this once: "
        "only its SHA-256 is kept."
    )


class ApiTokenIn(StrictSchema):
    name: str = Field(min_length=1, max_length=API_TOKEN_NAME_MAX)
    read_only: bool = False
    requests_per_minute: int | None = Field(
        default=None,
        ge=1,
        le=MAX_REQUESTS_PER_MINUTE,
        description="Leave out for the default (the shop's setting, or the calling token's "
        "own limit when that is lower).",
    )


def _token_or_404(request: HttpRequest, token_id: int) -> ApiToken:
    token = api_token_get(user=request.auth, pk=token_id)
    if token is None:
        raise not_found()
    return token


@router.get("", response=list[ApiTokenOut], summary="List API tokens")
def token_list(request: HttpRequest):
    """The caller's tokens (every token for a superuser), revoked ones included, newest first."""
    return list(api_token_list(user=request.auth))


@router.post("", response={201: ApiTokenCreatedOut}, summary="Create an API token")
def token_create(request: HttpRequest, payload: ApiTokenIn):
    """A new token acting as the caller's staff member. The response holds its secret, once."""
    calling_token = getattr(request, "api_token", None)
    token, secret = api_token_create(
        name=payload.name,
        actor=api_actor(request),
        read_only=payload.read_only,
        requests_per_minute=payload.requests_per_minute,
        rate_ceiling=calling_token.requests_per_minute if calling_token else None,
    )
    token.secret = secret
    return Status(201, token)


@router.get("/{token_id}", response=ApiTokenOut, summary="Get an API token")
def token_get(request: HttpRequest, token_id: TokenId):
    return _token_or_404(request, token_id)


@router.delete("/{token_id}", response={204: None}, summary="Revoke an API token")
def token_revoke(request: HttpRequest, token_id: TokenId):
    """Revoke for good: the token is refused from now on. Revoking twice is not an error."""
    api_token_revoke(token=_token_or_404(request, token_id), actor=api_actor(request))
    return Status(204, None)
