"""The migrations on SQLite: a database built by the first revision keeps its rows up to head; the
migrated database is exactly the model (schema.py); a database of a version before migrations is
recognised, brought to the baseline, stamped and upgraded with its rows; `serve` (BotApp) refuses a
database behind the code or ahead of it with one line, and creates an empty one; `intercept-bot db
current / upgrade`. The same on PostgreSQL, with two upgrades at once: tests/pg/test_migrations_on_postgres.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, insert, inspect, select

from bot.adapters.store import SqlStores, migrate
from bot.adapters.store.rows import detail_of, from_row, to_row
from bot.adapters.store.schema import (
    audit_table,
    cards_table,
    directory_table,
    greetings_table,
    inbox_table,
    metadata,
    requests_table,
    settings_table,
)
from bot.app import BotApp, StartupError
from bot.cli import main
from bot.config import Config
from bot.domain.model import InterceptSettings, Request, Status
from bot.domain.values import AuditEvent, CardKind, Reason, Recipient
from tests.unit.test_store import request

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DUE_INDEXES = {f"ix_intercept_requests_status_{name}" for name in ("start_at", "end_at", "retry_at", "updated_at")}
TRIGGERS = {"audit_log_no_update", "audit_log_no_delete"}


# ------------------------------------------------------------------------------- helpers (also used on PostgreSQL)


LATER_COLUMNS = {"lasts"}  # request columns added by revisions after the first


def fill(stores: SqlStores) -> None:
    """A row in every table, as the version of the first revision wrote them: plain inserts into its
    columns, converted as its stores convert (this version's stores also write what later revisions
    added, which a database at the first revision does not have)."""
    status = AuditEvent.STATUS.value
    audit = [
        {"event": status, "source": None, "target": Status.AWAITING_APPROVAL.value, "note": Reason.REQUESTED.text,
         "detail": detail_of({"person_email": "a@example.com"}, Reason.REQUESTED)},
        {"event": status, "source": Status.AWAITING_APPROVAL.value, "target": Status.CANCELLED.value,
         "note": Reason.CANCELLED.text, "detail": detail_of({}, Reason.CANCELLED)},
        {"event": AuditEvent.APPLIED.value, "source": None, "target": None, "note": "", "tracking_id": "T1",
         "detail": detail_of({"after": InterceptSettings(enabled=True)})},
    ]
    with stores.engine.begin() as tx:
        tx.execute(insert(requests_table).values(**baseline_row(request("r1", status=Status.CANCELLED))))
        for row in audit:
            tx.execute(insert(audit_table).values(at=NOW, request_id="r1", person_id="p1", actor_id="p1", **row))
        tx.execute(insert(cards_table).values(message_id="m1", request_id="r1", kind=CardKind.APPROVAL.value,
                                              room_id="room", recipient="bob@example.com", live=True))
        tx.execute(insert(directory_table).values(email="bob@example.com", person_id="p-bob"))
        tx.execute(insert(greetings_table).values(request_id="r1", file_name="hello.wav", data=b"RIFF\x00\x01"))
        tx.execute(insert(settings_table).values(key="some key", value="some value"))
        tx.execute(insert(inbox_table).values(key="messages:1", received_at=NOW, payload='{"id": "1"}',
                                              status="pending", attempts=0, next_attempt_at=NOW, error=""))


def baseline_row(request: Request) -> dict[str, Any]:
    """A request's row as the version of the first revision wrote it."""
    return {k: v for k, v in to_row(request).items() if k not in LATER_COLUMNS}


def read_request(stores: SqlStores) -> Request:
    """The request `fill` wrote, read from whichever columns the database has (a later column: unset)."""
    present = {column["name"] for column in inspect(stores.engine).get_columns("intercept_requests")}
    with stores.engine.connect() as connection:
        row = connection.execute(select(*(c for c in requests_table.c if c.name in present))
                                 .where(requests_table.c.id == "r1")).first()
    assert row is not None
    return from_row({**dict.fromkeys(LATER_COLUMNS), **row._mapping})


def observed(stores: SqlStores) -> dict[str, Any]:
    """What the stores read back of what `fill` wrote."""
    return {
        "request": read_request(stores),
        "history": [(entry.source, entry.target, entry.reason) for entry in stores.requests.history("r1")],
        "audit": [(row["event"], row["target"], row["tracking_id"]) for row in stores.audit.rows(person="p1")],
        "card": stores.cards.get("m1"),
        "person": stores.people.known("bob@example.com"),
        "greeting": stores.greetings.get("r1"),
        "setting": stores.settings.get("some key"),
        "inbox": stores.inbox.counts(),
    }


def check_filled(seen: dict[str, Any]) -> None:
    assert seen["request"].status is Status.CANCELLED and seen["request"].end_at == request().end_at
    assert seen["history"][-1][1:] == (Status.CANCELLED, Reason.CANCELLED)
    assert ("applied", None, "T1") in seen["audit"]
    assert seen["card"].recipient == Recipient.approver("bob@example.com")
    assert (seen["person"], seen["greeting"], seen["setting"]) == ("p-bob", ("hello.wav", b"RIFF\x00\x01"),
                                                                   "some value")
    assert seen["inbox"]["pending"] == 1


