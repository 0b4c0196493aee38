"""`intercept-bot demo`: the real bot against the Webex emulator on loopback, with a browser page
to talk to it as any of a handful of people. No Webex organisation, token or internet needed.

    python -m bot.demo [--port 8765] [--data DIR] [--open]

What runs, all in this process, on 127.0.0.1:
- the Webex emulator (`webex_emulator`) on `--port`, with people: Alice Adler (Europe/Berlin) and
  Nate Novak (America/New_York) who ask, Bob Brandt (no time zone) and Carol Chen (Asia/Kolkata)
  who approve, the bot, an admin whose token is the bot's admin token, and the space
  "Intercept approvals" (Bob, Carol and the bot) where approval cards go too;
- the bot exactly as `intercept-bot serve` builds it (`BotApp`), with a configuration made here
  (random tokens and webhook secret, the sandbox clock on, a sweep every 2 s), served by waitress on
  a free port; its two webhooks are registered in the emulator with the secret;
- the sandbox page at http://127.0.0.1:<port>/sandbox/ (`webex_emulator.sandbox`), with this
  module's `Demo` as its host: the bot's requests for the side panel, and the clock controls.

Everything goes the production way: the page posts messages and card actions to the emulator's
API with the person's token, the emulator delivers signed webhooks to the bot, the bot calls the
emulator's API. The database and the log go to a temporary folder (removed at exit) or to
`--data DIR` (`demo.db`, replaced at each start since the emulator's world starts afresh, and
`demo.log`). One line is printed: the page's address.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import webbrowser
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from bot.adapters.clock import SandboxClock
from bot.adapters.clock import advance as advance_clock
from bot.app import BotApp, StartupError
from bot.config import Config, is_loopback
from bot.domain import schedule
from bot.domain.model import Request, Status
from bot.domain.policy import Policy
from bot.logs import NOISY, RedactSecrets
from webex_emulator import WebexEmulator
from webex_emulator.sandbox import BUNDLED, Host, HostError, Sandbox, SandboxPerson, missing_vendor_files

__all__ = ["DEMO_PEOPLE", "Demo", "DemoError", "main", "run_demo", "stop_demos"]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SPACE_TITLE = "Intercept approvals"
# (email, display name, time zone, role): the people the page lets you be
DEMO_PEOPLE: tuple[tuple[str, str, str | None, str], ...] = (
    ("alice@example.com", "Alice Adler", "Europe/Berlin", "requester"),
    ("nate@example.com", "Nate Novak", "America/New_York", "requester"),
    ("bob@example.com", "Bob Brandt", None, "approver"),
    ("carol@example.com", "Carol Chen", "Asia/Kolkata", "approver"),
)
BOT_EMAIL, BOT_NAME = "intercept-bot@webex.bot", "Intercept Bot"
ADMIN_EMAIL, ADMIN_NAME = "admin@example.com", "Ada Admin"
# the timed steps the page shows and can make due now (the reminder and expiry are not shown)
SHOWN_WORK = (schedule.Work.APPLY, schedule.Work.REVERT)
SHOWN = 12  # requests shown in the side panel, newest first


class DemoError(Exception):
    """The demo cannot start; the text is one line for the person who ran it."""


def renderer_dir() -> Path:
    """Where the page's renderer files are: the copy an installed package carries (a wheel is built
    with it, see setup.py), else a development checkout's node_modules (beside bot/)."""
    return BUNDLED if not missing_vendor_files(BUNDLED) else ROOT / "node_modules"


def _missing_renderer(missing: Path) -> str:
    if (ROOT / "package.json").is_file():  # a checkout
        return f"{missing} is missing: run `npm ci` (or `make setup`) in {ROOT}"
    return (f"the sandbox page's renderer is missing from this installation ({BUNDLED}): install intercept-bot "
            "from a wheel built with its npm packages (see README)")


