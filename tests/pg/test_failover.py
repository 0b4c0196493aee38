"""Three `intercept-bot serve` processes on one PostgreSQL database behind a load balancer: webhooks
spread over all three, the leader SIGKILLed in the middle of the flow, and still every intercept
applied once and reverted once, every requester told once."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.adapters.store import make_engine
from tests.e2e.harness import (
    BOT_TOKEN,
    SECRET,
    BotProcess,
    Chat,
    People,
    filled,
    make_emulator,
    wait_until,
)
from tests.pg.conftest import in_schema
from webex_emulator import WebexEmulator

LEADS = "now runs the timers (leader)"


class LoadBalancer:
    """Round robin over the instances, as a load balancer in front of them would: a delivery that
    finds an instance gone goes to the next one."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.took: Counter[str] = Counter()
        self._turn = 0
        self._lock = threading.Lock()
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = balancer.forward(self.path, body, {k: v for k, v in self.headers.items()
                                                            if k.lower() not in ("host", "content-length")})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            start, self._turn = self._turn, self._turn + 1
        for offset in range(len(self.backends)):
            backend = self.backends[(start + offset) % len(self.backends)]
            request = urllib.request.Request(backend + path, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=20) as response:
                    self.took[backend] += 1
                    return int(response.status)
            except urllib.error.HTTPError as error:
                return int(error.code)
            except OSError:
                continue  # that instance is gone: the next one
        return 502

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def database(pg_url: str) -> Iterator[str]:
    schema = "f" + uuid.uuid4().hex[:12]
    admin = make_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield in_schema(pg_url, schema)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def cluster(tmp_path: Path, database: str) -> Iterator[tuple[WebexEmulator, People, list[BotProcess], LoadBalancer]]:
    emu, people = make_emulator()
    bots = []
    for name in "abc":
        (tmp_path / name).mkdir()
        bots.append(BotProcess(emu, people, tmp_path / name, approvers="bob@example.com",
                               extra_env={"DATABASE_URL": database}))
    balancer = LoadBalancer([bot.base for bot in bots])
    try:
        for resource in ("messages", "attachmentActions"):
            emu.add_webhook(BOT_TOKEN, f"intercept-bot {resource}", balancer.url + "/webhooks/webex", resource,
                            "created", secret=SECRET)
        bots[0].pin_clock()
        for bot in bots:
            bot.start()
        yield emu, people, bots, balancer
        assert emu.spec_violations == []
    finally:
        balancer.stop()
        for bot in bots:
            bot.stop()
        emu.stop()
        for bot in bots:
            print(f"----- {bot.workdir.name} -----\n{bot.log()[-4000:]}")


def leader(bots: list[BotProcess]) -> BotProcess:
    return wait_until(lambda: next((b for b in bots if b.proc and b.proc.poll() is None and LEADS in b.log()), None),
                      what="a leader")


def statuses(database: str) -> dict[str, str]:
    engine = make_engine(database)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT person_email, status FROM intercept_requests")).all()
    engine.dispose()
    return {str(email): str(status) for email, status in rows}


def test_three_instances_survive_the_leader_being_killed_mid_flow(
        cluster: tuple[WebexEmulator, People, list[BotProcess], LoadBalancer], database: str) -> None:
    emu, people, bots, balancer = cluster
    chat = Chat(emu, people)
    requesters = [people.alice, people.carol, people.dave, people.mallory]
    first = leader(bots)
    assert sum(LEADS in bot.log() for bot in bots) == 1

    cards = []
    for person in requesters:
        chat.say(person, "intercept me until Friday")
        room = chat.direct_room(person)
        form = chat.wait_card(room, "until.date")
        chat.submit(person, form, {**filled(form), "intent": "submit"})
        chat.wait_bot_text(room, "Sent for approval")
        cards.append(chat.wait_card(chat.direct_room(people.bob), "comment", exclude=cards))
    for person, card in zip(requesters[:2], cards[:2], strict=True):
        chat.submit(people.bob, card, {"intent": "approve", "comment": ""})
        wait_until(lambda p=person: chat.puts(p), what=f"{person.display_name}'s intercept")
    assert all(balancer.took[bot.base] > 0 for bot in bots), balancer.took  # all three took deliveries

    chat.submit(people.bob, cards[2], {"intent": "approve", "comment": ""})
    killed_at = time.monotonic()
    first.kill()  # the leader, with no clean-up at all, perhaps while it handles that approval
    chat.submit(people.bob, cards[3], {"intent": "approve", "comment": ""})  # the flow goes on
    leader([bot for bot in bots if bot is not first])
    took_over = time.monotonic() - killed_at
    print(f"\nfailover: a new leader {took_over:.1f} s after the leader was killed")
    assert took_over < 30
    wait_until(lambda: all(len(chat.puts(p)) == 1 for p in requesters), what="every intercept applied")

    first.sandbox_clock(3 * 86400)  # Friday passes: the new leader's timers revert them all
    wait_until(lambda: set(statuses(database).values()) == {"reverted"}, timeout=60, what="every revert")
    for person in requesters:
        puts = chat.puts(person)
        assert len(puts) == 2, f"{person.display_name}: {len(puts)} PUTs"  # applied once, reverted once
        assert puts[1].json["enabled"] is False
        room = chat.direct_room(person)
        chat.wait_bot_text(room, "previous call settings are back")
        told = [m for m in chat.bot_messages(room) if "previous call settings are back" in (m.get("markdown") or "")]
        assert len(told) == 1
    for bot in bots:
        if bot is not first:
            assert "Traceback" not in bot.log(), bot.log()[-4000:]
    print(f"deliveries per instance: {sorted(balancer.took.values())}")
