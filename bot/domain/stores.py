"""What the domain keeps, split by what it is: requests and their history, the cards the bot sent,
people it knows, greetings waiting to be uploaded, the audit log, and a few settings. Each is a
small protocol: `bot.adapters.store` implements them on SQLAlchemy (SQLite, PostgreSQL) and in
memory (the flow tests), and one set of contract tests holds all of them to the same rules.

Every status change is one compare-and-set: whoever changes the row wins, everyone else gets None
and must not act. A move and its audit row are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from bot.domain.model import Request, Status
from bot.domain.values import AuditEvent, CardKind, Reason, Recipient

TimeField = Literal["start_at", "end_at", "retry_at", "updated_at"]


@dataclass(frozen=True)
class Move:
    """One compare-and-set status change: `request_id` from one of `source` to `target`, for
    `reason`; `note` is the text people read (default: the reason's)."""

    request_id: str
    source: Status | Iterable[Status]
    target: Status
    reason: Reason
    note: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Happened:
    """Something the bot did, or failed to do, in Webex: an audit row of its own."""

    event: AuditEvent
    note: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    tracking_id: str | None = None


@dataclass(frozen=True)
class Window:
    """Requests in `statuses` whose `field` is at or before `until` (or unset, with `unset`)."""

    statuses: frozenset[Status]
    field: TimeField
    until: datetime
    unset: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    source: Status | None
    target: Status
    actor_id: str | None
    reason: Reason | None
    note: str


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log: a status change (with its reason) or a change in Webex."""

    id: int
    at: datetime
    request_id: str
    event: AuditEvent
    source: Status | None
    target: Status | None
    actor_id: str | None
    reason: Reason | None
    note: str
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class Untold:
    """An audit row not told yet, claimed by one flush: with its request as it is now, and how far
    an earlier flush got (messages sent, failed tries of the next one)."""

    entry: AuditEntry
    request: Request | None
    sent: int = 0
    tries: int = 0


@dataclass(frozen=True)
class CardRecord:
    """A card message the bot sent: the only source of truth for what a click on it may do.
    `message_id` is None for a card Webex refused for good (the recipient counts as asked)."""

    message_id: str | None
    request_id: str  # "" for a status card that showed no request
    kind: CardKind
    room_id: str
    recipient: Recipient
    live: bool


Listener = Callable[[Request], None]


class RequestStore(Protocol):
    def watch(self, listener: Listener) -> None:
        """Call `listener` with the row after every committed write of a request."""

    def add(self, request: Request, *, reason: Reason = Reason.REQUESTED) -> None: ...
    def get(self, request_id: str) -> Request | None: ...
    def move(self, request_id: str, source: Status | Iterable[Status], target: Status, *, now: datetime,
             reason: Reason, actor_id: str | None = None, note: str = "",
             changes: Mapping[str, Any] | None = None, happened: Happened | None = None) -> Request | None:
        """One compare-and-set move (and, in the same transaction, what happened in Webex)."""

    def move_together(self, moves: Sequence[Move], *, now: datetime,
                      actor_id: str | None = None) -> list[Request] | None:
        """Several moves in one transaction: all happen, or none (None)."""

    def change(self, request_id: str, expected: Status, *, now: datetime,
               changes: Mapping[str, Any]) -> Request | None: ...
    def for_person(self, person_id: str, statuses: Iterable[Status]) -> list[Request]:
        """Oldest first."""

    def with_status(self, statuses: Iterable[Status]) -> list[Request]:
        """Oldest first."""

    def timed(self, windows: Iterable[Window]) -> list[Request]:
        """The requests in any of the windows (each once), by an index on the time, not a scan."""

    def history(self, request_id: str) -> list[HistoryEntry]:
        """Its status changes, oldest first."""


class CardStore(Protocol):
    def add(self, record: CardRecord) -> None: ...
    def get(self, message_id: str) -> CardRecord | None: ...
    def for_request(self, request_id: str, kind: CardKind) -> list[CardRecord]: ...
    def live(self, kinds: Iterable[CardKind]) -> list[CardRecord]: ...
    def withdrawn(self, message_id: str) -> bool:
        """Mark a card's buttons gone; True for the one call that did."""


class PeopleStore(Protocol):
    """Approvers are configured by email; Webex addresses people by id."""

    def remember(self, email: str, person_id: str) -> None: ...
    def known(self, email: str) -> str | None: ...


class GreetingStore(Protocol):
    """A custom greeting sent with a request, kept until the request is applied (or never will be)."""

    def save(self, request_id: str, file_name: str, data: bytes) -> None: ...
    def get(self, request_id: str) -> tuple[str, bytes] | None: ...
    def held(self) -> list[str]:
        """The requests that have a greeting kept."""

    def drop(self, request_id: str) -> None: ...


class AuditLog(Protocol):
    """Append-only. Status changes are written by `RequestStore.move`; this is for the rest."""

    def record(self, request: Request, happened: Happened, *, now: datetime, actor_id: str | None = None) -> None: ...
    def after(self, after_id: int, limit: int) -> list[tuple[AuditEntry, Request | None]]:
        """Rows after `after_id`, oldest first, each with its request as it is now (reading the log)."""

    def untold(self, now: datetime, *, hold: timedelta, limit: int) -> list[Untold]:
        """Claim, for `hold`, the rows not told yet of up to `limit` requests whose oldest untold row
        no other flush holds; oldest first. Every row is told, however late it commits (nothing is
        read by a cursor), and a request's rows only ever by one flush at a time, in order."""

    def told(self, row_ids: Sequence[int]) -> None:
        """These rows' messages are sent (or given up): they are not untold any more."""

    def progress(self, row_id: int, sent: int) -> None:
        """Of a row with several messages, this many are sent (its claim holds)."""

    def tell_later(self, progress: Mapping[int, tuple[int, int]]) -> None:
        """These rows were not (all) told: for each, messages sent and failed tries of the next;
        their claim ends."""

    def greetings_uploaded(self, person_id: str) -> set[str]:
        """Names of the greetings the bot has uploaded for the person."""

    def greeting_uploaded(self, request_id: str) -> bool:
        """Whether the request's own greeting was uploaded already (an apply tried again)."""


class SettingsStore(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...


@dataclass(frozen=True)
class Stores:
    """Everything the domain keeps."""

    requests: RequestStore
    cards: CardStore
    people: PeopleStore
    greetings: GreetingStore
    audit: AuditLog
    settings: SettingsStore
