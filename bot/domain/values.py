"""Small value types that carry meaning between modules: why a request moved, what happened in
Webex, what a card is, what its button asks for, whom it was for, and where to answer someone.

Meaning crosses module boundaries as these, never as string prefixes or the wording of a note:
the words people read (`Reason.text`) are kept apart from what the code matches on (the member).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Reason(enum.StrEnum):
    """Why a request moved from one status to another: kept with the move in the audit log, and
    what the announcer decides on. `text` is the note people read (in the audit log, on a closed
    approval card, in "Your intercept request expired: ...")."""

    REQUESTED = "requested"
    EXTENSION_REQUESTED = "extension_requested"
    FORM_REPLACED = "form_replaced"
    FORM_SUBMITTED = "form_submitted"
    FORM_CANCELLED = "form_cancelled"
    CANCELLED = "cancelled"
    CANCELLED_WHILE_APPLYING = "cancelled_while_applying"
    SUPERSEDED = "superseded"
    EXTENSIONS_DROPPED = "extensions_dropped"
    EXTENSION_ORPHANED = "extension_orphaned"
    NO_APPROVER_REACHED = "no_approver_reached"
    UNDECIDED = "undecided"
    FORM_NOT_SENT = "form_not_sent"
    END_PASSED = "end_passed"
    END_PASSED_UNAPPROVED = "end_passed_unapproved"
    END_PASSED_UNSTARTED = "end_passed_unstarted"
    DECIDED = "decided"
    APPLYING = "applying"
    TAKES_OVER = "takes_over"
    TAKEN_OVER = "taken_over"
    NEWER_ON_ALREADY = "newer_on_already"
    HANDED_BACK = "handed_back"
    ON = "on"
    SHORTENED = "shortened"
    END_REACHED = "end_reached"
    ENDED_EARLY = "ended_early"
    UNDOING_APPLY = "undoing_apply"
    KEPT_EARLIER = "kept_earlier"
    NOTHING_CHANGED = "nothing_changed"
    AS_BEFORE = "as_before"
    RESTORED = "restored"

    @property
    def text(self) -> str:
        return _REASON_TEXT[self]


_REASON_TEXT = {
    Reason.REQUESTED: "requested",
    Reason.EXTENSION_REQUESTED: "extension requested",
    Reason.FORM_REPLACED: "replaced by a newer form",
    Reason.FORM_SUBMITTED: "form submitted",
    Reason.FORM_CANCELLED: "cancelled from the form",
    Reason.CANCELLED: "cancelled by the requester",
    Reason.CANCELLED_WHILE_APPLYING: "cancelled by the requester while being applied",
    Reason.SUPERSEDED: "replaced by a newer request from the requester",
    Reason.EXTENSIONS_DROPPED: "replaced by a new end from the requester",
    Reason.EXTENSION_ORPHANED: "expired: the intercept it would extend is no longer on",
    Reason.NO_APPROVER_REACHED: "expired: no approver could be reached",
    Reason.UNDECIDED: "expired: nobody decided in time",
    Reason.FORM_NOT_SENT: "expired: the form was not sent",
    Reason.END_PASSED: "expired: its end time passed",
    Reason.END_PASSED_UNAPPROVED: "expired: its end time passed before anyone approved",
    Reason.END_PASSED_UNSTARTED: "expired: its end time passed before it could start",
    Reason.DECIDED: "decided",
    Reason.APPLYING: "applying",
    Reason.TAKES_OVER: "takes over an earlier intercept",
    Reason.TAKEN_OVER: "replaced by a newer request",
    Reason.NEWER_ON_ALREADY: "replaced by a newer request that is on already",
    Reason.HANDED_BACK: "handed back: its replacement failed",
    Reason.ON: "intercept on",
    Reason.SHORTENED: "the requester moved the end earlier",
    Reason.END_REACHED: "end time reached",
    Reason.ENDED_EARLY: "ended early by the requester",
    Reason.UNDOING_APPLY: "apply failed",
    Reason.KEPT_EARLIER: "apply failed; the earlier intercept was kept",
    Reason.NOTHING_CHANGED: "apply failed; nothing was changed",
    Reason.AS_BEFORE: "apply failed and undone; settings as before",
    Reason.RESTORED: "previous settings restored",
}


class AuditEvent(enum.StrEnum):
    """What an audit row records: a status change, or something the bot did (or failed to do) in Webex."""

    STATUS = "status"
    APPLIED = "applied"
    REVERTED = "reverted"
    GREETING_UPLOADED = "greeting uploaded"
    WEBEX_ERROR = "webex error"


class CardKind(enum.StrEnum):
    """A card the bot sent and records, so that a click on it is authorised from the bot's records."""

    FORM = "form"  # the request form, to the requester
    APPROVAL = "approval"  # Approve / Reject, to an approver or the approval space
    REMINDER = "reminder"  # End now / Extend before the end, to the requester
    STATUS = "status"  # the requester's status, with End now or Cancel my request


