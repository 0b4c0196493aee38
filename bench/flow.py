"""B2, end to end, the emulator answering at once: a form submission delivered → the approval card
posted, and an approval click delivered → the intercept PUT received; p50/p99/max over N requests.

    .venv/bin/python -m bench.flow [--database sqlite postgresql] [--requests 200]

Each of N people asks "intercept me for 2 hours" and gets the form, as in chat; the submission and
then the approver's click are made through the emulator, held, and delivered by this script, which
notes the moment it sent each; the emulator notes when the approval card and the PUT arrive.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import DATABASES, Postgres, Row, bot_on, machine, percentile, table
from tests.e2e.harness import Chat, filled, wait_until
from webex_emulator import WebexEmulator


def deliver(emu: WebexEmulator, make: Callable[[], object]) -> datetime:
    """Make an event through the emulator (`make()`), then deliver it now; when it was sent."""
    with emu.holding_deliveries() as held:
        make()
    # the card action; the rest held meanwhile are the bot's own messages, which it ignores
    (job,) = [job for job in held if job.resource == "attachmentActions"]
    sent = datetime.now(UTC)
    emu.deliver(job)
    return sent


def arrived(emu: WebexEmulator, method: str, path: str, after: datetime, what: str,
            wanted: Callable[[Any], bool] = lambda _: True) -> datetime:
    """When the first such request after `after` reached the emulator."""
    found = wait_until(lambda: [r for r in emu.requests_matching(method, path)
                                if r.at >= after and r.status and wanted(r.json)], 30, what)
    return min(r.at for r in found if isinstance(r.at, datetime))


def measure(database: str, count: int, postgres: Postgres) -> tuple[list[float], list[float]]:
    to_card: list[float] = []
    to_put: list[float] = []
    with tempfile.TemporaryDirectory(prefix="intercept-bot-bench-") as name, \
            bot_on(database, Path(name), postgres) as (emu, people, bot):
        chat = Chat(emu, people)
        bob_room = chat.direct_room(people.bob)
        bob = {people.bob.id, people.bob.email, bob_room}  # how a message to Bob may be addressed
        for number in range(count):
            person = emu.add_person(f"flow{number}@example.com", f"Flow Person {number}", token=f"flow-{number}")
            chat.say(person, "intercept me for 2 hours")
            room = chat.direct_room(person)
            form = chat.wait_card(room, "until.date")
            before = {m["id"] for m in chat.cards(bob_room, "comment")}
            inputs = {**filled(form), "intent": "submit"}
            sent = deliver(emu, partial(chat.submit, person, form, inputs))
            posted = arrived(emu, "POST", "/messages", sent, "the approval card",
                             lambda body: bool(body and body.get("attachments") and body.get("toPersonEmail",
                                               body.get("toPersonId", body.get("roomId"))) in bob))
            to_card.append((posted - sent).total_seconds() * 1000)
            card = chat.wait_card(bob_room, "comment", exclude=before)
            sent = deliver(emu, partial(chat.submit, people.bob, card, {"intent": "approve", "comment": ""}))
            put = arrived(emu, "PUT", rf"/people/{person.id}/features/intercept", sent, "the intercept PUT")
            to_put.append((put - sent).total_seconds() * 1000)
            bot.wait_status(person.id, "active")
    return to_card, to_put


def rows(database: str, to_card: list[float], to_put: list[float]) -> list[Row]:
    out = []
    for what, values in (("form submitted → approval card posted", to_card),
                         ("approval clicked → intercept PUT received", to_put)):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        out.append(Row(f"B2 {database}", f"{what}, p50 / p99 / max of {len(values)}",
                       f"{p50:.0f} / {p99:.0f} / {max(values):.0f} ms", "p50 < 50 ms, p99 < 200 ms",
                       p50 < 50 and p99 < 200))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", nargs="+", choices=DATABASES, default=list(DATABASES))
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    postgres = Postgres()
    found: list[Row] = []
    try:
        for database in args.database:
            started = time.monotonic()
            found += rows(database, *measure(database, args.requests, postgres))
            print(f"B2 on {database}: {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        postgres.stop()
    print(f"{machine()}\n\n{table(found)}")


if __name__ == "__main__":
    main()
