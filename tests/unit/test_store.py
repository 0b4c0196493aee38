"""The store: compare-and-set moves, aware UTC times, history, cards and the inbox."""

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.ports import CardRecord
from bot.store import SqlStore, make_engine

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def request(request_id: str = "r1", status: Status = Status.AWAITING_APPROVAL) -> Request:
    return Request(id=request_id, person_id="p1", person_email="a@example.com", person_name="A", zone="Asia/Kolkata",
                   room_id="room", status=status, created_at=NOW, updated_at=NOW,
                   end_at=datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("Asia/Kolkata")),
                   requested=InterceptSettings(enabled=True, outgoing_destination="+14155550100"),
                   draft={"until.date": "2026-12-01"})


def test_a_request_round_trips_with_aware_utc_times(store: SqlStore) -> None:
    store.add_request(request())
    got = store.get("r1")
    assert got is not None
    assert got.end_at == datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    assert got.end_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert got.requested == request().requested
    assert got.draft == {"until.date": "2026-12-01"}


def test_a_naive_datetime_is_refused(store: SqlStore) -> None:
    with pytest.raises(Exception, match="naive"):
        store.add_request(Request(**{**request().__dict__, "created_at": datetime(2026, 1, 1)}))


def test_move_is_compare_and_set_and_records_history(store: SqlStore) -> None:
    store.add_request(request())
    moved = store.move("r1", Status.AWAITING_APPROVAL, Status.APPROVED, now=NOW, actor_id="bob",
                       changes={"decided_by_name": "Bob"})
    assert moved is not None and moved.status is Status.APPROVED and moved.decided_by_name == "Bob"
    assert store.move("r1", Status.AWAITING_APPROVAL, Status.REJECTED, now=NOW) is None
    assert store.get("r1").status is Status.APPROVED  # type: ignore[union-attr]
    assert [(h.source, h.target, h.actor_id) for h in store.history("r1")] == [
        (None, Status.AWAITING_APPROVAL, "p1"), (Status.AWAITING_APPROVAL, Status.APPROVED, "bob")]


