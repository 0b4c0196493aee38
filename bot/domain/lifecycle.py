"""An approved request's life with Webex: apply, revert, and ending early.

Rules this module keeps:
- The snapshot (what to put back) is stored, in the move that starts the apply, before anything is
  changed, and it is always what the person had before the bot first touched them: a request that
  takes over one of the bot's intercepts takes over its snapshot, in the same transaction that
  ends the old one.
- Once a snapshot is stored, the person is never left changed without a revert on its way: an
  apply that fails for good is undone (or, if it took over, hands the intercept back).
- Callers hold the person's lock and hand in the row as read under it (or as the write that made
  the work due returned it); every state change is a compare-and-set.
- A revert reads first and only writes when the settings differ from the snapshot; a failing one is
  retried with backoff for as long as it takes. When a retry is due is written on the row
  (`retry_at`): the rows are the schedule (`bot.domain.schedule`).
- Nobody is told anything from here: every change and failure is in the audit log, written with the
  change, and `bot.domain.announce` tells people from it (so a crash cannot swallow the news).
"""

from __future__ import annotations

import enum
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.ports import Clock, Locks, Webex, WebexError
from bot.domain.schedule import Work
from bot.domain.stores import AuditLog, GreetingStore, Happened, Move, RequestStore
from bot.domain.timeparse import add_duration
from bot.domain.values import AuditEvent, Reason

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=10)
APPLY_ATTEMPTS = 6  # transient failures of an apply before it is given up (about 15 minutes)
AS_THEY_WERE = "Webex had these settings already"


class Ended(enum.Enum):
    ENDED = "ended"  # the intercept is off, settings restored
    CANCELLED = "cancelled"  # nothing had been changed yet
    TRYING = "trying"  # the revert is under way but Webex did not take it yet: retried
    NOTHING = "nothing"  # nothing to end


