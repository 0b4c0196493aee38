"""POST/GET/PUT/DELETE /messages: shapes, the 400s, visibility and rooms."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.emulator.helpers import CARD_TYPE, Cast, card, card_attachment, raw_request


def test_direct_message_shape_and_room_reuse(cast: Cast) -> None:
    emu = cast.emu
    status, sent = emu.call(cast.bot, "POST", "/messages", {"toPersonId": cast.alice.id, "markdown": "**Hi** there"})
    assert status == 200
    assert sent["roomType"] == "direct" and sent["toPersonId"] == cast.alice.id
    assert sent["markdown"] == "**Hi** there" and sent["text"] == "Hi there"
    assert sent["personId"] == cast.bot.id and sent["personEmail"] == "bot@webex.bot"
    assert sent["created"].endswith("Z") and "mentionedPeople" not in sent
    assert sent["roomId"] == emu.direct_room_id(cast.alice.id, cast.bot.id)

    status, again = emu.call(cast.bot, "POST", "/messages", {"toPersonEmail": "alice@example.com", "text": "x"})
    assert status == 200 and again["roomId"] == sent["roomId"] and again["toPersonEmail"] == "alice@example.com"
    reply = emu.say(cast.alice, text="hello", room_id=sent["roomId"])
    assert reply["roomId"] == sent["roomId"] and "toPersonId" not in reply
    assert [m["id"] for m in emu.messages(sent["roomId"])] == [sent["id"], again["id"], reply["id"]]
    status, fetched = emu.call(cast.alice, "GET", f"/messages/{sent['id']}")
    assert status == 200 and "toPersonId" not in fetched and fetched["id"] == sent["id"]
    assert emu.spec_violations == []


def test_destination_must_be_exactly_one(cast: Cast) -> None:
    room = cast.emu.direct_room_id(cast.alice.id, cast.bot.id)
    status, body = cast.emu.call(cast.bot, "POST", "/messages",
                                 {"roomId": room, "toPersonId": cast.alice.id, "text": "x"})
    assert status == 400 and "Exactly one" in body["message"]
    status, _ = cast.emu.call(cast.bot, "POST", "/messages", {"text": "x"})
    assert status == 400
    status, _ = cast.emu.call(cast.bot, "POST", "/messages", {"roomId": room})
    assert status == 400


def test_text_and_markdown_byte_limit(cast: Cast) -> None:
    room = cast.emu.direct_room_id(cast.alice.id, cast.bot.id)
    assert cast.emu.call(cast.bot, "POST", "/messages", {"roomId": room, "text": "a" * 7439})[0] == 200
    status, body = cast.emu.call(cast.bot, "POST", "/messages", {"roomId": room, "text": "a" * 7440})
    assert status == 400 and "7439" in body["message"]
    # bytes, not characters: 2 bytes each in UTF-8
    assert cast.emu.call(cast.bot, "POST", "/messages", {"roomId": room, "markdown": "ä" * 3720})[0] == 400


def test_invalid_card_is_400_and_a_spec_violation(cast: Cast) -> None:
    room = cast.emu.direct_room_id(cast.alice.id, cast.bot.id)
    bad = card({"type": "TextBlock", "txt": "typo"})
    status, body = cast.emu.call(cast.bot, "POST", "/messages",
                                 {"roomId": room, "markdown": "m", "attachments": card_attachment(bad)})
    assert status == 400
    assert any("body[0]" in e["description"] for e in body["errors"])
    assert len(cast.emu.spec_violations) >= 1 and "POST /v1/messages" in cast.emu.spec_violations[0]
    assert cast.emu.messages(room) == []


def test_card_rules_content_type_count_and_version(cast: Cast) -> None:
    room = cast.emu.direct_room_id(cast.alice.id, cast.bot.id)
    two = card_attachment() * 2
    assert cast.emu.call(cast.bot, "POST", "/messages", {"roomId": room, "text": "t", "attachments": two})[0] == 400
    wrong = [{"contentType": "application/json", "content": card()}]
    assert cast.emu.call(cast.bot, "POST", "/messages", {"roomId": room, "text": "t", "attachments": wrong})[0] == 400
    newer = card_attachment(card(version="1.5"))
    assert cast.emu.call(cast.bot, "POST", "/messages", {"roomId": room, "text": "t", "attachments": newer})[0] == 400
    status, sent = cast.emu.call(cast.bot, "POST", "/messages", {"roomId": room, "text": "t",
                                                                 "attachments": card_attachment()})
    assert status == 200 and sent["attachments"][0]["contentType"] == CARD_TYPE


def test_caller_must_be_member_of_room(cast: Cast) -> None:
    room = cast.emu.direct_room_id(cast.alice.id, cast.bot.id)
    sent = cast.emu.say(cast.alice, text="private", room_id=room)
    assert cast.emu.call(cast.bob, "POST", "/messages", {"roomId": room, "text": "hi"})[0] == 404
    assert cast.emu.call(cast.bob, "GET", f"/messages/{sent['id']}")[0] == 404
    assert cast.emu.call(cast.bob, "GET", "/messages", query={"roomId": room})[0] == 404
    assert cast.emu.call(cast.alice, "GET", f"/messages/{sent['id']}")[0] == 200


def test_mentions_are_parsed_and_shown_as_display_names(cast: Cast) -> None:
    room = cast.emu.group_room("Team space", [cast.alice.id, cast.bob.id, cast.bot.id])
    sent = cast.emu.say(cast.alice, markdown=f"<@personId:{cast.bot.id}|Bot> help <@personEmail:bob@example.com>",
                        room_id=room)
    assert sent["mentionedPeople"] == [cast.bot.id, cast.bob.id]
    assert sent["text"] == "Intercept Bot help Bob Brandt"
    assert sent["roomType"] == "group"


def test_group_room_visibility_for_bots(cast: Cast) -> None:
    emu = cast.emu
    room = emu.group_room("Team space", [cast.alice.id, cast.bob.id, cast.bot.id])
    plain = emu.say(cast.alice, text="just chatting", room_id=room)
    mention = emu.say(cast.alice, markdown=f"<@personId:{cast.bot.id}> status", room_id=room)
    assert emu.call(cast.bot, "GET", f"/messages/{plain['id']}")[0] == 404
    assert emu.call(cast.bot, "GET", f"/messages/{mention['id']}")[0] == 200
    assert emu.call(cast.bob, "GET", f"/messages/{plain['id']}")[0] == 200
    assert emu.call(cast.bot, "GET", "/messages", query={"roomId": room})[0] == 403
    status, listed = emu.call(cast.bot, "GET", "/messages", query={"roomId": room, "mentionedPeople": "me"})
    assert status == 200 and [m["id"] for m in listed["items"]] == [mention["id"]]


def test_list_is_newest_first_with_max(cast: Cast) -> None:
    room = cast.emu.direct_room_id(cast.alice.id, cast.bot.id)
    ids = [cast.emu.say(cast.alice, text=f"m{i}", room_id=room)["id"] for i in range(4)]
    status, listed = cast.emu.call(cast.bot, "GET", "/messages", query={"roomId": room, "max": "3"})
    assert status == 200 and [m["id"] for m in listed["items"]] == ids[::-1][:3]
    status, listed = cast.emu.call(cast.bot, "GET", "/messages", query={"roomId": room, "beforeMessage": ids[2]})
    assert [m["id"] for m in listed["items"]] == [ids[1], ids[0]]
    assert cast.emu.call(cast.bot, "GET", "/messages")[0] == 400  # roomId is required
    assert any("roomId" in v for v in cast.emu.spec_violations)


def test_delete_only_by_author(cast: Cast) -> None:
    emu = cast.emu
    room = emu.direct_room_id(cast.alice.id, cast.bot.id)
    sent = emu.say(cast.bot, text="card soon", room_id=room)
    answer = raw_request(emu, "DELETE", f"/messages/{sent['id']}", token="alice-token")
    assert answer.status == 403
    answer = raw_request(emu, "DELETE", f"/messages/{sent['id']}", token="bot-token")
    assert answer.status == 204 and answer.raw == b""
    assert emu.call(cast.bot, "GET", f"/messages/{sent['id']}")[0] == 404
    assert [m["id"] for m in emu.deleted_messages] == [sent["id"]]
    assert emu.messages(room) == []
    assert raw_request(emu, "DELETE", f"/messages/{sent['id']}", token="bot-token").status == 404


def test_edit_text_but_never_a_card(cast: Cast) -> None:
    emu = cast.emu
    room = emu.direct_room_id(cast.alice.id, cast.bot.id)
    text = emu.say(cast.bot, markdown="first", room_id=room)
    status, edited = emu.call(cast.bot, "PUT", f"/messages/{text['id']}", {"roomId": room, "markdown": "second"})
    assert status == 200 and edited["markdown"] == "second" and edited["text"] == "second" and edited["updated"]
    assert emu.call(cast.alice, "PUT", f"/messages/{text['id']}", {"roomId": room, "text": "x"})[0] == 403
    status, carded = emu.call(cast.bot, "POST", "/messages", {"roomId": room, "markdown": "pick",
                                                              "attachments": card_attachment()})
    status, body = emu.call(cast.bot, "PUT", f"/messages/{carded['id']}", {"roomId": room, "markdown": "new"})
    assert status == 400 and "card" in body["message"]
    assert emu.message(carded["id"])["markdown"] == "pick"
    assert emu.spec_violations == []


def test_threads_are_one_level_deep(cast: Cast) -> None:
    emu = cast.emu
    room = emu.direct_room_id(cast.alice.id, cast.bot.id)
    other = emu.direct_room_id(cast.bob.id, cast.bot.id)
    root = emu.say(cast.alice, text="root", room_id=room)
    status, reply = emu.call(cast.bot, "POST", "/messages", {"roomId": room, "text": "re", "parentId": root["id"]})
    assert status == 200 and reply["parentId"] == root["id"]
    assert emu.call(cast.bot, "POST", "/messages", {"roomId": room, "text": "x", "parentId": reply["id"]})[0] == 400
    assert emu.call(cast.bot, "POST", "/messages", {"roomId": other, "text": "x", "parentId": root["id"]})[0] == 400


def test_unparseable_json_is_400_and_a_violation(cast: Cast) -> None:
    answer = raw_request(cast.emu, "POST", "/messages", token="bot-token", body=b"{not json",
                         content_type="application/json")
    assert answer.status == 400 and answer.json["trackingId"]
    assert cast.emu.requests[-1].json is None and cast.emu.requests[-1].body == b"{not json"
    assert cast.emu.spec_violations


def test_message_times_follow_the_sandbox_clock(cast: Cast) -> None:
    emu = cast.emu
    _, before = emu.call(cast.bot, "POST", "/messages", {"toPersonId": cast.alice.id, "text": "now"})
    emu.set_clock_offset(timedelta(days=3))
    _, after = emu.call(cast.bot, "POST", "/messages", {"toPersonId": cast.alice.id, "text": "three days on"})
    said = emu.say(cast.alice, text="me too", room_id=after["roomId"])
    stamp = [datetime.fromisoformat(m["created"].replace("Z", "+00:00")) for m in (before, after, said)]
    assert timedelta(days=3) <= stamp[1] - stamp[0] < timedelta(days=3, minutes=1)
    assert stamp[2] >= stamp[1]
