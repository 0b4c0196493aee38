"""The webhook receiver: signature on the raw bytes, self-events, dedupe, durable storage."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from bot.adapters.store import SqlStores
from bot.edge.intake import Receiver

SECRET = "s3cret-for-tests"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def receiver(store: SqlStores, woken: list[int] | None = None) -> Receiver:
    return Receiver(secret=SECRET, inbox=store.inbox, bot_id="bot-id", now=lambda: NOW,
                    wake=lambda: (woken if woken is not None else []).append(1))


def envelope(resource: str = "messages", data_id: str = "m1", person: str = "alice-id", **extra: object) -> bytes:
    body = {"id": "wh", "name": "n", "resource": resource, "event": "created", "orgId": "o", "createdBy": "c",
            "appId": "a", "ownedBy": "creator", "status": "active", "actorId": person,
            "data": {"id": data_id, "roomId": "r", "personId": person, **extra}}
    return json.dumps(body).encode()


def sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest()


def test_a_signed_event_is_stored_once_and_wakes_the_workers(store: SqlStores) -> None:
    woken: list[int] = []
    raw = envelope()
    first = receiver(store, woken).receive(raw, sign(raw), "application/json")
    again = receiver(store, woken).receive(raw, sign(raw), "application/json; charset=utf-8")
    assert (first.status, again.status) == (202, 200)
    assert "duplicate" in again.text
    assert store.inbox.counts() == {"pending": 1}
    assert woken == [1]


def test_the_signature_is_checked_on_the_exact_bytes(store: SqlStores) -> None:
    raw = envelope()
    reserialised = json.dumps(json.loads(raw), separators=(",", ":")).encode()
    assert receiver(store).receive(reserialised, sign(raw), "application/json").status == 403
    assert receiver(store).receive(raw, sign(raw).upper(), "application/json").status == 202


@pytest.mark.parametrize(("signature", "status"), [(None, 401), ("", 401), ("0" * 40, 403), ("zz", 403)])
def test_unsigned_or_wrongly_signed_deliveries_change_nothing(store: SqlStores, signature: str | None,
                                                               status: int) -> None:
    assert receiver(store).receive(envelope(), signature, "application/json").status == status
    assert store.inbox.counts() == {}


def test_signed_with_another_secret_is_refused(store: SqlStores) -> None:
    raw = envelope()
    assert receiver(store).receive(raw, sign(raw, "other"), "application/json").status == 403


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'{"resource": "messages"}',
                                 b'{"resource": "messages", "event": "created", "data": {"id": 5}}',
                                 b"\xff\xfe", b"[" * 100000])
def test_garbled_bodies_get_400(store: SqlStores, raw: bytes) -> None:
    answer = receiver(store).receive(raw, sign(raw), "application/json")
    assert answer.status in (400, 413)
    assert store.inbox.counts() == {}


def test_wrong_content_type_and_oversized_bodies_are_refused(store: SqlStores) -> None:
    raw = envelope()
    assert receiver(store).receive(raw, sign(raw), "text/plain").status == 415
    big = envelope(padding="x" * 70000)
    assert receiver(store).receive(big, sign(big), "application/json").status == 413
    assert store.inbox.counts() == {}


def test_the_bots_own_events_and_other_resources_are_acknowledged_and_dropped(store: SqlStores) -> None:
    own = envelope(person="bot-id")
    other = envelope(resource="rooms")
    assert receiver(store).receive(own, sign(own), "application/json").status == 200
    assert receiver(store).receive(other, sign(other), "application/json").status == 202
    assert store.inbox.counts() == {}


def test_a_message_and_an_action_with_the_same_id_are_different_events(store: SqlStores) -> None:
    message, action = envelope("messages", "x1"), envelope("attachmentActions", "x1")
    assert receiver(store).receive(message, sign(message), "application/json").status == 202
    assert receiver(store).receive(action, sign(action), "application/json").status == 202
    assert store.inbox.counts() == {"pending": 2}
