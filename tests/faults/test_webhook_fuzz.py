"""Webhook fuzzing: forged, garbled, oversized, replayed and misrouted deliveries change nothing.

In-process (Flask's test client over `bot.edge.web.create_web_app` with a real `Receiver` on a real
`SqlStores`): well over a thousand hypothesis-generated requests; none gets a 5xx, none is stored
for processing but the one legitimate delivery (its replays are recognised as duplicates), and
every table holds exactly what it held before. Then a few hundred of the same against the real
server process (waitress) over HTTP: no 5xx, and the bot makes no Webex call for any of them.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import socket
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_to_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select, text

from bot.adapters.store import SqlStores
from bot.edge.intake import MAX_BODY, Receiver
from bot.edge.web import create_web_app
from tests.e2e.harness import SECRET as E2E_SECRET
from tests.e2e.harness import Chat, People, wait_until
from tests.faults.conftest import BotFactory
from tests.faults.helpers import bot_calls

SECRET = "fuzz-webhook-secret-0123456789"
BOT_ID = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9pbnRlcmNlcHQtYm90"
ALICE_ID = "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hbGljZQ"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PATH = "/webhooks/webex"
MB = 1024 * 1024


def sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()


def envelope(data_id: str, resource: str = "messages", actor: str = ALICE_ID) -> bytes:
    data: dict[str, Any] = {"id": data_id, "roomId": "Y2lzY29zcGFyazovL3VzL1JPT00vZG0", "personId": actor,
                            "created": "2026-12-02T09:00:00.000Z"}
    if resource == "messages":
        data.update(roomType="direct", personEmail="alice@example.com")
    else:
        data.update(type="submit", messageId="Y2lzY29zcGFyazovL3VzL01FU1NBR0UvY2FyZA")
    body = {"id": "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svd2g", "name": f"intercept-bot {resource}",
            "targetUrl": "https://bot.example.com/webhooks/webex", "resource": resource, "event": "created",
            "orgId": "Y2lzY29zcGFyazovL3VzL09SRy9vcmc", "createdBy": BOT_ID, "appId": "app", "ownedBy": "creator",
            "status": "active", "created": "2026-12-01T08:00:00.000Z", "actorId": actor, "data": data}
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Fuzz:
    """One request: what is sent, and the answers the contract allows for it."""

    kind: str
    method: str
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
    expect: frozenset[int]
    duplicate: bool = False  # a replay of the legitimate delivery: answered as a duplicate

    def header_dict(self) -> dict[str, str]:
        return dict(self.headers)


# ---------------------------------------------------------------------------------------------- strategies

JSON_TYPES = ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/json;"]
WRONG_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
               "application/xml", "application/jsonx", "json", "application/vnd.api+json", "*/*",
               "text/json", "application/json-patch+json", "\u00e9/json"]
HEX = "0123456789abcdef"
fresh_ids = st.text(string.ascii_letters + string.digits + "-_=", min_size=1, max_size=60).map(lambda s: "FUZZ" + s)
resources = st.sampled_from(["messages", "attachmentActions"])
fresh_envelopes = st.builds(envelope, fresh_ids, resources)
header_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=80)
non_ascii_text = st.text(st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF, blacklist_categories=("Cs",)),
                         min_size=1, max_size=60)


@st.composite
def wrong_signature(draw: st.DrawFn, body: bytes, legit: bytes) -> tuple[tuple[str, str], ...]:
    """A signature header that does not sign `body` with the secret (or none at all)."""
    right = sign(body)
    way = draw(st.sampled_from(["missing", "empty", "blank", "other-secret", "flipped", "dropped", "appended",
                                "random-hex", "non-ascii", "non-hex", "sha256", "other-body", "text"]))
    if way == "missing":
        return ()
    if way == "empty":
        value = ""
    elif way == "blank":
        value = draw(st.sampled_from([" ", "\t", "   "]))
    elif way == "other-secret":
        other = draw(st.text(min_size=0, max_size=40).filter(lambda s: s != SECRET))
        value = sign(body, other)
    elif way == "flipped":
        at = draw(st.integers(0, len(right) - 1))
        digit = draw(st.sampled_from([d for d in HEX if d != right[at]]))
        value = right[:at] + digit + right[at + 1:]
    elif way == "dropped":
        at = draw(st.integers(0, len(right) - 1))
        value = right[:at] + right[at + 1:]
    elif way == "appended":
        value = right + draw(st.text(HEX, min_size=1, max_size=4))
    elif way == "random-hex":
        value = draw(st.text(HEX, min_size=40, max_size=40).filter(lambda s: s != right))
    elif way == "non-ascii":
        at = draw(st.integers(0, len(right)))
        value = right[:at] + draw(non_ascii_text) + right[at:]
    elif way == "non-hex":
        value = draw(st.text(string.ascii_letters + string.punctuation, min_size=40, max_size=40))
    elif way == "sha256":
        value = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    elif way == "other-body":
        value = sign(legit)
    else:
        value = draw(header_text)
    if value.strip().lower() == right:
        value = "0" + value  # what was drawn happened to be right: make it wrong
    return (("X-Spark-Signature", value),)


def content_type(ct: str | None) -> tuple[tuple[str, str], ...]:
    return () if ct is None else (("Content-Type", ct),)


def refused(*codes: int) -> frozenset[int]:
    return frozenset(codes)


@st.composite
def fuzz_request(draw: st.DrawFn, legit: bytes, legit_signature: str) -> Fuzz:
    kind = draw(st.sampled_from(["random-bytes", "truncated", "oversized", "wrongly-signed", "replay",
                                 "wrong-content-type", "wrong-method", "wrong-path", "bot-shaped-garbage"]))
    any_type = draw(st.one_of(st.none(), st.sampled_from(JSON_TYPES + WRONG_TYPES), header_text))
    if kind == "random-bytes":
        body = draw(st.binary(max_size=4096))
        return Fuzz(kind, "POST", PATH, body, draw(wrong_signature(body, legit)) + content_type(any_type),
                    refused(401, 403))
    if kind == "bot-shaped-garbage":  # JSON that looks like an envelope, unsigned or wrongly signed
        value = draw(st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from(["id", "resource", "event", "data", "actorId", "personId"])
                              | st.text(max_size=8), inner, max_size=5), max_leaves=20))
        body = json.dumps(value).encode()
        return Fuzz(kind, "POST", PATH, body, draw(wrong_signature(body, legit)) + content_type("application/json"),
                    refused(401, 403))
    if kind == "truncated":
        whole = draw(fresh_envelopes)
        body = whole[:draw(st.integers(0, len(whole) - 1))]
        way = draw(st.sampled_from(["whole-body-signature", "wrong"]))
        headers = (("X-Spark-Signature", sign(whole)),) if way == "whole-body-signature" else draw(
            wrong_signature(body, legit))
        if headers and headers[0][1].strip().lower() == sign(body):
            headers = ()
        return Fuzz(kind, "POST", PATH, body, headers + content_type("application/json"), refused(401, 403))
    if kind == "oversized":
        base = draw(fresh_envelopes)
        size = draw(st.integers(MB + 1, MB + 256 * 1024))
        body = base[:-1] + b" " * (size - len(base)) + b"}"
        signed = draw(st.booleans())  # correctly signed or not: too large either way
        headers = (("X-Spark-Signature", sign(body)),) if signed else draw(wrong_signature(body, legit))
        return Fuzz(kind, "POST", PATH, body, headers + content_type("application/json"), refused(413))
    if kind == "wrongly-signed":
        body = draw(fresh_envelopes)
        return Fuzz(kind, "POST", PATH, body, draw(wrong_signature(body, legit)) + content_type(
            draw(st.sampled_from(JSON_TYPES))), refused(401, 403))
    if kind == "replay":
        sig = draw(st.sampled_from([legit_signature, legit_signature.upper(), f" {legit_signature} "]))
        ct = draw(st.sampled_from(JSON_TYPES + WRONG_TYPES + [None]))
        json_type = ct is not None and ct.split(";")[0].strip().lower() == "application/json"
        return Fuzz(kind, "POST", PATH, legit, (("X-Spark-Signature", sig), *content_type(ct)),
                    refused(200) if json_type else refused(415), duplicate=json_type)
    body = draw(fresh_envelopes)
    signed = (("X-Spark-Signature", sign(body)),)  # correctly signed: only the request's shape is wrong
    if kind == "wrong-content-type":
        ct = draw(st.one_of(st.none(), st.sampled_from(WRONG_TYPES), header_text).filter(
            lambda c: c is None or c.split(";")[0].strip().lower() != "application/json"))
        return Fuzz(kind, "POST", PATH, body, signed + content_type(ct), refused(415))
    if kind == "wrong-method":
        method = draw(st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]))
        return Fuzz(kind, method, PATH, body, signed + content_type("application/json"),
                    refused(200) if method == "OPTIONS" else refused(405))
    path = draw(st.one_of(
        st.sampled_from(["/", "/webhooks", "/webhooks/", "/webhooks/webex/", "/webhooks//webex",
                         "/WEBHOOKS/WEBEX", "/webhooks/Webex", "/webhooks/webex/x", "/webhook/webex",
                         "/webhooks/webex.json", "/webhooks/webex;x", "/v1/webhooks/webex", "/healthz",
                         "/webhooks/webex/..", "/webhooks/%2e%2e/webex", "/static/x", "/webhooks/webex%00",
                         "//.", "//example.com/webhooks/webex"]),
        st.text(string.ascii_letters + string.digits + "/-._~!$&'()*+,;=:@", max_size=40).map(
            lambda p: "/" + p)).filter(lambda p: re.sub("/+", "/", p) != PATH))
    # (a path that only differs by repeated slashes is the webhook's own path: waitress turns a
    # leading "//" into "/", so a signed delivery there is a delivery, not a wrong path)
    # 308: Werkzeug merges repeated slashes by redirecting to the canonical path (where the usual
    # checks apply); a redirect stores nothing
    return Fuzz(kind, "POST", quote(path, safe="/%;=:@!$&'()*+,~-._"), body, signed + content_type("application/json"),
                refused(404, 405, 308))


# ---------------------------------------------------------------------------------------------- in-process


def table_contents(store: SqlStores) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with store.engine.connect() as connection:
        names = inspect(connection).get_table_names()
        return {name: sorted((tuple(row) for row in connection.execute(select(text("*")).select_from(text(name)))),
                             key=repr) for name in names}


class InProcess:
    def __init__(self, database_url: str) -> None:
        self.store = SqlStores.at(database_url)
        self.store.create_schema()
        self.woken: list[int] = []
        receiver = Receiver(secret=SECRET, inbox=self.store.inbox, bot_id=BOT_ID, now=lambda: NOW,
                            wake=lambda: self.woken.append(1))
        web = create_web_app(receiver=lambda: receiver, health=lambda: {"ok": True},
                             readiness=lambda: {"ready": True}, metrics=lambda: (b"", "text/plain"))
        self.client = web.test_client()

    def send(self, fuzz: Fuzz) -> tuple[int, str]:
        # a WSGI server hands header bytes over as latin-1 text: do the same with non-ASCII values
        headers = {k: v.encode("utf-8").decode("latin-1") for k, v in fuzz.headers}
        # PATH_INFO as a WSGI server would set it: the test client itself reads a path such as
        # "//example.com/x" as a host and a path, which no server does
        path_info = unquote_to_bytes(fuzz.path).decode("latin-1")
        response = self.client.open("/", method=fuzz.method, data=fuzz.body, headers=headers,
                                    environ_overrides={"PATH_INFO": path_info, "REQUEST_URI": fuzz.path,
                                                       "RAW_URI": fuzz.path})
        return response.status_code, response.get_data(as_text=True)


def check_answer(fuzz: Fuzz, status: int, answer: str) -> None:
    assert status < 500, f"{fuzz.kind}: HTTP {status} {answer[:200]!r}"
    assert status in fuzz.expect, f"{fuzz.kind}: HTTP {status}, expected one of {sorted(fuzz.expect)}: {answer[:200]!r}"
    if fuzz.duplicate:
        assert "duplicate" in answer, answer


def test_fuzzed_webhook_requests_store_nothing_but_the_one_legit_delivery(database_url: str, report) -> None:
    bot = InProcess(database_url)
    legit = envelope("Y2lzY29zcGFyazovL3VzL01FU1NBR0UvbGVnaXQ")
    legit_signature = sign(legit)
    first = bot.client.post(PATH, data=legit, headers={"Content-Type": "application/json",
                                                       "X-Spark-Signature": legit_signature})
    assert first.status_code == 202
    before = table_contents(bot.store)
    assert before["webhook_inbox"] and len(before["webhook_inbox"]) == 1
    sent: dict[str, int] = {}

    @settings(max_examples=1200, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(fuzz_request(legit, legit_signature))
    def one(fuzz: Fuzz) -> None:
        sent[fuzz.kind] = sent.get(fuzz.kind, 0) + 1
        status, answer = bot.send(fuzz)
        check_answer(fuzz, status, answer)
        assert bot.store.inbox.counts() == {"pending": 1}, f"{fuzz.kind} was stored for processing"

    one()
    assert table_contents(bot.store) == before
    assert bot.woken == [1], "only the legitimate delivery may wake the workers"
    total = sum(sent.values())
    report(f"webhook fuzz (in-process): {total} requests: " + ", ".join(f"{k} {v}" for k, v in sorted(sent.items())))
    assert total >= 1000


# ------------------------------------------------------------------ signed but malformed (robustness)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["id", "resource", "event", "data", "actorId", "personId"])
                      | st.text(max_size=8), inner, max_size=5), max_leaves=25)


@st.composite
def signed_malformed(draw: st.DrawFn) -> bytes:
    """Bodies signed with the right secret that Webex would never send: the receiver must answer
    them without a 5xx and store only what it can hand to the workers."""
    kind = draw(st.sampled_from(["truncated", "json", "encoding", "odd-id", "odd-fields", "nesting"]))
    if kind == "truncated":
        whole = draw(fresh_envelopes)
        return whole[:draw(st.integers(0, len(whole) - 1))]
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "encoding":
        codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"]))
        return json.dumps(json.loads(draw(fresh_envelopes))).encode(codec)
    if kind == "odd-id":
        odd = draw(st.sampled_from(["\\ud800", "\\udfff", "a\\ud83dz", "\\u0000", "\\u2028", "x" * 256, "x" * 257,
                                    "\\uffff", "\\ud83d\\ude00"]))
        resource = draw(resources)
        return (f'{{"resource":"{resource}","event":"created","actorId":"{ALICE_ID}",'
                f'"data":{{"id":"{odd}","personId":"{ALICE_ID}"}}}}').encode()
    if kind == "odd-fields":
        data = draw(st.one_of(st.dictionaries(st.text(max_size=6), json_values, max_size=3),
                              st.fixed_dictionaries({"id": json_values}), json_values))
        value = {"resource": draw(st.one_of(resources, json_values)), "event": draw(st.one_of(
            st.just("created"), json_values)), "data": data, "actorId": draw(st.one_of(st.just(BOT_ID), json_values))}
        return json.dumps(value).encode()
    depth = draw(st.integers(100, 30000))
    return b'{"resource":"messages","event":"created","data":{"id":"d","x":' + b"[" * depth + b"]" * depth + b"}}"


ODD_BUT_SIGNED = [
    pytest.param(json.dumps({"resource": "messages", "event": "created", "data": {"id": "utf16"}}).encode("utf-16"),
                 id="utf-16"),
    pytest.param(json.dumps({"resource": "messages", "event": "created", "data": {"id": "utf32"}}).encode("utf-32"),
                 id="utf-32"),
    pytest.param(json.dumps({"resource": "messages", "event": "created", "data": {"id": "be"}}).encode("utf-16-be"),
                 id="utf-16-be-without-bom"),
    pytest.param(b'{"resource":"messages","event":"created","data":{"id":"\\ud800"}}', id="unpaired-surrogate-id"),
    pytest.param(b'{"resource":"messages","event":"created","data":{"id":"\\u0000"}}', id="nul-id"),
    pytest.param(b"\xef\xbb\xbf" + json.dumps({"resource": "messages", "event": "created",
                                                "data": {"id": "bom"}}).encode(), id="utf-8-bom"),
]


def send_signed(bot: InProcess, body: bytes) -> tuple[bool, list[tuple[str, str]], list[tuple[str, str]]]:
    """POST a correctly signed body: whether it was accepted for processing, and the inbox rows
    before and after."""
    def rows() -> list[tuple[str, str]]:
        with bot.store.engine.connect() as connection:
            return [(str(k), str(p)) for k, p in connection.execute(text("SELECT key, payload FROM webhook_inbox"))]
    before = rows()
    status, answer = bot.send(Fuzz("signed-malformed", "POST", PATH, body,
                                    (("X-Spark-Signature", sign(body)), ("Content-Type", "application/json")),
                                    frozenset(range(200, 500))))
    assert status < 500, f"HTTP {status} for a correctly signed body {body[:120]!r}"
    return status == 202 and "accepted" in answer, before, rows()


def check_stored(accepted: bool, before: list[tuple[str, str]], after: list[tuple[str, str]]) -> None:
    new = sorted(set(after) - set(before))
    if not accepted:
        assert new == [], f"not accepted, but stored: {new}"
        return
    assert len(new) == 1, new
    key, payload = new[0]
    stored = json.loads(payload)  # kept as it came; the workers take the event from the key
    assert isinstance(stored, dict) and key == f"{stored['resource']}:{stored['data']['id']}"


@pytest.mark.parametrize("body", ODD_BUT_SIGNED)
def test_a_signed_body_in_another_encoding_or_with_an_unstorable_id_gets_a_4xx_not_a_5xx(
        database_url: str, body: bytes) -> None:
    """Webex sends UTF-8 JSON; a correctly signed body in UTF-16/32, with a byte-order mark or with
    an id holding an unpaired surrogate or a NUL escape must be refused (4xx) or stored so that the workers
    can read it, never answered 500 (Webex retries 5xx and disables the webhook after a while)."""
    bot = InProcess(database_url)
    check_stored(*send_signed(bot, body))


def test_signed_but_malformed_bodies_get_no_5xx_and_only_dispatchable_events_are_stored(database_url: str,
                                                                                         report) -> None:
    """Correctly signed bodies that are not what Webex sends (truncated, any JSON, other encodings,
    odd ids and field types, deep nesting): a 4xx, or stored as an event the workers can read."""
    bot = InProcess(database_url)
    count = 0

    @settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=signed_malformed())
    def one(body: bytes) -> None:
        nonlocal count
        count += 1
        try:
            check_stored(*send_signed(bot, body))
        finally:
            with bot.store.engine.begin() as connection:  # each example starts from an empty inbox
                connection.execute(text("DELETE FROM webhook_inbox"))

    one()
    report(f"webhook fuzz (in-process, correctly signed but malformed): {count} requests")


# ---------------------------------------------------------------------------------------------- real server


def send_http(port: int, fuzz: Fuzz) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.putrequest(fuzz.method, fuzz.path, skip_accept_encoding=True)
        for name, value in fuzz.headers:
            connection.putheader(name, value.encode("utf-8"))
        connection.putheader("Content-Length", str(len(fuzz.body)))
        # the server refuses a body over its limit as soon as it has the headers, and closes the
        # connection: the body is not sent (sending it would meet a reset), the answer is read
        connection.endheaders(None if len(fuzz.body) > MAX_BODY else fuzz.body)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def raw_exchange(port: int, data: bytes) -> int:
    """Send raw bytes on a fresh connection; the status of the answer (0: closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    line = answer.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0


def raw_cases(legit: bytes, legit_signature: str) -> list[tuple[str, bytes, Callable[[int], bool]]]:
    big = envelope("FUZZchunked")[:-1] + b" " * (70 * 1024) + b"}"
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192]) for i in range(0, len(big), 8192))
    ok: Callable[[int], bool] = lambda status: status < 500  # noqa: E731
    return [
        ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)), ok),
        ("garbage request line", b"HELLO THERE\r\n\r\n", ok),
        ("chunked, over the size limit, correctly signed",
         (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          f"X-Spark-Signature: {sign(big, E2E_SECRET)}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
         + chunks + b"0\r\n\r\n", lambda status: status in (400, 413)),
        ("a replay, chunked", (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               f"X-Spark-Signature: {legit_signature}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
         + b"%x\r\n%s\r\n0\r\n\r\n" % (len(legit), legit), lambda status: status == 200),
        ("Content-Length beyond any limit", (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                             "Content-Length: 1000000000000\r\n\r\n{}").encode(), ok),
        # refused as soon as the headers are read, not after 64 MiB were taken in
        ("Content-Length over the limit, the body never sent",
         (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          f"Content-Length: {64 * 1024 * 1024}\r\n\r\n{{").encode(), lambda status: status == 413),
        ("negative Content-Length", (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n").encode(), ok),
        ("two Content-Lengths", (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 7"
                                 "\r\n\r\n{}").encode(), ok),
        ("header with raw non-ASCII bytes", (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                                             "\r\nX-Spark-Signature: ").encode() + "\u00e9\u20ac\U0001f600".encode()
         + b"\xff\xfe\r\nContent-Length: 2\r\n\r\n{}", lambda status: status in (400, 403)),
        ("a huge header", (f"POST {PATH} HTTP/1.1\r\nHost: x\r\nX-Spark-Signature: " + "a" * 300_000
                           + "\r\nContent-Length: 2\r\n\r\n{}").encode(), ok),
        ("HTTP/0.9-style", f"GET {PATH}\r\n".encode(), ok),
    ]


@pytest.mark.e2e
def test_fuzzed_webhook_requests_against_the_real_server_make_no_webex_call(
        world: tuple[Any, People, Chat], start_bot: BotFactory, report) -> None:
    emu, people, chat = world
    bot = start_bot()
    # one real delivery first: its replays are part of the fuzz
    chat.say(people.alice, "help")
    chat.wait_bot_text(chat.direct_room(people.alice), "`status`")
    delivery = next(d for d in emu.deliveries if d.resource == "messages" and d.ok
                    and d.envelope()["actorId"] == people.alice.id)
    legit, legit_signature = bytes(delivery.body), str(delivery.signature)
    wait_until(lambda: bot.db("SELECT count(*) FROM webhook_inbox WHERE status = 'done'")[0][0] >= 1)
    inbox_before = bot.db("SELECT key, status FROM webhook_inbox ORDER BY key")
    requests_before = len(emu.requests)
    sent: dict[str, int] = {}

    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(fuzz_request(legit, legit_signature))
    def one(fuzz: Fuzz) -> None:
        if fuzz.headers and fuzz.headers[0][0] == "X-Spark-Signature" and fuzz.headers[0][1] == sign(fuzz.body):
            # fuzz_request signs with the in-process secret: sign with the real server's secret
            fuzz = Fuzz(fuzz.kind, fuzz.method, fuzz.path, fuzz.body,
                        (("X-Spark-Signature", sign(fuzz.body, E2E_SECRET)), *fuzz.headers[1:]), fuzz.expect,
                        fuzz.duplicate)
        sent[fuzz.kind] = sent.get(fuzz.kind, 0) + 1
        status, answer = send_http(bot.port, fuzz)
        check_answer(fuzz, status, answer)

    one()
    raw_answers = []
    for name, data, allowed in raw_cases(legit, legit_signature):
        status = raw_exchange(bot.port, data)
        raw_answers.append(f"{name}: {status}")
        assert allowed(status), f"{name}: answered {status}"
        sent["raw"] = sent.get("raw", 0) + 1
    print("raw answers:", raw_answers)
    # the bot is still well, and stored nothing new
    assert bot.healthy
    assert bot.db("SELECT key, status FROM webhook_inbox ORDER BY key") == inbox_before
    # a real event after the fuzz goes through; before it, the bot made no Webex call at all
    marker = chat.say(people.alice, "help")
    wait_until(lambda: emu.requests_matching("GET", rf"/messages/{marker['id']}"), what="the marker event")
    calls = bot_calls(emu, people, requests_before)
    first_marker_call = next(i for i, r in enumerate(calls) if r.path == f"/messages/{marker['id']}")
    assert [(r.method, r.path) for r in calls[:first_marker_call]] == [], "the bot called Webex for fuzz requests"
    total = sum(sent.values())
    report(f"webhook fuzz (real server, waitress): {total} requests: "
           + ", ".join(f"{k} {v}" for k, v in sorted(sent.items())))
    assert total >= 250
