"""The database's schema version, and upgrading it (Alembic, driven from here: no alembic.ini at run
time; the revisions are in `migrations/versions/`, shipped in the package).

- `state(engine)`: where the database is (its revision, this version's head, empty, earlier, newer).
- `upgrade(engine)`: to head (or a given revision), under a lock (PostgreSQL: an advisory lock;
  SQLite: its write lock), in one transaction. A database made by a version before migrations
  (its tables, no revision) is first brought to what the baseline makes and stamped with it.
- `ready(engine)`: what `serve` does at start-up: an empty database is created at head; any other
  that is not at head stops it with one line saying what to run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, exc, inspect

from bot.adapters.store.schema import WRITE_OPTION, metadata

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATIONS_LOCK = 7_411_001  # PostgreSQL advisory lock key: one upgrade at a time (schema.py lists the others)
BASELINE = "0001"
UPGRADE = "run `intercept-bot db upgrade`"


class SchemaError(Exception):
    """The database is not one this version can work on as it is; the text is one line for the operator."""


class DatabaseUnavailable(Exception):
    """The database cannot be opened; the text is one line for the operator."""


@contextmanager
def _connect(engine: Engine) -> Iterator[Connection]:
    try:
        connection = engine.connect()
    except exc.DBAPIError as error:
        reason = str(error.orig if error.orig is not None else error).strip().splitlines() or ["unknown error"]
        raise DatabaseUnavailable(f"DATABASE_URL: cannot open the database: {reason[0]}") from None
    with connection:
        yield connection


@dataclass(frozen=True)
class SchemaState:
    current: tuple[str, ...]  # the revisions the database is stamped with (none: empty, or made before migrations)
    head: str  # what this version needs
    empty: bool  # none of the bot's tables: nothing to keep
    unknown: tuple[str, ...] = ()  # revisions this version does not have: a newer version ran

    @property
    def at_head(self) -> bool:
        return self.current == (self.head,)

    @property
    def legacy(self) -> bool:
        """Tables of a version before migrations, and no revision."""
        return not self.current and not self.empty

    @property
    def ahead(self) -> bool:
        return bool(self.unknown)

    @property
    def behind(self) -> bool:
        return not self.empty and not self.at_head and not self.ahead

    def describe(self) -> str:
        if self.empty:
            return "empty"
        if self.legacy:
            return "no revision (made by a version before migrations)"
        return ", ".join(self.current)

    def refusal(self) -> str | None:
        """Why `serve` cannot start on it, in one line; None when it can (at head, or empty)."""
        if self.ahead:
            return (f"DATABASE_URL: the database is at revision {self.describe()}, which this version does not know "
                    f"(it needs {self.head}; a newer version upgraded it): run that version, or restore a backup")
        if self.legacy:
            return (f"DATABASE_URL: the database was made by a version before migrations, this version needs revision "
                    f"{self.head}: {UPGRADE}")
        if self.behind:
            return (f"DATABASE_URL: the database is at revision {self.describe()}, this version needs {self.head}: "
                    f"{UPGRADE}")
        return None


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection  # env.py runs the migrations on it
    return config


def head() -> str:
    found = ScriptDirectory.from_config(_config()).get_current_head()
    if found is None:
        raise RuntimeError(f"no revision in {MIGRATIONS / 'versions'}")
    return found


def state(engine: Engine) -> SchemaState:
    with _connect(engine) as connection:
        return _state(connection)


def _state(connection: Connection) -> SchemaState:
    script = ScriptDirectory.from_config(_config())
    known = {revision.revision for revision in script.walk_revisions()}
    current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    ours = set(inspect(connection).get_table_names()) & set(metadata.tables)
    return SchemaState(current=current, head=str(script.get_current_head()), empty=not current and not ours,
                       unknown=tuple(revision for revision in current if revision not in known))


def ready(engine: Engine) -> SchemaState:
    """Start-up: an empty database (a first start, the sandbox, a test) is created at head; one
    behind this version, made before migrations or by a newer version raises SchemaError."""
    found = state(engine)
    if found.empty:
        upgrade(engine)  # another process creating it at the same moment is waited for, then finds it done
        return state(engine)
    problem = found.refusal()
    if problem:
        raise SchemaError(problem)
    return found


def upgrade(engine: Engine, target: str = "head") -> SchemaState:
    """Brings the database to `target`, in one transaction that takes the upgrade lock first (a
    second process upgrading at the same time waits, then finds nothing left to do). Returns the
    state it found."""
    try:
        return _upgrade(engine, target)
    except exc.OperationalError as error:  # e.g. a SQLite file the bot's user may read but not write
        reason = str(error.orig if error.orig is not None else error).strip().splitlines() or ["unknown error"]
        raise DatabaseUnavailable(f"DATABASE_URL: cannot change the database: {reason[0]}") from None


def _upgrade(engine: Engine, target: str) -> SchemaState:
    with _connect(engine) as connection:
        connection.execution_options(**{WRITE_OPTION: True})  # SQLite: BEGIN IMMEDIATE, its write lock
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATIONS_LOCK})")
            found = _state(connection)
            if found.ahead:
                raise SchemaError(str(found.refusal()))
            config = _config(connection)
            if found.legacy:
                _adopt(connection)
                command.stamp(config, BASELINE)
            command.upgrade(config, target)
            now = _state(connection)
    if now.current != found.current:
        log.info("database upgraded from %s to revision %s", found.describe(), now.describe())
    return found


def _adopt(connection: Connection) -> None:
    """A database of a version before migrations becomes what the baseline makes: the indexes on
    the request rows' times and the audit log's triggers are added where missing, the pickled
    scheduler jobs of older versions dropped. Tables or columns it lacks mean it is not one of
    those versions' databases (or half of one): refused, not guessed at."""
    found = inspect(connection)
    tables = set(found.get_table_names())
    expected = _baseline_columns()
    missing = sorted(f"{table}" for table in expected if table not in tables)
    missing += sorted(f"{table}.{column}" for table in expected if table in tables
                      for column in expected[table] - {c["name"] for c in found.get_columns(table)})
    if missing:
        raise SchemaError(f"DATABASE_URL: the database has intercept-bot tables but no revision, and lacks "
                          f"{', '.join(missing)}: it was not made by a version this one can upgrade")
    for name in ("start_at", "end_at", "retry_at", "updated_at"):
        connection.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS ix_intercept_requests_status_{name} "
                                   f"ON intercept_requests (status, {name})")
    if connection.dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            connection.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
    connection.exec_driver_sql("DROP TABLE IF EXISTS scheduler_jobs")


def _baseline_columns() -> dict[str, set[str]]:
    """The tables and columns the baseline revision makes, read off a scratch database it built."""
    scratch = create_engine("sqlite://")
    try:
        with scratch.begin() as connection:
            command.upgrade(_config(connection), BASELINE)
            found = inspect(connection)
            return {table: {c["name"] for c in found.get_columns(table)}
                    for table in found.get_table_names() if table != "alembic_version"}
    finally:
        scratch.dispose()
