"""When work is due, decided by the request rows alone: one rule for each kind of due work.

A row says what it waits for by its status and one of its times: an approved request its start, an
intercept that is on its end (and, before it, the reminder), a failed apply or revert its retry, a
request nobody decided on its expiry. Nothing else (no stored job, no start-up list) says what is
due. The sweep asks the store for the rows due before a horizon (an index on each time, not a scan),
runs what is due now and lets the timers (`bot.domain.ports.Timers`) hold what comes before the
horizon; a timer that fires checks the row again with the same rule, so a stale one does nothing.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.model import Request, Status
from bot.domain.policy import Policy
from bot.domain.stores import TimeField, Window


class Work(enum.StrEnum):
    """A kind of due work, in the order a sweep does it."""

    REVERT = "revert"  # put the snapshot back (the end came, or a failed revert is tried again)
    APPLY = "apply"  # put the intercept on (the start came, or a failed apply is tried again)
    REMIND = "remind"  # tell the requester the end is near
    EXPIRE = "expire"  # a form nobody sent, a request nobody decided on


@dataclass(frozen=True)
class Rule:
    """Rows in `statuses` are due for `work` at their `time` plus `offset`; a row without that time
    is due at once when `unset_is_due`. `unless_after`: not when that time of the row came at or
    after the due time (no reminder for an intercept that went on after its reminder time)."""

    work: Work
    statuses: frozenset[Status]
    time: TimeField
    offset: timedelta = timedelta(0)
    unset_is_due: bool = False
    unless_after: str | None = None

    def when(self, request: Request, now: datetime) -> datetime | None:
        """When the row is due by this rule (`now`: at once); None when the rule does not apply to it."""
        if request.status not in self.statuses:
            return None
        at: datetime | None = getattr(request, self.time)
        if at is None:
            return now if self.unset_is_due else None
        at += self.offset
        later: datetime | None = getattr(request, self.unless_after) if self.unless_after else None
        return None if later is not None and later >= at else at


@functools.cache
def rules(policy: Policy) -> tuple[Rule, ...]:
    waiting = frozenset({Status.FORM_SENT, Status.AWAITING_APPROVAL})
    found = [
        Rule(Work.REVERT, frozenset({Status.ACTIVE}), "end_at"),
        Rule(Work.REVERT, frozenset({Status.REVERTING}), "retry_at", unset_is_due=True),
        Rule(Work.APPLY, frozenset({Status.APPROVED}), "start_at", unset_is_due=True),
        Rule(Work.APPLY, frozenset({Status.APPLYING}), "retry_at", unset_is_due=True),
        Rule(Work.EXPIRE, waiting, "updated_at", offset=policy.approval_ttl),
        Rule(Work.EXPIRE, waiting, "end_at"),
    ]
    if policy.reminder > timedelta(0):
        found.append(Rule(Work.REMIND, frozenset({Status.ACTIVE}), "end_at", offset=-policy.reminder,
                          unless_after="applied_at"))
    return tuple(found)


def due(request: Request, policy: Policy, now: datetime) -> dict[Work, datetime]:
    """Each kind of work the row waits for, and when (the earliest rule that applies; `now` for
    work due at once)."""
    found: dict[Work, datetime] = {}
    for rule in rules(policy):
        at = rule.when(request, now)
        if at is not None and (rule.work not in found or at < found[rule.work]):
            found[rule.work] = at
    return found


def is_due(request: Request, work: Work, policy: Policy, now: datetime) -> bool:
    at = due(request, policy, now).get(work)
    return at is not None and at <= now


def windows(policy: Policy, until: datetime) -> list[Window]:
    """What to ask the store for: every row any rule makes due at or before `until`."""
    return [Window(rule.statuses, rule.time, until - rule.offset, unset=rule.unset_is_due) for rule in rules(policy)]


def split(rows: list[Request], policy: Policy, now: datetime) -> tuple[Mapping[Work, list[Request]], list[Request]]:
    """Rows due for some work now (by kind of work), and those with work due only later."""
    now_due: dict[Work, list[Request]] = {work: [] for work in Work}
    later = []
    for request in rows:
        times = due(request, policy, now)
        for work, at in times.items():
            if at <= now:
                now_due[work].append(request)
        if any(at > now for at in times.values()):
            later.append(request)
    return now_due, later
