"""Webhook deliveries: verify, record, then (off the request thread) fetch and route.

`Receiver.receive` is all the webhook endpoint does: check the signature on the raw bytes, drop
the bot's own events, store the event once (keyed by resource and `data.id`, so a redelivery is
recognised) and answer. It never calls Webex: a delivery is answered in milliseconds.
`Dispatcher.dispatch` runs in a worker thread: it fetches the message or card action by id (a
webhook carries ids only) and hands the typed event to the service.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.domain.ports import CardAction, ChatMessage, Webex

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # a real delivery is well under 2 KB
ROUTED = {("messages", "created"), ("attachmentActions", "created")}


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


class Inbox(Protocol):
    def inbox_add(self, key: str, payload: bytes | str, now: datetime) -> bool: ...


def signature(secret: bytes, raw: bytes) -> str:
    return hmac.new(secret, raw, hashlib.sha1).hexdigest()


class Receiver:
    def __init__(self, *, secret: str, inbox: Inbox, bot_id: str, now: Callable[[], datetime],
                 wake: Callable[[], None] = lambda: None) -> None:
        self._secret = secret.encode()
        self._inbox = inbox
        self._bot_id = bot_id
        self._now = now
        self._wake = wake

    def receive(self, raw: bytes, signature_header: str | None, content_type: str | None) -> Answer:
        if len(raw) > MAX_BODY:
            return Answer(413, "too large")
        if not signature_header:
            return Answer(401, "missing X-Spark-Signature")
        expected = signature(self._secret, raw).encode()
        given = signature_header.strip().lower().encode("utf-8", "replace")  # any text: never a 500
        if not hmac.compare_digest(expected, given):
            return Answer(403, "bad signature")
        if (content_type or "").split(";")[0].strip().lower() != "application/json":
            return Answer(415, "expected application/json")
        envelope = _envelope(raw)
        if envelope is None:
            return Answer(400, "not a webhook envelope")
        resource, event, data = envelope["resource"], envelope["event"], envelope["data"]
        if (resource, event) not in ROUTED:
            return Answer(202, "ignored: not an event this bot handles")
        if self._bot_id in (envelope.get("actorId"), data.get("personId")):
            return Answer(200, "ignored: the bot's own event")
        if not self._inbox.inbox_add(f"{resource}:{data['id']}", raw, self._now()):
            return Answer(200, "duplicate: already received")
        self._wake()
        return Answer(202, "accepted")


def _envelope(raw: bytes) -> dict[str, Any] | None:
    """The envelope of a delivery: JSON in UTF-8, with an id that can be stored as text. The bytes
    are decoded first (json.loads would also take UTF-16/32 bytes, which Webex never sends); a
    byte-order mark left at the start of the text is refused by json.loads itself."""
    try:
        envelope = json.loads(raw.decode("utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(envelope, dict):
        return None
    data = envelope.get("data")
    if not (isinstance(envelope.get("resource"), str) and isinstance(envelope.get("event"), str)
            and isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]
            and len(data["id"]) <= 256):
        return None
    try:
        f"{envelope['resource']}:{data['id']}".encode()  # an unpaired surrogate cannot be stored
    except UnicodeEncodeError:
        return None
    return envelope


class Handler(Protocol):
    def handle_message(self, message: ChatMessage) -> None: ...
    def handle_action(self, action: CardAction) -> None: ...


class Dispatcher:
    """Turns a stored envelope into a typed event and routes it."""

    def __init__(self, *, webex: Webex, handler: Handler, bot_id: str) -> None:
        self.webex = webex
        self.handler = handler
        self.bot_id = bot_id

    def dispatch(self, payload: str) -> None:
        envelope = json.loads(payload)
        resource, data = envelope["resource"], envelope["data"]
        if resource == "messages":
            message = self.webex.message(data["id"])
            if message.person_id != self.bot_id:
                self.handler.handle_message(message)
        elif resource == "attachmentActions":
            action = self.webex.action(data["id"])
            if action.person_id != self.bot_id:
                self.handler.handle_action(action)
