"""All state in SQLAlchemy tables: requests, the audit log (their status history and the bot's
changes in Webex), the cards the bot sent,
and the webhook inbox. SQLite by default (WAL, busy timeout, short transactions), PostgreSQL by URL.

Every status change is one `UPDATE ... WHERE id = ? AND status IN (...)`: whoever changes the row
wins, everyone else gets None and must not act.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Dialect, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import ConnectionPoolEntry

from bot.domain.model import InterceptSettings, Request, Status, can_move
from bot.domain.ports import AuditEntry, CardRecord, HistoryEntry, Move


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones): stored as ISO text."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def process_result_value(self, value: str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).astimezone(UTC)


metadata = MetaData()

requests_table = Table(
    "intercept_requests", metadata,
    Column("id", String(64), primary_key=True),
    Column("person_id", String(200), nullable=False, index=True),
    Column("person_email", String(320), nullable=False),
    Column("person_name", String(400), nullable=False),
    Column("zone", String(64), nullable=False),
    Column("room_id", String(200), nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("start_at", UTCDateTime()),
    Column("end_at", UTCDateTime()),
    Column("requested", JSON()),
    Column("snapshot", JSON()),
    Column("reason", Text(), nullable=False, default=""),
    Column("decided_by_id", String(200)),
    Column("decided_by_name", String(400)),
    Column("decided_at", UTCDateTime()),
    Column("decision_comment", Text(), nullable=False, default=""),
    Column("applied_at", UTCDateTime()),
    Column("reverted_at", UTCDateTime()),
    Column("replaces_id", String(64)),
    Column("extends_id", String(64)),
    Column("error", Text(), nullable=False, default=""),
    Column("greeting_file", String(300), nullable=False, default=""),
    Column("attempts", Integer(), nullable=False, default=0),
    Column("retry_at", UTCDateTime()),
    Column("draft", JSON()),
    Column("draft_note", Text(), nullable=False, default=""),
)

audit_table = Table(
    # Append-only (SQLite triggers refuse UPDATE and DELETE): every status change of every request
    # (event "status", with who and why), and every change the bot made in Webex or failed to make
    # (events "applied", "reverted", "greeting uploaded", "webex error"), with settings before and
    # after and Webex's tracking id. `intercept-bot audit` prints it.
    "audit_log", metadata,
    Column("id", Integer(), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("person_id", String(200), nullable=False, index=True),
    Column("actor_id", String(200)),
    Column("event", String(32), nullable=False),
    Column("source", String(32)),
    Column("target", String(32)),
    Column("note", Text(), nullable=False, default=""),
    Column("detail", JSON()),
    Column("tracking_id", String(200)),
)

cards_table = Table(
    "card_messages", metadata,
    Column("message_id", String(200), primary_key=True),
    Column("request_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("room_id", String(200), nullable=False),
    Column("recipient", String(400), nullable=False),
    Column("live", Boolean(), nullable=False),
)

inbox_table = Table(
    "webhook_inbox", metadata,
    Column("key", String(300), primary_key=True),  # resource:data.id, so a redelivery is recognised
    Column("received_at", UTCDateTime(), nullable=False),
    Column("payload", Text(), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # pending, processing, done, failed
    Column("attempts", Integer(), nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("error", Text(), nullable=False, default=""),
)

greetings_table = Table(
    "greetings", metadata,  # a custom greeting sent with a request, uploaded to Webex when applied
    Column("request_id", String(64), primary_key=True),
    Column("file_name", String(300), nullable=False),
    Column("data", LargeBinary(), nullable=False),
)

directory_table = Table(
    "people_directory", metadata,  # approvers are configured by email; Webex addresses people by id
    Column("email", String(320), primary_key=True),
    Column("person_id", String(200), nullable=False),
)

settings_table = Table(
    "bot_settings", metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text(), nullable=False),
)

_SETTINGS_FIELDS = ("requested", "snapshot")
WRITE_OPTION = "intercept_bot_write"
WRITERS_LOCK = 7_411_000  # PostgreSQL advisory lock key: one writer at a time



class _Lost(Exception):
    """A compare-and-set lost: the whole transaction is rolled back."""
_REQUEST_FIELDS = tuple(f.name for f in fields(Request))


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign-thread use."""
    is_sqlite = url.startswith("sqlite")
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30} if is_sqlite else {},
        pool_pre_ping=not is_sqlite)
    if is_sqlite:
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" hook below starts transactions
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            # A write transaction takes the write lock up front (IMMEDIATE): two read-then-write
            # transactions then wait for each other (busy timeout) instead of one failing with
            # "database is locked". Reads begin deferred and, with WAL, never wait for a writer.
            write = connection.get_execution_options().get(WRITE_OPTION, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
    return engine


class SqlStore:
    """The `bot.domain.ports.Store` on SQLAlchemy, plus the webhook inbox and settings."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create_schema(self) -> None:
        metadata.create_all(self.engine)
        if self.engine.dialect.name == "sqlite":
            with self._tx() as tx:
                for verb in ("UPDATE", "DELETE"):
                    tx.exec_driver_sql(
                        f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction. Writers take turns on every backend: SQLite takes its write lock up
        front (see make_engine), PostgreSQL an advisory lock. So audit rows commit in id order (the
        announcer reads them by id and must never skip one that commits late), and read-then-write
        steps never interleave."""
        with self.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK})")
                yield connection

    # ------------------------------------------------------------------ requests

    def add_request(self, request: Request, *, note: str = "requested") -> None:
        row = _to_row(request)
        with self._tx() as tx:
            tx.execute(insert(requests_table).values(**row))
            tx.execute(insert(audit_table).values(
                at=request.created_at, request_id=request.id, person_id=request.person_id,
                actor_id=request.person_id, event="status", source=None, target=request.status.value,
                note=note, detail=_detail({"person_email": request.person_email, "end_at": request.end_at})))

    def get(self, request_id: str) -> Request | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(requests_table).where(requests_table.c.id == request_id)).first()
        return _from_row(row._mapping) if row else None

    def move(self, request_id: str, source: Status | Iterable[Status], target: Status, *, now: datetime,
             actor_id: str | None = None, note: str = "",
             changes: Mapping[str, Any] | None = None) -> Request | None:
        moved = self.move_together([Move(request_id, source, target, note=note, changes=changes or {})],
                                   now=now, actor_id=actor_id)
        return moved[0] if moved else None

    def move_together(self, moves: Sequence[Move], *, now: datetime,
                      actor_id: str | None = None) -> list[Request] | None:
        """Several compare-and-set moves in one transaction: all happen, or none (None)."""
        try:
            return self._move_together(moves, now=now, actor_id=actor_id)
        except _Lost:
            return None

    def _move_together(self, moves: Sequence[Move], *, now: datetime, actor_id: str | None) -> list[Request]:
        with self._tx() as tx:
            moved: list[Request] = []
            for move in moves:
                sources = [move.source] if isinstance(move.source, Status) else list(move.source)
                illegal = [s for s in sources if not can_move(s, move.target)]
                if illegal:
                    raise ValueError(f"the state machine has no move from {illegal[0].value} to {move.target.value}")
                values = _to_row_partial(move.changes)
                values.update(status=move.target.value, updated_at=now)
                before = tx.execute(select(requests_table.c.status, requests_table.c.person_id)
                                    .where(requests_table.c.id == move.request_id).with_for_update()).first()
                result = tx.execute(update(requests_table)
                                    .where(requests_table.c.id == move.request_id,
                                           requests_table.c.status.in_([s.value for s in sources]))
                                    .values(**values))
                if result.rowcount != 1 or before is None:
                    raise _Lost(move.request_id)
                tx.execute(insert(audit_table).values(
                    at=now, request_id=move.request_id, person_id=before.person_id, actor_id=actor_id,
                    event="status", source=before.status, target=move.target.value, note=move.note[:2000],
                    detail=_detail(move.changes)))
                row = tx.execute(select(requests_table).where(requests_table.c.id == move.request_id)).one()
                moved.append(_from_row(row._mapping))
        return moved

    def change(self, request_id: str, expected: Status, *, now: datetime,
               changes: Mapping[str, Any]) -> Request | None:
        values = _to_row_partial(changes)
        values["updated_at"] = now
        with self._tx() as tx:
            result = tx.execute(update(requests_table)
                                .where(requests_table.c.id == request_id,
                                       requests_table.c.status == expected.value)
                                .values(**values))
            if result.rowcount != 1:
                return None
            row = tx.execute(select(requests_table).where(requests_table.c.id == request_id)).first()
        return _from_row(row._mapping) if row else None

    def for_person(self, person_id: str, statuses: Iterable[Status]) -> list[Request]:
        query = (select(requests_table)
                 .where(requests_table.c.person_id == person_id,
                        requests_table.c.status.in_([s.value for s in statuses]))
                 .order_by(requests_table.c.created_at))
        with self.engine.connect() as connection:
            return [_from_row(row._mapping) for row in connection.execute(query)]

    def with_status(self, statuses: Iterable[Status]) -> list[Request]:
        query = (select(requests_table).where(requests_table.c.status.in_([s.value for s in statuses]))
                 .order_by(requests_table.c.created_at))
        with self.engine.connect() as connection:
            return [_from_row(row._mapping) for row in connection.execute(query)]

    def history(self, request_id: str) -> list[HistoryEntry]:
        """The request's status changes, oldest first."""
        query = (select(audit_table).where(audit_table.c.request_id == request_id, audit_table.c.event == "status")
                 .order_by(audit_table.c.id))
        with self.engine.connect() as connection:
            return [HistoryEntry(at=row.at, source=Status(row.source) if row.source else None,
                                 target=Status(row.target), actor_id=row.actor_id, note=row.note)
                    for row in connection.execute(query)]

    # ------------------------------------------------------------------ audit

    def audit(self, request: Request, event: str, *, now: datetime, note: str = "",
              detail: Mapping[str, Any] | None = None, tracking_id: str | None = None,
              actor_id: str | None = None) -> None:
        with self._tx() as tx:
            tx.execute(insert(audit_table).values(
                at=now, request_id=request.id, person_id=request.person_id, actor_id=actor_id, event=event,
                note=note[:2000], detail=_detail(detail or {}), tracking_id=tracking_id))

    def audit_after(self, after_id: int, limit: int) -> list[AuditEntry]:
        """The audit log's rows after `after_id`, oldest first (what is left to announce)."""
        query = select(audit_table).where(audit_table.c.id > after_id).order_by(audit_table.c.id).limit(limit)
        with self.engine.connect() as connection:
            return [AuditEntry(id=row.id, at=row.at, request_id=row.request_id, event=row.event,
                               source=Status(row.source) if row.source else None,
                               target=Status(row.target) if row.target else None, actor_id=row.actor_id,
                               note=row.note, detail=_json(row.detail) or {})
                    for row in connection.execute(query)]

    def uploaded_greetings(self, person_id: str) -> set[str]:
        """The names of the greetings the bot has uploaded for the person (from the audit log)."""
        query = select(audit_table.c.detail).where(audit_table.c.person_id == person_id,
                                                   audit_table.c.event == "greeting uploaded")
        with self.engine.connect() as connection:
            details = [_json(row.detail) or {} for row in connection.execute(query)]
        return {str(detail["file"]) for detail in details if detail.get("file")}

    def greeting_uploaded_for(self, request_id: str) -> bool:
        """Whether the request's own greeting was uploaded already (an apply tried again)."""
        query = select(audit_table.c.id).where(audit_table.c.request_id == request_id,
                                               audit_table.c.event == "greeting uploaded").limit(1)
        with self.engine.connect() as connection:
            return connection.execute(query).first() is not None

    def audit_rows(self, *, person: str | None = None, since: datetime | None = None,
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
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    # ------------------------------------------------------------------ cards

    def add_card(self, record: CardRecord) -> None:
        with self._tx() as tx:
            tx.execute(insert(cards_table).values(
                message_id=record.message_id, request_id=record.request_id, kind=record.kind,
                room_id=record.room_id, recipient=record.recipient, live=record.live))

    def card(self, message_id: str) -> CardRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(cards_table).where(cards_table.c.message_id == message_id)).first()
        return _card(row._mapping) if row else None

    def cards_for(self, request_id: str, kind: str) -> list[CardRecord]:
        query = select(cards_table).where(cards_table.c.request_id == request_id, cards_table.c.kind == kind)
        with self.engine.connect() as connection:
            return [_card(row._mapping) for row in connection.execute(query)]

    def live_cards(self, kinds: Iterable[str]) -> list[CardRecord]:
        """The cards of these kinds whose buttons still work (the sweep withdraws those of settled
        requests)."""
        with self.engine.connect() as connection:
            return [_card(row._mapping) for row in connection.execute(
                select(cards_table).where(cards_table.c.live.is_(True), cards_table.c.kind.in_(list(kinds))))]

    def retire_card(self, message_id: str) -> bool:
        with self._tx() as tx:
            result = tx.execute(update(cards_table)
                                .where(cards_table.c.message_id == message_id, cards_table.c.live.is_(True))
                                .values(live=False))
        return result.rowcount == 1

    # ------------------------------------------------------------------ greetings

    def save_greeting(self, request_id: str, file_name: str, data: bytes) -> None:
        with self._tx() as tx:
            tx.execute(delete(greetings_table).where(greetings_table.c.request_id == request_id))
            tx.execute(insert(greetings_table).values(request_id=request_id, file_name=file_name, data=data))

    def greeting(self, request_id: str) -> tuple[str, bytes] | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(greetings_table.c.file_name, greetings_table.c.data)
                                     .where(greetings_table.c.request_id == request_id)).first()
        return (str(row.file_name), bytes(row.data)) if row else None

    def drop_greetings(self, keep: Iterable[Status]) -> int:
        """Forget the greetings of requests no longer in `keep` (uploaded, or never to be)."""
        wanted = select(requests_table.c.id).where(requests_table.c.status.in_([s.value for s in keep]))
        with self._tx() as tx:
            result = tx.execute(delete(greetings_table).where(greetings_table.c.request_id.not_in(wanted)))
        return int(result.rowcount)

    # ------------------------------------------------------------------ people directory

    def remember_person(self, email: str, person_id: str) -> None:
        email = email.lower()
        with self._tx() as tx:
            updated = tx.execute(update(directory_table).where(directory_table.c.email == email)
                                 .values(person_id=person_id))
            if updated.rowcount == 0:
                tx.execute(insert(directory_table).values(email=email, person_id=person_id))

    def known_person_id(self, email: str) -> str | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(directory_table.c.person_id)
                                     .where(directory_table.c.email == email.lower())).first()
        return str(row.person_id) if row else None

    # ------------------------------------------------------------------ webhook inbox

    def inbox_add(self, key: str, payload: bytes | str, now: datetime) -> bool:
        """Store a verified delivery. False when it was stored before (a redelivery)."""
        text = payload.decode() if isinstance(payload, bytes) else payload
        try:
            with self._tx() as tx:
                tx.execute(insert(inbox_table).values(key=key, received_at=now, payload=text, status="pending",
                                                      attempts=0, next_attempt_at=now, error=""))
        except IntegrityError:
            return False
        return True

    def inbox_claim(self, now: datetime) -> tuple[str, str] | None:
        """Take the oldest due pending event (compare-and-set to `processing`)."""
        with self._tx() as tx:
            candidates = tx.execute(
                select(inbox_table.c.key, inbox_table.c.payload)
                .where(inbox_table.c.status == "pending", inbox_table.c.next_attempt_at <= now)
                .order_by(inbox_table.c.received_at).limit(5)).all()
            for key, payload in candidates:
                taken = tx.execute(update(inbox_table)
                                   .where(inbox_table.c.key == key, inbox_table.c.status == "pending")
                                   .values(status="processing", attempts=inbox_table.c.attempts + 1))
                if taken.rowcount == 1:
                    return str(key), str(payload)
        return None

    def inbox_finish(self, key: str, *, error: str = "", retry_at: datetime | None = None) -> None:
        """Done (no error), failed for good (error, no retry_at), or back to pending until retry_at."""
        status = "done" if not error else ("pending" if retry_at else "failed")
        values: dict[str, Any] = {"status": status, "error": error[:2000]}
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        with self._tx() as tx:
            tx.execute(update(inbox_table).where(inbox_table.c.key == key).values(**values))

    def inbox_attempts(self, key: str) -> int:
        with self.engine.connect() as connection:
            row = connection.execute(select(inbox_table.c.attempts).where(inbox_table.c.key == key)).first()
        return int(row.attempts) if row else 0

    def inbox_requeue_unfinished(self) -> int:
        """At start-up: events a dead process was processing go back to pending."""
        with self._tx() as tx:
            result = tx.execute(update(inbox_table).where(inbox_table.c.status == "processing")
                                .values(status="pending"))
        return int(result.rowcount)

    def inbox_prune(self, before: datetime) -> int:
        """Empty the payloads of events handled before `before`; their keys stay, so a late
        redelivery is still recognised."""
        with self._tx() as tx:
            result = tx.execute(update(inbox_table)
                                .where(inbox_table.c.status.in_(["done", "failed"]),
                                       inbox_table.c.received_at < before, inbox_table.c.payload != "")
                                .values(payload=""))
        return int(result.rowcount)

    def inbox_counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(inbox_table.c.status, inbox_table.c.key)).all()
        counts: dict[str, int] = {}
        for status, _key in rows:
            counts[status] = counts.get(status, 0) + 1
        return counts

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str) -> str | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(settings_table.c.value).where(settings_table.c.key == key)).first()
        return str(row.value) if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as tx:
            updated = tx.execute(update(settings_table).where(settings_table.c.key == key).values(value=value))
            if updated.rowcount == 0:
                tx.execute(insert(settings_table).values(key=key, value=value))

    def swap_setting(self, key: str, change: Callable[[str | None], str | None]) -> str | None:
        """Read and replace one setting in one write transaction (None deletes it); returns the new value."""
        with self._tx() as tx:
            row = tx.execute(select(settings_table.c.value).where(settings_table.c.key == key)
                             .with_for_update()).first()
            old = str(row.value) if row else None
            new = change(old)
            if new == old:
                return new
            if new is None:
                tx.execute(delete(settings_table).where(settings_table.c.key == key))
            elif row is None:
                tx.execute(insert(settings_table).values(key=key, value=new))
            else:
                tx.execute(update(settings_table).where(settings_table.c.key == key).values(value=new))
        return new

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(select(1))


