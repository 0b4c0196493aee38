"""End-to-end edges: start-up refusals, expiry, Webex failing on the way."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import BotProcess, Chat, People, bot_command, filled, wait_until
from tests.e2e.test_flow import approval_card_for, ask_and_submit

pytestmark = pytest.mark.e2e


def serve_once(process: BotProcess, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*bot_command(), "serve", "--host", "127.0.0.1", "--port", str(process.port)],
                          env={**process.env, **env}, cwd=process.workdir, capture_output=True, text=True,
                          timeout=60)


def test_a_refused_token_stops_start_up_with_one_line(world: tuple[Any, People, Chat], tmp_path: Path) -> None:
    emu, people, _ = world
    process = BotProcess(emu, people, tmp_path, approvers="bob@example.com")
    for variable in ("WEBEX_BOT_TOKEN", "WEBEX_ADMIN_TOKEN"):
        result = serve_once(process, **{variable: "not-a-valid-token-123"})
        assert result.returncode == 2
        lines = [line for line in result.stderr.splitlines() if line.startswith("intercept-bot:")]
        assert len(lines) == 1 and variable in lines[0] and "401" in lines[0]
        assert "not-a-valid-token-123" not in result.stderr + result.stdout
    result = serve_once(process, WEBEX_API_URL="http://127.0.0.1:9/v1")
    assert result.returncode == 2 and "WEBEX_API_URL" in result.stderr


def test_a_request_nobody_decides_on_expires_and_the_requester_is_told(
        world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    room = ask_and_submit(chat, people.alice, "intercept me for 3 days")
    card = approval_card_for(chat, people.bob)
    bot.sandbox_clock(25 * 3600)  # the default approval time is 24 h
    bot.wait_status(people.alice.id, "expired")
    chat.wait_bot_text(room, "expired")
    assert card["id"] in {m["id"] for m in emu.deleted_messages}
    assert chat.puts(people.alice) == []


def test_webex_failing_for_a_while_during_apply_and_revert_still_ends_right(
        world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    alice = people.alice
    ask_and_submit(chat, alice, "intercept me for 2 hours")
    emu.fail("PUT", rf"/people/{alice.id}/features/intercept", 503, times=2)
    emu.fail("GET", rf"/people/{alice.id}/features/intercept", 429, retry_after="1")
    chat.submit(people.bob, approval_card_for(chat, people.bob), {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "active")
    assert len(chat.puts(alice)) == 1
    emu.fail("PUT", rf"/people/{alice.id}/features/intercept", 500, times=1)
    bot.sandbox_clock(3 * 3600)
    bot.wait_status(alice.id, "reverted")
    assert len(chat.puts(alice)) == 2
    assert emu.get_intercept(alice.id)["enabled"] is False


def test_a_permanently_refused_put_fails_the_request_and_says_why(
        world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    alice = people.alice
    room = ask_and_submit(chat, alice, "intercept me for 2 hours")
    emu.fail("PUT", rf"/people/{alice.id}/features/intercept", 403, body={"message": "Not allowed for this user"})
    chat.submit(people.bob, approval_card_for(chat, people.bob), {"intent": "approve", "comment": ""})
    bot.wait_status(alice.id, "failed")
    chat.wait_bot_text(room, "could not be applied")
    assert emu.get_intercept(alice.id)["enabled"] is False


def test_a_form_sent_twice_by_a_double_click_makes_one_request(
        world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    _emu, people, chat = world
    alice = people.alice
    chat.say(alice, "intercept me for 2 hours")
    room = chat.direct_room(alice)
    form = chat.wait_card(room, "until.date")
    inputs = {**filled(form), "intent": "submit"}
    chat.submit(alice, form, inputs)
    chat.submit(alice, form, inputs)
    chat.wait_bot_text(room, "Sent for approval")
    chat.wait_bot_text(room, "no longer in use")
    assert bot.request_statuses(alice.id) == ["awaiting_approval"]


@pytest.mark.sqlite_only(reason="one server per SQLite file is the design; on PostgreSQL a second instance is a "
                                "follower instead of being refused (tests/pg/test_failover.py)")
def test_a_second_server_on_the_same_database_refuses_to_start(world: tuple[Any, People, Chat],
                                                               bot: BotProcess) -> None:
    result = serve_once(bot)
    assert result.returncode == 2
    line = next(x for x in result.stderr.splitlines() if x.startswith("intercept-bot:"))
    assert "another intercept-bot is running against this database" in line
    assert bot.proc is not None and bot.proc.poll() is None  # the first one is unharmed


def test_an_expired_admin_token_is_refreshed_and_the_revert_still_happens(
        world: tuple[Any, People, Chat], tmp_path: Path) -> None:
    emu, people, chat = world
    emu.add_oauth_client("intercept-bot-app", "client-secret-0123")
    access, refresh = emu.grant("intercept-bot-app", people.admin)
    process = BotProcess(emu, people, tmp_path, approvers="bob@example.com", extra_env={
        "WEBEX_ADMIN_TOKEN": access, "WEBEX_CLIENT_ID": "intercept-bot-app",
        "WEBEX_CLIENT_SECRET": "client-secret-0123", "WEBEX_ADMIN_REFRESH_TOKEN": refresh})
    process.pin_clock()
    process.register_webhooks()
    process.start()
    try:
        ask_and_submit(chat, people.alice, "intercept me for 2 hours")
        chat.submit(people.bob, approval_card_for(chat, people.bob), {"intent": "approve", "comment": ""})
        process.wait_status(people.alice.id, "active")
        emu.expire_token(access)  # Webex says 401 from now on
        process.sandbox_clock(3 * 3600)
        process.wait_status(people.alice.id, "reverted")
        assert emu.refreshes == 1
        assert emu.get_intercept(people.alice.id)["enabled"] is False
    finally:
        process.stop()
    log = process.log()
    assert access not in log and refresh not in log and "client-secret-0123" not in log


def test_sigterm_while_webex_says_wait_stops_at_once_and_the_apply_resumes(
        world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    alice, bob = people.alice, people.bob
    ask_and_submit(chat, alice, "intercept me for 2 hours")
    emu.fail("PUT", rf"/people/{alice.id}/features/intercept", 429, retry_after="15")
    chat.submit(bob, approval_card_for(chat, bob), {"intent": "approve", "comment": ""})
    wait_until(lambda: emu.requests_matching("PUT", rf"/people/{alice.id}/features/intercept"), what="the 429")
    # the worker now waits out Retry-After holding Alice's lock: a stop must not wait on it (it
    # used to deadlock with the scheduler's shutdown until SIGKILL)
    assert bot.stop() == 0
    bot.start()
    bot.wait_status(alice.id, "active")
    puts = emu.requests_matching("PUT", rf"^/people/{alice.id}/features/intercept$")
    assert [put.status for put in puts] == [429, 204]
