"""The database a test gets: a SQLite file of its own, or, with `INTERCEPT_TEST_DATABASE=postgresql`,
a database of its own on a throwaway PostgreSQL server.

The server runs from the Debian `postgresql` package's binaries in a temporary folder, on a Unix
socket there (no TCP port to pick, nor for another process to take), as the `postgres` user when
the tests run as root (PostgreSQL refuses to run as root). One server serves the whole pytest run:
it starts when a test first needs it and is thrown away at the end (tests/conftest.py). Each test
gets its own database on it (`CREATE DATABASE`, about 0.1 s), so nothing is shared between tests –
not tables, not advisory locks – and a bot restarted within a test finds its database again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

SWITCH = "INTERCEPT_TEST_DATABASE"
BACKENDS = ("sqlite", "postgresql")
BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def backend() -> str:
    """The database the tests that use one run on: `sqlite` (the default) or `postgresql`."""
    chosen = os.environ.get(SWITCH, "").strip().lower() or "sqlite"
    if chosen not in BACKENDS:
        raise pytest.UsageError(f"{SWITCH} must be one of {', '.join(BACKENDS)}, not {chosen!r}")
    return chosen


def on_postgresql() -> bool:
    return backend() == "postgresql"


def _binary(name: str) -> str:
    for folder in BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"PostgreSQL's {name} is missing: run `apt-get install postgresql`", pytrace=False)
    return found


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PgServer:
    """A PostgreSQL server in a temporary folder; `new_database()` for each test, `stop()` at the end."""

    def __init__(self, *, fsync: bool = False) -> None:
        """`fsync`: as in production (the benchmarks); the tests run without (faster, nothing to keep)."""
        try:
            import psycopg  # noqa: F401
        except ImportError:
            pytest.fail("psycopg is missing: install the project with its test extras (pip install -e '.[test]')",
                        pytrace=False)
        self.folder = Path(tempfile.mkdtemp(prefix="intercept-bot-pg-"))
        os.chmod(self.folder, 0o777)  # the server user must be able to use it
        self.data = self.folder / "data"
        subprocess.run(_as_server_user([_binary("initdb"), "-D", str(self.data), "-U", "bot", "--auth=trust",
                                        "-E", "UTF8"]), check=True, capture_output=True)
        subprocess.run(_as_server_user([_binary("pg_ctl"), "-D", str(self.data), "-w", "-l",
                                        str(self.folder / "log"), "-o",
                                        f"-k {self.folder} -c listen_addresses='' -c fsync={'on' if fsync else 'off'}",
                                        "start"]),
                       check=True, capture_output=True)
        self.url = f"postgresql+psycopg://bot@/postgres?host={self.folder}"
        self.created: list[str] = []
        self._admin: Engine | None = None

    @property
    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        return self._admin

    def new_database(self) -> str:
        """A new, empty database's URL."""
        name = "t" + uuid.uuid4().hex[:16]
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        self.created.append(name)
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def drop_databases(self, names: list[str]) -> None:
        """Drop those databases, ending any session still connected to them."""
        with self.admin.connect() as connection:
            for name in names:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                self.created.remove(name)

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
        subprocess.run(_as_server_user([_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


_server: PgServer | None = None


def server() -> PgServer:
    """The run's PostgreSQL server, started on first use."""
    global _server
    if _server is None:
        _server = PgServer()
    return _server


def running_server() -> PgServer | None:
    return _server


def stop_server() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None


def new_database(folder: Path, name: str = "bot.db") -> str:
    """A new, empty database for a test, as a `DATABASE_URL`: a SQLite file in `folder`, or with
    `INTERCEPT_TEST_DATABASE=postgresql` a database of its own on the run's PostgreSQL server."""
    if on_postgresql():
        return server().new_database()
    return f"sqlite:///{folder / name}"


def in_schema(url: str, schema: str) -> str:
    """A PostgreSQL URL with `schema` as the search path (for tests that share one database)."""
    return make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
