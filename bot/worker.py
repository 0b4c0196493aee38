"""Worker threads that process stored webhook events, at least once and in arrival order per claim.

An event is claimed with a compare-and-set (pending -> processing), handled, then marked done. An
event whose handling hit a transient Webex failure goes back to pending with a backoff; one that
keeps failing, or fails for good, is marked failed with its error. At start-up, events a dead
process left in `processing` go back to pending.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.ports import WebexError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class InboxStore(Protocol):
    def inbox_claim(self, now: datetime) -> tuple[str, str] | None: ...
    def inbox_finish(self, key: str, *, error: str = "", retry_at: datetime | None = None) -> None: ...
    def inbox_attempts(self, key: str) -> int: ...


class Worker:
    def __init__(self, *, store: InboxStore, handle: Callable[[str], None], now: Callable[[], datetime],
                 threads: int = 4, idle_wait: float = 1.0) -> None:
        self.store = store
        self.handle = handle
        self.now = now
        self.threads = threads
        self.idle_wait = idle_wait
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"event-worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    @property
    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def run_once(self) -> bool:
        """Process one due event; False when there was none."""
        claimed = self.store.inbox_claim(self.now())
        if claimed is None:
            return False
        key, payload = claimed
        try:
            self.handle(payload)
        except WebexError as error:
            attempts = self.store.inbox_attempts(key)
            if error.transient and attempts < MAX_ATTEMPTS:
                delay = timedelta(seconds=min(2 ** attempts, 300))
                log.warning("event %s: %s; trying again in %s", key, error, delay)
                self.store.inbox_finish(key, error=str(error), retry_at=self.now() + delay)
            else:
                log.error("event %s failed for good: %s", key, error)
                self.store.inbox_finish(key, error=str(error))
        except Exception as error:  # a bug must not kill the worker or block the queue
            log.exception("event %s could not be processed", key)
            self.store.inbox_finish(key, error=f"{type(error).__name__}: {error}")
        else:
            self.store.inbox_finish(key)
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # cleared before looking, so a wake-up while we look is not lost
            try:
                if self.run_once():
                    continue
            except Exception:
                log.exception("event worker: store error")
            self._wake.wait(self.idle_wait)
