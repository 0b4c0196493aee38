"""Fixtures for the emulator's own tests: a started emulator with a small cast and a webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.emulator.helpers import Cast, Received, Receiver
from webex_emulator import WebexEmulator


@pytest.fixture
def cast() -> Iterator[Cast]:
    emu = WebexEmulator(org_id="org-1", delivery_retries=2, delivery_backoff=0.05, delivery_timeout=10.0)
    bot = emu.add_person(email="bot@webex.bot", display_name="Intercept Bot", type="bot", token="bot-token")
    admin = emu.add_person(email="admin@example.com", display_name="Ada Admin", token="admin-token", admin=True)
    alice = emu.add_person(email="alice@example.com", display_name="Alice Adler", timezone="Europe/Berlin",
                           token="alice-token")
    bob = emu.add_person(email="bob@example.com", display_name="Bob Brandt", token="bob-token")
    with emu:
        yield Cast(emu, bot, admin, alice, bob)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, raw))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