class Lifecycle:
    def __init__(self, *, webex: Webex, requests: RequestStore, greetings: GreetingStore, audit: AuditLog,
                 clock: Clock, locks: Locks) -> None:
        self.webex = webex
        self.requests = requests
        self.greetings = greetings
        self.audit = audit
        self.clock = clock
        self.locks = locks

    # ------------------------------------------------------------------ apply

    def apply(self, request: Request) -> None:
        """Put the requested settings on (at approval, at the start time, or a retry). Safe to call again."""
        with self.locks(request.person_id):
            now = self.clock.now()
            if request.status is Status.APPROVED and not self._may_start(request, now):
                return
            if request.status not in (Status.APPROVED, Status.APPLYING):
                return
            current: InterceptSettings | None = None  # what Webex has now, when just read
            if request.snapshot is None:
                taken = self._take_snapshot(request, now)
                if taken is None:
                    return
                request, current = taken
            self._put_on(request, current, now)

    def _may_start(self, request: Request, now: datetime) -> bool:
        if request.start_at is not None and request.start_at > now:
            return False  # not yet: its start is due later
        if request.end_at is not None and request.end_at <= now:
            self.requests.move(request.id, Status.APPROVED, Status.EXPIRED, now=now,
                               reason=Reason.END_PASSED_UNSTARTED)
            return False
        if self.orphaned(request):  # an extension of an intercept that is no longer on
            self.requests.move(request.id, Status.APPROVED, Status.EXPIRED, now=now, reason=Reason.EXTENSION_ORPHANED)
            return False
        return True

    def _put_on(self, request: Request, current: InterceptSettings | None, now: datetime) -> None:
        requested = request.requested
        assert requested is not None
        try:
            # Read before writing: an apply resumed after a crash (or a retry) finds what an earlier
            # attempt already did, and does not do it twice.
            current = current or self.webex.get_intercept(request.person_id)
            self._upload_greeting(request, now)
            tracking, note, went_on = None, AS_THEY_WERE, min(now, request.updated_at)
            if requested.differences(current):
                tracking, note, went_on = self.webex.put_intercept(request.person_id, requested), "", now
                self._verify(request.person_id, requested, "the settings did not take")
        except WebexError as error:
            self._apply_failed(request, error, now)
            return
        applied = Happened(AuditEvent.APPLIED, note, {"before": current, "after": requested}, tracking)
        changes: dict[str, object] = {"applied_at": went_on, "attempts": 0, "retry_at": None, "error": ""}
        if (end := self._end_counted_from(request, went_on)) is not None:
            changes["end_at"] = end  # "for 2 hours": from when it went on, not from when it was asked
        if self.requests.move(request.id, Status.APPLYING, Status.ACTIVE, now=now, reason=Reason.ON,
                              changes=changes, happened=applied) is None:
            self.audit.record(request, applied, now=now)  # it happened in Webex all the same

    @staticmethod
    def _end_counted_from(request: Request, now: datetime) -> datetime | None:
        """The end of an intercept asked "for 2 hours", counted from ``now`` (when it went on: found on
        already by an apply resumed after a crash, it went on after the request was last written, not when
        the bot came back); None when it was asked with an end, or that end is later."""
        if request.lasts is None or request.start_at is not None:
            return None
        end = add_duration(now.astimezone(ZoneInfo(request.zone)), request.lasts).astimezone(UTC)
        return end if request.end_at is None or end > request.end_at else None

    def _upload_greeting(self, request: Request, now: datetime) -> None:
        """The .wav the requester sent, once per request (an apply tried again does not upload
        twice), whatever the file is called: a new recording may well have the old one's name."""
        if request.requested is None or request.requested.greeting != "CUSTOM":
            return
        greeting = self.greetings.get(request.id)
        if greeting is None or self.audit.greeting_uploaded(request.id):
            return
        tracking = self.webex.upload_greeting(request.person_id, *greeting)
        self.audit.record(request, Happened(AuditEvent.GREETING_UPLOADED, tracking_id=tracking,
                                            detail={"file": greeting[0], "bytes": len(greeting[1])}), now=now)

    def orphaned(self, request: Request) -> bool:
        """An extension only extends the intercept it was asked for while that is on: once it ended,
        was cancelled or was replaced, approving the extension must not turn the phone back on."""
        if not request.extends_id:
            return False
        extended = self.requests.get(request.extends_id)
        if extended is None:
            return True
        if extended.status is Status.REPLACED:  # a takeover that may still fail and hand it back
            return not any(r.replaces_id == extended.id
                           for r in self.requests.for_person(extended.person_id, [Status.APPLYING]))
        return extended.status is not Status.ACTIVE

    def _take_snapshot(self, request: Request,
                       now: datetime) -> tuple[Request, InterceptSettings | None] | None:
        """Store what to put back, in the move to APPLYING, before anything is changed; None = not
        now (it is tried again). Also gives the settings Webex has now when it had to read them."""
        source = request.status  # APPROVED, or APPLYING when an earlier try could not take one
        others = [r for r in self.requests.for_person(request.person_id,
                                                      [Status.APPLYING, Status.REVERTING, Status.ACTIVE])
                  if r.id != request.id]
        unfinished = [r for r in others if r.status is not Status.ACTIVE]
        if any(r.status is Status.REVERTING or r.snapshot is not None or r.created_at < request.created_at
               for r in unfinished):
            # a revert, or an earlier apply, is unfinished: it goes first (this one then takes it over)
            if source is Status.APPROVED:
                self.requests.move(request.id, source, Status.APPLYING, now=now, reason=Reason.APPLYING)
            return None
        predecessor = next((r for r in others if r.status is Status.ACTIVE), None)
        if predecessor is not None and predecessor.created_at > request.created_at:
            # a newer request is on already: this one was replaced (its cancellation was lost to a crash)
            self.requests.move(request.id, source, Status.CANCELLED, now=now, reason=Reason.NEWER_ON_ALREADY,
                               note=f"replaced by the newer {predecessor.id}")
            return None
        if predecessor is not None and predecessor.snapshot is not None:
            moved = self.requests.move_together([
                Move(predecessor.id, Status.ACTIVE, Status.REPLACED, Reason.TAKEN_OVER, f"replaced by {request.id}"),
                Move(request.id, source, Status.APPLYING, Reason.TAKES_OVER, f"takes over {predecessor.id}",
                     changes={"snapshot": predecessor.snapshot, "replaces_id": predecessor.id}),
            ], now=now)
            return (moved[1], None) if moved is not None else None
        try:
            snapshot = self.webex.get_intercept(request.person_id)
        except WebexError as error:
            applying = request if source is Status.APPLYING else \
                self.requests.move(request.id, source, Status.APPLYING, now=now, reason=Reason.APPLYING)
            if applying is not None:
                self._apply_failed(applying, error, now)
            return None
        stored = self.requests.move(request.id, source, Status.APPLYING, now=now, reason=Reason.APPLYING,
                                    changes={"snapshot": snapshot})
        return (stored, snapshot) if stored is not None else None

    def _apply_failed(self, request: Request, error: WebexError, now: datetime) -> None:
        attempts = request.attempts + 1
        self._audit_error(request, error, now, attempts, Work.APPLY)
        log.warning("applying request %s failed (attempt %d): %s", request.id, attempts, error)
        if error.transient and attempts < APPLY_ATTEMPTS:
            self.requests.change(request.id, Status.APPLYING, now=now, changes={
                "attempts": attempts, "retry_at": now + backoff(attempts), "error": str(error)})
            return
        # The move into FAILED carries, as its reason, what became of the person's settings: the
        # announcer tells the requester and the approvers (bot.domain.announce).
        changes = {"attempts": 0, "retry_at": None, "error": str(error)}
        if request.replaces_id:  # it took over an intercept: hand that back
            moved = self.requests.move_together([
                Move(request.id, Status.APPLYING, Status.FAILED, Reason.KEPT_EARLIER, changes=changes),
                Move(request.replaces_id, Status.REPLACED, Status.ACTIVE, Reason.HANDED_BACK,
                     f"handed back: {request.id} failed"),
            ], now=now)
            if moved is not None:
                self._put_back(moved[1])
                return
        if request.snapshot is None:  # nothing was changed
            self.requests.move(request.id, Status.APPLYING, Status.FAILED, now=now, reason=Reason.NOTHING_CHANGED,
                               changes=changes)
            return
        # the PUT may have gone through: undo it (the revert ends in FAILED)
        undoing = self.requests.move(request.id, Status.APPLYING, Status.REVERTING, now=now,
                                     reason=Reason.UNDOING_APPLY, note=f"apply failed: {error}", changes=changes)
        if undoing is not None:
            self._revert(undoing, None, Reason.UNDOING_APPLY)

    def _put_back(self, kept: Request) -> None:
        """After a hand-back: the failed apply may have reached Webex, so the earlier intercept's
        settings are put on again when they differ (its revert restores the snapshot at its end
        whatever happens here)."""
        if kept.requested is None:
            return
        try:
            if kept.requested.differences(self.webex.get_intercept(kept.person_id)):
                self.webex.put_intercept(kept.person_id, kept.requested)
        except WebexError as error:
            log.warning("could not put the earlier intercept of %s back on: %s", kept.id, error)

    # ------------------------------------------------------------------ revert

    def revert(self, request: Request, *, actor_id: str | None = None, reason: Reason = Reason.END_REACHED) -> bool:
        """Put the snapshot back. True when this call ended it."""
        with self.locks(request.person_id):
            return self._revert(request, actor_id, reason)

    def _revert(self, request: Request, actor_id: str | None, reason: Reason) -> bool:
        now = self.clock.now()
        if request.status is Status.ACTIVE:
            moved = self.requests.move(request.id, Status.ACTIVE, Status.REVERTING, now=now, actor_id=actor_id,
                                       reason=reason)
            if moved is None:
                return False
            request = moved
        elif request.status is not Status.REVERTING:
            return False
        snapshot = request.snapshot
        assert snapshot is not None
        try:
            before = self.webex.get_intercept(request.person_id)
            tracking, note = None, AS_THEY_WERE
            if snapshot.differences(before):
                tracking, note = self.webex.put_intercept(request.person_id, snapshot), ""
                self._verify(request.person_id, snapshot, "the previous settings did not take")
        except WebexError as error:
            self._revert_failed(request, error, now)
            return False
        reverted = Happened(AuditEvent.REVERTED, note, {"before": before, "after": snapshot}, tracking)
        applied = request.applied_at is not None  # else this undoes an apply (failed, or cancelled)
        target = Status.REVERTED if applied else self._undone_as(request)
        done = self.requests.move(
            request.id, Status.REVERTING, target, now=now, actor_id=actor_id,
            reason=Reason.RESTORED if applied else Reason.AS_BEFORE, happened=reverted,
            changes={"reverted_at": now, "attempts": 0, "retry_at": None, **({"error": ""} if applied else {})})
        if done is None:
            self.audit.record(request, reverted, now=now, actor_id=actor_id)
            return False
        return True

    def _undone_as(self, request: Request) -> Status:
        """An apply being undone ends CANCELLED when the requester cancelled it, else FAILED."""
        into = [h for h in self.requests.history(request.id) if h.target is Status.REVERTING]
        cancelled = into and into[-1].reason in (Reason.CANCELLED, Reason.CANCELLED_WHILE_APPLYING)
        return Status.CANCELLED if cancelled else Status.FAILED

    def _audit_error(self, request: Request, error: WebexError, now: datetime, attempt: int, phase: Work) -> None:
        """Every failure is in the audit log (the announcer tells the requester and approvers from it)."""
        self.audit.record(request, Happened(
            AuditEvent.WEBEX_ERROR, str(error), tracking_id=error.tracking_id,
            detail={"operation": error.operation, "status": error.status, "attempt": attempt,
                    "transient": error.transient, "phase": phase.value}), now=now)

    def _revert_failed(self, request: Request, error: WebexError, now: datetime) -> None:
        attempts = request.attempts + 1
        self._audit_error(request, error, now, attempts, Work.REVERT)
        log.warning("reverting request %s failed (attempt %d): %s", request.id, attempts, error)
        self.requests.change(request.id, Status.REVERTING, now=now, changes={
            "attempts": attempts, "retry_at": now + backoff(attempts), "error": str(error)})

    # ------------------------------------------------------------------ ending early

    def end_now(self, request: Request, actor_id: str) -> Ended:
        """The requester ends an intercept that is on, being applied, or being ended."""
        with self.locks(request.person_id):
            now = self.clock.now()
            if request.status is Status.APPLYING:
                if request.snapshot is None:
                    cancelled = self.requests.move(request.id, Status.APPLYING, Status.CANCELLED, now=now,
                                                   actor_id=actor_id, reason=Reason.CANCELLED)
                    return Ended.CANCELLED if cancelled else Ended.NOTHING
                undoing = self.requests.move(request.id, Status.APPLYING, Status.REVERTING, now=now,
                                             actor_id=actor_id, reason=Reason.CANCELLED_WHILE_APPLYING)
                if undoing is None:
                    return Ended.NOTHING
                request = undoing
            elif request.status not in (Status.ACTIVE, Status.REVERTING):
                return Ended.NOTHING
            return Ended.ENDED if self._revert(request, actor_id, Reason.ENDED_EARLY) else Ended.TRYING

    # ------------------------------------------------------------------ start-up

    def recover(self) -> None:
        """At start-up: an apply or revert a dead process left half-done is due now, not at its backoff."""
        now = self.clock.now()
        for request in self.requests.with_status([Status.APPLYING, Status.REVERTING]):
            if request.retry_at is not None:
                self.requests.change(request.id, request.status, now=now, changes={"retry_at": None})

    def _verify(self, person_id: str, expected: InterceptSettings, what: str) -> None:
        missing = expected.differences(self.webex.get_intercept(person_id))
        if missing:
            raise WebexError(None, f"{what}: Webex still shows other values for {', '.join(missing)}",
                             transient=True, operation="verify intercept settings")


def backoff(attempts: int) -> timedelta:
    return min(RETRY_BASE * (1 << min(max(attempts - 1, 0), 16)), RETRY_MAX)
