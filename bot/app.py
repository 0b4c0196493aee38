"""The composition root: builds the stores, Webex client, clock, cards, service, timers, workers
and the HTTP edge from a `Config`, starts them in the right order and stops them cleanly."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from bot.adapters.clock import SandboxClock, SystemClock
from bot.adapters.leader import Elected, Leadership, Refused, SingleProcess
from bot.adapters.locks import AdvisoryLocks
from bot.adapters.store import DatabaseUnavailable, SqlStores, migrate
from bot.adapters.timers import Timers
from bot.adapters.webex import REQUEST_TIMEOUT, RetryPolicy, WebexClient
from bot.config import Config
from bot.domain.model import Person
from bot.domain.policy import Policy
from bot.domain.ports import WebexError
from bot.domain.schedule import Work
from bot.domain.service import InterceptService
from bot.edge.intake import Crowding, Receiver
from bot.edge.web import create_web_app
from bot.edge.worker import Dispatcher, Worker
from bot.logs import remember_secret
from bot.metrics import Metrics, StateCollector
from bot.ops import schema_state
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
                                          admin_refresh=config.admin_refresh, rate=config.webex_rate,
                                          on_new_secret=remember_secret)
        self.clock: SystemClock = SystemClock()
        self.timers: Timers | None = None
        self.worker: Worker | None = None
        self.service: InterceptService | None = None
        self.receiver: Receiver | None = None
        self._checkpoints: Callable[[], None] = lambda: None  # stops the SQLite checkpoint thread
        self.bot: Person | None = None
        self._stopped = threading.Event()
        self.leadership: Leadership = Elected(config.database_url) if self.stores.db.postgres else \
            SingleProcess(self.stores.settings, ttl=timedelta(seconds=max(3 * config.sweep_seconds, 90)))
        self.stores.inbox.owner = self.stores.audit.owner = self.leadership.owner
        self.metrics = Metrics()  # this app's own registry
        self.webex.on_call = self.metrics.webex_call
        self.metrics.watch(StateCollector(stores=self.stores, now=lambda: self.clock.now(), role=lambda: self.role,
                                          admin_expires_in=self.webex.admin_token.expires_in))
        self.web: Flask = create_web_app(receiver=lambda: self.receiver, health=self.health,
                                         readiness=self.readiness, metrics=self.metrics.exposition)

    def start(self) -> None:
        try:  # what the configuration could not tell: whether the database opens
            self.stores.reach()
        except DatabaseUnavailable as error:
            self._stopped.set()  # nothing started: stop() has nothing to release in a database it cannot open
            raise StartupError(f"DATABASE_URL: {error}") from None
        try:
            migrate.ready(self.stores.engine)  # an empty database is created; one behind stops start-up
        except (migrate.SchemaError, migrate.DatabaseUnavailable) as error:
            raise StartupError(str(error)) from None
        # before any other thread uses the database: it changes how connections are opened
        self._checkpoints = self.stores.db.checkpoint_in_background()
        try:
            self.leadership.join()
        except Refused as refused:
            raise StartupError(str(refused)) from None
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
        shared = self.stores.db.postgres  # several processes may work on this database
        self.service = InterceptService(webex=self.webex, stores=self.stores.domain(), presenter=CardPresenter(),
                                        clock=self.clock, policy=policy, bot=self.bot, timers=self.timers,
                                        locks=AdvisoryLocks(self.stores.db.locks_engine()) if shared else None,
                                        peers=shared)
        dispatcher = Dispatcher(webex=self.webex, handler=self.service)
        crowding = Crowding()
        self.worker = Worker(store=self.stores.inbox, handle=dispatcher.dispatch, now=self.clock.now,
                             threads=self.config.workers, crowded=crowding.crowded)
        self._requeue()
        self.timers.start()
        if not self.stores.db.postgres:
            self.service.recover()  # the one process: before any event is taken
        self.leadership.watch(on_lead=self._lead, on_lose=self._lose)
        self.worker.start()
        self.receiver = Receiver(secret=self.config.webhook_secret, inbox=self.stores.inbox, bot_id=self.bot.id,
                                 now=self.clock.now, wake=self.worker.wake, observe=self.metrics.webhook,
                                 crowding=crowding)
        log.info("intercept-bot is up as %s (%s)", self.bot.display_name, self.leadership.role)

    def _lead(self) -> None:
        """This process runs the timers from now on. On PostgreSQL it took over from a leader that
        may have died half-way: its events go back to the queue, its half-done work is due now,
        and a sweep finds what fell due meanwhile (on the timers' threads, not the election's)."""
        if self.stores.db.postgres and self.timers is not None:
            self.timers.soon(self._take_over)

    def _take_over(self) -> None:
        if self.service is not None and self.leadership.leading:
            self._requeue()
            self.service.recover()

    def _lose(self) -> None:
        if not self.stores.db.postgres:  # SQLite: another process has the file now; this one stops
            self._stop_work()

    def _requeue(self) -> None:
        requeued = self.stores.inbox.requeue_unfinished()
        if requeued:
            log.info("%d webhook events left unfinished by a process that ended go back to the queue", requeued)

    def _run(self, work: Work, request_id: str, person_id: str) -> None:
        """A timer fired."""
        if self.service is not None and self.leadership.leading:
            self.service.run(work, request_id, person_id)

    def _sweep(self) -> None:
        if self.service is None:
            return
        self.clock.refresh()
        if not self.leadership.leading:
            return
        if self.stores.db.postgres:
            self._requeue()
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
        self._checkpoints()
        self.leadership.leave()
        self.stores.engine.dispose()

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
        checks["lease"] = not isinstance(self.leadership, SingleProcess) or self.leadership.leading
        checks["ok"] = all(checks.values())
        return checks

    @property
    def role(self) -> str:
        """`leader`, `follower` (several instances on PostgreSQL) or `single` (SQLite): the
        metrics' leader gauge and /readyz report it."""
        return self.leadership.role

    def readiness(self) -> dict[str, Any]:
        """Ready to take work: started (and not stopping), the database reachable and migrated (None:
        not checked), the workers alive. Also says the role and, when the bot refreshes the admin
        token itself, the seconds until it expires (else None)."""
        report: dict[str, Any] = {"started": self.receiver is not None}
        try:
            self.stores.ping()
            report["database"] = True
        except Exception:
            report["database"] = False
        report["migrated"] = schema_state(self.stores.engine).ok if report["database"] else None
        report["workers"] = bool(self.worker and self.worker.alive)
        report["role"] = self.role
        expires_in = self.webex.admin_token.expires_in()
        report["admin_token_expires_in"] = None if expires_in is None else int(expires_in)
        report["ready"] = (report["started"] and report["database"] and report["migrated"] is not False
                           and report["workers"])
        return report
