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


def test_a_caller_that_dies_mid_body_is_neither_recorded_nor_a_violation(cast: Cast) -> None:
    """A process killed while sending a request leaves a body shorter than its Content-Length:
    Webex never sees such a request, so the emulator must not record it (nor call it invalid)."""
    import socket
    from urllib.parse import urlsplit

    emu = cast.emu
    parts = urlsplit(emu.base_url)
    body = b'{"toPersonId": "x", "text": "cut off'
    length = b"Content-Length: " + str(len(body) + 50).encode() + b"\r\n\r\n"
    chunked = b"Transfer-Encoding: chunked\r\n\r\n"
    for framing_and_sent in (length, length + body, chunked, chunked + b"%x\r\n" % len(body) + body + b"\r\n"):
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as sock:
            sock.sendall(b"POST " + parts.path.encode() + b"/messages HTTP/1.1\r\nHost: x\r\n"
                         b"Authorization: Bearer bot-token\r\nContent-Type: application/json\r\n"
                         + framing_and_sent)
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(1024) == b""  # closed without an answer
    assert emu.requests_matching("POST", "/messages") == []
    assert emu.spec_violations == []
    # the same connection-level framing, complete, is answered and recorded as usual
    assert emu.call(cast.bot, "POST", "/messages", {"toPersonId": cast.alice.id, "text": "whole"})[0] == 200
    assert len(emu.requests_matching("POST", "/messages")) == 1
