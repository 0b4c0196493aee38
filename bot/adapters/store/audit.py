"""The audit log, on SQLAlchemy (`bot.domain.stores.AuditLog`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from bot.adapters.store.rows import decode_reason, detail_of, from_row, json_value
from bot.adapters.store.schema import Database, audit_table, instance_alive, news_table, requests_table
from bot.domain.model import Request, Status
from bot.domain.stores import AuditEntry, Happened, Untold
from bot.domain.values import AuditEvent

_JOINED = "joined__"  # the columns of the request, read with its audit rows


def append(tx: Connection, **values: Any) -> None:
    """An audit row, and its mark as not told yet, in the caller's transaction."""
    inserted = tx.execute(insert(audit_table).values(**values)).inserted_primary_key
    assert inserted is not None
    row_id = inserted[0]
    tx.execute(insert(news_table).values(audit_id=row_id, request_id=values["request_id"], sent=0, tries=0))


class SqlAudit:
    def __init__(self, db: Database, owner: str = "") -> None:
        self.db = db
        self.owner = owner  # this process, as its claims on untold rows name it

    def record(self, request: Request, happened: Happened, *, now: datetime, actor_id: str | None = None) -> None:
        with self.db.write() as tx:
            append(tx, at=now, request_id=request.id, person_id=request.person_id, actor_id=actor_id,
                   event=happened.event.value, note=happened.note[:2000], detail=detail_of(happened.detail),
                   tracking_id=happened.tracking_id)

    def after(self, after_id: int, limit: int) -> list[tuple[AuditEntry, Request | None]]:
        """The rows after `after_id`, oldest first, each with its request as it is now (one query)."""
        query = (select(audit_table, *(c.label(_JOINED + c.name) for c in requests_table.c))
                 .join(requests_table, requests_table.c.id == audit_table.c.request_id, isouter=True)
                 .where(audit_table.c.id > after_id).order_by(audit_table.c.id).limit(limit))
        with self.db.read() as connection:
            rows = [row._mapping for row in connection.execute(query)]
        return [(_entry(row), from_row(row, _JOINED) if row[_JOINED + "id"] is not None else None) for row in rows]

    def untold(self, now: datetime, *, hold: timedelta, limit: int) -> list[Untold]:
        """In one transaction: the oldest untold row of each request that is free, locked with
        `FOR UPDATE SKIP LOCKED` on PostgreSQL (two flushes never take the same one), then all
        untold rows of those requests; all marked held by this process until `now + hold`. A row
        of such a request that commits later waits behind the held ones: its request's news stay
        in order. Free: never claimed, its claim ran out, or the process that claimed it is gone
        (on SQLite, where one process runs, any other process; on PostgreSQL one that no longer
        holds its advisory lock), so a crash in the middle of a flush does not hold news back."""
        news, earlier = news_table, news_table.alias("earlier")
        oldest = ~select(earlier.c.audit_id).where(earlier.c.request_id == news.c.request_id,
                                                   earlier.c.audit_id < news.c.audit_id).exists()
        gone = ~instance_alive(news.c.claimed_by) if self.db.postgres else news.c.claimed_by != self.owner
        free = or_(news.c.claimed_until.is_(None), news.c.claimed_until < now, news.c.claimed_by.is_(None), gone)
        heads = (select(news.c.request_id).where(free, oldest).order_by(news.c.audit_id).limit(limit)
                 .with_for_update(skip_locked=True, of=news))
        with self.db.write() as tx:
            requests = [row.request_id for row in tx.execute(heads)]
            if not requests:
                return []
            marks = {row.audit_id: row for row in tx.execute(
                select(news.c.audit_id, news.c.sent, news.c.tries).where(news.c.request_id.in_(requests))
                .with_for_update(of=news))}
            tx.execute(update(news).where(news.c.audit_id.in_(marks))
                       .values(claimed_until=now + hold, claimed_by=self.owner))
            query = (select(audit_table, *(c.label(_JOINED + c.name) for c in requests_table.c))
                     .join(requests_table, requests_table.c.id == audit_table.c.request_id, isouter=True)
                     .where(audit_table.c.id.in_(marks)).order_by(audit_table.c.id))
            rows = [row._mapping for row in tx.execute(query)]
        return [Untold(_entry(row), from_row(row, _JOINED) if row[_JOINED + "id"] is not None else None,
                       marks[row["id"]].sent, marks[row["id"]].tries) for row in rows]

    def told(self, row_ids: Sequence[int]) -> None:
        if row_ids:
            with self.db.write() as tx:
                tx.execute(delete(news_table).where(news_table.c.audit_id.in_(list(row_ids))))

    def progress(self, row_id: int, sent: int) -> None:
        with self.db.write() as tx:
            tx.execute(update(news_table).where(news_table.c.audit_id == row_id).values(sent=sent))

    def tell_later(self, progress: Mapping[int, tuple[int, int]]) -> None:
        with self.db.write() as tx:
            for row_id, (sent, tries) in progress.items():
                tx.execute(update(news_table).where(news_table.c.audit_id == row_id)
                           .values(sent=sent, tries=tries, claimed_until=None, claimed_by=None))

    def greetings_uploaded(self, person_id: str) -> set[str]:
        query = select(audit_table.c.detail).where(audit_table.c.person_id == person_id,
                                                   audit_table.c.event == AuditEvent.GREETING_UPLOADED.value)
        with self.db.read() as connection:
            details = [json_value(row.detail) or {} for row in connection.execute(query)]
        return {str(detail["file"]) for detail in details if detail.get("file")}

    def greeting_uploaded(self, request_id: str) -> bool:
        query = select(audit_table.c.id).where(audit_table.c.request_id == request_id,
                                               audit_table.c.event == AuditEvent.GREETING_UPLOADED.value).limit(1)
        with self.db.read() as connection:
            return connection.execute(query).first() is not None

    def rows(self, *, person: str | None = None, since: datetime | None = None,
             until: datetime | None = None) -> list[dict[str, Any]]:
        """The audit log (with each request's person), oldest first; `person` is an email or id."""
        query = (select(audit_table, requests_table.c.person_email, requests_table.c.person_name)
                 .join(requests_table, requests_table.c.id == audit_table.c.request_id, isouter=True)
                 .order_by(audit_table.c.id))
        if person:
            query = query.where((audit_table.c.person_id == person) | (requests_table.c.person_email == person.lower()))
        if since:
            query = query.where(audit_table.c.at >= since)
        if until:
            query = query.where(audit_table.c.at < until)
        with self.db.read() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(id=row["id"], at=row["at"], request_id=row["request_id"], event=AuditEvent(row["event"]),
                      source=Status(row["source"]) if row["source"] else None,
                      target=Status(row["target"]) if row["target"] else None, actor_id=row["actor_id"],
                      reason=decode_reason(row["detail"], row["note"]) if row["event"] == "status" else None,
                      note=row["note"], detail=json_value(row["detail"]) or {})
