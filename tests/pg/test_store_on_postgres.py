"""The stores' contract holds on PostgreSQL too (the same tests as on SQLite and in memory, from
tests/unit/test_store.py): compare-and-set under threads, aware UTC times, JSON settings, moves
together, what is due by status and time; and the audit log, the inbox and the lease there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.adapters.lease import Lease
from bot.adapters.store import SqlStores
from bot.domain.model import InterceptSettings, Status
from bot.domain.stores import Happened, Stores
from bot.domain.values import AuditEvent
from bot.edge.intake import Event
from tests.unit.test_store import (  # noqa: F401 - collected here, on PostgreSQL
    as_live_process,
    request,
    test_a_request_round_trips_with_aware_utc_times,
    test_cards_are_withdrawn_once_and_a_refused_one_has_no_message,
    test_change_only_applies_in_the_expected_state,
    test_every_write_is_told_to_the_watchers_after_it_is_stored,
    test_greetings_uploaded_are_read_from_the_audit_log,
    test_move_is_compare_and_set_and_records_history_with_its_reason,
    test_moves_together_are_all_or_nothing_and_what_happened_goes_with_a_move,
    test_people_greetings_and_settings,
    test_racing_moves_let_exactly_one_win,
    test_untold_rows_are_held_by_one_flush_per_request_and_told_in_order,
    test_what_is_due_is_found_by_status_and_time,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(pg_database: str) -> Iterator[SqlStores]:
    store = SqlStores.at(pg_database)
    store.create_schema()
    yield store
    store.engine.dispose()


@pytest.fixture
def stores(store: SqlStores, pg_database: str) -> Iterator[Stores]:
    with as_live_process(store, pg_database):
        yield store.domain()


def test_audit_inbox_and_lease(store: SqlStores) -> None:
    store.requests.add(request("r1"))
    store.audit.record(request("r1"), Happened(AuditEvent.APPLIED, tracking_id="T1",
                                               detail={"after": InterceptSettings()}), now=NOW)
    assert [r["event"] for r in store.audit.rows(person="a@example.com")] == ["status", "applied"]
    event = Event("messages", "1")
    assert store.inbox.add(event, b"{}", NOW) and not store.inbox.add(event, b"{}", NOW)
    assert store.inbox.claim(NOW) == event
    first, second = Lease(store.settings, ttl=timedelta(seconds=90)), Lease(store.settings, ttl=timedelta(seconds=90))
    second.me = second.me.__class__("other", "elsewhere", 1, second.me.expires)
    assert first.take(NOW) is None and second.take(NOW) is not None


def test_the_due_indexes_exist_and_nothing_is_pickled(store: SqlStores) -> None:
    with store.engine.connect() as connection:
        indexes = {row[0] for row in connection.execute(text("SELECT indexname FROM pg_indexes"))}
        tables = {row[0] for row in connection.execute(text("SELECT tablename FROM pg_tables"))}
    assert {f"ix_intercept_requests_status_{name}" for name in ("start_at", "end_at", "retry_at", "updated_at")} \
        <= indexes
    assert "scheduler_jobs" not in tables
    assert store.requests.with_status([Status.ACTIVE]) == []
