"""An approved request's life with Webex: apply, revert, end early, and the timers around them.

Rules this module keeps:
- The snapshot (what to put back) is stored before anything is changed, and it is always what the
  person had before the bot first touched them: a request that takes over one of the bot's
  intercepts takes over its snapshot, in the same transaction that retires the old one.
- Once a snapshot is stored, the person is never left changed without a revert on its way: an
  apply that fails for good is undone (or, if it took over, hands the intercept back).
- Work on one person runs under that person's lock; every state change is a compare-and-set.
- A revert reads first and only writes when the settings differ from the snapshot; a failing one is
  retried with backoff for as long as it takes.
- Nobody is told anything from here: every change and failure is in the audit log, written with the
  change, and `bot.domain.announce` tells people from it (so a crash cannot swallow the news).
"""

from __future__ import annotations

import enum
import logging
import threading
from datetime import datetime, timedelta

from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.ports import Clock, Move, Scheduler, Store, Webex, WebexError

log = logging.getLogger(__name__)

RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=10)
APPLY_ATTEMPTS = 6  # transient failures of an apply before it is given up (about 15 minutes)
CANCELLED_NOTE = "cancelled by the requester"
ENDED_EARLY = "ended early by the requester"
# what became of the settings when an apply failed for good (the note of the move into FAILED;
# bot.domain.announce words it for the requester and the approvers)
KEPT_EARLIER = "apply failed; the earlier intercept was kept"
NOTHING_CHANGED = "apply failed; nothing was changed"
AS_BEFORE = "apply failed and undone; settings as before"
EXTENSION_ORPHANED = "expired: the intercept it would extend is no longer on"
EXTENSIONS_DROPPED = "replaced by a new end from the requester"


class Ended(enum.Enum):
    ENDED = "ended"  # the intercept is off, settings restored
    CANCELLED = "cancelled"  # nothing had been changed yet
    TRYING = "trying"  # the revert is under way but Webex did not take it yet: retried
    NOTHING = "nothing"  # nothing to end


