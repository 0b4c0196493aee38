"""The whole flow, end to end, the way Webex drives the bot: chat request -> form -> approval ->
intercept PUT -> revert at the end time. The bot is the real server process; Webex is the emulator."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.harness import SECRET, BotProcess, Chat, People, card_inputs, filled, http, wait_until

pytestmark = pytest.mark.e2e

# What an administrator set up for Alice in Control Hub before the bot ever touched her
ALICE_BEFORE = {
    "enabled": False,
    "incoming": {"type": "ALLOW_ALL", "voicemailEnabled": True, "announcements": {
        "greeting": "DEFAULT", "fileName": "",
        "newNumber": {"enabled": False, "destination": "+4930111222"},
        "zeroTransfer": {"enabled": True, "destination": "1234"}}},
    "outgoing": {"type": "ALLOW_LOCAL_ONLY", "transferEnabled": False, "destination": ""},
}


def ask_and_submit(chat: Chat, person: Any, phrase: str, **changes: str) -> str:
    """Say the phrase, fill the form as given, send it; returns the requester's direct room."""
    chat.say(person, phrase)
    room = chat.direct_room(person)
    form = chat.wait_card(room, "until.date", exclude=chat.cards(room, "until.date"))
    chat.submit(person, form, {**filled(form, **changes), "intent": "submit"})
    chat.wait_bot_text(room, "Sent for approval")
    return room


def approval_card_for(chat: Chat, approver: Any) -> dict[str, Any]:
    """The approver's live approval card (one at a time: a decided one is replaced by its result)."""
    return chat.wait_card(chat.direct_room(approver), "comment")


