"""WSGI entry point for gunicorn: ``gunicorn comptoir.wsgi``."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
application = get_wsgi_application()

from comptoir.core.sqlite_wal import checkpointer_start  # noqa: E402 (needs the settings)

# SQLite: WAL checkpoints from a thread, not from the request that commits (core.sqlite_wal).
checkpointer_start()

# Import every view now (the URL conf is otherwise loaded by the first request), then move what
# start-up made out of the garbage collector's sight: it never becomes garbage, and scanning its
# ~100k objects on each full collection paused a request by ~85 ms every twenty or so.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
