"""The composition root: builds the stores, Webex client, clock, cards, service, timers, workers
and the HTTP edge from a `Config`, starts them in the right order and stops them cleanly."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from bot.adapters.clock import SandboxClock, SystemClock
from bot.adapters.lease import Lease
from bot.adapters.store import SqlStores, migrate
from bot.adapters.timers import Timers
from bot.adapters.webex import REQUEST_TIMEOUT, RetryPolicy, WebexClient
from bot.config import Config
from bot.domain.model import Person
from bot.domain.policy import Policy
from bot.domain.ports import WebexError
from bot.domain.schedule import Work
from bot.domain.service import InterceptService
from bot.edge.intake import Receiver
from bot.edge.web import create_web_app
from bot.edge.worker import Dispatcher, Worker
from bot.logs import remember_secret
from cards import CardPresenter

log = logging.getLogger(__name__)
INBOX_KEPT = timedelta(days=7)  # handled webhook events keep their payload this long (for debugging)


class StartupError(Exception):
    """Start-up cannot go on; the text is one line for the operator."""


class BotApp:
    def __init__(self, config: Config, *, webex: WebexClient | None = None) -> None:
        self.config = config
        self.stores = SqlStores.at(config.database_url)
        self.webex = webex or WebexClient(api_url=config.api_url, bot_token=config.bot_token,
                                          admin_token=config.admin_token, org_id=config.org_id,
                                          admin_refresh=config.admin_refresh, on_new_secret=remember_secret)
        self.clock: SystemClock = SystemClock()
        self.timers: Timers | None = None
        self.worker: Worker | None = None
        self.service: InterceptService | None = None
        self.receiver: Receiver | None = None
        self.bot: Person | None = None
        self._stopped = threading.Event()
        self.lease = Lease(self.stores.settings, ttl=timedelta(seconds=max(3 * config.sweep_seconds, 90)))
        self.lease_lost = False
        self._leased = False
        self.web: Flask = create_web_app(receiver=lambda: self.receiver, health=self.health)

    def start(self) -> None:
        try:
            migrate.ready(self.stores.engine)  # an empty database is created; one behind stops start-up
        except (migrate.SchemaError, migrate.DatabaseUnavailable) as error:
            raise StartupError(str(error)) from None
        self._take_lease()
        if self.config.sandbox:
            sandbox = SandboxClock(self.stores.settings)
            log.warning("INTERCEPT_SANDBOX is on: the clock can be moved (offset now %s). Never in production.",
                        sandbox.offset)
            self.clock = sandbox
        self.bot = self._identify()
        policy = Policy(approvers=self.config.approvers, approval_room_id=self.config.approval_room_id,
                        default_zone=self.config.default_timezone, max_days=self.config.max_days,
                        approval_ttl=timedelta(hours=self.config.approval_hours),
                        reminder=timedelta(minutes=self.config.reminder_minutes))
        self.timers = Timers(clock=self.clock, policy=lambda: policy, run=self._run, sweep=self._sweep,
                             sweep_seconds=self.config.sweep_seconds)
        self.service = InterceptService(webex=self.webex, stores=self.stores.domain(), presenter=CardPresenter(),
                                        clock=self.clock, policy=policy, bot=self.bot, timers=self.timers)
        dispatcher = Dispatcher(webex=self.webex, handler=self.service)
        self.worker = Worker(store=self.stores.inbox, handle=dispatcher.dispatch, now=self.clock.now,
                             threads=self.config.workers)
        requeued = self.stores.inbox.requeue_unfinished()
        if requeued:
            log.info("%d webhook events left unfinished by the last run go back to the queue", requeued)
        self.timers.start()
        self.service.recover()
        self.worker.start()
        self.receiver = Receiver(secret=self.config.webhook_secret, inbox=self.stores.inbox, bot_id=self.bot.id,
                                 now=self.clock.now, wake=self.worker.wake)
        log.info("intercept-bot is up as %s", self.bot.display_name)

    def _run(self, work: Work, request_id: str, person_id: str) -> None:
        """A timer fired."""
        if self.service is not None and not self.lease_lost:
            self.service.run(work, request_id, person_id)

    def _sweep(self) -> None:
        if self.service is None or self.lease_lost:
            return
        self.clock.refresh()
        self.service.sweep()
        self.stores.inbox.prune(datetime.now(UTC) - INBOX_KEPT)

    def _identify(self) -> Person:
        """Who the bot is (to ignore its own events), and whether both tokens are accepted."""
        saved, self.webex.retry = self.webex.retry, RetryPolicy(budget=10.0)
        try:
            me = self._check_token("WEBEX_BOT_TOKEN", self.webex.me)
            self._check_token("WEBEX_ADMIN_TOKEN", self.webex.admin_me)
        finally:
            self.webex.retry = saved
        return me

    def _check_token(self, variable: str, call: Callable[[], Person]) -> Person:
        try:
            return call()
        except WebexError as error:
            if error.operation == "refresh the admin token" and not error.transient:
                raise StartupError(f"WEBEX_ADMIN_REFRESH_TOKEN was refused by Webex (HTTP {error.status}): check it, "
                                   "WEBEX_CLIENT_ID and WEBEX_CLIENT_SECRET") from None
            if error.status in (401, 403):
                raise StartupError(f"{variable} was refused by Webex (HTTP {error.status}): check the token") from None
            raise StartupError(f"cannot reach Webex at WEBEX_API_URL={self.config.api_url}: {error}") from None

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.receiver = None
        self.webex.stopping.set()  # no thread waits on Webex any more: a Retry-After wait ends now
        if self.worker:
            # joined for longer than one Webex request may take, before the scheduler stops: a
            # worker still running would need the scheduler's lock that its shutdown holds
            self.worker.stop(timeout=REQUEST_TIMEOUT + 5)
        if self.timers:
            self.timers.shutdown()
        if self._leased and not self.lease_lost:
            try:
                self.lease.release()
            except Exception:
                log.exception("could not release the scheduler lease")
        self.stores.engine.dispose()

    def _take_lease(self) -> None:
        """Exactly one scheduler per database. A holder on this host that is alive is a second
        process started by mistake: stop at once. A holder on another host may be a replaced
        instance that died without releasing (SIGKILL): wait for its lease to run out."""
        deadline = time.monotonic() + self.lease.ttl.total_seconds() + 5
        while (holder := self.lease.take(datetime.now(UTC))) is not None:
            if holder.host == self.lease.me.host or time.monotonic() > deadline:
                raise StartupError(f"another intercept-bot is running against this database ({holder.describe()}): "
                                   "run exactly one process per database")
            log.warning("waiting for the scheduler lease of another instance (%s)", holder.describe())
            time.sleep(min(5.0, max(deadline - time.monotonic(), 0.1)))
        self._leased = True
        self._lease_thread = threading.Thread(target=self._keep_lease, name="lease", daemon=True)
        self._lease_thread.start()

    def _keep_lease(self) -> None:
        """Renews the lease on its own clock (a slow sweep must not let it run out). A process
        that lost it (it stalled for longer than the lease and another took over) stops its
        timers and workers and reports itself unhealthy."""
        period = self.lease.ttl.total_seconds() / 3
        while not self._stopped.wait(period):
            try:
                holder = self.lease.take(datetime.now(UTC))
            except Exception:
                log.exception("could not renew the scheduler lease")
                continue
            if holder is not None and not self.lease_lost:
                self.lease_lost = True
                log.error("another intercept-bot took over this database (%s): this one stops working",
                          holder.describe())
                self._stop_work()
                return

    def _stop_work(self) -> None:
        if self.worker:
            self.worker.stop()
        if self.timers:
            self.timers.shutdown()

    def health(self) -> dict[str, Any]:
        checks: dict[str, Any] = {"started": self.receiver is not None}
        try:
            self.stores.ping()
            checks["database"] = True
        except Exception:
            checks["database"] = False
        checks["scheduler"] = bool(self.timers and self.timers.running)
        checks["workers"] = bool(self.worker and self.worker.alive)
        checks["lease"] = not self.lease_lost
        checks["ok"] = all(checks.values())
        return checks
