"""`WebexEmulator`: the Python control API tests and the local demo use.

    emu = WebexEmulator(org_id="org-1")
    bot = emu.add_person(email="bot@webex.bot", display_name="Intercept Bot", type="bot", token="bot-token")
    with emu:                      # or emu.start() ... emu.stop()
        emu.base_url               # http://127.0.0.1:<port>/v1
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

from webex_emulator.api import MAX_FILE_BYTES, Api
from webex_emulator.deliveries import Deliverer, Job
from webex_emulator.multipart import encode_form_data
from webex_emulator.server import Core, EmulatorHTTPServer, Outside, new_tracking_id, serve_in_thread
from webex_emulator.state import (
    ACCESS_TOKEN_LIFETIME,
    DEFAULT_INTERCEPT,
    Content,
    Delivery,
    FaultRule,
    Person,
    PersonType,
    RecordedRequest,
    State,
    Upload,
    deep_merge,
)

__all__ = ["EmulatorError", "FileUpload", "WebexEmulator"]

# (filename, data) or (filename, data, content type): a local file for `say(upload=...)`
FileUpload = tuple[str, bytes] | tuple[str, bytes, str]


class EmulatorError(RuntimeError):
    """A control-API call made through HTTP (say, submit, add_webhook) that Webex refused."""

    def __init__(self, status: int, body: Any, what: str) -> None:
        self.status = status
        self.body = body
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{what}: HTTP {status}: {message}")


class WebexEmulator:
    def __init__(self, org_id: str | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 delivery_retries: int = 2, delivery_backoff: float = 0.2, delivery_timeout: float = 5.0,
                 max_file_bytes: int = MAX_FILE_BYTES, ticks: Callable[[], float] = time.monotonic,
                 check_bodies: bool = True) -> None:
        """`max_file_bytes`: the largest file a multipart POST /messages may carry (413 beyond);
        `ticks`: the monotonic seconds access and refresh tokens expire by; `check_bodies`: each
        JSON body is judged against the OpenAPI excerpt and each card against the Adaptive Cards
        schema (a form card takes ~50 ms: the benchmarks turn it off, so the emulator answers at
        once)."""
        self.host = host
        self.port = port
        self._state = State(org_id, ticks)
        self._state.check_bodies = check_bodies
        self._deliverer = Deliverer(record=self._record_delivery, retries=delivery_retries,
                                    backoff=delivery_backoff, timeout=delivery_timeout)
        self._api = Api(self._state, self._deliverer, new_tracking_id, lambda: self.base_url,
                        max_file_bytes=max_file_bytes)
        self._core = Core(self._state, self._api)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def org_id(self) -> str:
        return self._state.org_id

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._deliverer.restart()
        self._server = EmulatorHTTPServer((self.host, self.port), self._core)
        self.port = int(self._server.server_address[1])
        self._thread = serve_in_thread(self._server)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._deliverer.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def mount(self, handler: Outside | None) -> None:
        """Answer requests outside /v1 with `handler(method, target, headers, body)` (the local
        sandbox page, `webex_emulator.sandbox`); it returns a `Reply`, or None for the emulator's own
        answer. Such requests are neither recorded nor checked against the spec. None unmounts."""
        self._core.outside = handler

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port> (the server root)."""
        if self._server is None:
            raise RuntimeError("the emulator is not started: call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>/v1 (the API base every path is relative to)."""
        return self.url + "/v1"

    # ------------------------------------------------------------------ people and rooms

    def add_person(self, email: str, display_name: str | None = None, *, type: PersonType = "person",
                   timezone: str | None = None, token: str | None = None, admin: bool = False,
                   org_id: str | None = None, calling: bool | None = None) -> Person:
        """A person or bot. `calling` (default: True for people, False for bots) is whether the
        person has Webex Calling, i.e. whether the intercept API knows them."""
        return self._state.add_person(email=email, display_name=display_name, type=type, timezone=timezone,
                                      token=token, admin=admin, org_id=org_id, calling=calling)

    def person(self, person_id: str) -> Person:
        with self._state.lock:
            return self._state.people[person_id]

    @property
    def people(self) -> list[Person]:
        with self._state.lock:
            return list(self._state.people.values())

    def group_room(self, title: str, member_ids: list[str]) -> str:
        return self._state.group_room(title, member_ids).id

    def direct_room_id(self, a: str, b: str) -> str:
        return self._state.direct_room(a, b).id

    def add_member(self, room_id: str, person_id: str) -> None:
        self._state.add_member(room_id, person_id)

    def remove_member(self, room_id: str, person_id: str) -> None:
        self._state.remove_member(room_id, person_id)

    def room_members(self, room_id: str) -> list[str]:
        with self._state.lock:
            return list(self._state.rooms[room_id].member_ids)

    def room_type(self, room_id: str) -> str:
        with self._state.lock:
            return self._state.rooms[room_id].type

    # ------------------------------------------------------------------ OAuth (integrations)

    def add_oauth_client(self, client_id: str, client_secret: str) -> None:
        """Register an integration / service app: POST /v1/access_token accepts this id and secret.
        Adding a known id again replaces its secret (the old one is refused from then on)."""
        self._state.add_oauth_client(client_id, client_secret)

    def grant(self, client_id: str, person: Person | str, *, refresh_token: str | None = None,
              access_expires_in: int = ACCESS_TOKEN_LIFETIME, rotate_refresh_token: bool = False,
              ) -> tuple[str, str]:
        """`person` (a Person, a person id or an email) authorizes the client: returns
        (access_token, refresh_token). The access token is a token of that person like the one of
        `add_person` (same person, same admin rights) and expires after `access_expires_in` seconds
        (as does each token a refresh issues under this grant), or at `expire_token`. The refresh
        token (random unless given) works at POST /v1/access_token with the client's id and secret
        for 90 days after its last use; with `rotate_refresh_token` each refresh answers a new
        refresh token and the old one stops working (by default it stays the same, as usual at Webex)."""
        with self._state.lock:
            person_id = self._person_id(person)
            return self._state.grant(client_id, person_id, refresh_token=refresh_token,
                                     access_expires_in=access_expires_in, rotate=rotate_refresh_token)

    def _person_id(self, person: Person | str) -> str:
        if isinstance(person, Person):
            return person.id
        if person in self._state.people:
            return person
        found = self._state.person_by_email(person)
        if found is None:
            raise KeyError(f"unknown person {person!r} (neither a person id nor an email)")
        return found.id

    def expire_token(self, access_token: str) -> None:
        """From now on that token (any person token, granted or not) is answered 401 like an
        expired one; the refresh token of its grant keeps working. KeyError if the token is unknown."""
        self._state.expire_token(access_token)

    def revoke_grant(self, refresh_token: str) -> None:
        """The person withdraws the authorization: the refresh token is refused (400 invalid_grant)
        and every access token issued under it gets 401. KeyError if the refresh token is unknown."""
        self._state.revoke_grant(refresh_token)

    @property
    def refreshes(self) -> int:
        """How many POST /v1/access_token refreshes succeeded."""
        with self._state.lock:
            return self._state.refreshes

    def token_valid(self, access_token: str) -> bool:
        """Whether the API accepts that token now (known, not expired, its person not deleted)."""
        return self._state.person_for_token(access_token) is not None

    # ------------------------------------------------------------------ intercept

    def set_intercept(self, person_id: str, settings: Mapping[str, Any]) -> None:
        """Replace a person's intercept settings (merged onto the defaults, so a partial dict works)."""
        with self._state.lock:
            if person_id not in self._state.people:
                raise KeyError(f"unknown person id {person_id!r}")
            self._state.intercept[person_id] = deep_merge(DEFAULT_INTERCEPT, settings)

    def get_intercept(self, person_id: str) -> dict[str, Any]:
        with self._state.lock:
            return copy.deepcopy(self._state.intercept[person_id])

    @property
    def uploads(self) -> list[Upload]:
        """Intercept greetings uploaded with announcementUpload, oldest first."""
        with self._state.lock:
            return list(self._state.uploads)

    @property
    def contents(self) -> list[Content]:
        """Files attached to messages (multipart POST /messages), oldest first; each is served at
        f"{base_url}/contents/{content.id}", the URL in its message's `files`."""
        with self._state.lock:
            return list(self._state.contents.values())

    # ------------------------------------------------------------------ requests and faults

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def requests_matching(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """Recorded requests with that method ("*" for any) whose path (relative to /v1, no
        query) matches `path_regex` in full (re.fullmatch)."""
        pattern = re.compile(path_regex)
        verb = method.upper()
        return [r for r in self.requests if verb in ("*", r.method) and pattern.fullmatch(r.path)]

    def clear_requests(self) -> None:
        with self._state.lock:
            self._state.requests.clear()

    @property
    def spec_violations(self) -> list[str]:
        with self._state.lock:
            return list(self._state.spec_violations)

    def clear_spec_violations(self) -> None:
        with self._state.lock:
            self._state.spec_violations.clear()

    def set_clock_offset(self, offset: timedelta) -> None:
        """Stamp messages and card actions from now on with real time plus `offset` (the sandbox
        clock), so a chat shows the same time as the bot's cards."""
        with self._state.lock:
            self._state.clock_offset = offset

    def fail(self, method: str, path_regex: str, status: int, times: int = 1, retry_after: str | None = None,
             delay: float = 0.0, body: dict[str, Any] | None = None) -> None:
        """The next `times` requests with that method ("*" for any) whose path fully matches
        `path_regex` are answered `status` (with Retry-After exactly as given, and `body` or a Webex
        error body), after sleeping `delay` seconds. status=0: only the delay, then a normal answer."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if status and not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status (or 0 for a delay only)")
        with self._state.lock:
            self._state.faults.append(FaultRule(method=method.upper(), path_regex=re.compile(path_regex),
                                                status=status, remaining=times, retry_after=retry_after,
                                                delay=delay, body=body))

    def clear_faults(self) -> None:
        with self._state.lock:
            self._state.faults.clear()

    # ------------------------------------------------------------------ messages and actions

    def messages(self, room_id: str | None = None) -> list[dict[str, Any]]:
        with self._state.lock:
            return [copy.deepcopy(m) for m in self._state.messages.values()
                    if room_id is None or m["roomId"] == room_id]

    def message(self, message_id: str) -> dict[str, Any]:
        with self._state.lock:
            return copy.deepcopy(self._state.messages[message_id])

    @property
    def deleted_messages(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return copy.deepcopy(self._state.deleted_messages)

    def actions(self) -> list[dict[str, Any]]:
        """Every attachment action, oldest first."""
        with self._state.lock:
            return copy.deepcopy(list(self._state.actions.values()))

    def webhooks(self, owner_id: str | None = None) -> list[dict[str, Any]]:
        with self._state.lock:
            return [w.to_json() for w in self._state.webhooks.values() if owner_id in (None, w.owner_id)]

    def _token(self, person_or_token: Person | str) -> str:
        if isinstance(person_or_token, Person):
            return person_or_token.token
        with self._state.lock:
            person = self._state.people.get(person_or_token)
        return person.token if person else person_or_token

    def call(self, person_or_token: Person | str, method: str, path: str, body: Any = None,
             query: Mapping[str, str] | None = None) -> tuple[int, Any]:
        """One API request through HTTP with that person's token: (status, parsed JSON or None)."""
        data = json.dumps(body).encode("utf-8") if body is not None else None
        return self._send(person_or_token, method, path, data, "application/json" if data is not None else None,
                          query)

    def _send(self, person_or_token: Person | str, method: str, path: str, data: bytes | None,
              content_type: str | None, query: Mapping[str, str] | None = None) -> tuple[int, Any]:
        url = self.base_url + path + (("?" + urlencode(query)) if query else "")
        headers = {"Authorization": f"Bearer {self._token(person_or_token)}", "Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=data, method=method.upper(), headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own server)
                status, raw = int(response.status), response.read()
        except urllib.error.HTTPError as error:
            status, raw = int(error.code), error.read()
            error.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return status, parsed

    def _ok(self, what: str, status: int, body: Any) -> dict[str, Any]:
        if not 200 <= status < 300 or not isinstance(body, dict):
            raise EmulatorError(status, body, what)
        return body

    def say(self, person_or_token: Person | str, text: str | None = None, markdown: str | None = None,
            room_id: str | None = None, to_person_id: str | None = None, files: list[str] | None = None, *,
            to_person_email: str | None = None, parent_id: str | None = None,
            attachments: list[dict[str, Any]] | None = None, upload: FileUpload | None = None) -> dict[str, Any]:
        """Post a message as that person through POST /v1/messages; returns the created message.

        `files` are public URLs (a JSON body). `upload=(filename, data[, content type])` attaches a
        local file instead, like a Webex client: the message goes as multipart/form-data and its
        `files` is the emulator's download URL of the stored file (see `contents`)."""
        fields: dict[str, Any] = {}
        for key, value in (("roomId", room_id), ("toPersonId", to_person_id), ("toPersonEmail", to_person_email),
                           ("parentId", parent_id), ("text", text), ("markdown", markdown), ("files", files),
                           ("attachments", attachments)):
            if value is not None:
                fields[key] = value
        if upload is None:
            return self._ok("say", *self.call(person_or_token, "POST", "/messages", fields))
        if files is not None or attachments is not None:
            raise ValueError("say: upload cannot be combined with files or attachments")
        filename, data, *rest = upload
        content_type = rest[0] if rest else "application/octet-stream"
        body, form_type = encode_form_data(fields.items(), [("files", filename, data, content_type)])
        return self._ok("say", *self._send(person_or_token, "POST", "/messages", body, form_type))

    def submit(self, person_or_token: Person | str, message_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Submit a card as that person through POST /v1/attachment/actions; returns the action."""
        body = {"type": "submit", "messageId": message_id, "inputs": dict(inputs)}
        return self._ok("submit", *self.call(person_or_token, "POST", "/attachment/actions", body))

    def add_webhook(self, owner_token: Person | str, name: str, target_url: str, resource: str, event: str,
                    secret: str | None = None, filter: str | None = None) -> dict[str, Any]:
        """Same as POST /v1/webhooks with that token; returns the webhook."""
        body: dict[str, Any] = {"name": name, "targetUrl": target_url, "resource": resource, "event": event}
        if secret is not None:
            body["secret"] = secret
        if filter is not None:
            body["filter"] = filter
        return self._ok("add_webhook", *self.call(owner_token, "POST", "/webhooks", body))

    # ------------------------------------------------------------------ deliveries

    def _record_delivery(self, delivery: Delivery) -> None:
        with self._state.lock:
            self._state.deliveries.append(delivery)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._state.lock:
            return list(self._state.deliveries)

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        """Block until every queued webhook delivery (with its retries) has finished."""
        if not self._deliverer.wait_idle(timeout):
            raise TimeoutError(f"webhook deliveries still pending after {timeout} s")

    @contextlib.contextmanager
    def holding_deliveries(self) -> Iterator[list[Job]]:
        """While inside: webhook deliveries are made (signed, as they would be sent) but kept in
        the list yielded, not sent nor recorded; a benchmark then sends them at its own pace."""
        held: list[Job] = []
        self._deliverer.held = held
        try:
            yield held
        finally:
            self._deliverer.held = None

    def deliver(self, job: Job) -> Delivery:
        """POST a held delivery (`holding_deliveries`) now, in the calling thread, and record it."""
        return self._deliverer.send_once(job)

    def redeliver(self, delivery_index: int) -> Delivery:
        """POST the exact same bytes and headers of `deliveries[delivery_index]` again, now."""
        original = self.deliveries[delivery_index]
        job = Job(webhook_id=original.webhook_id, target_url=original.target_url, resource=original.resource,
                  event=original.event, body=original.body, headers=dict(original.headers),
                  signature=original.signature)
        return self._deliverer.send_once(job, redelivery=True)

    # ------------------------------------------------------------------ waiting

    @staticmethod
    def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
        """Poll `predicate` every `interval` s; return its first truthy value or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            last = predicate()
            if last:
                return last
            if time.monotonic() >= deadline:
                name = getattr(predicate, "__qualname__", repr(predicate))
                raise TimeoutError(f"wait_for: {name} was still not true after {timeout} s (last value: {last!r})")
            time.sleep(interval)
