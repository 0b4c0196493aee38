"""The intercept service: the conversation, the form, approval, and the timers' entry points.

Every change of a request's state is one compare-and-set in the store: a click, a timer and a
retry racing each other cannot both act. Card actions are authorised from the bot's own records
(`CardRecord`: which request, which room, whose card), never from the card's data. What happens
with Webex after approval (apply, revert, ending early) is `bot.domain.lifecycle`.

In a group space the bot answers a mention, but what concerns one person (their form, status,
settings) goes to them in a direct message.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import form, greeting
from bot.domain.announce import EXTENSION, FORM_CANCELLED, NO_APPROVER_REACHED, SHORTENED, Announcer, span
from bot.domain.commands import Kind, parse_command
from bot.domain.lifecycle import (
    CANCELLED_NOTE,
    EXTENSION_ORPHANED,
    EXTENSIONS_DROPPED,
    Ended,
    Lifecycle,
    PersonLocks,
)
from bot.domain.model import OPEN_STATES, InterceptSettings, Person, Request, Status
from bot.domain.notify import Notifier
from bot.domain.ports import (
    CardAction,
    CardRecord,
    ChatMessage,
    Clock,
    Scheduler,
    SentMessage,
    Store,
    Webex,
    WebexError,
)
from bot.domain.text import escape_markdown
from bot.domain.timeparse import describe, parse_extension, parse_window
from cards import approval as approval_cards
from cards import form as form_cards
from cards import status as status_cards

log = logging.getLogger(__name__)

INTENT = "intent"
NO_APPROVER = ("There is nobody but you to approve this, so I cannot send it. Ask an administrator to add "
               "approvers.")
CARD_RECORD_WAIT = 10.0  # seconds a click on an unknown card waits for cards being recorded
PENDING_SHOWN = 10  # approval cards `pending` sends at most


@dataclass(frozen=True)
class Policy:
    approvers: frozenset[str]  # lower-case emails; empty: the organisation's administrators decide
    approval_room_id: str | None
    default_zone: str
    max_days: int
    approval_ttl: timedelta = timedelta(hours=24)
    reminder: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class Where:
    """Where to answer someone: the room they wrote in, or (from a group space) a direct message."""

    room_id: str | None = None
    to_person_id: str | None = None


P = ParamSpec("P")
R = TypeVar("R")


_depth = threading.local()


def announcing(method: Callable[Concatenate[InterceptService, P], R]) -> Callable[Concatenate[InterceptService, P], R]:
    """An entry point (a webhook event, a timer): whatever it changed is announced when it ends
    (once, by the outermost entry point when they call each other)."""
    @functools.wraps(method)
    def wrapper(self: InterceptService, /, *args: P.args, **kwargs: P.kwargs) -> R:
        _depth.n = getattr(_depth, "n", 0) + 1
        try:
            return method(self, *args, **kwargs)
        finally:
            _depth.n -= 1
            if _depth.n == 0:
                self.announcer.flush()
    return wrapper


class InterceptService:
    def __init__(self, *, webex: Webex, store: Store, scheduler: Scheduler, clock: Clock, policy: Policy,
                 bot: Person) -> None:
        self.webex = webex
        self.store = store
        self.scheduler = scheduler
        self.clock = clock
        self.policy = policy
        self.bot = bot
        self.notify = Notifier(webex, approvers=policy.approvers, approval_room_id=policy.approval_room_id)
        self.locks = PersonLocks()
        self.lifecycle = Lifecycle(webex=webex, store=store, scheduler=scheduler, clock=clock, locks=self.locks,
                                   reminder=policy.reminder)
        self.announcer = Announcer(store=store, notify=self.notify, clock=clock)
        self._cards_sending = 0
        self._cards_cond = threading.Condition()

    # ------------------------------------------------------------------ timers' entry points

    @announcing
    def apply(self, request_id: str) -> None:
        self.lifecycle.apply(request_id)

    @announcing
    def revert(self, request_id: str) -> bool:
        reverted = self.lifecycle.revert(request_id)
        self._close_orphaned_extensions()
        return reverted

    @announcing
    def remind(self, request_id: str) -> None:
        """Before the end: tell the requester, with End now and Extend buttons."""
        request = self.store.get(request_id)
        if request is None:
            return
        with self.locks(request.person_id):  # the timer and the sweep may both come
            request = self.store.get(request_id)
            if request is None or request.status is not Status.ACTIVE or request.end_at is None:
                return
            if self.store.cards_for(request.id, "reminder"):
                return  # reminded once already
            now = self.clock.now()
            if request.end_at <= now:
                return
            until = describe(request.end_at.astimezone(ZoneInfo(request.zone)), now)
            self._post_card(request, "reminder", status_cards.reminder_card(request, now=now),
                            f"Your intercept ends {until}. Extend it or end it now on the card.",
                            Where(room_id=request.room_id), recipient=request.person_id)

    @announcing
    def sweep(self) -> None:
        """Reconcile (every minute and at start-up): due reverts and applies, approvers not reached
        yet, requests nobody decided on."""
        self.lifecycle.sweep()
        self._close_orphaned_extensions()
        self._withdraw_stale_cards()
        now = self.clock.now()
        for request in self.store.with_status([Status.ACTIVE]):  # reminders a timer missed (down, clock moved)
            if request.end_at is None or self.policy.reminder <= timedelta(0):
                continue
            remind_at = request.end_at - self.policy.reminder
            # not for an intercept that went on after its reminder time (one shorter than the reminder)
            if remind_at <= now < request.end_at and (request.applied_at is None or request.applied_at < remind_at):
                try:
                    self.remind(request.id)
                except WebexError as error:
                    log.warning("could not remind %s: %s", request.id, error)
        for person_id in {r.person_id for r in self.store.with_status([Status.AWAITING_APPROVAL, Status.APPROVED])}:
            with self.locks(person_id):
                self._cancel_superseded(person_id)
        for request in self.store.with_status([Status.AWAITING_APPROVAL]):
            if not self._expire_if_stale(request, now):
                self.send_approval_cards(request)
        for request in self.store.with_status([Status.FORM_SENT]):
            self._expire_if_stale(request, now)
        # a greeting (up to 5 MB) is kept only until its request is applied, or will never be
        self.store.drop_greetings([*OPEN_STATES, Status.APPLYING])

    def _withdraw_stale_cards(self) -> None:
        """Buttons of a request that has moved on stop working: its cards are withdrawn here too,
        in case the process died between the change and the withdrawal."""
        expected = {"form": Status.FORM_SENT, "approval": Status.AWAITING_APPROVAL, "reminder": Status.ACTIVE}
        seen: dict[str, Request | None] = {}
        closed: set[str] = set()  # requests whose approval cards were all closed already
        for card in self.store.live_cards(expected):
            if card.request_id not in seen:
                seen[card.request_id] = self.store.get(card.request_id)
            request = seen[card.request_id]
            if request is None or request.status is expected[card.kind]:
                continue
            if card.kind != "approval":
                self._withdraw(card)
            elif request.id not in closed:
                closed.add(request.id)
                self._close_approval_cards(request.id)

    def recover(self) -> None:
        self.lifecycle.recover()
        self.sweep()

    # ------------------------------------------------------------------ conversation

    @announcing
    def handle_message(self, message: ChatMessage) -> None:
        if message.person_id == self.bot.id:
            return
        if message.person_email:
            self.store.remember_person(message.person_email, message.person_id)
        command = parse_command(message.text, (self.bot.display_name, self.bot.display_name.split(" ")[0]))
        here = Where(room_id=message.room_id)
        private = here if message.room_type == "direct" else Where(to_person_id=message.person_id)
        if command.kind is Kind.HELP:
            person = self.webex.person(message.person_id)
            approver = self._is_approver(person)
            self._send(here, status_cards.help_markdown(approver=approver),
                       card=status_cards.help_card(approver=approver))
            return
        if command.kind is Kind.UNKNOWN and message.files:
            with self.locks(message.person_id):
                self._attach_greeting(message, private)
            return
        if command.kind is Kind.UNKNOWN:
            self._send(here, "I did not catch that. Say `help` to see what I can do, or for example "
                             "`intercept me until Friday`.")
            return
        with self.locks(message.person_id):  # one of a person's messages at a time
            if command.kind is Kind.INTERCEPT:
                self._start_request(message, command.rest, private)
            elif command.kind is Kind.STATUS:
                self._send_status(message.person_id, private)
            elif command.kind is Kind.CANCEL:
                said = self._cancel_all(message.person_id)
                if said:
                    self._send(private, said)
            elif command.kind in (Kind.EXTEND, Kind.END_AT):
                said = self._extend_command(message.person_id, command.rest, relative=command.kind is Kind.EXTEND)
                if said:
                    self._send(private, said)
            elif command.kind in (Kind.PENDING, Kind.ACTIVE):
                self._approver_command(message, command.kind, private)
        if private != here:
            what = "the request form" if command.kind is Kind.INTERCEPT else "my answer"
            self._acknowledge(message, f"I have sent you {what} in a direct message.")

    def _acknowledge(self, message: ChatMessage, markdown: str) -> None:
        """A short pointer in a group space, in the thread of the mention when Webex allows it."""
        for parent in (message.id, None):
            try:
                self._send(Where(room_id=message.room_id), markdown, parent_id=parent)
                return
            except WebexError as error:
                if error.transient or parent is None:
                    log.warning("could not acknowledge in the space: %s", error)
                    return

    def _start_request(self, message: ChatMessage, phrase: str, where: Where) -> None:
        person = self.webex.person(message.person_id)
        zone = self._zone(person.timezone)
        now = self.clock.now()
        current = self._current_settings(person.id, where)
        if current is None:
            return
        greeting = self._greeting_from(message, current, where) if message.files else None
        window = parse_window(phrase, now, zone)
        values = {**form.settings_values(current.with_enabled(True)),
                  **form.window_values(window.start, window.end, zone), form.REASON: ""}
        if greeting is not None:
            values[form.GREETING] = "CUSTOM"
        note = window.problem or ("" if window.end else "Choose when the intercept should end.")
        if window.end is not None and window.end - now > timedelta(days=self.policy.max_days):
            note = f"That end is more than {self.policy.max_days} days away: choose an earlier one."
        for old in self.store.for_person(person.id, [Status.FORM_SENT]):
            if self.store.move(old.id, Status.FORM_SENT, Status.CANCELLED, now=now,
                               note="replaced by a newer form"):
                self._retire_cards(old.id, "form")
        request = Request(
            id=uuid.uuid4().hex, person_id=person.id, person_email=person.email,
            person_name=person.display_name, zone=zone.key, room_id=where.room_id or "",
            status=Status.FORM_SENT, created_at=now, updated_at=now, draft=values, draft_note=note,
            greeting_file=greeting[0] if greeting else "")
        with self._card_in_flight():
            self.store.add_request(request)
            if greeting is not None:
                self.store.save_greeting(request.id, *greeting)
            sent = self._send_form(request, values, {}, note, current, where)
            if sent.room_id != request.room_id:  # the conversation goes on in the room the form went to
                self.store.change(request.id, Status.FORM_SENT, now=now, changes={"room_id": sent.room_id})

    def _send_form(self, request: Request, values: Mapping[str, str], errors: Mapping[str, str], note: str,
                   current: InterceptSettings, where: Where) -> SentMessage:
        card = form_cards.request_form(
            person_name=request.person_name, values=values, errors=errors, zone=request.zone,
            note=note, max_days=self.policy.max_days, custom_greeting=request.greeting_file or current.file_name,
            now=self.clock.now())
        markdown = ("Here is your intercept request form. Check the options, choose the end time, "
                    "and press **Send for approval**.")
        if errors:
            markdown = "Some answers need another look: " + "; ".join(
                f"{escape_markdown(form_cards.LABELS.get(k, 'form'))}: {escape_markdown(v)}"
                for k, v in errors.items())
        return self._post_card(request, "form", card, markdown, where, recipient=request.person_id)

    def _greeting_from(self, message: ChatMessage, current: InterceptSettings,
                       where: Where) -> tuple[str, bytes] | None:
        """The .wav attached to a message, checked; None (and the person told why) if it will not do."""
        try:
            name, data = self.webex.download(message.files[0], greeting.MAX_BYTES)
        except WebexError as error:
            if error.transient:
                raise
            self._send(where, f"I could not fetch the file you sent ({escape_markdown(error.message)}).")
            return None
        wav, problem = greeting.read_wav(name, data)
        if wav is None:
            self._send(where, escape_markdown(problem) + " I kept the default greeting.")
            return None
        if current.file_name and current.file_name not in self.store.uploaded_greetings(message.person_id):
            # one an administrator set: the bot's own earlier upload may be replaced, not theirs
            self._send(where, f"You already have a custom intercept greeting on Webex "
                              f"({escape_markdown(current.file_name)}). Uploading another would replace it for "
                              "good, so I keep yours: choose it on the form to use it.")
            return None
        return name, data

    def _attach_greeting(self, message: ChatMessage, where: Where) -> None:
        """A .wav sent while the form is out: it becomes the request's custom greeting."""
        request = next(iter(reversed(self.store.for_person(message.person_id, [Status.FORM_SENT]))), None)
        if request is None:
            self._send(where, "I can use a .wav file as your intercept greeting: say `intercept me until ...` "
                              "with the file attached, or send it while you have my request form.")
            return
        current = self._current_settings(message.person_id, where)
        if current is None:
            return
        taken = self._greeting_from(message, current, where)
        if taken is None:
            return
        values = {**request.draft, form.GREETING: "CUSTOM"}
        with self._card_in_flight():
            self.store.save_greeting(request.id, *taken)
            changed = self.store.change(request.id, Status.FORM_SENT, now=self.clock.now(),
                                        changes={"greeting_file": taken[0], "draft": values})
            if changed is None:
                return
            self._retire_cards(request.id, "form")
            self._send_form(changed, values, {}, f"Callers will hear {taken[0]} when you choose it.", current,
                            Where(room_id=changed.room_id))

    def _send_status(self, person_id: str, where: Where) -> None:
        person = self.webex.person(person_id)
        requests = self.store.for_person(person_id, [*OPEN_STATES, Status.APPLYING, Status.ACTIVE,
                                                     Status.REVERTING])
        zone = requests[-1].zone if requests else self._zone(person.timezone).key
        try:
            current: InterceptSettings | None = self.webex.get_intercept(person_id)
            problem = ""
        except WebexError as error:
            if error.transient:
                raise
            current, problem = None, error.message
        card = status_cards.status_card(person_name=person.display_name, current=current, requests=requests,
                                        zone=zone, now=self.clock.now(), problem=problem)
        markdown = self._status_text(current, requests, problem)
        with self._card_in_flight():
            sent = self._send(where, markdown, card=card)
            # the request its button acts on: the intercept that is on, else the newest waiting one
            shown = next((r for r in requests if r.status is Status.ACTIVE),
                         next((r for r in reversed(requests) if r.status in OPEN_STATES),
                              requests[-1] if requests else None))
            self.store.add_card(CardRecord(sent.id, shown.id if shown else "", "status", sent.room_id,
                                           person_id, True))

    def _status_text(self, current: InterceptSettings | None, requests: list[Request], problem: str) -> str:
        if current is None:
            lines = [f"I could not read your settings from Webex ({escape_markdown(problem)})."]
        else:
            lines = [f"Webex Calling shows your intercept as **{'on' if current.enabled else 'off'}**."]
        for request in requests:
            lines.append(f"- **{request.status.label}**" + (f": {span(request)}" if request.end_at else ""))
        if not requests:
            lines.append("You have no intercept requests with me.")
        return "\n".join(lines)

    # ------------------------------------------------------------------ cards and clicks

    @contextmanager
    def _card_in_flight(self) -> Iterator[None]:
        """Marks a card being sent and recorded. Webex may deliver a click on a card before the
        bot has written down that the card is its own: `handle_action` waits for these."""
        with self._cards_cond:
            self._cards_sending += 1
        try:
            yield
        finally:
            with self._cards_cond:
                self._cards_sending -= 1
                self._cards_cond.notify_all()

    def _post_card(self, request: Request, kind: str, card: Mapping[str, Any], markdown: str, where: Where,
                   *, recipient: str) -> SentMessage:
        with self._card_in_flight():
            sent = self._send(where, markdown, card=card)
            self.store.add_card(CardRecord(sent.id, request.id, kind, sent.room_id, recipient, True))
        return sent

    @announcing
    def handle_action(self, action: CardAction) -> None:
        record = self.store.card(action.message_id)
        if record is None:  # perhaps a card still being recorded: wait for the sends in flight
            with self._cards_cond:
                self._cards_cond.wait_for(lambda: self._cards_sending == 0, timeout=CARD_RECORD_WAIT)
            record = self.store.card(action.message_id)
        if record is None or record.room_id != action.room_id:
            log.warning("card action %s on a message that is not one of the bot's cards", action.id)
            self.notify.reply(action, "This card is not one I can act on any more.")
            return
        intent = str(action.inputs.get(INTENT, ""))
        if record.kind == "status":
            with self.locks(record.recipient):
                self._status_action(action, record, intent)
            return
        request = self.store.get(record.request_id)
        if request is None:
            return
        # Work on one person's requests runs one at a time (a double click, two approvers at once,
        # a click and a timer): read again once the lock is held.
        with self.locks(request.person_id):
            request, record = self.store.get(request.id) or request, self.store.card(record.message_id) or record
            if record.kind == "form":
                self._form_action(action, record, request, intent)
            elif record.kind == "approval":
                self._approval_action(action, request, intent)
            elif record.kind == "reminder":
                self._reminder_action(action, record, request, intent)

    def _form_action(self, action: CardAction, record: CardRecord, request: Request, intent: str) -> None:
        if action.person_id != request.person_id:
            self.notify.reply(action, f"This form belongs to {escape_markdown(request.person_name)}: only they "
                                      "can send it. Ask me for your own with `intercept me until ...`.")
            return
        if not record.live or request.status is not Status.FORM_SENT:
            self.notify.reply(action, f"This form is no longer in use: your request is {request.status.label}. "
                                      "Say `status` to see where things stand.")
            return
        now = self.clock.now()
        if intent == "cancel":
            if self.store.move(request.id, Status.FORM_SENT, Status.CANCELLED, now=now,
                               actor_id=action.person_id, note=FORM_CANCELLED):
                self._retire_cards(request.id, "form")
            return
        if intent != "submit":
            self.notify.reply(action, "I did not understand that button.")
            return
        current = self._current_settings(request.person_id, Where(room_id=request.room_id))
        if current is None:
            return
        if request.greeting_file:  # the greeting the requester sent counts as one Webex has
            current = replace(current, file_name=request.greeting_file)
        submission = form.read_submission(action.inputs, now=now, zone=ZoneInfo(request.zone),
                                          max_days=self.policy.max_days, current=current)
        if submission.valid is None:
            if self.store.change(request.id, Status.FORM_SENT, now=now,
                                 changes={"draft": submission.values, "draft_note": ""}) is None:
                return
            self._retire_cards(request.id, "form")
            self._send_form(request, submission.values, submission.errors, "", current,
                            Where(room_id=request.room_id))
            return
        valid = submission.valid
        if not self._recipients(request):
            self.notify.reply(action, NO_APPROVER)
            return
        moved = self.store.move(
            request.id, Status.FORM_SENT, Status.AWAITING_APPROVAL, now=now, actor_id=action.person_id,
            note="form submitted", changes={"requested": valid.settings, "start_at": valid.start_at,
                                            "end_at": valid.end_at, "reason": valid.reason,
                                            "draft": submission.values, "draft_note": ""})
        if moved is not None:
            self._retire_cards(request.id, "form")
            self._ask_approvers(moved)

    def _ask_approvers(self, request: Request) -> None:
        """A request now waiting for approval replaces the person's older open ones; approvers are asked."""
        self._cancel_superseded(request.person_id, keep=request.id)
        self.send_approval_cards(request)

    def _cancel_superseded(self, person_id: str, keep: str | None = None) -> None:
        """Of a person's open requests (waiting for approval, or approved and not started) only one
        stands: `keep`, else the newest; and, apart from them, one extension of the intercept that is
        on (an extension does not withdraw a request for later, nor the other way round). Also run by
        the sweep: a crash may have come between a submission and this."""
        open_ = self.store.for_person(person_id, [Status.AWAITING_APPROVAL, Status.APPROVED])
        for group in ([r for r in open_ if r.extends_id], [r for r in open_ if not r.extends_id]):
            newest = max(group, key=lambda r: r.created_at, default=None)
            standing = keep if keep in {r.id for r in group} else (newest.id if newest else None)
            for older in group:
                if older.id != standing:
                    self._drop(older, "replaced by a newer request from the requester")

    def _drop(self, request: Request, note: str, status: Status = Status.CANCELLED) -> bool:
        """An open request (form out, waiting for approval, or approved and not started) that no
        longer stands: its timers and cards go with it. True for the one call that moved it."""
        if not self.store.move(request.id, OPEN_STATES, status, now=self.clock.now(), actor_id=request.person_id,
                               note=note):
            return False
        self.scheduler.unschedule(request.id)
        self._retire_cards(request.id, "form")
        self._close_approval_cards(request.id)
        return True

    def _close_orphaned_extensions(self, person_id: str | None = None) -> None:
        """Extensions whose intercept ended (its end came, it was cancelled or replaced) before an
        approver decided: withdrawn, the approvers' cards closed, the requester told. With
        `person_id`, that person's only: a caller holding their lock must not wait for anyone
        else's (two such callers would wait for each other); the sweep handles everyone."""
        waiting = [Status.AWAITING_APPROVAL, Status.APPROVED]
        for request in (self.store.with_status(waiting) if person_id is None
                        else self.store.for_person(person_id, waiting)):
            if request.extends_id:
                with self.locks(request.person_id):
                    latest = self.store.get(request.id)
                    if latest is not None and self.lifecycle.orphaned(latest):
                        self._drop(latest, EXTENSION_ORPHANED, Status.EXPIRED)

    def _recipients(self, request: Request) -> list[str]:
        recipients = [e for e in sorted(self.policy.approvers) if e != request.person_email.lower()]
        if self.policy.approval_room_id:
            recipients.append(f"room:{self.policy.approval_room_id}")
        return recipients

    def send_approval_cards(self, request: Request) -> None:
        """Ask every approver (and the approval space) once. Recipients already asked are skipped,
        so the sweep runs this again until Webex has taken every card; one Webex refuses for good
        (say, an unknown address) is recorded as undeliverable and not tried again."""
        with self.locks(request.person_id):
            asked = {card.recipient for card in self.store.cards_for(request.id, "approval")}
            for recipient in self._recipients(request):
                latest = self.store.get(request.id)
                if latest is None or latest.status is not Status.AWAITING_APPROVAL:
                    break
                if recipient not in asked:
                    self._send_approval_card(latest, recipient)
            latest = self.store.get(request.id)
            if latest is not None and latest.status is not Status.AWAITING_APPROVAL:
                self._close_approval_cards(request.id)  # decided while the cards went out
            cards = self.store.cards_for(request.id, "approval")
            if latest is not None and latest.status is Status.AWAITING_APPROVAL and cards \
                    and {c.recipient for c in cards} >= set(self._recipients(latest)) \
                    and all(c.message_id.startswith("undeliverable:") for c in cards):
                # Webex refused every card for good: nobody can decide, so do not leave it waiting
                log.error("no approver could be asked about request %s: Webex refused every approval card; "
                          "check INTERCEPT_APPROVERS and INTERCEPT_APPROVAL_ROOM_ID", request.id)
                self.store.move(request.id, Status.AWAITING_APPROVAL, Status.EXPIRED, now=self.clock.now(),
                                note=NO_APPROVER_REACHED)

    def _send_approval_card(self, request: Request, recipient: str, where: Where | None = None) -> bool:
        """True when Webex took the card (and it is recorded, live)."""
        room_id = recipient.removeprefix("room:") if recipient.startswith("room:") else None
        approver = None if room_id else self._known_person(recipient.split("#")[0])
        extends = self.store.get(request.extends_id) if request.extends_id else None
        card = approval_cards.approval_card(request, viewer_zone=approver.timezone if approver else None,
                                            now=self.clock.now(), extends=extends)
        if where is None:
            where = Where(room_id=room_id, to_person_id=approver.id if approver else None)
        email = None if (where.room_id or where.to_person_id) else recipient
        try:
            with self._card_in_flight():
                sent = self._send(where, approval_cards.approval_markdown(request), card=card, to_person_email=email)
                self.store.add_card(CardRecord(sent.id, request.id, "approval", sent.room_id, recipient, True))
        except WebexError as error:
            log.warning("could not ask %s to approve request %s: %s", recipient, request.id, error)
            if not error.transient:
                self.store.add_card(CardRecord(f"undeliverable:{uuid.uuid4().hex}", request.id, "approval", "",
                                               recipient, False))
            return False
        if email is not None:
            self._learn_member(sent.room_id, email)
        return True

    def _approval_action(self, action: CardAction, request: Request, intent: str) -> None:
        clicker = self.webex.person(action.person_id)
        if clicker.email:
            self.store.remember_person(clicker.email, clicker.id)
        if not self._is_approver(clicker):
            self.notify.reply(action, "Only approvers can decide on intercept requests.")
            return
        if clicker.id == request.person_id:
            self.notify.reply(action, "You cannot decide on your own request: another approver has to.")
            return
        if intent not in ("approve", "reject"):
            self.notify.reply(action, "I did not understand that button.")
            return
        now = self.clock.now()
        comment = str(action.inputs.get("comment", "") or "").strip()[:500]
        if request.status is Status.AWAITING_APPROVAL and self.lifecycle.orphaned(request):
            self._drop(request, EXTENSION_ORPHANED, Status.EXPIRED)
            self.notify.reply(action, "The intercept this would extend is no longer on, so there is nothing "
                                      "to extend: nothing was changed.")
            return
        if intent == "approve" and request.end_at is not None and request.end_at <= now:
            if self.store.move(request.id, Status.AWAITING_APPROVAL, Status.EXPIRED, now=now,
                               note="expired: its end time passed before anyone approved"):
                self._close_approval_cards(request.id)
            self.notify.reply(action, "This request's end time has already passed, so it cannot be approved.")
            return
        target = Status.APPROVED if intent == "approve" else Status.REJECTED
        decided = self.store.move(
            request.id, Status.AWAITING_APPROVAL, target, now=now, actor_id=clicker.id,
            note=comment, changes={"decided_by_id": clicker.id, "decided_by_name": clicker.display_name,
                                   "decided_at": now, "decision_comment": comment})
        if decided is None:
            self.notify.reply(action, already_decided_text(self.store.get(request.id) or request, clicker.id))
            return
        self._close_approval_cards(decided.id)
        if target is Status.REJECTED:
            return
        if decided.start_at is not None and decided.start_at > now:
            self.scheduler.schedule_apply(decided.id, decided.start_at)
            return
        self.lifecycle.apply(decided.id)

    def _status_action(self, action: CardAction, record: CardRecord, intent: str) -> None:
        """A status card's button acts on what the card showed: End now on the intercept that was
        on (or what took it over since, an extension), Cancel my request on the request that was
        waiting. Nothing else: a request for later stays. What changed since is explained."""
        if action.person_id != record.recipient:
            self.notify.reply(action, "Only the person this status is about can use its buttons.")
            return
        if intent not in ("end", "cancel"):
            self.notify.reply(action, "I did not understand that button.")
            return
        shown = self.store.get(record.request_id) if record.request_id else None
        if shown is None:
            self.notify.reply(action, "You have nothing to cancel.")
            return
        if shown.status in OPEN_STATES:  # "Cancel my request" (also "end" on cards older than its intent)
            if self._drop(shown, CANCELLED_NOTE):
                self.notify.reply(action, "Cancelled your pending request.")
            return
        current = self._successor(shown)
        if intent == "end" and current.status in (Status.APPLYING, Status.ACTIVE, Status.REVERTING):
            said = self._end_text(self.lifecycle.end_now(current.id, shown.person_id))
            self._close_orphaned_extensions(shown.person_id)
            if said:
                self.notify.reply(action, said)
        elif current.status in (Status.APPLYING, Status.ACTIVE):
            until = describe(current.end_at.astimezone(ZoneInfo(current.zone)), self.clock.now()) \
                if current.end_at else ""
            self.notify.reply(action, f"That request is on now, until {until}. Say `end now` if you want it to end.")
        else:
            self.notify.reply(action, f"What this card showed is {current.status.label} now: say `status` for a "
                                      "fresh one.")

    def _successor(self, request: Request) -> Request:
        """The request that carries on `request`'s intercept: itself, or what took it over since."""
        while request.status is Status.REPLACED:
            heir = next((r for r in self.store.for_person(request.person_id, [Status.APPLYING, Status.ACTIVE,
                                                                               Status.REVERTING, Status.REPLACED])
                         if r.replaces_id == request.id), None)
            if heir is None:
                break
            request = heir
        return request

    def _reminder_action(self, action: CardAction, record: CardRecord, request: Request, intent: str) -> None:
        if action.person_id != request.person_id:
            self.notify.reply(action, "Only the person this reminder is for can use its buttons.")
            return
        if request.status is not Status.ACTIVE:
            self.notify.reply(action, f"This intercept is {request.status.label} already.")
            return
        if not record.live:
            self.notify.reply(action, "You have used this reminder already: say `status` to see where your "
                                      "intercept stands.")
            return
        if intent == "end":
            said = self._end_text(self.lifecycle.end_now(request.id, action.person_id))
            if said:
                self.notify.reply(action, said)
        elif intent == "extend":
            end, problem = form.read_end(action.inputs, zone=ZoneInfo(request.zone))
            said = problem if end is None else self._extend_to(request, end, shorten=False)
            if said:
                self.notify.reply(action, said)
        else:
            self.notify.reply(action, "I did not understand that button.")
            return
        self._withdraw(record)

    # ------------------------------------------------------------------ cancel, extend, approvers' views

    def _cancel_all(self, person_id: str) -> str:
        """Cancels what is pending and ends what is on; returns what to answer ("" when the
        announcer tells the requester what became of an intercept)."""
        said = []
        acted = False
        for request in self.store.for_person(person_id, OPEN_STATES):
            if self._drop(request, CANCELLED_NOTE):
                said.append("Cancelled your pending request.")
        for request in self.store.for_person(person_id, [Status.APPLYING, Status.ACTIVE, Status.REVERTING]):
            ended = self.lifecycle.end_now(request.id, person_id)
            acted = acted or ended is not Ended.NOTHING
            said.append(self._end_text(ended))
        said = [s for s in said if s]
        if not said and not acted:
            return "You have nothing to cancel."
        return " ".join(said)

    @staticmethod
    def _end_text(ended: Ended) -> str:
        """What to answer besides the news the announcer tells (an ended intercept: nothing more)."""
        return {
            Ended.ENDED: "",
            Ended.CANCELLED: "Cancelled your request before anything was changed.",
            Ended.TRYING: "Ending your intercept: Webex has not taken it yet, and I keep trying. "
                          "I will tell you when your settings are back.",
            Ended.NOTHING: "",
        }[ended]

    def _extend_command(self, person_id: str, phrase: str, *, relative: bool) -> str:
        """`extend ...` (`relative`: a bare duration adds to the current end) or `end it at ...`
        (a new end read from now): a later end goes to the approvers, an earlier one is done at once."""
        active = next(iter(self.store.for_person(person_id, [Status.ACTIVE])), None)
        if active is None:
            if self.store.for_person(person_id, OPEN_STATES):
                return ("Your intercept is not on yet, so its end cannot change: send a new "
                        "`intercept me until ...` to change your request, or `cancel` to withdraw it.")
            return "You have no intercept to change. Say `intercept me until ...` to ask for one."
        assert active.end_at is not None
        now, zone = self.clock.now(), ZoneInfo(active.zone)
        if relative:
            window = parse_extension(phrase, active.end_at, now, zone)
        else:  # "end it at 5pm", "end it tomorrow", "end it in 2 hours"
            said = phrase if re.match(r"(?:in|until|till|by)\b", phrase, re.IGNORECASE) else "until " + phrase
            window = parse_window(said, now, zone)
            if window.end is None:  # quote what they wrote, not what was tried
                window = parse_window(phrase, now, zone)
        if window.end is None:
            example = ("`extend until Friday 17:00` or `extend for 2 hours`" if relative
                       else "`end my intercept at 17:00`, or `end now`")
            return (escape_markdown(window.problem) if window.problem else "Tell me the new end.") + \
                f" For example: {example}."
        return self._extend_to(active, window.end, shorten=not relative)

    def _extend_to(self, active: Request, new_end: datetime, *, shorten: bool) -> str:
        """A new end for an intercept that is on. Earlier (when the requester asked to end it
        earlier, not to extend it): done at once. Later: approvers decide; the extension is a
        request of its own that takes the intercept over when approved."""
        now = self.clock.now()
        zone = ZoneInfo(active.zone)
        until = describe(new_end.astimezone(zone), now.astimezone(zone))
        if new_end <= now:
            return f"{until} has already passed."
        if new_end - now > timedelta(days=self.policy.max_days):
            return f"An intercept may last at most {self.policy.max_days} days."
        assert active.end_at is not None
        if new_end == active.end_at:
            return f"Your intercept ends {until} already."
        if new_end < active.end_at and not shorten:
            current = describe(active.end_at.astimezone(zone), now.astimezone(zone))
            return (f"{until} is before the end you have ({current}), so that would not extend it. To end your "
                    "intercept earlier, say for example `end my intercept at 17:00`.")
        if new_end < active.end_at:
            shortened = self.store.move(active.id, Status.ACTIVE, Status.ACTIVE, now=now, actor_id=active.person_id,
                                        note=SHORTENED, changes={"end_at": new_end})
            if shortened is None:
                return "Your intercept changed meanwhile: say `status` to see where it stands."
            self.lifecycle.schedule_timers(shortened)
            for extension in self.store.for_person(active.person_id, [Status.AWAITING_APPROVAL, Status.APPROVED]):
                if extension.extends_id == active.id:  # the latest word on the end is this one
                    self._drop(extension, EXTENSIONS_DROPPED)
            return f"Done: your intercept now ends {until}."
        extension = Request(
            id=uuid.uuid4().hex, person_id=active.person_id, person_email=active.person_email,
            person_name=active.person_name, zone=active.zone, room_id=active.room_id,
            status=Status.AWAITING_APPROVAL, created_at=now, updated_at=now, start_at=None, end_at=new_end,
            requested=active.requested, reason=active.reason, extends_id=active.id)
        if not self._recipients(extension):
            return NO_APPROVER
        self.store.add_request(extension, note=EXTENSION)
        self._ask_approvers(extension)
        return ""  # the announcer says it was sent to the approvers

    def _approver_command(self, message: ChatMessage, kind: Kind, where: Where) -> None:
        person = self.webex.person(message.person_id)
        if not self._is_approver(person):
            self._send(where, f"Only approvers can use `{kind.value}`.")
            return
        zone = self._zone(person.timezone)
        if kind is Kind.PENDING:
            waiting = [r for r in self.store.with_status([Status.AWAITING_APPROVAL]) if r.person_id != person.id]
            if not waiting:
                self._send(where, "Nothing is waiting for a decision.")
                return
            self._send(where, f"{_count(len(waiting), 'request')} waiting for a decision"
                              + (f"; here are the oldest {PENDING_SHOWN}." if len(waiting) > PENDING_SHOWN else "."))
            for request in waiting[:PENDING_SHOWN]:
                older = [card for card in self.store.cards_for(request.id, "approval")
                         if card.live and card.recipient.split("#")[0].lower() == person.email.lower()]
                recipient = f"{person.email}#pending-{uuid.uuid4().hex[:8]}"
                if self._send_approval_card(request, recipient, where):
                    for card in older:  # one live card each, the newest: withdrawn once the new one is there
                        self._withdraw(card)
            return
        active = self.store.with_status([Status.ACTIVE])
        if not active:
            self._send(where, "No intercept is on.")
            return
        lines = [f"- {escape_markdown(r.person_name)}: until {describe(r.end_at.astimezone(zone))}"
                 for r in sorted(active, key=lambda r: r.end_at or r.created_at) if r.end_at]
        self._send(where, f"{_count(len(active), 'intercept')} on:\n" + "\n".join(lines))

    # ------------------------------------------------------------------ helpers

    def _send(self, where: Where, markdown: str, *, card: Mapping[str, Any] | None = None,
              parent_id: str | None = None, to_person_email: str | None = None) -> SentMessage:
        return self.webex.send(markdown=markdown, room_id=where.room_id, to_person_id=where.to_person_id,
                               to_person_email=to_person_email, card=card, parent_id=parent_id)

    def _current_settings(self, person_id: str, where: Where) -> InterceptSettings | None:
        """The person's settings as Webex has them; a permanent refusal is explained to them (a
        transient failure propagates, so the event is tried again later)."""
        try:
            return self.webex.get_intercept(person_id)
        except WebexError as error:
            if error.transient:
                raise
            self._send(where, "I could not read your call intercept settings from Webex Calling, so I cannot "
                              f"intercept your phone. Webex answered: {escape_markdown(error.message)}. "
                              "Is your account licensed for Webex Calling? An administrator can check.")
            return None

    def _is_approver(self, person: Person) -> bool:
        """A configured approver; with none configured (an approval space only), an administrator
        of the organisation who may change calling settings anyway."""
        if person.type != "person":
            return False
        if self.policy.approvers:
            return person.email.lower() in self.policy.approvers
        return self.webex.is_org_admin(person.id)

    def _known_person(self, email: str) -> Person | None:
        """The person behind an email the bot has seen before (for their id and time zone)."""
        person_id = self.store.known_person_id(email)
        if person_id is None:
            return None
        try:
            return self.webex.person(person_id)
        except WebexError as error:
            log.warning("could not read a known person: %s", error)
            return None

    def _learn_member(self, room_id: str, email: str) -> None:
        try:
            person_id = self.webex.room_member_id(room_id, email)
        except WebexError as error:
            log.warning("could not read the members of a direct room: %s", error)
            return
        if person_id:
            self.store.remember_person(email, person_id)

    def _zone(self, name: str | None) -> ZoneInfo:
        for candidate in (name, self.policy.default_zone):
            if candidate:
                try:
                    return ZoneInfo(candidate)
                except (ZoneInfoNotFoundError, ValueError):
                    log.warning("unknown time zone %r; using the default", candidate)
        return ZoneInfo("UTC")

    def _expire_if_stale(self, request: Request, now: datetime) -> bool:
        too_old = request.updated_at + self.policy.approval_ttl <= now
        ended = request.end_at is not None and request.end_at <= now
        if not (too_old or ended):
            return False
        why = "nobody decided in time" if request.status is Status.AWAITING_APPROVAL else "the form was not sent"
        if ended:
            why = "its end time passed"
        if not self.store.move(request.id, request.status, Status.EXPIRED, now=now, note=f"expired: {why}"):
            return False
        if request.status is Status.AWAITING_APPROVAL:
            self._close_approval_cards(request.id)
        else:
            self._retire_cards(request.id, "form")
        return True

    def _retire_cards(self, request_id: str, kind: str) -> None:
        for card in self.store.cards_for(request_id, kind):
            self._withdraw(card)

    def _withdraw(self, card: CardRecord) -> bool:
        """Take a card's buttons away: the message goes first, then the record, so a crash or a
        Webex failure in between leaves the record live and the sweep tries again. True for the
        one call that retired it."""
        if not card.live or not self.notify.delete(card.message_id):
            return False
        return self.store.retire_card(card.message_id)

    def _close_approval_cards(self, request_id: str) -> None:
        """A card cannot be edited: replace each live approval card by the outcome, without buttons."""
        request = self.store.get(request_id)
        if request is None:
            return
        outcome = self._outcome(request)
        for card in self.store.cards_for(request_id, "approval"):
            if not self._withdraw(card):
                continue
            viewer = None if card.recipient.startswith("room:") else self._known_person(card.recipient.split("#")[0])
            try:
                self.webex.send(room_id=card.room_id, markdown=approval_cards.outcome_markdown(request, outcome),
                                card=approval_cards.outcome_card(request, outcome,
                                                                 viewer_zone=viewer.timezone if viewer else None))
            except WebexError as error:
                log.warning("could not post the outcome of request %s: %s", request_id, error)

    def _outcome(self, request: Request) -> str:
        """What happened to a request that is no longer waiting for approval, in a few words."""
        if request.decided_by_name and request.status not in (Status.CANCELLED, Status.EXPIRED):
            verb = "rejected" if request.status is Status.REJECTED else "approved"
            return f"{verb} by {request.decided_by_name}"
        history = self.store.history(request.id)
        return (history[-1].note if history else "") or request.status.label


def already_decided_text(request: Request, clicker_id: str | None = None) -> str:
    if request.decided_by_name and request.status is not Status.AWAITING_APPROVAL:
        verb = "rejected" if request.status is Status.REJECTED else "approved"
        # the decider's own click seen again (a double click, or redelivered after a restart)
        by = "you" if clicker_id and clicker_id == request.decided_by_id else escape_markdown(request.decided_by_name)
        return f"Already {verb} by {by}; the request is now {request.status.label}."
    return f"This request is {request.status.label}: there is nothing to decide."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
