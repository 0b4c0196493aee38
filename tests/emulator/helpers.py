"""Helpers for the emulator's own tests."""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from webex_emulator import Person, WebexEmulator

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


def card(*body: dict[str, Any], version: str = "1.3") -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "version": version,
        "body": list(body) or [{"type": "TextBlock", "text": "Approve?", "wrap": True}],
        "actions": [{"type": "Action.Submit", "title": "Approve", "data": {"verb": "approve"}}],
    }


def card_attachment(content: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"contentType": CARD_TYPE, "content": content or card()}]


@dataclass
class Cast:
    emu: WebexEmulator
    bot: Person
    admin: Person
    alice: Person
    bob: Person


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw) if self.raw else None


def raw_request(emu: WebexEmulator, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
                json_body: Any = None, content_type: str | None = None, query: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
    """One request with full control over the bytes (path relative to /v1 unless it starts with //)."""
    parts = urlsplit(emu.base_url)
    target = (path[1:] if path.startswith("//") else parts.path + path) + (("?" + urlencode(query)) if query else "")
    send_headers = dict(headers or {})
    if token is not None:
        send_headers["Authorization"] = f"Bearer {token}"
    if json_body is not None:
        body = json.dumps(json_body).encode()
        content_type = content_type or "application/json"
    if content_type:
        send_headers["Content-Type"] = content_type
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=send_headers)
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Receiver:
    """A tiny webhook receiver: records every POST; answers `statuses` in turn, then 200."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def free_port_url() -> str:
    """A URL nobody listens on (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