def differences(engine: Engine, model: MetaData = metadata) -> list[Any]:
    """What autogenerate would write to bring the database to `model`: nothing, when they agree."""
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), model))


def make_legacy(stores: SqlStores, rows: Callable[[SqlStores], None] = fill) -> None:
    """A database as the versions before migrations left it: the baseline's tables (what their
    `metadata.create_all` made; not today's model, which will grow columns the next revisions add),
    no revision, none of the indexes on the times or the triggers that the newest of them added, and
    the table of pickled timers of the oldest; with rows."""
    migrate.upgrade(stores.engine, migrate.BASELINE)
    rows(stores)
    with stores.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
        for index in DUE_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX {index}")
        if connection.dialect.name == "sqlite":
            for trigger in TRIGGERS:
                connection.exec_driver_sql(f"DROP TRIGGER {trigger}")
        connection.exec_driver_sql("CREATE TABLE scheduler_jobs (id VARCHAR(191) PRIMARY KEY, job_state BYTEA)")


def indexes_and_tables(engine: Engine) -> tuple[set[str], set[str]]:
    found = inspect(engine)
    tables = set(found.get_table_names())
    return {index["name"] or "" for index in found.get_indexes("intercept_requests")}, tables


# ---------------------------------------------------------------------------------------------- on SQLite


@pytest.fixture
def stores(tmp_path: Path) -> SqlStores:
    return SqlStores.at(f"sqlite:///{tmp_path}/bot.db")


