"""The tables, the engine and its transactions. SQLite by default (WAL, busy timeout, short
transactions), PostgreSQL by URL.

These tables are the model; the database is built and changed by the migrations (`migrate.py`,
`migrations/versions/`): a change here needs a revision there (a test compares the two).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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
    literal_column,
    select,
    text,
)
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.selectable import Exists

log = logging.getLogger(__name__)


def utc_text(value: datetime) -> str:
    """How a datetime is stored: ISO text in UTC, to the microsecond (sorts in time order)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones): stored as ISO text, which
    sorts in time order."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return utc_text(value)

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
    Column("lasts", String(40)),  # bot.domain.values.Duration.to_text()
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

news_table = Table(
    # The audit rows not told yet (`bot.domain.announce`): one per audit row, written in the same
    # transaction, removed once its messages are sent. A flush claims rows (`claimed_by` the process,
    # `claimed_until` a while; `FOR UPDATE SKIP LOCKED` on PostgreSQL), so several processes tell each
    # row once, and a row that commits late is still told: nothing is read by a cursor.
    "audit_news", metadata,
    Column("audit_id", Integer(), primary_key=True, autoincrement=False),
    Column("request_id", String(64), nullable=False, index=True),
    Column("sent", Integer(), nullable=False, default=0),  # of the row's messages, sent
    Column("tries", Integer(), nullable=False, default=0),  # failed tries of the next one
    Column("claimed_until", UTCDateTime()),
    Column("claimed_by", String(40)),  # the process (`owner`) that holds the claim
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
    Column("status", String(16), nullable=False),  # pending, processing, done, failed
    Column("attempts", Integer(), nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("error", Text(), nullable=False, default=""),
    Column("owner", String(40)),  # the process handling it (status processing): see SqlInbox
    # a claim takes the oldest pending event: walked in this order, not sorted
    Index("ix_webhook_inbox_status_received_at", "status", "received_at"),
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
# PostgreSQL session advisory locks, (class, key): one per live process (its key is its `owner`
# on the inbox rows it handles), the timers' leader, and one per person (bot.adapters.locks); and
# one (a single bigint key) while the schema is upgraded (migrate.MIGRATIONS_LOCK).
INSTANCE_LOCKS = 7411
LEADER_LOCK = (7412, 1)
PERSON_LOCKS = 7413
PERSON_LOCK_WAIT = 120  # seconds a step waits for a person's lock before it fails (and is tried again later)


def instance_alive(owner: ColumnElement[Any]) -> Exists:
    """PostgreSQL: whether the process named `owner` (the key of its instance lock) is alive, that
    is, holds its session advisory lock (the database drops it with a dead process's connection)."""
    held: Select[int] = select(literal_column("1", Integer)).select_from(text("pg_locks")).where(
        text("locktype = 'advisory' AND classid = :space AND objsubid = 2 AND granted "
             "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        .bindparams(space=INSTANCE_LOCKS),
        literal_column("objid::text") == owner)
    return held.exists()


# PostgreSQL (libpq): a dead link to the database is noticed within seconds, not minutes
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
              "tcp_user_timeout": 10_000, "connect_timeout": 10}
# ... and the server notices a vanished process the same way, so the locks (row, advisory) that its
# sessions held are let go within about 11 s, not the operating system's two hours (these are each
# session's own settings; PostgreSQL ignores them on a Unix socket, where a dead peer is seen at once)
SERVER_KEEPALIVES = ("tcp_keepalives_idle = 5", "tcp_keepalives_interval = 2", "tcp_keepalives_count = 3",
                     "tcp_user_timeout = 10000")


def postgres_engine(url: str | URL, *, settings: tuple[str, ...] = (), **options: Any) -> Engine:
    """An engine for PostgreSQL whose every connection has the keepalives above, and `settings`."""
    engine = create_engine(url, connect_args=KEEPALIVES, **options)

    @event.listens_for(engine, "connect")
    def _session(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        with dbapi_connection.cursor() as cursor:
            for setting in (*SERVER_KEEPALIVES, *settings):
                cursor.execute(f"SET {setting}")
        dbapi_connection.commit()  # a SET in a transaction rolled back would be undone

    return engine


class DatabaseUnavailable(Exception):
    """The database cannot be opened, or holds no intercept-bot tables; the text is one line,
    without the password."""


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign-thread use. `read_only`
    (the operator's commands that only read): a SQLite file is opened read-only and must exist
    (`DatabaseUnavailable` if it does not), so nothing is ever created."""
    if not url.startswith("sqlite"):
        return postgres_engine(url, pool_pre_ping=True)
    engine = create_engine(_read_only_sqlite(url) if read_only else url,
                           connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" hook below starts transactions
        cursor = dbapi_connection.cursor()
        if not read_only:  # the journal mode is written into the file
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        # A write transaction takes the write lock up front (IMMEDIATE): two read-then-write
        # transactions then wait for each other (busy timeout) instead of one failing with
        # "database is locked". Reads begin deferred and, with WAL, never wait for a writer.
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
    return engine


def _read_only_sqlite(url: str) -> URL:
    """The SQLite URL as a read-only `file:` URI (mode=ro: SQLite creates no database file)."""
    parsed = make_url(url)
    if parsed.query.get("uri") in ("true", "1"):
        return parsed.update_query_dict({"mode": "ro"})
    path = Path(parsed.database or "").absolute()
    if not parsed.database or parsed.database == ":memory:" or not path.is_file():
        raise DatabaseUnavailable(f"no database at {path if parsed.database else 'an in-memory SQLite'}")
    return parsed.set(database=path.as_uri(), query={**parsed.query, "mode": "ro", "uri": "true"})


def describe(error: BaseException, url: str) -> str:
    """An error from the database driver in one line (its own words), without the password."""
    cause = getattr(error, "orig", None) or error
    text = " ".join(str(cause).split()) or type(cause).__name__
    password = make_url(url).password
    return (text.replace(str(password), "***") if password else text)[:300]


def where(url: str) -> str:
    """The database, as the operator knows it: the SQLite file, else the URL without its password."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return parsed.render_as_string(hide_password=True)
    if parsed.query.get("uri") in ("true", "1") and name.startswith("file:"):
        name = unquote(urlsplit(name).path)
    return str(Path(name).absolute())


CHECKPOINT_SECONDS = 1.0


def _no_auto_checkpoint(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


class Database:
    """The engine, and its two kinds of transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite: this process's writers wait for their turn here, woken the moment the last one
        # commits; in SQLite's busy handler they would sleep up to 100 ms between looks (a webhook's
        # answer waited that long behind a worker's write). One process per SQLite file: see leader.
        self._turn: AbstractContextManager[Any] = threading.RLock() if engine.dialect.name == "sqlite" \
            else nullcontext()

    def checkpoint_in_background(self, every: float = CHECKPOINT_SECONDS) -> Callable[[], None]:
        """SQLite: the write-ahead log is copied into the database by a thread of its own every
        `every` seconds, instead of by whichever commit crosses SQLite's 1,000-page mark (that
        commit then synced the database file while every other writer, a webhook's answer among
        them, waited its turn). With `synchronous=NORMAL` the log is synced to disk only there, so
        this also bounds what a power loss can cost to the commits of the last `every` seconds (a
        killed process loses none: they are in the operating system's hands). Call it before other
        threads use the engine (it adds a listener to how connections open). Returns how to stop."""
        if self.postgres:
            return lambda: None
        event.listen(self.engine, "connect", _no_auto_checkpoint)
        self.engine.dispose()  # the pooled connections open again without the automatic checkpoint
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every):
                try:
                    with self.engine.connect() as connection:  # passive: never waits for, or holds up, a writer
                        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
                except Exception:
                    log.exception("SQLite checkpoint failed (the next commit that fills the log does it)")

        thread = threading.Thread(target=run, name="sqlite-checkpoint", daemon=True)
        thread.start()

        def halt() -> None:  # the listener stays: other threads may be opening connections
            stop.set()
            thread.join(10)
        return halt

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction. On SQLite writers take turns (the write lock is taken up front, see
        make_engine); on PostgreSQL they run side by side (read committed), so every read-then-write
        step guards itself: a compare-and-set `UPDATE ... WHERE status = ...`, `SELECT ... FOR UPDATE`
        (SKIP LOCKED where any free row will do), or a retry when an insert lost a race."""
        with self._turn, self.engine.connect() as connection:  # the turn first: one connection for writers
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def locks_engine(self) -> Engine:
        """PostgreSQL: connections that hold session advisory locks (autocommit, so a lock held
        for long is no idle transaction; a pool of their own, never exhausted)."""
        return postgres_engine(self.engine.url, settings=(f"lock_timeout = '{PERSON_LOCK_WAIT}s'",),
                               isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=-1, pool_pre_ping=True)

    def ping(self) -> None:
        with self.read() as connection:
            connection.execute(select(1))

