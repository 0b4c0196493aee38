"""Timers on APScheduler 3: one job per request and purpose, stored in the bot's own database.

- The job functions are module-level and take a request id only (APScheduler pickles a reference
  to the function and its arguments into the job store).
- `misfire_grace_time=None`: a revert that fell due while the process was down runs at start-up
  instead of being dropped (APScheduler's default grace is one second).
- Exactly one scheduler may run against a database, or every job would run once per process:
  `intercept-bot serve` is one process (see the Procfile).
- The reconciliation sweep runs every minute from a memory job store: it is recreated at start-up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

log = logging.getLogger(__name__)


class Runner(Protocol):
    def apply(self, request_id: str) -> None: ...
    def revert(self, request_id: str) -> bool: ...
    def remind(self, request_id: str) -> None: ...
    def sweep(self) -> None: ...


_runner: Runner | None = None
_running = 0  # jobs running now: a shutdown waits for them without holding the scheduler's locks
_running_changed = threading.Condition()


@contextmanager
def _job() -> Iterator[Runner]:
    """A running job: the bound service, counted while the job runs."""
    global _running
    runner = _runner
    if runner is None:
        raise RuntimeError("scheduler job ran before the service was bound")
    with _running_changed:
        _running += 1
    try:
        yield runner
    finally:
        with _running_changed:
            _running -= 1
            _running_changed.notify_all()


def bind(runner: Runner | None) -> None:
    """Tell the job functions which service to call (set once at start-up)."""
    global _runner
    _runner = runner


def run_apply(request_id: str) -> None:
    with _job() as runner:
        runner.apply(request_id)


def run_revert(request_id: str) -> None:
    with _job() as runner:
        runner.revert(request_id)


def run_remind(request_id: str) -> None:
    with _job() as runner:
        runner.remind(request_id)


def run_sweep() -> None:
    if _runner is not None:  # the sweep may fire before start-up bound the service: nothing to do yet
        with _job() as runner:
            runner.sweep()


class WallClock(Protocol):
    def to_wall(self, at: datetime) -> datetime: ...


class JobScheduler:
    """The `bot.domain.ports.Scheduler` on a BackgroundScheduler with a SQLAlchemyJobStore."""

    def __init__(self, engine: Engine, *, clock: WallClock, sweep_seconds: float = 60.0,
                 threads: int = 4) -> None:
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="scheduler_jobs"),
                       "volatile": MemoryJobStore()},
            executors={"default": {"type": "threadpool", "max_workers": threads}},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
            timezone=UTC,
        )

    def start(self) -> None:
        self.scheduler.start()
        self.scheduler.add_job(run_sweep, "interval", seconds=self.sweep_seconds, id="sweep",
                               jobstore="volatile", replace_existing=True,
                               next_run_time=datetime.now(UTC) + timedelta(seconds=self.sweep_seconds))

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop without touching stored jobs. APScheduler 3's thread runs one more round after
        `shutdown()` has closed the executors: a job due at that moment fails to submit and is then
        removed from its store as if it had run. Detaching the persistent store first keeps it.
        Running jobs are waited for (up to `timeout`) after APScheduler's shutdown, not inside it:
        `shutdown(wait=True)` holds the lock a running job needs to schedule a timer, and the two
        would wait for each other for ever. (A timer a job schedules after this is not stored; the
        next start-up gives every live request its timers back.)"""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        self.scheduler.remove_jobstore("default", shutdown=False)
        self.scheduler.shutdown(wait=False)
        with _running_changed:
            if not _running_changed.wait_for(lambda: _running == 0, timeout=timeout):
                log.warning("stopping with %d timer job(s) still running", _running)

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    def schedule_apply(self, request_id: str, at: datetime) -> None:
        self._at(f"apply:{request_id}", run_apply, request_id, at)

    def schedule_revert(self, request_id: str, at: datetime) -> None:
        self._at(f"revert:{request_id}", run_revert, request_id, at)

    def schedule_reminder(self, request_id: str, at: datetime) -> None:
        self._at(f"remind:{request_id}", run_remind, request_id, at)

    def unschedule(self, request_id: str) -> None:
        for job_id in (f"apply:{request_id}", f"revert:{request_id}", f"remind:{request_id}"):
            try:
                self.scheduler.remove_job(job_id, jobstore="default")
            except JobLookupError:
                pass

    def next_run(self, job_id: str) -> datetime | None:
        job = self.scheduler.get_job(job_id, jobstore="default")
        return job.next_run_time if job else None

    def _at(self, job_id: str, func: object, request_id: str, at: datetime) -> None:
        self.scheduler.add_job(func, "date", run_date=self.clock.to_wall(at), args=[request_id], id=job_id,
                               jobstore="default", replace_existing=True)
        log.info("scheduled %s at %s", job_id, at.isoformat())
