"""The emulator's world: people, rooms, messages, card actions, webhooks, intercept settings,
uploads, message files (contents), access tokens and OAuth grants, recorded requests, deliveries
and fault rules, all behind one re-entrant lock.

Records handed out to tests (`RecordedRequest`, `Delivery`, `Upload`, `Content`) are frozen
dataclasses and every accessor returns a copy, so a snapshot never changes under a test's feet.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "DEFAULT_INTERCEPT",
    "REFRESH_TOKEN_LIFETIME",
    "Content",
    "Delivery",
    "FaultRule",
    "Grant",
    "Person",
    "RecordedRequest",
    "Room",
    "State",
    "Upload",
    "Webhook",
    "deep_merge",
    "iso",
    "new_id",
    "utcnow",
]

PersonType = Literal["person", "bot"]

ACCESS_TOKEN_LIFETIME = 1209599  # seconds (14 days), Webex's `expires_in` of an integration token
REFRESH_TOKEN_LIFETIME = 7776000  # seconds (90 days), Webex's `refresh_token_expires_in`

DEFAULT_INTERCEPT: dict[str, Any] = {
    "enabled": False,
    "incoming": {
        "type": "INTERCEPT_ALL",
        "voicemailEnabled": False,
        "announcements": {
            "greeting": "DEFAULT",
            "fileName": "",
            "newNumber": {"enabled": False, "destination": ""},
            "zeroTransfer": {"enabled": False, "destination": ""},
        },
    },
    "outgoing": {"type": "INTERCEPT_ALL", "transferEnabled": False, "destination": ""},
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Webex's timestamp style: 2015-10-18T14:26:16.203Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_id(kind: str, raw: str | None = None) -> str:
    """A Webex-style id: base64 of "ciscospark://us/<KIND>/<uuid>" without padding."""
    value = raw or str(uuid.uuid4())
    return base64.b64encode(f"ciscospark://us/{kind}/{value}".encode()).decode().rstrip("=")


def deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `update` merged in, recursively for nested objects."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _split_name(display_name: str) -> tuple[str, str]:
    parts = display_name.split()
    if not parts:
        return "", ""
    if len(parts) == 1:
        return parts[0], ""
    return " ".join(parts[:-1]), parts[-1]


@dataclass
class Person:
    id: str
    email: str
    display_name: str
    type: PersonType = "person"
    timezone: str | None = None
    token: str = ""
    admin: bool = False
    org_id: str = ""
    calling: bool = True
    first_name: str = ""
    last_name: str = ""
    created: datetime = field(default_factory=utcnow)
    app_id: str = field(default_factory=lambda: new_id("APPLICATION"))

    def to_json(self, *, viewer_is_admin: bool = False, admin_role_id: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "emails": [self.email],
            "displayName": self.display_name,
        }
        if self.first_name:
            data["firstName"] = self.first_name
        if self.last_name:
            data["lastName"] = self.last_name
        data["orgId"] = self.org_id
        if viewer_is_admin and self.admin and admin_role_id:
            data["roles"] = [admin_role_id]
        data["created"] = iso(self.created)
        if self.timezone:
            data["timezone"] = self.timezone
        data["type"] = self.type
        return data


@dataclass
class Room:
    id: str
    type: Literal["direct", "group"]
    title: str
    member_ids: list[str]
    creator_id: str
    created: datetime = field(default_factory=utcnow)
    membership_created: dict[str, datetime] = field(default_factory=dict)


@dataclass
class Webhook:
    id: str
    name: str
    target_url: str
    resource: str
    event: str
    owner_id: str
    org_id: str
    app_id: str
    filter: str | None = None
    secret: str | None = None
    status: str = "active"
    owned_by: str = "creator"
    created: datetime = field(default_factory=utcnow)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "targetUrl": self.target_url,
            "resource": self.resource,
            "event": self.event,
        }
        if self.filter:
            data["filter"] = self.filter
        if self.secret:
            data["secret"] = self.secret
        data.update({
            "status": self.status,
            "created": iso(self.created),
            "orgId": self.org_id,
            "createdBy": self.owner_id,
            "appId": self.app_id,
            "ownedBy": self.owned_by,
        })
        return data


@dataclass(frozen=True)
class RecordedRequest:
    """One API request as the emulator received it (the Authorization header is left out)."""

    method: str
    path: str  # relative to /v1, no query, still percent-encoded as sent
    query: dict[str, str]
    json: Any
    body: bytes
    headers: dict[str, str]
    caller_id: str | None
    status: int  # what was answered (0 while the request is still being answered)
    at: datetime
    tracking_id: str = ""

    @property
    def raw(self) -> bytes:
        return self.body


@dataclass(frozen=True)
class Delivery:
    """One webhook POST attempt (retries and redeliveries are deliveries of their own)."""

    webhook_id: str
    target_url: str
    resource: str
    event: str
    body: bytes
    signature: str | None  # X-Spark-Signature, None when the webhook has no secret
    headers: dict[str, str]
    status: int | None  # the receiver's HTTP status, None when the connection failed
    error: str | None  # connection error or non-2xx description; None on success
    at: datetime
    attempt: int = 1  # 1 = first try, 2.. = retries
    redelivery: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def raw(self) -> bytes:
        return self.body

    def envelope(self) -> dict[str, Any]:
        """The delivered JSON body, parsed."""
        data = json.loads(self.body)
        if not isinstance(data, dict):
            raise ValueError("a delivery body is always a JSON object")
        return data


@dataclass(frozen=True)
class Upload:
    person_id: str
    file_name: str
    content_type: str | None
    data: bytes
    at: datetime


@dataclass(frozen=True)
class Content:
    """A file someone attached to a message (multipart POST /messages), served at
    <base_url>/contents/<id> to the members of the message's room."""

    id: str
    filename: str
    content_type: str  # as uploaded; application/octet-stream when the part had none
    data: bytes
    message_id: str
    person_id: str  # who uploaded it
    at: datetime


