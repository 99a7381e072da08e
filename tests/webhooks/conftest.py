"""Fixtures of the webhooks tests: a real HTTP receiver on 127.0.0.1 and webhooks made through
the service."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
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
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver():
    yield from _receiver()


@pytest.fixture
def other_receiver():
    """A second server, where a redirect from the first one points."""
    yield from _receiver()


def _receiver():
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
            for name, value in state.headers.items():
                self.send_header(name, value)
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
def refused_url():
    """A URL on 127.0.0.1 where nothing listens (a port just bound, then let go)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (docs/api.md, Webhooks): HMAC-SHA256 of the raw body with the
    secret, compared in constant time with the X-Comptoir-Signature header."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


@pytest.fixture
def make_webhook(db, actor):
    from comptoir.webhooks.services import webhook_create

    def make(**fields):
        fields.setdefault("name", "ERP")
        fields.setdefault("url", "https://erp.example.com/hooks")
        fields.setdefault("topics", list(TOPICS))
        return webhook_create(actor=fields.pop("actor", actor), **fields)

    return make
