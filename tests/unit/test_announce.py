"""News from the audit log: told once, in order, and not lost when Webex does not answer."""

from __future__ import annotations

import threading

import pytest

from bot.domain.announce import HOLD, Announcer
from bot.domain.model import Status
from bot.domain.values import Reason
from tests.unit.fakes import ALICE, World, transient


def test_news_webex_did_not_take_is_told_at_the_next_flush(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve()
    world.clock.advance(days=3)
    world.webex.faults["send"] = [transient()]  # "your settings are back" does not go
    world.service.sweep()
    assert world.status(request_id) is Status.REVERTED
    assert world.webex.said("previous call settings are back") == []
    world.service.sweep()
    assert len(world.webex.said("previous call settings are back")) == 1


def test_a_message_that_keeps_failing_is_given_up_and_the_rest_is_told(tmp_path) -> None:
    world = World(tmp_path)
    world.say(ALICE, "intercept me until Friday")
    world.webex.faults["send"] = [transient()] * Announcer.TRIES
    world.click(ALICE, world.live_card("form"), {"intent": "cancel"})
    for _ in range(Announcer.TRIES):
        world.service.announcer.flush()
    assert world.webex.said("Cancelled: nothing was changed") == []  # given up after its tries
    world.say(ALICE, "intercept me until Friday")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT), {"intent": "cancel"})
    assert len(world.webex.said("Cancelled: nothing was changed")) == 1  # the next news is told


def test_each_row_is_told_once(tmp_path) -> None:
    world = World(tmp_path)
    world.request_and_approve()
    told = len(world.webex.sent)
    for _ in range(3):
        world.service.announcer.flush()
        world.service.sweep()
    assert len(world.webex.sent) == told
    assert world.stores.audit.untold(world.clock.now(), hold=HOLD, limit=1000) == []


def _story(world: World) -> list[tuple[str, str]]:
    world.request_and_approve()
    world.say(ALICE, "cancel")
    world.run_until_quiet(sweeps=3)
    return [(m["room"], m["markdown"]) for m in world.webex.sent if m["card"] is None]


def test_two_processes_flushing_at_once_tell_each_row_once_and_each_requests_news_in_order() -> None:
    """A second announcer on the same rows (another process) flushes in the middle of every send
    of the first: together they send what one alone sends, once, and in the same order per room."""
    alone = _story(World())
    world = World()
    other = Announcer(stores=world.stores, outbox=world.service.core.outbox, clock=world.clock,
                      policy=lambda: world.policy)
    busy = threading.Lock()

    def meanwhile() -> None:
        if busy.acquire(blocking=False):  # the other's own sends do not start a third
            try:
                other.flush()
            finally:
                busy.release()

    world.webex.on_send = meanwhile
    together = _story(world)
    assert sorted(together) == sorted(alone)
    for room in {room for room, _text in alone}:
        assert [t for r, t in together if r == room] == [t for r, t in alone if r == room]


def test_a_row_held_by_a_flush_that_died_is_told_after_its_hold_runs_out(monkeypatch) -> None:
    world = World()
    world.say(ALICE, "intercept me until Friday")
    with monkeypatch.context() as patch:
        patch.setattr(world.service.announcer, "flush", lambda: None)  # this process has not told it yet...
        world.click(ALICE, world.live_card("form"), {"intent": "cancel"})
    held = world.stores.audit.untold(world.clock.now(), hold=HOLD, limit=1000)  # ... another took it and died
    assert [row.entry.reason for row in held] == [Reason.FORM_CANCELLED]
    world.service.announcer.flush()
    assert world.webex.said("Cancelled: nothing was changed") == []  # held
    world.clock.advance(minutes=HOLD.total_seconds() / 60 + 1)
    world.service.announcer.flush()
    assert len(world.webex.said("Cancelled: nothing was changed")) == 1


class Died(BaseException):
    """The process dies (nothing after this runs: not even the flush's own error handling)."""


def test_a_process_that_dies_half_way_through_its_news_does_not_send_them_again(monkeypatch) -> None:
    world = World()
    with monkeypatch.context() as patch:
        patch.setattr(world.service.announcer, "flush", lambda: None)  # nothing told yet
        world.request_and_approve()
    sends = 0

    def die_at_the_third() -> None:
        nonlocal sends
        sends += 1
        if sends == 3:
            raise Died

    world.webex.on_send = die_at_the_third
    with pytest.raises(Died):
        world.service.announcer.flush()
    told = [m["markdown"] for m in world.webex.sent if m["card"] is None]
    assert len(told) == 2
    world.webex.on_send = None
    world.clock.advance(minutes=HOLD.total_seconds() / 60 + 1)  # the dead one's claim runs out
    world.service.announcer.flush()
    after = [m["markdown"] for m in world.webex.sent if m["card"] is None]
    assert after[:2] == told and len(after) == len(set(after))  # the two sent are not sent again


def test_a_row_whose_news_cannot_be_made_is_passed_over_and_the_rest_told(monkeypatch) -> None:
    world = World()
    news = world.service.announcer._news

    def broken(row, request):  # type: ignore[no-untyped-def]
        if row.target is Status.AWAITING_APPROVAL:
            raise RuntimeError("a bug")
        return news(row, request)

    monkeypatch.setattr(world.service.announcer, "_news", broken)
    world.request_and_approve()
    assert world.webex.said("now intercepted until")  # the rows after the broken one were told
    assert world.stores.audit.untold(world.clock.now() + HOLD * 2, hold=HOLD, limit=100) == []