def test_request_form_approval_apply_and_revert(world: tuple[Any, People, Chat], bot: BotProcess,
                                                approval_room: str) -> None:
    emu, people, chat = world
    alice, bob, carol, mallory = people.alice, people.bob, people.carol, people.mallory
    emu.set_intercept(alice.id, ALICE_BEFORE)
    chat.say(carol, "help")  # Carol has talked to the bot before: it knows who she is, and her zone
    chat.wait_bot_text(chat.direct_room(carol), "`status`")

    chat.say(alice, "intercept me until Friday")
    room = chat.direct_room(alice)
    form = chat.wait_card(room, "until.date")
    inputs = card_inputs(form)
    # read in Alice's zone: the bot's clock says Wed 2 Dec 10:00 Berlin
    assert (inputs["until.date"]["value"], inputs["until.time"]["value"]) == ("2026-12-04", "23:59")
    assert "Fri 4 Dec 23:59 Europe/Berlin" in json.dumps(form["attachments"][0]["content"])
    # prefilled from her current settings
    assert inputs["incoming.type"]["value"] == "ALLOW_ALL"
    assert inputs["incoming.announcements.zeroTransfer.destination"]["value"] == "1234"
    assert emu.requests_matching("GET", rf"^/people/{alice.id}/features/intercept$")[0].caller_id == people.admin.id

    # an invalid submission: the same form comes back with the error at the field, values kept
    chat.submit(alice, form, {**filled(form, **{
        "incoming.type": "INTERCEPT_ALL", "incoming.announcements.newNumber.enabled": "true",
        "incoming.announcements.newNumber.destination": "", "reason": "Parental leave"}), "intent": "submit"})
    again = chat.wait_card(room, "until.date", exclude=[form])
    card_text = json.dumps(again["attachments"][0]["content"])
    assert "Required while this option is on" in card_text
    assert card_inputs(again)["reason"]["value"] == "Parental leave"
    assert card_inputs(again)["incoming.type"]["value"] == "INTERCEPT_ALL"
    wait_until(lambda: form["id"] in {m["id"] for m in emu.deleted_messages}, what="the stale form to go")
    assert chat.cards(chat.direct_room(bob), "comment") == []  # nothing went to approvers

    # a valid submission goes to the approvers (not to Alice, although she is one)
    chat.submit(alice, again, {**filled(again, **{
        "incoming.announcements.newNumber.destination": "+49 30 9876 5432", "outgoing.transferEnabled": "true",
        "outgoing.destination": "+14155550100"}), "intent": "submit"})
    chat.wait_bot_text(room, "Sent for approval")
    bob_card, carol_card = approval_card_for(chat, bob), approval_card_for(chat, carol)
    room_card = chat.wait_card(approval_room, "comment")
    assert "Fri 4 Dec 17:59 America/New_York" in json.dumps(carol_card["attachments"][0]["content"])
    assert chat.cards(room, "comment") == []

    # refusals: not an approver; one's own request. Nothing is put.
    chat.submit(mallory, room_card, {"intent": "approve", "comment": ""})
    chat.wait_bot_text(approval_room, "Only approvers can decide")
    chat.submit(alice, room_card, {"intent": "approve", "comment": ""})
    chat.wait_bot_text(approval_room, "cannot decide on your own request")
    assert chat.puts(alice) == []

    # two approvers click at once: the first decision wins, the other is told who decided
    chat.submit(bob, bob_card, {"intent": "approve", "comment": "Enjoy"})
    chat.submit(carol, carol_card, {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "active")
    winner = bot.db("SELECT decided_by_name FROM intercept_requests WHERE person_id = :person", person=alice.id)[0][0]
    loser = carol if winner == "Bob Brandt" else bob
    chat.wait_bot_text(chat.direct_room(loser), f"Already approved by {winner}")

    # snapshot GET, then exactly this PUT, then a verifying GET
    calls = [(r.method, r.path) for r in emu.requests_matching("*", rf"/people/{alice.id}/features/intercept")]
    assert calls[-3:] == [("GET", f"/people/{alice.id}/features/intercept"),
                          ("PUT", f"/people/{alice.id}/features/intercept"),
                          ("GET", f"/people/{alice.id}/features/intercept")]
    puts = chat.puts(alice)
    assert len(puts) == 1
    assert puts[0].json == {
        "enabled": True,
        "incoming": {"type": "INTERCEPT_ALL", "voicemailEnabled": True, "announcements": {
            "greeting": "DEFAULT",
            "newNumber": {"enabled": True, "destination": "+493098765432"},
            "zeroTransfer": {"enabled": True, "destination": "1234"}}},
        "outgoing": {"type": "ALLOW_LOCAL_ONLY", "transferEnabled": True, "destination": "+14155550100"},
    }
    assert puts[0].caller_id == people.admin.id
    chat.wait_bot_text(room, "now intercepted until Fri 4 Dec 23:59 Europe/Berlin")
    # the approval cards were replaced by results without buttons
    wait_until(lambda: {bob_card["id"], carol_card["id"], room_card["id"]} <= {m["id"] for m in emu.deleted_messages},
               what="the decided approval cards to be withdrawn")
    chat.wait_bot_text(approval_room, f"approved by {winner}")

    # the revert is due by the row itself: an active intercept, until its end (the rows are the schedule)
    request_id, end_at = bot.db(
        "SELECT id, end_at FROM intercept_requests WHERE person_id = :person AND status = 'active'", person=alice.id)[0]
    assert datetime.fromisoformat(end_at) == datetime(2026, 12, 4, 22, 59, tzinfo=UTC)  # Fri 23:59 in Berlin

    # the end comes: the snapshot is put back exactly, once, and Alice is told
    bot.sandbox_clock(3 * 86400)
    bot.wait_status(alice.id, "reverted")
    chat.wait_bot_text(room, "previous call settings are back")
    puts = chat.puts(alice)
    assert len(puts) == 2
    expected = json.loads(json.dumps(ALICE_BEFORE))
    del expected["incoming"]["announcements"]["fileName"]
    assert puts[1].json == expected
    assert emu.get_intercept(alice.id) == ALICE_BEFORE
    # no job is left for it, nor kept anywhere: the rows are the schedule, timers live in memory
    tables = bot.tables()
    assert "intercept_requests" in tables and "scheduler_jobs" not in tables
    history = [row[0] for row in bot.db(
        "SELECT target FROM audit_log WHERE request_id = :request AND event = 'status' ORDER BY id",
        request=request_id)]
    assert history == ["form_sent", "awaiting_approval", "approved", "applying", "active", "reverting", "reverted"]

    # the audit log: who asked, who decided, what was applied (before and after), the revert
    audit = [row for row in bot.audit("--person", "alice@example.com") if row["request_id"] == request_id]
    by_event = {(row["event"], row["target"]): row for row in audit}
    assert by_event[("status", "awaiting_approval")]["actor_id"] == alice.id
    decided = by_event[("status", "approved")]
    assert decided["actor_id"] in (bob.id, carol.id) and decided["detail"]["decided_by_name"] == winner
    applied = by_event[("applied", None)]
    assert applied["detail"]["before"]["incoming"]["type"] == "ALLOW_ALL"
    assert applied["detail"]["after"]["enabled"] is True
    assert applied["tracking_id"] == puts[0].tracking_id  # Webex's id of that very PUT
    reverted = by_event[("reverted", None)]
    assert reverted["detail"]["after"] == ALICE_BEFORE
    assert reverted["tracking_id"] == puts[1].tracking_id
    assert [r["event"] for r in bot.audit("--person", "bob@example.com")] == []
    assert len(bot.audit("--since", "2027-01-01")) == 0


def test_rejection_tells_the_requester_and_changes_nothing(world: tuple[Any, People, Chat],
                                                           bot: BotProcess) -> None:
    _emu, people, chat = world
    room = ask_and_submit(chat, people.alice, "intercept me for 2 hours")
    card = approval_card_for(chat, people.bob)
    chat.submit(people.bob, card, {"intent": "reject", "comment": "We need you on Thursday *sorry*"})
    message = chat.wait_bot_text(room, "rejected by Bob Brandt")
    assert "\\*sorry\\*" in message["markdown"]
    bot.wait_status(people.alice.id, "rejected")
    assert chat.puts(people.alice) == []
    # no approver is left with live buttons: each card sent was replaced by the result (the
    # decision may come before every card went out: those not sent yet are not sent at all)
    chat.wait_bot_text(chat.direct_room(people.bob), "rejected by Bob Brandt")
    for approver in (people.bob, people.carol, people.dave):
        wait_until(lambda a=approver: chat.cards(chat.direct_room(a), "comment") == [], what="cards withdrawn")
    bot.wait_status(people.alice.id, "rejected")
    sent = bot.db("SELECT count(*), sum(CASE WHEN live THEN 1 ELSE 0 END) FROM card_messages "
                  "WHERE kind = 'approval'")[0]
    assert sent[0] >= 1 and sent[1] == 0


def test_cancel_before_approval_and_during_the_intercept(world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    alice = people.alice
    room = ask_and_submit(chat, alice, "intercept me until tomorrow 17:00")
    approval_card_for(chat, people.bob)
    chat.say(alice, "cancel")
    chat.wait_bot_text(room, "Cancelled your pending request")
    bot.wait_status(alice.id, "cancelled")
    wait_until(lambda: not [c for c in chat.cards(chat.direct_room(people.bob), "comment")
                            if c["id"] not in {m["id"] for m in emu.deleted_messages}],
               what="the stale approval card to be withdrawn")

    ask_and_submit(chat, alice, "intercept me for 3 days")
    chat.submit(people.bob, approval_card_for(chat, people.bob), {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "active")
    before = len(chat.puts(alice))
    chat.say(alice, "cancel")
    chat.wait_bot_text(room, "previous call settings are back")
    bot.wait_status(alice.id, "reverted")
    assert len(chat.puts(alice)) == before + 1
    assert emu.get_intercept(alice.id)["enabled"] is False


def test_a_restart_between_approval_and_revert_loses_nothing(world: tuple[Any, People, Chat],
                                                             bot: BotProcess) -> None:
    _emu, people, chat = world
    alice = people.alice
    room = ask_and_submit(chat, alice, "intercept me for 2 hours")
    chat.submit(people.carol, approval_card_for(chat, people.carol), {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "active")
    assert bot.stop() == 0  # SIGTERM: a clean stop
    bot.start()
    bot.sandbox_clock(3 * 3600)
    bot.wait_status(alice.id, "reverted")
    chat.wait_bot_text(room, "previous call settings are back")
    assert len(chat.puts(alice)) == 2  # one apply, one revert


def test_a_revert_that_fell_due_while_the_bot_was_down_runs_at_start_up(world: tuple[Any, People, Chat],
                                                                         bot: BotProcess) -> None:
    emu, people, chat = world
    alice = people.alice
    ask_and_submit(chat, alice, "intercept me for 90 minutes")
    chat.submit(people.bob, approval_card_for(chat, people.bob), {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "active")
    bot.kill()  # SIGKILL: no clean-up at all
    bot.sandbox_clock(2 * 3600)  # the end passes while it is down
    bot.start()
    bot.wait_status(alice.id, "reverted")
    assert len(chat.puts(alice)) == 2
    assert emu.get_intercept(alice.id)["enabled"] is False


def test_an_intercept_set_by_an_admin_is_restored_and_a_second_request_keeps_the_first_snapshot(
        world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    alice = people.alice
    admin_set = json.loads(json.dumps(ALICE_BEFORE))
    admin_set["enabled"] = True
    emu.set_intercept(alice.id, admin_set)
    ask_and_submit(chat, alice, "intercept me for 2 days", **{"incoming.type": "INTERCEPT_ALL"})
    chat.submit(people.bob, approval_card_for(chat, people.bob), {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "active")
    # while it is on, a longer one: approved, it takes over; the snapshot stays the admin's settings
    ask_and_submit(chat, alice, "intercept me for 5 days", **{"outgoing.type": "INTERCEPT_ALL"})
    chat.submit(people.bob, approval_card_for(chat, people.bob), {"intent": "approve", "comment": ""})
    wait_until(lambda: bot.request_statuses(alice.id) == ["replaced", "active"], what="the takeover")
    bot.sandbox_clock(6 * 86400)
    bot.wait_status(alice.id, "reverted")
    assert emu.get_intercept(alice.id) == admin_set  # on again, exactly as the admin had it
    assert len(chat.puts(alice)) == 3


def test_in_a_group_space_the_bot_answers_a_mention_and_sends_the_form_privately(
        world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    space = emu.group_room("Team", [people.alice.id, people.mallory.id, people.bot.id])
    emu.say(people.alice.token, markdown=f"<@personId:{people.bot.id}|Intercept Bot> intercept me for 2 hours",
            room_id=space)
    chat.wait_bot_text(space, "sent you the request form in a direct message")
    form = chat.wait_card(chat.direct_room(people.alice), "until.date")
    assert card_inputs(form)["until.time"]["value"] == "12:00"  # 10:00 Berlin + 2 h
    emu.say(people.mallory.token, text="intercept me for 2 hours", room_id=space)  # not a mention: not seen
    emu.say(people.alice.token, markdown=f"<@personId:{people.bot.id}|Intercept Bot> help", room_id=space)
    chat.wait_bot_text(space, "`status`")
    assert chat.cards(chat.direct_room(people.mallory)) == []


def test_only_the_requester_may_send_their_form(world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    space = emu.group_room("Team", [people.alice.id, people.mallory.id, people.bot.id])
    chat.say(people.alice, "intercept me for 2 hours")
    form = chat.wait_card(chat.direct_room(people.alice), "until.date")
    # Mallory cannot reach Alice's direct room; a form forwarded into a space is not the bot's card there
    with pytest.raises(Exception):  # noqa: B017 - the emulator refuses as Webex would
        chat.submit(people.mallory, form, {**filled(form), "intent": "submit"})
    assert space
    assert bot.request_statuses(people.alice.id) == ["form_sent"]


def test_an_unreadable_time_gets_the_form_with_an_empty_end_and_a_sentence(
        world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    _emu, people, chat = world
    chat.say(people.alice, "intercept me until blursday")
    form = chat.wait_card(chat.direct_room(people.alice), "until.date")
    assert "value" not in card_inputs(form)["until.date"]
    assert "blursday" in json.dumps(form["attachments"][0]["content"])


def test_forged_and_garbled_webhooks_change_nothing(world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    message = emu.say(people.alice.token, text="intercept me for 2 hours", to_person_id=people.bot.id)
    wait_until(lambda: emu.requests_matching("GET", rf"^/messages/{message['id']}$"), what="the real delivery")
    before = len(emu.requests)
    body = json.dumps({"id": "x", "resource": "messages", "event": "created",
                       "data": {"id": "forged", "personId": people.alice.id}}).encode()
    headers = {"Content-Type": "application/json"}
    assert http("POST", bot.base + "/webhooks/webex", body, headers) == 401
    assert http("POST", bot.base + "/webhooks/webex", body, {**headers, "X-Spark-Signature": "0" * 40}) == 403
    wrong = hmac.new(b"guess", body, hashlib.sha1).hexdigest()
    assert http("POST", bot.base + "/webhooks/webex", body, {**headers, "X-Spark-Signature": wrong}) == 403
    garbled = b'{"resource": "messages", "data": '
    good_sig = hmac.new(SECRET.encode(), garbled, hashlib.sha1).hexdigest()
    assert http("POST", bot.base + "/webhooks/webex", garbled, {**headers, "X-Spark-Signature": good_sig}) == 400
    assert http("GET", bot.base + "/webhooks/webex") == 405
    assert [r for r in emu.requests[before:] if "forged" in r.path] == []
    # a redelivery of a real event is recognised: the request is not made twice
    chat.wait_card(chat.direct_room(people.alice), "until.date")
    index = next(i for i, d in enumerate(emu.deliveries) if d.envelope()["data"]["id"] == message["id"])
    again = emu.redeliver(index)
    assert again.status == 200
    assert len(bot.request_statuses(people.alice.id)) == 1
    assert len(emu.requests_matching("GET", rf"/messages/{message['id']}")) == 1


def test_with_only_an_approval_space_the_organisations_administrators_decide(
        world: tuple[Any, People, Chat], tmp_path: Any) -> None:
    emu, people, chat = world
    olga = emu.add_person(email="olga@example.com", display_name="Olga Owner", token="olga-token", admin=True)
    space = emu.group_room("Approvals", [olga.id, people.mallory.id, people.bot.id])
    process = BotProcess(emu, people, tmp_path / "space-only", approvers="", approval_room=space)
    (tmp_path / "space-only").mkdir()
    process.pin_clock()
    process.register_webhooks()
    process.start()
    try:
        ask_and_submit(chat, people.alice, "intercept me for 2 hours")
        card = chat.wait_card(space, "comment")
        chat.submit(people.mallory, card, {"intent": "approve", "comment": ""})
        chat.wait_bot_text(space, "Only approvers can decide")
        chat.submit(olga, card, {"intent": "approve", "comment": ""})
        process.wait_status(people.alice.id, "active")
        assert len(chat.puts(people.alice)) == 1
    finally:
        process.stop()
