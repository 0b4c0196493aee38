"""Telling people what happened, from the audit log.

Every status change is written to the audit log in the same transaction as the change itself,
and every change or failure in Webex right after it. The announcer reads the log in id order from a
stored cursor (writers take turns, so rows commit in id order) and sends the messages each row
calls for, so a crash between a change and the telling of it loses nothing: the next flush (after
the handler, after each timer, at every sweep, at start-up) tells. A message may, rarely, come
twice (sent, then the process dies before its progress is stored). One Webex does not take is
tried again at the next flushes and given up after a few; rows older than a day are passed over,
so a long outage does not end in a flood.

Answers to the person who just acted (a click refused, "cancelled your pending request") are
replies, sent by the service directly; this module is for news.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.lifecycle import (
    AS_BEFORE,
    CANCELLED_NOTE,
    ENDED_EARLY,
    EXTENSION_ORPHANED,
    KEPT_EARLIER,
    NOTHING_CHANGED,
)
from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.notify import Notifier
from bot.domain.ports import AuditEntry, Clock, Store, WebexError
from bot.domain.text import escape_markdown, quote_block
from bot.domain.timeparse import describe

log = logging.getLogger(__name__)

CURSOR = "announced_up_to"  # the last audit row fully told
PROGRESS = "announce_progress"  # "row:next message:failed tries" of a row told in part
MAX_AGE = timedelta(hours=24)
BATCH = 200
ALERT_EVERY = 3  # a failing revert is reported at attempts 3, 6, 12, 24, ...

# notes the service and the lifecycle give moves, which decide what is said
FORM_CANCELLED = "cancelled from the form"
EXTENSION = "extension requested"
NO_APPROVER_REACHED = "expired: no approver could be reached"
SHORTENED = "the requester moved the end earlier"
# a failed apply's note -> (to the requester, to the approvers)
OUTCOMES = {
    KEPT_EARLIER: ("Your earlier intercept stays as it was.", "Their earlier intercept stays as it was."),
    NOTHING_CHANGED: ("Nothing was changed.", "Nothing was changed."),
    AS_BEFORE: ("Your settings are as they were before.", "Their settings are as they were before."),
}


@dataclass(frozen=True)
class Outgoing:
    markdown: str
    room_id: str | None = None
    to_person_email: str | None = None


class Announcer:
    TRIES = 5  # flushes a message may fail (Webex not answering) before it is given up

    def __init__(self, *, store: Store, notify: Notifier, clock: Clock) -> None:
        self.store = store
        self.notify = notify
        self.clock = clock
        self._lock = threading.Lock()
        self._wanted = threading.Event()

    def flush(self) -> None:
        """Send what the audit log has that was not told yet. Never raises, never waits: when
        another thread is flushing, it takes this call's rows too."""
        self._wanted.set()
        while self._wanted.is_set():
            if not self._lock.acquire(blocking=False):
                return
            try:
                while self._wanted.is_set():
                    self._wanted.clear()
                    self._flush()
            except Exception:
                log.exception("could not announce")
            finally:
                self._lock.release()

    def _flush(self) -> None:
        cursor = int(self.store.get_setting(CURSOR) or 0)
        row_id, sent, tries = _progress(self.store.get_setting(PROGRESS))
        while True:
            rows = self.store.audit_after(cursor, BATCH)
            if not rows:
                return
            for row in rows:
                outgoing = self._messages(row) if row.at >= self.clock.now() - MAX_AGE else []
                done = sent if row_id == row.id else 0
                for index in range(done, len(outgoing)):
                    message = outgoing[index]
                    try:
                        self.notify.webex.send(markdown=message.markdown, room_id=message.room_id,
                                               to_person_email=message.to_person_email)
                    except WebexError as error:
                        if error.transient and (row_id != row.id or tries + 1 < self.TRIES):
                            attempt = tries + 1 if row_id == row.id else 1
                            self.store.set_setting(PROGRESS, f"{row.id}:{index}:{attempt}")
                            log.warning("announcing later (Webex: %s)", error)
                            return  # the next flush goes on from this message
                        log.warning("could not announce audit row %d: %s", row.id, error)
                    row_id, sent, tries = row.id, index + 1, 0
                    self.store.set_setting(PROGRESS, f"{row.id}:{index + 1}:0")
                cursor = row.id
                self.store.set_setting(CURSOR, str(cursor))

    def _messages(self, row: AuditEntry) -> list[Outgoing]:
        handler = {"status": self._status, "webex error": self._webex_error,
                   "reverted": self._overwritten}.get(row.event)
        request = self.store.get(row.request_id) if handler is not None else None
        if handler is None or request is None:
            return []  # an event nobody is told about (applied, greeting uploaded …): no read
        out: list[Outgoing] = []
        handler(row, request, out)
        return out

    def _tell(self, out: list[Outgoing], request: Request, markdown: str) -> None:
        out.append(Outgoing(markdown, room_id=request.room_id))

    def _tell_approvers(self, out: list[Outgoing], markdown: str) -> None:
        """The approval space when there is one, else each approver directly."""
        room = self.notify.approval_room_id
        if room:
            out.append(Outgoing(markdown, room_id=room))
        else:
            out.extend(Outgoing(markdown, to_person_email=email) for email in sorted(self.notify.approvers))

    def _status(self, row: AuditEntry, request: Request, out: list[Outgoing]) -> None:
        target, source = row.target, row.source
        name = escape_markdown(request.person_name)

        def tell(request: Request, markdown: str) -> None:
            self._tell(out, request, markdown)
        if target is Status.AWAITING_APPROVAL and request.status is Status.EXPIRED \
                and self._ended_with(request, NO_APPROVER_REACHED):
            return  # no approver could be asked: that is what they hear, not that it was sent
        if target is Status.AWAITING_APPROVAL and source is Status.FORM_SENT:
            tell(request, f"Sent for approval: intercept {span(request)}. I will tell you when an approver "
                          "has decided.")
        elif target is Status.AWAITING_APPROVAL and row.note == EXTENSION:
            current = self.store.get(request.extends_id) if request.extends_id else None
            still = f" Until they decide, it still ends {when(current.end_at, request)}." \
                if current is not None and current.end_at else ""
            tell(request, f"I asked the approvers to extend your intercept until {when(request.end_at, request)}."
                          + still)
        elif target is Status.APPROVED and request.start_at is not None and request.start_at > row.at:
            tell(request, f"{_approved(request)} Your intercept starts {when(request.start_at, request)}.")
        elif target is Status.REJECTED:
            comment = f" Comment: {quote_block(request.decision_comment)}" if request.decision_comment else ""
            by = escape_markdown(request.decided_by_name or "an approver")
            current = self.store.get(request.extends_id) if request.extends_id else None
            if current is not None:
                still = f" Your intercept still ends {when(current.end_at, request)}." \
                    if current.status is Status.ACTIVE else ""
                tell(request, f"Your request to extend your intercept was rejected by {by}.{still}{comment}")
            else:
                tell(request, f"Your intercept request was rejected by {by}.{comment}")
        elif target is Status.ACTIVE and source is Status.APPLYING:
            until = when(request.end_at, request)
            told = request.start_at is not None and request.decided_at is not None \
                and request.start_at > request.decided_at  # the approval was told when it came
            approved = "" if told or not request.decided_by_name else _approved(request) + " "
            tell(request, f"{approved}Your phone is now intercepted until {until}. I will put your previous settings "
                          "back then. Say `cancel` to end it early.")
            self._tell_approvers(out, f"Intercept for {name} is on until {until}.")
        elif target is Status.ACTIVE and source is Status.ACTIVE and row.note == SHORTENED:
            until = when(request.end_at, request)
            self._tell_approvers(out, f"{name} ended their intercept earlier: now until {until}.")
        elif target is Status.REVERTING and source is Status.ACTIVE and row.note == ENDED_EARLY:
            self._tell_approvers(out, f"{name} ended their intercept early.")
        elif target is Status.REVERTING and source is Status.APPLYING and row.note.startswith(CANCELLED_NOTE):
            self._tell_approvers(out, f"{name} ended their intercept while a change to it was being applied; "
                                      "their previous settings are being put back.")
        elif target is Status.REVERTED:
            tell(request, "Your intercept has ended and your previous call settings are back.")
        elif target is Status.FAILED:
            error = escape_markdown(_error_message(request.error) or "Webex refused it")
            yours, theirs = OUTCOMES.get(row.note, ("", ""))
            tell(request, f"Your intercept could not be applied: {error}. {yours} An approver has been told.")
            self._tell_approvers(out, f"Applying the intercept for {name} failed: {error}. {theirs}")
        elif target is Status.EXPIRED and row.note == NO_APPROVER_REACHED:
            tell(request, "I could not send your request to any approver: Webex refused every approval card. "
                          "Nothing was changed. Please tell an administrator (the bot's approvers or approval "
                          "space need fixing).")
        elif target is Status.EXPIRED and row.note == EXTENSION_ORPHANED:
            extended = self.store.get(request.extends_id) if request.extends_id else None
            why = "a newer request took your intercept over" if extended and extended.status is Status.REPLACED \
                else "the intercept had ended before an approver decided"
            tell(request, f"Your request to extend your intercept was withdrawn: {why}. Say `status` to see "
                          "where you stand.")
        elif target is Status.EXPIRED:
            tell(request, f"Your intercept request {escape_markdown(row.note)}. Ask again any time.")
        elif target is Status.CANCELLED and source is Status.REVERTING:
            tell(request, "Cancelled: your previous call settings are back.")
        elif target is Status.CANCELLED and row.note == FORM_CANCELLED:
            tell(request, "Cancelled: nothing was changed.")

    def _ended_with(self, request: Request, note: str) -> bool:
        history = self.store.history(request.id)
        return bool(history) and history[-1].note == note

    def _webex_error(self, row: AuditEntry, request: Request, out: list[Outgoing]) -> None:
        phase, attempt = row.detail.get("phase"), int(row.detail.get("attempt") or 0)
        if phase == "apply" and attempt == 1 and row.detail.get("transient"):
            self._tell(out, request, "Webex did not take your intercept on the first try; I am retrying.")
        elif phase == "revert" and attempt % ALERT_EVERY == 0 and _power_of_two(attempt // ALERT_EVERY):
            self._tell_approvers(out,
                f"Putting back the call settings of {escape_markdown(request.person_name)} has failed {attempt} "
                f"times ({escape_markdown(row.note)}). I keep trying; please check the admin token and Webex.")

    def _overwritten(self, row: AuditEntry, request: Request, out: list[Outgoing]) -> None:
        """Someone else changed the settings while the intercept was on: say what the revert overwrote."""
        before = row.detail.get("before")
        if not isinstance(before, dict) or request.requested is None or request.snapshot is None:
            return
        found = InterceptSettings.from_api(before)
        if not request.requested.differences(found) or not request.snapshot.differences(found):
            return  # as the bot left them, or already put back by an earlier attempt
        changed = ", ".join(request.requested.differences(found))
        self._tell_approvers(out,
            f"While {escape_markdown(request.person_name)} was intercepted, someone else changed their intercept "
            f"settings ({escape_markdown(changed)}). The revert put back the settings from before the intercept, "
            "overwriting those changes.")


def when(at: object, request: Request) -> str:
    return describe(at.astimezone(ZoneInfo(request.zone))) if isinstance(at, datetime) else "(no end)"


def _approved(request: Request) -> str:
    comment = f" Comment: {quote_block(request.decision_comment)}" if request.decision_comment else ""
    return f"Approved by {escape_markdown(request.decided_by_name or 'an approver')}.{comment}"


def span(request: Request) -> str:
    until = when(request.end_at, request)
    if request.applied_at is not None and request.status in (Status.ACTIVE, Status.REVERTING):
        return f"since {when(request.applied_at, request)}, until {until}"
    if request.start_at is None:
        return f"as soon as it is approved, until {until}"
    return f"from {when(request.start_at, request)} until {until}"


def _progress(raw: str | None) -> tuple[int, int, int]:
    try:
        row, sent, tries = (int(part) for part in (raw or "").split(":"))
    except ValueError:
        return 0, 0, 0
    return row, sent, tries


def _error_message(error: str) -> str:
    """The readable part of a stored WebexError text ("operation: HTTP 403: message (tracking id ...)")."""
    text = error.split(": ", 1)[1] if ": " in error else error
    return text.split(" (tracking id", 1)[0]


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0
