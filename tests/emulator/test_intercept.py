"""GET/PUT /people/{id}/features/intercept and the announcement upload."""

from __future__ import annotations

import struct

from tests.emulator.helpers import Cast, raw_request
from webex_emulator import DEFAULT_INTERCEPT


def _path(person_id: str) -> str:
    return f"/people/{person_id}/features/intercept"


def _wav(seconds: float = 0.01) -> bytes:
    frames = b"\x00\x00" * int(8000 * seconds)
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, 8000, 16000, 2, 16)
    data = b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", 4 + len(fmt) + len(data)) + b"WAVE" + fmt + data


def _multipart(name: str, data: bytes, content_type: str = "audio/wav") -> tuple[bytes, str]:
    boundary = "----emulatorboundary42"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_get_defaults_full_settings(cast: Cast) -> None:
    status, settings = cast.emu.call(cast.admin, "GET", _path(cast.alice.id))
    assert status == 200 and settings == DEFAULT_INTERCEPT
    assert settings["incoming"]["announcements"]["fileName"] == ""
    assert settings["incoming"]["type"] == "INTERCEPT_ALL" and settings["outgoing"]["type"] == "INTERCEPT_ALL"


def test_put_is_204_without_body_and_a_partial_merge(cast: Cast) -> None:
    emu = cast.emu
    answer = raw_request(emu, "PUT", _path(cast.alice.id), token="admin-token", json_body={
        "enabled": True, "incoming": {"announcements": {"newNumber": {"enabled": True, "destination": "+4930123"}}}})
    assert answer.status == 204 and answer.raw == b""
    settings = emu.get_intercept(cast.alice.id)
    assert settings["enabled"] is True
    assert settings["incoming"]["announcements"]["newNumber"] == {"enabled": True, "destination": "+4930123"}
    assert settings["incoming"]["announcements"]["greeting"] == "DEFAULT"  # untouched
    assert settings["incoming"]["type"] == "INTERCEPT_ALL" and settings["outgoing"]["transferEnabled"] is False
    status, read = emu.call(cast.admin, "GET", _path(cast.alice.id))
    assert status == 200 and read == settings
    assert emu.requests_matching("PUT", r"/people/.+/features/intercept")[0].json["enabled"] is True
    assert emu.spec_violations == []


def test_schema_rejected_body_is_400_and_a_violation(cast: Cast) -> None:
    status, body = cast.emu.call(cast.admin, "PUT", _path(cast.alice.id), {"incoming": {"type": "SOMETIMES"}})
    assert status == 400 and "SOMETIMES" in body["errors"][0]["description"]
    assert len(cast.emu.spec_violations) == 1 and "SOMETIMES" in cast.emu.spec_violations[0]
    assert cast.emu.get_intercept(cast.alice.id) == DEFAULT_INTERCEPT


def test_file_name_in_body_is_refused(cast: Cast) -> None:
    for key in ("fileName", "filename"):
        status, _ = cast.emu.call(cast.admin, "PUT", _path(cast.alice.id),
                                  {"incoming": {"announcements": {"greeting": "DEFAULT", key: "x.wav"}}})
        assert status == 400
    assert len(cast.emu.spec_violations) == 2


def test_body_must_be_an_object(cast: Cast) -> None:
    assert cast.emu.call(cast.admin, "PUT", _path(cast.alice.id), ["enabled"])[0] == 400
    assert cast.emu.spec_violations


def test_semantic_checks(cast: Cast) -> None:
    emu = cast.emu
    no_destination = {"incoming": {"announcements": {"zeroTransfer": {"enabled": True}}}}
    status, body = emu.call(cast.admin, "PUT", _path(cast.alice.id), no_destination)
    assert status == 400 and "destination" in body["errors"][0]["description"]
    custom = {"incoming": {"announcements": {"greeting": "CUSTOM"}}}
    assert emu.call(cast.admin, "PUT", _path(cast.alice.id), custom)[0] == 400
    assert emu.spec_violations == []  # schema-valid, refused for meaning