class Demo(Host):
    """The emulator, the bot and the sandbox page, started and stopped together; the page's host.

    `start()` returns the page's URL; `close()` stops everything (also after a failed start)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 8765, data_dir: str | os.PathLike[str] | None = None,
                 node_modules: Path | None = None) -> None:
        if not is_loopback(host):  # the page hands out every sandbox person's token
            raise ValueError(f"the demo only listens on loopback, not on {host!r}")
        self.host = host
        self.port = port
        self.node_modules = node_modules or renderer_dir()
        self._own_dir = data_dir is None
        self.data_dir = Path(tempfile.mkdtemp(prefix="intercept-bot-demo-")) if data_dir is None else Path(data_dir)
        self.db_path = self.data_dir / "demo.db"
        self.log_path = self.data_dir / "demo.log"
        self.bot_token = secrets.token_urlsafe(24)
        self.admin_token = secrets.token_urlsafe(24)
        self.webhook_secret = secrets.token_urlsafe(24)
        self.emulator = WebexEmulator(host=host, port=port)
        self.app: BotApp | None = None
        self.people: dict[str, str] = {}  # email -> person id
        self.space_id = ""
        self._server: Any = None  # waitress server
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one clock move or sweep at a time from the page
        self.url = ""

    def secrets(self) -> tuple[str, ...]:
        return (self.bot_token, self.admin_token, self.webhook_secret)

    # ------------------------------------------------------------------ start and stop

    def start(self) -> str:
        missing = missing_vendor_files(self.node_modules)
        if missing:
            raise DemoError(_missing_renderer(missing[0]))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):  # the emulator starts empty, so does the bot's database
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)

        emu = self.emulator
        bot = emu.add_person(email=BOT_EMAIL, display_name=BOT_NAME, type="bot", token=self.bot_token)
        emu.add_person(email=ADMIN_EMAIL, display_name=ADMIN_NAME, token=self.admin_token, admin=True)
        for email, name, zone, _role in DEMO_PEOPLE:
            self.people[email] = emu.add_person(email=email, display_name=name, timezone=zone).id
        approvers = [email for email, _name, _zone, role in DEMO_PEOPLE if role == "approver"]
        self.space_id = emu.group_room(SPACE_TITLE, [self.people[e] for e in approvers] + [bot.id])
        try:
            emu.start()
        except OSError as error:
            raise DemoError(f"cannot listen on {self.host}:{self.port}: {error.strerror or error} "
                            "(is a demo already running? try --port)") from None

        config = Config(bot_token=self.bot_token, admin_token=self.admin_token, webhook_secret=self.webhook_secret,
                        api_url=emu.base_url, database_url=f"sqlite:///{self.db_path}",
                        approvers=frozenset(approvers), approval_room_id=self.space_id, default_timezone="UTC",
                        sandbox=True, sweep_seconds=2.0, workers=2)
        self.app = BotApp(config)
        try:
            self.app.start()
        except StartupError as error:
            raise DemoError(str(error)) from None

        from waitress import create_server

        self._server = create_server(self.app.web, host="127.0.0.1", port=0, threads=4, ident="intercept-bot")
        self._thread = threading.Thread(target=self._server.run, name="intercept-bot-web", daemon=True)
        self._thread.start()
        target = f"http://127.0.0.1:{self._server.effective_port}/webhooks/webex"
        for resource in ("messages", "attachmentActions"):
            emu.add_webhook(self.bot_token, f"intercept-bot {resource}", target, resource, "created",
                            self.webhook_secret)

        emu.mount(Sandbox(
            emu, host=self, bot_id=bot.id, node_modules=self.node_modules,
            people=[SandboxPerson(self.people[email], role) for email, _name, _zone, role in DEMO_PEOPLE],
            spaces={self.space_id: SPACE_TITLE}, title="intercept-bot sandbox", hostnames=[self.host]))
        self.url = f"{emu.url}/sandbox/"
        return self.url

    def close(self) -> None:
        self.emulator.mount(None)
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.app is not None:
            self.app.stop()
            self.app = None
        self.emulator.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # ------------------------------------------------------------------ the page's host

    def _running(self) -> BotApp:
        if self.app is None or self.app.service is None:
            raise HostError("the bot is not running")
        return self.app

    def status(self) -> dict[str, Any]:
        app = self._running()
        everything = app.stores.requests.with_status(list(Status))
        everything.sort(key=lambda r: r.updated_at, reverse=True)
        live = [r for r in everything if not r.status.is_final]
        ended = [r for r in everything if r.status.is_final]
        shown = (live + ended)[:max(SHOWN, len(live))]
        offset = app.clock.offset if isinstance(app.clock, SandboxClock) else timedelta(0)
        now = app.clock.now()
        policy = app.service.policy if app.service else None
        return {"now": now.isoformat(), "offsetSeconds": round(offset.total_seconds()),
                "requests": [self._request(r, policy, now) for r in shown]}

    @staticmethod
    def _step(request: Request, policy: Policy | None, now: datetime) -> tuple[str | None, datetime | None]:
        """The timed step the request waits for, and when it is due if that is still ahead (the rows
        are the schedule)."""
        due = schedule.due(request, policy, now) if policy else {}
        work = next((w for w in SHOWN_WORK if w in due), None)
        return (work.value, due[work] if due[work] > now else None) if work else (None, None)

    @classmethod
    def _request(cls, request: Request, policy: Policy | None, now: datetime) -> dict[str, Any]:
        step, due = cls._step(request, policy, now)

        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {"id": request.id, "personId": request.person_id, "personName": request.person_name,
                "status": request.status.value, "label": request.status.label, "final": request.status.is_final,
                "zone": request.zone, "startAt": iso(request.start_at), "endAt": iso(request.end_at),
                "step": step, "dueAt": iso(due), "decidedBy": request.decided_by_name,
                "updatedAt": iso(request.updated_at)}

    def advance(self, seconds: float) -> dict[str, Any]:
        with self._lock:
            app = self._running()
            advance_clock(app.stores.settings, seconds)
            self._sweep(app)
        log.info("sandbox clock moved forward by %s s from the page", seconds)
        return self.status()

    def make_due(self, request_id: str) -> dict[str, Any]:
        with self._lock:
            app = self._running()
            request = app.stores.requests.get(request_id)
            if request is None:
                raise HostError("no such request")
            step, at = self._step(request, app.service.policy if app.service else None, app.clock.now())
            if step is None:
                raise HostError(f"nothing is scheduled for this request ({request.status.label})")
            if at is not None:
                advance_clock(app.stores.settings, (at - app.clock.now()).total_seconds() + 1)
            self._sweep(app)
        log.info("request %s made due now from the page (%s)", request_id, step)
        return self.status()

    def _sweep(self, app: BotApp) -> None:
        """What the scheduler's sweep does, now: the new clock is read and whatever is due runs."""
        assert app.service is not None
        app.clock.refresh()
        if isinstance(app.clock, SandboxClock):
            self.emulator.set_clock_offset(app.clock.offset)  # the chat's times move with the clock
        app.service.sweep()


