"""In-process stand-ins for Webex, the scheduler and the clock: for unit tests of the domain only
(the end-to-end tests use the real server against the emulator)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.model import InterceptSettings, Person, Status
from bot.domain.ports import CardAction, CardRecord, ChatMessage, SentMessage, WebexError
from bot.domain.service import InterceptService, Policy
from bot.store import SqlStore, make_engine

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


class FakeScheduler:
    def __init__(self) -> None:
        self.jobs: dict[str, datetime] = {}
        self.fail_unschedule = 0

    def schedule_apply(self, request_id: str, at: datetime) -> None:
        self.jobs[f"apply:{request_id}"] = at

    def schedule_revert(self, request_id: str, at: datetime) -> None:
        self.jobs[f"revert:{request_id}"] = at

    def schedule_reminder(self, request_id: str, at: datetime) -> None:
        self.jobs[f"remind:{request_id}"] = at

    def unschedule(self, request_id: str) -> None:
        if self.fail_unschedule:
            self.fail_unschedule -= 1
            raise RuntimeError("the process died here")
        for kind in ("apply", "revert", "remind"):
            self.jobs.pop(f"{kind}:{request_id}", None)


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wed 10:00 in Berlin

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class World:
    def __init__(self, tmp_path: Path, *, approvers: frozenset[str] = frozenset({"bob@example.com"}),
                 room: str | None = None) -> None:
        self.store = SqlStore(make_engine(f"sqlite:///{tmp_path}/unit.db"))
        self.store.create_schema()
        self.webex = FakeWebex()
        self.scheduler = FakeScheduler()
        self.clock = FakeClock()
        self.service = InterceptService(
            webex=self.webex, store=self.store, scheduler=self.scheduler, clock=self.clock,
            policy=Policy(approvers=approvers, approval_room_id=room, default_zone="UTC", max_days=30), bot=BOT)
        self._ids = itertools.count(1)

    def say(self, person: Person, text: str, room: str = "", file: tuple[str, bytes] | None = None) -> None:
        files: tuple[str, ...] = ()
        if file is not None:
            url = f"https://webexapis.com/v1/contents/{next(self._ids)}"
            self.webex.files[url] = file
            files = (url,)
        self.service.handle_message(ChatMessage(f"msg{next(self._ids)}", room or f"dm-{person.id}", "direct",
                                                person.id, person.email, text, files=files))

    def live_card(self, kind: str, status: Status | None = None, person: str = "alice") -> CardRecord:
        requests = self.store.for_person(person, [status] if status else list(Status))
        cards = [c for r in requests for c in self.store.cards_for(r.id, kind) if c.live]
        assert cards, f"no live {kind} card"
        return cards[-1]

    def click(self, person: Person, card: CardRecord, inputs: Mapping[str, str]) -> None:
        self.service.handle_action(CardAction(f"a{next(self._ids)}", card.message_id, person.id, card.room_id,
                                              dict(inputs)))

    def request_and_approve(self, until: str = "2026-12-04", approve: bool = True, **fields: str) -> str:
        self.say(ALICE, "intercept me until Friday")
        form = self.live_card("form", Status.FORM_SENT)
        inputs = {"intent": "submit", "incoming.type": "INTERCEPT_ALL", "incoming.voicemailEnabled": "false",
                  "incoming.announcements.greeting": "DEFAULT", "outgoing.type": "INTERCEPT_ALL",
                  "until.date": until, "until.time": "17:00", **fields}
        self.click(ALICE, form, inputs)
        request_id = self.store.for_person("alice", [Status.AWAITING_APPROVAL])[-1].id
        if approve:
            self.click(BOB, self.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
        return request_id

    def status(self, request_id: str) -> Status:
        request = self.store.get(request_id)
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
