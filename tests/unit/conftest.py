from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.adapters.store import SqlStores


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStores]:
    """The real stores on a fresh database (SQLite, or PostgreSQL in the PostgreSQL pass)."""
    stores = SqlStores.at(database_url)
    stores.create_schema()
    yield stores
    stores.engine.dispose()
