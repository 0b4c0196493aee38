"""In-process stand-ins for Webex, the timers and the clock, and a `World` that puts the service
together with them and the in-memory stores: for the flow tests of the domain (the store's own
tests run on SQLite and PostgreSQL, and the end-to-end tests use the real server against the
emulator)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.adapters.store.memory import MemoryRequests, memory_stores
from bot.domain import schedule
from bot.domain.model import InterceptSettings, Person, Request, Status
from bot.domain.policy import Policy
from bot.domain.ports import CardAction, ChatMessage, SentMessage, WebexError
from bot.domain.schedule import Work
from bot.domain.service import InterceptService
from bot.domain.stores import CardRecord
from bot.domain.values import CardKind
from cards import CardPresenter

ALICE = Person("alice", "alice@example.com", "Alice Adler", "Europe/Berlin")
BOB = Person("bob", "bob@example.com", "Bob Brandt", None)
BOT = Person("bot", "bot@webex.bot", "Intercept Bot", None, "bot")
ORIGINAL = InterceptSettings(enabled=False, voicemail_enabled=True, zero_transfer_enabled=True,
                             zero_transfer_destination="1234")


class FakeWebex:
    def __init__(self) -> None:
        self.people = {p.id: p for p in (ALICE, BOB, BOT)}
        self.settings: dict[str, InterceptSettings] = {"alice": ORIGINAL}
        self.sent: list[dict[str, Any]] = []
        self.puts: list[InterceptSettings] = []
        self.deleted: list[str] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # url -> a file people attached
        self.uploads: list[str] = []  # greetings uploaded
        # fault plan: operation name -> list of errors to raise, one per call, in order (None = succeed)
        self.faults: dict[str, list[WebexError | None]] = {}
        self.on_send: Callable[[], None] | None = None  # runs inside each send (another process acting)
        self._ids = itertools.count(1)

    def _maybe_fail(self, operation: str) -> None:
        plan = self.faults.get(operation)
        if plan:
            error = plan.pop(0)
            if error is not None:
                raise error

    def me(self) -> Person:
        return BOT

    def person(self, person_id: str) -> Person:
        return self.people[person_id]

    def room_member_id(self, room_id: str, email: str) -> str | None:
        return next((p.id for p in self.people.values() if p.email == email), None)

    def is_org_admin(self, person_id: str) -> bool:
        return False

    def message(self, message_id: str) -> ChatMessage:
        raise NotImplementedError

    def action(self, action_id: str) -> CardAction:
        raise NotImplementedError

    def send(self, *, markdown: str, room_id: str | None = None, to_person_id: str | None = None,
             to_person_email: str | None = None, card: Mapping[str, Any] | None = None,
             parent_id: str | None = None) -> SentMessage:
        self._maybe_fail("send")
        assert markdown, "Webex refuses an empty message"
        if self.on_send is not None:
            self.on_send()
        if to_person_email and to_person_email.endswith(".invalid"):
            raise permanent(404, "send")  # Webex knows nobody by that address
        message_id = f"m{next(self._ids)}"
        room = room_id or f"dm-{to_person_id or to_person_email}"
        self.sent.append({"id": message_id, "room": room, "markdown": markdown, "card": card})
        return SentMessage(message_id, room)

    def delete_message(self, message_id: str) -> None:
        self.deleted.append(message_id)

    def get_intercept(self, person_id: str) -> InterceptSettings:
        self._maybe_fail("get")
        return self.settings[person_id]

    def put_intercept(self, person_id: str, settings: InterceptSettings) -> str | None:
        self._maybe_fail("put")
        self.puts.append(settings)
        # a PUT carries no file name: Webex keeps the greeting file it has
        self.settings[person_id] = dataclasses.replace(settings, file_name=self.settings[person_id].file_name)
        return f"TRACKING_{len(self.puts)}"

    def upload_greeting(self, person_id: str, file_name: str, data: bytes) -> str | None:
        self.uploads.append(file_name)
        self.settings[person_id] = dataclasses.replace(self.settings[person_id], file_name=file_name)
        return "TRACKING_UPLOAD"

    def download(self, url: str, max_bytes: int) -> tuple[str, bytes]:
        return self.files[url]

    def said(self, fragment: str) -> list[str]:
        return [m["markdown"] for m in self.sent if fragment in m["markdown"]]


class FakeTimers:
    """Holds every timer the rows call for (no horizon), as "<work>:<request id>" -> when; and can
    make the process die right after a chosen row was written (`die_when`)."""

    horizon = timedelta(days=3650)

    def __init__(self, clock: FakeClock, policy: Callable[[], Policy]) -> None:
        self.clock = clock
        self.policy = policy
        self.jobs: dict[str, datetime] = {}
        self._die: tuple[Callable[[Request], bool], BaseException] | None = None

    def die_when(self, written: Callable[[Request], bool], error: BaseException) -> None:
        """Once, raise `error` right after a row for which `written` is true was stored."""
        self._die = (written, error)

    def follow(self, request: Request) -> None:
        if self._die is not None and self._die[0](request):
            error, self._die = self._die[1], None
            raise error
        now = self.clock.now()
        for work in Work:
            self.jobs.pop(f"{work.value}:{request.id}", None)
        for work, at in schedule.due(request, self.policy(), now).items():
            if at > now:
                self.jobs[f"{work.value}:{request.id}"] = at


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wed 10:00 in Berlin

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class World:
    def __init__(self, tmp_path: Path | None = None, *, approvers: frozenset[str] = frozenset({"bob@example.com"}),
                 room: str | None = None) -> None:
        self.stores = memory_stores()
        self.webex = FakeWebex()
        self.clock = FakeClock()
        self.policy = Policy(approvers=approvers, approval_room_id=room, default_zone="UTC", max_days=30)
        self.timers = FakeTimers(self.clock, lambda: self.service.policy)
        self.service = self._service()
        self._ids = itertools.count(1)

    def _service(self) -> InterceptService:
        return InterceptService(webex=self.webex, stores=self.stores, presenter=CardPresenter(), clock=self.clock,
                                policy=self.policy, bot=BOT, timers=self.timers)

    @property
    def requests(self) -> Any:
        return self.stores.requests

    @property
    def cards(self) -> Any:
        return self.stores.cards

    def restart(self) -> InterceptService:
        """A new process: the same rows, nothing in memory (no timers), then its start-up."""
        self.policy = self.service.policy
        self.stores = dataclasses.replace(self.stores, requests=MemoryRequests(self.requests.memory))
        self.timers.jobs.clear()
        self.service = self._service()
        self.service.recover()
        return self.service

    def say(self, person: Person, text: str, room: str = "", file: tuple[str, bytes] | None = None) -> None:
        files: tuple[str, ...] = ()
        if file is not None:
            url = f"https://webexapis.com/v1/contents/{next(self._ids)}"
            self.webex.files[url] = file
            files = (url,)
        self.service.handle_message(ChatMessage(f"msg{next(self._ids)}", room or f"dm-{person.id}", "direct",
                                                person.id, person.email, text, files=files))

    def live_card(self, kind: str, status: Status | None = None, person: str = "alice") -> CardRecord:
        requests = self.requests.for_person(person, [status] if status else list(Status))
        cards = [c for r in requests for c in self.cards.for_request(r.id, CardKind(kind)) if c.live]
        assert cards, f"no live {kind} card"
        return cards[-1]

    def click(self, person: Person, card: CardRecord, inputs: Mapping[str, str]) -> None:
        assert card.message_id is not None
        self.service.handle_action(CardAction(f"a{next(self._ids)}", card.message_id, person.id, card.room_id,
                                              dict(inputs)))

    def request_and_approve(self, until: str = "2026-12-04", approve: bool = True, **fields: str) -> str:
        self.say(ALICE, "intercept me until Friday")
        form = self.live_card("form", Status.FORM_SENT)
        inputs = {"intent": "submit", "incoming.type": "INTERCEPT_ALL", "incoming.voicemailEnabled": "false",
                  "incoming.announcements.greeting": "DEFAULT", "outgoing.type": "INTERCEPT_ALL",
                  "until.date": until, "until.time": "17:00", **fields}
        self.click(ALICE, form, inputs)
        request_id = self.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1].id
        if approve:
            self.click(BOB, self.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
        return request_id

    def status(self, request_id: str) -> Status:
        request = self.requests.get(request_id)
        assert request is not None
        return request.status

    def run_until_quiet(self, sweeps: int = 20, step: Callable[[], None] | None = None) -> None:
        """Sweep repeatedly, moving the clock past every retry backoff."""
        for _ in range(sweeps):
            self.clock.advance(minutes=11)
            if step:
                step()
            self.service.sweep()


def transient(operation: str = "") -> WebexError:
    return WebexError(503, "Service Unavailable", transient=True, operation=operation)


def permanent(status: int = 403, operation: str = "") -> WebexError:
    return WebexError(status, "Forbidden", transient=False, operation=operation)
