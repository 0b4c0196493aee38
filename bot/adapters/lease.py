"""Exactly one scheduler per database: a lease row that one `intercept-bot serve` holds.

Two processes against one database would each run every timer (double reverts, double cards).
At start-up a process takes the lease, or stops with one line naming the holder; it renews the
lease at every sweep; a lease whose holder stopped renewing expires. A holder on this host whose
process is gone (SIGKILL) is recognised at once, so a restart need not wait for the expiry.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

LEASE_KEY = "scheduler_lease"


class LeaseStore(Protocol):
    def swap(self, key: str, change: Callable[[str | None], str | None]) -> str | None: ...


@dataclass(frozen=True)
class Holder:
    owner: str
    host: str
    pid: int
    expires: datetime

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, lease until {self.expires:%Y-%m-%d %H:%M:%S} UTC"


class Lease:
    def __init__(self, store: LeaseStore, *, ttl: timedelta) -> None:
        self.store = store
        self.ttl = ttl
        self.me = Holder(uuid.uuid4().hex, socket.gethostname(), os.getpid(), datetime.min.replace(tzinfo=UTC))

    def take(self, now: datetime) -> Holder | None:
        """Take or renew the lease; None on success, else who holds it."""
        blocker: list[Holder] = []

        def update(raw: str | None) -> str | None:
            holder = _read(raw)
            if holder is not None and holder.owner != self.me.owner and holder.expires > now \
                    and not self._gone(holder):
                blocker.append(holder)
                return raw  # unchanged
            return json.dumps({"owner": self.me.owner, "host": self.me.host, "pid": self.me.pid,
                               "expires": (now + self.ttl).isoformat()})

        self.store.swap(LEASE_KEY, update)
        return blocker[0] if blocker else None

    def release(self) -> None:
        self.store.swap(LEASE_KEY, lambda raw: None if (h := _read(raw)) and h.owner == self.me.owner
                                else raw)

    def _gone(self, holder: Holder) -> bool:
        """A holder on this host whose process no longer exists."""
        if holder.host != self.me.host:
            return False
        try:
            os.kill(holder.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return holder.pid == self.me.pid  # our own pid from a previous run (pid reused by us)


def _read(raw: str | None) -> Holder | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
        return Holder(str(data["owner"]), str(data["host"]), int(data["pid"]),
                      datetime.fromisoformat(data["expires"]))
    except (ValueError, KeyError, TypeError):
        return None
