"""One lock per person: work on one person's requests and intercept never interleaves."""

from __future__ import annotations

import threading


class PersonLocks:
    """Re-entrant, so a step that holds a person's lock may call another that takes it (a form
    handled under it goes on to ask the approvers, which takes it again). A caller holding one
    person's lock must never wait for another person's: two such callers would wait for each other."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def __call__(self, person_id: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(person_id, threading.RLock())
