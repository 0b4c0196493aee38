"""The sandbox routes the emulator serves for the demo page (`webex_emulator.sandbox`), without a browser
and without the bot: a fake host stands in for `bot.demo.Demo`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from webex_emulator import WebexEmulator
from webex_emulator.sandbox import VENDOR, HostError, Sandbox, SandboxPerson, missing_vendor_files


@dataclass
class FakeHost:
    moved: list[float] = field(default_factory=list)
    due: list[str] = field(default_factory=list)

    def status(self) -> dict[str, Any]:
        return {"now": "2026-12-02T09:00:00+00:00", "moved": sum(self.moved), "requests": []}

    def advance(self, seconds: float) -> dict[str, Any]:
        self.moved.append(seconds)
        return self.status()

    def make_due(self, request_id: str) -> dict[str, Any]:
        if request_id == "unknown":
            raise HostError("no such request")
        self.due.append(request_id)
        return self.status()


@dataclass
class World:
    emu: WebexEmulator
    host: FakeHost
    bot: Any
    alice: Any
    bob: Any
    space: str

    def url(self, path: str) -> str:
        return self.emu.url + path


def call(url: str, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect())
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status), dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), dict(error.headers), error.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_json(url: str, data: Any) -> tuple[int, Any]:
    status, _, raw = call(url, "POST", json.dumps(data).encode(), {"Content-Type": "application/json"})
    return status, json.loads(raw)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    modules = tmp_path / "node_modules"
    for package, file in VENDOR.values():
        (modules / package / file).parent.mkdir(parents=True, exist_ok=True)
        (modules / package / file).write_text(f"/* {package} */")
    emu = WebexEmulator()
    bot = emu.add_person(email="bot@webex.bot", display_name="Intercept Bot", type="bot", token="bot-token")
    alice = emu.add_person(email="alice@example.com", display_name="Alice Adler", timezone="Europe/Berlin",
                           token="alice-token")
    bob = emu.add_person(email="bob@example.com", display_name="Bob Brandt", token="bob-token")
    space = emu.group_room("Intercept approvals", [bob.id, bot.id])
    host = FakeHost()
    emu.mount(Sandbox(emu, host=host, bot_id=bot.id, people=[SandboxPerson(alice.id, "requester"),
                                                              SandboxPerson(bob.id, "approver")],
                      node_modules=modules, spaces={space: "Intercept approvals"}))
    emu.start()
    try:
        yield World(emu, host, bot, alice, bob, space)
    finally:
        emu.stop()


def test_the_page_and_its_files(world: World) -> None:
    status, headers, _ = call(world.url("/"))
    assert (status, headers["Location"]) == (302, "/sandbox/")
    status, headers, body = call(world.url("/sandbox/"))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'src="app.js"' in body and b"vendor/adaptivecards.min.js" in body
    status, headers, _ = call(world.url("/sandbox/app.js"))
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    status, _, body = call(world.url("/sandbox/vendor/markdown-it.min.mjs"))
    assert (status, body) == (200, b"/* markdown-it */")
    for path in ("/sandbox/nothing.js", "/sandbox/vendor/other.js", "/sandbox/..%2F__init__.py",
                 "/sandbox/vendor/..%2F..%2Fpackage.json"):
        assert call(world.url(path))[0] == 404, path
    assert call(world.url("/favicon.ico"))[0] == 204
    assert call(world.url("/sandbox/"), "POST", b"{}", {"Content-Type": "application/json"})[0] == 405


def test_sandbox_requests_are_not_webex_calls(world: World) -> None:
    call(world.url("/sandbox/api/people"))
    assert world.emu.requests == [] and world.emu.spec_violations == []
    # the API itself is untouched
    status, _, _ = call(world.emu.base_url + "/people/me", headers={"Authorization": "Bearer alice-token"})
    assert status == 200
    assert call(world.emu.base_url + "/people/me")[0] == 401


def test_people_and_rooms(world: World) -> None:
    info = json.loads(call(world.url("/sandbox/api/people"))[2])
    assert info["bot"]["id"] == world.bot.id and "token" not in info["bot"]
    alice, bob = info["people"]
    assert (alice["email"], alice["role"], alice["token"], alice["timezone"]) == (
        "alice@example.com", "requester", "alice-token", "Europe/Berlin")
    assert [r["type"] for r in alice["rooms"]] == ["direct"]
    assert alice["rooms"][0]["id"] == world.emu.direct_room_id(world.alice.id, world.bot.id)
    assert [(r["type"], r["title"]) for r in bob["rooms"]] == [("direct", "Intercept Bot"),
                                                               ("group", "Intercept approvals")]


def test_state_changes_with_the_messages(world: World) -> None:
    def state() -> dict[str, Any]:
        return json.loads(call(world.url(f"/sandbox/api/state?person={world.alice.id}"))[2])

    before = state()
    assert before["host"]["now"] == "2026-12-02T09:00:00+00:00"
    assert set(before["intercepts"]) == {world.alice.id, world.bob.id}
    assert before["intercepts"][world.alice.id]["enabled"] is False
    world.emu.say(world.alice, text="hello", to_person_id=world.bot.id)
    after = state()
    assert after["rooms"][0]["count"] == 1 and after["rooms"][0]["version"] != before["rooms"][0]["version"]
    world.emu.set_intercept(world.alice.id, {"enabled": True})
    assert state()["intercepts"][world.alice.id]["enabled"] is True
    assert json.loads(call(world.url("/sandbox/api/state?person=nobody"))[2])["rooms"] == []


def test_clock_and_due_go_to_the_host(world: World) -> None:
    assert post_json(world.url("/sandbox/api/clock"), {"seconds": 3600}) == (200, world.host.status())
    assert world.host.moved == [3600.0]
    for bad in ({"seconds": -1}, {"seconds": "1"}, {"seconds": True}, {}, [3600]):
        assert post_json(world.url("/sandbox/api/clock"), bad)[0] == 400, bad
    assert post_json(world.url("/sandbox/api/due"), {"requestId": "r1"})[0] == 200
    assert world.host.due == ["r1"]
    assert post_json(world.url("/sandbox/api/due"), {"requestId": "unknown"}) == (409, {"message": "no such request"})
    assert post_json(world.url("/sandbox/api/due"), {})[0] == 400


def test_only_loopback_hosts_and_json_posts(world: World) -> None:
    # a page on another site can send a form POST but not a JSON one; DNS rebinding brings a foreign Host
    status, _, _ = call(world.url("/sandbox/api/clock"), "POST", b"seconds=3600",
                        {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415
    assert call(world.url("/sandbox/api/people"), headers={"Host": "attacker.example:80"})[0] == 403
    assert call(world.url("/sandbox/api/people"), headers={"Host": f"localhost:{world.emu.port}"})[0] == 200
    assert world.host.moved == []


def test_unmounted_the_emulator_answers_as_before(world: World) -> None:
    world.emu.mount(None)
    assert call(world.url("/sandbox/"))[0] == 401


def test_missing_vendor_files_are_named(tmp_path: Path) -> None:
    missing = missing_vendor_files(tmp_path)
    assert tmp_path / "adaptivecards" / "dist" / "adaptivecards.min.js" in missing
    assert len(missing) == len(VENDOR)
