"""What the domain needs from the outside world besides its stores (`bot.domain.stores`), as
protocols: Webex, cards, timers and the clock.

The domain imports no adapter (Flask, requests, SQLAlchemy, APScheduler, webexpythonsdk):
`bot.adapters.webex` implements `Webex`, `cards` implements `Presenter`, `bot.adapters.timers`
implements `Timers`, `bot.adapters.clock` the clock; tests can hand in their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain.model import InterceptSettings, Person, Request


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
class Card:
    """A card as a message: the text (what clients without cards show) and the Adaptive Card."""

    markdown: str
    content: Mapping[str, Any]


@dataclass(frozen=True)
class HelpLine:
    example: str  # what to say
    meaning: str  # what it does


class Presenter(Protocol):
    """Cards are functions of domain state; `cards.CardPresenter` draws them."""

    def form(self, request: Request, *, values: Mapping[str, str], errors: Mapping[str, str], note: str,
             max_days: int, custom_greeting: str, now: datetime) -> Card: ...
    def approval(self, request: Request, *, viewer_zone: str | None, now: datetime,
                 extends: Request | None = None) -> Card: ...
    def outcome(self, request: Request, outcome: str, *, viewer_zone: str | None) -> Card: ...
    def status(self, *, person_name: str, current: InterceptSettings | None, requests: Sequence[Request],
               zone: str, now: datetime, problem: str) -> Card: ...
    def reminder(self, request: Request, *, now: datetime) -> Card: ...
    def help(self, lines: Sequence[HelpLine]) -> Card: ...


class Timers(Protocol):
    """In-memory timers built from the request rows (the rows are the schedule)."""

    @property
    def horizon(self) -> timedelta:
        """How far ahead timers are held; what falls due later is found by a later sweep."""

    def follow(self, request: Request) -> None:
        """The row's due times are as it says now: hold timers for what falls due within the horizon."""


class Locks(Protocol):
    """One lock per person, held while one person's requests and intercept are worked on: in this
    process (`bot.domain.locks.PersonLocks`), or across processes (`bot.adapters.locks`).
    Re-entrant; a holder of one person's lock never waits for another person's."""

    def __call__(self, person_id: str) -> AbstractContextManager[Any]: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
