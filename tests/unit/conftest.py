from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.store import SqlStores


@pytest.fixture
def store(tmp_path: Path) -> SqlStores:
    """The real stores on a fresh SQLite file."""
    stores = SqlStores.at(f"sqlite:///{tmp_path}/bot.db")
    stores.create_schema()
    return stores
