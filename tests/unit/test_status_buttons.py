"""Status-card buttons act on what the card showed, and the news of an end reaches the approvers:
cases a reviewer found where they did not."""

from __future__ import annotations

from bot.domain.model import Status
from tests.unit.fakes import ALICE, BOB, World, transient

SUBMIT = {"intent": "submit", "incoming.type": "INTERCEPT_ALL", "incoming.voicemailEnabled": "false",
          "incoming.announcements.greeting": "DEFAULT", "outgoing.type": "INTERCEPT_ALL"}


def _later(world: World) -> str:
    """An intercept on until 12-03 plus an approved request for next week."""
    world.request_and_approve(until="2026-12-03")
    world.clock.advance(minutes=1)
    world.say(ALICE, "intercept me next week")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT),
                {**SUBMIT, "from.date": "2026-12-07", "from.time": "00:00",
                 "until.date": "2026-12-11", "until.time": "23:59"})
    later = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    assert world.status(later.id) is Status.APPROVED
    world.clock.advance(minutes=1)
    return later.id


def _last_reply(world: World) -> str:
    return world.webex.sent[-1]["markdown"]


def test_cancel_while_extension_applying(tmp_path) -> None:
    world = World(tmp_path)
    later = _later(world)
    world.say(ALICE, "extend until 2026-12-03 20:00")
    world.webex.faults["get"] = [transient()]  # the takeover's apply is retried
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    applying = world.requests.for_person("alice", [Status.APPLYING])
    assert applying
    world.say(ALICE, "status")
    card = world.webex.sent[-1]["card"]
    assert [a["title"] for a in card["actions"]] == ["Cancel my request"]
    world.click(ALICE, world.live_card("status"), {"intent": "cancel"})
    assert world.status(later) is Status.CANCELLED


def test_cancel_while_reverting(tmp_path) -> None:
    world = World(tmp_path)
    later = _later(world)
    world.say(ALICE, "extend until 2026-12-03 20:00")
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    ext = world.requests.for_person("alice", [Status.ACTIVE])[-1]
    world.webex.faults["put"] = [transient()]
    world.clock.at = ext.end_at
    world.service.sweep()  # the end comes; Webex refuses the revert once: it is retried
    assert world.status(ext.id) is Status.REVERTING
    world.say(ALICE, "status")
    assert [a["title"] for a in world.webex.sent[-1]["card"]["actions"]] == ["Cancel my request"]
    world.click(ALICE, world.live_card("status"), {"intent": "cancel"})
    assert world.status(later) is Status.CANCELLED


def test_end_now_also_cancels_the_request_for_later(tmp_path) -> None:
    world = World(tmp_path)
    later = _later(world)
    world.say(ALICE, "status")
    assert [a["title"] for a in world.webex.sent[-1]["card"]["actions"]] == ["End now"]
    world.click(ALICE, world.live_card("status"), {"intent": "end"})
    assert world.status(later) is Status.APPROVED


def test_end_now_after_extension_approved(tmp_path) -> None:
    world = World(tmp_path)
    first = world.request_and_approve()
    world.say(ALICE, "status")
    rec = world.live_card("status")
    world.say(ALICE, "extend until 2026-12-06 12:00")
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    ext = world.requests.for_person("alice", [Status.ACTIVE])[-1]
    assert world.status(first) is Status.REPLACED
    world.click(ALICE, rec, {"intent": "end"})
    assert world.status(ext.id) is not Status.ACTIVE


def test_card_showed_approved_then_started(tmp_path) -> None:
    world = World(tmp_path)
    world.say(ALICE, "intercept me next week")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT),
                {**SUBMIT, "from.date": "2026-12-07", "from.time": "00:00",
                 "until.date": "2026-12-11", "until.time": "23:59"})
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    world.say(ALICE, "status")
    rec = world.live_card("status")
    world.clock.at = world.clock.at.replace(day=7)
    world.service.sweep()
    world.click(ALICE, rec, {"intent": "cancel"})
    assert _last_reply(world).startswith("That request is on now, until Fri 11 Dec 23:59")


def test_cancel_during_takeover_apply_approvers_not_told(tmp_path) -> None:
    world = World(tmp_path)
    world.request_and_approve()
    assert world.webex.said("Intercept for Alice Adler is on")
    world.say(ALICE, "extend until 2026-12-06 12:00")
    world.webex.faults["get"] = [transient()]
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    assert world.requests.for_person("alice", [Status.APPLYING])
    before = len(world.webex.sent)
    world.say(ALICE, "end now")
    assert world.webex.settings["alice"].enabled is False
    assert any(m["room"] != "dm-alice" for m in world.webex.sent[before:])  # approvers told it is off


def test_old_status_card_cancel_button(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve(approve=False)
    world.say(ALICE, "status")
    rec = world.live_card("status")
    world.click(ALICE, rec, {"intent": "end"})  # the "Cancel my request" button as sent before this change
    assert world.status(request_id) is Status.CANCELLED


def test_end_now_on_a_status_card_does_not_wait_for_other_peoples_locks(tmp_path) -> None:
    """The click holds Alice's lock; closing extensions left without their intercept must not then
    take someone else's lock (two people ending at once would wait for each other for ever)."""
    import dataclasses
    import threading

    world = World(tmp_path)
    first = world.request_and_approve()
    ended = dataclasses.replace(world.requests.get(first), id="carol-ended", person_id="carol",
                                person_email="carol@example.com", status=Status.REVERTED)
    waiting = dataclasses.replace(ended, id="carol-extension", status=Status.AWAITING_APPROVAL,
                                  extends_id="carol-ended")
    world.requests.add(ended)
    world.requests.add(waiting)  # Carol's extension of an intercept that is over: the sweep's job
    world.say(ALICE, "status")
    card = world.live_card("status")
    clicked = threading.Event()

    def click() -> None:
        world.click(ALICE, card, {"intent": "end"})
        clicked.set()

    with world.service.core.locks("carol"):  # Carol's own work is under way
        threading.Thread(target=click, daemon=True).start()
        assert clicked.wait(10), "Alice's End now waited for Carol's lock"
    assert world.status(first) is Status.REVERTED
    assert world.status("carol-extension") is Status.AWAITING_APPROVAL
    world.service.sweep()
    assert world.status("carol-extension") is Status.EXPIRED
