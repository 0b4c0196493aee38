"""Tools shared by the fault and attack tests: a bot process that can be SIGKILLed at start-up,
people with known settings, what the bot posted and PUT, and Webex-style redelivery."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from typing import Any

from tests.e2e.harness import BotProcess, Chat, People, bot_command, http, wait_until

FINAL = {"reverted", "replaced", "rejected", "cancelled", "expired", "failed"}

# Settings an administrator set up before the bot touched anyone (disabled features keep no
# destination: the form sends a destination only while its toggle is on).
ORIGINALS: list[dict[str, Any]] = [
    {"enabled": False, "incoming": {"type": "INTERCEPT_ALL", "voicemailEnabled": False, "announcements": {
        "greeting": "DEFAULT", "fileName": "", "newNumber": {"enabled": False, "destination": ""},
        "zeroTransfer": {"enabled": False, "destination": ""}}},
     "outgoing": {"type": "INTERCEPT_ALL", "transferEnabled": False, "destination": ""}},
    {"enabled": False, "incoming": {"type": "ALLOW_ALL", "voicemailEnabled": True, "announcements": {
        "greeting": "DEFAULT", "fileName": "", "newNumber": {"enabled": False, "destination": ""},
        "zeroTransfer": {"enabled": True, "destination": "1234"}}},
     "outgoing": {"type": "ALLOW_LOCAL_ONLY", "transferEnabled": False, "destination": ""}},
    {"enabled": True, "incoming": {"type": "ALLOW_ALL", "voicemailEnabled": True, "announcements": {
        "greeting": "DEFAULT", "fileName": "", "newNumber": {"enabled": True, "destination": "+4930111222"},
        "zeroTransfer": {"enabled": False, "destination": ""}}},
     "outgoing": {"type": "ALLOW_LOCAL_ONLY", "transferEnabled": True, "destination": "+14155550199"}},
    {"enabled": False, "incoming": {"type": "INTERCEPT_ALL", "voicemailEnabled": True, "announcements": {
        "greeting": "DEFAULT", "fileName": "", "newNumber": {"enabled": False, "destination": ""},
        "zeroTransfer": {"enabled": False, "destination": ""}}},
     "outgoing": {"type": "ALLOW_LOCAL_ONLY", "transferEnabled": False, "destination": ""}},
]

# What requesters change on the form (each valid on top of any of the originals)
CHANGES: list[dict[str, str]] = [
    {"incoming.type": "INTERCEPT_ALL", "incoming.voicemailEnabled": "true"},
    {"incoming.type": "INTERCEPT_ALL", "outgoing.type": "INTERCEPT_ALL", "outgoing.transferEnabled": "true",
     "outgoing.destination": "+14155550100"},
    {"incoming.type": "INTERCEPT_ALL", "incoming.announcements.newNumber.enabled": "true",
     "incoming.announcements.newNumber.destination": "+4930123456"},
    {"incoming.type": "INTERCEPT_ALL", "incoming.voicemailEnabled": "false",
     "incoming.announcements.zeroTransfer.enabled": "true",
     "incoming.announcements.zeroTransfer.destination": "4321"},
    {"incoming.type": "INTERCEPT_ALL", "outgoing.type": "ALLOW_LOCAL_ONLY", "outgoing.transferEnabled": "false"},
]

_TOGGLE_OWNS = {
    "incoming.announcements.newNumber.enabled": "incoming.announcements.newNumber.destination",
    "incoming.announcements.zeroTransfer.enabled": "incoming.announcements.zeroTransfer.destination",
    "outgoing.transferEnabled": "outgoing.destination",
}


def put_body(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A GET answer as the PUT body that would restore it (without the read-only file name)."""
    body = copy.deepcopy(dict(settings))
    body["incoming"]["announcements"].pop("fileName", None)
    body["incoming"]["announcements"].pop("filename", None)
    return body


def requested_body(original: Mapping[str, Any], changes: Mapping[str, str]) -> dict[str, Any]:
    """The PUT body a form submission asks for: the original settings, intercept on, the changes."""
    body = put_body(original)
    body["enabled"] = True
    for path, value in changes.items():
        node = body
        *parents, leaf = path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = {"true": True, "false": False}.get(value, value)
    for toggle, destination in _TOGGLE_OWNS.items():
        *parents, leaf = toggle.split(".")
        node = body
        for part in parents:
            node = node[part]
        if not node[leaf]:
            *dparents, dleaf = destination.split(".")
            dnode = body
            for part in dparents:
                dnode = dnode[part]
            dnode[dleaf] = ""
    return body


# ---------------------------------------------------------------------------------------------- the bot


