"""The migrations on PostgreSQL (the same checks as tests/unit/test_migrations.py on SQLite): rows
written at the first revision are read back at head, the migrated database is the model, a database
of a version before migrations is stamped and upgraded; and two `intercept-bot db upgrade` processes
at once both succeed, one after the other (an advisory lock)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text

from bot.adapters.store import SqlStores, make_engine, migrate
from tests.e2e.harness import bot_command, wait_until
from tests.pg.conftest import in_schema
from tests.unit.test_migrations import (
    DUE_INDEXES,
    check_filled,
    differences,
    fill,
    indexes_and_tables,
    make_legacy,
    observed,
)


@pytest.fixture
def stores(pg_url: str) -> Iterator[SqlStores]:
    """The stores on a schema of their own, with no table in it."""
    schema = "m" + uuid.uuid4().hex[:12]
    admin = make_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    stores = SqlStores.at(in_schema(pg_url, schema))
    yield stores
    stores.engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def test_rows_written_at_the_first_revision_are_read_back_at_head(stores: SqlStores) -> None:
    assert migrate.state(stores.engine).empty
    migrate.upgrade(stores.engine, migrate.BASELINE)
    fill(stores)
    before = observed(stores)
    check_filled(before)
    migrate.upgrade(stores.engine)
    assert migrate.state(stores.engine).at_head
    assert observed(stores) == before


def test_the_migrated_database_is_the_model(stores: SqlStores) -> None:
    stores.create_schema()
    assert differences(stores.engine) == []
    assert DUE_INDEXES <= indexes_and_tables(stores.engine)[0]


def test_a_database_of_a_version_before_migrations_is_stamped_and_upgraded(stores: SqlStores) -> None:
    make_legacy(stores)
    before = observed(stores)
    assert migrate.state(stores.engine).legacy
    with pytest.raises(migrate.SchemaError, match="made by a version before migrations"):
        migrate.ready(stores.engine)
    assert migrate.upgrade(stores.engine).legacy
    assert migrate.state(stores.engine).at_head
    assert observed(stores) == before
    indexes, tables = indexes_and_tables(stores.engine)
    assert DUE_INDEXES <= indexes and "scheduler_jobs" not in tables
    assert differences(stores.engine) == []


def test_two_upgrades_at_once_both_succeed(stores: SqlStores, pg_url: str) -> None:
    """Both processes start while the upgrade lock is held elsewhere, so they truly meet at it; when
    it is let go, one upgrades and the other waits for it and finds nothing left to do."""
    env = {**os.environ, "DATABASE_URL": stores.engine.url.render_as_string(hide_password=False)}
    holder = make_engine(pg_url)
    with holder.connect() as connection:
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({migrate.MIGRATIONS_LOCK})")
        upgrades = [subprocess.Popen([*bot_command(), "db", "upgrade"], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            wait_until(lambda: _waiting(connection) == 2 or any(p.poll() is not None for p in upgrades),
                       timeout=60, what="both upgrades to wait for the lock")
            assert _waiting(connection) == 2, [p.poll() for p in upgrades]
        finally:
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({migrate.MIGRATIONS_LOCK})")
            connection.commit()
        results = [(p.wait(60), *p.communicate()) for p in upgrades]
    holder.dispose()
    assert [code for code, _out, _err in results] == [0, 0], results
    said = sorted(out for _code, out, _err in results)
    head = migrate.head()
    assert said == [f"the database is at revision {head}, this version's: nothing to do\n",
                    f"upgraded the database from empty to revision {head}\n"]
    assert migrate.state(stores.engine).at_head and differences(stores.engine) == []


def _waiting(connection: Connection) -> int:
    """How many sessions wait for the upgrade lock."""
    return int(connection.exec_driver_sql(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = "
        f"{migrate.MIGRATIONS_LOCK}").scalar_one())
