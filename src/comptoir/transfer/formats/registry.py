"""Every format the import recognises, in the order detection tries them, and the stand-in for
files it does not recognise (the user maps their columns)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext_lazy as _

from comptoir.transfer.formats import comptoir, ecwid, magento, prestashop, shopify, woocommerce
from comptoir.transfer.formats.base import Detection, Format, format_detect

CUSTOM = Format(key="custom", label=_("Other (columns mapped by hand)"), columns={}, signatures={})

FORMATS: tuple[Format, ...] = (
    comptoir.FORMAT,
    *prestashop.FORMATS,
    *shopify.FORMATS,
    *woocommerce.FORMATS,
    *magento.FORMATS,
    *ecwid.FORMATS,
)
FORMATS_BY_KEY: dict[str, Format] = {fmt.key: fmt for fmt in (*FORMATS, CUSTOM)}


def format_get(key: str) -> Format:
    """The format with this key; the hand-mapped stand-in for an unknown key."""
    return FORMATS_BY_KEY.get(key, CUSTOM)


def detect(headers: Sequence[str]) -> Detection:
    return format_detect(headers, FORMATS)


def format_choices() -> list[tuple[str, str]]:
    return [(fmt.key, fmt.label) for fmt in (*FORMATS, CUSTOM)]
