"""The event inbox, on SQLAlchemy (`bot.edge.intake.Inbox`): each event kept once, claimed by one
worker at a time, done, retried later, or failed for good.

Workers of every process share it: a claim takes the oldest due event with `FOR UPDATE SKIP
LOCKED` (PostgreSQL; SQLite has one writer at a time) and marks it with the claiming process
(`owner`). An event whose owner died is put back: on SQLite (one process) all of them at start-up;
on PostgreSQL those whose owner no longer holds its advisory lock (the database drops it with the
dead process's connection)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.adapters.store.schema import Database, inbox_table, instance_alive
from bot.edge.intake import Event


def _key(event: Event) -> str:
    return f"{event.resource}:{event.id}"  # the resource names no colon: the first one splits the key


def _event(key: str) -> Event:
    resource, _, event_id = key.partition(":")
    return Event(resource, event_id)


class SqlInbox:
    def __init__(self, db: Database, owner: str = "") -> None:
        self.db = db
        self.owner = owner  # this process (on PostgreSQL the key of its advisory lock)
        self._orphans: set[tuple[str, str]] = set()  # events seen without a live owner at the last look

    def add(self, event: Event, payload: bytes | str, now: datetime) -> bool:
        text = payload.decode() if isinstance(payload, bytes) else payload
        try:
            with self.db.write() as tx:
                tx.execute(insert(inbox_table).values(key=_key(event), received_at=now, payload=text,
                                                      status="pending", attempts=0, next_attempt_at=now, error=""))
        except IntegrityError:
            return False
        return True

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
