"""Who makes a change: a staff member, the customer on the storefront, an API client, an import.

Every service takes an ``actor``; events and consent history rows are written from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from comptoir.core.models import Source

if TYPE_CHECKING:
    from comptoir.staff.models import User


@dataclass(frozen=True, slots=True)
class Actor:
    source: str
    user: User | None = None
    ip_address: str | None = None

    @classmethod
    def staff(cls, user: User, ip_address: str | None = None) -> Actor:
        return cls(source=Source.BACKOFFICE, user=user, ip_address=ip_address)

    @classmethod
    def storefront(cls, ip_address: str | None = None) -> Actor:
        return cls(source=Source.STOREFRONT, ip_address=ip_address)

    @classmethod
    def api(cls, user: User | None = None, ip_address: str | None = None) -> Actor:
        return cls(source=Source.API, user=user, ip_address=ip_address)

    @classmethod
    def importer(cls, user: User | None = None) -> Actor:
        return cls(source=Source.IMPORT, user=user)

    @classmethod
    def system(cls) -> Actor:
        return cls(source=Source.SYSTEM)

    @classmethod
    def demo(cls) -> Actor:
        return cls(source=Source.DEMO)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None


def actor_from_request(request) -> Actor:
    """The staff member behind a back-office request."""
    return Actor.staff(request.user, ip_address=request.META.get("REMOTE_ADDR"))
