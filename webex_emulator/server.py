"""The HTTP side: a stdlib ThreadingHTTPServer on 127.0.0.1 that records every request, applies
fault rules, checks what it receives against the OpenAPI excerpt and hands the rest to `Api`.

Order for each request: record -> spec check (violations are logged) -> fault rule -> auth (401)
-> unknown path/method (404) -> JSON that does not parse (400) -> schema-rejected body (400)
-> the operation itself. An operation in `FORM_OPERATIONS` (POST /messages) also takes a
multipart/form-data body: it is parsed and its shape checked in place of the JSON checks.
Operations in `NO_BEARER_OPERATIONS` skip the auth step: the OAuth token endpoint (POST
/access_token, `webex_emulator.oauth`) goes from the fault rule straight to `OAuth.token`, which
checks the client credentials in the form and answers its own 400/401s.
HEAD is answered like GET without the body.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from webex_emulator.api import Api, ApiError, ApiRequest, ApiResponse, body_policy_errors
from webex_emulator.multipart import FormPart, MultipartError, is_form_data, parse_form_data
from webex_emulator.oauth import TOKEN_OPERATION, OAuth, TokenForm, parse_token_form
from webex_emulator.schemas import form_errors, match_operation, request_body_errors, required_query_errors
from webex_emulator.state import Person, RecordedRequest, State, utcnow

__all__ = ["API_PREFIX", "Core", "EmulatorHTTPServer", "Outside", "Reply", "new_tracking_id"]

API_PREFIX = "/v1"
UNAUTHORIZED = "The request requires a valid access token set in the Authorization request header."
NOT_FOUND = "The requested resource could not be found."
JSON_TYPE = "application/json;charset=UTF-8"


def new_tracking_id() -> str:
    return f"ROUTER_{str(uuid.uuid4()).upper()}"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def _error_body(message: str, tracking_id: str, errors: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = [{"description": error} for error in errors]
    body["trackingId"] = tracking_id
    return body


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "").strip()
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _is_json_type(content_type: str) -> bool:
    main = content_type.split(";")[0].strip().lower()
    return main == "application/json" or main.endswith("+json")


# answers a request outside /v1 (method, target, lower-case headers, body), or None: not mine
Outside = Callable[[str, str, dict[str, str], bytes], Reply | None]


class Core:
    """Turns one raw HTTP request into a reply; independent of the socket plumbing."""

    def __init__(self, state: State, api: Api) -> None:
        self.state = state
        self.api = api
        self.oauth = OAuth(state)
        self.outside: Outside | None = None  # the local sandbox page (WebexEmulator.mount)

    def violation(self, method: str, path: str, detail: str, tracking_id: str) -> None:
        with self.state.lock:
            self.state.spec_violations.append(f"{method} {path}: {detail} (trackingId {tracking_id})")

    def process(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        method = method.upper()
        outside = self.outside
        if outside is not None:  # paths outside /v1 are not Webex: not recorded, not checked
            path = urlsplit(target).path
            if path != API_PREFIX and not path.startswith(API_PREFIX + "/"):
                answer = outside(method, target, headers, body)
                if answer is not None:
                    return answer
        tracking_id = new_tracking_id()
        parts = urlsplit(target)
        full_path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        under_api = full_path == API_PREFIX or full_path.startswith(API_PREFIX + "/")
        api_path = full_path[len(API_PREFIX):] if under_api else full_path
        content_type = headers.get("content-type", "")

        caller = self.state.person_for_token(_bearer(headers))
        parsed: Any = None
        json_ok = True
        if body and (_is_json_type(content_type) or not content_type):
            try:
                parsed = json.loads(body)
            except (UnicodeDecodeError, ValueError, RecursionError):
                json_ok = False
        elif body and not content_type.lower().startswith("multipart/"):
            json_ok = False  # neither JSON nor a form upload

        recorded = RecordedRequest(
            method=method, path=api_path, query=query, json=parsed, body=body,
            headers={key: value for key, value in headers.items() if key != "authorization"},
            caller_id=caller.id if caller else None, status=0, at=utcnow(), tracking_id=tracking_id)
        index = self.state.record(recorded)
        reply = self._answer(method, api_path, under_api, query, headers, body, parsed, json_ok, caller,
                             tracking_id)
        reply.headers.setdefault("TrackingID", tracking_id)
        self.state.set_status(index, reply.status)
        return reply

    def _answer(self, method: str, api_path: str, under_api: bool, query: dict[str, str],
                headers: dict[str, str], body: bytes, parsed: Any, json_ok: bool, caller: Person | None,
                tracking_id: str) -> Reply:
        shown = f"{API_PREFIX}{api_path}" if under_api else api_path
        match = match_operation(method, api_path) if under_api else None
        body_errors: list[str] = []
        query_errors: list[str] = []
        json_body_expected = False
        form: list[FormPart] | None = None
        token_form: TokenForm | None = None
        # --- spec check (logged even when a fault rule answers instead)
        if match is None:
            self.violation(method, shown, "no such operation in the Webex OpenAPI excerpt", tracking_id)
        else:
            if match.off_spec:  # served, as Webex would, but the bot must keep to the excerpt
                self.violation(method, shown, "a real Webex operation that is not in the OpenAPI excerpt",
                               tracking_id)
            query_errors = required_query_errors(match, query)
            content = (match.operation.get("requestBody") or {}).get("content") or {}
            json_body_expected = "application/json" in content
            content_type = headers.get("content-type", "")
            if (match.method, match.template) == TOKEN_OPERATION:
                token_form = parse_token_form(content_type, body)
                body_errors = token_form.errors
            elif match.form is not None and is_form_data(content_type):
                json_body_expected = False
                try:
                    form = parse_form_data(content_type, body)
                except MultipartError as unparsable:
                    body_errors = [str(unparsable)]
                else:
                    body_errors = form_errors(match.form, form)
            elif json_body_expected and body and content_type.lower().startswith("multipart/"):
                json_ok = False
            if json_body_expected:
                if not json_ok:
                    body_errors = ["the body is not valid JSON"]
                else:
                    body_errors = request_body_errors(method, api_path, parsed) if self.state.check_bodies else []
                    body_errors += body_policy_errors(match, parsed)
            for error in query_errors + body_errors:
                self.violation(method, shown, error, tracking_id)

        # --- fault injection
        rule = self.state.take_fault(method, api_path)
        if rule is not None:
            if rule.delay > 0:
                time.sleep(rule.delay)
            if rule.status:
                fault_headers = {"Content-Type": JSON_TYPE}
                if rule.retry_after is not None:
                    fault_headers["Retry-After"] = rule.retry_after
                payload = rule.body if rule.body is not None else _error_body(
                    _reason(rule.status), tracking_id)
                return Reply(rule.status, _json_bytes(payload), fault_headers)

        # --- normal handling
        if match is not None and match.public:  # no bearer token: skip auth, the operation checks its own
            if token_form is None:
                return self._error(501, f"{method} {match.template} is not implemented", tracking_id)
            try:  # OAuth: the client id and secret in the form authenticate the request
                return self._reply(self.oauth.token(token_form))
            except ApiError as error:
                return self._error(error.status, error.message, tracking_id, error.errors)
        if caller is None:
            return self._error(401, UNAUTHORIZED, tracking_id)
        if match is None:
            return self._error(404, NOT_FOUND, tracking_id)
        if query_errors:
            return self._error(400, "Invalid query parameters", tracking_id, query_errors)
        if json_body_expected and not json_ok:
            return self._error(400, "Unable to parse the request body as JSON", tracking_id)
        if body_errors:
            return self._error(400, "The request body is invalid: " + "; ".join(body_errors), tracking_id,
                               body_errors)
        request = ApiRequest(method=method, path=api_path, query=query, headers=headers, body=body,
                             json=parsed, caller=caller, match=match, tracking_id=tracking_id, form=form)
        try:
            answer = self.api.handle(request)
        except ApiError as error:
            reply = self._error(error.status, error.message, tracking_id, error.errors)
            reply.headers.update(error.headers)
            return reply
        return self._reply(answer)

    @staticmethod
    def _error(status: int, message: str, tracking_id: str, errors: list[str] | None = None) -> Reply:
        return Reply(status, _json_bytes(_error_body(message, tracking_id, errors)), {"Content-Type": JSON_TYPE})

    @staticmethod
    def _reply(answer: ApiResponse) -> Reply:
        headers = dict(answer.headers)
        if answer.raw is not None:
            return Reply(answer.status, answer.raw, headers)
        if answer.json is None:
            return Reply(answer.status, b"", headers)
        headers.setdefault("Content-Type", JSON_TYPE)
        return Reply(answer.status, _json_bytes(answer.json), headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


# ---------------------------------------------------------------------------------------- plumbing


class _ClientGone(Exception):
    """The connection closed before the whole body announced by the request arrived."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "webex-emulator"
    sys_version = ""
    timeout = 30
    # the head and the body of an answer are two writes: with Nagle's algorithm the body waited for
    # the caller's delayed acknowledgement of the head, 40 ms on every answer after a connection's first
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise _ClientGone
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self._read_exactly(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self._read_exactly(length) if length > 0 else b""

    def _read_exactly(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) < size:
            # the client went away mid-body (a caller killed while sending): like any HTTP server,
            # Webex never sees such a request, so it is neither recorded nor answered
            raise _ClientGone
        return data

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except _ClientGone:
            self.close_connection = True
            return
        except (ValueError, OSError):
            self.send_error(400, "bad body framing")
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = self.server.core.process(self.command, self.path, headers, body)
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if reply.status != 204 and reply.status >= 200:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.body and reply.status != 204 and self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _handle


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], core: Core) -> None:
        self.core = core
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
            self._open.clear()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve_in_thread(server: EmulatorHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                              name="webex-emulator-http")
    thread.start()
    return thread

