"""The operator's rules, from the configuration: who approves, where, and the limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Policy:
    approvers: frozenset[str]  # lower-case emails; empty: the organisation's administrators decide
    approval_room_id: str | None
    default_zone: str
    max_days: int
    approval_ttl: timedelta = timedelta(hours=24)  # a request nobody decides on expires after this
    reminder: timedelta = timedelta(minutes=15)  # before the end; zero: no reminder