def test_only_admins_may_call_it(cast: Cast) -> None:
    emu = cast.emu
    for who in (cast.bot, cast.bob, cast.alice):
        assert emu.call(who, "GET", _path(cast.alice.id))[0] == 403
        assert emu.call(who, "PUT", _path(cast.alice.id), {"enabled": True})[0] == 403
    bot_admin = emu.add_person(email="adminbot@webex.bot", type="bot", token="admin-bot", admin=True)
    assert emu.call(bot_admin, "GET", _path(cast.alice.id))[0] == 403
    assert emu.get_intercept(cast.alice.id)["enabled"] is False


def test_unknown_person_and_org_mismatch_are_404(cast: Cast) -> None:
    emu = cast.emu
    assert emu.call(cast.admin, "GET", _path("Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ub2JvZHk"))[0] == 404
    assert emu.call(cast.admin, "GET", _path(cast.alice.id), query={"orgId": "other-org"})[0] == 404
    assert emu.call(cast.admin, "PUT", _path(cast.alice.id), {"enabled": True}, query={"orgId": "other-org"})[0] == 404
    assert emu.call(cast.admin, "GET", _path(cast.alice.id), query={"orgId": "org-1"})[0] == 200
    assert emu.call(cast.admin, "GET", _path(cast.bot.id))[0] == 404  # bots have no calling
    stranger = emu.add_person(email="s@elsewhere.com", org_id="org-2")
    assert emu.call(cast.admin, "GET", _path(stranger.id))[0] == 404
    assert emu.call(cast.admin, "GET", _path(stranger.id), query={"orgId": "org-2"})[0] == 200


def test_set_and_get_intercept_control_api(cast: Cast) -> None:
    cast.emu.set_intercept(cast.bob.id, {"enabled": True, "incoming": {"type": "ALLOW_ALL"}})
    settings = cast.emu.get_intercept(cast.bob.id)
    assert settings["enabled"] is True and settings["incoming"]["type"] == "ALLOW_ALL"
    assert settings["outgoing"] == DEFAULT_INTERCEPT["outgoing"]
    settings["enabled"] = False
    assert cast.emu.get_intercept(cast.bob.id)["enabled"] is True  # a copy


def test_announcement_upload(cast: Cast) -> None:
    emu = cast.emu
    path = _path(cast.alice.id) + "/actions/announcementUpload/invoke"
    wav = _wav()
    body, content_type = _multipart("away.wav", wav)
    answer = raw_request(emu, "POST", path, token="admin-token", body=body, content_type=content_type)
    assert answer.status == 201 and answer.raw == b""
    assert [(u.person_id, u.file_name, u.data) for u in emu.uploads] == [(cast.alice.id, "away.wav", wav)]
    assert emu.get_intercept(cast.alice.id)["incoming"]["announcements"]["fileName"] == "away.wav"
    custom = {"incoming": {"announcements": {"greeting": "CUSTOM"}}}
    status, _ = emu.call(cast.admin, "PUT", _path(cast.alice.id), custom)
    assert status == 204
    assert emu.spec_violations == []


def test_announcement_upload_refusals(cast: Cast) -> None:
    emu = cast.emu
    path = _path(cast.alice.id) + "/actions/announcementUpload/invoke"
    body, content_type = _multipart("away.mp3", _wav(), "audio/mpeg")
    assert raw_request(emu, "POST", path, token="admin-token", body=body, content_type=content_type).status == 400
    body, content_type = _multipart("fake.wav", b"not audio at all")
    assert raw_request(emu, "POST", path, token="admin-token", body=body, content_type=content_type).status == 400
    assert raw_request(emu, "POST", path, token="admin-token", json_body={"file": "away.wav"}).status == 400
    body, content_type = _multipart("away.wav", _wav())
    assert raw_request(emu, "POST", path, token="bob-token", body=body, content_type=content_type).status == 403
    assert emu.uploads == []
