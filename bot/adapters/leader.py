"""Who runs the timers: exactly one process per database.

- **SQLite** (`SingleProcess`): one process per database file. It takes a lease at start-up; a
  second process on the same file stops with one line naming the holder (see `bot.adapters.lease`).
- **PostgreSQL** (`Elected`): any number of processes take webhooks and share the inbox; the one
  holding a session advisory lock (`LEADER_LOCK`) runs the timers. Every process keeps one
  connection of its own on which it holds its presence lock (its key marks the inbox events it
  handles) and, when leading, the leader's lock. The database drops a dead process's locks with
  its connection: at once when the process dies (its socket closes), within seconds when its host
  vanishes (TCP keepalives on both ends). Followers try for the lock every `period` seconds, so
  one of them leads within a few seconds of the leader's end, and its first act is a sweep: what
  fell due in between runs then. A leader that loses its connection stops leading at once
  (nothing it started is done twice: every step is a compare-and-set on the rows).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, text
from sqlalchemy.pool import NullPool

from bot.adapters.lease import Holder, Lease, LeaseStore
from bot.adapters.store.schema import INSTANCE_LOCKS, LEADER_LOCK, postgres_engine

log = logging.getLogger(__name__)



class Refused(Exception):
    """This process cannot run on the database; the text is one line for the operator."""


class Leadership(Protocol):
    owner: str  # this process, as the inbox events it handles name it

    @property
    def role(self) -> str:
        """`single` (SQLite), `leader` or `follower` (PostgreSQL)."""

    @property
    def leading(self) -> bool: ...

    def join(self) -> None:
        """At start-up, before any work; raises `Refused`."""

    def watch(self, *, on_lead: Callable[[], None], on_lose: Callable[[], None]) -> None:
        """From now on: `on_lead` when this process starts leading, `on_lose` when it stops."""

    def leave(self) -> None: ...


class SingleProcess:
    """SQLite: this process leads from start to end, or does not start."""

    role = "single"

    def __init__(self, store: LeaseStore, *, ttl: timedelta) -> None:
        self.lease = Lease(store, ttl=ttl)
        self.owner = self.lease.me.owner
        self.lost = False
        self._stopped = threading.Event()

    @property
    def leading(self) -> bool:
        return not self.lost

    def join(self) -> None:
        """A holder on this host that is alive is a second process started by mistake: stop at
        once. A holder on another host may be a replaced instance that died without releasing
        (SIGKILL): wait for its lease to run out."""
        deadline = time.monotonic() + self.lease.ttl.total_seconds() + 5
        while (holder := self.lease.take(datetime.now(UTC))) is not None:
            if holder.host == self.lease.me.host or time.monotonic() > deadline:
                raise Refused(f"another intercept-bot is running against this database ({holder.describe()}): "
                              "run exactly one process per SQLite database (several need PostgreSQL)")
            log.warning("waiting for the scheduler lease of another instance (%s)", holder.describe())
            time.sleep(min(5.0, max(deadline - time.monotonic(), 0.1)))

    def watch(self, *, on_lead: Callable[[], None], on_lose: Callable[[], None]) -> None:
        threading.Thread(target=self._keep, args=(on_lose,), name="lease", daemon=True).start()
        on_lead()

    def _keep(self, on_lose: Callable[[], None]) -> None:
        """Renews the lease on its own clock (a slow sweep must not let it run out). A process
        that lost it (it stalled for longer than the lease and another took over) stops working."""
        period = self.lease.ttl.total_seconds() / 3
        while not self._stopped.wait(period):
            try:
                holder: Holder | None = self.lease.take(datetime.now(UTC))
            except Exception:
                log.exception("could not renew the scheduler lease")
                continue
            if holder is not None:
                self.lost = True
                log.error("another intercept-bot took over this database (%s): this one stops working",
                          holder.describe())
                on_lose()
                return

    def leave(self) -> None:
        self._stopped.set()
        if not self.lost:
            try:
                self.lease.release()
            except Exception:
                log.exception("could not release the scheduler lease")


class Elected:
    """PostgreSQL: leader or follower, elected by a session advisory lock."""

    def __init__(self, url: str, *, period: float = 2.0) -> None:
        self.engine = postgres_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.key = secrets.randbelow(2**31 - 2) + 1
        self.owner = str(self.key)
        self.period = period
        self._leading = False
        self._connection: Connection | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def role(self) -> str:
        return "leader" if self._leading else "follower"

    @property
    def leading(self) -> bool:
        return self._leading

    def join(self) -> None:
        try:
            self._connect()
        except Exception as error:
            raise Refused(f"DATABASE_URL: cannot hold a connection to PostgreSQL ({type(error).__name__})") from None

    def watch(self, *, on_lead: Callable[[], None], on_lose: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=self._run, args=(on_lead, on_lose), name="leader", daemon=True)
        self._thread.start()

    def leave(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._leading = False
        self._drop()
        self.engine.dispose()

    def _run(self, on_lead: Callable[[], None], on_lose: Callable[[], None]) -> None:
        while not self._stopped.is_set():
            try:
                if self._connection is None:
                    self._connect()
                if self._leading:
                    self._query("SELECT 1")
                elif self._query("SELECT pg_try_advisory_lock(:space, :key)",
                                 space=LEADER_LOCK[0], key=LEADER_LOCK[1]):
                    self._leading = True
                    log.info("this instance now runs the timers (leader)")
                    on_lead()
            except Exception as error:
                if self._leading:
                    self._leading = False
                    log.error("lost the database connection that made this instance the leader (%s): it "
                              "stops running the timers; an instance that reaches the database takes over",
                              type(error).__name__)
                    on_lose()
                self._drop()
            self._stopped.wait(self.period)

    def _connect(self) -> None:
        connection = self.engine.connect()
        try:
            if not connection.execute(text("SELECT pg_try_advisory_lock(:space, :key)"),
                                      {"space": INSTANCE_LOCKS, "key": self.key}).scalar():
                raise RuntimeError("this process's key is taken")  # a reconnect before the server let go
        except Exception:
            connection.close()
            raise
        self._connection = connection

    def _query(self, sql: str, **params: int) -> object:
        assert self._connection is not None
        return self._connection.execute(text(sql), params).scalar()

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:
                log.debug("closing the leader connection", exc_info=True)
            self._connection = None
