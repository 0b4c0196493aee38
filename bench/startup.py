"""Start-up with many intercepts pending revert: the time from `intercept-bot serve` starting to
`GET /healthz` answering 200, and the process's resident memory then.

    .venv/bin/python -m bench.startup 100000 [--timeout 300]

A benchmark, not a test: it starts the real server command against the Webex emulator on
loopback, with a SQLite database holding N active intercepts whose ends are spread over the
following month (written with plain SQL, as the tables of this or an earlier version lay them out).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from tests.e2e.harness import PINNED_NOW, BotProcess, bot_command, http, make_emulator

SETTINGS = {"enabled": True, "incoming": {"type": "INTERCEPT_ALL", "voicemailEnabled": False, "announcements": {
    "greeting": "DEFAULT", "fileName": "", "newNumber": {"enabled": False, "destination": ""},
    "zeroTransfer": {"enabled": False, "destination": ""}}},
    "outgoing": {"type": "INTERCEPT_ALL", "transferEnabled": False, "destination": ""}}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _rows(count: int) -> list[dict[str, Any]]:
    before = json.dumps({**SETTINGS, "enabled": False})
    return [dict(id=uuid.uuid4().hex, person_id=f"p{i}", person_email=f"p{i}@example.com", person_name=f"P {i}",
                 zone="UTC", room_id=f"room{i}", status="active", created_at=_iso(PINNED_NOW),
                 updated_at=_iso(PINNED_NOW), applied_at=_iso(PINNED_NOW),
                 end_at=_iso(PINNED_NOW + timedelta(days=1, minutes=i % 40000)), requested=json.dumps(SETTINGS),
                 snapshot=before, reason="", decision_comment="", error="", greeting_file="", attempts=0,
                 draft="{}", draft_note="") for i in range(count)]


def measure(count: int, timeout: float, folder: Path) -> str:
    emu, people = make_emulator()
    try:
        bot = BotProcess(emu, people, folder, approvers="bob@example.com")
        bot.pin_clock()
        bot.start()  # creates the schema
        bot.stop()
        rows = _rows(count)
        columns = list(rows[0])
        with create_engine(bot.database_url).begin() as connection:
            connection.execute(text(f"INSERT INTO intercept_requests ({', '.join(columns)}) "
                                    f"VALUES ({', '.join(':' + c for c in columns)})"), rows)
        with open(bot.log_path, "ab") as log:
            started = time.monotonic()
            process = subprocess.Popen([*bot_command(), "serve", "--host", "127.0.0.1", "--port", str(bot.port)],
                                       env=bot.env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        try:
            healthy = False
            while time.monotonic() - started < timeout and not healthy:
                healthy = http("GET", bot.base + "/healthz") == 200
                if not healthy:
                    time.sleep(0.1)
            elapsed = time.monotonic() - started
            status = Path(f"/proc/{process.pid}/status").read_text()
            rss = int(status.split("VmRSS:")[1].split()[0]) // 1024
        finally:
            process.terminate()
            process.wait(30)
        return (f"{count} pending: /healthz {'200' if healthy else 'not 200'} after {elapsed:.1f} s, "
                f"resident memory {rss} MB")
    finally:
        emu.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("count", type=int, nargs="*", default=[2000, 100000])
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    for count in args.count:
        with tempfile.TemporaryDirectory(prefix="intercept-bot-bench-") as folder:
            print(measure(count, args.timeout, Path(folder)), flush=True)


if __name__ == "__main__":
    main()
