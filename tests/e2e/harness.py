"""End-to-end harness: the real `intercept-bot serve` process against the Webex emulator.

The bot runs as the Procfile runs it (a subprocess, its own database, HTTP over loopback),
with `INTERCEPT_SANDBOX=1` so its clock can be set: the test pins the bot's "now" to a fixed
instant before it starts (`intercept-bot sandbox-clock`), and moves it forward to make an end time
come, instead of sleeping. Waiting is always polling for an event with a timeout.

Its database is a SQLite file in the test's folder, or a PostgreSQL database of its own with
`INTERCEPT_TEST_DATABASE=postgresql` (tests/pgserver.py); tests read it through SQLAlchemy
(`BotProcess.db`), so the same queries work on both.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from tests import pgserver
from tests.cardtools import inputs_of
from webex_emulator import WebexEmulator

SECRET = "e2e-webhook-secret-0123456789"
BOT_TOKEN = "e2e-bot-token-abcdef"
ADMIN_TOKEN = "e2e-admin-token-ghijkl"
# Wed 2 Dec 2026, 10:00 in Berlin: the bot's "now" when a test starts
PINNED_NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bot_command() -> list[str]:
    script = shutil.which("intercept-bot", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "bot"]


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class People:
    bot: Any
    admin: Any
    alice: Any  # requester, Europe/Berlin
    bob: Any  # approver, no time zone set (bot default: UTC)
    carol: Any  # approver, America/New_York
    mallory: Any  # not an approver
    dave: Any  # approver who is also a requester in some tests, Asia/Kolkata


def make_emulator(*, check_bodies: bool = True) -> tuple[WebexEmulator, People]:
    # a delivery waits up to 20 s for the bot's 2xx: on a loaded machine a commit can take seconds,
    # and a timed-out delivery would be retried and counted as lost by the redelivery test
    emu = WebexEmulator(delivery_timeout=20.0, check_bodies=check_bodies)
    people = People(
        bot=emu.add_person(email="intercept@webex.bot", display_name="Intercept Bot", type="bot", token=BOT_TOKEN),
        admin=emu.add_person(email="admin@example.com", display_name="Ada Admin", token=ADMIN_TOKEN, admin=True),
        alice=emu.add_person(email="alice@example.com", display_name="Alice Adler", timezone="Europe/Berlin",
                             token="alice-token"),
        bob=emu.add_person(email="bob@example.com", display_name="Bob Brandt", token="bob-token"),
        carol=emu.add_person(email="carol@example.com", display_name="Carol Chen", timezone="America/New_York",
                             token="carol-token"),
        mallory=emu.add_person(email="mallory@example.com", display_name="Mallory Meyer",
                               timezone="Europe/London", token="mallory-token"),
        dave=emu.add_person(email="dave@example.com", display_name="Dave Dutta", timezone="Asia/Kolkata",
                            token="dave-token"),
    )
    emu.start()
    return emu, people


class BotProcess:
    """`intercept-bot serve` as a subprocess, restartable, with its log kept for assertions."""

    def __init__(self, emu: WebexEmulator, people: People, workdir: Path, *, approvers: str,
                 approval_room: str | None = None, extra_env: dict[str, str] | None = None,
                 database_url: str | None = None) -> None:
        self.emu = emu
        self.people = people
        self.workdir = workdir
        # kept across restarts: a new one only for a new BotProcess
        self.database_url = database_url or pgserver.new_database(workdir)
        self._engine: Engine | None = None
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "bot.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBEX_", "INTERCEPT_"))}
        self.env.update({
            "WEBEX_BOT_TOKEN": BOT_TOKEN, "WEBEX_ADMIN_TOKEN": ADMIN_TOKEN, "WEBEX_WEBHOOK_SECRET": SECRET,
            "WEBEX_API_URL": emu.base_url, "DATABASE_URL": self.database_url,
            "INTERCEPT_APPROVERS": approvers, "DEFAULT_TIMEZONE": "UTC", "INTERCEPT_SANDBOX": "1",
            "INTERCEPT_SWEEP_SECONDS": "1", "PYTHONUNBUFFERED": "1",
        })
        if approval_room:
            self.env["INTERCEPT_APPROVAL_ROOM_ID"] = approval_room
        self.env.update(extra_env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    # ------------------------------------------------------------------ lifecycle

    def pin_clock(self, at: datetime = PINNED_NOW) -> None:
        """Before the first start: make the bot's clock read `at` (it then runs on in real time)."""
        self.sandbox_clock((at - datetime.now(UTC)).total_seconds())

    def sandbox_clock(self, seconds: float) -> None:
        subprocess.run([*bot_command(), "sandbox-clock", "--advance", str(seconds)], env=self.env,
                       cwd=self.workdir, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start {self.starts} =====\n".encode())
        log.flush()
        self.proc = subprocess.Popen([*bot_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                     env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        wait_until(lambda: http("GET", self.base + "/healthz") == 200 or self.proc.poll() is not None,  # type: ignore[union-attr]
                   timeout=60, what="the bot's /healthz")
        if self.proc.poll() is not None:
            raise RuntimeError(f"the bot exited at start-up:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.poll() if self.proc else None
        os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def register_webhooks(self) -> None:
        """As an operator would: `intercept-bot register-webhooks` against the emulator."""
        subprocess.run([*bot_command(), "register-webhooks", "--url", self.base + "/webhooks/webex"],
                       env=self.env, cwd=self.workdir, check=True, capture_output=True, timeout=60)

    def audit(self, *args: str) -> list[dict[str, Any]]:
        done = subprocess.run([*bot_command(), "audit", *args], env=self.env, cwd=self.workdir, check=True,
                              capture_output=True, text=True, timeout=60)
        return [json.loads(line) for line in done.stdout.splitlines()]

    # ------------------------------------------------------------------ looking at state

    @property
    def engine(self) -> Engine:
        """The bot's database, for the test to look at: a connection per query (no pool), so nothing
        is left open between polls, or after the test."""
        if self._engine is None:
            sqlite = self.database_url.startswith("sqlite")
            self._engine = create_engine(self.database_url, poolclass=NullPool,
                                         connect_args={"timeout": 30} if sqlite else {})
        return self._engine

    def db(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        """The rows of a query (SQL that SQLite and PostgreSQL both take, `:name` parameters)."""
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]

    def tables(self) -> set[str]:
        return set(inspect(self.engine).get_table_names())

    def request_statuses(self, person_id: str) -> list[str]:
        return [row[0] for row in self.db(
            "SELECT status FROM intercept_requests WHERE person_id = :person ORDER BY created_at", person=person_id)]

    def wait_status(self, person_id: str, status: str, timeout: float = 20.0) -> None:
        try:
            wait_until(lambda: status in self.request_statuses(person_id), timeout, f"a request to be {status}")
        except TimeoutError as error:
            history = self.db("SELECT request_id, source, target, note FROM audit_log "
                              "WHERE event = 'status' ORDER BY id")
            raise TimeoutError(f"{error}; statuses {self.request_statuses(person_id)}; history {history}") from None


class Chat:
    """The Webex side of conversations: what people say and click, what the bot posted."""

    def __init__(self, emu: WebexEmulator, people: People) -> None:
        self.emu = emu
        self.people = people

    def direct_room(self, person: Any) -> str:
        return str(self.emu.direct_room_id(person.id, self.people.bot.id))

    def say(self, person: Any, text: str) -> dict[str, Any]:
        return dict(self.emu.say(person.token, text=text, to_person_id=self.people.bot.id))

    def bot_messages(self, room_id: str) -> list[dict[str, Any]]:
        return [m for m in self.emu.messages(room_id) if m.get("personId") == self.people.bot.id]

    def wait_bot_text(self, room_id: str, fragment: str, timeout: float = 20.0, after: int = 0) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for message in self.bot_messages(room_id)[after:]:
                if fragment in (message.get("markdown") or message.get("text") or ""):
                    return message
            return None
        return dict(wait_until(find, timeout, f"the bot to say {fragment!r} in the room"))

    def cards(self, room_id: str, input_id: str | None = None) -> list[dict[str, Any]]:
        found = []
        for message in self.bot_messages(room_id):
            for attachment in message.get("attachments") or []:
                if input_id is None or f'"id": "{input_id}"' in json.dumps(attachment["content"]):
                    found.append(message)
        return found

    def wait_card(self, room_id: str, input_id: str, *, exclude: Any = (), timeout: float = 20.0) -> dict[str, Any]:
        """The newest live card in the room that has that input and is not one of `exclude` (ids or
        messages): deleted cards are gone from the room, as in Webex."""
        old = {m if isinstance(m, str) else m["id"] for m in exclude}
        cards = wait_until(lambda: [c for c in self.cards(room_id, input_id) if c["id"] not in old], timeout,
                           f"a new card with input {input_id!r}")
        return dict(cards[-1])

    def submit(self, person: Any, message: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
        return dict(self.emu.submit(person.token, message["id"], inputs))

    def puts(self, person: Any) -> list[Any]:
        return [r for r in self.emu.requests_matching("PUT", rf"^/people/{person.id}/features/intercept$")
                if r.status == 204]


def card_inputs(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The inputs of a card message, by id, as the card defines them."""
    return inputs_of(message["attachments"][0]["content"])


def filled(message: dict[str, Any], **changes: str) -> dict[str, str]:
    """What a client submits: every input's current value (toggles "true"/"false"), with changes."""
    values: dict[str, str] = {}
    for input_id, element in card_inputs(message).items():
        default = element.get("valueOff", "false") if element["type"] == "Input.Toggle" else ""
        values[input_id] = str(element.get("value", default))
    values.update({k.replace("__", "."): v for k, v in changes.items()})
    return values
