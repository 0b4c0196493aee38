"""The one class that makes every Webex call, on webexpythonsdk's REST session.

Two sessions: the bot token (messages, attachment actions, people, webhooks) and the admin token
(the intercept GET/PUT, which a bot token may not call). Waits are ours, not the SDK's: the SDK's
own rate-limit wait is off (it would block for as long as Webex says, without a cap). Each call is
retried on 429/423 (honouring Retry-After in seconds or as an HTTP date; garbage or absent: a
default), on 5xx and on connection failures, with capped exponential backoff and jitter inside a
bounded total; what still fails becomes a `WebexError` that says whether trying later may help.
"""

from __future__ import annotations

import email.message
import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

import requests
from webexpythonsdk import WebexAPI
from webexpythonsdk.exceptions import ApiError

from bot.adapters.admin_token import AdminToken
from bot.adapters.pace import Pace
from bot.domain.model import InterceptSettings, Person
from bot.domain.ports import CardAction, ChatMessage, SentMessage, WebexError

log = logging.getLogger(__name__)

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
RETRY_STATUSES = frozenset({423, 429, 500, 502, 503, 504})
DEFAULT_RETRY_AFTER = 5.0
ADMIN_ROLES = frozenset({"Full Administrator", "User Administrator"})
_UNSAFE_IN_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")  # replaced in the names of downloaded files


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: a number, or an HTTP date; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


REQUEST_TIMEOUT = 15  # seconds one HTTP request to Webex may take


class RetryPolicy:
    """How long one call may keep trying: at most `attempts` tries and `budget` seconds of waiting
    in all; one wait is at most `max_wait` (a longer Retry-After gives up at once: the caller
    reschedules instead of blocking a thread for minutes)."""

    def __init__(self, *, budget: float = 60.0, max_wait: float = 30.0, base: float = 0.5, cap: float = 8.0,
                 attempts: int = 8, sleep: Callable[[float], None] | None = None,
                 jitter: Callable[[], float] = random.random) -> None:
        """`sleep`: how to wait (tests); by default the client's `stopping` event, so a stop ends a
        wait at once."""
        self.budget = budget
        self.attempts = attempts
        self.max_wait = max_wait
        self.base = base
        self.cap = cap
        self.sleep = sleep
        self.jitter = jitter

    def backoff(self, attempt: int) -> float:
        return min(self.cap, self.base * (1 << min(attempt, 16))) * (0.5 + self.jitter() / 2)


