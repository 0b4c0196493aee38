"""The audit log, on SQLAlchemy (`bot.domain.stores.AuditLog`), and how a row's detail is written:
settings as API bodies, times as ISO text, and for a status change its reason."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from bot.adapters.store.schema import Database, audit_table, requests_table
from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.stores import AuditEntry, Happened
from bot.domain.values import AuditEvent, Reason

# Rows written before reasons were stored carry only the note: read the reason back from the words
# those versions wrote (a compatibility reading for databases of earlier versions, nothing else).
_EARLIER_NOTES = {reason.text: reason for reason in Reason}


def detail_of(values: Mapping[str, Any], reason: Reason | None = None) -> dict[str, Any] | None:
    """JSON-ready detail for the audit log."""
    detail: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("draft", "draft_note"):
            continue  # form drafts are noise in an audit
        if isinstance(value, InterceptSettings):
            value = value.to_stored()
        elif isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        detail[key] = value
    if reason is not None:
        detail["reason"] = reason.value
    return detail or None


def decode_reason(detail: Any, note: str) -> Reason | None:
    stored = (_json(detail) or {}).get("reason")
    try:
        return Reason(stored) if stored else _EARLIER_NOTES.get(note)
    except ValueError:
        return None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class SqlAudit:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, request: Request, happened: Happened, *, now: datetime, actor_id: str | None = None) -> None:
        with self.db.write() as tx:
            tx.execute(insert(audit_table).values(
                at=now, request_id=request.id, person_id=request.person_id, actor_id=actor_id,
                event=happened.event.value, note=happened.note[:2000], detail=detail_of(happened.detail),
                tracking_id=happened.tracking_id))

    def after(self, after_id: int, limit: int) -> list[AuditEntry]:
        query = select(audit_table).where(audit_table.c.id > after_id).order_by(audit_table.c.id).limit(limit)
        with self.db.read() as connection:
            return [AuditEntry(id=row.id, at=row.at, request_id=row.request_id, event=AuditEvent(row.event),
                               source=Status(row.source) if row.source else None,
                               target=Status(row.target) if row.target else None, actor_id=row.actor_id,
                               reason=decode_reason(row.detail, row.note) if row.event == "status" else None,
                               note=row.note, detail=_json(row.detail) or {})
                    for row in connection.execute(query)]

    def greetings_uploaded(self, person_id: str) -> set[str]:
        query = select(audit_table.c.detail).where(audit_table.c.person_id == person_id,
                                                   audit_table.c.event == AuditEvent.GREETING_UPLOADED.value)
        with self.db.read() as connection:
            details = [_json(row.detail) or {} for row in connection.execute(query)]
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