class PersonLocks:
    """One re-entrant lock per person: work on one person's request and intercept never interleaves
    (a form handled under it may go on to ask the approvers, which takes it again)."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def __call__(self, person_id: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(person_id, threading.RLock())


class Lifecycle:
    def __init__(self, *, webex: Webex, store: Store, scheduler: Scheduler, clock: Clock, locks: PersonLocks,
                 reminder: timedelta = timedelta(minutes=15)) -> None:
        self.webex = webex
        self.store = store
        self.scheduler = scheduler
        self.clock = clock
        self.locks = locks
        self.reminder = reminder

    # ------------------------------------------------------------------ apply

    def apply(self, request_id: str) -> None:
        """Put the requested settings on (at approval, or at the start time). Safe to call again."""
        request = self.store.get(request_id)
        if request is not None:
            with self.locks(request.person_id):
                self._apply(request_id)

    def _apply(self, request_id: str) -> None:
        now = self.clock.now()
        request = self.store.get(request_id)
        if request is None or request.status not in (Status.APPROVED, Status.APPLYING):
            return
        if request.status is Status.APPROVED:
            if request.start_at is not None and request.start_at > now:
                return  # not yet: the start job comes back
            if request.end_at is not None and request.end_at <= now:
                self.store.move(request.id, Status.APPROVED, Status.EXPIRED, now=now,
                                note="expired: its end time passed before it could start")
                return
            if self.orphaned(request):  # an extension of an intercept that is no longer on
                self.store.move(request.id, Status.APPROVED, Status.EXPIRED, now=now, note=EXTENSION_ORPHANED)
                return
            request = self.store.move(request.id, Status.APPROVED, Status.APPLYING, now=now, note="applying")
            if request is None:
                return
        current: InterceptSettings | None = None  # what Webex has now, when just read
        if request.snapshot is None:
            taken = self._take_snapshot(request, now)
            if taken is None:
                return
            request, current = taken
        requested, end_at = request.requested, request.end_at
        assert requested is not None and end_at is not None
        try:
            # Read before writing: an apply resumed after a crash (or a retry) finds what an earlier
            # attempt already did, and does not do it twice.
            current = current or self.webex.get_intercept(request.person_id)
            greeting = self.store.greeting(request.id) if requested.greeting == "CUSTOM" else None
            # once per request (an apply tried again does not upload twice), whatever the file is
            # called: a new recording may well have the old one's name
            if greeting is not None and not self.store.greeting_uploaded_for(request.id):
                tracking = self.webex.upload_greeting(request.person_id, *greeting)  # the .wav they sent
                self.store.audit(request, "greeting uploaded", now=now, tracking_id=tracking,
                                 detail={"file": greeting[0], "bytes": len(greeting[1])})
            tracking, note = None, "Webex had these settings already"
            if requested.differences(current):
                tracking, note = self.webex.put_intercept(request.person_id, requested), ""
                self._verify(request.person_id, requested, "the settings did not take")
            self.store.audit(request, "applied", now=now, note=note, tracking_id=tracking,
                             detail={"before": current, "after": requested})
        except WebexError as error:
            self._apply_failed(request, error, now)
            return
        active = self.store.move(request.id, Status.APPLYING, Status.ACTIVE, now=now, note="intercept on",
                                 changes={"applied_at": now, "attempts": 0, "retry_at": None, "error": ""})
        if active is None:
            return
        self.schedule_timers(active)

    def orphaned(self, request: Request) -> bool:
        """An extension only extends the intercept it was asked for while that is on: once it ended,
        was cancelled or was replaced, approving the extension must not turn the phone back on."""
        if not request.extends_id:
            return False
        extended = self.store.get(request.extends_id)
        if extended is None:
            return True
        if extended.status is Status.REPLACED:  # a takeover that may still fail and hand it back
            return not any(r.replaces_id == extended.id
                           for r in self.store.for_person(extended.person_id, [Status.APPLYING]))
        return extended.status is not Status.ACTIVE

    def _take_snapshot(self, request: Request,
                       now: datetime) -> tuple[Request, InterceptSettings | None] | None:
        """Store what to put back, before anything is changed; None = not now (the sweep retries).
        Also gives the settings Webex has now when it had to read them (else None)."""
        others = [r for r in self.store.for_person(request.person_id, [Status.APPLYING, Status.REVERTING])
                  if r.id != request.id]
        if any(r.status is Status.REVERTING for r in others):
            return None  # a revert is unfinished: it goes first
        if any(r.snapshot is not None or r.created_at < request.created_at for r in others):
            return None  # an earlier apply is unfinished: it goes first (then this one takes it over)
        predecessor = next(iter(self.store.for_person(request.person_id, [Status.ACTIVE])), None)
        if predecessor is not None and predecessor.created_at > request.created_at:
            # a newer request is on already: this one was replaced (its cancellation was lost to a crash)
            if self.store.move(request.id, Status.APPLYING, Status.CANCELLED, now=now,
                               note=f"replaced by the newer {predecessor.id}"):
                self.scheduler.unschedule(request.id)
            return None
        if predecessor is not None and predecessor.snapshot is not None:
            moved = self.store.move_together([
                Move(predecessor.id, Status.ACTIVE, Status.REPLACED, note=f"replaced by {request.id}"),
                Move(request.id, Status.APPLYING, Status.APPLYING, note=f"takes over {predecessor.id}",
                     changes={"snapshot": predecessor.snapshot, "replaces_id": predecessor.id}),
            ], now=now)
            if moved is None:
                return None
            self.scheduler.unschedule(predecessor.id)  # a stale timer would find it REPLACED anyway
            return moved[1], None
        try:
            snapshot = self.webex.get_intercept(request.person_id)
        except WebexError as error:
            self._apply_failed(request, error, now)
            return None
        stored = self.store.change(request.id, Status.APPLYING, now=now, changes={"snapshot": snapshot})
        return (stored, snapshot) if stored is not None else None

    def _apply_failed(self, request: Request, error: WebexError, now: datetime) -> None:
        attempts = request.attempts + 1
        self._audit_error(request, error, now, attempts, "apply")
        log.warning("applying request %s failed (attempt %d): %s", request.id, attempts, error)
        if error.transient and attempts < APPLY_ATTEMPTS:
            retry_at = now + backoff(attempts)
            self.store.change(request.id, Status.APPLYING, now=now,
                              changes={"attempts": attempts, "retry_at": retry_at, "error": str(error)})
            self.scheduler.schedule_apply(request.id, retry_at)
            return
        # The move into FAILED carries, as its note, what became of the person's settings: the
        # announcer tells the requester and the approvers (bot.domain.announce).
        changes = {"attempts": 0, "retry_at": None, "error": str(error)}
        if request.replaces_id:  # it took over an intercept: hand that back
            moved = self.store.move_together([
                Move(request.id, Status.APPLYING, Status.FAILED, note=KEPT_EARLIER, changes=changes),
                Move(request.replaces_id, Status.REPLACED, Status.ACTIVE, note=f"handed back: {request.id} failed"),
            ], now=now)
            if moved is not None:
                self.scheduler.unschedule(moved[0].id)
                self.schedule_timers(moved[1])
                self._put_back(moved[1])
                return
        if request.snapshot is None:  # nothing was changed
            if self.store.move(request.id, Status.APPLYING, Status.FAILED, now=now, note=NOTHING_CHANGED,
                               changes=changes):
                self.scheduler.unschedule(request.id)
        else:  # the PUT may have gone through: undo it (the revert ends in FAILED)
            undoing = self.store.move(request.id, Status.APPLYING, Status.REVERTING, now=now,
                                      note=f"apply failed: {error}", changes=changes)
            if undoing is not None:
                self._revert(undoing.id, None, "undoing a failed apply")

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

    def revert(self, request_id: str, *, actor_id: str | None = None, note: str = "end time reached") -> bool:
        """Put the snapshot back. True when this call ended it."""
        request = self.store.get(request_id)
        if request is None:
            return False
        with self.locks(request.person_id):
            return self._revert(request_id, actor_id, note)

    def _revert(self, request_id: str, actor_id: str | None, note: str) -> bool:
        now = self.clock.now()
        request = self.store.get(request_id)
        if request is None or request.status not in (Status.ACTIVE, Status.REVERTING):
            return False
        if request.status is Status.ACTIVE:
            request = self.store.move(request.id, Status.ACTIVE, Status.REVERTING, now=now,
                                      actor_id=actor_id, note=note)
            if request is None:
                return False
        snapshot = request.snapshot
        assert snapshot is not None
        try:
            before = self.webex.get_intercept(request.person_id)
            tracking, note = None, "Webex had these settings already"
            if snapshot.differences(before):
                tracking, note = self.webex.put_intercept(request.person_id, snapshot), ""
                self._verify(request.person_id, snapshot, "the previous settings did not take")
            self.store.audit(request, "reverted", now=now, note=note, tracking_id=tracking, actor_id=actor_id,
                             detail={"before": before, "after": snapshot})
        except WebexError as error:
            self._revert_failed(request, error, now)
            return False
        applied = request.applied_at is not None  # else this undoes an apply (failed, or cancelled)
        target = Status.REVERTED if applied else self._undone_as(request)
        done = self.store.move(
            request.id, Status.REVERTING, target, now=now, actor_id=actor_id,
            note="previous settings restored" if applied else AS_BEFORE,
            changes={"reverted_at": now, "attempts": 0, "retry_at": None, **({"error": ""} if applied else {})})
        if done is None:
            return False
        self.scheduler.unschedule(done.id)
        return True

    def _undone_as(self, request: Request) -> Status:
        """An apply being undone ends CANCELLED when the requester cancelled it, else FAILED."""
        into = [h for h in self.store.history(request.id) if h.target is Status.REVERTING]
        return Status.CANCELLED if into and into[-1].note.startswith(CANCELLED_NOTE) else Status.FAILED

    def _audit_error(self, request: Request, error: WebexError, now: datetime, attempt: int, phase: str) -> None:
        """Every failure is in the audit log (the announcer tells the requester and approvers from it)."""
        self.store.audit(request, "webex error", now=now, note=str(error), tracking_id=error.tracking_id,
                         detail={"operation": error.operation, "status": error.status, "attempt": attempt,
                                 "transient": error.transient, "phase": phase})

    def _revert_failed(self, request: Request, error: WebexError, now: datetime) -> None:
        attempts = request.attempts + 1
        self._audit_error(request, error, now, attempts, "revert")
        retry_at = now + backoff(attempts)
        log.warning("reverting request %s failed (attempt %d): %s", request.id, attempts, error)
        self.store.change(request.id, Status.REVERTING, now=now,
                          changes={"attempts": attempts, "retry_at": retry_at, "error": str(error)})
        self.scheduler.schedule_revert(request.id, retry_at)

    # ------------------------------------------------------------------ ending early

    def end_now(self, request_id: str, actor_id: str) -> Ended:
        """The requester ends an intercept that is on, being applied, or being ended."""
        request = self.store.get(request_id)
        if request is None:
            return Ended.NOTHING
        with self.locks(request.person_id):  # waits for an apply in flight to finish
            now = self.clock.now()
            request = self.store.get(request_id)
            if request is None:
                return Ended.NOTHING
            if request.status is Status.APPLYING:
                if request.snapshot is None:
                    cancelled = self.store.move(request.id, Status.APPLYING, Status.CANCELLED, now=now,
                                                actor_id=actor_id, note=CANCELLED_NOTE)
                    if cancelled:
                        self.scheduler.unschedule(request.id)
                        return Ended.CANCELLED
                    return Ended.NOTHING
                if not self.store.move(request.id, Status.APPLYING, Status.REVERTING, now=now, actor_id=actor_id,
                                       note=f"{CANCELLED_NOTE} while being applied"):
                    return Ended.NOTHING
            elif request.status not in (Status.ACTIVE, Status.REVERTING):
                return Ended.NOTHING
            return Ended.ENDED if self._revert(request_id, actor_id, ENDED_EARLY) \
                else Ended.TRYING

    # ------------------------------------------------------------------ timers

    def schedule_timers(self, request: Request) -> None:
        """The revert at the end, and the reminder before it (when that is still ahead)."""
        if request.end_at is None:
            return
        self.scheduler.schedule_revert(request.id, request.end_at)
        remind_at = request.end_at - self.reminder
        if self.reminder > timedelta(0) and remind_at > self.clock.now():
            self.scheduler.schedule_reminder(request.id, remind_at)

    def sweep(self) -> None:
        """Whatever is due and not done gets done: reverts first, then applies."""
        now = self.clock.now()
        for request in self.store.with_status([Status.ACTIVE, Status.REVERTING]):
            due = request.end_at is not None and request.end_at <= now if request.status is Status.ACTIVE \
                else request.retry_at is None or request.retry_at <= now
            if due:
                self.revert(request.id)
        for request in self.store.with_status([Status.APPROVED, Status.APPLYING]):
            due = request.start_at is None or request.start_at <= now if request.status is Status.APPROVED \
                else request.retry_at is None or request.retry_at <= now
            if due:
                self.apply(request.id)

    def recover(self) -> None:
        """At start-up: work a dead process left half-done is tried again now; every live request
        gets its timers back."""
        now = self.clock.now()
        for request in self.store.with_status([Status.APPLYING, Status.REVERTING]):
            self.store.change(request.id, request.status, now=now, changes={"retry_at": None})
        for request in self.store.with_status([Status.ACTIVE]):
            self.schedule_timers(request)
        for request in self.store.with_status([Status.APPROVED]):
            if request.start_at:
                self.scheduler.schedule_apply(request.id, request.start_at)

    def _verify(self, person_id: str, expected: InterceptSettings, what: str) -> None:
        missing = expected.differences(self.webex.get_intercept(person_id))
        if missing:
            raise WebexError(None, f"{what}: Webex still shows other values for {', '.join(missing)}",
                             transient=True, operation="verify intercept settings")


def backoff(attempts: int) -> timedelta:
    return min(RETRY_BASE * (1 << min(max(attempts - 1, 0), 16)), RETRY_MAX)
