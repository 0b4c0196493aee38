"""The domain's vocabulary: intercept settings, requests and the states a request moves through.

Nothing here talks to Webex, a database or a clock: these are plain values.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.domain.values import Duration

INCOMING_TYPES = ("INTERCEPT_ALL", "ALLOW_ALL")
OUTGOING_TYPES = ("INTERCEPT_ALL", "ALLOW_LOCAL_ONLY")
GREETINGS = ("DEFAULT", "CUSTOM")


@dataclass(frozen=True)
class InterceptSettings:
    """One person's call-intercept settings, as `GET .../features/intercept` returns them.

    `file_name` is read-only (the name of an uploaded custom greeting): Webex spells it
    `fileName` live and `filename` in its spec; it is read under either name and never sent back.
    """

    enabled: bool = False
    incoming_type: str = "INTERCEPT_ALL"
    voicemail_enabled: bool = False
    greeting: str = "DEFAULT"
    file_name: str = ""
    new_number_enabled: bool = False
    new_number_destination: str = ""
    zero_transfer_enabled: bool = False
    zero_transfer_destination: str = ""
    outgoing_type: str = "INTERCEPT_ALL"
    outgoing_transfer_enabled: bool = False
    outgoing_destination: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> InterceptSettings:
        """Read a GET answer (or a stored copy of one); absent fields take Webex's defaults."""
        incoming = _obj(data.get("incoming"))
        announcements = _obj(incoming.get("announcements"))
        new_number = _obj(announcements.get("newNumber"))
        zero = _obj(announcements.get("zeroTransfer"))
        outgoing = _obj(data.get("outgoing"))
        file_name = announcements.get("fileName", announcements.get("filename", ""))
        return cls(
            enabled=bool(data.get("enabled", False)),
            incoming_type=str(incoming.get("type", "INTERCEPT_ALL")),
            voicemail_enabled=bool(incoming.get("voicemailEnabled", False)),
            greeting=str(announcements.get("greeting", "DEFAULT")),
            file_name=str(file_name or ""),
            new_number_enabled=bool(new_number.get("enabled", False)),
            new_number_destination=str(new_number.get("destination") or ""),
            zero_transfer_enabled=bool(zero.get("enabled", False)),
            zero_transfer_destination=str(zero.get("destination") or ""),
            outgoing_type=str(outgoing.get("type", "INTERCEPT_ALL")),
            outgoing_transfer_enabled=bool(outgoing.get("transferEnabled", False)),
            outgoing_destination=str(outgoing.get("destination") or ""),
        )

    def to_api(self) -> dict[str, Any]:
        """The full PUT body: every writable field, never the read-only file name."""
        return {
            "enabled": self.enabled,
            "incoming": {
                "type": self.incoming_type,
                "voicemailEnabled": self.voicemail_enabled,
                "announcements": {
                    "greeting": self.greeting,
                    "newNumber": {
                        "enabled": self.new_number_enabled,
                        "destination": self.new_number_destination,
                    },
                    "zeroTransfer": {
                        "enabled": self.zero_transfer_enabled,
                        "destination": self.zero_transfer_destination,
                    },
                },
            },
            "outgoing": {
                "type": self.outgoing_type,
                "transferEnabled": self.outgoing_transfer_enabled,
                "destination": self.outgoing_destination,
            },
        }

    def to_stored(self) -> dict[str, Any]:
        """The PUT body plus the file name: what a snapshot keeps."""
        body = self.to_api()
        body["incoming"]["announcements"]["fileName"] = self.file_name
        return body

    def differences(self, other: InterceptSettings) -> list[str]:
        """Names (API field paths) of the writable fields where `other` differs from `self`."""
        mine, theirs = _flatten(self.to_api()), _flatten(other.to_api())
        return [path for path in mine if mine[path] != theirs.get(path)]

    def with_enabled(self, enabled: bool) -> InterceptSettings:
        return replace(self, enabled=enabled)


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


class Status(enum.StrEnum):
    """Where a request stands. Every move between states is one compare-and-set in the store."""

    FORM_SENT = "form_sent"  # the requester has a form to fill in
    AWAITING_APPROVAL = "awaiting_approval"  # a valid form was submitted; approvers were asked
    APPROVED = "approved"  # approved; waiting for its start time
    APPLYING = "applying"  # snapshot taken; the intercept PUT is being sent
    ACTIVE = "active"  # the intercept is on; a revert is scheduled at the end time
    REVERTING = "reverting"  # the snapshot is being put back
    REVERTED = "reverted"  # ended: the previous settings are back
    REPLACED = "replaced"  # ended: a newer request of the same person took over its intercept
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def approved(self) -> bool:
        """Approved, whatever happened since."""
        return self in APPROVED_STATES


