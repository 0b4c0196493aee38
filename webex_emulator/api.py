"""The Webex REST operations the emulator serves, on top of `State`.

`Api.handle` receives a request that already passed the HTTP layer's checks (authenticated, the
path matched an operation, the JSON body parsed and passed the operation's schema, or a
multipart/form-data body parsed into `ApiRequest.form` and passed its shape check) and returns an
`ApiResponse`, or raises `ApiError` with Webex's status and message.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from webex_emulator.deliveries import Deliverer, Job, headers_for
from webex_emulator.multipart import FormPart, MultipartError, attachment_disposition, parse_form_data
from webex_emulator.schemas import CARD_CONTENT_TYPE, OperationMatch
from webex_emulator.state import (
    DEFAULT_INTERCEPT,
    Content,
    Person,
    Room,
    State,
    Upload,
    Webhook,
    deep_merge,
    iso,
    new_id,
    utcnow,
)

__all__ = ["MAX_FILE_BYTES", "MAX_MESSAGE_BYTES", "Api", "ApiError", "ApiRequest", "ApiResponse",
           "body_policy_errors", "markdown_to_text", "parse_mentions"]

MAX_MESSAGE_BYTES = 7439
MAX_FILE_BYTES = 20 * 1024 * 1024  # per uploaded message file (Webex allows 100 MB; 413 beyond)
DEFAULT_FILE_TYPE = "application/octet-stream"
NOT_FOUND = "The requested resource could not be found."
MENTION = re.compile(r"<@(personId|personEmail):([^|>\s]+)(?:\|([^>]*))?>|<@(all)>", re.IGNORECASE)
PHONE = re.compile(r"\+?[0-9*#]{2,20}")

MESSAGE_FILTER_KEYS = {"roomId", "roomType", "personId", "personEmail", "mentionedPeople", "hasFiles",
                       "mentionedGroups"}
ACTION_FILTER_KEYS = {"roomId", "personId", "personEmail", "messageId"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: Iterable[str] = (),
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class ApiRequest:
    method: str  # upper case
    path: str  # relative to /v1, as sent (percent-encoded)
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    json: Any
    caller: Person
    match: OperationMatch
    tracking_id: str
    form: list[FormPart] | None = None  # the parts of a multipart/form-data body (FORM_OPERATIONS)

    @property
    def params(self) -> dict[str, str]:
        return self.match.params


@dataclass
class ApiResponse:
    status: int
    json: Any = None  # None: no body (unless raw is set)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a non-JSON body (a file download); headers carry its Content-Type


def body_policy_errors(match: OperationMatch, body: Any) -> list[str]:
    """Request-body rules beyond the JSON schema that are still the client's fault (spec violations)."""
    if (match.method, match.template) == ("put", "/people/{personId}/features/intercept"):
        found = sorted(_keys_named(body, {"fileName", "filename"}))
        if found:
            return [f"{path}: the announcement file name is read-only and must not be sent" for path in found]
    return []


def _keys_named(node: Any, names: set[str], path: str = "$") -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if key in names:
                yield here
            yield from _keys_named(value, names, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _keys_named(value, names, f"{path}[{index}]")


# ---------------------------------------------------------------------------------------- text helpers


def parse_mentions(markdown: str, lookup_id: Callable[[str], Person | None],
                   lookup_email: Callable[[str], Person | None]) -> tuple[list[str], list[str]]:
    """(mentionedPeople ids, mentionedGroups) of a markdown text; unknown people are left out."""
    people: list[str] = []
    groups: list[str] = []
    for found in MENTION.finditer(markdown):
        if found.group(4):
            if "all" not in groups:
                groups.append("all")
            continue
        kind, value = found.group(1).lower(), found.group(2)
        person = lookup_id(value) if kind == "personid" else lookup_email(value)
        if person is not None and person.id not in people:
            people.append(person.id)
    return people, groups


def markdown_to_text(markdown: str, lookup_id: Callable[[str], Person | None],
                     lookup_email: Callable[[str], Person | None]) -> str:
    """A light plain-text rendition, like Webex's `text` for a markdown-only message.

    Mentions become the mentioned person's display name; links keep their label; emphasis,
    code, heading and quote markers go.
    """

    def mention(found: re.Match[str]) -> str:
        if found.group(4):
            return "all"
        kind, value, label = found.group(1).lower(), found.group(2), found.group(3)
        person = lookup_id(value) if kind == "personid" else lookup_email(value)
        if person is not None:
            return person.display_name
        return label or value

    text = MENTION.sub(mention, markdown)
    text = re.sub(r"^```[^\n]*\n?", "", text, flags=re.MULTILINE)
    text = re.sub(r"!?\[([^\]]*)\]\(([^)\s]+)[^)]*\)", lambda m: m.group(1) or m.group(2), text)
    text = re.sub(r"<((?:https?|mailto):[^>\s]+)>", r"\1", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text, flags=re.DOTALL)
    text = re.sub(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])", r"\1", text)
    text = re.sub(r"~~(.+?)~~", r"\1", text)
    text = re.sub(r"`([^`\n]*)`", r"\1", text)
    text = re.sub(r"^\s{0,3}#{1,6}\s+", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\s{0,3}>\s?", "", text, flags=re.MULTILINE)
    return text.strip()


def _byte_length(value: str) -> int:
    return len(value.encode("utf-8"))


def _parse_filter(value: str, resource: str) -> dict[str, str]:
    allowed = {"messages": MESSAGE_FILTER_KEYS, "attachmentActions": ACTION_FILTER_KEYS}.get(resource)
    out: dict[str, str] = {}
    for part in value.split("&"):
        key, sep, raw = part.partition("=")
        if not sep or not key or not raw:
            raise ApiError(400, f"Invalid filter {value!r}: expected key=value pairs joined by '&'")
        if allowed is not None and key not in allowed:
            raise ApiError(400, f"Unsupported filter {key!r} for resource {resource!r}",
                           [f"supported filters: {', '.join(sorted(allowed))}"])
        out[key] = unquote(raw)
    return out


def _parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"Invalid date and time {value!r}") from None
    if moment.tzinfo is None:
        raise ApiError(400, f"Date and time {value!r} needs a time zone")
    return moment


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid value for {name!r}: {raw!r} is not a number") from None
    if not low <= value <= high:
        raise ApiError(400, f"Invalid value for {name!r}: must be between {low} and {high}")
    return value


