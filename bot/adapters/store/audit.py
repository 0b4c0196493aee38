"""The audit log, on SQLAlchemy (`bot.domain.stores.AuditLog`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from bot.adapters.store.rows import decode_reason, detail_of, from_row, json_value
from bot.adapters.store.schema import Database, audit_table, requests_table
from bot.domain.model import Request, Status
from bot.domain.stores import AuditEntry, Happened
from bot.domain.values import AuditEvent

_JOINED = "joined__"  # the columns of the request, read with its audit rows


class SqlAudit:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, request: Request, happened: Happened, *, now: datetime, actor_id: str | None = None) -> None:
        with self.db.write() as tx:
            tx.execute(insert(audit_table).values(
                at=now, request_id=request.id, person_id=request.person_id, actor_id=actor_id,
                event=happened.event.value, note=happened.note[:2000], detail=detail_of(happened.detail),
                tracking_id=happened.tracking_id))

    def after(self, after_id: int, limit: int) -> list[tuple[AuditEntry, Request | None]]:
        """The rows after `after_id`, oldest first, each with its request as it is now (one query)."""
        query = (select(audit_table, *(c.label(_JOINED + c.name) for c in requests_table.c))
                 .join(requests_table, requests_table.c.id == audit_table.c.request_id, isouter=True)
                 .where(audit_table.c.id > after_id).order_by(audit_table.c.id).limit(limit))
        with self.db.read() as connection:
            rows = [row._mapping for row in connection.execute(query)]
        return [(_entry(row), from_row(row, _JOINED) if row[_JOINED + "id"] is not None else None) for row in rows]

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
