"""What the benchmarks share: the bot and the Webex emulator on loopback (the end-to-end harness
of tests/e2e), a PostgreSQL server that syncs to disk as in production, the load generator (wrk),
resident memory, percentiles and the table."""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e.harness import BotProcess, People, make_emulator, wait_until
from tests.pgserver import PgServer
from webex_emulator import WebexEmulator

HERE = Path(__file__).parent
DATABASES = ("sqlite", "postgresql")


def machine() -> str:
    """The machine the figures come from, for the table's heading."""
    return (f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}")


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (from /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class Row:
    """One line of the table: a benchmark's figure, its target and whether it met it."""

    bench: str
    what: str
    value: str
    target: str = ""
    met: bool | None = None

    def cells(self) -> list[str]:
        verdict = "" if self.met is None else ("met" if self.met else "**missed**")
        return [self.bench, self.what, self.value, self.target, verdict]


def table(rows: Sequence[Row]) -> str:
    """A Markdown table (what the README shows)."""
    head = ["bench", "measure", "figure", "target", ""]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- the bot


class Postgres:
    """A throwaway PostgreSQL server for the run, with fsync on (the tests' server has it off)."""

    def __init__(self) -> None:
        self._server: PgServer | None = None

    def new_database(self) -> str:
        if self._server is None:
            self._server = PgServer(fsync=True)
        return self._server.new_database()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


@contextmanager
def bot_on(database: str, folder: Path, postgres: Postgres, *, extra_env: dict[str, str] | None = None,
           pin: bool = True) -> Iterator[tuple[WebexEmulator, People, BotProcess]]:
    """The emulator and `intercept-bot serve` (as the Procfile runs it) on a new database of that
    kind, webhooks registered; stopped on the way out. The emulator answers at once: it does not
    judge bodies and cards against their schemas (the tests do; a form card took it 50 ms)."""
    emu, people = make_emulator(check_bodies=False)
    try:
        url = postgres.new_database() if database == "postgresql" else f"sqlite:///{folder / 'bot.db'}"
        bot = BotProcess(emu, people, folder, approvers="bob@example.com", database_url=url,
                         extra_env={"INTERCEPT_SWEEP_SECONDS": "60", **(extra_env or {})})
        if pin:
            bot.pin_clock()
        bot.register_webhooks()
        bot.start()
        try:
            yield emu, people, bot
        finally:
            bot.stop()
    finally:
        emu.stop()


def wait_processed(bot: BotProcess, expected: int, timeout: float = 600.0) -> tuple[int, float]:
    """Wait until the inbox holds `expected` handled events and none waiting; (handled, seconds)."""
    started = time.monotonic()

    def settled() -> tuple[int, int] | None:
        rows = dict(bot.db("SELECT status, count(*) FROM webhook_inbox GROUP BY status"))
        handled, open_ = rows.get("done", 0) + rows.get("failed", 0), rows.get("pending", 0) + rows.get("processing", 0)
        return (handled, open_) if open_ == 0 and handled >= expected else None

    try:
        handled, _ = wait_until(settled, timeout, "every acknowledged event to be handled")
    except TimeoutError:
        rows = dict(bot.db("SELECT status, count(*) FROM webhook_inbox GROUP BY status"))
        handled = rows.get("done", 0) + rows.get("failed", 0)
    return handled, time.monotonic() - started


# ---------------------------------------------------------------------------------------------- the load


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        sys.exit("bench: wrk is needed (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)")
    return found


@dataclass(frozen=True)
class Load:
    """What wrk measured: requests answered, per status, in how long, and latency in ms."""

    requests: int
    seconds: float
    statuses: dict[int, int]
    p50: float
    p99: float
    max: float
    errors: int  # connect, read, write or timeout errors

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def write_pool(path: Path, deliveries: Sequence[tuple[str, bytes]]) -> None:
    """The deliveries wrk sends, one per line: signature, a tab, the body (compact JSON, one line)."""
    with path.open("wb") as out:
        for signature, body in deliveries:
            if b"\n" in body or b"\t" in signature.encode():
                raise ValueError("a delivery body must be one line")
            out.write(signature.encode() + b"\t" + body + b"\n")


def run_wrk(url: str, pool: Path, *, seconds: float, connections: int = 16, threads: int = 2,
            rate: float | None = None) -> Load:
    """wrk against `url`, each request the next delivery of `pool` (every one sent at most once);
    `rate`: paced to about that many requests per second (each connection waits its share between
    requests; a slow answer lowers the rate rather than piling requests up)."""
    gap_ms = 0 if rate is None else int(1000 * connections / rate)
    command = [wrk_path(), "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--latency",
               "-s", str(HERE / "deliveries.lua"), url, "--", str(pool), str(threads), str(gap_ms)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)
    report = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not report:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout[-500:]}")
    data: dict[str, Any] = json.loads(report[-1])
    return Load(requests=int(data["requests"]), seconds=data["duration_us"] / 1e6,
                statuses={int(k): int(v) for k, v in data.get("statuses", {}).items()},
                p50=data["p50_us"] / 1000, p99=data["p99_us"] / 1000, max=data["max_us"] / 1000,
                errors=int(data["errors"]))


def spawn(command: list[str], *, env: dict[str, str] | None = None, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    return wait_until(predicate, timeout, what)