def new_id() -> str:
    return uuid.uuid4().hex


def _detail(values: Mapping[str, Any]) -> dict[str, Any] | None:
    """JSON-ready detail for the audit log (settings as API bodies, times as ISO text)."""
    detail: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("draft", "draft_note"):
            continue  # form drafts are noise in an audit
        if isinstance(value, InterceptSettings):
            value = value.to_stored()
        elif isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        detail[key] = value
    return detail or None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _to_row(request: Request) -> dict[str, Any]:
    return _to_row_partial({name: getattr(request, name) for name in _REQUEST_FIELDS})


def _to_row_partial(changes: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in _REQUEST_FIELDS:
            raise KeyError(f"unknown request field {name}")
        if name in _SETTINGS_FIELDS:
            value = value.to_stored() if isinstance(value, InterceptSettings) else value
        elif name == "status":
            value = Status(value).value
        elif name == "draft":
            value = dict(value)
        row[name] = value
    return row


def _from_row(row: RowMapping) -> Request:
    values = {name: row[name] for name in _REQUEST_FIELDS}
    values["status"] = Status(values["status"])
    for name in _SETTINGS_FIELDS:
        raw = values[name]
        if isinstance(raw, str):  # some drivers hand JSON back as text
            raw = json.loads(raw)
        values[name] = InterceptSettings.from_api(raw) if raw is not None else None
    values["draft"] = dict(values["draft"] or {})
    return Request(**values)


def _card(row: RowMapping) -> CardRecord:
    return CardRecord(message_id=row["message_id"], request_id=row["request_id"], kind=row["kind"],
                      room_id=row["room_id"], recipient=row["recipient"], live=bool(row["live"]))
