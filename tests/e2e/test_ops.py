"""End-to-end operations: `GET /readyz` and `GET /metrics` of the real server after a webhook flow,
`intercept-bot check` against the emulator (passing, and failing with one clear line), and the
server's log as JSON lines."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import make_url

from tests.e2e.harness import ADMIN_TOKEN, BOT_TOKEN, SECRET, BotProcess, Chat, People, bot_command, http, wait_until
from tests.e2e.test_flow import ask_and_submit

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read())


def scrape(bot: BotProcess) -> Samples:
    with urllib.request.urlopen(bot.base + "/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def check(process: BotProcess, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*bot_command(), "check", *args], env={**process.env, **env}, cwd=process.workdir,
                          capture_output=True, text=True, timeout=60)


def no_secret_in(text: str, *extra: str) -> None:
    for secret in (SECRET, BOT_TOKEN, ADMIN_TOKEN, *extra):
        assert secret not in text


def test_readyz_and_metrics_follow_a_webhook_flow(world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    emu, people, chat = world
    status, report = get_json(bot.base + "/readyz")
    assert status == 200
    assert report == {"ready": True, "started": True, "database": True, "migrated": True, "workers": True,
                      "role": "single" if bot.database_url.startswith("sqlite") else "leader",
                      "admin_token_expires_in": None}
    before = scrape(bot)
    emu.fail("GET", r"/messages/[^/]+", 429, retry_after="0")  # Webex asks the bot to wait once
    chat.say(people.alice, "help")
    chat.wait_bot_text(chat.direct_room(people.alice), "`status`")
    index, delivery = next((i, d) for i, d in enumerate(emu.deliveries)
                           if d.resource == "messages" and d.status == 202)
    forged = http("POST", bot.base + "/webhooks/webex", delivery.body,
                  {"Content-Type": "application/json", "X-Spark-Signature": "0" * 40})
    assert forged == 403
    assert emu.redeliver(index).status == 200  # the same event again: recognised

    def settled() -> Samples | None:
        """The bot's reply was sent and counted, and delivered back to it (Webex may deliver the
        event before the bot has read the answer to its POST)."""
        after = scrape(bot)
        outcomes = sum(delta(after, before, f"intercept_bot_webhooks_{kind}_total", **labels)
                       for kind, labels in (("accepted", {}), ("duplicate", {}), ("rejected", {"reason": "signature"}),
                                            ("ignored", {"reason": "own_event"})))
        received = delta(after, before, "intercept_bot_webhooks_received_total")
        own = delta(after, before, "intercept_bot_webhooks_ignored_total", reason="own_event")
        sent = value(after, "intercept_bot_webex_requests_total", operation="send a message", code="200")
        return after if own >= 1 and sent >= 1 and received == outcomes else None
    after = wait_until(settled, what="every delivery counted once")
    assert delta(after, before, "intercept_bot_webhooks_accepted_total") == 1
    assert delta(after, before, "intercept_bot_webhooks_rejected_total", reason="signature") == 1
    assert delta(after, before, "intercept_bot_webhooks_duplicate_total") == 1
    assert delta(after, before, "intercept_bot_webhooks_rejected_total", reason="unsigned") == 0
    read = "read a message"
    assert delta(after, before, "intercept_bot_webex_requests_total", operation=read, code="429") == 1
    assert delta(after, before, "intercept_bot_webex_requests_total", operation=read, code="200") >= 1
    assert delta(after, before, "intercept_bot_webex_rate_limited_total", operation=read) == 1
    assert value(after, "intercept_bot_leader") == 1 and value(after, "intercept_bot_database_up") == 1
    assert value(after, "intercept_bot_reverts_overdue") == 0

    ask_and_submit(chat, people.alice, "intercept me for 2 hours")

    def asked() -> Samples | None:
        now = scrape(bot)
        waits = value(now, "intercept_bot_requests", status="awaiting_approval") == 1
        return now if waits and value(now, "intercept_bot_inbox_events", status="pending") == 0 else None
    waiting = wait_until(asked, what="the request counted as awaiting approval")
    assert value(waiting, "intercept_bot_requests", status="active") == 0
    assert value(waiting, "intercept_bot_inbox_oldest_pending_age_seconds") == 0
    bot.stop()
    assert http("GET", bot.base + "/readyz") == 0  # gone


def test_check_passes_against_a_working_bot(world: tuple[Any, People, Chat], bot: BotProcess) -> None:
    done = check(bot, "--person", "alice@example.com", "--url", bot.base + "/webhooks/webex")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "ok    bot token: Intercept Bot (intercept@webex.bot)" in lines
    assert "ok    admin token: Ada Admin (admin@example.com)" in lines
    assert "ok    intercept settings: readable for Alice Adler (alice@example.com): intercept off" in lines
    assert "ok    approver carol@example.com: Carol Chen" in lines
    assert "ok    approval space: Intercept approvals (the bot is a member)" in lines
    assert f"ok    webhook attachmentActions/created: active, delivers to {bot.base}/webhooks/webex" in lines
    assert f"ok    database: reachable ({make_url(bot.database_url).render_as_string(hide_password=True)})" in lines
    assert any(line.startswith("ok    database schema: revision ") and line.endswith(", this version's")
               for line in lines)
    assert all(line[:6] in ("ok    ", "skip  ") for line in lines)
    no_secret_in(done.stdout + done.stderr)
    without = check(bot)  # no --person, no --url: skipped, and where the webhooks point is said
    assert without.returncode == 0
    assert any(line.startswith("skip  intercept settings: give --person EMAIL") for line in without.stdout.splitlines())
    assert (f"ok    webhook messages/created: active, delivers to {bot.base}/webhooks/webex; give --url to check it "
            "is this bot's address") in without.stdout.splitlines()


def fails(done: subprocess.CompletedProcess[str], start: str) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if line.startswith("FAIL  ")]
    found = [line for line in failed if line.startswith(start)]
    assert found, f"no line starting {start!r} in:\n{done.stdout}"
    no_secret_in(done.stdout + done.stderr, "wrong-admin-token-42")
    return found[0]


def test_check_fails_with_one_clear_line_for_each_problem(world: tuple[Any, People, Chat], tmp_path: Path) -> None:
    emu, people, _ = world
    space = emu.group_room("Elsewhere", [people.bob.id])  # the bot is not in it
    process = BotProcess(emu, people, tmp_path, approvers="bob@example.com")
    process.register_webhooks()
    url = process.base + "/webhooks/webex"

    line = fails(check(process, "--person", "alice@example.com", WEBEX_ADMIN_TOKEN="wrong-admin-token-42"),
                 "FAIL  admin token:")
    assert "HTTP 401" in line and "check WEBEX_ADMIN_TOKEN" in line

    line = fails(check(process, "--url", "https://bot.example.com/webhooks/webex"), "FAIL  webhook messages/created:")
    assert line == (f"FAIL  webhook messages/created: delivers to {url}, not to https://bot.example.com/webhooks/webex"
                    " — run intercept-bot register-webhooks --url https://bot.example.com/webhooks/webex")

    hooks = emu.call(people.bot, "GET", "/webhooks")[1]["items"]
    actions = next(h for h in hooks if h["resource"] == "attachmentActions")
    assert emu.call(people.bot, "DELETE", f"/webhooks/{actions['id']}")[0] == 204
    done = check(process, "--url", url)
    assert fails(done, "FAIL  webhook attachmentActions/created:") == (
        "FAIL  webhook attachmentActions/created: not registered — run intercept-bot register-webhooks --url " + url)
    assert f"ok    webhook messages/created: active, delivers to {url}" in done.stdout.splitlines()

    done = check(process, "--person", "nobody@example.com", INTERCEPT_APPROVERS="bob@example.com,ghost@example.com",
                 INTERCEPT_APPROVAL_ROOM_ID=space)
    fails(done, "FAIL  intercept settings: the admin token finds nobody with the address nobody@example.com")
    assert fails(done, "FAIL  approver ghost@example.com:").endswith("— correct INTERCEPT_APPROVERS")
    assert "add the bot to the space" in fails(done, "FAIL  approval space:")
    assert "ok    approver bob@example.com: Bob Brandt" in done.stdout.splitlines()

    done = check(process, LOG_FORMAT="xml")
    assert done.returncode == 1 and done.stdout.splitlines() == [
        "FAIL  configuration: LOG_FORMAT must be text or json, not 'xml'"]
    assert emu.spec_violations == []


def test_a_server_with_refresh_credentials_reports_the_token_expiry_and_logs_json(
        world: tuple[Any, People, Chat], tmp_path: Path) -> None:
    emu, people, chat = world
    emu.add_oauth_client("intercept-bot-app", "client-secret-0123")
    _access, refresh = emu.grant("intercept-bot-app", people.admin, access_expires_in=7200)
    process = BotProcess(emu, people, tmp_path, approvers="bob@example.com", extra_env={
        "WEBEX_ADMIN_TOKEN": "", "WEBEX_CLIENT_ID": "intercept-bot-app", "WEBEX_CLIENT_SECRET": "client-secret-0123",
        "WEBEX_ADMIN_REFRESH_TOKEN": refresh, "LOG_FORMAT": "json"})
    process.register_webhooks()
    process.start()
    try:
        status, report = get_json(process.base + "/readyz")
        assert status == 200 and 7000 < report["admin_token_expires_in"] <= 7200
        expiry = value(scrape(process), "intercept_bot_admin_token_expires_in_seconds")
        assert 7000 < expiry <= 7200
        chat.say(people.alice, "help")
        chat.wait_bot_text(chat.direct_room(people.alice), "`status`")
        done = check(process)
        assert done.returncode == 0, done.stdout
        assert "ok    admin token: Ada Admin (admin@example.com), got with the refresh token, valid for 2.0 h" in (
            done.stdout.splitlines())
    finally:
        process.stop()
    lines = [line for line in process.log().splitlines() if line.strip() and not line.startswith("===== start")]
    records = [json.loads(line) for line in lines]  # every line of the server's log is one JSON object
    assert any(r["message"].startswith("intercept-bot is up as") for r in records)
    assert all({"timestamp", "level", "logger", "message"} <= r.keys() for r in records)
    no_secret_in(process.log(), refresh, "client-secret-0123")