INTENT_KEY = "intent"  # the key of a submit button's data that names what it asks for


class Intent(enum.StrEnum):
    """What a card's button asks for (its `data`); anything else is not understood."""

    SUBMIT = "submit"
    CANCEL = "cancel"
    APPROVE = "approve"
    REJECT = "reject"
    END = "end"
    EXTEND = "extend"
    OTHER_READING = "other_reading"  # the form: take the other reading of the requester's time phrase

    @classmethod
    def of(cls, inputs: Mapping[str, Any]) -> Intent | None:
        """The intent a submission carries, exactly as a button of the bot's writes it; None otherwise."""
        value = inputs.get(INTENT_KEY)
        if not isinstance(value, str):
            return None
        try:
            return cls(value)
        except ValueError:
            return None

    def data(self) -> dict[str, str]:
        """The `data` of the submit button that asks for this."""
        return {INTENT_KEY: self.value}


class Audience(enum.Enum):
    REQUESTER = "requester"  # the person a request is about, by person id
    APPROVER = "approver"  # an approver, by email
    APPROVAL_ROOM = "approval_room"  # the approval space, by room id


@dataclass(frozen=True)
class Recipient:
    """Whom a card was for."""

    audience: Audience
    address: str  # person id, email or room id, by audience

    @classmethod
    def requester(cls, person_id: str) -> Recipient:
        return cls(Audience.REQUESTER, person_id)

    @classmethod
    def approver(cls, email: str) -> Recipient:
        return cls(Audience.APPROVER, email.lower())

    @classmethod
    def room(cls, room_id: str) -> Recipient:
        return cls(Audience.APPROVAL_ROOM, room_id)


@dataclass(frozen=True)
class Where:
    """Where to say something: a room, or a direct message to a person (by id, or by email for an
    approver the bot has not talked to yet)."""

    room_id: str | None = None
    to_person_id: str | None = None
    to_person_email: str | None = None


@dataclass(frozen=True)
class Duration:
    """How long an intercept asked "for 2 hours" lasts, from when it goes on: calendar months and days keep
    the wall-clock time in the requester's zone, minutes are elapsed time."""

    months: int = 0
    days: int = 0
    minutes: int = 0

    def to_text(self) -> str:
        """ "0 0 120": stored in a request's row and form draft."""
        return f"{self.months} {self.days} {self.minutes}"

    @classmethod
    def from_text(cls, text: str) -> Duration | None:
        parts = text.split()
        if len(parts) != 3 or not all(part.isdigit() for part in parts):
            return None
        return cls(*(int(part) for part in parts))

    def words(self) -> str:
        """ "1 hour 30 minutes", "3 days", "1 month"."""
        hours, minutes = divmod(self.minutes, 60)
        parts = [(self.months, "month"), (self.days, "day"), (hours, "hour"), (minutes, "minute")]
        return " ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n) or "0 minutes"
