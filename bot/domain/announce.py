"""Telling people what happened, from the audit log.

Every status change is written to the audit log in the same transaction as the change itself,
and every change or failure in Webex with it or right after it; each row is marked untold as it is
written. The announcer claims untold rows (oldest first, one per request at a time, so each
request's news go out in order; rows another process holds are passed over) and sends the messages
each row calls for, so a crash between a change and the telling of it loses nothing: the next flush
(after each event and timer, at every sweep, at start-up) tells. A message may, rarely, come twice
(sent, then the process dies before its progress is stored: another flush sends it again, as soon
as the store sees that process gone or its claim ran out). One Webex does not take is tried again
at the next flushes and given up after a few; rows older than a day are passed over, so a long
outage does not end in a flood.

What a row says is decided by its typed fields (event, target, reason), never by the wording of
its note; the store hands each row over with its request as it is now. Answers to the person who
just acted are replies (`bot.domain.outbox`); this is news.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.outbox import Outbox
from bot.domain.policy import Policy
from bot.domain.ports import Clock, WebexError
from bot.domain.schedule import Work
from bot.domain.stores import AuditEntry, Stores, Untold
from bot.domain.text import escape_markdown, quote_block, span, when
from bot.domain.values import AuditEvent, Reason, Where

log = logging.getLogger(__name__)

MAX_AGE = timedelta(hours=24)
BATCH = 50
HOLD = timedelta(minutes=15)  # a flush holds the rows it took this long (sooner free if its process is gone)
ALERT_EVERY = 3  # a failing revert is reported at attempts 3, 6, 12, 24, ...

# a failed apply's reason -> (to the requester, to the approvers)
OUTCOMES = {
    Reason.KEPT_EARLIER: ("Your earlier intercept stays as it was.", "Their earlier intercept stays as it was."),
    Reason.NOTHING_CHANGED: ("Nothing was changed.", "Nothing was changed."),
    Reason.AS_BEFORE: ("Your settings are as they were before.", "Their settings are as they were before."),
}


@dataclass(frozen=True)
class News:
    markdown: str
    where: Where


class Announcer:
    TRIES = 5  # flushes a message may fail (Webex not answering) before it is given up

    def __init__(self, *, stores: Stores, outbox: Outbox, clock: Clock, policy: Callable[[], Policy]) -> None:
        self.stores = stores
        self.outbox = outbox
        self.clock = clock
        self.policy = policy
        self._lock = threading.Lock()
        self._wanted = threading.Event()

    def flush(self) -> None:
        """Send what the audit log has that was not told yet. Never raises, never waits: when
        another thread of this process is flushing, it takes this call's rows too (another process
        flushing at the same time takes other rows)."""
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
        audit = self.stores.audit
        while True:
            rows = audit.untold(self.clock.now(), hold=HOLD, limit=BATCH)
            done: list[int] = []  # told, not marked yet (rows that said nothing wait for the next mark)
            for index, row in enumerate(rows):
                try:
                    stopped, said = self._tell_row(row)
                except Exception:  # a bug in one row's news must not hold up, or repeat, the others
                    log.exception("could not announce audit row %d: passed over", row.entry.id)
                    stopped, said = None, True
                if stopped is not None:  # Webex is not answering: the next flush goes on from here
                    audit.told(done)
                    later = {r.entry.id: (r.sent, r.tries) for r in rows[index + 1:]}
                    audit.tell_later({row.entry.id: stopped, **later})
                    return
                done.append(row.entry.id)
                if said:  # marked at once: a crash after this does not send it again
                    audit.told(done)
                    done = []
            audit.told(done)
            if len({row.entry.request_id for row in rows}) < BATCH:
                return

    def _tell_row(self, row: Untold) -> tuple[tuple[int, int] | None, bool]:
        """Send the row's messages from where an earlier flush stopped. Returns where this one
        stopped when Webex failed (messages sent, failed tries), and whether anything was sent."""
        oldest = self.clock.now() - MAX_AGE
        news = self._news(row.entry, row.request) if row.entry.at >= oldest and row.request is not None else []
        for index in range(row.sent, len(news)):
            try:
                self.outbox.send(news[index].where, news[index].markdown)
            except WebexError as error:
                tries = row.tries + 1 if index == row.sent else 1
                if error.transient and tries < self.TRIES:
                    log.warning("announcing later (Webex: %s)", error)
                    return (index, tries), index > row.sent
                log.warning("could not announce audit row %d: %s", row.entry.id, error)
            if index + 1 < len(news):  # more to go: a crash now does not send this one again
                self.stores.audit.progress(row.entry.id, index + 1)
        return None, len(news) > row.sent

    def _news(self, row: AuditEntry, request: Request) -> list[News]:
        handler = {AuditEvent.STATUS: self._status, AuditEvent.WEBEX_ERROR: self._webex_error,
                   AuditEvent.REVERTED: self._overwritten}.get(row.event)
        if handler is None:
            return []  # an event nobody is told about (applied, greeting uploaded …)
        out: list[News] = []
        handler(row, request, out)
        return out

    def _tell(self, out: list[News], request: Request, markdown: str) -> None:
        out.append(News(markdown, Where(room_id=request.room_id) if request.room_id
                        else Where(to_person_id=request.person_id)))

    def _tell_approvers(self, out: list[News], markdown: str) -> None:
        """The approval space when there is one, else each approver directly."""
        policy = self.policy()
        if policy.approval_room_id:
            out.append(News(markdown, Where(room_id=policy.approval_room_id)))
        else:
            out.extend(News(markdown, Where(to_person_email=email)) for email in sorted(policy.approvers))

    def _status(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        told = _STATUS_NEWS.get(row.target) if row.target else None
        if told is not None:
            told(self, row, request, out)

    # ------------------------------------------------------------------ what each status change tells

    def _awaiting(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        if request.status is Status.EXPIRED and self._ended_for(request, Reason.NO_APPROVER_REACHED):
            return  # no approver could be asked: that is what they hear, not that it was sent
        if row.source is Status.FORM_SENT:
            self._tell(out, request, f"Sent for approval: intercept {span(request)}. I will tell you when an "
                                     "approver has decided.")
        elif row.reason is Reason.EXTENSION_REQUESTED:
            current = self._extended(request)
            still = f" Until they decide, it still ends {when(current.end_at, request)}." \
                if current is not None and current.end_at else ""
            self._tell(out, request, "I asked the approvers to extend your intercept until "
                                     f"{when(request.end_at, request)}.{still}")

    def _approved(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        if request.start_at is not None and request.start_at > row.at:
            self._tell(out, request, f"{_approval(request)} Your intercept starts {when(request.start_at, request)}.")

    def _rejected(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        comment = f" Comment: {quote_block(request.decision_comment)}" if request.decision_comment else ""
        by = escape_markdown(request.decided_by_name or "an approver")
        current = self._extended(request)
        if current is not None:
            still = f" Your intercept still ends {when(current.end_at, request)}." \
                if current.status is Status.ACTIVE else ""
            self._tell(out, request, f"Your request to extend your intercept was rejected by {by}.{still}{comment}")
        else:
            self._tell(out, request, f"Your intercept request was rejected by {by}.{comment}")

    def _active(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        name, until = escape_markdown(request.person_name), when(request.end_at, request)
        if row.source is Status.APPLYING:
            told = request.start_at is not None and request.decided_at is not None \
                and request.start_at > request.decided_at  # the approval was told when it came
            approved = "" if told or not request.decided_by_name else _approval(request) + " "
            self._tell(out, request, f"{approved}Your phone is now intercepted until {until}. I will put your "
                                     "previous settings back then. Say `cancel` to end it early.")
            self._tell_approvers(out, f"Intercept for {name} is on until {until}.")
        elif row.source is Status.ACTIVE and row.reason is Reason.SHORTENED:
            self._tell_approvers(out, f"{name} ended their intercept earlier: now until {until}.")

    def _reverting(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        name = escape_markdown(request.person_name)
        if row.source is Status.ACTIVE and row.reason is Reason.ENDED_EARLY:
            self._tell_approvers(out, f"{name} ended their intercept early.")
        elif row.source is Status.APPLYING and row.reason in (Reason.CANCELLED, Reason.CANCELLED_WHILE_APPLYING):
            self._tell_approvers(out, f"{name} ended their intercept while a change to it was being applied; "
                                      "their previous settings are being put back.")

    def _reverted(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        self._tell(out, request, "Your intercept has ended and your previous call settings are back.")

    def _failed(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        error = escape_markdown(_error_message(request.error) or "Webex refused it")
        yours, theirs = OUTCOMES.get(row.reason, ("", "")) if row.reason else ("", "")
        self._tell(out, request, f"Your intercept could not be applied: {error}. {yours} An approver has been told.")
        self._tell_approvers(out, f"Applying the intercept for {escape_markdown(request.person_name)} failed: "
                                  f"{error}. {theirs}")

    def _expired(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        if row.reason is Reason.NO_APPROVER_REACHED:
            self._tell(out, request, "I could not send your request to any approver: Webex refused every approval "
                                     "card. Nothing was changed. Please tell an administrator (the bot's approvers "
                                     "or approval space need fixing).")
        elif row.reason is Reason.EXTENSION_ORPHANED:
            extended = self._extended(request)
            why = "a newer request took your intercept over" if extended and extended.status is Status.REPLACED \
                else "the intercept had ended before an approver decided"
            self._tell(out, request, f"Your request to extend your intercept was withdrawn: {why}. Say `status` to "
                                     "see where you stand.")
        else:
            self._tell(out, request, f"Your intercept request {escape_markdown(row.note)}. Ask again any time.")

    def _cancelled(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        if row.source is Status.REVERTING:
            self._tell(out, request, "Cancelled: your previous call settings are back.")
        elif row.reason is Reason.FORM_CANCELLED:
            self._tell(out, request, "Cancelled: nothing was changed.")

    def _extended(self, request: Request) -> Request | None:
        return self.stores.requests.get(request.extends_id) if request.extends_id else None

    def _ended_for(self, request: Request, reason: Reason) -> bool:
        history = self.stores.requests.history(request.id)
        return bool(history) and history[-1].reason is reason

    # ------------------------------------------------------------------ what Webex did

    def _webex_error(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        phase, attempt = row.detail.get("phase"), int(row.detail.get("attempt") or 0)
        if phase == Work.APPLY.value and attempt == 1 and row.detail.get("transient"):
            self._tell(out, request, "Webex did not take your intercept on the first try; I am retrying.")
        elif phase == Work.REVERT.value and attempt % ALERT_EVERY == 0 and _power_of_two(attempt // ALERT_EVERY):
            self._tell_approvers(
                out, f"Putting back the call settings of {escape_markdown(request.person_name)} has failed "
                     f"{attempt} times ({escape_markdown(row.note)}). I keep trying; please check the admin token "
                     "and Webex.")

    def _overwritten(self, row: AuditEntry, request: Request, out: list[News]) -> None:
        """Someone else changed the settings while the intercept was on: say what the revert overwrote."""
        before = row.detail.get("before")
        if not isinstance(before, dict) or request.requested is None or request.snapshot is None:
            return
        found = InterceptSettings.from_api(before)
        if not request.requested.differences(found) or not request.snapshot.differences(found):
            return  # as the bot left them, or already put back by an earlier attempt
        changed = ", ".join(request.requested.differences(found))
        self._tell_approvers(
            out, f"While {escape_markdown(request.person_name)} was intercepted, someone else changed their "
                 f"intercept settings ({escape_markdown(changed)}). The revert put back the settings from before the "
                 "intercept, overwriting those changes.")


_STATUS_NEWS: dict[Status, Callable[[Announcer, AuditEntry, Request, list[News]], None]] = {
    Status.AWAITING_APPROVAL: Announcer._awaiting,
    Status.APPROVED: Announcer._approved,
    Status.REJECTED: Announcer._rejected,
    Status.ACTIVE: Announcer._active,
    Status.REVERTING: Announcer._reverting,
    Status.REVERTED: Announcer._reverted,
    Status.FAILED: Announcer._failed,
    Status.EXPIRED: Announcer._expired,
    Status.CANCELLED: Announcer._cancelled,
}


def _approval(request: Request) -> str:
    comment = f" Comment: {quote_block(request.decision_comment)}" if request.decision_comment else ""
    return f"Approved by {escape_markdown(request.decided_by_name or 'an approver')}.{comment}"


def _error_message(error: str) -> str:
    """The readable part of a stored WebexError text ("operation: HTTP 403: message (tracking id ...)")."""
    text = error.split(": ", 1)[1] if ": " in error else error
    return text.split(" (tracking id", 1)[0]


def _power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0