@dataclass
class Grant:
    """An OAuth authorization of one person for one integration (client): its refresh token and
    the access tokens issued under it (`WebexEmulator.grant`, POST /access_token)."""

    refresh_token: str
    client_id: str
    person_id: str
    access_expires_in: int  # lifetime (s) of each access token issued under this grant
    refresh_deadline: float  # State.ticks() at which the refresh token expires
    rotate: bool = False  # a refresh answers a new refresh token (and retires the old one)
    access_tokens: list[str] = field(default_factory=list)


@dataclass
class FaultRule:
    method: str  # upper case, or "*"
    path_regex: re.Pattern[str]
    status: int
    remaining: int
    retry_after: str | None = None
    delay: float = 0.0
    body: dict[str, Any] | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method in ("*", method.upper()) and bool(
            self.path_regex.fullmatch(path))


def unused_token(taken: Container[str]) -> str:
    """A new random token that is not in `taken`."""
    token = secrets.token_urlsafe(48)
    while token in taken:
        token = secrets.token_urlsafe(48)
    return token


class State:
    """All mutable emulator data. Take `lock` for anything that reads more than one field."""

    def now(self) -> datetime:
        """The time message and action stamps show: real time, moved like the sandbox's clock."""
        return utcnow() + self.clock_offset

    def __init__(self, org_id: str | None = None, ticks: Callable[[], float] = time.monotonic) -> None:
        self.lock = threading.RLock()
        self.ticks = ticks  # the seconds tokens expire by (injected by tests that expire one)
        self.check_bodies = True  # JSON bodies judged against the OpenAPI excerpt, cards against their schema
        self.org_id = org_id or new_id("ORGANIZATION")
        self.people: dict[str, Person] = {}
        self.tokens: dict[str, str] = {}  # token -> person id
        self.token_deadlines: dict[str, float] = {}  # token -> self.ticks() it expires at (absent: never)
        self.oauth_clients: dict[str, str] = {}  # client id -> client secret
        self.grants: dict[str, Grant] = {}  # refresh token -> grant
        self.refreshes = 0  # successful POST /access_token refreshes
        self.rooms: dict[str, Room] = {}
        self.direct_rooms: dict[frozenset[str], str] = {}
        self.messages: dict[str, dict[str, Any]] = {}  # insertion order = creation order
        self.deleted_messages: list[dict[str, Any]] = []
        self.actions: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, Webhook] = {}
        self.intercept: dict[str, dict[str, Any]] = {}
        self.uploads: list[Upload] = []
        self.contents: dict[str, Content] = {}  # content id -> file; insertion order = upload order
        self.requests: list[RecordedRequest] = []
        self.spec_violations: list[str] = []
        self.deliveries: list[Delivery] = []
        self.faults: list[FaultRule] = []
        self.clock_offset = timedelta(0)  # the sandbox's clock: message times follow it
        self.admin_role_id = new_id("ROLE")
        self.roles = [
            {"id": self.admin_role_id, "name": "Full Administrator"},
            {"id": new_id("ROLE"), "name": "User Administrator"},
            {"id": new_id("ROLE"), "name": "Read-only Administrator"},
        ]

    # ------------------------------------------------------------------ people

    def add_person(self, *, email: str, display_name: str | None = None, type: PersonType = "person",
                   timezone: str | None = None, token: str | None = None, admin: bool = False,
                   org_id: str | None = None, calling: bool | None = None,
                   first_name: str | None = None, last_name: str | None = None) -> Person:
        if type not in ("person", "bot"):
            raise ValueError(f"type must be 'person' or 'bot', not {type!r}")
        with self.lock:
            if any(p.email.lower() == email.lower() for p in self.people.values()):
                raise ValueError(f"a person with email {email!r} already exists")
            token = token or secrets.token_urlsafe(24)
            if token in self.tokens:
                raise ValueError("that token already belongs to someone")
            name = display_name or email.split("@")[0]
            first, last = _split_name(name)
            person = Person(
                id=new_id("PEOPLE"), email=email, display_name=name, type=type, timezone=timezone,
                token=token, admin=admin, org_id=org_id or self.org_id,
                calling=(type == "person") if calling is None else calling,
                first_name=first if first_name is None else first_name,
                last_name=last if last_name is None else last_name)
            self.people[person.id] = person
            self.tokens[token] = person.id
            self.intercept[person.id] = copy.deepcopy(DEFAULT_INTERCEPT)
            return person

    def person_for_token(self, token: str | None) -> Person | None:
        """Whose token it is; None for an unknown, expired or revoked token."""
        if not token:
            return None
        with self.lock:
            person_id = self.tokens.get(token)
            if person_id is None or self.token_expired(token):
                return None
            return self.people.get(person_id)

    def token_expired(self, token: str) -> bool:
        with self.lock:
            deadline = self.token_deadlines.get(token)
            return deadline is not None and self.ticks() >= deadline

    def forget_person(self, person_id: str) -> None:
        """Drop every token and OAuth grant of a person (who was deleted)."""
        with self.lock:
            for token in [t for t, owner in self.tokens.items() if owner == person_id]:
                del self.tokens[token]
                self.token_deadlines.pop(token, None)
            for refresh_token in [r for r, g in self.grants.items() if g.person_id == person_id]:
                del self.grants[refresh_token]

    # ------------------------------------------------------------------ OAuth

    def add_oauth_client(self, client_id: str, client_secret: str) -> None:
        if not client_id or not client_secret:
            raise ValueError("an OAuth client needs a non-empty client id and secret")
        with self.lock:
            self.oauth_clients[client_id] = client_secret

    def issue_access_token(self, grant: Grant) -> str:
        """A new access token for the grant's person, valid for `grant.access_expires_in` seconds."""
        with self.lock:
            token = unused_token(self.tokens)
            self.tokens[token] = grant.person_id
            self.token_deadlines[token] = self.ticks() + grant.access_expires_in
            grant.access_tokens.append(token)
            return token

    def grant(self, client_id: str, person_id: str, *, refresh_token: str | None = None,
              access_expires_in: int = ACCESS_TOKEN_LIFETIME, rotate: bool = False) -> tuple[str, str]:
        if access_expires_in < 1:
            raise ValueError("access_expires_in must be at least 1 second")
        if refresh_token is not None and not refresh_token:
            raise ValueError("refresh_token must not be empty")
        with self.lock:
            if client_id not in self.oauth_clients:
                raise KeyError(f"unknown OAuth client {client_id!r}: add_oauth_client first")
            if person_id not in self.people:
                raise KeyError(f"unknown person id {person_id!r}")
            if refresh_token is None:
                refresh_token = unused_token(self.grants)
            elif refresh_token in self.grants:
                raise ValueError("that refresh token is already granted")
            grant = Grant(refresh_token=refresh_token, client_id=client_id, person_id=person_id,
                          access_expires_in=access_expires_in,
                          refresh_deadline=self.ticks() + REFRESH_TOKEN_LIFETIME, rotate=rotate)
            self.grants[refresh_token] = grant
            return self.issue_access_token(grant), refresh_token

    def expire_token(self, token: str) -> None:
        with self.lock:
            if token not in self.tokens:
                raise KeyError("unknown access token")
            self.token_deadlines[token] = float("-inf")

    def revoke_grant(self, refresh_token: str) -> None:
        with self.lock:
            grant = self.grants.pop(refresh_token, None)
            if grant is None:
                raise KeyError("unknown refresh token")
            for token in grant.access_tokens:
                if token in self.tokens:
                    self.token_deadlines[token] = float("-inf")

    def person_by_email(self, email: str) -> Person | None:
        with self.lock:
            for person in self.people.values():
                if person.email.lower() == email.lower():
                    return person
            return None

    # ------------------------------------------------------------------ rooms

    def group_room(self, title: str, member_ids: list[str], creator_id: str | None = None) -> Room:
        with self.lock:
            for person_id in member_ids:
                if person_id not in self.people:
                    raise KeyError(f"unknown person id {person_id!r}")
            members = list(dict.fromkeys(member_ids))
            room = Room(id=new_id("ROOM"), type="group", title=title, member_ids=members,
                        creator_id=creator_id or (members[0] if members else ""))
            room.membership_created = {person_id: room.created for person_id in members}
            self.rooms[room.id] = room
            return room

    def direct_room(self, a: str, b: str) -> Room:
        with self.lock:
            for person_id in (a, b):
                if person_id not in self.people:
                    raise KeyError(f"unknown person id {person_id!r}")
            if a == b:
                raise ValueError("a direct room needs two different people")
            key = frozenset((a, b))
            room_id = self.direct_rooms.get(key)
            if room_id is None:
                room = Room(id=new_id("ROOM"), type="direct", title="", member_ids=[a, b], creator_id=a)
                room.membership_created = {a: room.created, b: room.created}
                self.rooms[room.id] = room
                self.direct_rooms[key] = room.id
                return room
            return self.rooms[room_id]

    def add_member(self, room_id: str, person_id: str) -> None:
        with self.lock:
            room = self.rooms[room_id]
            if room.type != "group":
                raise ValueError("people cannot be added to a direct room")
            if person_id not in self.people:
                raise KeyError(f"unknown person id {person_id!r}")
            if person_id not in room.member_ids:
                room.member_ids.append(person_id)
                room.membership_created[person_id] = utcnow()

    def remove_member(self, room_id: str, person_id: str) -> None:
        with self.lock:
            room = self.rooms[room_id]
            if person_id in room.member_ids:
                room.member_ids.remove(person_id)
                room.membership_created.pop(person_id, None)

    # ------------------------------------------------------------------ requests

    def record(self, request: RecordedRequest) -> int:
        with self.lock:
            self.requests.append(request)
            return len(self.requests) - 1

    def set_status(self, index: int, status: int) -> None:
        with self.lock:
            self.requests[index] = replace(self.requests[index], status=status)

    def take_fault(self, method: str, path: str) -> FaultRule | None:
        with self.lock:
            for rule in self.faults:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    return rule
            return None
