"""The stores: one contract (compare-and-set moves with their audit rows, aware UTC times, history,
what is due by an index, cards, people, greetings, settings) held by the SQL stores on SQLite and by
the in-memory ones the flow tests use; then what only the database does (the inbox, the append-only
audit log, the lease, the schema of earlier versions). The SQL stores' tests run on PostgreSQL too:
in the PostgreSQL pass (INTERCEPT_TEST_DATABASE=postgresql, tests/conftest.py), and the contract in
every pass in tests/pg/test_store_on_postgres.py."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, inspect

from bot.adapters.leader import Elected
from bot.adapters.store import SqlStores, migrate
from bot.adapters.store.memory import memory_stores
from bot.adapters.store.rows import to_row
from bot.adapters.store.schema import inbox_table, requests_table
from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.stores import CardRecord, Happened, Move, Stores, Window
from bot.domain.values import AuditEvent, CardKind, Reason, Recipient
from bot.edge.intake import Event

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def request(request_id: str = "r1", status: Status = Status.AWAITING_APPROVAL, **changes: object) -> Request:
    values: dict[str, object] = dict(
        id=request_id, person_id="p1", person_email="a@example.com", person_name="A", zone="Asia/Kolkata",
        room_id="room", status=status, created_at=NOW, updated_at=NOW,
        end_at=datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("Asia/Kolkata")),
        requested=InterceptSettings(enabled=True, outgoing_destination="+14155550100"),
        draft={"until.date": "2026-12-01"})
    values.update(changes)
    return Request(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", pytest.param("sql", marks=pytest.mark.database)])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        yield memory_stores()
        return
    sql: SqlStores = request.getfixturevalue("store")  # tests/unit/conftest.py: on the test's database
    with as_live_process(sql, request.getfixturevalue("database_url")):
        yield sql.domain()


@contextmanager
def as_live_process(sql: SqlStores, url: str) -> Iterator[None]:
    """On PostgreSQL the stores' claims name a live process (one holding its advisory lock), as
    the app's do; on SQLite there is one process and nothing to hold."""
    if not sql.db.postgres:
        yield
        return
    live = Elected(url)
    live.join()
    sql.inbox.owner = sql.audit.owner = live.owner
    try:
        yield
    finally:
        live.leave()


# ---------------------------------------------------------------------------------------------- the contract


def test_a_request_round_trips_with_aware_utc_times(stores: Stores) -> None:
    stores.requests.add(request())
    got = stores.requests.get("r1")
    assert got is not None
    assert got.end_at == datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    assert got.end_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert got.requested == request().requested
    assert got.draft == {"until.date": "2026-12-01"}


def test_a_naive_datetime_is_refused(stores: Stores) -> None:
    with pytest.raises(Exception, match="naive"):
        stores.requests.add(request(created_at=datetime(2026, 1, 1)))


def test_move_is_compare_and_set_and_records_history_with_its_reason(stores: Stores) -> None:
    stores.requests.add(request())
    moved = stores.requests.move("r1", Status.AWAITING_APPROVAL, Status.APPROVED, now=NOW, actor_id="bob",
                                 reason=Reason.DECIDED, note="fine by me", changes={"decided_by_name": "Bob"})
    assert moved is not None and moved.status is Status.APPROVED and moved.decided_by_name == "Bob"
    assert stores.requests.move("r1", Status.AWAITING_APPROVAL, Status.REJECTED, now=NOW,
                                reason=Reason.DECIDED) is None
    assert stores.requests.get("r1").status is Status.APPROVED  # type: ignore[union-attr]
    assert [(h.source, h.target, h.actor_id, h.reason, h.note) for h in stores.requests.history("r1")] == [
        (None, Status.AWAITING_APPROVAL, "p1", Reason.REQUESTED, "requested"),
        (Status.AWAITING_APPROVAL, Status.APPROVED, "bob", Reason.DECIDED, "fine by me")]


