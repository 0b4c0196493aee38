"""The intercept service: conversation, approval, apply and revert.

Every change of a request's state is one compare-and-set in the store (`Store.move`): a click, a
timer and a retry racing each other cannot both act. Work on one person's intercept (apply,
revert) also runs under that person's lock, so a revert and a replacing apply never interleave.
Card actions are authorised from the bot's own records (`CardRecord`), never from the card's data.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import form
from bot.domain.commands import Kind, parse_command
from bot.domain.model import OPEN_STATES, InterceptSettings, Person, Request, Status
from bot.domain.ports import (
    CardAction,
    CardRecord,
    ChatMessage,
    Clock,
    Scheduler,
    Store,
    Webex,
    WebexError,
)
from bot.domain.text import escape_markdown, quote_block
from bot.domain.timeparse import describe, parse_window
from cards import approval as approval_cards
from cards import form as form_cards

log = logging.getLogger(__name__)

INTENT = "intent"
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=10)
ALERT_AFTER_ATTEMPTS = 3
CARD_RECORD_WAIT = 10.0  # seconds a click on an unknown card waits for cards being recorded


@dataclass(frozen=True)
class Policy:
    approvers: frozenset[str]  # lower-case emails
    approval_room_id: str | None
    default_zone: str
    max_days: int
    approval_ttl: timedelta = timedelta(hours=24)


class InterceptService:
    def __init__(self, *, webex: Webex, store: Store, scheduler: Scheduler, clock: Clock, policy: Policy,
                 bot: Person) -> None:
        self.webex = webex
        self.store = store
        self.scheduler = scheduler
        self.clock = clock
        self.policy = policy
        self.bot = bot
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._cards_sending = 0
        self._cards_cond = threading.Condition()

    # ------------------------------------------------------------------ conversation

    def handle_message(self, message: ChatMessage) -> None:
        if message.person_id == self.bot.id:
            return
        if message.person_email:
            self.store.remember_person(message.person_email, message.person_id)
        names = (self.bot.display_name, self.bot.display_name.split(" ")[0])
        command = parse_command(message.text, names)
        room = message.room_id
        if command.kind is Kind.HELP or command.kind is Kind.UNKNOWN:
            self.webex.send(room_id=room, markdown=help_text(unknown=command.kind is Kind.UNKNOWN))
        elif command.kind is Kind.STATUS:
            self.webex.send(room_id=room, markdown=self._status_text(message.person_id))
        elif command.kind is Kind.CANCEL:
            self.webex.send(room_id=room, markdown=self._cancel_all(message.person_id))
        else:
            self._start_request(message, command.rest)

    def _start_request(self, message: ChatMessage, phrase: str) -> None:
        person = self.webex.person(message.person_id)
        zone = self._zone(person.timezone)
        now = self.clock.now()
        current = self._current_settings(person.id, message.room_id)
        if current is None:
            return
        window = parse_window(phrase, now, zone)
        values = {**form.settings_values(current.with_enabled(True)),
                  **form.window_values(window.start, window.end, zone), form.REASON: ""}
        note = window.problem or ("" if window.end else "Choose when the intercept should end.")
        for old in self.store.for_person(person.id, [Status.FORM_SENT]):
            if self.store.move(old.id, Status.FORM_SENT, Status.CANCELLED, now=now,
                               note="replaced by a newer form"):
                self._retire_cards(old.id, "form")
        to_person = message.room_type != "direct"
        request = Request(
            id=uuid.uuid4().hex, person_id=person.id, person_email=person.email,
            person_name=person.display_name, zone=zone.key, room_id="" if to_person else message.room_id,
            status=Status.FORM_SENT, created_at=now, updated_at=now, draft=values, draft_note=note)
        with self._card_in_flight():
            self.store.add_request(request)
            sent = self._send_form(request, values, {}, note, current, to_person=to_person)
            if to_person:  # the conversation goes on in the direct room the form went to
                self.store.change(request.id, Status.FORM_SENT, now=now, changes={"room_id": sent.room_id})
        if to_person:
            self.webex.send(room_id=message.room_id, parent_id=message.id, markdown=(
                f"{escape_markdown(person.display_name)}, I have sent you the request form in a direct message."))

    def _send_form(self, request: Request, values: Mapping[str, str], errors: Mapping[str, str], note: str,
                   current: InterceptSettings, *, to_person: bool = False) -> Any:
        card = form_cards.request_form(
            person_name=request.person_name, values=values, errors=errors, zone=request.zone,
            note=note, max_days=self.policy.max_days, has_custom_greeting=bool(current.file_name),
            now=self.clock.now())
        markdown = ("Here is your intercept request form. Check the options, choose the end time, "
                    "and press **Send for approval**.")
        if errors:
            markdown = "Some answers need another look: " + "; ".join(
                f"{escape_markdown(form_cards.LABELS.get(k, 'form'))}: {escape_markdown(v)}"
                for k, v in errors.items())
        with self._card_in_flight():
            if to_person:
                sent = self.webex.send(markdown=markdown, card=card, to_person_id=request.person_id)
            else:
                sent = self.webex.send(markdown=markdown, card=card, room_id=request.room_id)
            self.store.add_card(CardRecord(sent.id, request.id, "form", sent.room_id, request.person_id, True))
        return sent

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

    def handle_action(self, action: CardAction) -> None:
        record = self.store.card(action.message_id)
        if record is None:  # perhaps a card still being recorded: wait for the sends in flight
            with self._cards_cond:
                self._cards_cond.wait_for(lambda: self._cards_sending == 0, timeout=CARD_RECORD_WAIT)
            record = self.store.card(action.message_id)
        if record is None or record.room_id != action.room_id:
            log.warning("card action %s on a message that is not one of the bot's cards", action.id)
            self._reply(action, "This card is not one I can act on any more.")
            return
        request = self.store.get(record.request_id)
        if request is None:
            return
        intent = str(action.inputs.get(INTENT, ""))
        if record.kind == "form":
            self._form_action(action, record, request, intent)
        elif record.kind == "approval":
            self._approval_action(action, record, request, intent)

    def _form_action(self, action: CardAction, record: CardRecord, request: Request, intent: str) -> None:
        if action.person_id != request.person_id:
            self._reply(action, f"This form belongs to {escape_markdown(request.person_name)}: "
                                "only they can send it. Ask me for your own with `intercept me until ...`.")
            return
        if not record.live or request.status is not Status.FORM_SENT:
            self._reply(action, f"This form is no longer in use: your request is {request.status.label}. "
                                "Say `status` to see where things stand.")
            return
        now = self.clock.now()
        if intent == "cancel":
            if self.store.move(request.id, Status.FORM_SENT, Status.CANCELLED, now=now,
                               actor_id=action.person_id, note="cancelled from the form"):
                self._retire_cards(request.id, "form")
                self.webex.send(room_id=request.room_id, markdown="Cancelled: nothing was changed.")
            return
        if intent != "submit":
            self._reply(action, "I did not understand that button.")
            return
        current = self._current_settings(request.person_id, request.room_id)
        if current is None:
            return
        zone = ZoneInfo(request.zone)
        submission = form.read_submission(action.inputs, now=now, zone=zone, max_days=self.policy.max_days,
                                          current=current)
        if submission.valid is None:
            if self.store.change(request.id, Status.FORM_SENT, now=now,
                                 changes={"draft": submission.values, "draft_note": ""}) is None:
                return
            self._retire_cards(request.id, "form")
            self._send_form(request, submission.values, submission.errors, "", current)
            return
        valid = submission.valid
        moved = self.store.move(
            request.id, Status.FORM_SENT, Status.AWAITING_APPROVAL, now=now, actor_id=action.person_id,
            note="form submitted", changes={"requested": valid.settings, "start_at": valid.start_at,
                                            "end_at": valid.end_at, "reason": valid.reason,
                                            "draft": submission.values, "draft_note": ""})
        if moved is None:
            return
        self._retire_cards(request.id, "form")
        for older in self.store.for_person(request.person_id, [Status.AWAITING_APPROVAL, Status.APPROVED]):
            if older.id != request.id and self.store.move(
                    older.id, [Status.AWAITING_APPROVAL, Status.APPROVED], Status.CANCELLED, now=now,
                    actor_id=request.person_id, note="replaced by a newer request from the requester"):
                self.scheduler.unschedule(older.id)
                self._close_approval_cards(older.id)
        self._notify(moved, (
            f"Sent for approval: intercept {self._span(moved, ZoneInfo(moved.zone))}. "
            "I will tell you when an approver has decided."))
        self.send_approval_cards(moved)

    def send_approval_cards(self, request: Request) -> None:
        """Ask every approver (and the approval space) once; recipients already asked are skipped,
        so this is safe to run again after a crash."""
        asked = {card.recipient for card in self.store.cards_for(request.id, "approval")}
        recipients = [e for e in sorted(self.policy.approvers) if e != request.person_email.lower()]
        if self.policy.approval_room_id:
            recipients.append(f"room:{self.policy.approval_room_id}")
        for recipient in recipients:
            if recipient in asked:
                continue
            current = self.store.get(request.id)
            if current is None or current.status is not Status.AWAITING_APPROVAL:
                break
            room_id = recipient.removeprefix("room:") if recipient.startswith("room:") else None
            approver = None if room_id else self._known_person(recipient)
            card = approval_cards.approval_card(request, viewer_zone=approver.timezone if approver else None,
                                                now=self.clock.now())
            with self._card_in_flight():
                try:
                    sent = self.webex.send(markdown=approval_cards.approval_markdown(request), card=card,
                                           room_id=room_id, to_person_id=approver.id if approver else None,
                                           to_person_email=recipient if not (room_id or approver) else None)
                except WebexError as error:
                    log.warning("could not ask %s to approve request %s: %s", recipient, request.id, error)
                    continue
                self.store.add_card(CardRecord(sent.id, request.id, "approval", sent.room_id, recipient, True))
            if approver is None and room_id is None:
                self._learn_member(sent.room_id, recipient)
        # decided, cancelled or replaced while the cards went out: withdraw any that are still live
        current = self.store.get(request.id)
        if current is not None and current.status is not Status.AWAITING_APPROVAL:
            self._close_approval_cards(request.id)

    def _approval_action(self, action: CardAction, record: CardRecord, request: Request, intent: str) -> None:
        clicker = self.webex.person(action.person_id)
        if clicker.email:
            self.store.remember_person(clicker.email, clicker.id)
        if not self._is_approver(clicker):
            self._reply(action, "Only the configured approvers can decide on intercept requests.")
            return
        if clicker.id == request.person_id:
            self._reply(action, "You cannot decide on your own request: another approver has to.")
            return
        if intent not in ("approve", "reject"):
            self._reply(action, "I did not understand that button.")
            return
        now = self.clock.now()
        comment = str(action.inputs.get("comment", "") or "").strip()[:500]
        if intent == "approve" and request.end_at is not None and request.end_at <= now:
            if self.store.move(request.id, Status.AWAITING_APPROVAL, Status.EXPIRED, now=now,
                               note="expired: its end time passed before anyone approved"):
                self._close_approval_cards(request.id)
                self._notify(request, "Your intercept request expired: its end time passed before approval.")
            self._reply(action, "This request's end time has already passed, so it cannot be approved.")
            return
        target = Status.APPROVED if intent == "approve" else Status.REJECTED
        decided = self.store.move(
            request.id, Status.AWAITING_APPROVAL, target, now=now, actor_id=clicker.id,
            note=comment, changes={"decided_by_id": clicker.id, "decided_by_name": clicker.display_name,
                                   "decided_at": now, "decision_comment": comment})
        if decided is None:
            latest = self.store.get(request.id) or request
            self._reply(action, already_decided_text(latest))
            return
        self._close_approval_cards(decided.id)
        if target is Status.REJECTED:
            because = f" Comment: {quote_block(comment)}" if comment else ""
            self._notify(decided, f"Your intercept request was rejected by "
                                  f"{escape_markdown(clicker.display_name)}.{because}")
            return
        if decided.start_at is not None and decided.start_at > now:
            self.scheduler.schedule_apply(decided.id, decided.start_at)
            self._notify(decided, f"Approved by {escape_markdown(clicker.display_name)}. Your intercept "
                                  f"starts {describe(decided.start_at.astimezone(ZoneInfo(decided.zone)))}.")
            return
        self.apply(decided.id)

    # ------------------------------------------------------------------ apply and revert

    def apply(self, request_id: str) -> None:
        """Put the requested settings on (at approval, or at the start time). Safe to call again."""
        request = self.store.get(request_id)
        if request is None:
            return
        with self._person_lock(request.person_id):
            self._apply_locked(request_id)

    def _apply_locked(self, request_id: str) -> None:
        now = self.clock.now()
        request = self.store.get(request_id)
        if request is None or request.status not in (Status.APPROVED, Status.APPLYING):
            return
        if request.status is Status.APPROVED:
            if request.start_at is not None and request.start_at > now:
                return  # not yet: the start job comes back
            if request.end_at is not None and request.end_at <= now:
                if self.store.move(request.id, Status.APPROVED, Status.EXPIRED, now=now,
                                   note="its end time passed before it could start"):
                    self._notify(request, "Your intercept request ended before it could start.")
                return
            request = self.store.move(request.id, Status.APPROVED, Status.APPLYING, now=now, note="applying")
            if request is None:
                return
        if request.snapshot is None:
            request = self._take_snapshot(request, now)
            if request is None:
                return
        requested, end_at = request.requested, request.end_at
        assert requested is not None and end_at is not None
        try:
            self.webex.put_intercept(request.person_id, requested)
            after = self.webex.get_intercept(request.person_id)
            missing = requested.differences(after)
            if missing:
                raise WebexError(None, "the settings did not take: Webex still shows other values for "
                                       + ", ".join(missing), transient=True, operation="verify intercept")
        except WebexError as error:
            self._apply_failed(request, error, now)
            return
        active = self.store.move(request.id, Status.APPLYING, Status.ACTIVE, now=now, note="intercept on",
                                 changes={"applied_at": now, "attempts": 0, "retry_at": None, "error": ""})
        if active is None:
            return
        self.scheduler.schedule_revert(active.id, end_at)
        until = describe(end_at.astimezone(ZoneInfo(active.zone)))
        self._notify(active, (
            f"Your phone is now intercepted until {until}. "
            "I will put your previous settings back then. Say `cancel` to end it early."))
        self._tell_approvers(f"Intercept for {escape_markdown(active.person_name)} is on until {until}.")

    def _take_snapshot(self, request: Request, now: datetime) -> Request | None:
        """Store what to put back, before anything is changed. The snapshot is what the person had
        before the bot first touched them: when one of the bot's intercepts is already on, this
        request takes over that intercept and its snapshot (and its revert)."""
        if self.store.for_person(request.person_id, [Status.REVERTING]):
            return None  # a revert is still unfinished: the sweep finishes it first, then retries this
        predecessor = next(iter(self.store.for_person(request.person_id, [Status.ACTIVE])), None)
        if predecessor is not None and predecessor.snapshot is not None:
            if not self.store.move(predecessor.id, Status.ACTIVE, Status.REPLACED, now=now,
                                   note=f"replaced by {request.id}"):
                return None  # it is being reverted right now; the sweep tries this one again
            self.scheduler.unschedule(predecessor.id)
            snapshot, replaces = predecessor.snapshot, predecessor.id
        else:
            try:
                snapshot, replaces = self.webex.get_intercept(request.person_id), None
            except WebexError as error:
                self._apply_failed(request, error, now)
                return None
        return self.store.change(request.id, Status.APPLYING, now=now,
                                 changes={"snapshot": snapshot, "replaces_id": replaces})

    def _apply_failed(self, request: Request, error: WebexError, now: datetime) -> None:
        attempts = request.attempts + 1
        log.warning("applying request %s failed (attempt %d): %s", request.id, attempts, error)
        if error.transient and attempts < 2 * ALERT_AFTER_ATTEMPTS:
            retry_at = now + _backoff(attempts)
            self.store.change(request.id, Status.APPLYING, now=now,
                              changes={"attempts": attempts, "retry_at": retry_at, "error": str(error)})
            self.scheduler.schedule_apply(request.id, retry_at)
            if attempts == 1:
                self._notify(request, "Webex did not take your intercept on the first try; I am retrying.")
            return
        failed = self.store.move(request.id, Status.APPLYING, Status.FAILED, now=now, note=str(error),
                                 changes={"attempts": attempts, "error": str(error)})
        if failed is None:
            return
        self.scheduler.unschedule(request.id)
        restored = ""
        predecessor_id = failed.replaces_id
        if predecessor_id and self.store.move(predecessor_id, Status.REPLACED, Status.ACTIVE, now=now,
                                              note=f"handed back: {failed.id} failed"):
            kept = self.store.get(predecessor_id)
            if kept and kept.end_at:
                self.scheduler.schedule_revert(kept.id, kept.end_at)
            restored = " Your earlier intercept stays as it was."
        elif failed.snapshot is not None and error.status is None:
            try:  # the PUT went through but did not take as asked: put the person back as they were
                self.webex.put_intercept(failed.person_id, failed.snapshot)
                restored = " Your previous settings were put back."
            except WebexError as restore_error:
                log.error("could not restore request %s after a failed apply: %s", failed.id, restore_error)
        text = (f"Your intercept could not be applied: {escape_markdown(error.message)}.{restored} "
                "An approver has been told.")
        self._notify(failed, text)
        self._tell_approvers(f"Applying the intercept for {escape_markdown(failed.person_name)} failed: "
                             f"{escape_markdown(str(error))}.")

    def revert(self, request_id: str, *, actor_id: str | None = None, note: str = "end time reached") -> bool:
        """Put the snapshot back. Returns True when this call ended the intercept."""
        request = self.store.get(request_id)
        if request is None:
            return False
        with self._person_lock(request.person_id):
            return self._revert_locked(request_id, actor_id, note)

    def _revert_locked(self, request_id: str, actor_id: str | None, note: str) -> bool:
        now = self.clock.now()
        request = self.store.get(request_id)
        if request is None or request.status not in (Status.ACTIVE, Status.REVERTING):
            return False
        if request.status is Status.ACTIVE:
            request = self.store.move(request.id, Status.ACTIVE, Status.REVERTING, now=now,
                                      actor_id=actor_id, note=note)
            if request is None:
                return False
        assert request.snapshot is not None
        try:
            before = self.webex.get_intercept(request.person_id)
            self.webex.put_intercept(request.person_id, request.snapshot)
            after = self.webex.get_intercept(request.person_id)
            missing = request.snapshot.differences(after)
            if missing:
                raise WebexError(None, "the previous settings did not take: Webex still shows other values for "
                                 + ", ".join(missing), transient=True, operation="verify revert")
        except WebexError as error:
            attempts = request.attempts + 1
            retry_at = now + _backoff(attempts)
            log.warning("reverting request %s failed (attempt %d): %s", request.id, attempts, error)
            self.store.change(request.id, Status.REVERTING, now=now,
                              changes={"attempts": attempts, "retry_at": retry_at, "error": str(error)})
            self.scheduler.schedule_revert(request.id, retry_at)
            if attempts == ALERT_AFTER_ATTEMPTS:
                self._tell_approvers(
                    f"Putting back the settings of {escape_markdown(request.person_name)} has failed "
                    f"{attempts} times ({escape_markdown(str(error))}). I keep trying; please check.")
            return False
        done = self.store.move(request.id, Status.REVERTING, Status.REVERTED, now=now, actor_id=actor_id,
                               note="previous settings restored",
                               changes={"reverted_at": now, "attempts": 0, "retry_at": None, "error": ""})
        if done is None:
            return False
        self.scheduler.unschedule(done.id)
        self._notify(done, "Your intercept has ended and your previous call settings are back.")
        if done.requested is not None and before.differences(done.requested):
            changed = ", ".join(done.requested.differences(before))
            self._tell_approvers(
                f"While {escape_markdown(done.person_name)} was intercepted, someone else changed their "
                f"intercept settings ({escape_markdown(changed)}). The revert put back the settings from "
                "before the intercept, overwriting those changes.")
        return True

    # ------------------------------------------------------------------ timers and recovery

    def sweep(self) -> None:
        """Reconcile: whatever is due and not done gets done (runs every minute and at start-up)."""
        now = self.clock.now()
        for request in self.store.with_status([Status.ACTIVE, Status.REVERTING]):
            if request.status is Status.ACTIVE and request.end_at and request.end_at <= now:
                self.revert(request.id)
            elif request.status is Status.REVERTING and (request.retry_at is None or request.retry_at <= now):
                self.revert(request.id)
        for request in self.store.with_status([Status.APPROVED, Status.APPLYING]):
            if request.status is Status.APPROVED and (request.start_at is None or request.start_at <= now):
                self.apply(request.id)
            elif request.status is Status.APPLYING and (request.retry_at is None or request.retry_at <= now):
                self.apply(request.id)
        for request in self.store.with_status([Status.FORM_SENT, Status.AWAITING_APPROVAL]):
            self._expire_if_stale(request, now)

    def recover(self) -> None:
        """At start-up: make sure every live request has its timer, then sweep."""
        for request in self.store.with_status([Status.APPLYING, Status.REVERTING]):
            # the process that was doing this died: try again now
            self.store.change(request.id, request.status, now=self.clock.now(), changes={"retry_at": None})
        for request in self.store.with_status([Status.ACTIVE]):
            if request.end_at:
                self.scheduler.schedule_revert(request.id, request.end_at)
        for request in self.store.with_status([Status.APPROVED]):
            if request.start_at:
                self.scheduler.schedule_apply(request.id, request.start_at)
        for request in self.store.with_status([Status.AWAITING_APPROVAL]):
            self.send_approval_cards(request)
        self.sweep()

    def _expire_if_stale(self, request: Request, now: datetime) -> None:
        too_old = request.updated_at + self.policy.approval_ttl <= now
        ended = request.end_at is not None and request.end_at <= now
        if not (too_old or ended):
            return
        why = "nobody decided in time" if request.status is Status.AWAITING_APPROVAL else "the form was not sent"
        if ended:
            why = "its end time passed"
        if self.store.move(request.id, request.status, Status.EXPIRED, now=now, note=f"expired: {why}"):
            kind = "approval" if request.status is Status.AWAITING_APPROVAL else "form"
            if kind == "approval":
                self._close_approval_cards(request.id)
            else:
                self._retire_cards(request.id, "form")
            self._notify(request, f"Your intercept request expired: {why}. Ask again any time.")

    # ------------------------------------------------------------------ status and cancel

    def _status_text(self, person_id: str) -> str:
        lines = []
        live = [r for r in self.store.for_person(person_id, [*OPEN_STATES, Status.APPLYING, Status.ACTIVE,
                                                              Status.REVERTING])]
        for request in sorted(live, key=lambda r: r.created_at):
            lines.append(f"- Request from {describe(_aware(request.created_at).astimezone(ZoneInfo(request.zone)))}: "
                         f"**{request.status.label}**" + (f", {self._span(request, ZoneInfo(request.zone))}"
                                                          if request.end_at else ""))
        try:
            current = self.webex.get_intercept(person_id)
            webex_line = f"Webex Calling shows your intercept as **{'on' if current.enabled else 'off'}**."
        except WebexError as error:
            webex_line = f"I could not read your current settings from Webex ({escape_markdown(error.message)})."
        if not lines:
            return webex_line + " You have no intercept requests with me."
        return webex_line + "\n\n" + "\n".join(lines)

    def _cancel_all(self, person_id: str) -> str:
        now = self.clock.now()
        said = []
        for request in self.store.for_person(person_id, OPEN_STATES):
            if self.store.move(request.id, OPEN_STATES, Status.CANCELLED, now=now, actor_id=person_id,
                               note="cancelled by the requester"):
                self.scheduler.unschedule(request.id)
                self._retire_cards(request.id, "form")
                self._close_approval_cards(request.id)
                said.append("Cancelled your pending request.")
        for request in self.store.for_person(person_id, [Status.ACTIVE]):
            if self.revert(request.id, actor_id=person_id, note="ended early by the requester"):
                said.append("Ended your intercept.")
        return " ".join(said) if said else "You have nothing to cancel."

    # ------------------------------------------------------------------ helpers

    def _current_settings(self, person_id: str, room_id: str) -> InterceptSettings | None:
        """The person's settings as Webex has them; a permanent refusal is explained to them (a
        transient failure propagates, so the event is tried again later)."""
        try:
            return self.webex.get_intercept(person_id)
        except WebexError as error:
            if error.transient:
                raise
            self.webex.send(room_id=room_id, markdown=(
                "I could not read your call intercept settings from Webex Calling, so I cannot "
                f"intercept your phone. Webex answered: {escape_markdown(error.message)}. "
                "Is your account licensed for Webex Calling? An administrator can check."))
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

    def _span(self, request: Request, zone: ZoneInfo) -> str:
        start = ("from " + describe(_aware(request.start_at).astimezone(zone))) if request.start_at else \
            "from approval"
        end = describe(_aware(request.end_at).astimezone(zone)) if request.end_at else "(no end)"
        return f"{start} until {end}"

    def _person_lock(self, person_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(person_id, threading.Lock())

    def _retire_cards(self, request_id: str, kind: str) -> None:
        for card in self.store.cards_for(request_id, kind):
            if card.live and self.store.retire_card(card.message_id):
                self._delete(card.message_id)

    def _close_approval_cards(self, request_id: str) -> None:
        """A card cannot be edited: replace each live approval card by the outcome, without buttons."""
        request = self.store.get(request_id)
        if request is None:
            return
        outcome = self._outcome(request)
        for card in self.store.cards_for(request_id, "approval"):
            if not (card.live and self.store.retire_card(card.message_id)):
                continue
            self._delete(card.message_id)
            try:
                self.webex.send(room_id=card.room_id, markdown=approval_cards.outcome_markdown(request, outcome))
            except WebexError as error:
                log.warning("could not post the outcome of request %s: %s", request_id, error)

    def _outcome(self, request: Request) -> str:
        """What happened to a request that is no longer waiting for approval, in a few words."""
        if request.decided_by_name and request.status not in (Status.CANCELLED, Status.EXPIRED):
            verb = "rejected" if request.status is Status.REJECTED else "approved"
            return f"{verb} by {request.decided_by_name}"
        history = self.store.history(request.id)
        return (history[-1].note if history else "") or request.status.label

    def _delete(self, message_id: str) -> None:
        try:
            self.webex.delete_message(message_id)
        except WebexError as error:
            log.warning("could not delete card message: %s", error)

    def _notify(self, request: Request, markdown: str) -> None:
        try:
            self.webex.send(room_id=request.room_id, markdown=markdown)
        except WebexError as error:
            log.warning("could not tell the requester of %s: %s", request.id, error)

    def _tell_approvers(self, markdown: str) -> None:
        room = self.policy.approval_room_id
        for email in [None] if room else sorted(self.policy.approvers):
            try:
                self.webex.send(markdown=markdown, room_id=room, to_person_email=email)
            except WebexError as error:
                log.warning("could not tell approvers: %s", error)

    def _reply(self, action: CardAction, markdown: str) -> None:
        """Answer a click in the card's thread; in the room when the card is gone already."""
        for parent in (action.message_id, None):
            try:
                self.webex.send(room_id=action.room_id, parent_id=parent, markdown=markdown)
                return
            except WebexError as error:
                if error.transient or parent is None:
                    log.warning("could not answer a card action: %s", error)
                    return


def help_text(*, unknown: bool = False) -> str:
    lead = "I did not catch that. " if unknown else ""
    return (
        f"{lead}I take your Webex Calling phone out of service while you are away (call intercept), "
        "with an approver's consent, and put your settings back at the end.\n\n"
        "- `intercept me until Friday` (or `for 2 hours`, `until tomorrow 17:00`, "
        "`from Monday until Friday`): I send you a form to check and send for approval\n"
        "- `status`: your intercept and your requests\n"
        "- `cancel`: cancel a pending request, or end an intercept now\n"
        "- `help`: this message"
    )


def already_decided_text(request: Request) -> str:
    if request.decided_by_name and request.status is not Status.AWAITING_APPROVAL:
        verb = "rejected" if request.status is Status.REJECTED else "approved"
        return (f"Already {verb} by {escape_markdown(request.decided_by_name)}; "
                f"the request is now {request.status.label}.")
    return f"This request is {request.status.label}: there is nothing to decide."


def _backoff(attempts: int) -> timedelta:
    return min(RETRY_BASE * (1 << min(max(attempts - 1, 0), 16)), RETRY_MAX)


def _aware(value: datetime | None) -> datetime:
    assert value is not None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
