"""End-to-end: the commands around an intercept (status, extend, the reminder, approvers' views)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.harness import BotProcess, Chat, People, card_inputs, filled, wait_until
from tests.e2e.test_flow import approval_card_for, ask_and_submit
from tests.unit.test_greeting import wav_bytes

pytestmark = pytest.mark.e2e


def test_status_extend_by_reminder_and_the_approvers_views(world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    alice, bob = people.alice, people.bob
    room = ask_and_submit(chat, alice, "intercept me for 2 hours")  # Wed 2 Dec 10:00 -> 12:00 Berlin

    bob_room = chat.direct_room(bob)
    first = approval_card_for(chat, bob)
    chat.say(bob, "pending")  # the card again, at the bottom of the chat: the older one goes
    pending_card = wait_until(lambda: [c for c in chat.cards(bob_room, "comment") if c["id"] != first["id"]
                                       and "Alice Adler" in json.dumps(c["attachments"][0]["content"])],
                              what="the approval card again from `pending`")[0]
    wait_until(lambda: first["id"] in [m["id"] for m in emu.deleted_messages], what="the older card withdrawn")
    chat.submit(bob, pending_card, {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "active")
    chat.say(bob, "active")
    chat.wait_bot_text(bob_room, "Alice Adler: until Wed 2 Dec 11:00 UTC")  # Bob has no zone: the default
    chat.say(people.mallory, "pending")
    chat.wait_bot_text(chat.direct_room(people.mallory), "Only approvers can use `pending`")

    chat.say(alice, "status")
    status = wait_until(lambda: [m for m in chat.bot_messages(room) if m.get("attachments")
                                 and "Your requests" in json.dumps(m["attachments"][0]["content"])],
                        what="the status card")[-1]
    assert "**on**" in json.dumps(status["attachments"][0]["content"])

    bot.sandbox_clock(110 * 60)  # 11:50: the reminder comes 15 minutes before the end
    reminder = chat.wait_card(room, "until.date", exclude=chat.cards(room, "until.date"), timeout=30)
    assert "Your intercept ends soon" in json.dumps(reminder["attachments"][0]["content"])
    assert card_inputs(reminder)["until.date"]["value"] == "2026-12-02"
    chat.submit(alice, reminder, {"intent": "extend", "until.date": "2026-12-03", "until.time": "18:00"})
    chat.wait_bot_text(room, "asked the approvers to extend your intercept until Thu 3 Dec 18:00 Europe/Berlin")
    extension = approval_card_for(chat, bob)
    assert "Extension request from Alice Adler" in json.dumps(extension["attachments"][0]["content"])
    chat.submit(bob, extension, {"intent": "approve", "comment": ""})
    wait_until(lambda: bot.request_statuses(alice.id) == ["replaced", "active"], what="the extension to take over")
    bot.sandbox_clock(20 * 60)  # past the first end: still on
    chat.say(alice, "status")
    chat.wait_bot_text(room, "Thu 3 Dec 18:00 Europe/Berlin")
    assert emu.get_intercept(alice.id)["enabled"] is True

    chat.say(alice, "end my intercept tomorrow at 9:00")  # earlier than the approved end: at once
    chat.wait_bot_text(room, "now ends Thu 3 Dec 09:00 Europe/Berlin")
    bot.sandbox_clock(24 * 3600)
    bot.wait_status(alice.id, "reverted")
    assert emu.get_intercept(alice.id)["enabled"] is False
    assert len(chat.puts(alice)) == 2  # on and back: the takeover found the settings on already


def test_a_custom_greeting_sent_with_the_request_is_uploaded_when_applied(
        world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    alice = people.alice
    room = chat.direct_room(alice)
    emu.say(alice.token, text="not a greeting", to_person_id=people.bot.id, upload=("notes.txt", b"hello"))
    chat.wait_bot_text(room, "send it while you have my request form")
    emu.say(alice.token, text="intercept me for 2 days", to_person_id=people.bot.id,
            upload=("leave.mp3", b"ID3...", "audio/mpeg"))
    chat.wait_bot_text(room, "send the greeting as a WAV file")
    form = chat.wait_card(room, "until.date")
    assert "Custom:" not in json.dumps(form["attachments"][0]["content"])

    emu.say(alice.token, to_person_id=people.bot.id, upload=("parental-leave.wav", wav_bytes(3.0), "audio/wav"))
    form = chat.wait_card(room, "until.date", exclude=[form])
    assert card_inputs(form)["incoming.announcements.greeting"]["value"] == "CUSTOM"
    assert "Custom: parental-leave.wav" in json.dumps(form["attachments"][0]["content"])
    chat.submit(alice, form, {**filled(form), "intent": "submit"})
    card = approval_card_for(chat, people.bob)
    facts = {f["title"]: f["value"] for f in card["attachments"][0]["content"]["body"][1]["facts"]}
    assert facts["Greeting"] == "parental\\-leave\\.wav"  # user text, markdown-escaped
    chat.submit(people.bob, card, {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "active")
    assert [(u.file_name, u.data == wav_bytes(3.0)) for u in emu.uploads] == [("parental-leave.wav", True)]
    assert chat.puts(alice)[0].json["incoming"]["announcements"]["greeting"] == "CUSTOM"
    assert emu.get_intercept(alice.id)["incoming"]["announcements"]["fileName"] == "parental-leave.wav"
    bot.sandbox_clock(3 * 86400)
    bot.wait_status(alice.id, "reverted")
    assert emu.get_intercept(alice.id)["incoming"]["announcements"]["greeting"] == "DEFAULT"
    assert [r.path for r in emu.requests if r.path.startswith("/contents/")]  # fetched from Webex's own URL


def test_sentences_around_an_intercept_that_is_on(world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    alice, bob = people.alice, people.bob
    room = ask_and_submit(chat, alice, "intercept me for 2 hours")  # Wed 2 Dec 10:00 -> 12:00 Berlin
    chat.submit(bob, approval_card_for(chat, bob), {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "active")
    forms = len(chat.cards(room, "until.date"))

    chat.say(alice, "when does my intercept end?")  # a question about it: the status, not a new form
    chat.wait_bot_text(room, "since Wed 2 Dec 10:00 Europe/Berlin, until Wed 2 Dec 12:00 Europe/Berlin")
    chat.say(alice, "extend for 1 hour")  # from the end, not from now
    chat.wait_bot_text(room, "asked the approvers to extend your intercept until Wed 2 Dec 13:00 Europe/Berlin")
    extension = approval_card_for(chat, bob)

    chat.say(alice, "end my intercept at 11:00")  # a new, earlier end: at once; the waiting extension goes
    chat.wait_bot_text(room, "now ends Wed 2 Dec 11:00 Europe/Berlin")
    wait_until(lambda: extension["id"] in [m["id"] for m in emu.deleted_messages], what="the extension's card")
    assert bot.request_statuses(alice.id) == ["active", "cancelled"]
    chat.say(alice, "extend until 11:30")
    chat.wait_bot_text(room, "asked the approvers to extend your intercept until Wed 2 Dec 11:30")
    extension = approval_card_for(chat, bob)

    bot.sandbox_clock(90 * 60)  # 11:30: the intercept ends while its extension still waits
    bot.wait_status(alice.id, "reverted")
    chat.wait_bot_text(room, "request to extend your intercept was withdrawn")
    wait_until(lambda: extension["id"] in [m["id"] for m in emu.deleted_messages], what="the extension's card")
    assert "expired" in bot.request_statuses(alice.id)
    chat.say(alice, "can you cancel my intercept?")
    chat.wait_bot_text(room, "You have nothing to cancel.")
    assert len(chat.cards(room, "until.date")) == forms  # no sentence opened a new form
    assert [put.json["enabled"] for put in chat.puts(alice)] == [True, False]
