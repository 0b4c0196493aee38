"""tests/pg runs on PostgreSQL in every pass, on the run's throwaway server (tests/pgserver.py; the
`pg_url` fixture is in tests/conftest.py). The PostgreSQL pass runs the rest of the tests that use
a database there too."""

from __future__ import annotations

import pytest

from tests import pgserver
from tests.pgserver import in_schema

__all__ = ["in_schema", "pg_database"]


@pytest.fixture
def pg_database(pg_url: str) -> str:
    """A new, empty PostgreSQL database for this test, in either pass (dropped after it)."""
    return pgserver.server().new_database()
