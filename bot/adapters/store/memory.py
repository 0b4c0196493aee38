"""The domain's stores in memory: the same rules as the SQL stores (compare-and-set moves with their
audit rows in one step, aware UTC times, listeners after each write), held to them by the same
contract tests. The flow tests run on these; nothing survives the process."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapters.store.rows import detail_of
from bot.domain.model import Request, Status, can_move
from bot.domain.stores import (
    AuditEntry,
    CardRecord,
    Happened,
    HistoryEntry,
    Listener,
    Move,
    Stores,
    Untold,
    Window,
)
from bot.domain.values import AuditEvent, CardKind, Reason

_TIMES = tuple(f.name for f in fields(Request) if f.type in ("datetime", "datetime | None"))


@dataclass
class _Untold:
    request_id: str
    sent: int = 0
    tries: int = 0
    claimed_until: datetime | None = None


@dataclass
class Memory:
    """The rows, shared by the stores below; one lock stands for a database's write lock."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    requests: dict[str, Request] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    untold: dict[int, _Untold] = field(default_factory=dict)  # audit row id -> how far it was told
    ids: Iterable[int] = field(default_factory=lambda: itertools.count(1))


class MemoryRequests:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self._listeners: list[Listener] = []

    def watch(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _written(self, *requests: Request) -> None:
        for request in requests:
            for listener in self._listeners:
                listener(request)

    def add(self, request: Request, *, reason: Reason = Reason.REQUESTED) -> None:
        request = _normal(request)
        with self.memory.lock:
            if request.id in self.memory.requests:
                raise KeyError(f"request {request.id} exists")
            self.memory.requests[request.id] = request
            self._log(request.created_at, request, AuditEvent.STATUS, actor_id=request.person_id, source=None,
                      target=request.status, reason=reason, note=reason.text,
                      detail={"person_email": request.person_email, "end_at": request.end_at})
        self._written(request)

    def get(self, request_id: str) -> Request | None:
        with self.memory.lock:
            return _copy(self.memory.requests.get(request_id))

    def move(self, request_id: str, source: Status | Iterable[Status], target: Status, *, now: datetime,
             reason: Reason, actor_id: str | None = None, note: str = "",
             changes: Mapping[str, Any] | None = None, happened: Happened | None = None) -> Request | None:
        moved = self._together([Move(request_id, source, target, reason, note, changes or {})], now, actor_id,
                               happened)
        return moved[0] if moved else None

    def move_together(self, moves: Sequence[Move], *, now: datetime,
                      actor_id: str | None = None) -> list[Request] | None:
        return self._together(moves, now, actor_id, None)

    def _together(self, moves: Sequence[Move], now: datetime, actor_id: str | None,
                  happened: Happened | None) -> list[Request] | None:
        _aware(now)
        staged: list[tuple[Move, Request, Request]] = []
        with self.memory.lock:
            for move in moves:
                sources = {move.source} if isinstance(move.source, Status) else set(move.source)
                illegal = [s for s in sources if not can_move(s, move.target)]
                if illegal:
                    raise ValueError(f"the state machine has no move from {illegal[0].value} to {move.target.value}")
                before = self.memory.requests.get(move.request_id)
                if before is None or before.status not in sources:
                    return None
                after = _normal(replace(before, **{**move.changes, "status": move.target, "updated_at": now}))
                staged.append((move, before, after))
            for index, (move, before, after) in enumerate(staged):
                self.memory.requests[after.id] = after
                if happened is not None and index == 0:
                    self._log(now, after, happened.event, actor_id=actor_id, note=happened.note,
                              detail=happened.detail)
                self._log(now, after, AuditEvent.STATUS, actor_id=actor_id, source=before.status,
                          target=move.target, reason=move.reason, note=move.note or move.reason.text,
                          detail=move.changes)
        moved = [after for _move, _before, after in staged]
        self._written(*moved)
        return [_copy(r) for r in moved]  # type: ignore[misc]

    def change(self, request_id: str, expected: Status, *, now: datetime,
               changes: Mapping[str, Any]) -> Request | None:
        with self.memory.lock:
            before = self.memory.requests.get(request_id)
            if before is None or before.status is not expected:
                return None
            after = _normal(replace(before, **{**changes, "updated_at": now}))
            self.memory.requests[request_id] = after
        self._written(after)
        return _copy(after)

    def for_person(self, person_id: str, statuses: Iterable[Status]) -> list[Request]:
        wanted = set(statuses)
        return self._select(lambda r: r.person_id == person_id and r.status in wanted)

    def with_status(self, statuses: Iterable[Status]) -> list[Request]:
        wanted = set(statuses)
        return self._select(lambda r: r.status in wanted)

    def timed(self, windows: Iterable[Window]) -> list[Request]:
        windows = list(windows)

        def inside(request: Request, window: Window) -> bool:
            at: datetime | None = getattr(request, window.field)
            return request.status in window.statuses and (at <= window.until if at is not None else window.unset)
        return self._select(lambda r: any(inside(r, w) for w in windows))

    def _select(self, keep: Callable[[Request], bool]) -> list[Request]:
        with self.memory.lock:
            found = [r for r in self.memory.requests.values() if keep(r)]
        return [_copy(r) for r in sorted(found, key=lambda r: r.created_at)]  # type: ignore[misc]

    def history(self, request_id: str) -> list[HistoryEntry]:
        with self.memory.lock:
            rows = [r for r in self.memory.audit if r.request_id == request_id and r.event is AuditEvent.STATUS]
        return [HistoryEntry(r.at, r.source, r.target, r.actor_id, r.reason, r.note)
                for r in rows if r.target is not None]

    def _log(self, at: datetime, request: Request, event: AuditEvent, *, actor_id: str | None,
             source: Status | None = None, target: Status | None = None, reason: Reason | None = None,
             note: str = "", detail: Mapping[str, Any] | None = None) -> None:
        _log(self.memory, at, request, event, actor_id=actor_id, source=source, target=target, reason=reason,
             note=note, detail=detail)


def _log(memory: Memory, at: datetime, request: Request, event: AuditEvent, *, actor_id: str | None,
         source: Status | None = None, target: Status | None = None, reason: Reason | None = None,
         note: str = "", detail: Mapping[str, Any] | None = None) -> None:
    """An audit row, its detail as JSON would give it back (as the SQL store's does)."""
    written = json.loads(json.dumps(detail_of(detail or {}, reason) or {}))
    with memory.lock:
        row_id = next(iter(memory.ids))
        memory.audit.append(AuditEntry(id=row_id, at=_aware(at), request_id=request.id,
                                       event=event, source=source, target=target, actor_id=actor_id,
                                       reason=reason, note=note[:2000], detail=written))
        memory.untold[row_id] = _Untold(request.id)


class MemoryAudit:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    def record(self, request: Request, happened: Happened, *, now: datetime, actor_id: str | None = None) -> None:
        _log(self.memory, now, request, happened.event, actor_id=actor_id, note=happened.note,
             detail=happened.detail)

    def after(self, after_id: int, limit: int) -> list[tuple[AuditEntry, Request | None]]:
        with self.memory.lock:
            rows = [row for row in self.memory.audit if row.id > after_id][:limit]
            return [(row, _copy(self.memory.requests.get(row.request_id))) for row in rows]

    def untold(self, now: datetime, *, hold: timedelta, limit: int) -> list[Untold]:
        with self.memory.lock:
            groups: dict[str, list[int]] = {}
            for row_id in sorted(self.memory.untold):
                groups.setdefault(self.memory.untold[row_id].request_id, []).append(row_id)
            free = [ids for ids in groups.values()
                    if (head := self.memory.untold[ids[0]]).claimed_until is None or head.claimed_until < now]
            entries = {row.id: row for row in self.memory.audit}
            claimed: list[Untold] = []
            for ids in free[:limit]:
                for row_id in ids:
                    mark = self.memory.untold[row_id]
                    mark.claimed_until = now + hold
                    claimed.append(Untold(entries[row_id], _copy(self.memory.requests.get(mark.request_id)),
                                          mark.sent, mark.tries))
        return sorted(claimed, key=lambda row: row.entry.id)

    def told(self, row_ids: Sequence[int]) -> None:
        with self.memory.lock:
            for row_id in row_ids:
                self.memory.untold.pop(row_id, None)

    def progress(self, row_id: int, sent: int) -> None:
        with self.memory.lock:
            if row_id in self.memory.untold:
                self.memory.untold[row_id].sent = sent

    def tell_later(self, progress: Mapping[int, tuple[int, int]]) -> None:
        with self.memory.lock:
            for row_id, (sent, tries) in progress.items():
                if row_id in self.memory.untold:
                    self.memory.untold[row_id] = _Untold(self.memory.untold[row_id].request_id, sent, tries)

    def greetings_uploaded(self, person_id: str) -> set[str]:
        with self.memory.lock:
            ids = {r.id for r in self.memory.requests.values() if r.person_id == person_id}
            return {str(row.detail["file"]) for row in self.memory.audit
                    if row.request_id in ids and row.event is AuditEvent.GREETING_UPLOADED and row.detail.get("file")}

    def greeting_uploaded(self, request_id: str) -> bool:
        with self.memory.lock:
            return any(row.request_id == request_id and row.event is AuditEvent.GREETING_UPLOADED
                       for row in self.memory.audit)


class MemoryCards:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cards: list[CardRecord] = []

    def add(self, record: CardRecord) -> None:
        with self._lock:
            if record.message_id is not None and any(c.message_id == record.message_id for c in self._cards):
                raise KeyError(f"card {record.message_id} exists")
            self._cards.append(record)

    def get(self, message_id: str) -> CardRecord | None:
        with self._lock:
            return next((c for c in self._cards if c.message_id == message_id), None)

    def for_request(self, request_id: str, kind: CardKind) -> list[CardRecord]:
        with self._lock:
            return [c for c in self._cards if c.request_id == request_id and c.kind is kind]

    def live(self, kinds: Iterable[CardKind]) -> list[CardRecord]:
        wanted = set(kinds)
        with self._lock:
            return [c for c in self._cards if c.live and c.kind in wanted]

    def withdrawn(self, message_id: str) -> bool:
        with self._lock:
            for index, card in enumerate(self._cards):
                if card.message_id == message_id and card.live:
                    self._cards[index] = replace(card, live=False)
                    return True
        return False


class MemoryPeople:
    def __init__(self) -> None:
        self._known: dict[str, str] = {}

    def remember(self, email: str, person_id: str) -> None:
        self._known[email.lower()] = person_id

    def known(self, email: str) -> str | None:
        return self._known.get(email.lower())


class MemoryGreetings:
    def __init__(self) -> None:
        self._files: dict[str, tuple[str, bytes]] = {}

    def save(self, request_id: str, file_name: str, data: bytes) -> None:
        self._files[request_id] = (file_name, bytes(data))

    def get(self, request_id: str) -> tuple[str, bytes] | None:
        return self._files.get(request_id)

    def held(self) -> list[str]:
        return list(self._files)

    def drop(self, request_id: str) -> None:
        self._files.pop(request_id, None)


class MemorySettings:
    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def set(self, key: str, value: str) -> None:
        self.swap(key, lambda _old: value)

    def swap(self, key: str, change: Callable[[str | None], str | None]) -> str | None:
        with self._lock:
            new = change(self._values.get(key))
            if new is None:
                self._values.pop(key, None)
            else:
                self._values[key] = new
            return new


def memory_stores() -> Stores:
    memory = Memory()
    return Stores(requests=MemoryRequests(memory), cards=MemoryCards(), people=MemoryPeople(),
                  greetings=MemoryGreetings(), audit=MemoryAudit(memory), settings=MemorySettings())


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return at.astimezone(UTC)


def _normal(request: Request) -> Request:
    """As the SQL store keeps it: times in UTC (naive ones refused), the form draft a copy."""
    times: dict[str, Any] = {name: _aware(getattr(request, name)) for name in _TIMES
                             if getattr(request, name) is not None}
    return replace(request, **times, draft=dict(request.draft))


def _copy(request: Request | None) -> Request | None:
    return None if request is None else replace(request, draft=dict(request.draft))
