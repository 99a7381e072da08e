"""URLs without arguments, reversed once per script prefix and URL configuration."""

from django.test import override_settings
from django.urls import clear_script_prefix, reverse, set_script_prefix

from comptoir.core.links import url_of


def test_url_of_is_reverse():
    assert url_of("customers:list") == reverse("customers:list") == "/customers/"


def test_url_of_follows_the_script_prefix():
    """A site served under a path (``SCRIPT_NAME``) gets its links under it."""
    assert url_of("customers:list") == "/customers/"
    set_script_prefix("/shop/")
    try:
        assert url_of("customers:list") == "/shop/customers/"
    finally:
        clear_script_prefix()
    assert url_of("customers:list") == "/customers/"


@override_settings(ROOT_URLCONF="tests.core.urls_other")
def test_url_of_follows_the_url_configuration():
    assert url_of("customers:list") == "/elsewhere/"
