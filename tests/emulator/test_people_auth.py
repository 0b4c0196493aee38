"""Authentication, tracking ids and the people endpoints."""

from __future__ import annotations

import base64

from tests.emulator.helpers import Cast, raw_request
from webex_emulator import WebexEmulator


def _decoded(webex_id: str) -> str:
    return base64.b64decode(webex_id + "=" * (-len(webex_id) % 4)).decode()


def test_ids_look_like_webex_ids(cast: Cast) -> None:
    assert _decoded(cast.alice.id).startswith("ciscospark://us/PEOPLE/")
    assert "=" not in cast.alice.id
    room = cast.emu.direct_room_id(cast.alice.id, cast.bot.id)
    assert _decoded(room).startswith("ciscospark://us/ROOM/")


def test_missing_or_unknown_token_is_401_with_tracking_id(cast: Cast) -> None:
    for token in (None, "wrong-token"):
        answer = raw_request(cast.emu, "GET", "/people/me", token=token)
        assert answer.status == 401
        assert answer.json["message"]
        assert answer.json["trackingId"] == answer.headers["trackingid"]
    assert [r.status for r in cast.emu.requests] == [401, 401]
    assert cast.emu.requests[0].caller_id is None


def test_every_response_has_a_tracking_id_and_authorization_is_not_recorded(cast: Cast) -> None:
    answer = raw_request(cast.emu, "GET", "/people/me", token="alice-token")
    assert answer.status == 200 and answer.headers["trackingid"].startswith("ROUTER_")
    assert answer.headers["content-type"].startswith("application/json")
    recorded = cast.emu.requests[-1]
    assert recorded.caller_id == cast.alice.id
    assert "authorization" not in {k.lower() for k in recorded.headers}
    assert recorded.status == 200 and recorded.at.tzinfo is not None


def test_people_me_and_person_shape(cast: Cast) -> None:
    status, me = cast.emu.call(cast.alice, "GET", "/people/me")
    assert status == 200
    assert me["id"] == cast.alice.id and me["emails"] == ["alice@example.com"]
    assert me["displayName"] == "Alice Adler" and me["firstName"] == "Alice" and me["lastName"] == "Adler"
    assert me["orgId"] == "org-1" and me["type"] == "person" and me["timezone"] == "Europe/Berlin"
    assert me["created"].endswith("Z")
    status, bot = cast.emu.call(cast.alice, "GET", f"/people/{cast.bot.id}")
    assert status == 200 and bot["type"] == "bot"


def test_timezone_is_absent_when_unset(cast: Cast) -> None:
    status, bob = cast.emu.call(cast.bot, "GET", f"/people/{cast.bob.id}")
    assert status == 200
    assert "timezone" not in bob


def test_unknown_person_is_404(cast: Cast) -> None:
    status, body = cast.emu.call(cast.bot, "GET", "/people/Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ub2JvZHk")
    assert status == 404 and body["trackingId"]


def test_list_people_by_email_and_ids(cast: Cast) -> None:
    status, found = cast.emu.call(cast.bot, "GET", "/people", query={"email": "ALICE@example.com"})
    assert status == 200 and [p["id"] for p in found["items"]] == [cast.alice.id]
    status, found = cast.emu.call(cast.bot, "GET", "/people", query={"email": "nobody@example.com"})
    assert status == 200 and found["items"] == []
    status, found = cast.emu.call(cast.bot, "GET", "/people", query={"id": f"{cast.alice.id},{cast.bob.id}"})
    assert [p["displayName"] for p in found["items"]] == ["Alice Adler", "Bob Brandt"]
    status, _ = cast.emu.call(cast.bot, "GET", "/people")
    assert status == 400  # only an administrator may list without a filter
    status, found = cast.emu.call(cast.admin, "GET", "/people")
    assert status == 200 and cast.alice.id in [p["id"] for p in found["items"]]
    assert cast.emu.spec_violations == []  # List People is in the excerpt (intercept-bot check uses it)


def test_get_room_for_members_only(cast: Cast) -> None:
    space = cast.emu.group_room("Approvals", [cast.bob.id, cast.bot.id])
    status, room = cast.emu.call(cast.bot, "GET", f"/rooms/{space}")
    assert status == 200 and room["title"] == "Approvals" and room["type"] == "group"
    status, _ = cast.emu.call(cast.alice, "GET", f"/rooms/{space}")
    assert status == 404  # not a member: as for a room that does not exist
    direct = cast.emu.direct_room_id(cast.alice.id, cast.bot.id)
    status, room = cast.emu.call(cast.alice, "GET", f"/rooms/{direct}")
    assert status == 200 and room["title"] == "Intercept Bot" and room["type"] == "direct"
    assert cast.emu.spec_violations == []


def test_org_id_default_is_generated() -> None:
    emu = WebexEmulator()
    person = emu.add_person(email="x@example.com", display_name="X")
    assert _decoded(emu.org_id).startswith("ciscospark://us/ORGANIZATION/")
    assert person.org_id == emu.org_id and person.token


def test_context_manager_starts_and_stops() -> None:
    with WebexEmulator() as emu:
        emu.add_person(email="x@example.com", token="t")
        assert emu.base_url.startswith("http://127.0.0.1:") and emu.base_url.endswith("/v1")
        assert emu.call("t", "GET", "/people/me")[0] == 200


def test_memberships_and_roles(cast: Cast) -> None:
    emu = cast.emu
    room = emu.group_room("Team space", [cast.alice.id, cast.bot.id])
    status, listed = emu.call(cast.bot, "GET", "/memberships", query={"roomId": room})
    assert status == 200 and {m["personId"] for m in listed["items"]} == {cast.alice.id, cast.bot.id}
    status, added = emu.call(cast.alice, "POST", "/memberships", {"roomId": room, "personEmail": "bob@example.com"})
    assert status == 200 and added["personId"] == cast.bob.id and added["roomType"] == "group"
    assert emu.room_members(room) == [cast.alice.id, cast.bot.id, cast.bob.id]
    assert emu.call(cast.alice, "POST", "/memberships", {"roomId": room, "personId": cast.bob.id})[0] == 409
    status, roles = emu.call(cast.admin, "GET", "/roles")
    assert status == 200 and "Full Administrator" in [r["name"] for r in roles["items"]]
    status, admin = emu.call(cast.admin, "GET", f"/people/{cast.admin.id}")
    assert admin["roles"] == [roles["items"][0]["id"]]
    assert emu.spec_violations == []
