"""The URLs of pages that take no argument, reversed once.

``reverse`` walks the URL resolver on every call (15-35 µs); the customers list asks for the
same few URLs some fifty times a page (its sort, page and size links, the navigation bar).
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse


def url_of(name: str) -> str:
    """``reverse(name)``, remembered per script prefix and URL configuration."""
    return _reversed(name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)


@lru_cache(maxsize=256)
def _reversed(name: str, prefix: str, urlconf: str) -> str:
    # ``prefix`` is part of the key only: ``reverse`` reads the same thread-local value.
    return reverse(name, urlconf=urlconf)
