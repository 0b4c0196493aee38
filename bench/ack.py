"""B1, webhook acknowledgement: how many signed deliveries per second `intercept-bot serve` answers,
and how fast, against the bare Flask floor on the same web server in the same run. B4, footprint:
the start-up time and resident memory of that bot, idle and after B1.

    .venv/bin/python -m bench.ack [--database sqlite postgresql] [--seconds 8]

The deliveries are what Webex sends: the emulator makes them (messages "status" sent to the bot,
clicks on the bot's form) with distinct ids, signed, and holds them; wrk (2 threads, 16
connections) sends each once: flat out, then paced at 50, 200 and 500 per second. Between runs the
bot handles what it acknowledged; at the end every acknowledged event must have been handled.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    DATABASES,
    Load,
    Postgres,
    Row,
    bot_on,
    machine,
    rss_mb,
    run_wrk,
    table,
    wait_processed,
    write_pool,
)
from tests.e2e.harness import BotProcess, Chat, People, free_port, http, wait_until
from webex_emulator import WebexEmulator

RATES = (50, 200, 500)
REQUESTERS = 20



@dataclass
class Result:
    database: str
    floor: Load
    bot: Load
    floor_rates: dict[int, Load]
    rates: dict[int, Load]
    accepted: int  # answered 202 to wrk
    stored: int  # in the inbox (also those whose answer wrk did not wait for at the end of a run)
    handled: int
    drain: float
    startup: float  # seconds from process start to /healthz 200, on a database with nothing in it yet
    rss_idle: float  # MB, just started
    rss_after: float  # MB, after the loads


def deliveries(emu: WebexEmulator, people: People, count: int) -> list[tuple[str, bytes]]:
    """`count` signed deliveries, half messages ("status") and half clicks on the bot's own form (a
    button it does not know: it answers so), from 20 people, each a new event (made through the
    emulator's API, held instead of sent)."""
    chat = Chat(emu, people)
    bot = emu.people[0]
    requesters = [emu.add_person(f"bench{n}@example.com", f"Bench Person {n}", token=f"bench-{n}")
                  for n in range(REQUESTERS)]
    forms = []
    for person in requesters:
        chat.say(person, "intercept me for 2 hours")
        forms.append(chat.wait_card(chat.direct_room(person), "until.date")["id"])
    with emu.holding_deliveries() as held:
        for number in range(count):
            person = requesters[number % REQUESTERS]
            if number % 2:
                emu.submit(person, forms[number % REQUESTERS], {"intent": "bench"})
            else:
                emu.say(person, to_person_id=bot.id, text="status")
    return [(job.signature or "", job.body) for job in held]


def floor_loads(folder: Path, pools: dict[str, Path], seconds: float) -> tuple[Load, dict[int, Load]]:
    port = free_port()
    with (folder / "floor.log").open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "bench.floor", str(port)], stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: http("GET", f"http://127.0.0.1:{port}/healthz") == 200, 30, "the floor app")
        url = f"http://127.0.0.1:{port}/webhooks/webex"
        flat = run_wrk(url, pools["max"], seconds=seconds)
        return flat, {rate: run_wrk(url, pools[str(rate)], seconds=seconds, rate=rate) for rate in RATES}
    finally:
        process.terminate()
        process.wait(30)


def bot_loads(bot: BotProcess, pools: dict[str, Path], seconds: float) -> tuple[Load, dict[int, Load], int, int,
                                                                                   float]:
    url = bot.base + "/webhooks/webex"
    accepted = 0
    flat = run_wrk(url, pools["max"], seconds=seconds)
    accepted += flat.statuses.get(202, 0)
    handled, drain = wait_processed(bot, accepted)
    rates: dict[int, Load] = {}
    for rate in RATES:
        rates[rate] = run_wrk(url, pools[str(rate)], seconds=seconds, rate=rate)
        accepted += rates[rate].statuses.get(202, 0)
        handled, _ = wait_processed(bot, accepted)
    return flat, rates, accepted, handled, drain


def measure(database: str, seconds: float, postgres: Postgres) -> Result:
    with tempfile.TemporaryDirectory(prefix="intercept-bot-bench-") as name:
        folder = Path(name)
        with bot_on(database, folder, postgres) as (emu, people, bot):
            bot.stop()  # B4: a start on a database with nothing in it
            began = time.monotonic()
            bot.start()
            startup = time.monotonic() - began
            assert bot.proc is not None
            rss_idle = rss_mb(bot.proc.pid)
            made = deliveries(emu, people, int(seconds * (2500 + 1.5 * sum(RATES))))
            pools: dict[str, Path] = {}
            start = 0
            sizes = [("max", int(seconds * 2500)), *((str(rate), int(seconds * rate * 1.5)) for rate in RATES)]
            for key, size in sizes:
                pools[key] = folder / f"pool-{key}.txt"
                write_pool(pools[key], made[start:start + size])
                start += size
            floor, floor_rates = floor_loads(folder, pools, seconds)
            flat, rates, accepted, handled, drain = bot_loads(bot, pools, seconds)
            stored = bot.db("SELECT count(*) FROM webhook_inbox")[0][0]
            return Result(database, floor, flat, floor_rates, rates, accepted, stored, handled, drain, startup,
                          rss_idle, rss_mb(bot.proc.pid))


def rows(result: Result) -> list[Row]:
    name = f"B1 {result.database}"
    ratio = result.bot.rate / result.floor.rate if result.floor.rate else 0.0
    out = [
        Row(name, "acknowledged per second, flat out (floor)",
            f"{result.bot.rate:,.0f}/s ({result.floor.rate:,.0f}/s): {ratio:.2f}×", "≥ 0.5× the floor", ratio >= 0.5),
        Row(name, "latency flat out p50 / p99 / max (floor)",
            f"{result.bot.p50:.1f} / {result.bot.p99:.1f} / {result.bot.max:.0f} ms "
            f"({result.floor.p50:.1f} / {result.floor.p99:.1f} / {result.floor.max:.0f})"),
    ]
    for rate in RATES:
        load, floor = result.rates[rate], result.floor_rates[rate]
        out.append(Row(name, f"latency at {rate}/s p50 / p99 / max (floor)",
                       f"{load.p50:.1f} / {load.p99:.1f} / {load.max:.0f} ms "
                       f"({floor.p50:.1f} / {floor.p99:.1f} / {floor.max:.0f}); {load.rate:.0f}/s sent",
                       "p99 < 20 ms" if rate == 200 else "", load.p99 < 20 if rate == 200 else None))
    out.append(Row(name, "acknowledged / stored / handled (the flat-out run's handled in)",
                   f"{result.accepted:,} / {result.stored:,} / {result.handled:,} ({result.drain:.0f} s)",
                   "none lost", result.accepted <= result.stored == result.handled))
    name = f"B4 {result.database}"
    out.append(Row(name, "start-up, nothing stored yet: process start → /healthz 200", f"{result.startup:.1f} s"))
    out.append(Row(name, "resident memory idle / after B1", f"{result.rss_idle:.0f} / {result.rss_after:.0f} MB",
                   "idle < 100 MB", result.rss_idle < 100))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", nargs="+", choices=DATABASES, default=list(DATABASES))
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    postgres = Postgres()
    found: list[Row] = []
    try:
        for database in args.database:
            started = time.monotonic()
            found += rows(measure(database, args.seconds, postgres))
            print(f"B1 on {database}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        postgres.stop()
    print(f"{machine()}\n\n{table(found)}")


if __name__ == "__main__":
    main()
