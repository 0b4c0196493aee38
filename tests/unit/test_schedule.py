"""The rows are the one schedule: one rule per kind of due work, a sweep that runs what is due and
hands the timers only what falls due within their horizon, and a start-up that does not grow with
the number of pending intercepts. A revert that fell due while the bot was down runs at start, once."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import schedule
from bot.domain.model import Request, Status
from bot.domain.policy import Policy
from bot.domain.schedule import Work
from tests.unit.fakes import ALICE, BOB, ORIGINAL, FakeTimers, World

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
POLICY = Policy(approvers=frozenset({"bob@example.com"}), approval_room_id=None, default_zone="UTC", max_days=30,
                approval_ttl=timedelta(hours=24), reminder=timedelta(minutes=15))
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)


def row(status: Status, **times: Any) -> Request:
    return Request(id="r", person_id="alice", person_email="alice@example.com", person_name="Alice", zone="UTC",
                   room_id="room", status=status, created_at=NOW - HOUR, updated_at=NOW - HOUR, **times)


@pytest.mark.parametrize(("request_", "due"), [
    (row(Status.FORM_SENT, end_at=NOW + 48 * HOUR), {Work.EXPIRE: NOW + 23 * HOUR}),
    (row(Status.FORM_SENT, end_at=NOW + 5 * HOUR), {Work.EXPIRE: NOW + 5 * HOUR}),
    (row(Status.AWAITING_APPROVAL, end_at=NOW + 2 * HOUR), {Work.EXPIRE: NOW + 2 * HOUR}),
    (row(Status.APPROVED, end_at=NOW + 5 * HOUR), {Work.APPLY: NOW}),
    (row(Status.APPROVED, start_at=NOW + HOUR, end_at=NOW + 5 * HOUR), {Work.APPLY: NOW + HOUR}),
    (row(Status.APPLYING, retry_at=NOW + HOUR), {Work.APPLY: NOW + HOUR}),
    (row(Status.APPLYING), {Work.APPLY: NOW}),
    (row(Status.ACTIVE, end_at=NOW + HOUR, applied_at=NOW - HOUR),
     {Work.REVERT: NOW + HOUR, Work.REMIND: NOW + HOUR - timedelta(minutes=15)}),
    (row(Status.ACTIVE, end_at=NOW + 10 * MINUTE, applied_at=NOW), {Work.REVERT: NOW + 10 * MINUTE}),
    (row(Status.REVERTING, retry_at=NOW + HOUR, end_at=NOW - HOUR), {Work.REVERT: NOW + HOUR}),
    (row(Status.REVERTING), {Work.REVERT: NOW}),
    (row(Status.REVERTED, end_at=NOW - HOUR), {}),
    (row(Status.REPLACED, end_at=NOW + HOUR), {}),
])
def test_one_rule_per_kind_of_due_work(request_: Request, due: dict[Work, datetime]) -> None:
    assert schedule.due(request_, POLICY, NOW) == due


def test_no_reminder_when_the_policy_has_none() -> None:
    active = row(Status.ACTIVE, end_at=NOW + HOUR, applied_at=NOW)
    assert schedule.due(active, replace(POLICY, reminder=timedelta(0)), NOW) == {Work.REVERT: NOW + HOUR}


class Horizon(FakeTimers):
    """Timers with a real horizon: what they were asked to follow is counted."""

    def __init__(self, world: World, horizon: timedelta) -> None:
        super().__init__(world.clock, lambda: world.service.policy)
        self.horizon = horizon  # type: ignore[misc]
        self.followed: Counter[str] = Counter()

    def follow(self, request: Request) -> None:
        self.followed[request.id] += 1
        super().follow(request)


def active_rows(world: World, count: int, ends_in: timedelta) -> list[str]:
    ids = []
    for number in range(count):
        request = Request(id=f"p{number}", person_id=f"person{number}", person_email=f"p{number}@example.com",
                          person_name=f"P {number}", zone="UTC", room_id=f"dm-{number}", status=Status.ACTIVE,
                          created_at=world.clock.now(), updated_at=world.clock.now(), applied_at=world.clock.now(),
                          end_at=world.clock.now() + ends_in + timedelta(seconds=number), snapshot=ORIGINAL,
                          requested=replace(ORIGINAL, enabled=True))
        world.requests.add(request)
        world.webex.settings[request.person_id] = request.requested  # type: ignore[assignment]
        ids.append(request.id)
    return ids


def test_a_sweep_hands_the_timers_only_what_falls_due_within_their_horizon() -> None:
    world = World()
    far = active_rows(world, 300, ends_in=timedelta(days=10))
    world.timers = timers = Horizon(world, horizon=timedelta(minutes=2))
    world.service = world._service()
    soon = world.request_and_approve(until="2026-12-02", **{"until.time": "10:20"})  # Berlin: in 20 minutes
    timers.followed.clear()
    world.clock.advance(minutes=5)  # the reminder (10:05 Berlin) is due now; the end is 15 minutes away
    world.service.sweep()
    assert set(timers.followed) <= {soon}, "the sweep looked at intercepts that end in ten days"
    assert not [job for job in timers.jobs if any(job.endswith(f":{r}") for r in far)]
    assert world.webex.said("Your intercept ends")  # the reminder due now went out with this sweep
    world.clock.advance(minutes=14)
    world.service.sweep()
    assert f"revert:{soon}" in timers.jobs  # within the horizon now: a timer holds it


def test_start_up_work_does_not_grow_with_the_pending_intercepts() -> None:
    """Many intercepts pending revert in weeks: start-up reads none of them."""
    world = World()
    active_rows(world, 500, ends_in=timedelta(days=20))
    reads: Counter[str] = Counter()
    original = world.requests.with_status

    def counted(statuses: Any) -> list[Request]:
        found = original(statuses)
        reads["rows"] += len(found)
        return found

    world.requests.with_status = counted  # type: ignore[method-assign]
    world.timers = Horizon(world, horizon=timedelta(minutes=2))
    world.restart()
    assert reads["rows"] == 0, "start-up read every pending intercept"
    assert world.timers.jobs == {}


def test_a_revert_that_fell_due_while_down_runs_at_start_once() -> None:
    world = World()
    request_id = world.request_and_approve()
    world.clock.advance(days=3)  # the bot was down when the end came
    world.restart()
    assert world.status(request_id) is Status.REVERTED
    assert world.webex.settings["alice"] == ORIGINAL and len(world.webex.puts) == 2
    world.restart()
    world.service.sweep()
    assert len(world.webex.puts) == 2  # not twice


def test_a_stale_timer_does_nothing() -> None:
    """The end moved earlier (the row changed) and was reverted: the old end's timer fires anyway."""
    world = World()
    request_id = world.request_and_approve()
    world.say(ALICE, "end now")
    puts = len(world.webex.puts)
    world.clock.advance(days=3)
    world.service.run(Work.REVERT, request_id)
    world.service.run(Work.REMIND, request_id)
    assert len(world.webex.puts) == puts and world.status(request_id) is Status.REVERTED


def test_a_clock_moved_past_the_reminder_time_gets_the_reminder_at_the_next_sweep() -> None:
    """As the sandbox does: the clock jumps, no timer fires at the new time; the rows say what is due."""
    world = World()
    world.say(ALICE, "intercept me for 2 hours")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT), {
        "intent": "submit", "incoming.type": "INTERCEPT_ALL", "incoming.announcements.greeting": "DEFAULT",
        "outgoing.type": "INTERCEPT_ALL", "until.date": "2026-12-02", "until.time": "12:00"})
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    world.clock.advance(minutes=110)
    world.service.sweep()
    assert world.webex.said("Your intercept ends")
