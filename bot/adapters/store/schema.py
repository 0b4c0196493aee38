"""The tables, the engine and its transactions. SQLite by default (WAL, busy timeout, short
transactions), PostgreSQL by URL.

These tables are the model; the database is built and changed by the migrations (`migrate.py`,
`migrations/versions/`): a change here needs a revision there (a test compares the two).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.pool import ConnectionPoolEntry


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones): stored as ISO text, which
    sorts in time order."""

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
# what is due is found by status and time (bot.domain.schedule): one index per time a rule reads
DUE_INDEXES = tuple(Index(f"ix_intercept_requests_status_{name}", requests_table.c.status, requests_table.c[name])
                    for name in ("start_at", "end_at", "retry_at", "updated_at"))

audit_table = Table(
    # Append-only (SQLite triggers refuse UPDATE and DELETE): every status change of every request
    # (event "status", with who, why, and its Reason as `detail.move_reason`), and every change the bot made in
    # Webex or failed to make (events "applied", "reverted", "greeting uploaded", "webex error"),
    # with settings before and after and Webex's tracking id. `intercept-bot audit` prints it.
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

WRITE_OPTION = "intercept_bot_write"
WRITERS_LOCK = 7_411_000  # PostgreSQL advisory lock key: one writer at a time


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


class Database:
    """The engine, and its two kinds of transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
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

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    def ping(self) -> None:
        with self.read() as connection:
            connection.execute(select(1))

