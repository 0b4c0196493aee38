"""The timers on APScheduler: built from the rows, only for what falls due within the horizon,
replaced when a row changes, fired through the service's `run`, and stopped without waiting for
ever (the rows, not the timers, say what is due: `tests/unit/test_schedule.py`)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.adapters.timers import Timers
from bot.domain.model import Request, Status
from bot.domain.policy import Policy
from bot.domain.schedule import Work

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
POLICY = Policy(approvers=frozenset({"bob@example.com"}), approval_room_id=None, default_zone="UTC", max_days=30)


class Clock:
    """Domain time starts at NOW; a domain instant comes `offset` after the real time it maps to."""

    def __init__(self) -> None:
        self.at = NOW
        self.started = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at

    def to_wall(self, at: datetime) -> datetime:
        return self.started + (at - NOW)


def active(request_id: str = "r1", ends_in: timedelta = timedelta(minutes=30)) -> Request:
    return Request(id=request_id, person_id="alice", person_email="alice@example.com", person_name="Alice",
                   zone="Europe/Berlin", room_id="room", status=Status.ACTIVE, created_at=NOW, updated_at=NOW,
                   end_at=NOW + ends_in, applied_at=NOW)


def timers(clock: Clock, run: list[tuple[Work, str, str]] | None = None, sweep_seconds: float = 3600) -> Timers:
    fired = run if run is not None else []
    return Timers(clock=clock, policy=lambda: POLICY, run=lambda *args: fired.append(args), sweep=lambda: None,
                  sweep_seconds=sweep_seconds)


def test_a_row_gets_a_timer_per_kind_of_work_within_the_horizon_only() -> None:
    clock = Clock()
    subject = timers(clock)  # horizon: two hours
    subject.scheduler.start(paused=True)
    try:
        subject.follow(active("soon", ends_in=timedelta(minutes=30)))
        subject.follow(active("later", ends_in=timedelta(days=20)))
        assert subject.next_run(Work.REVERT, "soon") == clock.to_wall(NOW + timedelta(minutes=30))
        assert subject.next_run(Work.REMIND, "soon") == clock.to_wall(NOW + timedelta(minutes=15))
        assert subject.next_run(Work.REVERT, "later") is None  # a later sweep finds it, by its row
        assert len(subject.scheduler.get_jobs()) == 2
    finally:
        subject.scheduler.shutdown(wait=False)


def test_a_changed_row_replaces_its_timers_and_an_ended_one_drops_them() -> None:
    clock = Clock()
    subject = timers(clock)
    subject.scheduler.start(paused=True)
    try:
        request = active(ends_in=timedelta(minutes=50))
        subject.follow(request)
        shortened = Request(**{**request.__dict__, "end_at": NOW + timedelta(minutes=40)})
        subject.follow(shortened)
        assert subject.next_run(Work.REVERT, "r1") == clock.to_wall(NOW + timedelta(minutes=40))
        subject.follow(Request(**{**request.__dict__, "status": Status.REVERTED}))
        assert subject.scheduler.get_jobs() == []
    finally:
        subject.scheduler.shutdown(wait=False)


def test_work_due_now_is_not_a_timers() -> None:
    clock = Clock()
    subject = timers(clock)
    subject.scheduler.start(paused=True)
    try:
        subject.follow(active(ends_in=timedelta(minutes=5)))  # the reminder time has passed, the end not
        assert subject.next_run(Work.REMIND, "r1") is None  # whoever made it due does it, or the sweep
        assert subject.next_run(Work.REVERT, "r1") is not None
    finally:
        subject.scheduler.shutdown(wait=False)


def test_a_timer_fires_through_the_services_run() -> None:
    clock = Clock()
    fired: list[tuple[Work, str, str]] = []
    subject = timers(clock, fired)
    subject.start()
    try:
        clock.started = datetime.now(UTC) - timedelta(minutes=30) + timedelta(milliseconds=200)
        subject.follow(active(ends_in=timedelta(minutes=30)))  # its end comes 0.2 s from now, real time
        deadline = threading.Event()
        for _ in range(200):
            if len(fired) == 2:  # the reminder (15 minutes earlier: due at once) and the end
                break
            deadline.wait(0.05)
        assert sorted(fired) == [(Work.REMIND, "r1", "alice"), (Work.REVERT, "r1", "alice")]
    finally:
        subject.shutdown()


def test_a_shutdown_waits_for_a_running_job_that_rearms_a_timer() -> None:
    """A job still running when the bot stops may follow a row (re-arm a timer): the shutdown must
    neither deadlock on it nor leave the job cut off."""
    clock = Clock()
    entered, release, finished = threading.Event(), threading.Event(), threading.Event()
    holder: list[Timers] = []

    def run(work: Work, request_id: str, person_id: str) -> None:
        entered.set()
        release.wait(10)
        holder[0].follow(active("other", ends_in=timedelta(minutes=40)))
        finished.set()

    subject = Timers(clock=clock, policy=lambda: POLICY, run=run, sweep=lambda: None, sweep_seconds=3600)
    holder.append(subject)
    subject.start()
    clock.started = datetime.now(UTC) - timedelta(minutes=30)
    subject.follow(active(ends_in=timedelta(minutes=30)))  # due at once, in wall time
    assert entered.wait(10), "the timer did not fire"
    stopper = threading.Thread(target=subject.shutdown)
    stopper.start()
    release.set()
    stopper.join(20)
    assert not stopper.is_alive(), "the shutdown deadlocked with a running job"
    assert finished.is_set()


def test_a_timer_queued_when_the_stop_begins_does_not_start_and_a_second_stop_waits() -> None:
    """One pool thread: one timer's work is running, the next one's is queued behind it when the bot
    stops (and, the lease lost meanwhile, stops again). The queued work must not start after the stop
    began; the second stop must neither fail nor return before the first is done."""
    from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent

    clock = Clock()
    clock.started = datetime.now(UTC) - timedelta(minutes=30)  # both timers below are due at once
    started: list[str] = []
    running, release, queued = threading.Event(), threading.Event(), threading.Event()

    def run(work: Work, request_id: str, person_id: str) -> None:
        started.append(request_id)
        running.set()
        release.wait(10)

    subject = Timers(clock=clock, policy=lambda: replace(POLICY, reminder=timedelta(0)), run=run,
                     sweep=lambda: None, sweep_seconds=3600, threads=1)
    subject.start()

    def submitted(event: JobSubmissionEvent) -> None:
        if event.job_id == f"{Work.REVERT.value}:second":
            queued.set()

    subject.scheduler.add_listener(submitted, EVENT_JOB_SUBMITTED)
    subject.follow(active("first", ends_in=timedelta(minutes=30)))
    assert running.wait(10), "the first timer did not fire"
    subject.follow(active("second", ends_in=timedelta(minutes=30)))
    assert queued.wait(10), "the second timer was not handed to the pool"
    first = threading.Thread(target=subject.shutdown)
    second = threading.Thread(target=subject.shutdown)
    first.start()
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second stop returned while the first was still waiting"
    release.set()
    first.join(20)
    second.join(20)
    assert not first.is_alive() and not second.is_alive()
    assert started == ["first"]
