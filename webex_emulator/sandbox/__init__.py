"""The browser sandbox: a page, served by the emulator under /sandbox/, to talk to a bot as any of
the emulator's people.

The page is plain HTML, CSS and one JavaScript module (`static/`), with Microsoft's `adaptivecards`
renderer and `markdown-it` loaded from the project's node_modules, or from the copy an installed
package carries (`/sandbox/vendor/...`): no CDN, no build step. What people do goes through the
emulator's Webex API, with the person's own token, like a Webex client: `POST /v1/messages` (JSON,
or multipart with one `files` part), `POST /v1/attachment/actions`, `GET /v1/messages?roomId=...`.
The routes here only describe the sandbox world to the page:

    GET  /sandbox/api/people          who can be picked (with their sandbox tokens), the bot, the rooms
    GET  /sandbox/api/state?person=ID  intercept settings of everyone, the person's rooms with a version
                                       that changes with their messages, and the host's `status()`
    POST /sandbox/api/clock {"seconds": n}          the host's `advance(n)`
    POST /sandbox/api/due   {"requestId": "..."}    the host's `make_due(id)`

The host (the bot's demo) supplies its side through `Host`; this package knows nothing of the bot.
Mount it with `emulator.mount(Sandbox(...))`. The routes answer only requests whose Host is a
loopback name, and the POSTs only JSON bodies (which a cross-origin page cannot send unasked).
"""

from __future__ import annotations

import hashlib
import json
import logging
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from webex_emulator.emulator import WebexEmulator
from webex_emulator.server import Reply

__all__ = ["BUNDLED", "PREFIX", "VENDOR", "Host", "HostError", "Sandbox", "SandboxPerson", "missing_vendor_files"]

log = logging.getLogger(__name__)

PREFIX = "/sandbox"
STATIC = Path(__file__).with_name("static")
# what the page loads from node_modules: served name -> (npm package, file in the package); setup.py
# reads the same list to copy these files into a wheel
VENDOR: dict[str, tuple[str, str]] = {
    name: (package, file) for name, (package, file) in
    json.loads(Path(__file__).with_name("vendor.json").read_text(encoding="utf-8")).items()}
# an installed package's copy of those files, laid out like node_modules (setup.py puts it there)
BUNDLED = Path(__file__).with_name("vendor")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".png": "image/png", ".svg": "image/svg+xml"}
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_BODY = 64 * 1024


class Host(Protocol):
    """What the program running the sandbox (the bot's demo) tells and does for the page."""

    def status(self) -> dict[str, Any]:
        """JSON-ready facts the page shows beside the chat (the bot's clock, its requests, ...)."""
        ...

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the host's clock forward; returns the new `status()`."""
        ...

    def make_due(self, request_id: str) -> dict[str, Any]:
        """Make the request's next timed step come due now; returns the new `status()`."""
        ...


class HostError(Exception):
    """A `Host` call that cannot be done; its text is shown to the person using the page."""


@dataclass(frozen=True)
class SandboxPerson:
    """Someone the page lets you be (their token is handed to the page: sandbox people only)."""

    id: str
    role: str  # shown beside the name, e.g. "requester", "approver"


def missing_vendor_files(node_modules: Path) -> list[Path]:
    """The files the page needs from node_modules (or a folder laid out like it) that are not there."""
    return [node_modules / package / file for package, file in VENDOR.values()
            if not (node_modules / package / file).is_file()]


def _json(status: int, data: Any) -> Reply:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"})


def _error(status: int, message: str) -> Reply:
    return _json(status, {"message": message})