def test_racing_moves_let_exactly_one_win(tmp_path) -> None:
    store = SqlStore(make_engine(f"sqlite:///{tmp_path}/race.db"))
    store.create_schema()
    for number in range(20):
        store.add_request(request(f"r{number}"))
    wins: list[tuple[str, Status]] = []
    barrier = threading.Barrier(4)

    def decide(target: Status) -> None:
        barrier.wait()
        for number in range(20):
            if store.move(f"r{number}", Status.AWAITING_APPROVAL, target, now=NOW):
                wins.append((f"r{number}", target))

    threads = [threading.Thread(target=decide, args=(t,)) for t in
               (Status.APPROVED, Status.REJECTED, Status.APPROVED, Status.CANCELLED)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(w[0] for w in wins) == sorted(f"r{n}" for n in range(20))
    for request_id, target in wins:
        assert store.get(request_id).status is target  # type: ignore[union-attr]
        assert len(store.history(request_id)) == 2


def test_change_only_applies_in_the_expected_state(store: SqlStore) -> None:
    store.add_request(request(status=Status.APPLYING))
    snapshot = InterceptSettings(enabled=True, file_name="old.wav")
    changed = store.change("r1", Status.APPLYING, now=NOW, changes={"snapshot": snapshot})
    assert changed is not None and changed.snapshot == snapshot
    assert store.change("r1", Status.ACTIVE, now=NOW, changes={"error": "x"}) is None


def test_cards_are_retired_once(store: SqlStore) -> None:
    store.add_card(CardRecord("m1", "r1", "approval", "room", "bob@example.com", True))
    assert store.card("m1") == CardRecord("m1", "r1", "approval", "room", "bob@example.com", True)
    assert store.retire_card("m1") is True
    assert store.retire_card("m1") is False
    assert store.cards_for("r1", "approval")[0].live is False


def test_inbox_claims_each_event_once_and_requeues_unfinished(store: SqlStore) -> None:
    assert store.inbox_add("messages:1", b"{}", NOW) is True
    assert store.inbox_add("messages:1", b"{}", NOW) is False
    assert store.inbox_claim(NOW) == ("messages:1", "{}")
    assert store.inbox_claim(NOW) is None
    assert store.inbox_requeue_unfinished() == 1
    assert store.inbox_claim(NOW) == ("messages:1", "{}")
    store.inbox_finish("messages:1", error="busy", retry_at=NOW + timedelta(seconds=30))
    assert store.inbox_claim(NOW) is None
    assert store.inbox_claim(NOW + timedelta(seconds=31)) == ("messages:1", "{}")
    store.inbox_finish("messages:1")
    assert store.inbox_counts() == {"done": 1}


def test_the_audit_log_is_append_only(store: SqlStore) -> None:
    store.add_request(request())
    store.audit(request(), "applied", now=NOW, detail={"after": InterceptSettings(enabled=True)}, tracking_id="T1")
    rows = store.audit_rows(person="a@example.com")
    assert [(r["event"], r["target"], r["tracking_id"]) for r in rows] == [
        ("status", "awaiting_approval", None), ("applied", None, "T1")]
    assert rows[1]["detail"]["after"]["enabled"] is True
    with store.engine.begin() as connection, pytest.raises(Exception, match="append-only"):
        connection.exec_driver_sql("UPDATE audit_log SET note = 'rewritten'")
    with store.engine.begin() as connection, pytest.raises(Exception, match="append-only"):
        connection.exec_driver_sql("DELETE FROM audit_log")
    assert len(store.audit_rows()) == 2


def test_one_scheduler_lease_per_database(store: SqlStore) -> None:
    from bot.lease import Lease

    first, second = Lease(store, ttl=timedelta(seconds=90)), Lease(store, ttl=timedelta(seconds=90))
    second.me = second.me.__class__("other-owner", "another-host", 4242, second.me.expires)
    assert first.take(NOW) is None
    assert first.take(NOW + timedelta(seconds=30)) is None  # renewing
    holder = second.take(NOW + timedelta(seconds=60))
    assert holder is not None and holder.pid == first.me.pid
    assert second.take(NOW + timedelta(seconds=121)) is None  # the first stopped renewing: expired
    assert first.take(NOW + timedelta(seconds=122)) is not None  # and now it is the other's
    second.release()
    assert first.take(NOW + timedelta(seconds=123)) is None


def test_a_lease_of_a_dead_process_on_this_host_is_taken_at_once(store: SqlStore) -> None:
    import subprocess
    import sys

    from bot.lease import Lease

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    ghost = Lease(store, ttl=timedelta(hours=1))
    ghost.me = ghost.me.__class__("ghost", ghost.me.host, int(dead.stdout), ghost.me.expires)
    assert ghost.take(NOW) is None
    assert Lease(store, ttl=timedelta(hours=1)).take(NOW + timedelta(seconds=1)) is None


def test_greetings_are_kept_only_while_their_request_may_still_be_applied(store: SqlStore) -> None:
    for request_id, status in (("open", Status.AWAITING_APPROVAL), ("applying", Status.APPLYING),
                               ("done", Status.ACTIVE), ("gone", Status.CANCELLED)):
        store.add_request(request(request_id, status))
        store.save_greeting(request_id, f"{request_id}.wav", b"RIFF")
    assert store.drop_greetings([Status.AWAITING_APPROVAL, Status.APPLYING]) == 2
    assert [store.greeting(r) is not None for r in ("open", "applying", "done", "gone")] == [True, True, False, False]


def test_old_inbox_payloads_are_emptied_and_their_keys_kept(store: SqlStore) -> None:
    store.inbox_add("messages:old", b'{"id": "old"}', NOW - timedelta(days=8))
    store.inbox_add("messages:new", b'{"id": "new"}', NOW)
    for _ in range(2):
        claimed = store.inbox_claim(NOW)
        assert claimed is not None
        store.inbox_finish(claimed[0])
    assert store.inbox_prune(NOW - timedelta(days=7)) == 1
    assert store.inbox_add("messages:old", b'{"id": "old"}', NOW) is False  # a late redelivery is still known
    with store.engine.connect() as connection:
        payloads = dict(connection.exec_driver_sql("SELECT key, payload FROM webhook_inbox").all())
    assert payloads == {"messages:old": "", "messages:new": '{"id": "new"}'}
