"""Prometheus metrics for `GET /metrics`, in a registry of their own per `BotApp` (never the
process-wide default one: tests build several apps in one process).

Counted as it happens: webhook deliveries (every answer `Receiver` gives) and Webex calls (the
client's one request hook). Read at scrape time by `StateCollector`: the inbox backlog, requests by
state, reverts overdue, the role and the admin token's expiry, each from a count query over an
index (a scrape never reads rows one by one). The names are listed in README.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters.store import SqlStores
from bot.domain.model import FINAL_STATES, Status
from bot.edge.intake import Answer, Outcome

log = logging.getLogger(__name__)

REJECTED = ("too_large", "unsigned", "signature", "media_type", "malformed")  # Receiver's reasons
IGNORED = ("own_event", "other_event")
OPEN_STATES = tuple(status for status in Status if status not in FINAL_STATES)
OVERDUE_AFTER = timedelta(minutes=1)  # an intercept still on this long after its end is a revert overdue


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        counter = self._counter
        self.received = counter("webhooks_received", "Deliveries to POST /webhooks/webex, whatever became of them")
        self.accepted = counter("webhooks_accepted", "Deliveries stored in the inbox for the workers")
        self.duplicate = counter("webhooks_duplicate", "Redeliveries of an event already in the inbox")
        self.rejected = counter("webhooks_rejected", "Deliveries refused, by reason", "reason", REJECTED)
        self.ignored = counter("webhooks_ignored", "Authentic deliveries with nothing to do, by reason", "reason",
                               IGNORED)
        self.webex = Counter("intercept_bot_webex_requests", "HTTP requests to Webex by operation and status code "
                             "(code none: no answer)", ["operation", "code"], registry=self.registry)
        self.rate_limited = Counter("intercept_bot_webex_rate_limited", "Webex answers 429 (rate limited), by "
                                    "operation", ["operation"], registry=self.registry)

    def _counter(self, name: str, documentation: str, label: str | None = None,
                 values: tuple[str, ...] = ()) -> Counter:
        made = Counter(f"intercept_bot_{name}", documentation, [label] if label else [], registry=self.registry)
        for value in values:  # every series exists from the start, at 0
            made.labels(value)
        return made

    def webhook(self, answer: Answer) -> None:
        """A delivery was answered (`Receiver`'s observer)."""
        self.received.inc()
        if answer.outcome is Outcome.ACCEPTED:
            self.accepted.inc()
        elif answer.outcome is Outcome.DUPLICATE:
            self.duplicate.inc()
        elif answer.outcome is Outcome.REJECTED:
            self.rejected.labels(answer.reason).inc()
        else:
            self.ignored.labels(answer.reason).inc()

    def webex_call(self, operation: str, status: int | None) -> None:
        """An HTTP request to Webex was answered (`WebexClient.on_call`)."""
        self.webex.labels(operation, str(status) if status is not None else "none").inc()
        if status == 429:
            self.rate_limited.labels(operation).inc()

    def watch(self, collector: StateCollector) -> None:
        self.registry.register(collector)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class StateCollector:
    """What the database and the app say at scrape time."""

    def __init__(self, *, stores: SqlStores, now: Callable[[], datetime], role: Callable[[], str],
                 admin_expires_in: Callable[[], float | None]) -> None:
        self.stores = stores
        self.now = now
        self.role = role
        self.admin_expires_in = admin_expires_in

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("intercept_bot_leader", "1 when this process runs the timers "
                                "(role leader, or single: the only one)", value=int(self.role() != "follower"))
        expires_in = self.admin_expires_in()
        if expires_in is not None:
            yield GaugeMetricFamily("intercept_bot_admin_token_expires_in_seconds", "Time until the admin token "
                                    "the bot got with its refresh token expires", value=expires_in)
        try:
            now = self.now()
            backlog, oldest = self.stores.inbox.backlog()
            states = self.stores.requests.count_by_status(OPEN_STATES)
            overdue = self.stores.requests.count_active_ended_before(now - OVERDUE_AFTER)
        except SQLAlchemyError as error:
            log.warning("metrics: the database did not answer (%s)", type(error).__name__)
            yield GaugeMetricFamily("intercept_bot_database_up", "1 when the scrape could read the database", value=0)
            return
        yield GaugeMetricFamily("intercept_bot_database_up", "1 when the scrape could read the database", value=1)
        yield from _gauges(backlog, oldest, states, overdue, now)


def _gauges(backlog: dict[str, int], oldest: datetime | None, states: dict[Status, int], overdue: int,
            now: datetime) -> Iterator[Metric]:
    inbox = GaugeMetricFamily("intercept_bot_inbox_events", "Webhook events in the inbox not handled yet, by "
                              "status (pending: waiting for a worker; processing)", labels=["status"])
    for status, count in sorted(backlog.items()):
        inbox.add_metric([status], count)
    yield inbox
    age = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    yield GaugeMetricFamily("intercept_bot_inbox_oldest_pending_age_seconds", "How long the oldest pending "
                            "event has waited (0: none waits)", value=age)
    requests = GaugeMetricFamily("intercept_bot_requests", "Intercept requests in each state that is not final",
                                 labels=["status"])
    for status, count in states.items():
        requests.add_metric([status.value], count)
    yield requests
    yield GaugeMetricFamily("intercept_bot_reverts_overdue", "Intercepts still on more than a minute after "
                            "their end", value=overdue)