@pytest.fixture
def next_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """This version's migrations plus one more (as the next version will have): a revision that
    rebuilds the requests table (SQLite alters by copying) with a column more."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / "9999_next.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = '9999'\ndown_revision = {migrate.head()!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n"
        "    with op.batch_alter_table('intercept_requests', recreate='always') as batch:\n"
        "        batch.add_column(sa.Column('later', sa.String(10)))\n")
    monkeypatch.setattr(migrate, "MIGRATIONS", folder)
    return "9999"


def test_rows_written_at_the_first_revision_are_read_back_at_head(stores: SqlStores) -> None:
    migrate.upgrade(stores.engine, migrate.BASELINE)
    assert migrate.state(stores.engine).current == (migrate.BASELINE,)
    fill(stores)
    before = observed(stores)
    check_filled(before)
    migrate.upgrade(stores.engine)
    assert migrate.state(stores.engine).at_head
    assert observed(SqlStores.at(str(stores.engine.url))) == before


def test_rows_survive_a_revision_that_copies_their_table(stores: SqlStores, next_version: str) -> None:
    migrate.upgrade(stores.engine, migrate.BASELINE)
    fill(stores)
    before = observed(stores)
    assert migrate.upgrade(stores.engine).current == (migrate.BASELINE,)
    assert migrate.state(stores.engine).current == (next_version,)
    assert observed(stores) == before
    assert DUE_INDEXES <= indexes_and_tables(stores.engine)[0]


def test_the_migrated_database_is_the_model(stores: SqlStores) -> None:
    stores.create_schema()
    assert differences(stores.engine) == []
    # and the check sees a column the model has and no revision added
    later = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(later)
    later.tables["intercept_requests"].append_column(Column("later", String(10)))
    assert [d[0] for d in differences(stores.engine, later)] == ["add_column"]


def test_the_audit_log_is_append_only_at_head(stores: SqlStores) -> None:
    stores.create_schema()
    fill(stores)
    for statement in ("UPDATE audit_log SET note = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), stores.engine.begin() as connection:
            connection.exec_driver_sql(statement)


def test_a_database_of_a_version_before_migrations_is_stamped_and_upgraded(stores: SqlStores) -> None:
    make_legacy(stores)
    before = observed(stores)
    found = migrate.state(stores.engine)
    assert found.legacy and found.behind and not found.empty and found.current == ()
    assert migrate.upgrade(stores.engine).legacy
    assert migrate.state(stores.engine).at_head
    assert observed(stores) == before
    indexes, tables = indexes_and_tables(stores.engine)
    assert DUE_INDEXES <= indexes and "scheduler_jobs" not in tables
    with stores.engine.connect() as connection:
        triggers = {row[0] for row in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert triggers == TRIGGERS
    assert differences(stores.engine) == []


def test_half_a_database_is_refused_not_stamped(stores: SqlStores) -> None:
    make_legacy(stores)
    with stores.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE intercept_requests DROP COLUMN extends_id")
        connection.exec_driver_sql("DROP TABLE greetings")
    with pytest.raises(migrate.SchemaError) as refused:
        migrate.upgrade(stores.engine)
    assert str(refused.value) == ("DATABASE_URL: the database has intercept-bot tables but no revision, and lacks "
                                  "greetings, intercept_requests.extends_id: it was not made by a version this one "
                                  "can upgrade")
    found = migrate.state(stores.engine)
    assert found.legacy and "scheduler_jobs" in indexes_and_tables(stores.engine)[1]  # nothing was changed


def test_an_empty_database_is_created_at_head_at_start_up(stores: SqlStores) -> None:
    assert migrate.state(stores.engine).empty
    assert migrate.ready(stores.engine).at_head
    assert differences(stores.engine) == []


def test_start_up_refuses_a_database_behind_the_code_with_one_line(stores: SqlStores, next_version: str) -> None:
    migrate.upgrade(stores.engine, migrate.BASELINE)
    fill(stores)
    app = BotApp(Config(bot_token="bot-token", admin_token="admin-token", webhook_secret="secret",
                        database_url=str(stores.engine.url)))
    with pytest.raises(StartupError) as refused:
        app.start()
    app.stop()
    assert str(refused.value) == (f"DATABASE_URL: the database is at revision {migrate.BASELINE}, this version needs "
                                  f"{next_version}: run `intercept-bot db upgrade`")
    migrate.upgrade(stores.engine)
    assert migrate.ready(stores.engine).at_head
    check_filled(observed(stores))


def test_start_up_and_upgrade_refuse_a_database_a_newer_version_upgraded(stores: SqlStores) -> None:
    stores.create_schema()
    with stores.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00d'")
    line = (f"DATABASE_URL: the database is at revision f00d, which this version does not know (it needs "
            f"{migrate.head()}; a newer version upgraded it): run that version, or restore a backup")
    found = migrate.state(stores.engine)
    assert found.ahead and not found.behind and found.refusal() == line
    for step in (migrate.ready, migrate.upgrade):
        with pytest.raises(migrate.SchemaError) as refused:
            step(stores.engine)
        assert str(refused.value) == line


def test_db_current_and_upgrade(stores: SqlStores, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", str(stores.engine.url))
    make_legacy(stores)
    head = migrate.head()
    assert main(["db", "current"]) == 1
    assert capsys.readouterr().out == (f"no revision (made by a version before migrations): this version needs {head}, "
                                       "run `intercept-bot db upgrade`\n")
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == (f"upgraded the database from no revision (made by a version before migrations) "
                                       f"to revision {head}\n")
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"the database is at revision {head}, this version's: nothing to do\n"
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out == f"{head}: this version's\n"
    check_filled(observed(stores))


def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/no/such/folder/bot.db")
    assert main(["db", "upgrade"]) == 2
    assert capsys.readouterr().err == (f"intercept-bot: DATABASE_URL: the folder {tmp_path}/no/such/folder does "
                                       "not exist\n")
    assert not (tmp_path / "no").exists()


def test_news_an_earlier_version_had_not_told_are_told_after_the_upgrade(stores: SqlStores) -> None:
    """The announcer's cursor of earlier versions becomes a mark per row not told yet: a row told in
    part goes on where it stopped; rows told, and rows older than a day, are not told again."""
    migrate.upgrade(stores.engine, migrate.BASELINE)
    recent, old = datetime.now(UTC), datetime.now(UTC) - timedelta(days=3)
    with stores.engine.begin() as tx:
        tx.execute(insert(requests_table).values(**baseline_row(request("r1"))))
        for number, at in enumerate([old, recent, recent, recent, recent], start=1):
            tx.execute(insert(audit_table).values(id=number, at=at, request_id="r1", person_id="p1",
                                                  event="status", target="awaiting_approval", note=""))
        # as an earlier version left it: rows up to 2 told, row 3's first message out, a try failed
        tx.execute(insert(settings_table).values(key="announced_up_to", value="2:3:1:1"))
    migrate.upgrade(stores.engine)
    untold = stores.audit.untold(datetime.now(UTC), hold=timedelta(minutes=5), limit=10)
    assert [(row.entry.id, row.sent, row.tries) for row in untold] == [(3, 1, 1), (4, 0, 0), (5, 0, 0)]
    assert stores.settings.get("announced_up_to") is None


def test_an_oldest_version_s_progress_and_no_cursor_at_all(stores: SqlStores) -> None:
    migrate.upgrade(stores.engine, migrate.BASELINE)
    with stores.engine.begin() as tx:
        tx.execute(insert(requests_table).values(**baseline_row(request("r1"))))
        for number in (1, 2):
            tx.execute(insert(audit_table).values(id=number, at=datetime.now(UTC), request_id="r1", person_id="p1",
                                                  event="status", target="awaiting_approval", note=""))
        tx.execute(insert(settings_table).values(key="announce_progress", value="2:1:3"))
    migrate.upgrade(stores.engine)
    untold = stores.audit.untold(datetime.now(UTC), hold=timedelta(minutes=5), limit=10)
    assert [(row.entry.id, row.sent, row.tries) for row in untold] == [(1, 0, 0), (2, 1, 3)]
