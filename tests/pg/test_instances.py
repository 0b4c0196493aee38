"""Several processes on one PostgreSQL database, part by part (each "process" here is its own engine
and connections): the leader's election and its takeover, one person's lock held across processes,
the inbox shared with the events of a dead process put back, and the news told once and in order
by flushes running side by side. The whole of it, with three real server processes:
tests/pg/test_failover.py."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.adapters.leader import Elected
from bot.adapters.locks import AdvisoryLocks
from bot.adapters.store import SqlStores, make_engine
from bot.domain.model import Status
from bot.domain.values import Reason
from bot.edge.intake import Event
from tests.pg.conftest import in_schema
from tests.unit.test_store import request

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def url(pg_url: str) -> Iterator[str]:
    schema = "t" + uuid.uuid4().hex[:12]
    admin = make_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = in_schema(pg_url, schema)
    SqlStores.at(url).create_schema()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - start


def test_one_leader_at_a_time_and_another_takes_over_when_its_connection_dies(url: str) -> None:
    events: list[str] = []
    instances = [Elected(url, period=0.05) for _ in range(3)]
    for index, instance in enumerate(instances):
        instance.join()
        instance.watch(on_lead=lambda i=index: events.append(f"lead {i}"),
                       on_lose=lambda i=index: events.append(f"lose {i}"))
    try:
        wait_for(lambda: sum(i.leading for i in instances) == 1, "a leader")
        time.sleep(0.3)  # several rounds of the followers trying: still one
        assert sum(i.leading for i in instances) == 1 and len(events) == 1
        leader = next(i for i in instances if i.leading)
        admin = make_engine(url)
        with admin.begin() as connection:  # the database drops the leader (as when its host vanished)
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks "
                                    "WHERE locktype = 'advisory' AND classid = 7412 AND granted"))
        admin.dispose()
        took = wait_for(lambda: any(i.leading for i in instances if i is not leader), "a new leader")
        assert took < 5
        wait_for(lambda: not leader.leading, "the old leader to step down")
        assert f"lose {instances.index(leader)}" in events
        assert sum(i.leading for i in instances) == 1
    finally:
        for instance in instances:
            instance.leave()


def test_a_persons_lock_is_held_across_processes(url: str) -> None:
    first, second = AdvisoryLocks(make_engine(url)), AdvisoryLocks(make_engine(url))
    order: list[str] = []
    inside = threading.Event()

    def other() -> None:
        with second("alice"):
            order.append("second")

    with first("alice"):
        with first("alice"):  # re-entrant on one thread
            thread = threading.Thread(target=other)
            thread.start()
            with second("bob"):  # another person is not held up
                inside.set()
            time.sleep(0.2)  # the other process is waiting, not in
            order.append("first")
    thread.join(timeout=10)
    assert inside.is_set() and order == ["first", "second"]


def test_the_inbox_is_shared_and_only_a_dead_owners_events_go_back(url: str) -> None:
    alive, dead, blinked = Elected(url), SqlStores.at(url), SqlStores.at(url)
    alive.join()
    here = SqlStores.at(url)
    here.inbox.owner, dead.inbox.owner, blinked.inbox.owner = alive.owner, "12345", "23456"  # no lock held
    back = make_engine(url)
    try:
        for number in range(6):
            here.inbox.add(Event("messages", str(number)), b"{}", NOW)
        claimed: list[Event | None] = []
        threads = [threading.Thread(target=lambda s=s: claimed.append(s.inbox.claim(NOW)))
                   for s in (here, dead, blinked, here, dead, blinked)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(e.id for e in claimed if e is not None) == ["0", "1", "2", "3", "4", "5"]  # each once
        assert here.inbox.requeue_unfinished() == 0  # seen without a live owner once: not yet
        with back.connect() as connection:  # 23456's connection comes back, with its lock
            connection.execute(text("SELECT pg_advisory_lock(7411, 23456)"))
            assert here.inbox.requeue_unfinished() == 2  # only the dead owner's two
        assert here.inbox.counts() == {"pending": 2, "processing": 4}
        taken = here.inbox.claim(NOW)  # a live process takes one of them again
        assert taken is not None
        dead.inbox.finish(taken)  # the first owner was not dead after all, only slow: its word comes too late
        assert here.inbox.counts() == {"pending": 1, "processing": 5}
        here.inbox.finish(taken)
        assert here.inbox.counts() == {"pending": 1, "processing": 4, "done": 1}
    finally:
        alive.leave()
        back.dispose()


def test_flushes_of_several_processes_tell_each_row_once_and_each_requests_rows_in_order(url: str) -> None:
    writer = SqlStores.at(url)
    for number in range(20):
        writer.requests.add(request(f"r{number}", person_id=f"p{number}"))
        writer.requests.move(f"r{number}", Status.AWAITING_APPROVAL, Status.APPROVED, now=NOW, reason=Reason.DECIDED)
        writer.requests.move(f"r{number}", Status.APPROVED, Status.APPLYING, now=NOW, reason=Reason.APPLYING)
    told: list[tuple[str, int]] = []
    lock = threading.Lock()

    def flush(stores: SqlStores) -> None:
        while rows := stores.audit.untold(NOW, hold=timedelta(minutes=5), limit=3):
            with lock:
                told.extend((row.entry.request_id, row.entry.id) for row in rows)
            stores.audit.told([row.entry.id for row in rows])

    processes = [Elected(url) for _ in range(4)]  # each claim names a live process
    flushes = [SqlStores.at(url) for _ in processes]
    for process, stores in zip(processes, flushes, strict=True):
        process.join()
        stores.audit.owner = process.owner
    threads = [threading.Thread(target=flush, args=(stores,)) for stores in flushes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for process in processes:
            process.leave()
    assert len(told) == 60 and len(set(told)) == 60
    for number in range(20):
        ids = [row_id for request_id, row_id in told if request_id == f"r{number}"]
        assert ids == sorted(ids)


def test_news_a_live_process_holds_wait_and_a_dead_ones_are_told_at_once(url: str) -> None:
    alive, doomed = Elected(url), Elected(url)
    alive.join()
    doomed.join()
    first, second, third = SqlStores.at(url), SqlStores.at(url), SqlStores.at(url)
    first.audit.owner, second.audit.owner, third.audit.owner = alive.owner, doomed.owner, alive.owner
    try:
        first.requests.add(request("r1"))
        first.requests.add(request("r2", person_id="p2"))
        hold = timedelta(minutes=15)
        assert [row.entry.request_id for row in first.audit.untold(NOW, hold=hold, limit=1)] == ["r1"]
        assert [row.entry.request_id for row in second.audit.untold(NOW, hold=hold, limit=1)] == ["r2"]
        assert third.audit.untold(NOW, hold=hold, limit=10) == []  # both held by live processes
        doomed.leave()  # its connection closes, as a killed process's does: the database lets go of its lock
        assert [row.entry.request_id for row in third.audit.untold(NOW, hold=hold, limit=10)] == ["r2"]
    finally:
        alive.leave()
        doomed.leave()
