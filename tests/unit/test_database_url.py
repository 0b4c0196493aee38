"""DATABASE_URL: a URL the bot cannot use stops `intercept-bot` with one line naming it (at
configuration time where the URL tells, at start-up where only connecting does), and the commands
that only read (`audit`) never create a database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.adapters.store import SqlStores
from bot.config import ConfigError, database_url, load

BASE = {"WEBEX_BOT_TOKEN": "bot-token-123", "WEBEX_ADMIN_TOKEN": "admin-token-456",
        "WEBEX_WEBHOOK_SECRET": "secret-789", "INTERCEPT_APPROVERS": "bob@example.com"}


def one_line_naming_database_url(message: str) -> None:
    assert message.startswith("DATABASE_URL"), message
    assert "\n" not in message and "pw-secret" not in message


@pytest.mark.parametrize(("url", "says"), [
    ("foo://x", "cannot use ('foo')"),
    ("mysql://u:pw-secret@db.example.com/bot", "SQLite or PostgreSQL only"),
    ("sqlite:////no/such/folder/bot.db", "the folder /no/such/folder does not exist"),
    ("sqlite://", "in-memory"),
    ("sqlite:///:memory:", "in-memory"),
])
def test_a_url_the_bot_cannot_use_is_refused_when_the_configuration_is_read(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load({**BASE, "DATABASE_URL": url})
    one_line_naming_database_url(str(raised.value))
    assert says in str(raised.value)


def test_a_postgresql_url_without_its_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the postgres extra were not installed
    with pytest.raises(ConfigError) as raised:
        database_url({"DATABASE_URL": "postgresql://bot:pw-secret@db.example.com/bot"})
    one_line_naming_database_url(str(raised.value))
    assert "psycopg" in str(raised.value) and "intercept-bot[postgres]" in str(raised.value)


def test_postgresql_urls_without_a_driver_get_the_one_the_postgres_extra_installs() -> None:
    for given in ("postgres://bot:pw@db.example.com/bot", "postgresql://bot:pw@db.example.com/bot"):
        assert database_url({"DATABASE_URL": given}) == "postgresql+psycopg://bot:pw@db.example.com/bot"
    assert database_url({}) == "sqlite:///intercept-bot.db"


# ---------------------------------------------------------------------------------- the command


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`intercept-bot ARGS` in `tmp_path`, with only `env` set (no .env is there)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WEBEX_", "INTERCEPT_", "DATABASE_"))}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def refused_in_one_line(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("intercept-bot: DATABASE_URL") and says in done.stderr, done.stderr
    assert "pw-secret" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize(("url", "says"), [
    ("foo://x", "cannot use"),
    ("sqlite:///missing-folder/bot.db", "missing-folder does not exist"),
    # only connecting can tell: nobody listens on port 1
    ("postgresql://bot:pw-secret@127.0.0.1:1/bot", "cannot open the database at postgresql+psycopg://bot:***@"),
])
def test_serve_stops_with_one_line_naming_database_url(tmp_path: Path, url: str, says: str) -> None:
    done = run(tmp_path, "serve", "--port", "0", **BASE, DATABASE_URL=url)
    refused_in_one_line(done, says)
    assert list(tmp_path.iterdir()) == []


def test_serve_on_a_sqlite_file_it_cannot_open(tmp_path: Path) -> None:
    (tmp_path / "bot.db").write_bytes(b"this is not a database, just some text that is long enough" * 20)
    done = run(tmp_path, "serve", "--port", "0", **BASE, DATABASE_URL="sqlite:///bot.db")
    refused_in_one_line(done, f"cannot open the database at {tmp_path / 'bot.db'}: file is not a database")


def test_audit_in_the_wrong_folder_creates_nothing(tmp_path: Path) -> None:
    done = run(tmp_path, "audit")  # the default DATABASE_URL: ./intercept-bot.db
    refused_in_one_line(done, f"no database at {tmp_path / 'intercept-bot.db'}")
    assert list(tmp_path.iterdir()) == []
    refused_in_one_line(run(tmp_path, "audit", DATABASE_URL="foo://x"), "cannot use")


def test_audit_of_a_database_that_is_not_the_bots_changes_it_not(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text)")
    connection.close()
    before = other.read_bytes()
    refused_in_one_line(run(tmp_path, "audit", DATABASE_URL="sqlite:///other.db"),
                        f"{other} holds no intercept-bot tables")
    assert other.read_bytes() == before


def test_audit_reads_the_bots_database_without_writing_to_it(tmp_path: Path) -> None:
    stores = SqlStores.at(f"sqlite:///{tmp_path / 'bot.db'}")
    stores.create_schema()
    stores.engine.dispose()
    before = (tmp_path / "bot.db").read_bytes()
    done = run(tmp_path, "audit", "--format", "csv", DATABASE_URL="sqlite:///bot.db")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("at,request_id,person_email")
    assert (tmp_path / "bot.db").read_bytes() == before
