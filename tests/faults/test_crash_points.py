"""Deterministic crash points: the process dies right after a state change was stored, before the
work that follows it (withdrawing cards, telling people). After a restart (a new service on the
same store and stored jobs, `recover()`, the unfinished webhook event handled again, sweeps) that
work must still be done: a restart loses nothing. The SIGKILL chaos test finds these at random;
these pin each one down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.domain.model import Status
from bot.domain.ports import CardAction
from bot.domain.service import InterceptService
from bot.domain.values import CardKind, Recipient
from tests.unit.fakes import ALICE, BOB, ORIGINAL, World

CAROL_EMAIL = "carol@example.com"


class Died(BaseException):
    """The process died here (a BaseException, so no `except Exception` in the bot catches it)."""


def restart(world: World) -> InterceptService:
    """A new process: the same database, nothing in memory (timers are rebuilt from the rows)."""
    return world.restart()


def awaiting(world: World) -> str:
    world.say(ALICE, "intercept me until Friday")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT), {
        "intent": "submit", "incoming.type": "INTERCEPT_ALL", "incoming.voicemailEnabled": "true",
        "incoming.announcements.greeting": "DEFAULT", "outgoing.type": "INTERCEPT_ALL",
        "until.date": "2026-12-04", "until.time": "17:00"})
    return world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1].id


def die_once(target: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    original = getattr(target, name)
    calls = {"n": 0}

    def dying(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise Died(f"killed in {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, dying)


def live_approval_cards(world: World, request_id: str) -> list[str]:
    return [c.recipient.address for c in world.cards.for_request(request_id, CardKind.APPROVAL)
            if c.live and c.message_id not in world.webex.deleted]


@pytest.mark.parametrize(("intent", "status", "news"), [
    ("approve", Status.ACTIVE, "now intercepted until"),
    ("reject", Status.REJECTED, "rejected by Bob Brandt"),
])
def test_a_crash_right_after_a_decision_still_withdraws_the_cards_and_tells_the_requester(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, intent: str, status: Status, news: str) -> None:
    world = World(tmp_path, approvers=frozenset({BOB.email, CAROL_EMAIL}))
    request_id = awaiting(world)
    assert sorted(live_approval_cards(world, request_id)) == [BOB.email, CAROL_EMAIL]
    bobs = next(c for c in world.cards.for_request(request_id, CardKind.APPROVAL)
                if c.recipient == Recipient.approver(BOB.email))
    action = CardAction("a-decide", bobs.message_id, BOB.id, bobs.room_id, {"intent": intent})
    die_once(world.service.approval, "close_cards", monkeypatch)  # dies right after the decision is stored
    with pytest.raises(Died):
        world.service.handle_action(action)
    assert world.status(request_id) is (Status.APPROVED if intent == "approve" else Status.REJECTED)

    service = restart(world)
    service.handle_action(action)  # the webhook event was not finished: it is handled again
    world.run_until_quiet(sweeps=3)
    assert world.status(request_id) is status
    assert len(world.webex.puts) == (1 if intent == "approve" else 0)
    assert live_approval_cards(world, request_id) == [], "approval cards of a decided request keep their buttons"
    assert world.webex.said(news), f"the requester was never told {news!r}"


def test_a_crash_right_after_the_revert_still_tells_the_requester(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(tmp_path, approvers=frozenset({BOB.email}))
    request_id = awaiting(world)
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    assert world.status(request_id) is Status.ACTIVE
    world.clock.advance(days=3)
    world.timers.die_when(lambda r: r.status is Status.REVERTED, Died("killed right after REVERTED was stored"))
    with pytest.raises(Died):
        world.service.sweep()
    assert world.status(request_id) is Status.REVERTED and world.webex.settings["alice"] == ORIGINAL
    restart(world)
    world.run_until_quiet(sweeps=3)
    assert world.webex.settings["alice"] == ORIGINAL and len(world.webex.puts) == 2
    assert world.webex.said("previous call settings are back"), "the requester was never told"


def test_a_crash_right_after_the_apply_still_tells_the_requester(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(tmp_path, approvers=frozenset({BOB.email}))
    request_id = awaiting(world)
    world.timers.die_when(lambda r: r.status is Status.ACTIVE, Died("killed right after ACTIVE was stored"))
    card = world.live_card("approval", Status.AWAITING_APPROVAL)
    action = CardAction("a-approve", card.message_id, BOB.id, card.room_id, {"intent": "approve"})
    with pytest.raises(Died):
        world.service.handle_action(action)
    assert world.status(request_id) is Status.ACTIVE
    service = restart(world)
    service.handle_action(action)
    world.run_until_quiet(sweeps=1)
    assert len(world.webex.puts) == 1
    assert f"revert:{request_id}" in world.timers.jobs
    assert world.webex.said("now intercepted until"), "the requester was never told"
