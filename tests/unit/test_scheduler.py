"""APScheduler with the SQLAlchemy job store: jobs survive a restart, and a job that fell due
while the process was down runs once at start-up (misfire_grace_time=None)."""

import threading
from datetime import UTC, datetime, timedelta

from bot import scheduler as jobs
from bot.clock import SystemClock
from bot.scheduler import JobScheduler
from bot.store import make_engine


class Recorder:
    def __init__(self) -> None:
        self.reverts: list[str] = []
        self.applies: list[str] = []
        self.event = threading.Event()

    def apply(self, request_id: str) -> None:
        self.applies.append(request_id)
        self.event.set()

    def revert(self, request_id: str) -> bool:
        self.reverts.append(request_id)
        self.event.set()
        return True

    def sweep(self) -> None:
        return None


def test_a_revert_that_fell_due_while_down_runs_once_at_start_up(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/jobs.db"
    first = JobScheduler(make_engine(url), clock=SystemClock(), sweep_seconds=3600)
    first.scheduler.start(paused=True)  # a process that stores the job and dies before it is due
    first.schedule_revert("r1", datetime.now(UTC) - timedelta(hours=2))  # fell due two hours ago
    first.shutdown()  # must not drop the due job (APScheduler 3 would, on a plain shutdown)

    recorder = Recorder()
    jobs.bind(recorder)
    second = JobScheduler(make_engine(url), clock=SystemClock(), sweep_seconds=3600)
    try:
        second.start()
        assert recorder.event.wait(10), "the missed revert did not run at start-up"
    finally:
        second.shutdown()  # waits for running jobs
        jobs.bind(None)
    assert recorder.reverts == ["r1"]
    third = JobScheduler(make_engine(url), clock=SystemClock(), sweep_seconds=3600)
    third.scheduler.start(paused=True)
    assert third.next_run("revert:r1") is None  # a date job is gone from the store once it ran
    third.scheduler.shutdown(wait=False)


def test_rescheduling_replaces_and_unschedule_removes(tmp_path) -> None:
    scheduler = JobScheduler(make_engine(f"sqlite:///{tmp_path}/jobs.db"), clock=SystemClock(), sweep_seconds=3600)
    scheduler.scheduler.start(paused=True)
    try:
        at = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
        scheduler.schedule_revert("r1", at)
        scheduler.schedule_revert("r1", at + timedelta(hours=1))
        assert scheduler.next_run("revert:r1") == at + timedelta(hours=1)
        scheduler.schedule_apply("r1", at)
        scheduler.unschedule("r1")
        assert scheduler.next_run("revert:r1") is None and scheduler.next_run("apply:r1") is None
        scheduler.unschedule("r1")  # nothing left: no error
    finally:
        scheduler.scheduler.shutdown(wait=False)