# ---------------------------------------------------------------------------------------- running it


_running: set[threading.Event] = set()
_running_lock = threading.Lock()


def stop_demos() -> None:
    """Make every `run_demo` of this process return (what SIGINT/SIGTERM do)."""
    with _running_lock:
        for event in _running:
            event.set()


def _log_to(path: Path, secret_values: Sequence[str]) -> Callable[[], None]:
    """Every log record (scrubbed of the tokens and the secret) to `path`, nothing to the console,
    until the returned function puts the previous logging back."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secret_values))
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    for old in saved_handlers:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    saved_levels = {name: logging.getLogger(name).level for name in NOISY}
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)

    def restore() -> None:
        root.removeHandler(handler)
        handler.close()
        for old in saved_handlers:
            root.addHandler(old)
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)

    return restore


def run_demo(*, host: str = "127.0.0.1", port: int = 8765, data_dir: str | None = None,
             open_browser: bool = False) -> int:
    """Run the demo until SIGINT or SIGTERM (or `stop_demos()`), then stop cleanly. Prints one line
    (the page's URL) on stdout; a failed start prints one line on stderr and returns 2."""
    demo = Demo(host=host, port=port, data_dir=data_dir)
    demo.data_dir.mkdir(parents=True, exist_ok=True)
    restore_logging = _log_to(demo.log_path, demo.secrets())
    stop = threading.Event()
    with _running_lock:
        _running.add(stop)
    in_main = threading.current_thread() is threading.main_thread()
    previous: dict[signal.Signals, Any] = {}

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    try:
        if in_main:
            for number in (signal.SIGINT, signal.SIGTERM):
                previous[number] = signal.signal(number, _stop)
        try:
            url = demo.start()
        except DemoError as error:
            print(f"intercept-bot demo: {error}", file=sys.stderr, flush=True)
            return 2
        print(f"intercept-bot demo: open {url} (Ctrl-C stops it; log: {demo.log_path})", flush=True)
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        while not stop.wait(1.0):
            pass
        log.info("stopping")
        return 0
    finally:
        demo.close()
        with _running_lock:
            _running.discard(stop)
        for number, old in previous.items():
            signal.signal(number, old)
        restore_logging()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="intercept-bot demo",
        description="The bot against a local Webex emulator, with a browser page to use it (no Webex account).")
    parser.add_argument("--port", type=int, default=8765,
                        help="port of the emulator and its page on 127.0.0.1 (default 8765; 0: any free port)")
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="keep the database (demo.db, replaced at each start) and demo.log in DIR "
                             "(default: a temporary folder removed at exit)")
    parser.add_argument("--open", action="store_true", help="open the page in the default browser")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    return run_demo(port=args.port, data_dir=args.data, open_browser=args.open)


if __name__ == "__main__":
    sys.exit(main())
