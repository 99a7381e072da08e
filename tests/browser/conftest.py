"""Playwright fixtures: Debian's chromium, headless, talking only to the live test server.

Browser tests need a chromium binary; without one they are skipped with the reason shown.
"""

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

# Playwright's sync API keeps an asyncio loop running in this thread; Django would otherwise
# refuse the ORM calls the tests make (creating users, customers) while that loop exists.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
STAFF_USERNAME = "marie"
STAFF_PASSWORD = "correct horse battery staple"  # tests/conftest.py's staff_user


def chromium_path() -> str | None:
    found = shutil.which("chromium") or "/usr/bin/chromium"
    return found if Path(found).exists() else None


@pytest.fixture(scope="session")
def browser(django_db_setup):
    executable = chromium_path()
    if executable is None:
        pytest.skip(
            "browser tests need Debian's chromium (apt-get install chromium): "
            "no 'chromium' on PATH nor at /usr/bin/chromium"
        )
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # While Playwright's loop runs, Django hands out other connection objects (its connection
    # store is per asyncio context then). The snapshot of the migrated database that serialized
    # rollback restores lives on the original ones: carry it over.
    snapshots = {
        connection.alias: connection._test_serialized_contents
        for connection in connections.all()
        if hasattr(connection, "_test_serialized_contents")
    }
    with sync_playwright() as playwright:
        for alias, snapshot in snapshots.items():
            connections[alias]._test_serialized_contents = snapshot
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _local_only(route):
    """Let the page reach the live server only; anything else is cut off, never fetched."""
    url = urlsplit(route.request.url)
    if url.scheme in {"http", "https", "ws", "wss"} and url.hostname not in LOCAL_HOSTS:
        route.abort("blockedbyclient")
    else:
        route.continue_()


@pytest.fixture
def new_page(browser, live_server, transactional_db, django_db_serialized_rollback):
    """``new_page(locale)``: a fresh browser context (no cookies) sending that Accept-Language.

    The live server reads the database from another thread, so the test data must be committed:
    transactional_db. Serialized rollback brings back what migrations created (the default group)
    that each transactional test's flush removes. Do not add a ``django_db`` marker to these
    tests: a marker without ``serialized_rollback=True`` overrides the fixture.
    """
    contexts = []

    def make(locale: str = "fr-FR"):
        context = browser.new_context(locale=locale, base_url=live_server.url)
        context.set_default_timeout(10_000)
        context.route("**/*", _local_only)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def logged_in_page(new_page, staff_user):
    """``logged_in_page(locale)``: a page signed in as staff through the real login form."""

    def make(locale: str = "fr-FR"):
        page = new_page(locale)
        page.goto("/")
        page.locator("#id_username").fill(STAFF_USERNAME)
        page.locator("#id_password").fill(STAFF_PASSWORD)
        page.locator("form[action='/staff/login/'] button[type=submit]").click()
        page.wait_for_url("**/")
        return page

    return make
