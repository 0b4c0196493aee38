"""Files attached to messages: multipart POST /messages and GET/HEAD /contents/{contentId}."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest

from tests.emulator.helpers import Answer, Cast, Receiver, raw_request
from webex_emulator import EmulatorError, WebexEmulator
from webex_emulator.multipart import encode_form_data

SECRET = "file-hook-secret"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + os.urandom(64) + b"\r\n--not-a-boundary\r\n\r\n\x00\xff"


def _get(emu: WebexEmulator, url: str, token: str | None, method: str = "GET") -> Answer:
    assert url.startswith(emu.base_url + "/contents/")
    return raw_request(emu, method, url.removeprefix(emu.base_url), token=token)


def _post_form(emu: WebexEmulator, token: str, fields: list[tuple[str, str]],
               files: list[tuple[str, str, bytes, str]]) -> Answer:
    body, content_type = encode_form_data(fields, files)
    return raw_request(emu, "POST", "/messages", token=token, body=body, content_type=content_type)


def test_upload_and_download_round_trip(cast: Cast) -> None:
    emu = cast.emu
    sent = emu.say(cast.alice, text="my greeting", to_person_id=cast.bot.id,
                   upload=("greeting.wav", WAV, "audio/wav"))
    room = emu.direct_room_id(cast.alice.id, cast.bot.id)
    [content] = emu.contents
    url = f"{emu.base_url}/contents/{content.id}"
    assert sent["files"] == [url] and sent["roomId"] == room and sent["text"] == "my greeting"
    assert sent["toPersonId"] == cast.bot.id and sent["personId"] == cast.alice.id
    assert (content.filename, content.content_type, content.data) == ("greeting.wav", "audio/wav", WAV)
    assert content.message_id == sent["id"] and content.person_id == cast.alice.id
    request = emu.requests_matching("POST", "/messages")[0]
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=") and request.json is None

    status, read = emu.call(cast.bot, "GET", f"/messages/{sent['id']}")
    assert status == 200 and read["files"] == [url]
    answer = _get(emu, url, "bot-token")
    assert answer.status == 200 and answer.raw == WAV
    assert answer.headers["content-type"] == "audio/wav"
    assert answer.headers["content-length"] == str(len(WAV))
    assert answer.headers["content-disposition"] == 'attachment; filename="greeting.wav"'
    assert _get(emu, url, "alice-token").raw == WAV  # the uploader is a member too
    assert emu.spec_violations == []


def test_head_has_the_headers_without_the_bytes(cast: Cast) -> None:
    emu = cast.emu
    sent = emu.say(cast.alice, to_person_id=cast.bot.id, upload=("notes.bin", b"\x00\x01\x02"))
    answer = _get(emu, sent["files"][0], "bot-token", method="HEAD")
    assert answer.status == 200 and answer.raw == b""
    assert answer.headers["content-length"] == "3"
    assert answer.headers["content-type"] == "application/octet-stream"  # no type given: the default
    assert answer.headers["content-disposition"] == 'attachment; filename="notes.bin"'
    assert emu.requests_matching("HEAD", "/contents/.+")[0].status == 200
    assert emu.spec_violations == []


def test_only_room_members_may_download(cast: Cast) -> None:
    emu = cast.emu
    sent = emu.say(cast.alice, text="for the bot", to_person_id=cast.bot.id, upload=("greeting.wav", WAV))
    url = sent["files"][0]
    for method in ("GET", "HEAD"):
        assert _get(emu, url, "bob-token", method).status == 404  # not in the 1:1 room
        assert _get(emu, url, None, method).status == 401
        assert _get(emu, f"{emu.base_url}/contents/nope", "bot-token", method).status == 404
    assert _get(emu, url, "bob-token").json["message"] == "The requested resource could not be found."
    assert emu.call(cast.alice, "DELETE", f"/messages/{sent['id']}")[0] == 204
    assert _get(emu, url, "bot-token").status == 404  # gone with its message
    assert emu.spec_violations == []


def test_group_room_upload_with_mention_and_thread(cast: Cast) -> None:
    emu = cast.emu
    room = emu.group_room("Team", [cast.alice.id, cast.bob.id, cast.bot.id])
    parent = emu.say(cast.alice, text="thread start", room_id=room)
    sent = emu.say(cast.alice, markdown=f"<@personId:{cast.bot.id}|Bot> here it is", room_id=room,
                   parent_id=parent["id"], upload=("greeting.wav", WAV, "audio/wav"))
    assert sent["parentId"] == parent["id"] and sent["mentionedPeople"] == [cast.bot.id]
    assert sent["text"] == "Intercept Bot here it is"
    assert _get(emu, sent["files"][0], "bot-token").raw == WAV
    assert _get(emu, sent["files"][0], "bob-token").raw == WAV
    emu.remove_member(room, cast.bob.id)
    assert _get(emu, sent["files"][0], "bob-token").status == 404
    assert emu.spec_violations == []


def test_webhook_for_a_file_message_carries_ids_only(cast: Cast, receiver: Receiver) -> None:
    emu = cast.emu
    emu.add_webhook(cast.bot, "files", receiver.url, "messages", "created", secret=SECRET, filter="hasFiles=true")
    emu.add_webhook(cast.bot, "no files", receiver.url + "/none", "messages", "created", filter="hasFiles=false")
    sent = emu.say(cast.alice, text="greeting attached", to_person_id=cast.bot.id, upload=("greeting.wav", WAV))
    emu.wait_for_deliveries()
    [got] = receiver.received
    assert got.path == "/hook"
    expected = hmac.new(SECRET.encode(), got.raw, hashlib.sha1).hexdigest()
    assert hmac.compare_digest(expected, got.headers["x-spark-signature"])
    assert got.json["data"] == {"id": sent["id"], "roomId": sent["roomId"], "roomType": "direct",
                                "personId": cast.alice.id, "personEmail": "alice@example.com",
                                "created": sent["created"]}
    assert b"/contents/" not in got.raw and b"greeting" not in got.raw
    assert emu.spec_violations == []


def test_multipart_needs_exactly_one_destination(cast: Cast) -> None:
    emu = cast.emu
    files = [("files", "greeting.wav", WAV, "audio/wav")]
    answer = _post_form(emu, "alice-token", [("text", "no destination")], files)
    assert answer.status == 400 and "roomId, toPersonId or toPersonEmail" in answer.json["message"]
    room = emu.direct_room_id(cast.alice.id, cast.bot.id)
    answer = _post_form(emu, "alice-token", [("roomId", room), ("toPersonId", cast.bot.id)], files)
    assert answer.status == 400 and "Exactly one" in answer.json["message"]
    assert _post_form(emu, "alice-token", [("toPersonEmail", "bot@webex.bot")], files).status == 200
    assert emu.call(cast.bot, "GET", "/messages", query={"roomId": room})[1]["items"][0]["files"]
    assert len(emu.contents) == 1  # refused messages store no file
    assert emu.spec_violations == []


def test_one_file_per_message(cast: Cast) -> None:
    emu = cast.emu
    two = [("files", "a.wav", WAV, "audio/wav"), ("files", "b.wav", WAV, "audio/wav")]
    answer = _post_form(emu, "alice-token", [("toPersonId", cast.bot.id)], two)
    assert answer.status == 400 and "Only one file" in answer.json["message"]
    assert emu.contents == [] and emu.messages() == []
    assert emu.spec_violations == []


def test_empty_and_too_large_files() -> None:
    emu = WebexEmulator(org_id="org-1", max_file_bytes=1000)
    alice = emu.add_person(email="alice@example.com", token="alice-token")
    bot = emu.add_person(email="bot@webex.bot", type="bot", token="bot-token")
    with emu:
        answer = _post_form(emu, "alice-token", [("toPersonId", bot.id)], [("files", "big.bin", b"x" * 1001, "a/b")])
        assert answer.status == 413 and "1001 bytes" in answer.json["message"]
        answer = _post_form(emu, "alice-token", [("toPersonId", bot.id)], [("files", "empty.bin", b"", "a/b")])
        assert answer.status == 400
        assert emu.say(alice, to_person_id=bot.id, upload=("ok.bin", b"x" * 1000))["files"]
        assert emu.spec_violations == []


def test_malformed_forms_are_400_and_spec_violations(cast: Cast) -> None:
    emu = cast.emu
    to_bot = ("toPersonId", cast.bot.id)
    wav = ("files", "greeting.wav", WAV, "audio/wav")
    assert _post_form(emu, "alice-token", [to_bot, ("attachments", "[]")], [wav]).status == 400
    assert _post_form(emu, "alice-token", [to_bot, ("text", "a"), ("text", "b")], [wav]).status == 400
    assert _post_form(emu, "alice-token", [to_bot, ("files", "https://example.com/x.png")], []).status == 400
    assert _post_form(emu, "alice-token", [], [wav, ("roomId", "r.txt", b"room", "text/plain")]).status == 400
    garbage = raw_request(emu, "POST", "/messages", token="alice-token", body=b"no parts here",
                          content_type="multipart/form-data; boundary=xyz")
    assert garbage.status == 400
    violations = emu.spec_violations
    assert len(violations) == 5 and all(v.startswith("POST /v1/messages: ") for v in violations)
    assert "'attachments' is not one of" in violations[0]
    assert "given more than once" in violations[1]
    assert "must be a file part" in violations[2]
    assert "must be text, not a file" in violations[3]
    assert "boundary" in violations[4]
    assert emu.messages() == []


def test_say_refuses_an_upload_with_urls_or_cards(cast: Cast) -> None:
    with pytest.raises(ValueError, match="upload cannot be combined"):
        cast.emu.say(cast.alice, to_person_id=cast.bot.id, files=["https://example.com/x.png"],
                     upload=("x.png", b"png"))
    with pytest.raises(EmulatorError) as refused:
        cast.emu.say(cast.alice, to_person_id=cast.alice.id, upload=("x.png", b"png"))
    assert refused.value.status == 400


def test_non_ascii_file_name_gets_a_safe_disposition(cast: Cast) -> None:
    sent = cast.emu.say(cast.alice, to_person_id=cast.bot.id, upload=("Grüße.wav", WAV, "audio/wav"))
    assert cast.emu.contents[0].filename == "Grüße.wav"
    answer = _get(cast.emu, sent["files"][0], "bot-token")
    assert answer.headers["content-disposition"] == (
        "attachment; filename=\"Gr??e.wav\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.wav")
