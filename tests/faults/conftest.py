"""Fixtures of the fault and attack suite: the emulator, the real bot process (restartable, with
SIGKILL), and a short report printed at the end of the run (kills survived, events redelivered,
fuzz requests, per-fault outcomes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ADMIN_TOKEN, BOT_TOKEN, SECRET, Chat, People, make_emulator
from tests.faults.helpers import ChaosBot

REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if REPORT:
        terminalreporter.section("fault and attack suite")
        for line in REPORT:
            terminalreporter.write_line(line)


@pytest.fixture
def report() -> Callable[[str], None]:
    """Record a line for the end-of-run summary (also printed, so a failing test shows it)."""

    def add(line: str) -> None:
        print(line)
        REPORT.append(line)

    return add


@pytest.fixture
def world() -> Iterator[tuple[Any, People, Chat]]:
    emu, people = make_emulator()
    try:
        yield emu, people, Chat(emu, people)
        assert emu.spec_violations == [], "the bot made calls the Webex OpenAPI excerpt rejects"
    finally:
        emu.stop()
        print("----- the last calls the emulator received -----")  # shown by pytest when a test fails
        for call in emu.requests[-40:]:
            print(call.at.time(), call.method, call.path[:70], call.status, call.json if call.status >= 400 else "")


BotFactory = Callable[..., ChaosBot]


@pytest.fixture
def start_bot(world: tuple[Any, People, Chat], tmp_path: Path) -> Iterator[BotFactory]:
    """Start `intercept-bot serve` (pinned sandbox clock, webhooks registered); stopped and its log
    checked (no secret, no traceback) at the end."""
    emu, people, _ = world
    started: list[ChaosBot] = []

    def start(approvers: str = "bob@example.com,carol@example.com,dave@example.com",
              approval_room: str | None = None, extra_env: dict[str, str] | None = None) -> ChaosBot:
        workdir = tmp_path / f"bot{len(started)}"
        workdir.mkdir()
        process = ChaosBot(emu, people, workdir, approvers=approvers, approval_room=approval_room,
                           extra_env=extra_env)
        process.pin_clock()
        process.register_webhooks()
        started.append(process)
        process.start()
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()
            log = process.log()
            print(f"----- the bot's log (last part) -----\n{log[-6000:]}")
            for secret in (SECRET, BOT_TOKEN, ADMIN_TOKEN):
                assert secret not in log, "a secret reached the bot's log"
            assert "Traceback" not in log, f"the bot logged an exception:\n{log[-4000:]}"
