"""The request rows and their history, on SQLAlchemy (`bot.domain.stores.RequestStore`).

Every status change is one `UPDATE ... WHERE id = ? AND status IN (...)`, with its audit row in the
same transaction: whoever changes the row wins, everyone else gets None and must not act.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from bot.adapters.store.audit import append
from bot.adapters.store.rows import decode_reason, detail_of, from_row, to_row, to_row_partial
from bot.adapters.store.schema import Database, audit_table, requests_table
from bot.domain.model import Request, Status, can_move
from bot.domain.stores import Happened, HistoryEntry, Listener, Move, Window
from bot.domain.values import AuditEvent, Reason


class _Lost(Exception):
    """A compare-and-set lost: the whole transaction is rolled back."""


class SqlRequests:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._listeners: list[Listener] = []

    def watch(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _written(self, *requests: Request) -> None:
        for request in requests:
            for listener in self._listeners:
                listener(request)

    def add(self, request: Request, *, reason: Reason = Reason.REQUESTED) -> None:
        with self.db.write() as tx:
            tx.execute(insert(requests_table).values(**to_row(request)))
            append(tx, at=request.created_at, request_id=request.id, person_id=request.person_id,
                   actor_id=request.person_id, event=AuditEvent.STATUS.value, source=None,
                   target=request.status.value, note=reason.text,
                   detail=detail_of({"person_email": request.person_email, "end_at": request.end_at}, reason))
        self._written(request)

    def get(self, request_id: str) -> Request | None:
        with self.db.read() as connection:
            row = connection.execute(select(requests_table).where(requests_table.c.id == request_id)).first()
        return from_row(row._mapping) if row else None

    def move(self, request_id: str, source: Status | Iterable[Status], target: Status, *, now: datetime,
             reason: Reason, actor_id: str | None = None, note: str = "",
             changes: Mapping[str, Any] | None = None, happened: Happened | None = None) -> Request | None:
        moved = self._together([Move(request_id, source, target, reason, note, changes or {})], now=now,
                               actor_id=actor_id, happened=happened)
        return moved[0] if moved else None

    def move_together(self, moves: Sequence[Move], *, now: datetime,
                      actor_id: str | None = None) -> list[Request] | None:
        return self._together(moves, now=now, actor_id=actor_id)

    def _together(self, moves: Sequence[Move], *, now: datetime, actor_id: str | None,
                  happened: Happened | None = None) -> list[Request] | None:
        for move in moves:
            sources = [move.source] if isinstance(move.source, Status) else list(move.source)
            illegal = [s for s in sources if not can_move(s, move.target)]
            if illegal:
                raise ValueError(f"the state machine has no move from {illegal[0].value} to {move.target.value}")
        try:
            with self.db.write() as tx:
                moved = [self._move(tx, move, now, actor_id, happened if i == 0 else None)
                         for i, move in enumerate(moves)]
        except _Lost:
            return None
        self._written(*moved)
        return moved

    def _move(self, tx: Connection, move: Move, now: datetime, actor_id: str | None,
              happened: Happened | None) -> Request:
        sources = [move.source] if isinstance(move.source, Status) else list(move.source)
        values = to_row_partial(move.changes)
        values.update(status=move.target.value, updated_at=now)
        before = tx.execute(select(requests_table.c.status, requests_table.c.person_id)
                            .where(requests_table.c.id == move.request_id).with_for_update()).first()
        result = tx.execute(update(requests_table)
                            .where(requests_table.c.id == move.request_id,
                                   requests_table.c.status.in_([s.value for s in sources]))
                            .values(**values))
        if result.rowcount != 1 or before is None:
            raise _Lost(move.request_id)
        if happened is not None:  # what happened in Webex, written with the move it led to
            append(tx, at=now, request_id=move.request_id, person_id=before.person_id, actor_id=actor_id,
                   event=happened.event.value, note=happened.note[:2000], detail=detail_of(happened.detail),
                   tracking_id=happened.tracking_id)
        append(tx, at=now, request_id=move.request_id, person_id=before.person_id, actor_id=actor_id,
               event=AuditEvent.STATUS.value, source=before.status, target=move.target.value,
               note=(move.note or move.reason.text)[:2000], detail=detail_of(move.changes, move.reason))
        row = tx.execute(select(requests_table).where(requests_table.c.id == move.request_id)).one()
        return from_row(row._mapping)

    def change(self, request_id: str, expected: Status, *, now: datetime,
               changes: Mapping[str, Any]) -> Request | None:
        values = to_row_partial(changes)
        values["updated_at"] = now
        with self.db.write() as tx:
            result = tx.execute(update(requests_table)
                                .where(requests_table.c.id == request_id, requests_table.c.status == expected.value)
                                .values(**values))
            if result.rowcount != 1:
                return None
            row = tx.execute(select(requests_table).where(requests_table.c.id == request_id)).one()
        changed = from_row(row._mapping)
        self._written(changed)
        return changed

    def for_person(self, person_id: str, statuses: Iterable[Status]) -> list[Request]:
        return self._select(requests_table.c.person_id == person_id,
                            requests_table.c.status.in_([s.value for s in statuses]))

    def with_status(self, statuses: Iterable[Status]) -> list[Request]:
        return self._select(requests_table.c.status.in_([s.value for s in statuses]))

    def timed(self, windows: Iterable[Window]) -> list[Request]:
        """One indexed range per window (status and time), not a read of every row."""
        found: dict[str, Request] = {}
        for window in windows:
            column = requests_table.c[window.field]
            bound = column <= window.until
            for request in self._select(requests_table.c.status.in_([s.value for s in window.statuses]),
                                        or_(bound, column.is_(None)) if window.unset else bound):
                found.setdefault(request.id, request)
        return sorted(found.values(), key=lambda r: r.created_at)

    def _select(self, *where: Any) -> list[Request]:
        query = select(requests_table).where(*where).order_by(requests_table.c.created_at)
        with self.db.read() as connection:
            return [from_row(row._mapping) for row in connection.execute(query)]

    def count_by_status(self, statuses: Iterable[Status]) -> dict[Status, int]:
        """How many requests are in each of these states (0 for none): a grouped count over the
        status index, for the metrics."""
        wanted = list(statuses)
        query = (select(requests_table.c.status, func.count())
                 .where(requests_table.c.status.in_([s.value for s in wanted])).group_by(requests_table.c.status))
        with self.db.read() as connection:
            found = {str(status): int(count) for status, count in connection.execute(query)}
        return {status: found.get(status.value, 0) for status in wanted}

    def count_active_ended_before(self, before: datetime) -> int:
        """Intercepts still on whose end is before `before` (reverts overdue): one count over the
        (status, end_at) index."""
        query = select(func.count()).where(requests_table.c.status == Status.ACTIVE.value,
                                           requests_table.c.end_at < before)
        with self.db.read() as connection:
            return int(connection.execute(query).scalar_one())

    def history(self, request_id: str) -> list[HistoryEntry]:
        query = (select(audit_table).where(audit_table.c.request_id == request_id,
                                           audit_table.c.event == AuditEvent.STATUS.value)
                 .order_by(audit_table.c.id))
        with self.db.read() as connection:
            return [HistoryEntry(at=row.at, source=Status(row.source) if row.source else None,
                                 target=Status(row.target), actor_id=row.actor_id,
                                 reason=decode_reason(row.detail, row.note), note=row.note)
                    for row in connection.execute(query)]
