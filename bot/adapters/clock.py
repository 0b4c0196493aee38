"""Time, injected. Production uses the system clock; the sandbox (tests, demo) can move it forward.

The sandbox offset is kept in the database (`bot_settings.sandbox_clock_offset`, seconds) so that
it survives a restart and `intercept-bot sandbox-clock` can move it while the server is down. It is
honoured only when `INTERCEPT_SANDBOX=1`: a production server ignores it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

OFFSET_KEY = "sandbox_clock_offset"


class SettingsStore(Protocol):
    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def to_wall(self, at: datetime) -> datetime:
        """The real time at which domain time `at` comes (the scheduler runs on real time)."""
        return at

    def refresh(self) -> None:
        return None


class SandboxClock(SystemClock):
    """System time plus an offset read from the store."""

    def __init__(self, store: SettingsStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self.refresh()

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def to_wall(self, at: datetime) -> datetime:
        return at - self.offset

    def refresh(self) -> None:
        raw = self._store.get(OFFSET_KEY)
        with self._lock:
            self._offset = timedelta(seconds=float(raw)) if raw else timedelta(0)


def advance(store: SettingsStore, seconds: float) -> timedelta:
    """Move the sandbox clock forward; returns the new offset."""
    raw = store.get(OFFSET_KEY)
    offset = (float(raw) if raw else 0.0) + seconds
    store.set(OFFSET_KEY, repr(offset))
    return timedelta(seconds=offset)
