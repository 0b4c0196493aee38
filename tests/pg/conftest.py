"""A throwaway PostgreSQL server for the tests that prove the store works there too.

It runs from the Debian `postgresql` package's binaries in a temporary folder, on a Unix socket
there (no TCP port), as the `postgres` user when the tests run as root (PostgreSQL refuses to run
as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


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


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg is missing: install the project with its test extras (pip install -e '.[test]')",
                    pytrace=False)
    folder = Path(tempfile.mkdtemp(prefix="intercept-bot-pg-"))
    os.chmod(folder, 0o777)  # the server user must be able to use it
    data = folder / "data"
    subprocess.run(_as_server_user([_binary("initdb"), "-D", str(data), "-U", "bot", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True)
    subprocess.run(_as_server_user([_binary("pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                                    f"-k {folder} -c listen_addresses='' -c fsync=off", "start"]),
                   check=True, capture_output=True)
    try:
        # a Unix socket in a private folder only: no TCP port to pick, nor for another process to take
        yield f"postgresql+psycopg://bot@/postgres?host={folder}"
    finally:
        subprocess.run(_as_server_user([_binary("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def in_schema(pg_url: str, schema: str) -> str:
    """The server's URL with `schema` as the search path: each test gets its own tables."""
    url = make_url(pg_url)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
