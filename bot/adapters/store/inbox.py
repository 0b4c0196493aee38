"""The event inbox, on SQLAlchemy (`bot.edge.intake.Inbox`): each event kept once, claimed by one
worker at a time, done, retried later, or failed for good.

Workers of every process share it: a claim takes the oldest due event with `FOR UPDATE SKIP
LOCKED` (PostgreSQL; SQLite has one writer at a time) and marks it with the claiming process
(`owner`). An event whose owner died is put back: on SQLite (one process) all of them at start-up;
on PostgreSQL those whose owner no longer holds its advisory lock (the database drops it with the
dead process's connection)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.adapters.store.schema import Database, inbox_table, instance_alive, utc_text
from bot.edge.intake import Event


def _key(event: Event) -> str:
    return f"{event.resource}:{event.id}"  # the resource names no colon: the first one splits the key


def _event(key: str) -> Event:
    resource, _, event_id = key.partition(":")
    return Event(resource, event_id)


@dataclass
class _Add:
    row: dict[str, Any]
    new: bool = False
    error: BaseException | None = None
    lead: bool = False  # this one's thread writes the next batch
    done: threading.Event = field(default_factory=threading.Event)


class _GroupCommit:
    """Adds that arrive while a batch is being written wait, and are written together in the next
    transaction by the first of them (no thread of its own): under load, one commit acknowledges
    many deliveries instead of each waiting for the write lock and a commit of its own."""

    def __init__(self, write: Callable[[list[_Add]], None]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._waiting: list[_Add] = []
        self._writing = False

    def add(self, item: _Add) -> bool:
        with self._lock:
            self._waiting.append(item)
            item.lead = not self._writing
            self._writing = True
        if not item.lead:
            item.done.wait()
        if item.lead:
            with self._lock:
                batch, self._waiting = self._waiting, []
            try:
                self._write(batch)
            except BaseException as error:
                for each in batch:
                    each.error = error
            finally:
                with self._lock:
                    if self._waiting:  # the first that came meanwhile writes the next batch
                        self._waiting[0].lead = True
                        self._waiting[0].done.set()
                    else:
                        self._writing = False
                for each in batch:
                    if each is not item:
                        each.done.set()
        if item.error is not None:
            raise item.error
        return item.new


ADD_COLUMNS = ("key", "received_at", "payload", "status", "attempts", "next_attempt_at", "error")


class SqlInbox:
    def __init__(self, db: Database, owner: str = "") -> None:
        self.db = db
        self.owner = owner  # this process (on PostgreSQL the key of its advisory lock)
        self._orphans: set[tuple[str, str]] = set()  # events seen without a live owner at the last look
        self._adds = _GroupCommit(self._insert)
        self._add_sql: tuple[str, tuple[str, ...] | None] | None = None

    def add(self, event: Event, payload: bytes | str, now: datetime) -> bool:
        """Store the event once (False: it was stored before), committed before this returns.
        Adds made at the same moment by other threads are committed together (group commit)."""
        text = payload.decode() if isinstance(payload, bytes) else payload
        at = utc_text(now)
        return self._adds.add(_Add({"key": _key(event), "received_at": at, "payload": text, "status": "pending",
                                    "attempts": 0, "next_attempt_at": at, "error": ""}))

    def _insert(self, batch: list[_Add]) -> None:
        """One transaction for the batch: each row inserted unless its key is stored already (or
        comes earlier in the batch); `new` says which were. The statement goes to the driver's
        cursor as compiled once: through SQLAlchemy's execution it was most of an acknowledgement's
        cost in the database (bench/ack.py)."""
        sql, order = self._adding()
        with self.db.write() as tx:
            cursor = tx.connection.cursor()
            try:
                for item in batch:
                    cursor.execute(sql, tuple(item.row[name] for name in order) if order else item.row)
                    item.new = cursor.rowcount == 1
            finally:
                cursor.close()

    def _adding(self) -> tuple[str, tuple[str, ...] | None]:
        """The insert, compiled for this database's driver, and the order of its parameters (None:
        the driver takes them by name)."""
        if self._add_sql is None:
            dialect = self.db.engine.dialect
            dialect_insert = postgresql_insert if self.db.postgres else sqlite_insert
            compiled = (dialect_insert(inbox_table).on_conflict_do_nothing(index_elements=[inbox_table.c.key])
                        .compile(dialect=dialect, column_keys=list(ADD_COLUMNS)))
            self._add_sql = (str(compiled), tuple(compiled.positiontup or ()) if compiled.positional else None)
        return self._add_sql

    def claim(self, now: datetime) -> Event | None:
        """Take the oldest due pending event (locked, then marked `processing` by this owner)."""
        with self.db.write() as tx:
            key = tx.execute(
                select(inbox_table.c.key)
                .where(inbox_table.c.status == "pending", inbox_table.c.next_attempt_at <= now)
                .order_by(inbox_table.c.received_at).limit(1).with_for_update(skip_locked=True)).scalar()
            if key is None:
                return None
            tx.execute(update(inbox_table).where(inbox_table.c.key == key)
                       .values(status="processing", attempts=inbox_table.c.attempts + 1, owner=self.owner))
        return _event(str(key))

    def finish(self, event: Event, *, error: str = "", retry_at: datetime | None = None) -> None:
        """Done (no error), failed for good (error, no retry_at), or back to pending until retry_at."""
        status = "done" if not error else ("pending" if retry_at else "failed")
        values: dict[str, Any] = {"status": status, "error": error[:2000]}
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        with self.db.write() as tx:  # not if another process took it meanwhile (it was put back: see below)
            tx.execute(update(inbox_table).where(inbox_table.c.key == _key(event), inbox_table.c.owner == self.owner)
                       .values(**values))

    def attempts(self, event: Event) -> int:
        with self.db.read() as connection:
            row = connection.execute(select(inbox_table.c.attempts).where(inbox_table.c.key == _key(event))).first()
        return int(row.attempts) if row else 0

    def requeue_unfinished(self) -> int:
        """Events a dead process was processing go back to pending. On SQLite (called at start-up,
        one process) all of them. On PostgreSQL those whose owner holds no advisory lock, seen so at
        two calls in a row (the leader's sweeps): a live process whose connection dropped for a
        moment takes its lock again within seconds, and its events are not handled twice."""
        unfinished = inbox_table.c.status == "processing"
        if not self.db.postgres:
            with self.db.write() as tx:
                return int(tx.execute(update(inbox_table).where(unfinished).values(status="pending")).rowcount)
        alive = instance_alive(inbox_table.c.owner)
        with self.db.write() as tx:
            orphans = {(str(row.key), str(row.owner)) for row in tx.execute(
                select(inbox_table.c.key, inbox_table.c.owner).where(unfinished, ~alive))}
            again, self._orphans = orphans & self._orphans, orphans
            requeued = 0
            for key, owner in again:
                requeued += tx.execute(update(inbox_table).where(
                    inbox_table.c.key == key, inbox_table.c.owner == owner, unfinished, ~alive)
                    .values(status="pending")).rowcount
        return requeued

    def prune(self, before: datetime) -> int:
        """Empty the payloads of events handled before `before`; their keys stay, so a late
        redelivery is still recognised."""
        with self.db.write() as tx:
            result = tx.execute(update(inbox_table)
                                .where(inbox_table.c.status.in_(["done", "failed"]),
                                       inbox_table.c.received_at < before, inbox_table.c.payload != "")
                                .values(payload=""))
        return int(result.rowcount)

    def backlog(self) -> tuple[dict[str, int], datetime | None]:
        """How many events wait (`pending`) and are being processed, and when the oldest waiting
        one arrived: one grouped count over the status index (the metrics ask at every scrape)."""
        query = (select(inbox_table.c.status, func.count(), func.min(inbox_table.c.received_at))
                 .where(inbox_table.c.status.in_(["pending", "processing"])).group_by(inbox_table.c.status))
        with self.db.read() as connection:
            rows = connection.execute(query).all()
        counts = {"pending": 0, "processing": 0}
        oldest: datetime | None = None
        for status, count, first in rows:
            counts[str(status)] = int(count)
            if status == "pending":
                oldest = first
        return counts, oldest

    def counts(self) -> dict[str, int]:
        with self.db.read() as connection:
            rows = connection.execute(select(inbox_table.c.status)).all()
        counts: dict[str, int] = {}
        for (status,) in rows:
            counts[status] = counts.get(status, 0) + 1
        return counts
