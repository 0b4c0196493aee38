"""What the test folders share: the database each test gets (tests/pgserver.py) and the
PostgreSQL pass.

`pytest` runs everything on SQLite (tests/pg on PostgreSQL always). With
`INTERCEPT_TEST_DATABASE=postgresql` (`make test-pg`) it runs only the tests that use a database –
the real server process in tests/e2e and tests/faults, and every test that takes the
`database_url` fixture or is marked `database` – each on a database of its own on a throwaway
PostgreSQL server. Tests marked `sqlite_only(reason=...)` are about SQLite itself: they are left
out of that pass and listed, with their reasons, at the end of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import pgserver

TESTS = Path(__file__).parent
SERVER_SUITES = ("e2e", "faults")  # every test there starts the bot (tests/e2e/harness.py) on its own database
LEFT_OUT: list[tuple[str, str]] = []  # (test, why) of the PostgreSQL pass
RAN: list[int] = []


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The run's PostgreSQL server (its `postgres` database), for the tests that always run there."""
    return pgserver.server().url


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A new, empty database for this test: SQLite, or PostgreSQL with INTERCEPT_TEST_DATABASE=postgresql."""
    return pgserver.new_database(tmp_path)


@pytest.fixture(autouse=True)
def _drop_the_tests_own_databases() -> Iterator[None]:
    """The PostgreSQL databases a test made are dropped after it (each is a few MB)."""
    server = pgserver.running_server()
    before = len(server.created) if server else 0
    yield
    server = pgserver.running_server()
    if server is not None and len(server.created) > before:
        server.drop_databases(server.created[before:])


def pytest_sessionfinish(session: pytest.Session) -> None:
    pgserver.stop_server()


def uses_database(item: pytest.Item) -> bool:
    suite = Path(item.path).relative_to(TESTS).parts[0]
    return suite in SERVER_SUITES or "database_url" in item.fixturenames \
        or item.get_closest_marker("database") is not None


def _always_on_postgresql(item: pytest.Item) -> bool:
    return Path(item.path).relative_to(TESTS).parts[0] == "pg"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        mark = item.get_closest_marker("sqlite_only")
        if mark is not None and not mark.kwargs.get("reason"):
            raise pytest.UsageError(f"{item.nodeid}: sqlite_only needs a reason=")
    if not pgserver.on_postgresql():
        return
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        mark = item.get_closest_marker("sqlite_only")
        if not uses_database(item) or _always_on_postgresql(item):
            left_out.append(item)
        elif mark is not None:
            left_out.append(item)
            LEFT_OUT.append((item.nodeid, str(mark.kwargs["reason"])))
        else:
            kept.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
    RAN.append(len(kept))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not pgserver.on_postgresql():
        return
    terminalreporter.section("PostgreSQL pass")
    terminalreporter.write_line(
        f"{sum(RAN)} tests that use a database ran on a throwaway PostgreSQL server, each on a database of its own "
        "(the others use none, or run on PostgreSQL in every pass: tests/pg)")
    if LEFT_OUT:
        terminalreporter.write_line(f"SQLite-only, not run on PostgreSQL ({len(LEFT_OUT)}):")
        for nodeid, reason in LEFT_OUT:
            terminalreporter.write_line(f"  {nodeid}: {reason}")
