"""One lock per person across processes (`bot.domain.ports.Locks`): PostgreSQL session advisory
locks, for several `intercept-bot serve` on one database.

A thread first takes the person's lock in this process (threads of one process queue there, not
on database connections), then, at its outermost hold, the advisory lock on a connection of its
own, kept until it lets go. The connections come from an engine of their own (autocommit: a lock
held for long is not an idle transaction), so a held lock never starves the stores' pool. A
process that dies loses its locks with its connections.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from bot.adapters.store.schema import PERSON_LOCKS
from bot.domain.locks import PersonLocks

log = logging.getLogger(__name__)


def person_key(person_id: str) -> int:
    """A signed 32-bit key for the person (two people sharing one only wait for each other)."""
    return int.from_bytes(hashlib.blake2b(person_id.encode(), digest_size=4).digest(), "big", signed=True)


class AdvisoryLocks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._here = PersonLocks()
        self._held = threading.local()

    @contextmanager
    def __call__(self, person_id: str) -> Iterator[None]:
        with self._here(person_id):
            depth: dict[str, int] = self._held.__dict__.setdefault("depth", {})
            if depth.get(person_id):
                depth[person_id] += 1
                try:
                    yield
                finally:
                    depth[person_id] -= 1
                return
            key = {"space": PERSON_LOCKS, "key": person_key(person_id)}
            with self.engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:space, :key)"), key)
                depth[person_id] = 1
                try:
                    yield
                finally:
                    depth[person_id] = 0
                    try:
                        connection.execute(text("SELECT pg_advisory_unlock(:space, :key)"), key)
                    except Exception:  # the connection is gone, and with it the lock
                        log.warning("could not release a person's lock: its connection is closed", exc_info=True)
                        connection.invalidate()
