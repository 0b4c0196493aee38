"""Worker threads that process the inbox's events, at least once and in arrival order per claim.

An event is claimed with a compare-and-set (pending -> processing), handled, then marked done. An
event whose handling hit a transient Webex failure goes back to pending with a backoff; one that
keeps failing, or fails for good, is marked failed with its error. At start-up, events a dead
process left in `processing` go back to pending.

Handling an event (`Dispatcher`): fetch the message or card action it names (a webhook carries ids
only), and hand the typed event to the service.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.ports import CardAction, ChatMessage, WebexError
from bot.edge.intake import Event, Inbox

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CROWDED_LOOK = 0.05  # seconds


class Fetcher(Protocol):
    def message(self, message_id: str) -> ChatMessage: ...
    def action(self, action_id: str) -> CardAction: ...


class Handler(Protocol):
    def handle_message(self, message: ChatMessage) -> None: ...
    def handle_action(self, action: CardAction) -> None: ...


class Dispatcher:
    """An event, fetched and typed, to the service."""

    def __init__(self, *, webex: Fetcher, handler: Handler) -> None:
        self.webex = webex
        self.handler = handler

    def dispatch(self, event: Event) -> None:
        if event.resource == "messages":
            self.handler.handle_message(self.webex.message(event.id))
        elif event.resource == "attachmentActions":
            self.handler.handle_action(self.webex.action(event.id))


class Worker:
    def __init__(self, *, store: Inbox, handle: Callable[[Event], None], now: Callable[[], datetime],
                 threads: int = 4, idle_wait: float = 1.0, crowded: Callable[[], bool] = lambda: False) -> None:
        """While `crowded()` (deliveries queue at the web edge: `bot.edge.intake.Crowding`) one
        thread goes on processing and the others wait, looking again every `CROWDED_LOOK` s."""
        self.store = store
        self.handle = handle
        self.now = now
        self.threads = threads
        self.idle_wait = idle_wait
        self.crowded = crowded
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self.threads):
            thread = threading.Thread(target=self._loop, args=(number,), name=f"event-worker-{number}", daemon=True)
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
        event = self.store.claim(self.now())
        if event is None:
            return False
        try:
            self.handle(event)
        except WebexError as error:
            attempts = self.store.attempts(event)
            if error.transient and attempts < MAX_ATTEMPTS:
                delay = timedelta(seconds=min(2 ** attempts, 300))
                log.warning("event %s %s: %s; trying again in %s", event.resource, event.id, error, delay)
                self.store.finish(event, error=str(error), retry_at=self.now() + delay)
            else:
                log.error("event %s %s failed for good: %s", event.resource, event.id, error)
                self.store.finish(event, error=str(error))
        except Exception as error:  # a bug must not kill the worker or block the queue
            log.exception("event %s %s could not be processed", event.resource, event.id)
            self.store.finish(event, error=f"{type(error).__name__}: {error}")
        else:
            self.store.finish(event)
        return True

    def _loop(self, number: int) -> None:
        failing = 0  # store errors in a row: the database is away; say so once, then wait longer
        while not self._stop.is_set():
            if number and self.crowded():
                self._stop.wait(CROWDED_LOOK)
                continue
            self._wake.clear()  # cleared before looking, so a wake-up while we look is not lost
            try:
                if self.run_once():
                    failing = 0
                    continue
                if failing:
                    log.info("event worker: the store answers again")
                failing = 0
            except Exception as error:
                failing += 1
                if failing == 1:
                    log.exception("event worker: store error")
                elif failing in (2, 10) or failing % 100 == 0:  # not a line a second while it is down
                    log.warning("event worker: store error %d times in a row (%s)", failing, type(error).__name__)
            self._wake.wait(min(self.idle_wait * 2 ** min(failing, 5), 30.0))