APPROVED_STATES = frozenset(
    {Status.APPROVED, Status.APPLYING, Status.ACTIVE, Status.REVERTING, Status.REVERTED, Status.REPLACED}
)
FINAL_STATES = frozenset(
    {Status.REVERTED, Status.REPLACED, Status.REJECTED, Status.CANCELLED, Status.EXPIRED, Status.FAILED}
)
# Requests that still count as "the person's request" (at most one of these per person besides an
# ACTIVE one): a new request replaces them.
OPEN_STATES = frozenset({Status.FORM_SENT, Status.AWAITING_APPROVAL, Status.APPROVED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.FORM_SENT: frozenset({Status.AWAITING_APPROVAL, Status.CANCELLED, Status.EXPIRED}),
    Status.AWAITING_APPROVAL: frozenset({Status.APPROVED, Status.REJECTED, Status.CANCELLED, Status.EXPIRED}),
    Status.APPROVED: frozenset({Status.APPLYING, Status.CANCELLED, Status.EXPIRED}),
    # APPLYING -> REVERTING: a failed or cancelled apply is undone; -> CANCELLED before anything changed
    Status.APPLYING: frozenset({Status.ACTIVE, Status.FAILED, Status.REVERTING, Status.CANCELLED}),
    Status.ACTIVE: frozenset({Status.REVERTING, Status.REPLACED}),
    Status.REVERTING: frozenset({Status.REVERTED, Status.FAILED, Status.CANCELLED}),  # the last two: an undone apply
    Status.REPLACED: frozenset({Status.ACTIVE}),  # handed back when its replacement failed to apply
    Status.REVERTED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.FAILED: frozenset(),
}

_LABELS = {
    Status.FORM_SENT: "form not submitted yet",
    Status.AWAITING_APPROVAL: "waiting for approval",
    Status.APPROVED: "approved, waiting for its start time",
    Status.APPLYING: "being applied",
    Status.ACTIVE: "active",
    Status.REVERTING: "being ended",
    Status.REVERTED: "ended, previous settings restored",
    Status.REPLACED: "replaced by a newer request",
    Status.REJECTED: "rejected",
    Status.CANCELLED: "cancelled",
    Status.EXPIRED: "expired",
    Status.FAILED: "failed",
}


def can_move(source: Status, target: Status) -> bool:
    """Whether the state machine allows the move (staying in a state, to record a step, is allowed)."""
    return source is target or target in TRANSITIONS[source]


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    display_name: str
    timezone: str | None = None
    type: str = "person"


@dataclass(frozen=True)
class Request:
    """One intercept request, from the form to the revert."""

    id: str
    person_id: str
    person_email: str
    person_name: str
    zone: str  # IANA name the times were read and are shown in
    room_id: str  # the 1:1 conversation with the requester
    status: Status
    created_at: datetime
    updated_at: datetime
    start_at: datetime | None = None  # UTC; None = as soon as approved
    end_at: datetime | None = None  # UTC
    requested: InterceptSettings | None = None
    snapshot: InterceptSettings | None = None  # what the person had before the bot first touched them
    reason: str = ""
    decided_by_id: str | None = None
    decided_by_name: str | None = None
    decided_at: datetime | None = None
    decision_comment: str = ""
    applied_at: datetime | None = None
    reverted_at: datetime | None = None
    replaces_id: str | None = None  # the intercept of the bot's it took over when applied
    extends_id: str | None = None  # the intercept (on when asked) an extension request would extend
    error: str = ""
    greeting_file: str = ""  # a custom greeting (.wav) the requester sent, uploaded when applied
    attempts: int = 0  # failed apply or revert attempts so far
    retry_at: datetime | None = None  # UTC; when a failed apply or revert is tried again
    draft: Mapping[str, str] = field(default_factory=dict)  # form values to prefill (phrase, last submit)
    draft_note: str = ""  # what the phrase did not say or we did not understand
    # asked "for 2 hours" (no start, end as prefilled): the end is this long after the intercept goes on
    lasts: Duration | None = None
