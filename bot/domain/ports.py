"""What the domain needs from the outside world, as protocols.

The domain imports neither Flask, requests, SQLAlchemy nor APScheduler: `bot.webex`, `bot.store`
and `bot.scheduler` implement these, and tests can hand in their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.domain.model import InterceptSettings, Person, Request, Status


class WebexError(Exception):
    """A Webex call that did not succeed (after the client's own retries).

    `transient` is true when trying again later may help (429, 423, 5xx, timeouts); false for a
    permanent answer (400, 401, 403, 404, ...) that needs a person to act. The text never holds a
    token.
    """

    def __init__(self, status: int | None, message: str, *, tracking_id: str | None = None,
                 transient: bool = False, operation: str = "") -> None:
        self.status = status
        self.message = message
        self.tracking_id = tracking_id
        self.transient = transient
        self.operation = operation
        where = f"{operation}: " if operation else ""
        code = f"HTTP {status}: " if status else ""
        tracking = f" (tracking id {tracking_id})" if tracking_id else ""
        super().__init__(f"{where}{code}{message}{tracking}")


@dataclass(frozen=True)
class ChatMessage:
    id: str
    room_id: str
    room_type: str  # "direct" or "group"
    person_id: str
    person_email: str
    text: str
    mentioned_people: tuple[str, ...] = ()
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class CardAction:
    id: str
    message_id: str
    person_id: str
    room_id: str
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SentMessage:
    id: str
    room_id: str


class Webex(Protocol):
    def me(self) -> Person: ...
    def person(self, person_id: str) -> Person: ...
    def room_member_id(self, room_id: str, email: str) -> str | None: ...
    def is_org_admin(self, person_id: str) -> bool: ...
    def message(self, message_id: str) -> ChatMessage: ...
    def action(self, action_id: str) -> CardAction: ...
    def send(self, *, markdown: str, room_id: str | None = None, to_person_id: str | None = None,
             to_person_email: str | None = None, card: Mapping[str, Any] | None = None,
             parent_id: str | None = None) -> SentMessage: ...
    def delete_message(self, message_id: str) -> None: ...
    def get_intercept(self, person_id: str) -> InterceptSettings: ...
    def put_intercept(self, person_id: str, settings: InterceptSettings) -> str | None: ...
    def upload_greeting(self, person_id: str, file_name: str, data: bytes) -> str | None: ...
    def download(self, url: str, max_bytes: int) -> tuple[str, bytes]: ...


@dataclass(frozen=True)
class CardRecord:
    """A card message the bot sent: the only source of truth for what a click on it may do."""

    message_id: str
    request_id: str
    kind: str  # "form" or "approval"
    room_id: str
    recipient: str  # approver email, "room:<id>", or the requester's person id for forms
    live: bool


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log: a status change (event "status") or a change in Webex."""

    id: int
    at: datetime
    request_id: str
    event: str
    source: Status | None
    target: Status | None
    actor_id: str | None
    note: str
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    source: Status | None
    target: Status
    actor_id: str | None
    note: str


@dataclass(frozen=True)
class Move:
    """One compare-and-set status change: `request_id` from one of `source` to `target`."""

    request_id: str
    source: Status | Iterable[Status]
    target: Status
    note: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)


class Store(Protocol):
    def add_request(self, request: Request, *, note: str = "requested") -> None: ...
    def get(self, request_id: str) -> Request | None: ...
    def move(self, request_id: str, source: Status | Iterable[Status], target: Status, *,
             now: datetime, actor_id: str | None = None, note: str = "",
             changes: Mapping[str, Any] | None = None) -> Request | None: ...
    def move_together(self, moves: Sequence[Move], *, now: datetime,
                      actor_id: str | None = None) -> list[Request] | None: ...
    def change(self, request_id: str, expected: Status, *, now: datetime,
               changes: Mapping[str, Any]) -> Request | None: ...
    def for_person(self, person_id: str, statuses: Iterable[Status]) -> list[Request]: ...
    def with_status(self, statuses: Iterable[Status]) -> list[Request]: ...
    def history(self, request_id: str) -> list[HistoryEntry]: ...
    def add_card(self, record: CardRecord) -> None: ...
    def card(self, message_id: str) -> CardRecord | None: ...
    def cards_for(self, request_id: str, kind: str) -> list[CardRecord]: ...
    def retire_card(self, message_id: str) -> bool: ...
    def remember_person(self, email: str, person_id: str) -> None: ...
    def known_person_id(self, email: str) -> str | None: ...
    def save_greeting(self, request_id: str, file_name: str, data: bytes) -> None: ...
    def audit_after(self, after_id: int, limit: int) -> list[AuditEntry]: ...
    def get_setting(self, key: str) -> str | None: ...
    def set_setting(self, key: str, value: str) -> None: ...
    def live_cards(self, kinds: Iterable[str]) -> list[CardRecord]: ...
    def audit(self, request: Request, event: str, *, now: datetime, note: str = "",
              detail: Mapping[str, Any] | None = None, tracking_id: str | None = None,
              actor_id: str | None = None) -> None: ...
    def greeting(self, request_id: str) -> tuple[str, bytes] | None: ...
    def drop_greetings(self, keep: Iterable[Status]) -> int: ...
    def uploaded_greetings(self, person_id: str) -> set[str]: ...
    def greeting_uploaded_for(self, request_id: str) -> bool: ...


class Scheduler(Protocol):
    def schedule_apply(self, request_id: str, at: datetime) -> None: ...
    def schedule_revert(self, request_id: str, at: datetime) -> None: ...
    def schedule_reminder(self, request_id: str, at: datetime) -> None: ...
    def unschedule(self, request_id: str) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
