from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ADMIN_TOKEN, BOT_TOKEN, SECRET, BotProcess, Chat, People, make_emulator


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[object, People, Chat]]:
    emu, people = make_emulator()
    try:
        yield emu, people, Chat(emu, people)
        assert emu.spec_violations == [], "the bot made calls the Webex OpenAPI excerpt rejects"
    finally:
        emu.stop()
        print("----- the last calls the emulator received -----")  # shown by pytest when a test fails
        for call in emu.requests[-40:]:
            print(call.at.time(), call.method, call.path[:70], call.status, call.json if call.status >= 400 else "")


@pytest.fixture
def approval_room(world: tuple[object, People, Chat]) -> str:
    emu, people, _ = world
    return str(emu.group_room("Intercept approvals",  # type: ignore[attr-defined]
                              [people.bob.id, people.carol.id, people.mallory.id, people.dave.id, people.alice.id,
                               people.bot.id]))


@pytest.fixture
def bot(world: tuple[object, People, Chat], tmp_path: Path, approval_room: str) -> Iterator[BotProcess]:
    emu, people, _ = world
    process = BotProcess(emu, people, tmp_path,  # type: ignore[arg-type]
                         approvers="bob@example.com,carol@example.com,dave@example.com,alice@example.com",
                         approval_room=approval_room)
    process.pin_clock()
    process.register_webhooks()
    process.start()
    try:
        yield process
    finally:
        process.stop()
        log = process.log()
        print(f"----- the bot's log (last part) -----\n{log[-8000:]}")  # shown by pytest when a test fails
        for secret in (SECRET, BOT_TOKEN, ADMIN_TOKEN):
            assert secret not in log, "a secret reached the bot's log"
        assert "Traceback" not in log, f"the bot logged an exception:\n{log[-4000:]}"
