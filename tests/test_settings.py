"""Settings come from the environment; DEBUG off means production defaults."""

import json
import os
import subprocess
import sys

import pytest

SNIPPET = """
import json
from django.conf import settings
import django
django.setup()
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    "options": settings.DATABASES["default"].get("OPTIONS", {}),
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "redirect_exempt": settings.SECURE_REDIRECT_EXEMPT,
    "hosts": settings.ALLOWED_HOSTS,
    "language": settings.LANGUAGE_CODE,
    "hasher": settings.PASSWORD_HASHERS[0],
}))
"""


def settings_with(tmp_path, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "DEBUG",
            "SECRET_KEY",
            "COMPTOIR_TESTING",
            "ALLOWED_HOSTS",
            "LANGUAGE_CODE",
        }
    }
    clean.update(DJANGO_SETTINGS_MODULE="comptoir.settings", COMPTOIR_HOME=str(tmp_path), **env)
    result = subprocess.run(
        [sys.executable, "-c", SNIPPET], env=clean, capture_output=True, text=True, timeout=60
    )
    return result


def test_production_defaults_when_debug_is_off(tmp_path):
    result = settings_with(
        tmp_path, SECRET_KEY="x" * 50, ALLOWED_HOSTS="shop.example.com", LANGUAGE_CODE="en"
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["debug"] is False
    assert values["session_secure"] and values["csrf_secure"] and values["ssl_redirect"]
    assert values["hosts"] == ["shop.example.com"]
    assert values["language"] == "en"
    assert values["hasher"].endswith("Argon2PasswordHasher")
    # WooCommerce's OAuth 1.0a over plain HTTP would break on a redirect (decision 0011).
    assert values["redirect_exempt"] == ["^wp-json/"]


def test_the_woocommerce_api_can_be_redirected_to_https_too(tmp_path):
    result = settings_with(tmp_path, SECRET_KEY="x" * 50, SECURE_SSL_REDIRECT_WP_JSON="1")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["redirect_exempt"] == []


def test_secret_key_is_required_without_debug(tmp_path):
    result = settings_with(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_sqlite_in_wal_mode_by_default(tmp_path):
    result = settings_with(tmp_path, DEBUG="1")
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "var" / "comptoir.sqlite3")
    assert "journal_mode=WAL" in values["options"]["init_command"]
    assert values["options"]["transaction_mode"] == "IMMEDIATE"
    assert values["session_secure"] is False


def test_database_url_selects_postgresql_with_persistent_connections(tmp_path):
    result = settings_with(
        tmp_path, DEBUG="1", DATABASE_URL="postgres://postgres@127.0.0.1:5432/shop"
    )
    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["name"] == "shop"
    assert values["conn_max_age"] == 60
    assert values["options"]["options"] == "-c jit=off"  # decision 0015


def test_postgresql_options_from_the_url_are_kept_beside_jit_off(tmp_path):
    url = "postgres://postgres@127.0.0.1:5432/shop?options=-c%20statement_timeout%3D5000"
    values = json.loads(settings_with(tmp_path, DEBUG="1", DATABASE_URL=url).stdout)
    assert values["options"]["options"] == "-c jit=off -c statement_timeout=5000"


def test_postgresql_connections_run_without_jit(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_the_running_sqlite_database_uses_wal(tmp_path):
    """A real file database opened with our settings is in WAL mode."""
    result = settings_with(tmp_path, DEBUG="1")
    assert result.returncode == 0
    code = (
        "import django; django.setup();"
        "from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "COMPTOIR_TESTING"}}
    env.update(DJANGO_SETTINGS_MODULE="comptoir.settings", COMPTOIR_HOME=str(tmp_path), DEBUG="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "wal", out.stderr


def test_comptoir_console_command_runs_management_commands(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "COMPTOIR_TESTING"}}
    env.update(COMPTOIR_HOME=str(tmp_path), DEBUG="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    comptoir = os.path.join(os.path.dirname(sys.executable), "comptoir")
    out = subprocess.run([comptoir, "check"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "System check identified no issues" in out.stdout
