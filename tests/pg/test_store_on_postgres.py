"""The store's guarantees hold on PostgreSQL too: compare-and-set under threads, aware UTC times,
JSON settings, moves together, the audit log, the lease, the scheduler's job store."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.clock import SystemClock
from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.ports import Move
from bot.lease import Lease
from bot.scheduler import JobScheduler
from bot.store import SqlStore, make_engine
from tests.pg.conftest import in_schema

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(pg_url: str) -> Iterator[SqlStore]:
    schema = "t" + uuid.uuid4().hex[:12]
    admin = make_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    store = SqlStore(make_engine(in_schema(pg_url, schema)))
    store.create_schema()
    yield store
    store.engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def request(request_id: str, status: Status = Status.AWAITING_APPROVAL) -> Request:
    return Request(id=request_id, person_id="p1", person_email="a@example.com", person_name="A",
                   zone="Europe/Berlin", room_id="room", status=status, created_at=NOW, updated_at=NOW,
                   end_at=NOW + timedelta(days=2),
                   requested=InterceptSettings(enabled=True, outgoing_destination="1234"))


def test_requests_round_trip_with_aware_times_and_settings(store: SqlStore) -> None:
    store.add_request(request("r1"))
    got = store.get("r1")
    assert got is not None and got.end_at == NOW + timedelta(days=2) and got.end_at.tzinfo is not None
    assert got.requested == request("r1").requested


def test_racing_moves_let_exactly_one_win(store: SqlStore) -> None:
    for number in range(15):
        store.add_request(request(f"r{number}"))
    wins: list[str] = []
    barrier = threading.Barrier(3)

    def decide(target: Status) -> None:
        barrier.wait()
        for number in range(15):
            if store.move(f"r{number}", Status.AWAITING_APPROVAL, target, now=NOW):
                wins.append(f"r{number}")

    threads = [threading.Thread(target=decide, args=(t,)) for t in (Status.APPROVED, Status.REJECTED, Status.CANCELLED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == sorted(f"r{n}" for n in range(15))
    assert all(len(store.history(f"r{n}")) == 2 for n in range(15))


def test_moves_together_are_all_or_nothing(store: SqlStore) -> None:
    store.add_request(request("old", Status.ACTIVE))
    store.add_request(request("new", Status.APPLYING))
    lost = store.move_together([Move("old", Status.ACTIVE, Status.REPLACED),
                                Move("new", Status.APPROVED, Status.APPLYING)], now=NOW)
    assert lost is None
    assert store.get("old").status is Status.ACTIVE  # type: ignore[union-attr]
    moved = store.move_together([
        Move("old", Status.ACTIVE, Status.REPLACED),
        Move("new", Status.APPLYING, Status.APPLYING, changes={"replaces_id": "old"}),
    ], now=NOW)
    assert moved is not None and moved[1].replaces_id == "old"


def test_audit_inbox_and_lease(store: SqlStore) -> None:
    store.add_request(request("r1"))
    store.audit(request("r1"), "applied", now=NOW, tracking_id="T1", detail={"after": InterceptSettings()})
    assert [r["event"] for r in store.audit_rows(person="a@example.com")] == ["status", "applied"]
    assert store.inbox_add("messages:1", b"{}", NOW) and not store.inbox_add("messages:1", b"{}", NOW)
    assert store.inbox_claim(NOW) == ("messages:1", "{}")
    first, second = Lease(store, ttl=timedelta(seconds=90)), Lease(store, ttl=timedelta(seconds=90))
    second.me = second.me.__class__("other", "elsewhere", 1, second.me.expires)
    assert first.take(NOW) is None and second.take(NOW) is not None


def test_the_scheduler_keeps_its_jobs_in_postgres(store: SqlStore) -> None:
    scheduler = JobScheduler(store.engine, clock=SystemClock(), sweep_seconds=3600)
    scheduler.scheduler.start(paused=True)
    try:
        at = datetime(2030, 1, 1, tzinfo=UTC)
        scheduler.schedule_revert("r1", at)
        assert scheduler.next_run("revert:r1") == at
    finally:
        scheduler.shutdown()
