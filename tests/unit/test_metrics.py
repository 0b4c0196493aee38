"""The metrics and readiness parts below the HTTP server: the receiver's outcomes, the Webex
client's request hook and the read calls `check` uses (against the emulator), the store counts a
scrape makes, the collector on a real SQLite file, and a BotApp's own registry, /readyz and /metrics
before it started."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.store import SqlStores
from bot.adapters.webex import RetryPolicy, WebexClient
from bot.app import BotApp
from bot.config import load
from bot.domain.model import Request, Status
from bot.edge.intake import MAX_BODY, Event, Receiver, signature
from bot.metrics import Metrics, StateCollector
from webex_emulator import WebexEmulator

BOT, ADMIN = "bot-token-metrics-1234", "admin-token-metrics-5678"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def emu() -> Iterator[WebexEmulator]:
    emulator = WebexEmulator()
    emulator.add_person(email="bot@webex.bot", display_name="Bot", type="bot", token=BOT)
    emulator.add_person(email="admin@example.com", display_name="Admin", token=ADMIN, admin=True)
    emulator.start()
    yield emulator
    emulator.stop()


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def test_every_webex_request_is_counted_with_its_status_and_429s_apart(emu: WebexEmulator) -> None:
    metrics = Metrics()
    webex = WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token=ADMIN, on_call=metrics.webex_call,
                        retry=RetryPolicy(sleep=lambda _: None))
    emu.fail("GET", r"/people/me", 429, retry_after="0")
    webex.me()
    emu.fail("GET", r"/people/me", 401)
    with pytest.raises(Exception, match="401"):
        webex.me()
    found = samples(metrics)
    me = "read the bot's own person"
    assert found[("intercept_bot_webex_requests_total", (("code", "429"), ("operation", me)))] == 1
    assert found[("intercept_bot_webex_requests_total", (("code", "200"), ("operation", me)))] == 1
    assert found[("intercept_bot_webex_requests_total", (("code", "401"), ("operation", me)))] == 1
    assert found[("intercept_bot_webex_rate_limited_total", (("operation", me),))] == 1


def test_no_answer_is_counted_as_code_none() -> None:
    metrics = Metrics()
    webex = WebexClient(api_url="http://127.0.0.1:9/v1", bot_token=BOT, admin_token=ADMIN, on_call=metrics.webex_call,
                        retry=RetryPolicy(sleep=lambda _: None, attempts=2))
    with pytest.raises(Exception, match="did not answer"):
        webex.me()
    assert samples(metrics)[("intercept_bot_webex_requests_total",
                             (("code", "none"), ("operation", "read the bot's own person")))] == 2


def test_the_read_calls_of_check(emu: WebexEmulator) -> None:
    webex = WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token=ADMIN)
    alice = emu.add_person(email="alice@example.com", display_name="Alice", token="alice-token")
    bot = webex.me()
    assert [p.id for p in webex.people_by_email("ALICE@example.com")] == [alice.id]
    assert [p.id for p in webex.people_by_email("alice@example.com", admin=True)] == [alice.id]
    assert webex.people_by_email("nobody@example.com") == []
    space = emu.group_room("Approvals", [alice.id, bot.id])
    assert webex.room(space)["title"] == "Approvals"
    assert webex.is_member(space, bot.id) and not webex.is_member(space, "someone-else")
    assert emu.spec_violations == []


def test_the_admin_token_expiry_is_known_only_when_the_bot_got_it(emu: WebexEmulator) -> None:
    given = WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token=ADMIN)
    given.admin_me()
    assert given.admin_token.expires_in() is None
    emu.add_oauth_client("app-1", "app-secret-1")
    _access, refresh = emu.grant("app-1", "admin@example.com", access_expires_in=7200)
    refreshed = WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token="",
                            admin_refresh=("app-1", "app-secret-1", refresh))
    refreshed.admin_me()  # gets the token first
    expires_in = refreshed.admin_token.expires_in()
    assert expires_in is not None and 7000 < expires_in <= 7200


@pytest.fixture
def stores(tmp_path: Path) -> SqlStores:
    sql = SqlStores.at(f"sqlite:///{tmp_path}/metrics.db")
    sql.create_schema()
    return sql


def test_every_answer_of_the_receiver_is_counted_once_under_its_outcome(stores: SqlStores) -> None:
    metrics = Metrics()
    receiver = Receiver(secret="hook-secret-1", inbox=stores.inbox, bot_id="bot-id", now=lambda: NOW,
                        observe=metrics.webhook)

    def send(data: dict[str, object], *, signed: bool = True, content_type: str = "application/json",
             raw: bytes | None = None) -> int:
        body = raw if raw is not None else json.dumps(data).encode()
        header = signature(b"hook-secret-1", body) if signed else None
        return receiver.receive(body, header, content_type).status

    event = {"resource": "messages", "event": "created", "actorId": "alice", "data": {"id": "m1", "personId": "alice"}}
    assert send(event) == 202 and send(event) == 200  # stored, then a redelivery
    assert send(event, signed=False) == 401
    assert send(event, content_type="text/plain") == 415
    assert send({}, raw=b"[1, 2]") == 400
    assert send({**event, "resource": "rooms"}) == 202  # an event the bot does not handle
    assert send({**event, "actorId": "bot-id", "data": {"id": "m2", "personId": "bot-id"}}) == 200
    assert send({}, raw=b"x" * (MAX_BODY + 1)) == 413
    assert receiver.too_large().status == 413  # what the web server refused to read
    assert receiver.receive(b"{}", "0" * 40, "application/json").status == 403
    found = samples(metrics)
    assert found[("intercept_bot_webhooks_received_total", ())] == 10
    assert found[("intercept_bot_webhooks_accepted_total", ())] == 1
    assert found[("intercept_bot_webhooks_duplicate_total", ())] == 1
    assert {reason: found[("intercept_bot_webhooks_rejected_total", (("reason", reason),))]
            for reason in ("too_large", "unsigned", "signature", "media_type", "malformed")} == {
        "too_large": 2, "unsigned": 1, "signature": 1, "media_type": 1, "malformed": 1}
    assert found[("intercept_bot_webhooks_ignored_total", (("reason", "other_event"),))] == 1
    assert found[("intercept_bot_webhooks_ignored_total", (("reason", "own_event"),))] == 1


# ------------------------------------------------------------------------------------ at scrape time


def request(request_id: str, status: Status, end_at: datetime) -> Request:
    return Request(id=request_id, person_id=f"p-{request_id}", person_email="a@example.com", person_name="A",
                   zone="UTC", room_id="room", status=status, created_at=NOW - timedelta(days=1),
                   updated_at=NOW - timedelta(days=1), end_at=end_at)


def test_the_collector_counts_backlog_states_and_overdue_reverts(stores: SqlStores) -> None:
    for request_id, status, end in (("late", Status.ACTIVE, NOW - timedelta(minutes=5)),
                                    ("just-ended", Status.ACTIVE, NOW - timedelta(seconds=30)),
                                    ("on", Status.ACTIVE, NOW + timedelta(hours=1)),
                                    ("asked", Status.AWAITING_APPROVAL, NOW + timedelta(hours=1)),
                                    ("done", Status.REVERTED, NOW - timedelta(days=1))):
        stores.requests.add(request(request_id, status, end))
    stores.inbox.add(Event("messages", "m1"), b"{}", NOW - timedelta(seconds=90))
    stores.inbox.add(Event("messages", "m2"), b"{}", NOW - timedelta(seconds=10))
    stores.inbox.add(Event("messages", "m3"), b"{}", NOW - timedelta(seconds=5))
    assert stores.inbox.claim(NOW) == Event("messages", "m1")  # the oldest is being processed
    metrics = Metrics()
    metrics.watch(StateCollector(stores=stores, now=lambda: NOW, role=lambda: "single",
                                 admin_expires_in=lambda: None))
    found = samples(metrics)
    assert found[("intercept_bot_reverts_overdue", ())] == 1  # ended more than a minute ago, still on
    assert found[("intercept_bot_requests", (("status", "active"),))] == 3
    assert found[("intercept_bot_requests", (("status", "awaiting_approval"),))] == 1
    assert found[("intercept_bot_requests", (("status", "applying"),))] == 0
    assert ("intercept_bot_requests", (("status", "reverted"),)) not in found  # final states are not counted
    assert found[("intercept_bot_inbox_events", (("status", "pending"),))] == 2
    assert found[("intercept_bot_inbox_events", (("status", "processing"),))] == 1
    assert found[("intercept_bot_inbox_oldest_pending_age_seconds", ())] == 10
    assert found[("intercept_bot_leader", ())] == 1 and found[("intercept_bot_database_up", ())] == 1
    assert ("intercept_bot_admin_token_expires_in_seconds", ()) not in found


def test_a_database_that_does_not_answer_is_a_gauge_not_a_failed_scrape(tmp_path: Path) -> None:
    empty = SqlStores.at(f"sqlite:///{tmp_path}/no-tables.db")  # no schema: every count fails
    metrics = Metrics()
    metrics.watch(StateCollector(stores=empty, now=lambda: NOW, role=lambda: "follower",
                                 admin_expires_in=lambda: 3600.0))
    found = samples(metrics)
    assert found[("intercept_bot_database_up", ())] == 0
    assert found[("intercept_bot_leader", ())] == 0
    assert found[("intercept_bot_admin_token_expires_in_seconds", ())] == 3600
    assert ("intercept_bot_reverts_overdue", ()) not in found


def test_two_apps_in_one_process_have_their_own_registries_and_are_not_ready_before_start(tmp_path: Path) -> None:
    env = {"WEBEX_BOT_TOKEN": BOT, "WEBEX_ADMIN_TOKEN": ADMIN, "WEBEX_WEBHOOK_SECRET": "secret-metrics-1",
           "INTERCEPT_APPROVERS": "bob@example.com", "WEBEX_API_URL": "http://127.0.0.1:9/v1"}
    apps = [BotApp(load({**env, "DATABASE_URL": f"sqlite:///{tmp_path}/app{n}.db"}, dotenv=False)) for n in (1, 2)]
    apps[0].metrics.webex_call("read a message", 200)
    assert samples(apps[0].metrics)[("intercept_bot_webex_requests_total",
                                     (("code", "200"), ("operation", "read a message")))] == 1
    assert ("intercept_bot_webex_requests_total", (("code", "200"), ("operation", "read a message"))) not in (
        samples(apps[1].metrics))
    client = apps[1].web.test_client()
    answer = client.get("/readyz")
    report = json.loads(answer.data)
    assert answer.status_code == 503
    assert report == {"ready": False, "started": False, "database": True, "migrated": None, "workers": False,
                      "role": "single", "admin_token_expires_in": None}
    exposition = client.get("/metrics")
    assert exposition.status_code == 200 and exposition.content_type.startswith("text/plain")
    assert b"intercept_bot_webhooks_received_total 0.0" in exposition.data
    for app in apps:
        app.stop()
