"""The intercept service: the domain's entry points, and nothing else.

A message or a card action goes to the router (`bot.domain.routing`), which hands it to one flow:
requesting (phrase → form → submission), approval (decide, expire, no approver) or changes (status,
cancel, end now, a new end, the reminder). A timer runs one kind of due work on one request, when
its row still says it is due (`bot.domain.schedule`); the sweep runs whatever is due and lets the
timers hold what comes soon. When an entry point ends (the outermost, when they call each other),
work that its own writes made due at once is done (an intercept that went on after its end had
passed is reverted now, not at the next sweep), and whatever it changed is announced
(`bot.domain.announce`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from bot.domain import schedule
from bot.domain.announce import Announcer
from bot.domain.lifecycle import Lifecycle
from bot.domain.model import OPEN_STATES, Person, Request, Status
from bot.domain.policy import Policy
from bot.domain.ports import CardAction, ChatMessage, Clock, Locks, Presenter, Timers, Webex, WebexError
from bot.domain.schedule import Work
from bot.domain.stores import Stores
from bot.domain.values import CardKind

from .flows.approval import Approval
from .flows.base import Core
from .flows.changes import Changes
from .flows.requesting import Requesting
from .routing import Flows, Router

log = logging.getLogger(__name__)

# the status a card's request has while the card's buttons mean something
LIVE_WHILE = {CardKind.FORM: Status.FORM_SENT, CardKind.APPROVAL: Status.AWAITING_APPROVAL,
              CardKind.REMINDER: Status.ACTIVE}


class InterceptService:
    def __init__(self, *, webex: Webex, stores: Stores, presenter: Presenter, clock: Clock, policy: Policy,
                 bot: Person, timers: Timers | None = None, locks: Locks | None = None,
                 peers: bool = False) -> None:
        """`locks` and `peers`: other processes work on the same database (several instances on
        PostgreSQL): one person's lock is held across them, and a click on a card not recorded
        yet waits for them too."""
        self.core = Core(webex=webex, stores=stores, presenter=presenter, clock=clock, policy=policy, bot=bot,
                         locks=locks, peers=peers)
        self.lifecycle = Lifecycle(webex=webex, requests=stores.requests, greetings=stores.greetings,
                                   audit=stores.audit, clock=clock, locks=self.core.locks)
        self.approval = Approval(self.core, self.lifecycle)
        self.requesting = Requesting(self.core, self.approval)
        self.changes = Changes(self.core, self.lifecycle, self.approval)
        self.router = Router(self.core, Flows(self.requesting, self.approval, self.changes))
        self.announcer = Announcer(stores=stores, outbox=self.core.outbox, clock=clock, policy=lambda: self.policy)
        self.timers = timers
        stores.requests.watch(self._wrote)
        if timers is not None:
            stores.requests.watch(timers.follow)  # the timers follow the rows: written, re-armed
        self._work: dict[Work, Callable[[Request], object]] = {
            Work.REVERT: self._revert, Work.APPLY: self.lifecycle.apply, Work.REMIND: self.changes.remind,
            Work.EXPIRE: self.approval.expire}
        self._local = threading.local()  # per thread: how deep in entry points, and the rows written

    @property
    def policy(self) -> Policy:
        return self.core.policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        self.core.policy = policy

    # ------------------------------------------------------------------ entry points

    def handle_message(self, message: ChatMessage) -> None:
        with self._entry():
            self.router.message(message)

    def handle_action(self, action: CardAction) -> None:
        with self._entry():
            self.router.action(action)

    def run(self, work: Work, request_id: str, person_id: str | None = None) -> None:
        """A timer fired: do the work if the request's row still says it is due (a timer may be
        stale: the row changed, or the clock moved)."""
        with self._entry():
            self._run(work, request_id, person_id)

    def sweep(self) -> None:
        """Every minute and at start-up: whatever is due runs (what fell due while the bot was down
        too), the timers are given what falls due before the next sweeps, approvers not reached yet
        are asked again, cards of requests that moved on are withdrawn."""
        with self._entry():
            self._sweep()

    def recover(self) -> None:
        """At start-up: half-done work of a dead process is due now; then a sweep."""
        self.lifecycle.recover()
        self.sweep()

    @contextmanager
    def _entry(self) -> Iterator[None]:
        local = self._local
        local.depth = getattr(local, "depth", 0) + 1
        if local.depth == 1:
            local.written = {}
        completed = False
        try:
            yield
            completed = True
        finally:
            local.depth -= 1
            if local.depth == 0:
                try:
                    if completed:  # not after a failure: the event is tried again, the sweep comes
                        self._due_now()
                finally:
                    self.announcer.flush()

    def _wrote(self, request: Request) -> None:
        if getattr(self._local, "depth", 0):
            self._local.written[request.id] = request

    def _due_now(self) -> None:
        """Work this entry point's own writes made due at once, done now (in rounds: doing it writes)."""
        self._local.depth += 1  # what this writes is collected for the next round
        try:
            for _ in range(3):
                written, self._local.written = self._local.written, {}
                due, _later = schedule.split(list(written.values()), self.core.policy, self.core.clock.now())
                if not any(due.values()):
                    return
                for work in Work:
                    self._run_each(work, due[work])
        finally:
            self._local.depth -= 1

    # ------------------------------------------------------------------ due work

    def _run(self, work: Work, request_id: str, person_id: str | None) -> None:
        core = self.core
        if person_id is None:
            found = core.requests.get(request_id)
            if found is None:
                return
            person_id = found.person_id
        with core.locks(person_id):
            request = core.requests.get(request_id)
            if request is not None and schedule.is_due(request, work, core.policy, core.clock.now()):
                self._work[work](request)

    def _revert(self, request: Request) -> None:
        self.lifecycle.revert(request)
        self.approval.close_orphaned_extensions(request.person_id)

    def _sweep(self) -> None:
        core, now = self.core, self.core.clock.now()
        horizon = self.timers.horizon if self.timers is not None else timedelta(0)
        due, later = schedule.split(core.requests.timed(schedule.windows(core.policy, now + horizon)),
                                    core.policy, now)
        if self.timers is not None:
            for request in later:
                self.timers.follow(request)
        self._run_each(Work.REVERT, due[Work.REVERT])
        self._run_each(Work.APPLY, due[Work.APPLY])
        self.approval.close_orphaned_extensions()
        self._withdraw_stale_cards()
        self._run_each(Work.REMIND, due[Work.REMIND])
        for person_id in {r.person_id for r in core.requests.with_status([Status.AWAITING_APPROVAL,
                                                                          Status.APPROVED])}:
            with core.locks(person_id):
                self.approval.cancel_superseded(person_id)
        self._run_each(Work.EXPIRE, due[Work.EXPIRE])
        for request in core.requests.with_status([Status.AWAITING_APPROVAL]):  # approvers not reached yet
            with core.locks(request.person_id):
                latest = core.requests.get(request.id)
                if latest is not None and latest.status is Status.AWAITING_APPROVAL:
                    self.approval.send_cards(latest)
        self._drop_greetings()

    def _run_each(self, work: Work, requests: Iterable[Request]) -> None:
        """One request's failure does not keep the others' work from being done (it is tried again
        by the next sweep)."""
        for request in requests:
            try:
                self._run(work, request.id, request.person_id)
            except WebexError as error:
                log.warning("%s of request %s: %s", work.value, request.id, error)
            except Exception:
                log.exception("%s of request %s failed", work.value, request.id)

    def _withdraw_stale_cards(self) -> None:
        """Buttons of a request that has moved on stop working: its cards are withdrawn here too,
        in case the process died between the change and the withdrawal."""
        seen: dict[str, Request | None] = {}
        closed: set[str] = set()  # requests whose approval cards were all closed already
        for card in self.core.cards.live(LIVE_WHILE):
            if card.request_id not in seen:
                seen[card.request_id] = self.core.requests.get(card.request_id)
            request = seen[card.request_id]
            if request is None or request.status is LIVE_WHILE[card.kind]:
                continue
            if card.kind is not CardKind.APPROVAL:
                self.core.outbox.withdraw(card)
            elif request.id not in closed:
                closed.add(request.id)
                self.approval.close_cards(request)

    def _drop_greetings(self) -> None:
        """A greeting (up to 5 MB) is kept only until its request is applied, or will never be."""
        keep = {*OPEN_STATES, Status.APPLYING}
        for request_id in self.core.stores.greetings.held():
            request = self.core.requests.get(request_id)
            if request is None or request.status not in keep:
                self.core.stores.greetings.drop(request_id)
