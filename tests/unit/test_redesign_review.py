"""Cases a reviewer of the core's redesign found: a decision on a row read before the lock, news
told from an older copy of a request while another thread was announcing, the requester's reason
lost from the audit log, a refused `pending` card counting as the approver's, work a write made due
at once left for the next sweep, and a bug in that work failing the event that made it due."""

from __future__ import annotations

import threading
from typing import Any

from bot.adapters.store import SqlStores
from bot.domain.model import Person, Status
from bot.domain.ports import CardAction
from bot.domain.schedule import Work
from bot.domain.values import CardKind, Recipient
from tests.unit.fakes import ALICE, BOB, World, permanent, transient
from tests.unit.test_lifecycle import SUBMIT

CAROL = Person("carol", "carol@example.com", "Carol Cole", None)


def test_a_second_approval_of_an_extension_read_before_the_first_is_told_who_decided() -> None:
    world = World(approvers=frozenset({"bob@example.com", "carol@example.com"}))
    world.webex.people["carol"] = CAROL
    world.stores.people.remember("carol@example.com", "carol")
    world.request_and_approve()
    world.say(ALICE, "extend until 2026-12-05 12:00")
    extension = [r for r in world.requests.for_person("alice", list(Status)) if r.extends_id][-1]
    cards = {c.recipient: c for c in world.cards.for_request(extension.id, CardKind.APPROVAL) if c.live}
    carols = cards[Recipient.approver(CAROL.email)]
    read = world.stores.requests.get
    first = {"read": True}

    def get(request_id: str) -> Any:  # Carol's click has read the row when Bob's runs to its end
        row = read(request_id)
        if first["read"] and request_id == extension.id:
            first["read"] = False
            world.click(BOB, cards[Recipient.approver(BOB.email)], {"intent": "approve"})
        return row

    world.stores.requests.get = get  # type: ignore[method-assign]
    before = len(world.webex.sent)
    world.service.handle_action(CardAction("a-carol", carols.message_id or "", "carol", carols.room_id,
                                           {"intent": "approve"}))
    world.stores.requests.get = read  # type: ignore[method-assign]
    replies = [m["markdown"] for m in world.webex.sent[before:] if m["room"] == carols.room_id]
    assert world.status(extension.id) is Status.ACTIVE
    assert any("Already approved by Bob Brandt" in r for r in replies), replies
    assert not any("nothing to extend" in r for r in replies), replies


def test_news_another_thread_leaves_to_a_running_flush_is_told_from_the_request_as_it_is() -> None:
    world = World()
    world.say(ALICE, "intercept me until Friday")
    form = world.live_card("form", Status.FORM_SENT)
    send = world.webex.send
    armed = {"on": True}

    def sending(**message: Any) -> Any:  # while Alice's news goes out, Bob rejects with a comment
        sent = send(**message)
        if armed["on"] and message["markdown"].startswith("Sent for approval"):
            armed["on"] = False
            card = world.live_card("approval", Status.AWAITING_APPROVAL)
            bob = threading.Thread(target=world.click, args=(BOB, card, {"intent": "reject",
                                                                        "comment": "Team offsite, sorry"}))
            bob.start()
            bob.join()
        return sent

    world.webex.send = sending  # type: ignore[method-assign]
    world.click(ALICE, form, {**SUBMIT, "until.date": "2026-12-04", "until.time": "17:00"})
    assert world.webex.said("rejected by Bob Brandt. Comment: “Team offsite, sorry”")


def test_the_audit_log_keeps_the_requesters_reason_beside_the_moves_own(database_url: str) -> None:
    world = World()
    world.stores = SqlStores.at(database_url)  # type: ignore[assignment]
    world.stores.create_schema()  # type: ignore[attr-defined]
    world.stores = world.stores.domain()  # type: ignore[attr-defined]
    world.service = world._service()
    world.request_and_approve(approve=False, reason="parental leave")
    history = world.requests.history(world.requests.for_person("alice", list(Status))[-1].id)
    submitted = history[-1]
    assert submitted.target is Status.AWAITING_APPROVAL and submitted.reason is not None
    rows = [row for row, _request in world.stores.audit.after(0, 100) if row.target is Status.AWAITING_APPROVAL]
    assert rows[-1].detail["reason"] == "parental leave"


def test_a_pending_card_webex_refuses_does_not_count_as_the_approvers_card() -> None:
    world = World()
    world.say(ALICE, "intercept me until Friday")
    world.webex.faults["send"] = [transient("send")]  # Bob's approval card: Webex busy
    world.click(ALICE, world.live_card("form", Status.FORM_SENT), {**SUBMIT, "until.date": "2026-12-04"})
    request = world.requests.for_person("alice", list(Status))[-1]
    world.webex.faults["send"] = [None, permanent(400, "send")]  # `pending`: the line goes, the card is refused
    world.say(BOB, "pending")
    world.service.sweep()
    assert world.status(request.id) is Status.AWAITING_APPROVAL
    assert [c.recipient for c in world.cards.for_request(request.id, CardKind.APPROVAL) if c.live] == [
        Recipient.approver(BOB.email)]  # the sweep asked Bob again


def test_an_intercept_that_went_on_after_its_end_is_reverted_at_once() -> None:
    world = World()
    world.say(ALICE, "intercept me until Friday")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT),
                {**SUBMIT, "until.date": "2026-12-02", "until.time": "10:10"})
    world.webex.faults["put"] = [transient("put")] * 5
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    request = world.requests.for_person("alice", list(Status))[-1]
    while request.status is Status.APPLYING:  # its retry timers fire; the last one past the end
        world.clock.at = request.retry_at
        world.service.run(Work.APPLY, request.id, request.person_id)
        request = world.requests.get(request.id)
    assert request.status is Status.REVERTED
    assert world.webex.said("previous call settings are back")


def test_a_bug_in_work_due_at_once_does_not_fail_the_event_whose_own_work_is_done() -> None:
    world = World()
    world.say(ALICE, "intercept me until Friday")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT),
                {**SUBMIT, "until.date": "2026-12-02", "until.time": "10:10"})
    world.webex.faults["put"] = [transient("put")] * 5
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    request = world.requests.for_person("alice", list(Status))[-1]

    def broken(_request: Any) -> None:
        raise RuntimeError("a bug in the revert")

    world.service._work[Work.REVERT] = broken
    while request.status is Status.APPLYING:
        world.clock.at = request.retry_at
        world.service.run(Work.APPLY, request.id, request.person_id)  # raises nothing
        request = world.requests.get(request.id)
    assert request.status is Status.ACTIVE  # on, with its end passed: the sweep's again
    assert world.webex.said("now intercepted until")
