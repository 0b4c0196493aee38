"""Cases a reviewer of the last fixes found: a new recording under an old name, a `pending` card
that could not be sent, an extension no approver could be asked about."""

from __future__ import annotations

import dataclasses

from bot.domain.model import Status
from bot.domain.values import CardKind
from tests.unit.fakes import ALICE, BOB, World, transient
from tests.unit.test_greeting import wav_bytes
from tests.unit.test_lifecycle import SUBMIT


def _custom(world: World, name: str, data: bytes, until: str) -> None:
    world.say(ALICE, "intercept me until Friday", file=(name, data))
    world.click(ALICE, world.live_card("form", Status.FORM_SENT),
                {**SUBMIT, "incoming.announcements.greeting": "CUSTOM", "until.date": until})
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})


def test_same_name_new_recording_is_uploaded(tmp_path) -> None:
    world = World(tmp_path)
    _custom(world, "greeting.wav", wav_bytes(1.0), "2026-12-04")
    world.say(ALICE, "end now")
    assert world.webex.uploads == ["greeting.wav"]
    _custom(world, "greeting.wav", wav_bytes(2.0), "2026-12-05")  # a new recording, same file name
    request = world.requests.for_person("alice", [Status.ACTIVE])[-1]
    assert request.greeting_file == "greeting.wav"
    assert world.webex.uploads == ["greeting.wav", "greeting.wav"]


def test_pending_withdraw_then_transient_failure(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve(approve=False)
    world.webex.faults["send"] = [None, transient("send")]  # the "N waiting" line goes, the card fails
    world.say(BOB, "pending")
    world.service.sweep()
    live = [c for c in world.cards.for_request(request_id, CardKind.APPROVAL) if c.live]
    assert live, "Bob has no live card left and the sweep will not send one"


def test_extension_nobody_reached_says_both(tmp_path) -> None:
    world = World(tmp_path)
    world.request_and_approve()
    # the approver list was fixed wrongly since (e.g. a typo after a restart)
    world.service.policy = dataclasses.replace(world.service.policy, approvers=frozenset({"nobody@unknown.invalid"}))
    world.say(ALICE, "extend until 2026-12-06 12:00")
    extension = [r for r in world.requests.for_person("alice", list(Status)) if r.extends_id][-1]
    assert extension.status is Status.EXPIRED
    assert world.webex.said("could not send your request") and not world.webex.said("asked the approvers to extend")


def test_mix_refused_transient_then_room(tmp_path) -> None:
    world = World(tmp_path, approvers=frozenset({"bob@example.com", "nobody@unknown.invalid"}))
    world.webex.faults["send"] = [None, None, transient("send")]
    world.say(ALICE, "intercept me until Friday")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT), {**SUBMIT, "until.date": "2026-12-04"})
    request = world.requests.for_person("alice", list(Status))[-1]
    assert request.status is Status.AWAITING_APPROVAL
    world.service.sweep()
    assert world.status(request.id) is Status.AWAITING_APPROVAL