# ---------------------------------------------------------------------------------------- the API


Handler = Callable[[ApiRequest], ApiResponse]


class Api:
    def __init__(self, state: State, deliverer: Deliverer, new_tracking_id: Callable[[], str],
                 base_url: Callable[[], str], *, max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.state = state
        self.deliverer = deliverer
        self.new_tracking_id = new_tracking_id
        self.base_url = base_url  # http://host:port/v1 of the running server (message file URLs)
        self.max_file_bytes = max_file_bytes
        self.routes: dict[tuple[str, str], Handler] = {
            ("get", "/people/me"): self.people_me,
            ("get", "/people"): self.people_list,
            ("get", "/people/{personId}"): self.people_get,
            ("put", "/people/{personId}"): self.people_update,
            ("delete", "/people/{personId}"): self.people_delete,
            ("get", "/roles"): self.roles_list,
            ("get", "/memberships"): self.memberships_list,
            ("post", "/memberships"): self.memberships_create,
            ("get", "/rooms/{roomId}"): self.rooms_get,
            ("post", "/messages"): self.messages_create,
            ("get", "/messages"): self.messages_list,
            ("get", "/messages/{messageId}"): self.messages_get,
            ("put", "/messages/{messageId}"): self.messages_edit,
            ("delete", "/messages/{messageId}"): self.messages_delete,
            ("get", "/contents/{contentId}"): self.contents_get,
            ("head", "/contents/{contentId}"): self.contents_get,
            ("post", "/attachment/actions"): self.actions_create,
            ("get", "/attachment/actions/{id}"): self.actions_get,
            ("get", "/webhooks"): self.webhooks_list,
            ("post", "/webhooks"): self.webhooks_create,
            ("get", "/webhooks/{webhookId}"): self.webhooks_get,
            ("put", "/webhooks/{webhookId}"): self.webhooks_update,
            ("delete", "/webhooks/{webhookId}"): self.webhooks_delete,
            ("get", "/people/{personId}/features/intercept"): self.intercept_get,
            ("put", "/people/{personId}/features/intercept"): self.intercept_put,
            ("post", "/people/{personId}/features/intercept/actions/announcementUpload/invoke"):
                self.announcement_upload,
        }

    def handle(self, request: ApiRequest) -> ApiResponse:
        handler = self.routes.get((request.match.method, request.match.template))
        if handler is None:
            raise ApiError(501, f"{request.method} {request.match.template} is in the OpenAPI excerpt but the "
                                "emulator does not implement it")
        with self.state.lock:
            return handler(request)

    # ------------------------------------------------------------------ lookups

    def _person_by_id(self, person_id: str) -> Person | None:
        return self.state.people.get(person_id)

    def _person_by_email(self, address: str) -> Person | None:
        return self.state.person_by_email(address)

    def _person_json(self, person: Person, viewer: Person) -> dict[str, Any]:
        return person.to_json(viewer_is_admin=viewer.admin and viewer.type == "person",
                              admin_role_id=self.state.admin_role_id)

    def _room_for_member(self, room_id: str, caller: Person) -> Room:
        room = self.state.rooms.get(room_id)
        if room is None or caller.id not in room.member_ids:
            raise ApiError(404, NOT_FOUND)
        return room

    def _bot_may_see(self, caller: Person, room: Room, message: Mapping[str, Any]) -> bool:
        """In group rooms a bot only sees its own messages and those that @mention it."""
        if caller.type != "bot" or room.type == "direct":
            return True
        return message.get("personId") == caller.id or caller.id in (message.get("mentionedPeople") or [])

    def _visible_message(self, message_id: str, caller: Person) -> tuple[dict[str, Any], Room]:
        message = self.state.messages.get(message_id)
        if message is None:
            raise ApiError(404, NOT_FOUND)
        room = self._room_for_member(message["roomId"], caller)
        if not self._bot_may_see(caller, room, message):
            raise ApiError(404, NOT_FOUND)
        return message, room

    # ------------------------------------------------------------------ people

    def people_me(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self._person_json(request.caller, request.caller))

    def people_get(self, request: ApiRequest) -> ApiResponse:
        person = self._person_by_id(request.params["personId"])
        if person is None:
            raise ApiError(404, NOT_FOUND)
        return ApiResponse(200, self._person_json(person, request.caller))

    def people_list(self, request: ApiRequest) -> ApiResponse:
        query, caller = request.query, request.caller
        email_q, name_q, ids_q = query.get("email"), query.get("displayName"), query.get("id")
        is_admin = caller.admin and caller.type == "person"
        if not (email_q or name_q or ids_q) and not is_admin:
            raise ApiError(400, "Email, displayName, or id list should be specified.")
        limit = _int_param(query, "max", 100, 1, 1000)
        people: list[Person] = list(self.state.people.values())
        if ids_q:
            wanted = [value.strip() for value in ids_q.split(",") if value.strip()]
            if len(wanted) > 85:
                raise ApiError(400, "At most 85 ids may be given")
            people = [self.state.people[i] for i in wanted if i in self.state.people]
        if email_q:
            people = [p for p in people if p.email.lower() == email_q.lower()]
        if name_q:
            people = [p for p in people if p.display_name.lower().startswith(name_q.lower())]
        org = query.get("orgId")
        if org:
            people = [p for p in people if p.org_id == org]
        elif not (email_q or ids_q):
            people = [p for p in people if p.org_id == caller.org_id]
        return ApiResponse(200, {"items": [self._person_json(p, caller) for p in people[:limit]]})

    def _require_admin(self, caller: Person) -> None:
        if caller.type != "person" or not caller.admin:
            raise ApiError(403, "Forbidden: this API requires an administrator token "
                                "(a bot or non-admin token may not call it).")

    def people_update(self, request: ApiRequest) -> ApiResponse:
        self._require_admin(request.caller)
        person = self._person_by_id(request.params["personId"])
        if person is None or person.org_id != request.caller.org_id:
            raise ApiError(404, NOT_FOUND)
        body = request.json if isinstance(request.json, dict) else {}
        if "displayName" in body:
            person.display_name = str(body["displayName"])
        if "firstName" in body:
            person.first_name = str(body["firstName"])
        if "lastName" in body:
            person.last_name = str(body["lastName"])
        if "timezone" in body:
            person.timezone = str(body["timezone"]) or None
        return ApiResponse(200, self._person_json(person, request.caller))

    def people_delete(self, request: ApiRequest) -> ApiResponse:
        self._require_admin(request.caller)
        person = self._person_by_id(request.params["personId"])
        if person is None or person.org_id != request.caller.org_id:
            raise ApiError(404, NOT_FOUND)
        del self.state.people[person.id]
        self.state.forget_person(person.id)
        return ApiResponse(204)

    def roles_list(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, {"items": copy.deepcopy(self.state.roles)})

    # ------------------------------------------------------------------ memberships

    def _membership_json(self, room: Room, person: Person) -> dict[str, Any]:
        raw = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{room.id}:{person.id}"))
        return {
            "id": new_id("MEMBERSHIP", raw),
            "roomId": room.id,
            "personId": person.id,
            "personEmail": person.email,
            "personDisplayName": person.display_name,
            "personOrgId": person.org_id,
            "isModerator": False,
            "isMonitor": False,
            "isRoomHidden": False,
            "roomType": room.type,
            "created": iso(room.membership_created.get(person.id, room.created)),
        }

    def memberships_list(self, request: ApiRequest) -> ApiResponse:
        query, caller = request.query, request.caller
        limit = _int_param(query, "max", 100, 1, 1000)
        if query.get("roomId"):
            room = self._room_for_member(query["roomId"], caller)
            members = [self.state.people[i] for i in room.member_ids if i in self.state.people]
            if query.get("personId"):
                members = [p for p in members if p.id == query["personId"]]
            if query.get("personEmail"):
                members = [p for p in members if p.email.lower() == query["personEmail"].lower()]
            items = [self._membership_json(room, p) for p in members]
        else:
            if query.get("personId") or query.get("personEmail"):
                raise ApiError(400, "personId and personEmail filters require roomId")
            items = [self._membership_json(room, caller) for room in self.state.rooms.values()
                     if caller.id in room.member_ids]
        return ApiResponse(200, {"items": items[:limit]})

    def memberships_create(self, request: ApiRequest) -> ApiResponse:
        body, caller = request.json, request.caller
        room = self._room_for_member(body["roomId"], caller)
        if room.type != "group":
            raise ApiError(400, "Cannot add people to a 1:1 (direct) room")
        if body.get("personId"):
            person = self._person_by_id(body["personId"])
        elif body.get("personEmail"):
            person = self._person_by_email(body["personEmail"])
        else:
            raise ApiError(400, "personId or personEmail is required")
        if person is None:
            raise ApiError(404, NOT_FOUND)
        if person.id in room.member_ids:
            raise ApiError(409, "The person is already a member of the room")
        self.state.add_member(room.id, person.id)
        return ApiResponse(200, self._membership_json(room, person))

    # ------------------------------------------------------------------ rooms

    def rooms_get(self, request: ApiRequest) -> ApiResponse:
        """A room its caller is in (404 otherwise, as for a room that does not exist). A 1:1 room's
        title is the other person's name, as Webex shows it."""
        caller = request.caller
        room = self._room_for_member(request.params["roomId"], caller)
        title = room.title
        if room.type == "direct":
            other = next((self.state.people.get(i) for i in room.member_ids if i != caller.id), None)
            title = other.display_name if other else "Empty Title"
        creator = self.state.people.get(room.creator_id)
        last = max((m["created"] for m in self.state.messages.values() if m.get("roomId") == room.id),
                   default=iso(room.created))
        return ApiResponse(200, {
            "id": room.id, "title": title, "type": room.type, "isLocked": False, "lastActivity": last,
            "creatorId": room.creator_id, "created": iso(room.created),
            "ownerId": creator.org_id if creator else "", "isAnnouncementOnly": False, "isReadOnly": False})

    # ------------------------------------------------------------------ messages

    def _check_lengths(self, body: Mapping[str, Any]) -> None:
        for key in ("text", "markdown"):
            value = body.get(key)
            if isinstance(value, str) and _byte_length(value) > MAX_MESSAGE_BYTES:
                raise ApiError(400, f"Message {key} is too long: {_byte_length(value)} bytes, "
                                    f"the maximum is {MAX_MESSAGE_BYTES} bytes")

    def _content(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """text/markdown/mentions of a create or edit body."""
        out: dict[str, Any] = {}
        raw_markdown = body.get("markdown")
        markdown = raw_markdown if isinstance(raw_markdown, str) else ""
        text = body.get("text")
        has_markdown = bool(markdown)
        if has_markdown and not (isinstance(text, str) and text):
            text = markdown_to_text(markdown, self._person_by_id, self._person_by_email)
        if isinstance(text, str) and text:
            out["text"] = text
        if has_markdown:
            out["markdown"] = markdown
            people, groups = parse_mentions(markdown, self._person_by_id, self._person_by_email)
            if people:
                out["mentionedPeople"] = people
            if groups:
                out["mentionedGroups"] = groups
        return out

    def _form_message(self, form: list[FormPart]) -> tuple[dict[str, Any], FormPart | None]:
        """(the text fields as a create body, the uploaded file) of a multipart POST /messages."""
        uploads = [part for part in form if part.is_file]
        if len(uploads) > 1:
            raise ApiError(400, f"Only one file is allowed per message, got {len(uploads)} file parts")
        body = {part.name: part.text() for part in form if not part.is_file}
        if not uploads:
            return body, None
        upload = uploads[0]
        if not upload.filename:
            raise ApiError(400, "files: the file part has no filename")
        if not upload.data:
            raise ApiError(400, f"files: {upload.filename!r} is empty")
        if len(upload.data) > self.max_file_bytes:
            raise ApiError(413, f"files: {upload.filename!r} is {len(upload.data)} bytes, "
                                f"the maximum is {self.max_file_bytes} bytes")
        return body, upload

    def messages_create(self, request: ApiRequest) -> ApiResponse:
        """JSON (`files` are public URLs) or multipart/form-data (one local file in the part `files`,
        stored as a content the message's `files` links to)."""
        upload: FormPart | None = None
        body: dict[str, Any]
        if request.form is not None:
            body, upload = self._form_message(request.form)
        else:
            body = request.json
        caller = request.caller
        destinations = [key for key in ("roomId", "toPersonId", "toPersonEmail") if body.get(key)]
        if len(destinations) != 1:
            raise ApiError(400, "Exactly one of roomId, toPersonId or toPersonEmail must be given"
                           if destinations else "roomId, toPersonId or toPersonEmail is required")
        if upload is None and not any(body.get(key) for key in ("text", "markdown", "files", "attachments")):
            raise ApiError(400, "A message needs text, markdown, files or attachments")
        self._check_lengths(body)
        files = body.get("files") or []
        if len(files) > 1:
            raise ApiError(400, "Only one file is allowed per message")
        for url in files:
            if not re.match(r"https?://", url):
                raise ApiError(400, f"files: {url!r} is not a public http(s) URL")
        attachments = body.get("attachments") or []
        if len(attachments) > 1:
            raise ApiError(400, "Only one card (attachment) per message is supported")
        for attachment in attachments:
            if attachment.get("contentType") != CARD_CONTENT_TYPE:
                raise ApiError(400, f"Unsupported attachment contentType {attachment.get('contentType')!r}")

        if body.get("roomId"):
            room = self._room_for_member(body["roomId"], caller)
        else:
            if body.get("toPersonId"):
                other = self._person_by_id(body["toPersonId"])
            else:
                other = self._person_by_email(body["toPersonEmail"])
            if other is None:
                raise ApiError(404, "Could not find the person to send the message to")
            if other.id == caller.id:
                raise ApiError(400, "Cannot send a 1:1 message to yourself")
            room = self.state.direct_room(caller.id, other.id)

        parent_id = body.get("parentId")
        if parent_id:
            parent = self.state.messages.get(parent_id)
            if parent is None or parent["roomId"] != room.id:
                raise ApiError(400, "Invalid parentId: no such message in this room")
            if parent.get("parentId"):
                raise ApiError(400, "Invalid parentId: cannot reply to a reply (threads are one level deep)")

        message: dict[str, Any] = {"id": new_id("MESSAGE")}
        if upload is not None:
            content = Content(id=new_id("CONTENT"), filename=upload.filename or "", data=upload.data,
                              content_type=upload.content_type or DEFAULT_FILE_TYPE, message_id=message["id"],
                              person_id=caller.id, at=utcnow())
            self.state.contents[content.id] = content
            files = [f"{self.base_url()}/contents/{content.id}"]
        if parent_id:
            message["parentId"] = parent_id
        message.update({"roomId": room.id, "roomType": room.type})
        message.update(self._content(body))
        if files:
            message["files"] = list(files)
        if attachments:
            message["attachments"] = copy.deepcopy(attachments)
        message.update({"personId": caller.id, "personEmail": caller.email, "created": iso(self.state.now())})
        # keep mentions after the author fields, like Webex's own answers
        for key in ("mentionedPeople", "mentionedGroups"):
            if key in message:
                message[key] = message.pop(key)
        self.state.messages[message["id"]] = message
        self._fire_message(message, "created", caller)

        answer = copy.deepcopy(message)
        for key in ("toPersonId", "toPersonEmail"):
            if body.get(key):
                answer[key] = body[key]
        return ApiResponse(200, answer)

    def messages_get(self, request: ApiRequest) -> ApiResponse:
        message, _ = self._visible_message(request.params["messageId"], request.caller)
        return ApiResponse(200, copy.deepcopy(message))

    def messages_list(self, request: ApiRequest) -> ApiResponse:
        query, caller = request.query, request.caller
        room = self._room_for_member(query["roomId"], caller)
        mentioned = query.get("mentionedPeople")
        if mentioned is not None and mentioned not in ("me", caller.id):
            raise ApiError(400, "mentionedPeople may only be 'me' or your own person id")
        if caller.type == "bot" and room.type == "group" and mentioned is None:
            raise ApiError(403, "Bots must use mentionedPeople=me to list messages in group rooms")
        limit = _int_param(query, "max", 50, 1, 100 if mentioned else 1000)
        items = [m for m in self.state.messages.values() if m["roomId"] == room.id]
        if mentioned is not None:
            items = [m for m in items if caller.id in (m.get("mentionedPeople") or [])]
        if query.get("parentId"):
            items = [m for m in items if m.get("parentId") == query["parentId"]]
        if query.get("before"):
            before = _parse_time(query["before"])
            items = [m for m in items if _parse_time(m["created"]) < before]
        if query.get("beforeMessage"):
            ids = [m["id"] for m in items]
            if query["beforeMessage"] not in self.state.messages:
                raise ApiError(404, NOT_FOUND)
            if query["beforeMessage"] in ids:
                items = items[: ids.index(query["beforeMessage"])]
            else:
                pivot = _parse_time(self.state.messages[query["beforeMessage"]]["created"])
                items = [m for m in items if _parse_time(m["created"]) < pivot]
        items = [m for m in items if self._bot_may_see(caller, room, m)]
        newest_first = list(reversed(items))[:limit]
        return ApiResponse(200, {"items": copy.deepcopy(newest_first)})

    def messages_edit(self, request: ApiRequest) -> ApiResponse:
        body: dict[str, Any] = request.json
        message, room = self._visible_message(request.params["messageId"], request.caller)
        if message["personId"] != request.caller.id:
            raise ApiError(403, "Only the author of a message can edit it")
        if body.get("roomId") != message["roomId"]:
            raise ApiError(400, "roomId does not match the message's room")
        if message.get("attachments"):
            raise ApiError(400, "A message with attachments (a card) cannot be edited")
        if not (body.get("text") or body.get("markdown")):
            raise ApiError(400, "text or markdown is required")
        if "html" in body and body.get("markdown"):
            raise ApiError(400, "markdown and html cannot both be given")
        self._check_lengths(body)
        for key in ("text", "markdown", "mentionedPeople", "mentionedGroups", "html"):
            message.pop(key, None)
        created = message.pop("created")
        author = {key: message.pop(key) for key in ("personId", "personEmail")}
        content = self._content(body)
        mentions: dict[str, Any] = {
            key: content.pop(key) for key in ("mentionedPeople", "mentionedGroups") if key in content}
        message.update(content)
        message.update(author)
        message.update(mentions)
        message["created"] = created
        message["updated"] = iso(self.state.now())
        self._fire_message(message, "updated", request.caller)
        del room
        return ApiResponse(200, copy.deepcopy(message))

    def messages_delete(self, request: ApiRequest) -> ApiResponse:
        message, _ = self._visible_message(request.params["messageId"], request.caller)
        if message["personId"] != request.caller.id:
            raise ApiError(403, "You can only delete your own messages")
        del self.state.messages[message["id"]]
        self.state.deleted_messages.append(copy.deepcopy(message))
        self._fire_message(message, "deleted", request.caller)
        return ApiResponse(204)

    # ------------------------------------------------------------------ message files

    def contents_get(self, request: ApiRequest) -> ApiResponse:
        """GET/HEAD of a message's file, for the members of the message's room (404 for anyone
        else, and once the message is deleted). HEAD drops the body in the HTTP layer."""
        content = self.state.contents.get(request.params["contentId"])
        message = self.state.messages.get(content.message_id) if content is not None else None
        if content is None or message is None:
            raise ApiError(404, NOT_FOUND)
        self._room_for_member(message["roomId"], request.caller)
        return ApiResponse(200, raw=content.data, headers={
            "Content-Type": content.content_type,
            "Content-Disposition": attachment_disposition(content.filename),
        })

    # ------------------------------------------------------------------ attachment actions

    def actions_create(self, request: ApiRequest) -> ApiResponse:
        body: dict[str, Any] = request.json
        caller = request.caller
        message = self.state.messages.get(body["messageId"])
        if message is None:
            raise ApiError(404, NOT_FOUND)
        room = self._room_for_member(message["roomId"], caller)
        if not message.get("attachments"):
            raise ApiError(400, "The message has no card to submit")
        action = {
            "id": new_id("ATTACHMENT_ACTION"),
            "type": body["type"],
            "messageId": message["id"],
            "inputs": copy.deepcopy(body.get("inputs") or {}),
            "personId": caller.id,
            "roomId": room.id,
            "created": iso(self.state.now()),
        }
        self.state.actions[action["id"]] = action
        self._fire_action(action, message, caller)
        return ApiResponse(202, copy.deepcopy(action))

    def actions_get(self, request: ApiRequest) -> ApiResponse:
        action = self.state.actions.get(request.params["id"])
        if action is None:
            raise ApiError(404, NOT_FOUND)
        message = self.state.messages.get(action["messageId"])
        author = message["personId"] if message else self._deleted_author(action["messageId"])
        if author != request.caller.id:
            raise ApiError(404, NOT_FOUND)
        return ApiResponse(200, copy.deepcopy(action))

    def _deleted_author(self, message_id: str) -> str | None:
        for message in self.state.deleted_messages:
            if message["id"] == message_id:
                return str(message["personId"])
        return None

    # ------------------------------------------------------------------ webhooks

    def _own_webhook(self, webhook_id: str, caller: Person) -> Webhook:
        webhook = self.state.webhooks.get(webhook_id)
        if webhook is None or webhook.owner_id != caller.id:
            raise ApiError(404, NOT_FOUND)
        return webhook

    @staticmethod
    def _check_target(url: str) -> None:
        if not re.match(r"https?://[^\s/]+", url):
            raise ApiError(400, f"targetUrl {url!r} is not a valid http(s) URL")

    def webhooks_list(self, request: ApiRequest) -> ApiResponse:
        limit = _int_param(request.query, "max", 100, 1, 1000)
        items = [w.to_json() for w in self.state.webhooks.values() if w.owner_id == request.caller.id]
        return ApiResponse(200, {"items": items[:limit]})

    def webhooks_create(self, request: ApiRequest) -> ApiResponse:
        body: dict[str, Any] = request.json
        caller = request.caller
        self._check_target(body["targetUrl"])
        if body.get("filter"):
            _parse_filter(body["filter"], body["resource"])
        owned_by = body.get("ownedBy") or "creator"
        if owned_by not in ("creator", "org"):
            raise ApiError(400, "ownedBy must be 'creator' or 'org'")
        webhook = Webhook(
            id=new_id("WEBHOOK"), name=body["name"], target_url=body["targetUrl"], resource=body["resource"],
            event=body["event"], owner_id=caller.id, org_id=caller.org_id, app_id=caller.app_id,
            filter=body.get("filter") or None, secret=body.get("secret") or None, owned_by=owned_by)
        self.state.webhooks[webhook.id] = webhook
        return ApiResponse(200, webhook.to_json())

    def webhooks_get(self, request: ApiRequest) -> ApiResponse:
        return ApiResponse(200, self._own_webhook(request.params["webhookId"], request.caller).to_json())

    def webhooks_update(self, request: ApiRequest) -> ApiResponse:
        body: dict[str, Any] = request.json
        webhook = self._own_webhook(request.params["webhookId"], request.caller)
        self._check_target(body["targetUrl"])
        webhook.name = body["name"]
        webhook.target_url = body["targetUrl"]
        if "secret" in body:
            webhook.secret = body["secret"] or None
        if body.get("status"):
            webhook.status = body["status"]
        if body.get("ownedBy"):
            webhook.owned_by = body["ownedBy"]
        return ApiResponse(200, webhook.to_json())

    def webhooks_delete(self, request: ApiRequest) -> ApiResponse:
        webhook = self._own_webhook(request.params["webhookId"], request.caller)
        del self.state.webhooks[webhook.id]
        return ApiResponse(204)

    # ------------------------------------------------------------------ deliveries

    @staticmethod
    def _filter_ok(webhook: Webhook, facts: Mapping[str, Any], owner: Person) -> bool:
        if not webhook.filter:
            return True
        try:
            wanted = _parse_filter(webhook.filter, webhook.resource)
        except ApiError:
            return False
        for key, value in wanted.items():
            actual = facts.get(key)
            if key == "mentionedPeople":
                people = actual or []
                ids = [owner.id if v.strip() == "me" else v.strip() for v in value.split(",")]
                if not any(i in people for i in ids):
                    return False
            elif key == "mentionedGroups":
                if value not in (actual or []):
                    return False
            elif key == "personEmail":
                if str(actual or "").lower() != value.lower():
                    return False
            elif key == "hasFiles":
                if value.lower() != ("true" if actual else "false"):
                    return False
            elif str(actual) != value:
                return False
        return True

    @staticmethod
    def envelope(webhook: Webhook, event: str, actor: Person, data: dict[str, Any]) -> dict[str, Any]:
        """What Webex POSTs to a webhook's targetUrl: the webhook's own fields, the actor, ids only."""
        envelope: dict[str, Any] = {
            "id": webhook.id,
            "name": webhook.name,
            "targetUrl": webhook.target_url,
            "resource": webhook.resource,
            "event": event,
        }
        if webhook.filter:
            envelope["filter"] = webhook.filter
        envelope.update({
            "orgId": webhook.org_id,
            "createdBy": webhook.owner_id,
            "appId": webhook.app_id,
            "ownedBy": webhook.owned_by,
            "status": webhook.status,
            "created": iso(webhook.created),
            "actorId": actor.id,
            "data": data,
        })
        return envelope

    def _send(self, webhook: Webhook, event: str, actor: Person, data: dict[str, Any]) -> None:
        body = json.dumps(self.envelope(webhook, event, actor, data), separators=(",", ":")).encode("utf-8")
        headers, signature = headers_for(body, webhook.secret, self.new_tracking_id())
        self.deliverer.enqueue(Job(webhook_id=webhook.id, target_url=webhook.target_url,
                                   resource=webhook.resource, event=event, body=body, headers=headers,
                                   signature=signature))

    def _fire_message(self, message: Mapping[str, Any], event: str, actor: Person) -> None:
        room = self.state.rooms[message["roomId"]]
        data: dict[str, Any] = {
            "id": message["id"],
            "roomId": message["roomId"],
            "roomType": message["roomType"],
            "personId": message["personId"],
            "personEmail": message["personEmail"],
        }
        if message.get("mentionedPeople") and event != "deleted":
            data["mentionedPeople"] = list(message["mentionedPeople"])
        if message.get("mentionedGroups") and event != "deleted":
            data["mentionedGroups"] = list(message["mentionedGroups"])
        if message.get("parentId"):
            data["parentId"] = message["parentId"]
        data["created"] = message["created"]
        if event == "updated" and message.get("updated"):
            data["updated"] = message["updated"]
        facts = {**data, "hasFiles": bool(message.get("files")),
                 "mentionedPeople": message.get("mentionedPeople") or [],
                 "mentionedGroups": message.get("mentionedGroups") or []}
        for webhook in list(self.state.webhooks.values()):
            if webhook.status != "active" or webhook.resource != "messages" or webhook.event not in (event, "all"):
                continue
            owner = self.state.people.get(webhook.owner_id)
            if owner is None or owner.id not in room.member_ids:
                continue
            if not self._bot_may_see(owner, room, message):
                continue
            if self._filter_ok(webhook, facts, owner):
                self._send(webhook, event, actor, copy.deepcopy(data))

    def _fire_action(self, action: Mapping[str, Any], message: Mapping[str, Any], actor: Person) -> None:
        data = {key: action[key] for key in ("id", "type", "messageId", "personId", "roomId", "created")}
        facts = {**data, "personEmail": actor.email}
        for webhook in list(self.state.webhooks.values()):
            if (webhook.status != "active" or webhook.resource != "attachmentActions"
                    or webhook.event not in ("created", "all") or webhook.owner_id != message["personId"]):
                continue
            owner = self.state.people.get(webhook.owner_id)
            if owner is not None and self._filter_ok(webhook, facts, owner):
                self._send(webhook, "created", actor, dict(data))

    # ------------------------------------------------------------------ intercept

    def _intercept_person(self, request: ApiRequest, *, allow_self: bool = False) -> Person:
        caller = request.caller
        is_self = allow_self and caller.type == "person" and caller.id == request.params["personId"]
        if not is_self:
            self._require_admin(caller)
        person = self._person_by_id(request.params["personId"])
        org = request.query.get("orgId") or caller.org_id
        if person is None or person.org_id != org:
            raise ApiError(404, NOT_FOUND)
        if not person.calling:
            raise ApiError(404, "The person is not a Webex Calling user")
        return person

    def intercept_get(self, request: ApiRequest) -> ApiResponse:
        person = self._intercept_person(request)
        return ApiResponse(200, copy.deepcopy(self.state.intercept[person.id]))

    def intercept_put(self, request: ApiRequest) -> ApiResponse:
        person = self._intercept_person(request)
        body = request.json
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        if body_policy_errors(request.match, body):
            raise ApiError(400, "fileName is read-only: upload the greeting with announcementUpload",
                           body_policy_errors(request.match, body))
        known = _only_known(body, DEFAULT_INTERCEPT)
        merged = deep_merge(self.state.intercept[person.id], known)
        problems = intercept_problems(merged)
        if problems:
            raise ApiError(400, "Invalid call intercept settings", problems)
        self.state.intercept[person.id] = merged
        return ApiResponse(204)

    def announcement_upload(self, request: ApiRequest) -> ApiResponse:
        person = self._intercept_person(request, allow_self=True)
        file_name, content_type, data = _single_wav_part(request.headers.get("content-type", ""), request.body)
        self.state.uploads.append(Upload(person_id=person.id, file_name=file_name, content_type=content_type,
                                         data=data, at=utcnow()))
        settings = self.state.intercept[person.id]
        settings["incoming"]["announcements"]["fileName"] = file_name
        return ApiResponse(201)


def _only_known(update: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in update.items():
        if key not in template:
            continue
        if isinstance(template[key], dict):
            if isinstance(value, Mapping):
                out[key] = _only_known(value, template[key])
        else:
            out[key] = value
    return out


def intercept_problems(settings: Mapping[str, Any]) -> list[str]:
    """Combinations Webex refuses even though each field alone is schema-valid."""
    problems: list[str] = []
    announcements = settings["incoming"]["announcements"]
    if announcements["greeting"] == "CUSTOM" and not announcements.get("fileName"):
        problems.append("incoming.announcements.greeting CUSTOM needs an uploaded announcement file")
    for where, block, flag in (
        ("incoming.announcements.newNumber", announcements["newNumber"], "enabled"),
        ("incoming.announcements.zeroTransfer", announcements["zeroTransfer"], "enabled"),
        ("outgoing", settings["outgoing"], "transferEnabled"),
    ):
        destination = str(block.get("destination") or "")
        if block.get(flag) and not destination:
            problems.append(f"{where}.destination is required when {where}.{flag} is true")
        if destination and not PHONE.fullmatch(re.sub(r"[\s\-().]", "", destination)):
            problems.append(f"{where}.destination {destination!r} is not a phone number or extension")
    return problems


def _single_wav_part(content_type: str, body: bytes) -> tuple[str, str | None, bytes]:
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type.lower():
        raise ApiError(400, "The greeting must be sent as multipart/form-data with one .wav file part")
    try:
        parts = parse_form_data(content_type, body)
    except MultipartError as error:
        raise ApiError(400, f"The multipart body could not be parsed: {error}") from None
    files = [part for part in parts if part.is_file]
    if len(files) != 1:
        raise ApiError(400, f"Expected exactly one file part, got {len(files)}")
    name, part_type, data = files[0].filename or "", files[0].content_type, files[0].data
    if not name.lower().endswith(".wav"):
        raise ApiError(400, f"The greeting file must be a .wav file, got {name!r}")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ApiError(400, "The greeting file is not a WAV (RIFF/WAVE) audio file")
    return name, part_type, data
