"""A phrase with two readings: the form has the likelier, says so, and one button swaps to the other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.model import Status
from bot.domain.values import CardKind
from tests.unit.fakes import ALICE, BOB, World, transient


def _inputs(card: dict[str, Any]) -> dict[str, str]:
    """What a card client submits: each input's value as the card draws it."""
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("id") and "value" in node and node.get("type", "").startswith("Input."):
                found[node["id"]] = str(node["value"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card["body"])
    return found


def _form(world: World) -> tuple[Any, dict[str, Any]]:
    record = world.live_card("form", Status.FORM_SENT)
    sent = next(m for m in reversed(world.webex.sent) if m["id"] == record.message_id)
    return record, sent["card"]


def _titles(card: dict[str, Any]) -> list[str]:
    return [action["title"] for action in card["actions"]]


def test_an_hour_without_am_pm_is_prefilled_as_the_afternoon_and_the_morning_is_one_click_away() -> None:
    world = World()  # Wed 2 Dec 2026, 10:00 in Berlin
    world.say(ALICE, "intercept me until 5")
    record, card = _form(world)
    values = _inputs(card)
    assert (values["until.date"], values["until.time"]) == ("2026-12-02", "17:00")
    assert "Meant until Thu 3 Dec 05:00?" in _titles(card)
    assert any("can be read two ways" in str(block.get("text", "")) for block in card["body"])

    world.click(ALICE, record, {**values, "reason": "dentist", "intent": "other_reading"})
    record, card = _form(world)
    values = _inputs(card)
    assert (values["until.date"], values["until.time"]) == ("2026-12-03", "05:00")
    assert values["reason"] == "dentist"  # what the requester had typed is kept
    assert "Meant until Wed 2 Dec 17:00?" in _titles(card)  # and the button swaps back

    world.click(ALICE, record, {**values, "intent": "other_reading"})
    _, card = _form(world)
    assert (_inputs(card)["until.date"], _inputs(card)["until.time"]) == ("2026-12-02", "17:00")
    assert len([c for c in world.cards.for_request(record.request_id, CardKind.FORM) if c.live]) == 1  # one form


def test_a_phrase_with_one_reading_has_no_such_button_and_a_forged_click_changes_nothing() -> None:
    world = World()
    world.say(ALICE, "intercept me until Friday 17:00")
    record, card = _form(world)
    assert not [t for t in _titles(card) if t.startswith("Meant")]
    before = world.requests.get(record.request_id).draft
    world.click(ALICE, record, {**_inputs(card), "intent": "other_reading"})
    assert world.requests.get(record.request_id).draft == before
    assert world.live_card("form", Status.FORM_SENT).message_id == record.message_id


def test_only_the_requester_can_swap_the_reading() -> None:
    world = World()
    world.say(ALICE, "intercept me until next Friday")  # Wednesday: next week's, or the day after tomorrow?
    record, card = _form(world)
    assert _inputs(card)["until.date"] == "2026-12-11"
    assert "Meant until Fri 4 Dec 23:59?" in _titles(card)
    world.click(BOB, record, {**_inputs(card), "intent": "other_reading"})
    assert world.requests.get(record.request_id).draft["until.date"] == "2026-12-11"


def _submit(world: World, changes: dict[str, str] | None = None) -> str:
    record, card = _form(world)
    world.click(ALICE, record, {**_inputs(card), "intent": "submit", **(changes or {})})
    return record.request_id


def test_a_duration_counts_from_when_the_intercept_goes_on_not_from_when_it_was_asked() -> None:
    world = World()  # Wed 2 Dec 2026, 10:00 in Berlin
    world.say(ALICE, "intercept me for 2 hours")
    _, card = _form(world)
    assert (_inputs(card)["until.date"], _inputs(card)["until.time"]) == ("2026-12-02", "12:00")
    assert any("For 2 hours from when it goes on" in str(block.get("text", "")) for block in card["body"])
    request_id = _submit(world)
    approval = next(m for m in reversed(world.webex.sent) if m["card"] and "Approve" in str(m["card"]))
    assert "as soon as approved, for 2 hours" in str(approval["card"])
    world.clock.advance(minutes=45)  # the approver took their time
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    request = world.requests.get(request_id)
    assert request.status is Status.ACTIVE
    assert request.end_at == world.clock.now() + timedelta(hours=2)  # 12:45, not 12:00


def test_a_duration_resumed_after_a_crash_counts_from_when_the_put_went_through_not_from_the_restart() -> None:
    world = World()
    world.say(ALICE, "intercept me for 2 hours")
    request_id = _submit(world)
    approved_at = world.clock.now()
    world.webex.faults["get"] = [None, transient()]  # the PUT took; its check did not come back
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    assert world.status(request_id) is Status.APPLYING and len(world.webex.puts) == 1
    world.clock.advance(hours=3)  # the bot was down meanwhile
    world.service.sweep()
    request = world.requests.get(request_id)
    assert request is not None and request.end_at == approved_at + timedelta(hours=2)  # not 3 hours from now
    world.service.sweep()
    assert world.status(request_id) is Status.REVERTED
    assert len(world.webex.puts) == 2  # on once (found on when resumed), back once


def test_a_duration_whose_end_was_changed_on_the_form_keeps_the_end_chosen() -> None:
    world = World()
    world.say(ALICE, "intercept me for 2 hours")
    request_id = _submit(world, {"until.time": "13:30"})
    world.clock.advance(minutes=45)
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    assert world.requests.get(request_id).end_at == datetime(2026, 12, 2, 12, 30, tzinfo=UTC)  # 13:30 Berlin
    assert world.requests.get(request_id).lasts is None


def test_a_form_that_replaces_an_earlier_one_says_so() -> None:
    world = World()
    world.say(ALICE, "intercept me until Friday")
    first, card = _form(world)
    assert "replaces" not in str(card["body"])
    world.say(ALICE, "intercept me until Monday")
    second, card = _form(world)
    assert second.request_id != first.request_id
    assert any("This form replaces the one I sent you before" in str(b.get("text", "")) for b in card["body"])


def test_the_approval_card_says_what_callers_hear_and_the_result_says_when_it_began() -> None:
    world = World()
    request_id = world.request_and_approve(**{"incoming.announcements.zeroTransfer.enabled": "true",
                                              "incoming.announcements.zeroTransfer.destination": "+4930123456"})
    cards = [str(m["card"]).replace("\\", "") for m in world.webex.sent if m["card"]]  # markdown escapes off
    assert any("callers who press 0 go to +4930123456" in card for card in cards)
    result = next(card for card in reversed(cards) if "approved by bob" in card.lower())
    assert "as soon as approved" not in result and "Wed 2 Dec 10:00 Europe/Berlin →" in result
    assert world.status(request_id) is Status.ACTIVE