class WebexClient:
    def __init__(self, *, api_url: str, bot_token: str, admin_token: str, org_id: str | None = None,
                 admin_refresh: tuple[str, str, str] | None = None, timeout: int = REQUEST_TIMEOUT,
                 retry: RetryPolicy | None = None, person_ttl: float = 300.0, rate: float = 100.0,
                 on_new_secret: Callable[[str], None] = lambda _: None,
                 on_call: Callable[[str, int | None], None] = lambda _operation, _status: None) -> None:
        """`on_call(operation, status)` is told of every HTTP request made, once it is answered
        (status None: no answer); the metrics count Webex calls with it. `rate`: calls a second
        with each token, at most (`Pace`)."""
        base = api_url.rstrip("/") + "/"
        self.on_call = on_call
        self._paces = {"bot": Pace(rate), "admin": Pace(rate)}
        self._bot = WebexAPI(access_token=bot_token, base_url=base, single_request_timeout=timeout,
                             wait_on_rate_limit=False)
        self._admin = WebexAPI(access_token=admin_token or "pending-refresh", base_url=base,
                               single_request_timeout=timeout, wait_on_rate_limit=False)
        self.admin_token = AdminToken(api_url=api_url, token=admin_token, refresh=admin_refresh, timeout=timeout,
                                      on_new=on_new_secret, on_call=lambda *answer: self.on_call(*answer))
        self.org_id = org_id
        parts = urlsplit(base)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self.retry = retry or RetryPolicy()
        # set when the bot stops: waits between tries end at once and the call fails as transient
        # (its caller tries again after the restart), so no thread holds a lock across the shutdown
        self.stopping = threading.Event()
        self._person_ttl = person_ttl
        self._people: dict[str, tuple[float, Person]] = {}
        self._people_lock = threading.Lock()

    # ------------------------------------------------------------------ people

    def me(self) -> Person:
        return _person(self._call(self._bot, "GET", "people/me", operation="read the bot's own person"))

    def admin_me(self) -> Person:
        """Whose the admin token is (start-up uses it to check the token is accepted)."""
        return _person(self._call(self._admin, "GET", "people/me", operation="read the admin token's person"))

    def person(self, person_id: str) -> Person:
        with self._people_lock:
            cached = self._people.get(person_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        person = _person(self._call(self._bot, "GET", f"people/{_q(person_id)}", operation="read a person"))
        with self._people_lock:
            self._people[person_id] = (time.monotonic() + self._person_ttl, person)
        return person

    def people_by_email(self, email: str, *, admin: bool = False) -> list[Person]:
        """Who has this address in Webex (List People), asked with the bot token or the admin
        token (with `orgId` when configured)."""
        params = {"email": email, **(self._org() or {})} if admin else {"email": email}
        answer = self._call(self._admin if admin else self._bot, "GET", "people", params=params,
                            operation="look a person up by email")
        return [_person(item) for item in answer.get("items") or []]

    def holding(self, token: Literal["bot", "admin"]) -> float:
        """How much longer the calls with that token wait out a 429 or 423 (0: none)."""
        return self._paces[token].holding()

    def room(self, room_id: str) -> dict[str, Any]:
        """A space the bot is in (Webex answers 404 for one it is not in)."""
        return self._call(self._bot, "GET", f"rooms/{_q(room_id)}", operation="read a room")

    def is_member(self, room_id: str, person_id: str) -> bool:
        answer = self._call(self._bot, "GET", "memberships", params={"roomId": room_id, "personId": person_id},
                            operation="list a room's members")
        return any(item.get("personId") == person_id for item in answer.get("items") or [])

    def room_member_id(self, room_id: str, email: str) -> str | None:
        """The person id of `email` in a room the bot is in (how a person first written to by email
        becomes known: the room the message went to names them)."""
        answer = self._call(self._bot, "GET", "memberships", params={"roomId": room_id, "personEmail": email},
                            operation="list a room's members")
        for item in answer.get("items") or []:
            if str(item.get("personEmail", "")).lower() == email.lower() and item.get("personId"):
                return str(item["personId"])
        return None

    def is_org_admin(self, person_id: str) -> bool:
        """Whether the person holds an administrator role that may change calling settings (read
        with the admin token: only admins see `roles`)."""
        person = self._call(self._admin, "GET", f"people/{_q(person_id)}", operation="read a person's roles")
        held = set(person.get("roles") or [])
        if not held:
            return False
        roles = self._call(self._admin, "GET", "roles", operation="list roles").get("items") or []
        return any(role.get("id") in held and role.get("name") in ADMIN_ROLES for role in roles)

    # ------------------------------------------------------------------ messages and actions

    def message(self, message_id: str) -> ChatMessage:
        data = self._call(self._bot, "GET", f"messages/{_q(message_id)}", operation="read a message")
        return ChatMessage(
            id=data["id"], room_id=data.get("roomId", ""), room_type=data.get("roomType", "direct"),
            person_id=data.get("personId", ""), person_email=data.get("personEmail", ""),
            text=data.get("text") or "", mentioned_people=tuple(data.get("mentionedPeople") or ()),
            files=tuple(data.get("files") or ()))

    def action(self, action_id: str) -> CardAction:
        data = self._call(self._bot, "GET", f"attachment/actions/{_q(action_id)}",
                          operation="read a card action")
        inputs = data.get("inputs")
        return CardAction(id=data["id"], message_id=data.get("messageId", ""), person_id=data.get("personId", ""),
                          room_id=data.get("roomId", ""), inputs=inputs if isinstance(inputs, dict) else {})

    def send(self, *, markdown: str, room_id: str | None = None, to_person_id: str | None = None,
             to_person_email: str | None = None, card: Mapping[str, Any] | None = None,
             parent_id: str | None = None) -> SentMessage:
        from bot.domain.text import fit_message

        body: dict[str, Any] = {"markdown": fit_message(markdown)}
        for key, value in (("roomId", room_id), ("toPersonId", to_person_id),
                           ("toPersonEmail", to_person_email), ("parentId", parent_id)):
            if value:
                body[key] = value
        if card is not None:
            body["attachments"] = [{"contentType": CARD_CONTENT_TYPE, "content": dict(card)}]
        data = self._call(self._bot, "POST", "messages", json=body, operation="send a message")
        return SentMessage(id=data["id"], room_id=data.get("roomId", room_id or ""))

    def delete_message(self, message_id: str) -> None:
        self._call(self._bot, "DELETE", f"messages/{_q(message_id)}", expect=204, operation="delete a message")

    # ------------------------------------------------------------------ intercept (admin token)

    def get_intercept(self, person_id: str) -> InterceptSettings:
        data = self._call(self._admin, "GET", f"people/{_q(person_id)}/features/intercept",
                          params=self._org(), operation="read intercept settings")
        return InterceptSettings.from_api(data)

    def put_intercept(self, person_id: str, settings: InterceptSettings) -> str | None:
        """Returns Webex's tracking id of the change (for the audit log)."""
        response = self._request(self._admin, "PUT", f"people/{_q(person_id)}/features/intercept",
                                 params=self._org(), json=settings.to_api(), expect=204,
                                 operation="change intercept settings")
        return response.headers.get("trackingid")

    def upload_greeting(self, person_id: str, file_name: str, data: bytes) -> str | None:
        """The person's custom intercept greeting (multipart, audio/wav); returns the tracking id.
        requests builds the body from `files` on each attempt (a retry sends it whole); the session's
        JSON Content-Type is dropped (None) so that requests sets the multipart one."""
        response = self._request(self._admin, "POST",
                      f"people/{_q(person_id)}/features/intercept/actions/announcementUpload/invoke",
                      params=self._org(), headers={"Content-Type": None}, expect=201,
                      files={"file": (file_name, data, "audio/wav")}, operation="upload an intercept greeting")
        return response.headers.get("trackingid")

    # ------------------------------------------------------------------ files people send

    def download(self, url: str, max_bytes: int) -> tuple[str, bytes]:
        """A file attached to a message: (file name, bytes). Only from the Webex API's own host:
        the bot token is never sent anywhere else."""
        if not url.startswith(self._origin + "/"):
            raise WebexError(None, "the file is not stored on Webex", operation="download a file")
        response = self._request(self._bot, "GET", url, operation="download a file", expect=200, stream=True)
        try:
            size = int(response.headers.get("Content-Length") or 0)
            if size > max_bytes:
                raise WebexError(None, f"the file is {size} bytes, more than {max_bytes}", operation="download")
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    raise WebexError(None, f"the file is more than {max_bytes} bytes", operation="download")
        finally:
            response.close()
        return _file_name(response.headers.get("Content-Disposition", ""), url), bytes(data)

    # ------------------------------------------------------------------ webhooks

    def webhooks(self) -> list[dict[str, Any]]:
        return list(self._call(self._bot, "GET", "webhooks", operation="list webhooks").get("items") or [])

    def create_webhook(self, *, name: str, target_url: str, resource: str, event: str, secret: str) -> dict[str, Any]:
        return self._call(self._bot, "POST", "webhooks", operation="create a webhook", json={
            "name": name, "targetUrl": target_url, "resource": resource, "event": event, "secret": secret})

    def delete_webhook(self, webhook_id: str) -> None:
        self._call(self._bot, "DELETE", f"webhooks/{_q(webhook_id)}", expect=204, operation="delete a webhook")

    # ------------------------------------------------------------------ the one way out

    def _use_admin_token(self, token: str) -> None:
        self._admin._session.update_headers({"Authorization": "Bearer " + token})

    def _org(self) -> dict[str, str] | None:
        return {"orgId": self.org_id} if self.org_id else None

    def _call(self, api: WebexAPI, method: str, path: str, *, operation: str, expect: int = 200,
              params: Mapping[str, str] | None = None, json: Any = None) -> dict[str, Any]:
        response = self._request(api, method, path, operation=operation, expect=expect, params=params, json=json)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            raise WebexError(None, "Webex answered with something that is not JSON",
                             transient=True, operation=operation) from None
        return data if isinstance(data, dict) else {"items": data}

    def _send(self, session: Any, method: str, path: str, expect: int, operation: str,
              kwargs: Mapping[str, Any]) -> requests.Response:
        """One HTTP request, told to `on_call` with its status (the one place requests are made)."""
        status: int | None = None
        try:
            response: requests.Response = session.request(method, path, expect, **kwargs)
            status = response.status_code
            return response
        except ApiError as error:
            status = error.status_code
            raise
        finally:
            self.on_call(operation, status)

    def _request(self, api: WebexAPI, method: str, path: str, *, operation: str, expect: int,
                 **kwargs: Any) -> requests.Response:
        """The one way out: the SDK's REST session (auth header, base URL, ApiError parsing), with
        our bounded retries."""
        session = api._session
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        waited = 0.0
        attempt = 0
        admin = api is self._admin and self.admin_token.refreshable
        renewed = False
        pace = self._paces["admin" if api is self._admin else "bot"]
        status: int | None = None  # of the last try
        while True:
            used = self.admin_token.token
            try:
                if admin and self.admin_token.due():
                    used = self.admin_token.renew()
                    self._use_admin_token(used)
                if delay := pace.delay(refused=status in (423, 429)):
                    self._wait(delay, operation)
                return self._send(session, method, path, expect, operation, kwargs)
            except ApiError as error:
                status = error.status_code
                tracking = error.tracking_id
                message = _api_message(error)
                if status == 401 and admin and not renewed:  # expired: a new token, and once more
                    renewed = True
                    self._use_admin_token(self.admin_token.renew(refused=used))
                    continue
                if status not in RETRY_STATUSES:
                    raise WebexError(status, message, tracking_id=tracking, transient=False,
                                     operation=operation) from None
                wait = self._wait_after(status, error.response.headers.get("Retry-After"), attempt)
                if status in (423, 429):  # every call waits with this one; a longer wait than the
                    pace.refused(wait if wait <= self.retry.max_wait else 0.0)  # client's reschedules the work
            except (requests.ConnectionError, requests.Timeout) as error:
                status, tracking = None, None
                message = f"Webex did not answer ({type(error).__name__})"
                if method == "POST" and isinstance(error, requests.ReadTimeout):
                    # the message may have been created: sending it again could double it
                    raise WebexError(None, message, transient=True, operation=operation) from None
                wait = self.retry.backoff(attempt)
            attempt += 1
            if wait > self.retry.max_wait or waited + wait > self.retry.budget or attempt >= self.retry.attempts:
                raise WebexError(status, message, tracking_id=tracking, transient=True, operation=operation)
            waited += wait
            log.info("%s: %s, retrying in %.1f s (attempt %d)", operation, status or message, wait, attempt)
            self._wait(wait, operation, status, tracking)

    def _wait_after(self, status: int, retry_after: str | None, attempt: int) -> float:
        """Seconds before trying again: what Webex asks after 429/423 (a default when its
        Retry-After is absent or garbage), else the backoff."""
        if status not in (423, 429):
            return self.retry.backoff(attempt)
        wait = retry_after_seconds(retry_after)
        return DEFAULT_RETRY_AFTER if wait is None else wait

    def _wait(self, seconds: float, operation: str, status: int | None = None, tracking: str | None = None) -> None:
        (self.retry.sleep or self.stopping.wait)(seconds)  # a stop ends the real wait at once
        if self.stopping.is_set():
            raise WebexError(status, "the bot is stopping", tracking_id=tracking, transient=True, operation=operation)


def _file_name(disposition: str, url: str) -> str:
    """The name of a downloaded file: Content-Disposition's `filename*` (RFC 5987, preferred as RFC
    6266 says), else its `filename` (quoted strings may hold `;`), else the URL's last segment;
    never a path, never a control character."""
    header = email.message.Message()
    header["Content-Disposition"] = disposition
    names = [value for key, value in header.get_params([], header="content-disposition") if key == "filename"]
    names.sort(key=lambda value: not isinstance(value, tuple))  # the decoded filename* first
    name = email.utils.collapse_rfc2231_value(names[0]) if names else unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return _UNSAFE_IN_NAME.sub("_", name)[:200] or "file"


def _q(value: str) -> str:
    return quote(value, safe="")


def _api_message(error: ApiError) -> str:
    return str(error.message or error.description or error.status or "error")


def _person(data: Mapping[str, Any]) -> Person:
    emails = data.get("emails") or [""]
    return Person(id=str(data.get("id", "")), email=str(emails[0]).lower(),
                  display_name=str(data.get("displayName") or emails[0]),
                  timezone=data.get("timezone") or None, type=str(data.get("type") or "person"))
