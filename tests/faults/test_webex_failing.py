"""Webex failing: request -> approve -> apply -> revert while the emulator answers the bot's calls
with 429 (Retry-After in seconds, as an HTTP date, garbage, absent), 423, 500, 502, 503, slowly,
or with 401 (the admin token refused). Every flow completes, or ends with a clear message to the
right person; no revert is lost, no intercept is put twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from tests.e2e.harness import Chat, People, filled, wait_until
from tests.faults.conftest import BotFactory
from tests.faults.helpers import CHANGES, ORIGINALS, live_cards, put_body, puts, requested_body, texts_to

pytestmark = pytest.mark.e2e

ORIGINAL = ORIGINALS[1]
CHANGE = CHANGES[1]
APPROVERS = "bob@example.com,carol@example.com"


def http_date(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@dataclass(frozen=True)
class Fault:
    """What the emulator answers, and where in the flow (each spot: the next matching call)."""

    name: str
    status: int  # 0: a normal answer, after `delay`
    retry_after: Callable[[], str | None] = lambda: None
    delay: float = 0.0
    times: int = 1  # consecutive failures at each spot
    spots: tuple[str, ...] = ("action", "snapshot", "apply-put", "message", "revert-get", "revert-put")


# spot -> (method, path pattern, phase); {person} is the requester's id
SPOTS = {
    "action": ("GET", r"/attachment/actions/.+", "approve"),  # fetching the approver's click
    "snapshot": ("GET", r"/people/{person}/features/intercept", "approve"),  # the snapshot read
    "apply-put": ("PUT", r"/people/{person}/features/intercept", "approve"),
    "message": ("POST", r"/messages", "approve"),  # the first message the bot sends after the click
    "revert-get": ("GET", r"/people/{person}/features/intercept", "revert"),  # the read before the revert
    "revert-put": ("PUT", r"/people/{person}/features/intercept", "revert"),
}

FAULTS = [
    Fault("429 Retry-After seconds", 429, lambda: "1"),
    Fault("429 Retry-After HTTP date", 429, lambda: http_date(2), spots=("action", "apply-put", "revert-put")),
    Fault("429 Retry-After garbage", 429, lambda: "soon, please", spots=("apply-put", "revert-get")),
    Fault("429 Retry-After absent", 429, spots=("action", "revert-put")),
    Fault("423 Retry-After seconds", 423, lambda: "1", spots=("snapshot", "revert-put")),
    Fault("500", 500, times=2, spots=("action", "apply-put", "message", "revert-put")),
    Fault("502", 502, times=2, spots=("snapshot", "apply-put", "revert-get")),
    Fault("503", 503, times=2, spots=("action", "apply-put", "revert-put")),
    Fault("slow (3 s, under the 15 s client timeout)", 0, delay=3.0, spots=("action", "apply-put", "revert-get")),
]


def arm(emu: Any, fault: Fault, person: Any, phase: str) -> int:
    armed = 0
    for spot in fault.spots:
        method, pattern, when = SPOTS[spot]
        if when == phase:
            emu.fail(method, pattern.format(person=person.id), fault.status, times=fault.times,
                     retry_after=fault.retry_after(), delay=fault.delay)
            armed += fault.times
    return armed


def request_and_get_card(chat: Chat, person: Any, approver: Any, phrase: str = "intercept me for 2 hours") -> str:
    """The person asks and sends the form; returns their direct room once the approver has a card."""
    chat.say(person, phrase)
    room = chat.direct_room(person)
    form = chat.wait_card(room, "until.date")
    chat.submit(person, form, {**filled(form, **CHANGE), "intent": "submit"})
    chat.wait_bot_text(room, "Sent for approval")
    wait_until(lambda: live_cards(chat, chat.direct_room(approver), "comment", person.display_name), 20,
               "the approval card")
    return room


def approve(chat: Chat, person: Any, approver: Any) -> None:
    card = live_cards(chat, chat.direct_room(approver), "comment", person.display_name)[-1]
    chat.submit(approver, card, {"intent": "approve", "comment": ""})


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_the_flow_completes_while_webex_answers_with_errors_or_slowly(
        world: tuple[Any, People, Chat], start_bot: BotFactory, fault: Fault, report) -> None:
    emu, people, chat = world
    alice, bob = people.alice, people.bob
    emu.set_intercept(alice.id, ORIGINAL)
    bot = start_bot(approvers=APPROVERS)
    started = time.monotonic()
    room = request_and_get_card(chat, alice, bob)
    answered_before = len([r for r in emu.requests if fault.status and r.status == fault.status])
    armed = arm(emu, fault, alice, "approve")
    approve(chat, alice, bob)
    bot.wait_status(alice.id, "active", timeout=90)
    chat.wait_bot_text(room, "now intercepted until", timeout=60)
    body = requested_body(ORIGINAL, CHANGE)
    assert len(puts(emu, alice, body)) == 1
    assert emu.get_intercept(alice.id)["enabled"] is True

    armed += arm(emu, fault, alice, "revert")
    bot.sandbox_clock(3 * 3600)
    bot.wait_status(alice.id, "reverted", timeout=90)
    chat.wait_bot_text(room, "previous call settings are back", timeout=60)
    assert emu.get_intercept(alice.id) == ORIGINAL
    assert len(puts(emu, alice, put_body(ORIGINAL))) == 1
    assert len(puts(emu, alice)) == 2
    said = texts_to(chat, room)
    assert sum("now intercepted until" in t for t in said) == 1
    assert sum("previous call settings are back" in t for t in said) == 1
    elapsed = time.monotonic() - started
    if fault.status:  # every armed failure was answered to the bot
        answered = len([r for r in emu.requests if r.status == fault.status]) - answered_before
        assert answered == armed, f"{answered} answers {fault.status}, {armed} armed"
    else:
        assert elapsed >= fault.delay * armed
    report(f"Webex failing, {fault.name}: {armed} faulty answers at {', '.join(fault.spots)}: "
           f"applied once, reverted once, requester told both ({elapsed:.1f} s)")


def test_a_retry_after_longer_than_the_client_waits_reschedules_apply_and_revert(
        world: tuple[Any, People, Chat], start_bot: BotFactory, report) -> None:
    """429 with Retry-After: 600 is more than the client blocks a thread for: the apply (and the
    revert) is rescheduled; the requester hears it is being retried; it completes later."""
    emu, people, chat = world
    alice, bob = people.alice, people.bob
    emu.set_intercept(alice.id, ORIGINAL)
    bot = start_bot(approvers=APPROVERS)
    intercept = rf"/people/{alice.id}/features/intercept"
    room = request_and_get_card(chat, alice, bob)
    emu.fail("PUT", intercept, 429, retry_after="600")
    approve(chat, alice, bob)
    chat.wait_bot_text(room, "I am retrying")
    assert bot.request_statuses(alice.id) == ["applying"]
    bot.sandbox_clock(60)  # past the bot's own backoff
    bot.wait_status(alice.id, "active", timeout=30)
    chat.wait_bot_text(room, "now intercepted until")
    emu.fail("PUT", intercept, 429, retry_after="600")
    bot.sandbox_clock(3 * 3600)
    wait_until(lambda: bot.db("SELECT attempts FROM intercept_requests WHERE person_id = :person",
                                     person=alice.id)[0][0] >= 1,
               30, "a failed revert attempt")
    assert bot.request_statuses(alice.id) == ["reverting"]
    bot.sandbox_clock(60)
    bot.wait_status(alice.id, "reverted", timeout=30)
    chat.wait_bot_text(room, "previous call settings are back")
    assert emu.get_intercept(alice.id) == ORIGINAL
    assert len(puts(emu, alice)) == 2
    assert len(emu.requests_matching("PUT", intercept)) == 4  # two refused, two taken
    report("Webex failing, 429 Retry-After 600 (beyond the client's 30 s cap): apply and revert "
           "rescheduled, requester told, both completed")


def test_a_refused_admin_token_at_the_end_keeps_the_revert_going_and_tells_the_approvers(
        world: tuple[Any, People, Chat], start_bot: BotFactory, report) -> None:
    """401 on every intercept call when the end comes: the revert is retried with backoff (the
    sandbox clock is moved past each wait), the approvers are told after 3 failures; once the token
    is accepted again the revert completes and the requester is told."""
    emu, people, chat = world
    alice, bob, carol = people.alice, people.bob, people.carol
    emu.set_intercept(alice.id, ORIGINAL)
    bot = start_bot(approvers=APPROVERS)
    intercept = rf"/people/{alice.id}/features/intercept"
    room = request_and_get_card(chat, alice, bob)
    approve(chat, alice, bob)
    bot.wait_status(alice.id, "active")
    emu.fail("*", intercept, 401, times=10_000, body={"message": "The request requires a valid access token."})
    bot.sandbox_clock(3 * 3600)

    def attempts() -> int:
        return int(bot.db("SELECT attempts FROM intercept_requests WHERE person_id = :person", person=alice.id)[0][0])

    for attempt in range(1, 5):
        wait_until(lambda a=attempt: attempts() >= a, 30, f"revert attempt {attempt}")
        assert bot.request_statuses(alice.id) == ["reverting"]
        bot.sandbox_clock(11 * 60)  # past the backoff (30 s, 60 s, 2 min, ... at most 10 min)
    for approver in (bob, carol):
        told = chat.wait_bot_text(chat.direct_room(approver), "has failed 3 times")
        assert "Alice Adler" in told["markdown"] and "admin token" in told["markdown"]
    assert emu.get_intercept(alice.id)["enabled"] is True  # still on: nothing could change it
    assert not [t for t in texts_to(chat, room) if "previous call settings are back" in t]
    refused, tried = len([r for r in emu.requests_matching("*", intercept) if r.status == 401]), attempts()
    emu.clear_faults()  # the token works again
    bot.sandbox_clock(11 * 60)
    bot.wait_status(alice.id, "reverted", timeout=30)
    chat.wait_bot_text(room, "previous call settings are back")
    assert emu.get_intercept(alice.id) == ORIGINAL
    assert len(puts(emu, alice, put_body(ORIGINAL))) == 1
    report(f"Webex failing, 401 at the revert: {refused} calls refused over {tried} attempts, "
           "approvers told after 3, reverted once the token worked again")


def test_a_refused_admin_token_when_applying_fails_the_request_and_tells_requester_and_approvers(
        world: tuple[Any, People, Chat], start_bot: BotFactory, report) -> None:
    emu, people, chat = world
    alice, bob, carol = people.alice, people.bob, people.carol
    emu.set_intercept(alice.id, ORIGINAL)
    bot = start_bot(approvers=APPROVERS)
    room = request_and_get_card(chat, alice, bob)
    emu.fail("*", rf"/people/{alice.id}/features/intercept", 401, times=10_000)
    approve(chat, alice, bob)
    bot.wait_status(alice.id, "failed")
    told = chat.wait_bot_text(room, "could not be applied")
    assert "Nothing was changed" in told["markdown"]
    for approver in (bob, carol):
        chat.wait_bot_text(chat.direct_room(approver), "Applying the intercept for Alice Adler failed")
    emu.clear_faults()
    assert emu.get_intercept(alice.id) == ORIGINAL
    assert puts(emu, alice) == []
    report("Webex failing, 401 when applying: request failed, nothing changed, requester and approvers told")


def test_a_put_refused_after_the_snapshot_is_undone_and_said(
        world: tuple[Any, People, Chat], start_bot: BotFactory, report) -> None:
    emu, people, chat = world
    alice, bob = people.alice, people.bob
    emu.set_intercept(alice.id, ORIGINAL)
    bot = start_bot(approvers=APPROVERS)
    room = request_and_get_card(chat, alice, bob)
    emu.fail("PUT", rf"/people/{alice.id}/features/intercept", 401, times=10_000)
    approve(chat, alice, bob)
    bot.wait_status(alice.id, "failed")
    told = chat.wait_bot_text(room, "could not be applied")
    assert "as they were before" in told["markdown"]
    chat.wait_bot_text(chat.direct_room(bob), "Applying the intercept for Alice Adler failed")
    emu.clear_faults()
    assert emu.get_intercept(alice.id) == ORIGINAL
    assert puts(emu, alice) == []
    report("Webex failing, 401 on the apply's PUT only: undone, request failed, requester and approvers told")
