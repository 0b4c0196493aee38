"""spec_violations stays empty for a well-behaved client and names every bad request."""

from __future__ import annotations

from tests.emulator.helpers import Cast, card_attachment, raw_request


def test_good_traffic_leaves_no_violations(cast: Cast) -> None:
    emu = cast.emu
    emu.call(cast.bot, "GET", "/people/me")
    emu.call(cast.bot, "GET", f"/people/{cast.alice.id}")
    emu.add_webhook(cast.bot, "m", "https://bot.example.com/hook", "messages", "created", secret="x")
    sent = emu.say(cast.bot, markdown="Approve?", to_person_id=cast.alice.id, attachments=card_attachment())
    emu.submit(cast.alice, sent["id"], {"ok": "yes"})
    emu.call(cast.admin, "GET", f"/people/{cast.alice.id}/features/intercept")
    emu.call(cast.admin, "PUT", f"/people/{cast.alice.id}/features/intercept", {"enabled": True})
    emu.call(cast.bot, "GET", "/memberships", query={"roomId": sent["roomId"]})
    emu.call(cast.bot, "DELETE", f"/messages/{sent['id']}")
    assert emu.spec_violations == []


def test_bad_requests_are_listed(cast: Cast) -> None:
    emu = cast.emu
    assert raw_request(emu, "GET", "/rooms", token="bot-token").status == 404
    assert raw_request(emu, "PATCH", "/messages/x", token="bot-token", json_body={}).status == 404
    assert raw_request(emu, "GET", "//people/me", token="bot-token").status == 404  # not under /v1
    assert emu.call(cast.bot, "POST", "/messages", {"toPersonId": cast.alice.id, "text": 5})[0] == 400
    violations = emu.spec_violations
    assert len(violations) == 4
    assert violations[0].startswith("GET /v1/rooms: no such operation")
    assert violations[1].startswith("PATCH /v1/messages/x")
    assert violations[2].startswith("GET /people/me")
    assert "$.text" in violations[3]
    emu.clear_spec_violations()
    assert emu.spec_violations == []


def test_requests_matching(cast: Cast) -> None:
    emu = cast.emu
    emu.call(cast.bot, "GET", "/people/me")
    emu.call(cast.bot, "GET", f"/people/{cast.alice.id}", query={"callingData": "true"})
    assert len(emu.requests_matching("GET", "/people/me")) == 1
    matched = emu.requests_matching("get", r"/people/[^/]+")
    assert len(matched) == 2 and matched[1].query == {"callingData": "true"}
    assert emu.requests_matching("POST", r"/people/.*") == []
