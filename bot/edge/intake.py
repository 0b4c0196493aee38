"""Event intake: a webhook delivery is verified, the bot's own events are dropped (here, and
nowhere else), and the event is recorded once in the inbox; workers (`bot.edge.worker`) take it
from there.

`Receiver.receive` is all the webhook endpoint does: check the signature on the raw bytes, read
the envelope once, drop the bot's own events, store the event once (keyed by resource and
`data.id`, so a redelivery is recognised) and answer. It never calls Webex: a delivery is answered
in milliseconds.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # a real delivery is well under 2 KB
ROUTED = {("messages", "created"), ("attachmentActions", "created")}


class Outcome(enum.StrEnum):
    """What became of a delivery (the metrics count each)."""

    ACCEPTED = "accepted"  # stored for the workers
    DUPLICATE = "duplicate"  # a redelivery of an event already stored
    IGNORED = "ignored"  # authentic, but nothing to do (the bot's own event, an event it does not handle)
    REJECTED = "rejected"  # refused: too large, unsigned, forged, not JSON, not an envelope


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    outcome: Outcome
    reason: str = ""  # why it was rejected or ignored, as a short label


TOO_LARGE = Answer(413, "too large", Outcome.REJECTED, "too_large")


@dataclass(frozen=True)
class Event:
    """An event to handle: what Webex said happened (`messages` or `attachmentActions`) and the id
    of the message or card action, which the worker fetches."""

    resource: str
    id: str


class Inbox(Protocol):
    """Events received and not handled yet; each is kept once, whichever way it came."""

    def add(self, event: Event, payload: bytes | str, now: datetime) -> bool:
        """False when the event was received before (a redelivery)."""

    def claim(self, now: datetime) -> Event | None: ...
    def finish(self, event: Event, *, error: str = "", retry_at: datetime | None = None) -> None: ...
    def attempts(self, event: Event) -> int: ...


def signature(secret: bytes, raw: bytes) -> str:
    return hmac.new(secret, raw, hashlib.sha1).hexdigest()


class Crowding:
    """Whether deliveries are arriving faster than they are answered: one came in while `crowd`
    others were being received, within the last `lasts` seconds (at 200 a second, two overlap now
    and then). The workers then process with one
    thread (`Worker`): every thread of the process shares one interpreter lock, and a webhook
    answered slowly is one Webex disables. The events wait, stored, and are processed at full speed
    once the burst is over."""

    def __init__(self, *, crowd: int = 1, lasts: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.crowd = crowd
        self.lasts = lasts
        self.clock = clock
        self._lock = threading.Lock()
        self._inside = 0
        self._until = 0.0

    @contextmanager
    def receiving(self) -> Iterator[None]:
        with self._lock:
            if self._inside >= self.crowd:
                self._until = self.clock() + self.lasts
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1

    def crowded(self) -> bool:
        return self.clock() < self._until


class Receiver:
    def __init__(self, *, secret: str, inbox: Inbox, bot_id: str, now: Callable[[], datetime],
                 wake: Callable[[], None] = lambda: None, observe: Callable[[Answer], None] = lambda _: None,
                 crowding: Crowding | None = None) -> None:
        """`observe` is told every answer given (the metrics); `crowding` is told when each
        delivery is being received."""
        self._secret = secret.encode()
        self._observe = observe
        self._inbox = inbox
        self._bot_id = bot_id
        self._now = now
        self._wake = wake
        self._crowding = crowding or Crowding()

    def receive(self, raw: bytes, signature_header: str | None, content_type: str | None) -> Answer:
        with self._crowding.receiving():
            answer = self._receive(raw, signature_header, content_type)
        self._observe(answer)
        return answer

    def too_large(self) -> Answer:
        """A delivery the web server refused to read whole (over MAX_BODY)."""
        self._observe(TOO_LARGE)
        return TOO_LARGE

    def _receive(self, raw: bytes, signature_header: str | None, content_type: str | None) -> Answer:
        if len(raw) > MAX_BODY:
            return TOO_LARGE
        if not signature_header:
            return Answer(401, "missing X-Spark-Signature", Outcome.REJECTED, "unsigned")
        expected = signature(self._secret, raw).encode()
        given = signature_header.strip().lower().encode("utf-8", "replace")  # any text: never a 500
        if not hmac.compare_digest(expected, given):
            return Answer(403, "bad signature", Outcome.REJECTED, "signature")
        if (content_type or "").split(";")[0].strip().lower() != "application/json":
            return Answer(415, "expected application/json", Outcome.REJECTED, "media_type")
        envelope = _envelope(raw)
        if envelope is None:
            return Answer(400, "not a webhook envelope", Outcome.REJECTED, "malformed")
        resource, event, data = envelope["resource"], envelope["event"], envelope["data"]
        if (resource, event) not in ROUTED:
            return Answer(202, "ignored: not an event this bot handles", Outcome.IGNORED, "other_event")
        if self._bot_id in (envelope.get("actorId"), data.get("personId")):
            return Answer(200, "ignored: the bot's own event", Outcome.IGNORED, "own_event")
        if not self._inbox.add(Event(resource, data["id"]), raw, self._now()):
            return Answer(200, "duplicate: already received", Outcome.DUPLICATE)
        self._wake()
        return Answer(202, "accepted", Outcome.ACCEPTED)


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
    if "\x00" in data["id"]:  # nor a NUL, on PostgreSQL
        return None
    return envelope
