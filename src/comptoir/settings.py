"""Settings, read from the environment.

Nothing has to be set for a local run: the database is a SQLite file under ``var/`` and DEBUG is
off unless ``DEBUG=1``. With DEBUG off the defaults are the production ones (secure cookies,
HSTS-ready headers, no debug pages) and ``SECRET_KEY`` must be given.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(os.environ.get("COMPTOIR_HOME", Path.cwd())).resolve()
VAR_DIR = BASE_DIR / "var"


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
TESTING = env_bool("COMPTOIR_TESTING")


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # A development key, made once per checkout and kept out of git, so sessions survive restarts.
    key_file = VAR_DIR / "dev-secret-key"
    if not key_file.exists():
        from django.core.management.utils import get_random_secret_key

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(get_random_secret_key())
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "django_countries",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves the API docs' Swagger UI from our own static files, not a CDN
    "comptoir.core",
    "comptoir.staff",
    "comptoir.groups",
    "comptoir.customers",
    "comptoir.orders",
    "comptoir.support",
    "comptoir.transfer",
    "comptoir.storefront",
    "comptoir.woocommerce",
    "comptoir.webhooks",
]

# Background jobs (imports, large exports, webhooks) through the Django Tasks API; the database
# backend needs nothing beyond the database (`comptoir db_worker` runs them). Production may
# switch to RQ on Redis with COMPTOIR_TASKS_BACKEND=django_tasks_rq.RQBackend.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("COMPTOIR_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Imports and exports: where their files live, how long kept exports stay, the upload limit.
COMPTOIR_IMPORT_DIR = Path(os.environ.get("COMPTOIR_IMPORT_DIR", VAR_DIR / "imports"))
COMPTOIR_IMPORT_MAX_MB = int(os.environ.get("COMPTOIR_IMPORT_MAX_MB", "1024"))
# An import of at least this many rows, into a table at most half as large, builds the list's
# sort indexes and the events' once at its end rather than row by row (decision 0016).
COMPTOIR_IMPORT_DEFER_INDEXES_ROWS = int(
    os.environ.get("COMPTOIR_IMPORT_DEFER_INDEXES_ROWS", "100000")
)
COMPTOIR_EXPORT_DIR = Path(os.environ.get("COMPTOIR_EXPORT_DIR", VAR_DIR / "exports"))
COMPTOIR_EXPORT_RETENTION_HOURS = float(os.environ.get("COMPTOIR_EXPORT_RETENTION_HOURS", "72"))
# A CSV export of at least this many customers written to a file (command line, background
# task) is shared among this many workers (0: one per core): processes on SQLite, threads on
# PostgreSQL (transfer/services/export_parts.py).
COMPTOIR_EXPORT_PARALLEL_MIN = int(os.environ.get("COMPTOIR_EXPORT_PARALLEL_MIN", "100000"))
COMPTOIR_EXPORT_WORKERS = int(os.environ.get("COMPTOIR_EXPORT_WORKERS", "0"))
# From this many customers (the highest id), the customers list shows its rows before counting
# them when the count is not already known; the count, summary cards and page numbers follow in
# a second request (customers.selectors.listing.customer_summary_known).
COMPTOIR_LIST_COUNT_LATER_FROM = int(os.environ.get("COMPTOIR_LIST_COUNT_LATER_FROM", "100000"))
# The delete mode offered first until staff choose one on the customers settings page.
COMPTOIR_DELETE_MODE = os.environ.get("COMPTOIR_DELETE_MODE", "deny")
# Requests per minute an API token may make unless its own setting says otherwise.
COMPTOIR_API_REQUESTS_PER_MINUTE = int(os.environ.get("COMPTOIR_API_REQUESTS_PER_MINUTE", "600"))


# The shop server's secret for the storefront API (X-Storefront-Key); comma-separated to rotate.
# Unset, the storefront API refuses every call (503); under DEBUG a development key is made once
# per checkout in var/dev-storefront-key, so `make run` can try it.
def _storefront_key() -> str:
    key = os.environ.get("COMPTOIR_STOREFRONT_KEY", "")
    if key or not DEBUG or TESTING:
        return key
    key_file = VAR_DIR / "dev-storefront-key"
    if not key_file.exists():
        import secrets

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(32))
    return key_file.read_text().strip()


COMPTOIR_STOREFRONT_KEY = _storefront_key()

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "comptoir.staff.middleware.StaffRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "comptoir.urls"
WSGI_APPLICATION = "comptoir.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "comptoir.core.context_processors.backoffice",
            ],
        },
    },
]

# Database: SQLite in WAL mode by default, PostgreSQL when DATABASE_URL says so.
DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'comptoir.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", DEFAULT_SQLITE),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait instead of failing.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY; "
            "PRAGMA mmap_size=1073741824;"
        ),
    }
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT compilation: it starts on any query PostgreSQL costs above 100,000 (a search's
    # summary over a few thousand matches) and spends ~10 ms compiling what runs in 20 ms
    # (decision 0015).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"-c jit=off {_options.get('options', '')}".strip()
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "staff.User"
LOGIN_URL = "staff:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "staff:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Languages: French and English are both complete; the default comes from the environment.
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "fr")
LANGUAGES = [("fr", _("French")), ("en", _("English"))]
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured("LANGUAGE_CODE must be 'fr' or 'en'.")
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# In development and tests WhiteNoise serves straight from the app directories (no collectstatic).
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# Production defaults whenever DEBUG is off: cookies over HTTPS only, HSTS once enabled.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG and not TESTING:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # WooCommerce clients may sign with OAuth 1.0a over plain HTTP, as WooCommerce allows: the
    # secret never travels, and a redirect would break the signature (Basic auth, which sends
    # the secret, is refused there over HTTP). Set SECURE_SSL_REDIRECT_WP_JSON=1 to redirect too.
    if not env_bool("SECURE_SSL_REDIRECT_WP_JSON"):
        SECURE_REDIRECT_EXEMPT = [r"^wp-json/"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

PHONENUMBER_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "FR")
