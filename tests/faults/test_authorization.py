"""Authorization matrix: nobody decides who may not, nobody sends someone else's form, and what a
card's data says (ids, intent) never redirects a click. Every refusal changes nothing, sends no
PUT, and answers the clicker politely where they clicked.

Unit tests (the real service and store with tests/unit/fakes' in-process Webex) cover what Webex
itself would never let happen (a click from a room the card is not in, someone else's form);
the end-to-end test covers what Webex does allow (anyone in the approval space can click)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.model import Person, Status
from bot.domain.ports import CardAction
from bot.domain.stores import CardRecord
from bot.domain.values import CardKind, Recipient
from tests.e2e.harness import Chat, People, filled, wait_until
from tests.faults.conftest import BotFactory
from tests.faults.helpers import live_cards, puts
from tests.unit.fakes import ALICE, BOB, ORIGINAL, World

CAROL = Person("carol", "carol@example.com", "Carol Chen", "America/New_York")
MALLORY = Person("mallory", "mallory@example.com", "Mallory Meyer", "Europe/London")
HELPER_BOT = Person("helperbot", "helper@webex.bot", "Helper Bot", None, "bot")
SPACE = "approval-space"
FORM = {"intent": "submit", "incoming.type": "INTERCEPT_ALL", "incoming.voicemailEnabled": "false",
        "incoming.announcements.greeting": "DEFAULT", "outgoing.type": "INTERCEPT_ALL",
        "until.date": "2026-12-04", "until.time": "17:00"}
_ids = itertools.count(1)


def make_world(tmp_path: Path) -> World:
    world = World(tmp_path, approvers=frozenset({"bob@example.com", "carol@example.com", "alice@example.com",
                                                 "helper@webex.bot"}), room=SPACE)
    for person in (CAROL, MALLORY, HELPER_BOT):
        world.webex.people[person.id] = person
    world.webex.settings["mallory"] = ORIGINAL
    return world


def ask(world: World, person: Person, **inputs: str) -> str:
    """The person asks and sends a valid form; the id of their request now awaiting approval."""
    world.say(person, "intercept me until Friday")
    form = world.live_card("form", Status.FORM_SENT, person=person.id)
    world.click(person, form, {**FORM, **inputs})
    return world.requests.for_person(person.id, [Status.AWAITING_APPROVAL])[-1].id


def card(world: World, request_id: str, kind: str, recipient: Recipient) -> CardRecord:
    found = [c for c in world.cards.for_request(request_id, CardKind(kind)) if c.recipient == recipient]
    assert found, f"no {kind} card for {recipient}"
    return found[-1]


def click(world: World, person: Person, record: CardRecord, inputs: Mapping[str, Any],
          room_id: str | None = None) -> list[dict[str, Any]]:
    """The person clicks the card (from `room_id`, default the card's room); what the bot said."""
    before = len(world.webex.sent)
    world.service.handle_action(CardAction(f"act{next(_ids)}", record.message_id, person.id,
                                           room_id or record.room_id, dict(inputs)))
    return world.webex.sent[before:]


def told(said: list[dict[str, Any]], room: str, fragment: str) -> None:
    """The clicker was answered, once, in the room they clicked in."""
    replies = [m for m in said if m["room"] == room]
    assert len(replies) == 1 and fragment in replies[0]["markdown"], said


def unchanged(world: World, request_id: str, status: Status, puts_before: int = 0) -> None:
    assert world.status(request_id) is status
    assert len(world.webex.puts) == puts_before, "an intercept was PUT"


# ---------------------------------------------------------------------------------------------- deciding


@pytest.mark.parametrize("intent", ["approve", "reject"])
def test_a_non_approver_cannot_decide(tmp_path: Path, intent: str) -> None:
    world = make_world(tmp_path)
    request_id = ask(world, ALICE)
    said = click(world, MALLORY, card(world, request_id, "approval", Recipient.room(SPACE)), {"intent": intent})
    told(said, SPACE, "Only approvers can decide")
    unchanged(world, request_id, Status.AWAITING_APPROVAL)


def test_another_bot_listed_as_an_approver_cannot_decide(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    request_id = ask(world, ALICE)
    said = click(world, HELPER_BOT, card(world, request_id, "approval", Recipient.room(SPACE)), {"intent": "approve"})
    told(said, SPACE, "Only approvers can decide")
    unchanged(world, request_id, Status.AWAITING_APPROVAL)


@pytest.mark.parametrize("intent", ["approve", "reject"])
def test_the_requester_cannot_decide_their_own_request(tmp_path: Path, intent: str) -> None:
    world = make_world(tmp_path)
    request_id = ask(world, ALICE)  # Alice is an approver herself
    assert not [c for c in world.cards.for_request(request_id, CardKind.APPROVAL)
                if c.recipient == Recipient.approver(ALICE.email)]
    said = click(world, ALICE, card(world, request_id, "approval", Recipient.room(SPACE)), {"intent": intent})
    told(said, SPACE, "cannot decide on your own request")
    unchanged(world, request_id, Status.AWAITING_APPROVAL)


# ---------------------------------------------------------------------------------------------- forms


def test_a_third_person_cannot_send_someone_elses_form(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    world.say(ALICE, "intercept me until Friday")
    form = world.live_card("form", Status.FORM_SENT)
    said = click(world, MALLORY, form, FORM)  # as if she could click in Alice's direct room
    told(said, form.room_id, "This form belongs to Alice Adler")
    request = world.requests.for_person("alice", list(Status))[-1]
    unchanged(world, request.id, Status.FORM_SENT)
    assert world.cards.for_request(request.id, CardKind.APPROVAL) == []
    # nor with the form's id from a room of her own (a forwarded copy, a replayed action)
    said = click(world, MALLORY, form, FORM, room_id="dm-mallory")
    told(said, "dm-mallory", "not one I can act on")
    unchanged(world, request.id, Status.FORM_SENT)


def test_a_form_with_tampered_ids_is_the_senders_own_request(tmp_path: Path) -> None:
    """personId / requestId / messageId put into the inputs do not make it someone else's request."""
    world = make_world(tmp_path)
    mallorys = ask(world, MALLORY)
    alices = ask(world, ALICE, personId="mallory", requestId=mallorys, person_id="mallory", request_id=mallorys)
    request = world.requests.get(alices)
    assert request is not None and request.person_id == "alice" and request.person_email == ALICE.email
    assert world.status(mallorys) is Status.AWAITING_APPROVAL
    click(world, BOB, card(world, alices, "approval", Recipient.approver(BOB.email)), {"intent": "approve"})
    assert world.status(alices) is Status.ACTIVE
    assert world.status(mallorys) is Status.AWAITING_APPROVAL
    assert world.webex.settings["mallory"] == ORIGINAL and world.webex.settings["alice"].enabled
    assert len(world.webex.puts) == 1


# ---------------------------------------------------------------------------------------------- where and what


@pytest.mark.parametrize("kind", ["approval-dm", "approval-space", "form"])
def test_an_action_replayed_from_another_room_is_refused(tmp_path: Path, kind: str) -> None:
    world = make_world(tmp_path)
    request_id = ask(world, ALICE)
    if kind == "form":
        world.say(MALLORY, "intercept me until Friday")
        record, clicker = world.live_card("form", Status.FORM_SENT, person="mallory"), MALLORY
        target = world.requests.for_person("mallory", [Status.FORM_SENT])[-1].id
        inputs: dict[str, str] = FORM
    else:
        recipient = Recipient.approver(BOB.email) if kind == "approval-dm" else Recipient.room(SPACE)
        record, clicker, target, inputs = card(world, request_id, "approval", recipient), BOB, request_id, {
            "intent": "approve"}
    before = world.status(target)
    other = "some-other-space" if kind != "approval-dm" else SPACE  # a room the card is not in
    said = click(world, clicker, record, inputs, room_id=other)
    told(said, other, "not one I can act on")
    unchanged(world, target, before)


def test_an_approvers_click_carrying_another_requests_ids_decides_only_its_own_card(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    alices = ask(world, ALICE)
    mallorys = ask(world, MALLORY)
    mallory_card = card(world, mallorys, "approval", Recipient.approver(BOB.email))
    tampered = {"intent": "approve", "requestId": mallorys, "request_id": mallorys, "personId": "mallory",
                "messageId": mallory_card.message_id, "roomId": mallory_card.room_id}
    bobs = card(world, alices, "approval", Recipient.approver(BOB.email))
    said = click(world, BOB, bobs, {**tampered, "intent": "reject"})
    assert world.status(alices) is Status.REJECTED  # what Bob clicked: Alice's card
    assert world.status(mallorys) is Status.AWAITING_APPROVAL  # not what the data named
    assert world.webex.puts == []
    assert any("rejected by Bob Brandt" in m["markdown"] for m in said)


@pytest.mark.parametrize("intent", ["submit", "cancel", "end", "extend", "", None, ["approve"], {"approve": True},
                                    "APPROVE", " approve", 1])
def test_a_tampered_intent_on_an_approval_card_is_refused(tmp_path: Path, intent: Any) -> None:
    world = make_world(tmp_path)
    request_id = ask(world, ALICE)
    record = card(world, request_id, "approval", Recipient.approver(BOB.email))
    said = click(world, BOB, record, {"intent": intent} if intent is not None else {})
    told(said, record.room_id, "did not understand that button")
    unchanged(world, request_id, Status.AWAITING_APPROVAL)


@pytest.mark.parametrize("intent", ["approve", "reject", "end", "", "Submit"])
def test_a_tampered_intent_on_a_form_is_refused(tmp_path: Path, intent: str) -> None:
    world = make_world(tmp_path)
    world.say(ALICE, "intercept me until Friday")
    form = world.live_card("form", Status.FORM_SENT)
    said = click(world, ALICE, form, {**FORM, "intent": intent})
    told(said, form.room_id, "did not understand that button")
    request = world.requests.for_person("alice", list(Status))[-1]
    unchanged(world, request.id, Status.FORM_SENT)


def test_someone_elses_status_and_reminder_buttons_do_nothing(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    request_id = ask(world, ALICE)
    click(world, BOB, card(world, request_id, "approval", Recipient.approver(BOB.email)), {"intent": "approve"})
    assert world.status(request_id) is Status.ACTIVE
    world.say(ALICE, "status")
    status_card = card(world, request_id, "status", Recipient.requester("alice"))
    said = click(world, MALLORY, status_card, {"intent": "end"})
    told(said, status_card.room_id, "Only the person this status is about")
    request = world.requests.get(request_id)
    assert request is not None and request.end_at is not None
    world.clock.at = request.end_at - timedelta(minutes=10)  # the reminder is due
    world.service.sweep()
    reminder = card(world, request_id, "reminder", Recipient.requester("alice"))
    for intent in ("end", "extend"):
        said = click(world, MALLORY, reminder, {"intent": intent, "until.date": "2026-12-20", "until.time": "17:00"})
        told(said, reminder.room_id, "Only the person this reminder is for")
    said = click(world, ALICE, reminder, {"intent": "approve"})
    told(said, reminder.room_id, "did not understand that button")
    unchanged(world, request_id, Status.ACTIVE, puts_before=1)


# ---------------------------------------------------------------------------------------------- decided


def decide(world: World, how: str) -> str:
    request_id = ask(world, ALICE, **{"until.date": "2026-12-20"})
    if how == "approved":
        click(world, BOB, card(world, request_id, "approval", Recipient.approver(BOB.email)), {"intent": "approve"})
    elif how == "rejected":
        click(world, BOB, card(world, request_id, "approval", Recipient.approver(BOB.email)), {"intent": "reject"})
    elif how == "cancelled":
        world.say(ALICE, "cancel")
    elif how == "expired":
        world.clock.advance(hours=25)
        world.service.sweep()
    elif how == "reverted":
        click(world, BOB, card(world, request_id, "approval", Recipient.approver(BOB.email)), {"intent": "approve"})
        world.say(ALICE, "end now")
    return request_id


@pytest.mark.parametrize(("how", "status", "answer"), [
    ("approved", Status.ACTIVE, "Already approved by Bob Brandt"),
    ("rejected", Status.REJECTED, "Already rejected by Bob Brandt"),
    ("cancelled", Status.CANCELLED, "This request is cancelled: there is nothing to decide"),
    ("expired", Status.EXPIRED, "This request is expired: there is nothing to decide"),
    ("reverted", Status.REVERTED, "Already approved by Bob Brandt"),
])
@pytest.mark.parametrize("intent", ["approve", "reject"])
def test_a_click_on_a_decided_request_changes_nothing_and_says_why(tmp_path: Path, how: str, status: Status,
                                                                   answer: str, intent: str) -> None:
    world = make_world(tmp_path)
    request_id = decide(world, how)
    assert world.status(request_id) is status
    puts_before = len(world.webex.puts)
    # withdrawn, but a click may be on its way
    record = card(world, request_id, "approval", Recipient.approver(CAROL.email))
    said = click(world, CAROL, record, {"intent": intent})
    told(said, record.room_id, answer)
    unchanged(world, request_id, status, puts_before)


# ---------------------------------------------------------------------------------------------- end to end


@pytest.mark.e2e
def test_refusals_through_webex_change_nothing_and_answer_the_clicker(
        world: tuple[Any, People, Chat], start_bot: BotFactory, report) -> None:
    """What Webex lets people do: click a card in the approval space they are members of, put
    anything into the inputs, click their own request's card."""
    emu, people, chat = world
    alice, bob, mallory, dave = people.alice, people.bob, people.mallory, people.dave
    space = emu.group_room("Intercept approvals", [bob.id, mallory.id, dave.id, alice.id, people.bot.id])
    bot = start_bot(approvers="bob@example.com,dave@example.com,alice@example.com", approval_room=space)

    def ask_e2e(person: Any, **changes: Any) -> dict[str, Any]:
        chat.say(person, "intercept me for 2 hours")
        room = chat.direct_room(person)
        form = chat.wait_card(room, "until.date")
        chat.submit(person, form, {**filled(form), **changes, "intent": "submit"})
        chat.wait_bot_text(room, "Sent for approval")
        return dict(wait_until(lambda: live_cards(chat, space, "comment", person.display_name), 20,
                               "the approval card in the space")[-1])

    def reply_count(room: str, fragment: str) -> int:
        return sum(fragment in (m.get("markdown") or "") for m in chat.bot_messages(room))

    # Alice's form: a tampered intent is not a submission
    chat.say(alice, "intercept me for 2 hours")
    alice_room = chat.direct_room(alice)
    form = chat.wait_card(alice_room, "until.date")
    chat.submit(alice, form, {**filled(form), "intent": "approve"})
    chat.wait_bot_text(alice_room, "did not understand that button")
    assert bot.request_statuses(alice.id) == ["form_sent"]
    chat.submit(alice, form, {**filled(form), "intent": "submit", "personId": mallory.id})
    chat.wait_bot_text(alice_room, "Sent for approval")
    alice_card = wait_until(lambda: live_cards(chat, space, "comment", alice.display_name), 20)[-1]
    mallory_card = ask_e2e(mallory, personId=alice.id)

    refusals = [
        (mallory, alice_card, {"intent": "approve", "comment": ""}, "Only approvers can decide"),
        (mallory, alice_card, {"intent": "reject", "comment": ""}, "Only approvers can decide"),
        (alice, alice_card, {"intent": "approve", "comment": ""}, "cannot decide on your own request"),
        (bob, alice_card, {"intent": "submit", "comment": ""}, "did not understand that button"),
        (bob, alice_card, {"intent": "end"}, "did not understand that button"),
        (dave, alice_card, {"comment": "no intent at all"}, "did not understand that button"),
    ]
    for clicker, target, inputs, fragment in refusals:
        before = reply_count(space, fragment)
        chat.submit(clicker, target, inputs)
        wait_until(lambda f=fragment, b=before: reply_count(space, f) > b, 20, f"the answer {fragment!r}")
    assert bot.request_statuses(alice.id) == ["awaiting_approval"]
    assert bot.request_statuses(mallory.id) == ["awaiting_approval"]
    assert puts(emu, alice) == [] and puts(emu, mallory) == []

    # an approver's click on Alice's card that names Mallory's request decides Alice's only
    mallory_request = bot.db("SELECT id FROM intercept_requests WHERE person_id = :person", person=mallory.id)[0][0]
    chat.submit(dave, alice_card, {"intent": "approve", "comment": "", "requestId": mallory_request,
                                   "personId": mallory.id, "messageId": mallory_card["id"]})
    bot.wait_status(alice.id, "active")
    assert bot.request_statuses(mallory.id) == ["awaiting_approval"]
    assert len(puts(emu, alice)) == 1 and puts(emu, mallory) == []
    # Alice's approval cards are withdrawn everywhere; Mallory's stay for a real decision
    wait_until(lambda: not live_cards(chat, space, "comment", alice.display_name)
               and not live_cards(chat, chat.direct_room(bob), "comment", alice.display_name), 20,
               "Alice's approval cards to be withdrawn")
    assert live_cards(chat, space, "comment", mallory.display_name)
    assert len(puts(emu, alice)) == 1
    report(f"authorization (end to end): {len(refusals) + 1} refused or redirected clicks, one legitimate "
           "approval applied once, nothing else PUT")
