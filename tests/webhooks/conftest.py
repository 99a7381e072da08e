"""Fixtures of the webhooks tests: a real HTTP receiver on 127.0.0.1 and webhooks made through
the service."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from comptoir.webhooks.topics import TOPICS

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the test server got, and how it answers (``status``, ``delay`` in seconds)."""

    url: str
    status: int = 200
    delay: float = 0.0
    answer: bytes = b"ok"
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            if state.delay:
                time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/comptoir"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_webhook(db, actor):
    from comptoir.webhooks.services import webhook_create

    def make(**fields):
        fields.setdefault("name", "ERP")
        fields.setdefault("url", "https://erp.example.com/hooks")
        fields.setdefault("topics", list(TOPICS))
        return webhook_create(actor=fields.pop("actor", actor), **fields)

    return make