class ChaosBot(BotProcess):
    """The harness's bot process, plus: spawn without waiting (to SIGKILL it during start-up)."""

    def spawn(self) -> None:
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.starts} (not waited for) =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen([*bot_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                         env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def sigkill(self) -> bool:
        """SIGKILL the whole process group; True when it was running."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return False
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return True

    @property
    def healthy(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and http("GET", self.base + "/healthz") == 200

    def statuses(self) -> dict[str, list[tuple[str, str]]]:
        """person id -> [(request id, status)] in creation order."""
        found: dict[str, list[tuple[str, str]]] = {}
        for request_id, person_id, status in self.db(
                "SELECT id, person_id, status FROM intercept_requests ORDER BY created_at"):
            found.setdefault(person_id, []).append((request_id, status))
        return found

    def history_targets(self, request_id: str) -> list[str]:
        return [row[0] for row in self.db(
            "SELECT target FROM audit_log WHERE request_id = :request AND event = 'status' ORDER BY id",
            request=request_id)]


# ---------------------------------------------------------------------------------------------- people


def add_requesters(emu: Any, names: list[str]) -> list[Any]:
    zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/London", "Australia/Sydney", None]
    people = []
    for number, name in enumerate(names):
        people.append(emu.add_person(email=f"{name.lower()}@example.com", display_name=f"{name} Tester",
                                     timezone=zones[number % len(zones)], token=f"{name.lower()}-token"))
    return people


# ---------------------------------------------------------------------------------------------- cards


def live_cards(chat: Chat, room_id: str, input_id: str, containing: str | None = None) -> list[dict[str, Any]]:
    """The bot's cards in the room that are still there (not deleted), with that input (and text)."""
    cards = chat.cards(room_id, input_id)
    if containing is not None:
        cards = [c for c in cards if containing in json.dumps(c["attachments"][0]["content"])]
    return cards


def posted_cards(emu: Any, people: People, input_id: str, *, room_id: str | None = None,
                 person: Any = None, containing: str | None = None) -> list[Any]:
    """Every POST /messages the bot made (answered 200) carrying a card with that input, sent into
    `room_id` or to `person` (by id, email or their direct room); deleted ones included."""
    found = []
    for call in emu.requests_matching("POST", r"/messages"):
        if call.caller_id != people.bot.id or call.status != 200 or not isinstance(call.json, dict):
            continue
        text = json.dumps(call.json.get("attachments") or [])
        if f'"id": "{input_id}"' not in text or (containing is not None and containing not in text):
            continue
        body = call.json
        if room_id is not None and body.get("roomId") != room_id:
            continue
        if person is not None:
            direct = emu.direct_room_id(person.id, people.bot.id)
            if not (body.get("toPersonId") == person.id or body.get("roomId") == direct
                    or str(body.get("toPersonEmail", "")).lower() == person.email.lower()):
                continue
        found.append(call)
    return found


def puts(emu: Any, person: Any, body: Mapping[str, Any] | None = None) -> list[Any]:
    """The intercept PUTs for the person Webex took (204), optionally only those with that body."""
    taken = [r for r in emu.requests_matching("PUT", rf"/people/{person.id}/features/intercept") if r.status == 204]
    return taken if body is None else [r for r in taken if r.json == body]


def bot_calls(emu: Any, people: People, since: int = 0) -> list[Any]:
    """API calls the bot made (with either of its tokens) since request number `since`."""
    return [r for r in emu.requests[since:] if r.caller_id in (people.bot.id, people.admin.id)]


def texts_to(chat: Chat, room_id: str) -> list[str]:
    return [m.get("markdown") or m.get("text") or "" for m in chat.bot_messages(room_id)]


# ---------------------------------------------------------------------------------------------- deliveries


def event_key(delivery: Any) -> bytes:
    """One webhook event, whichever attempt or redelivery carried it: its exact bytes."""
    return bytes(delivery.body)


def undelivered(emu: Any) -> list[int]:
    """Index of one delivery of each event that no attempt got through (as Webex sees it: it would
    try again)."""
    first: dict[bytes, int] = {}
    ok: set[bytes] = set()
    for index, delivery in enumerate(emu.deliveries):
        key = event_key(delivery)
        first.setdefault(key, index)
        if delivery.ok:
            ok.add(key)
    return [index for key, index in first.items() if key not in ok]


def wait_quiet(bot: BotProcess, timeout: float = 30.0) -> None:
    """Every stored webhook event processed."""
    wait_until(lambda: not bot.db("SELECT key FROM webhook_inbox WHERE status IN ('pending', 'processing')"),
               timeout, "the bot's webhook inbox to be worked off")


def seed_from_env(default: int | None = None) -> int:
    raw = os.environ.get("FAULTS_SEED")
    if raw:
        return int(raw)
    return default if default is not None else int(time.time() * 1000) % 1_000_000