def test_a_move_the_state_machine_does_not_have_is_refused(stores: Stores) -> None:
    stores.requests.add(request())
    with pytest.raises(ValueError, match="no move"):
        stores.requests.move("r1", Status.AWAITING_APPROVAL, Status.ACTIVE, now=NOW, reason=Reason.ON)


def test_racing_moves_let_exactly_one_win(stores: Stores) -> None:
    for number in range(20):
        stores.requests.add(request(f"r{number}"))
    wins: list[tuple[str, Status]] = []
    barrier = threading.Barrier(4)

    def decide(target: Status) -> None:
        barrier.wait()
        for number in range(20):
            if stores.requests.move(f"r{number}", Status.AWAITING_APPROVAL, target, now=NOW, reason=Reason.DECIDED):
                wins.append((f"r{number}", target))

    threads = [threading.Thread(target=decide, args=(t,)) for t in
               (Status.APPROVED, Status.REJECTED, Status.APPROVED, Status.CANCELLED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(w[0] for w in wins) == sorted(f"r{n}" for n in range(20))
    for request_id, target in wins:
        assert stores.requests.get(request_id).status is target  # type: ignore[union-attr]
        assert len(stores.requests.history(request_id)) == 2


def test_moves_together_are_all_or_nothing_and_what_happened_goes_with_a_move(stores: Stores) -> None:
    stores.requests.add(request("old", Status.ACTIVE))
    stores.requests.add(request("new", Status.APPLYING))
    lost = stores.requests.move_together([Move("old", Status.ACTIVE, Status.REPLACED, Reason.TAKEN_OVER),
                                          Move("new", Status.APPROVED, Status.APPLYING, Reason.APPLYING)], now=NOW)
    assert lost is None
    assert stores.requests.get("old").status is Status.ACTIVE  # type: ignore[union-attr]
    moved = stores.requests.move_together([
        Move("old", Status.ACTIVE, Status.REPLACED, Reason.TAKEN_OVER),
        Move("new", Status.APPLYING, Status.APPLYING, Reason.TAKES_OVER, "takes over old",
             changes={"replaces_id": "old"}),
    ], now=NOW)
    assert moved is not None and moved[1].replaces_id == "old"
    assert stores.requests.move("new", Status.APPLYING, Status.ACTIVE, now=NOW, reason=Reason.ON,
                                happened=Happened(AuditEvent.APPLIED, tracking_id="T1",
                                                  detail={"after": InterceptSettings(enabled=True)}))
    rows = [row for row, request in stores.audit.after(0, 100) if row.request_id == "new"]
    assert [(r.event, r.target, r.reason) for r in rows] == [
        (AuditEvent.STATUS, Status.APPLYING, Reason.REQUESTED), (AuditEvent.STATUS, Status.APPLYING, Reason.TAKES_OVER),
        (AuditEvent.APPLIED, None, None), (AuditEvent.STATUS, Status.ACTIVE, Reason.ON)]
    assert rows[1].note == "takes over old" and rows[2].detail["after"]["enabled"] is True


def test_change_only_applies_in_the_expected_state(stores: Stores) -> None:
    stores.requests.add(request(status=Status.APPLYING))
    snapshot = InterceptSettings(enabled=True, file_name="old.wav")
    changed = stores.requests.change("r1", Status.APPLYING, now=NOW, changes={"snapshot": snapshot})
    assert changed is not None and changed.snapshot == snapshot
    assert stores.requests.change("r1", Status.ACTIVE, now=NOW, changes={"error": "x"}) is None


def test_every_write_is_told_to_the_watchers_after_it_is_stored(stores: Stores) -> None:
    seen: list[tuple[str, Status]] = []
    stores.requests.watch(lambda r: seen.append((r.id, r.status)))
    stores.requests.add(request())
    stores.requests.move("r1", Status.AWAITING_APPROVAL, Status.APPROVED, now=NOW, reason=Reason.DECIDED)
    stores.requests.move("r1", Status.AWAITING_APPROVAL, Status.REJECTED, now=NOW, reason=Reason.DECIDED)  # lost
    stores.requests.change("r1", Status.APPROVED, now=NOW, changes={"reason": "x"})
    assert seen == [("r1", Status.AWAITING_APPROVAL), ("r1", Status.APPROVED), ("r1", Status.APPROVED)]


def test_what_is_due_is_found_by_status_and_time(stores: Stores) -> None:
    stores.requests.add(request("ends-soon", Status.ACTIVE, end_at=NOW + timedelta(minutes=5)))
    stores.requests.add(request("ends-later", Status.ACTIVE, end_at=NOW + timedelta(days=5)))
    stores.requests.add(request("approved-now", Status.APPROVED, start_at=None))
    stores.requests.add(request("approved-later", Status.APPROVED, start_at=NOW + timedelta(days=1)))
    stores.requests.add(request("done", Status.REVERTED, end_at=NOW - timedelta(days=1)))
    soon = NOW + timedelta(minutes=10)
    found = stores.requests.timed([Window(frozenset({Status.ACTIVE}), "end_at", soon),
                                   Window(frozenset({Status.APPROVED}), "start_at", soon, unset=True),
                                   Window(frozenset({Status.ACTIVE, Status.APPROVED}), "end_at", soon)])
    assert sorted(r.id for r in found) == ["approved-now", "ends-soon"]


def test_cards_are_withdrawn_once_and_a_refused_one_has_no_message(stores: Stores) -> None:
    bob = Recipient.approver("Bob@example.com")
    stores.cards.add(CardRecord("m1", "r1", CardKind.APPROVAL, "room", bob, True))
    stores.cards.add(CardRecord(None, "r1", CardKind.APPROVAL, "", Recipient.room("space"), False))
    stores.cards.add(CardRecord("m2", "r1", CardKind.FORM, "dm", Recipient.requester("p1"), True))
    assert stores.cards.get("m1") == CardRecord("m1", "r1", CardKind.APPROVAL, "room",
                                                Recipient.approver("bob@example.com"), True)
    assert stores.cards.withdrawn("m1") is True
    assert stores.cards.withdrawn("m1") is False
    approvals = stores.cards.for_request("r1", CardKind.APPROVAL)
    assert [(c.message_id, c.recipient, c.live) for c in approvals] == [
        ("m1", bob, False), (None, Recipient.room("space"), False)]
    assert [c.message_id for c in stores.cards.live([CardKind.FORM, CardKind.APPROVAL])] == ["m2"]


def test_people_greetings_and_settings(stores: Stores) -> None:
    stores.people.remember("Ann@Example.com", "ann-id")
    stores.people.remember("ann@example.com", "ann-new-id")
    assert stores.people.known("ANN@example.com") == "ann-new-id" and stores.people.known("x@example.com") is None
    stores.greetings.save("r1", "a.wav", b"RIFF1")
    stores.greetings.save("r1", "b.wav", b"RIFF2")
    stores.greetings.save("r2", "c.wav", b"RIFF3")
    stores.greetings.drop("r2")
    assert stores.greetings.get("r1") == ("b.wav", b"RIFF2") and stores.greetings.held() == ["r1"]
    stores.settings.set("k", "1")
    stores.settings.set("k", "2")
    assert stores.settings.get("k") == "2" and stores.settings.get("none") is None


def test_greetings_uploaded_are_read_from_the_audit_log(stores: Stores) -> None:
    stores.requests.add(request("r1"))
    stores.requests.add(request("r2"))
    stores.audit.record(request("r1"), Happened(AuditEvent.GREETING_UPLOADED, detail={"file": "a.wav"}), now=NOW)
    assert stores.audit.greetings_uploaded("p1") == {"a.wav"}
    assert stores.audit.greeting_uploaded("r1") and not stores.audit.greeting_uploaded("r2")


def test_untold_rows_are_held_by_one_flush_per_request_and_told_in_order(stores: Stores) -> None:
    hold = timedelta(minutes=5)
    stores.requests.add(request("r1"))
    stores.requests.add(request("r2", person_id="p2"))
    stores.requests.move("r1", Status.AWAITING_APPROVAL, Status.APPROVED, now=NOW, reason=Reason.DECIDED)
    first = stores.audit.untold(NOW, hold=hold, limit=1)  # one request: all of its untold rows
    assert [(row.entry.request_id, row.entry.target) for row in first] == [
        ("r1", Status.AWAITING_APPROVAL), ("r1", Status.APPROVED)]
    stores.requests.move("r1", Status.APPROVED, Status.APPLYING, now=NOW, reason=Reason.APPLYING)
    other = stores.audit.untold(NOW, hold=hold, limit=10)  # another flush: r1 waits behind the held rows
    assert [row.entry.request_id for row in other] == ["r2"]
    assert stores.audit.untold(NOW, hold=hold, limit=10) == []
    stores.audit.told([first[0].entry.id])
    stores.audit.tell_later({first[1].entry.id: (1, 2)})  # half told: its claim ends, its progress kept
    again = stores.audit.untold(NOW, hold=hold, limit=10)
    assert [(row.entry.target, row.sent, row.tries) for row in again] == [
        (Status.APPROVED, 1, 2), (Status.APPLYING, 0, 0)]
    assert again[0].request is not None and again[0].request.status is Status.APPLYING  # as it is now
    stores.audit.told([row.entry.id for row in again])
    r2 = stores.audit.untold(NOW + hold * 2, hold=hold, limit=10)
    assert [row.entry.request_id for row in r2] == ["r2"]  # its holder never said: when the hold runs out...
    stores.audit.progress(r2[0].entry.id, 1)  # ... another takes it, sends one message of several, dies
    assert [row.sent for row in stores.audit.untold(NOW + hold * 4, hold=hold, limit=10)] == [1]


# ---------------------------------------------------------------------------------------------- the database only


def test_a_claim_on_news_by_a_process_that_is_gone_is_free_at_once(store: SqlStores) -> None:
    """A process that dies in the middle of a flush does not hold its requests' news back for the
    whole claim: on SQLite (one process) every other process is gone; on PostgreSQL one that holds
    no advisory lock is (a live one's claim holds: tests/pg/test_instances.py)."""
    store.requests.add(request("r1"))
    store.audit.owner = "111"
    claimed = store.audit.untold(NOW, hold=timedelta(minutes=15), limit=10)
    assert [row.entry.target for row in claimed] == [Status.AWAITING_APPROVAL]
    store.audit.progress(claimed[0].entry.id, 1)  # one message sent, then the process is killed
    store.audit.owner = "222"  # the next process
    again = store.audit.untold(NOW + timedelta(seconds=5), hold=timedelta(minutes=15), limit=10)
    assert [(row.entry.id, row.sent) for row in again] == [(claimed[0].entry.id, 1)]



def test_inbox_claims_each_event_once_and_requeues_unfinished(store: SqlStores) -> None:
    event = Event("messages", "1")
    assert store.inbox.add(event, b"{}", NOW) is True
    assert store.inbox.add(event, b"{}", NOW) is False
    assert store.inbox.claim(NOW) == event
    assert store.inbox.claim(NOW) is None
    # put back: on SQLite at once (at start-up, one process); on PostgreSQL when seen without a live
    # owner at two looks in a row (tests/pg/test_instances.py)
    assert store.inbox.requeue_unfinished() + store.inbox.requeue_unfinished() == 1
    assert store.inbox.claim(NOW) == event
    store.inbox.finish(event, error="busy", retry_at=NOW + timedelta(seconds=30))
    assert store.inbox.claim(NOW) is None
    assert store.inbox.claim(NOW + timedelta(seconds=31)) == event
    store.inbox.finish(event)
    assert store.inbox.counts() == {"done": 1}


def test_inbox_adds_at_the_same_moment_are_each_stored_once_and_told_apart(store: SqlStores) -> None:
    """Deliveries acknowledged together share a commit: each event is new exactly once, whatever
    thread or batch its copies came in, and every one is stored before its add returns."""
    events = [Event("messages", str(number % 40)) for number in range(160)]  # each event four times
    results: list[tuple[Event, bool]] = []
    start = threading.Barrier(16)

    def deliver(share: list[Event]) -> None:
        start.wait()
        for event in share:
            new = store.inbox.add(event, b"{}", NOW)
            results.append((event, new))
            assert store.inbox.attempts(event) == 0 and event.id in {e.id for e in events}

    threads = [threading.Thread(target=deliver, args=(events[n::16],)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 160
    assert sorted(int(event.id) for event, new in results if new) == list(range(40))
    assert store.inbox.counts() == {"pending": 40}


def test_an_inbox_add_that_cannot_be_stored_fails_for_every_delivery_in_its_batch(store: SqlStores) -> None:
    store.engine.dispose()
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE webhook_inbox")
    errors: list[BaseException] = []

    def deliver(number: int) -> None:
        try:
            store.inbox.add(Event("messages", str(number)), b"{}", NOW)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 8  # none acknowledged: Webex delivers each again
    inbox_table.create(store.engine)  # the database is back: adds go on (no batch is left waiting)
    assert store.inbox.add(Event("messages", "1"), b"{}", NOW) is True


def test_the_audit_log_is_append_only(store: SqlStores) -> None:
    store.requests.add(request())
    store.audit.record(request(), Happened(AuditEvent.APPLIED, detail={"after": InterceptSettings(enabled=True)},
                                           tracking_id="T1"), now=NOW)
    rows = store.audit.rows(person="a@example.com")
    assert [(r["event"], r["target"], r["tracking_id"]) for r in rows] == [
        ("status", "awaiting_approval", None), ("applied", None, "T1")]
    assert rows[1]["detail"]["after"]["enabled"] is True
    with store.engine.begin() as connection, pytest.raises(Exception, match="append-only"):
        connection.exec_driver_sql("UPDATE audit_log SET note = 'rewritten'")
    with store.engine.begin() as connection, pytest.raises(Exception, match="append-only"):
        connection.exec_driver_sql("DELETE FROM audit_log")
    assert len(store.audit.rows()) == 2


def test_one_scheduler_lease_per_database(store: SqlStores) -> None:
    from bot.adapters.lease import Lease

    first, second = Lease(store.settings, ttl=timedelta(seconds=90)), Lease(store.settings, ttl=timedelta(seconds=90))
    second.me = second.me.__class__("other-owner", "another-host", 4242, second.me.expires)
    assert first.take(NOW) is None
    assert first.take(NOW + timedelta(seconds=30)) is None  # renewing
    holder = second.take(NOW + timedelta(seconds=60))
    assert holder is not None and holder.pid == first.me.pid
    assert second.take(NOW + timedelta(seconds=121)) is None  # the first stopped renewing: expired
    assert first.take(NOW + timedelta(seconds=122)) is not None  # and now it is the other's
    second.release()
    assert first.take(NOW + timedelta(seconds=123)) is None


def test_a_lease_of_a_dead_process_on_this_host_is_taken_at_once(store: SqlStores) -> None:
    import subprocess
    import sys

    from bot.adapters.lease import Lease

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    ghost = Lease(store.settings, ttl=timedelta(hours=1))
    ghost.me = ghost.me.__class__("ghost", ghost.me.host, int(dead.stdout), ghost.me.expires)
    assert ghost.take(NOW) is None
    assert Lease(store.settings, ttl=timedelta(hours=1)).take(NOW + timedelta(seconds=1)) is None


def test_old_inbox_payloads_are_emptied_and_their_keys_kept(store: SqlStores) -> None:
    store.inbox.add(Event("messages", "old"), b'{"id": "old"}', NOW - timedelta(days=8))
    store.inbox.add(Event("messages", "new"), b'{"id": "new"}', NOW)
    for _ in range(2):
        claimed = store.inbox.claim(NOW)
        assert claimed is not None
        store.inbox.finish(claimed)
    assert store.inbox.prune(NOW - timedelta(days=7)) == 1
    assert store.inbox.add(Event("messages", "old"), b'{"id": "old"}', NOW) is False  # a late redelivery is known
    with store.engine.connect() as connection:
        payloads = dict(connection.exec_driver_sql("SELECT key, payload FROM webhook_inbox").all())
    assert payloads == {"messages:old": "", "messages:new": '{"id": "new"}'}


def test_a_database_of_an_earlier_version_keeps_working(database_url: str) -> None:
    """Rows written before this layout (notes without reasons, `pending` cards tagged by email, a
    table of pickled scheduler jobs) are read as they meant, and the indexes on the times are added
    (the database is recognised as the migrations' baseline: tests/unit/test_migrations.py)."""
    store = SqlStores.at(database_url)
    migrate.upgrade(store.engine, migrate.BASELINE)  # the tables of the last version before migrations
    with store.engine.begin() as connection:
        connection.execute(insert(requests_table).values(**{  # as the last version before migrations wrote it
            k: v for k, v in to_row(request(status=Status.FORM_SENT)).items() if k != "lasts"}))
        for index in ("start_at", "end_at", "retry_at", "updated_at"):
            connection.exec_driver_sql(f"DROP INDEX ix_intercept_requests_status_{index}")
        connection.exec_driver_sql("CREATE TABLE scheduler_jobs (id VARCHAR(191) PRIMARY KEY)")
        connection.exec_driver_sql("DROP TABLE alembic_version")  # earlier versions had no migrations
    with store.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO audit_log (at, request_id, person_id, event, source, target, note) VALUES "
            "('2026-11-27T09:00:00.000000+00:00', 'r1', 'p1', 'status', 'form_sent', 'cancelled', "
            "'cancelled from the form')")
        connection.exec_driver_sql(
            "INSERT INTO card_messages VALUES ('m9', 'r1', 'approval', 'dm', 'bob@example.com#pending-1a2b', TRUE)")
    next_start = SqlStores.at(database_url)
    next_start.create_schema()
    next_start.engine.dispose()
    assert store.requests.history("r1")[-1].reason is Reason.FORM_CANCELLED
    assert store.cards.get("m9").recipient == Recipient.approver("bob@example.com")  # type: ignore[union-attr]
    schema = inspect(store.engine)
    assert "scheduler_jobs" not in schema.get_table_names()
    assert "ix_intercept_requests_status_end_at" in {i["name"] for i in schema.get_indexes("intercept_requests")}
    store.engine.dispose()


@pytest.mark.sqlite_only(reason="SQLite's write-ahead log and its checkpoints")
def test_the_write_ahead_log_is_copied_into_the_database_file_by_the_checkpoint_thread(tmp_path: Path) -> None:
    stores = SqlStores.at(f"sqlite:///{tmp_path / 'bot.db'}")
    stores.create_schema()
    stop = stores.db.checkpoint_in_background(every=0.05)
    try:
        with stores.db.read() as connection:  # commits no longer checkpoint by themselves
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        for number in range(50):
            stores.inbox.add(Event("messages", f"m{number}"), b"{}", NOW)

        def in_the_file() -> int:  # the database file alone, as a power loss would leave it
            file = sqlite3.connect(f"file:{tmp_path / 'bot.db'}?immutable=1", uri=True)
            try:
                return int(file.execute("SELECT count(*) FROM webhook_inbox").fetchone()[0])
            except sqlite3.DatabaseError:  # read while a checkpoint was writing the file
                return -1
            finally:
                file.close()
        deadline = time.monotonic() + 30
        while in_the_file() < 50 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop()
    assert in_the_file() == 50  # read again with the checkpoint thread stopped: nothing writes the file now
    stores.engine.dispose()