class Sandbox:
    """The /sandbox routes; an `Outside` handler for `WebexEmulator.mount`."""

    def __init__(self, emulator: WebexEmulator, *, host: Host, bot_id: str, people: Sequence[SandboxPerson],
                 node_modules: Path, spaces: Mapping[str, str] | None = None, title: str = "Webex sandbox",
                 hostnames: Sequence[str] = ()) -> None:
        self.emulator = emulator
        self.host = host
        self.bot_id = bot_id
        self.people = list(people)
        self.node_modules = node_modules
        self.spaces = dict(spaces or {})  # group rooms (id -> title) the page shows to their members
        self.title = title
        self.hostnames = LOOPBACK | {name.lower() for name in hostnames}

    def __call__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply | None:
        parts = urlsplit(target)
        path = parts.path
        if path == "/favicon.ico":  # browsers ask for it whatever the page says
            return Reply(204, b"", {"Cache-Control": "max-age=86400"})
        if path != "/" and path != PREFIX and not path.startswith(PREFIX + "/"):
            return None
        if not self._host_ok(headers.get("host", "")):
            return _error(403, "the sandbox answers on loopback addresses only")
        try:
            return self._route(method, path, dict(parse_qsl(parts.query)), headers, body)
        except HostError as error:
            return _error(409, str(error))
        except Exception as error:
            log.exception("sandbox: %s %s failed", method, path)
            return _error(500, f"{type(error).__name__}: {error}")

    def _host_ok(self, host: str) -> bool:
        name = host.strip().lower()
        if name.startswith("["):
            name = name[1:].partition("]")[0]
        else:
            name = name.rpartition(":")[0] if ":" in name else name
        return name in self.hostnames

    # ------------------------------------------------------------------ routing

    def _route(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
               body: bytes) -> Reply:
        if path in ("/", PREFIX):
            return Reply(302, b"", {"Location": PREFIX + "/"})
        name = path[len(PREFIX) + 1:]
        if name.startswith("api/"):
            return self._api(method, name[len("api/"):], query, headers, body)
        if method not in ("GET", "HEAD"):
            return _error(405, "method not allowed")
        if name.startswith("vendor/"):
            return self._vendor(name[len("vendor/"):])
        return self._static(name or "index.html")

    def _static(self, name: str) -> Reply:
        files = {entry.name: entry for entry in STATIC.iterdir() if entry.is_file()}
        if name not in files:
            return _error(404, "not found")
        return self._file(files[name])

    def _vendor(self, name: str) -> Reply:
        if name not in VENDOR:
            return _error(404, "not found")
        package, file = VENDOR[name]
        path = self.node_modules / package / file
        if not path.is_file():
            return _error(404, f"{package}/{file} is missing from node_modules: run `npm ci`")
        return self._file(path)

    @staticmethod
    def _file(path: Path) -> Reply:
        kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return Reply(200, path.read_bytes(), {"Content-Type": kind, "Cache-Control": "no-cache"})

    def _api(self, method: str, name: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Reply:
        if method == "GET" and name == "people":
            return _json(200, self.describe())
        if method == "GET" and name == "state":
            return _json(200, self.state(query.get("person", "")))
        if method == "POST" and name in ("clock", "due"):
            if not headers.get("content-type", "").lower().startswith("application/json"):
                return _error(415, "send JSON (Content-Type: application/json)")
            if len(body) > MAX_BODY:
                return _error(413, "too large")
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                return _error(400, "the body is not JSON")
            if not isinstance(data, dict):
                return _error(400, "the body must be a JSON object")
            if name == "clock":
                seconds = data.get("seconds")
                if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 366 * 86400:
                    return _error(400, "seconds must be a number between 0 and a year")
                return _json(200, self.host.advance(float(seconds)))
            request_id = data.get("requestId")
            if not isinstance(request_id, str) or not request_id:
                return _error(400, "requestId is required")
            return _json(200, self.host.make_due(request_id))
        return _error(404 if method in ("GET", "POST") else 405, "not found")

    # ------------------------------------------------------------------ what the page is told

    def _person(self, person_id: str) -> dict[str, Any]:
        person = self.emulator.person(person_id)
        return {"id": person.id, "email": person.email, "displayName": person.display_name,
                "timezone": person.timezone, "type": person.type}

    def _rooms(self, person_id: str) -> list[dict[str, Any]]:
        rooms = [{"id": self.emulator.direct_room_id(person_id, self.bot_id), "type": "direct",
                  "title": self.emulator.person(self.bot_id).display_name}]
        for room_id, title in self.spaces.items():
            if person_id in self.emulator.room_members(room_id):
                rooms.append({"id": room_id, "type": "group", "title": title})
        return rooms

    def describe(self) -> dict[str, Any]:
        people = []
        for entry in self.people:
            person = self.emulator.person(entry.id)
            people.append({**self._person(entry.id), "role": entry.role, "token": person.token,
                           "rooms": self._rooms(entry.id)})
        return {"title": self.title, "bot": self._person(self.bot_id), "people": people}

    def state(self, person_id: str) -> dict[str, Any]:
        known = {entry.id for entry in self.people}
        rooms = []
        if person_id in known:
            for room in self._rooms(person_id):
                messages = self.emulator.messages(room["id"])
                digest = hashlib.sha1(usedforsecurity=False)
                for message in messages:
                    digest.update(f"{message['id']}|{message.get('updated', '')};".encode())
                rooms.append({**room, "version": digest.hexdigest(), "count": len(messages)})
        intercepts = {entry.id: self.emulator.get_intercept(entry.id) for entry in self.people}
        return {"rooms": rooms, "intercepts": intercepts, "specViolations": len(self.emulator.spec_violations),
                "host": self.host.status()}
