"""`intercept-bot serve` on a database the code is ahead of (here: one made by a version before
migrations) stops at start-up with one line naming the command to run; `intercept-bot db upgrade`
brings it to this version's schema, and then `serve` starts on it with its rows."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from bot.adapters.store import SqlStores, migrate
from bot.adapters.store.rows import detail_of
from bot.adapters.store.schema import audit_table, requests_table
from bot.domain.model import Status
from bot.domain.values import Reason
from tests.e2e.harness import BotProcess, Chat, People, bot_command, http
from tests.unit.test_migrations import baseline_row, make_legacy
from tests.unit.test_store import request

EARLIER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def a_finished_request(stores: SqlStores) -> None:
    """A request of the earlier version that has nothing left to do, as that version wrote it."""
    done = request("earlier", person_id="p-earlier", status=Status.CANCELLED, created_at=EARLIER, updated_at=EARLIER)
    with stores.engine.begin() as tx:
        tx.execute(insert(requests_table).values(**baseline_row(done)))
        for source, target, reason in ((None, Status.AWAITING_APPROVAL, Reason.REQUESTED),
                                       (Status.AWAITING_APPROVAL, Status.CANCELLED, Reason.CANCELLED)):
            tx.execute(insert(audit_table).values(
                at=EARLIER, request_id="earlier", person_id="p-earlier", actor_id="p-earlier", event="status",
                source=source.value if source else None, target=target.value, note=reason.text,
                detail=detail_of({}, reason)))


def test_serve_refuses_a_database_behind_the_code_until_db_upgrade(world: tuple[object, People, Chat],
                                                                   tmp_path: Path) -> None:
    emu, people, _chat = world
    bot = BotProcess(emu, people, tmp_path, approvers="bob@example.com")  # type: ignore[arg-type]
    stores = SqlStores.at(bot.env["DATABASE_URL"])
    make_legacy(stores, a_finished_request)
    stores.engine.dispose()
    head = migrate.head()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*bot_command(), *args], env=bot.env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=60)

    refused = run("serve", "--host", "127.0.0.1", "--port", str(bot.port))
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.splitlines() == [
        f"intercept-bot: DATABASE_URL: the database was made by a version before migrations, this version needs "
        f"revision {head}: run `intercept-bot db upgrade`"]
    assert http("GET", bot.base + "/healthz") == 0  # nothing listens

    upgraded = run("db", "upgrade")
    assert (upgraded.returncode, upgraded.stderr) == (0, "")
    assert upgraded.stdout == f"upgraded the database from no revision (made by a version before migrations) " \
                              f"to revision {head}\n"
    bot.pin_clock()
    bot.start()
    try:
        assert http("GET", bot.base + "/healthz") == 200
        assert [(row["event"], row["target"]) for row in bot.audit("--person", "p-earlier")] == [
            ("status", "awaiting_approval"), ("status", "cancelled")]
    finally:
        assert bot.stop() == 0
    assert "Traceback" not in bot.log()
