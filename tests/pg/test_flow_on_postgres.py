"""The real server process with its state in PostgreSQL: request, approval, apply, a SIGKILL
restart, and the revert, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import BotProcess, Chat, make_emulator, wait_until
from tests.e2e.test_flow import approval_card_for, ask_and_submit

pytestmark = pytest.mark.e2e


def test_the_flow_on_postgresql_survives_a_sigkill(pg_database: str, tmp_path: Path) -> None:
    emu, people = make_emulator()
    chat = Chat(emu, people)
    bot = BotProcess(emu, people, tmp_path, approvers="bob@example.com", database_url=pg_database)
    try:
        bot.pin_clock()
        bot.register_webhooks()
        bot.start()
        ask_and_submit(chat, people.alice, "intercept me for 2 hours")
        chat.submit(people.bob, approval_card_for(chat, people.bob), {"intent": "approve", "comment": ""})
        wait_until(lambda: emu.get_intercept(people.alice.id)["enabled"], what="the intercept to be on")
        bot.kill()
        bot.sandbox_clock(3 * 3600)
        bot.start()
        wait_until(lambda: not emu.get_intercept(people.alice.id)["enabled"], what="the revert after restart")
        statuses = [r["target"] for r in bot.audit("--person", "alice@example.com") if r["event"] == "status"]
        assert statuses[-2:] == ["reverting", "reverted"]
        assert len(chat.puts(people.alice)) == 2
        assert emu.spec_violations == []
    finally:
        bot.stop()
        emu.stop()
        print(f"----- the bot's log -----\n{bot.log()[-6000:]}")  # shown when the test fails
