"""Timers on APScheduler 3, in memory, built from the request rows (`bot.domain.ports.Timers`).

The rows are the schedule (`bot.domain.schedule`): nothing is pickled into the database, and
nothing here decides what is due. A row that is written is followed: its timers are replaced by
one per kind of work it waits for, when that falls due within the horizon (two sweeps ahead);
what falls due later is found by a later sweep, by an index on the row's time. So start-up does
not grow with the number of pending intercepts, and memory holds only what comes soon.

- A timer that fires runs the work through the service, which reads the row again and does
  nothing when it is no longer due (a timer may be stale: the row changed, or the clock moved).
- Work due now is not a timer's: whoever made it due does it, or the sweep that finds it.
- `misfire_grace_time=None`: a timer the process was too busy to fire on time still fires.
- The sweep is a job too, every `sweep_seconds`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from bot.domain import schedule
from bot.domain.model import Request
from bot.domain.policy import Policy
from bot.domain.schedule import Work

log = logging.getLogger(__name__)


class WallClock(Protocol):
    def now(self) -> datetime: ...
    def to_wall(self, at: datetime) -> datetime: ...


class Timers:
    def __init__(self, *, clock: WallClock, policy: Callable[[], Policy], run: Callable[[Work, str, str], None],
                 sweep: Callable[[], None], sweep_seconds: float = 60.0, threads: int = 4) -> None:
        self.clock = clock
        self.policy = policy
        self._run = run
        self._sweep = sweep
        self.sweep_seconds = sweep_seconds
        self.scheduler = BackgroundScheduler(
            executors={"default": {"type": "threadpool", "max_workers": threads}},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        # Under `_changed`: jobs running now (a shutdown waits for them without holding the
        # scheduler's locks), and whether the stop has begun (no timer is armed, no job starts).
        self._changed = threading.Condition()
        self._running = 0
        self._stopping = False
        self._stopped = threading.Event()

    @property
    def horizon(self) -> timedelta:
        return timedelta(seconds=2 * self.sweep_seconds)

    def start(self) -> None:
        self.scheduler.start()
        self.scheduler.add_job(self._job, "interval", args=[self._sweep], seconds=self.sweep_seconds, id="sweep",
                               name="sweep",
                               next_run_time=datetime.now(UTC) + timedelta(seconds=self.sweep_seconds))

    def follow(self, request: Request) -> None:
        """The row as written: a timer for each kind of work it waits for within the horizon."""
        now = self.clock.now()
        due = schedule.due(request, self.policy(), now)
        with self._changed:
            if self._stopping:
                return
            for work in Work:
                job_id = f"{work.value}:{request.id}"
                at = due.get(work)
                if at is None or at <= now or at > now + self.horizon:
                    self._cancel(job_id)
                    continue
                self.scheduler.add_job(self._job, "date", run_date=self.clock.to_wall(at), id=job_id, name=job_id,
                                       args=[self._run, work, request.id, request.person_id], replace_existing=True)

    def soon(self, call: Callable[[], None]) -> None:
        """Run `call` on a timer thread now (replacing one not started yet)."""
        with self._changed:
            if not self._stopping:
                self.scheduler.add_job(self._job, "date", run_date=datetime.now(UTC), id="soon", name="soon",
                                       args=[call], replace_existing=True)

    def next_run(self, work: Work, request_id: str) -> datetime | None:
        job = self.scheduler.get_job(f"{work.value}:{request_id}")
        return job.next_run_time if job else None

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop. Nothing is lost: the next start reads the rows.

        No timer is armed any more, and every timer is dropped while the scheduler is paused
        (`remove_all_jobs` waits for a round of APScheduler's in progress): its thread runs one
        more round after `shutdown()`, and a timer due then would be submitted to the closed
        executor and removed from a stopped scheduler, which kills that thread with a traceback.
        Running jobs are waited for (up to `timeout`) after APScheduler's shutdown, not inside it:
        `shutdown(wait=True)` holds the lock a running job needs to replace a timer, and the two
        would wait for each other for ever. A job handed to the thread pool but not started yet
        does not start. A second call (the lease lost while stopping) waits for the first."""
        with self._changed:
            first, self._stopping = not self._stopping, True
        if not first:
            self._stopped.wait(timeout)
            return
        try:
            if self.scheduler.running:
                self.scheduler.pause()
                self.scheduler.remove_all_jobs()
                self.scheduler.shutdown(wait=False)
            with self._changed:
                if not self._changed.wait_for(lambda: self._running == 0, timeout=timeout):
                    log.warning("stopping with %d timer job(s) still running", self._running)
        finally:
            self._stopped.set()

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def _cancel(self, job_id: str) -> None:
        try:
            self.scheduler.remove_job(job_id)
        except JobLookupError:
            pass

    def _job(self, call: Callable[..., None], *args: object) -> None:
        with self._changed:
            if self._stopping:
                return  # queued in the pool when the stop began: the next start reads the rows
            self._running += 1
        try:
            call(*args)
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()
