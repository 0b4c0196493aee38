"""B3, many intercepts: `intercept-bot serve` started on a database holding N approved intercepts
pending revert: the time from process start to `GET /healthz` 200 and resident memory then; and,
with `--due` of them ending in the same minute, how late each revert PUT reaches Webex.

    .venv/bin/python -m bench.many [--database sqlite postgresql] [--count 100000] [--due 1000]

The rows are written with plain SQL, as the bot's tables lay them out; the ends of the others are
spread over the following month. The due ones belong to people the emulator knows, whose current
settings are the intercept, so each revert reads and puts back as in production. Lateness is the
time between a revert's end and its PUT arriving at the emulator, on the bot's clock.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import DATABASES, Postgres, Row, machine, percentile, rss_mb, table
from tests.e2e.harness import PINNED_NOW, BotProcess, bot_command, http, make_emulator, wait_until

SETTINGS = {"enabled": True, "incoming": {"type": "INTERCEPT_ALL", "voicemailEnabled": False, "announcements": {
    "greeting": "DEFAULT", "newNumber": {"enabled": False, "destination": ""},
    "zeroTransfer": {"enabled": False, "destination": ""}}},
    "outgoing": {"type": "INTERCEPT_ALL", "transferEnabled": False, "destination": ""}}
BEFORE = {**SETTINGS, "enabled": False}
LEAD = timedelta(seconds=60)  # from the bot's start to the first due end: start-up is over by then


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _row(person_id: str, end: datetime) -> dict[str, Any]:
    return dict(id=uuid.uuid4().hex, person_id=person_id, person_email=f"{person_id}@example.com",
                person_name=f"P {person_id}", zone="UTC", room_id="", status="active",
                created_at=_iso(PINNED_NOW - timedelta(days=1)), updated_at=_iso(PINNED_NOW - timedelta(days=1)),
                applied_at=_iso(PINNED_NOW - timedelta(days=1)), end_at=_iso(end), requested=json.dumps(SETTINGS),
                snapshot=json.dumps(BEFORE), reason="", decision_comment="", error="", greeting_file="",
                attempts=0, draft="{}", draft_note="")


def measure(database: str, count: int, due: int, folder: Path, postgres: Postgres) -> list[Row]:
    emu, people = make_emulator(check_bodies=False)  # answering at once, as in bench.common.bot_on
    try:
        url = postgres.new_database() if database == "postgresql" else f"sqlite:///{folder / 'bot.db'}"
        bot = BotProcess(emu, people, folder, approvers="bob@example.com", database_url=url,
                         extra_env={"INTERCEPT_SWEEP_SECONDS": "60", "INTERCEPT_REMINDER_MINUTES": "0"})
        bot.pin_clock()
        bot.start()  # creates the schema
        bot.stop()
        due_people = []
        for number in range(due):
            person = emu.add_person(f"due{number}@example.com", f"Due {number}")
            emu.set_intercept(person.id, SETTINGS)
            due_people.append(person.id)
        # the bot's clock: PINNED_NOW when it starts; the due ends spread over one minute after LEAD
        first_end = PINNED_NOW + LEAD
        ends = {pid: first_end + timedelta(seconds=60 * n / max(due, 1)) for n, pid in enumerate(due_people)}
        rows = [_row(pid, at) for pid, at in ends.items()]
        rows += [_row(f"p{n}", PINNED_NOW + timedelta(days=1, seconds=26 * n)) for n in range(count - due)]
        columns = list(rows[0])
        with create_engine(url).begin() as connection:
            for start in range(0, len(rows), 10_000):
                connection.execute(text(f"INSERT INTO intercept_requests ({', '.join(columns)}) "
                                        f"VALUES ({', '.join(':' + c for c in columns)})"), rows[start:start + 10_000])
        offset = (PINNED_NOW - datetime.now(UTC)).total_seconds()
        bot.sandbox_clock(offset - _current_offset(bot))  # the bot's clock reads PINNED_NOW now
        with open(bot.log_path, "ab") as log:
            started = time.monotonic()
            process = subprocess.Popen([*bot_command(), "serve", "--host", "127.0.0.1", "--port", str(bot.port)],
                                       env=bot.env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: http("GET", bot.base + "/healthz") == 200 or process.poll() is not None, 600,
                       "/healthz")
            healthy = time.monotonic() - started
            rss = rss_mb(process.pid)
            puts = wait_until(lambda: (found := _revert_puts(emu, set(due_people))) and len(found) == due and found,
                              LEAD.total_seconds() + 600, f"{due} revert PUTs")
            late = [((at + timedelta(seconds=offset)) - ends[pid]).total_seconds() for pid, at in puts.items()]
            calls = [r.at for r in emu.requests_matching("*", r"/people/[^/]+/features/intercept")]
            peak = max(sum(1 for other in calls if at <= other < at + timedelta(seconds=1)) for at in calls)
            rss_after = rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(60)
    finally:
        emu.stop()
    name = f"B3 {database}"
    return [
        Row(name, f"{count:,} pending: process start → /healthz 200", f"{healthy:.1f} s", "< 10 s", healthy < 10),
        Row(name, f"{count:,} pending: resident memory when healthy / after the reverts",
            f"{rss:.0f} / {rss_after:.0f} MB", "< 300 MB", max(rss, rss_after) < 300),
        Row(name, f"{due:,} reverts due in one minute: lateness p50 / p99 / max",
            f"{percentile(late, 50):.2f} / {percentile(late, 99):.2f} / {max(late):.2f} s",
            "p99 < 5 s, max < 60 s", percentile(late, 99) < 5 and max(late) < 60),
        Row(name, f"{due:,} reverts due in one minute: intercept calls in the busiest second", f"{peak}"),
    ]


def _current_offset(bot: BotProcess) -> float:
    """The sandbox clock's offset now (pin_clock set one at the first start)."""
    rows = bot.db("SELECT value FROM bot_settings WHERE key = 'sandbox_clock_offset'")
    return float(str(rows[0][0]).strip('"')) if rows else 0.0


def _revert_puts(emu: Any, due: set[str]) -> dict[str, datetime]:
    """The first intercept PUT of each due person that put their earlier settings back."""
    found: dict[str, datetime] = {}
    for request in emu.requests_matching("PUT", r"/people/[^/]+/features/intercept"):
        person = request.path.split("/")[2]
        if person in due and request.status == 204 and person not in found:
            found[person] = request.at
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", nargs="+", choices=DATABASES, default=list(DATABASES))
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    postgres = Postgres()
    found: list[Row] = []
    try:
        for database in args.database:
            began = time.monotonic()
            with tempfile.TemporaryDirectory(prefix="intercept-bot-bench-") as folder:
                found += measure(database, args.count, args.due, Path(folder), postgres)
            print(f"B3 on {database}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    finally:
        postgres.stop()
    print(f"{machine()}\n\n{table(found)}")


if __name__ == "__main__":
    main()
