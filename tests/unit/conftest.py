from __future__ import annotations

from pathlib import Path

import pytest

from bot.store import SqlStore, make_engine


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    """The real store on a fresh SQLite file."""
    store = SqlStore(make_engine(f"sqlite:///{tmp_path}/bot.db"))
    store.create_schema()
    return store
