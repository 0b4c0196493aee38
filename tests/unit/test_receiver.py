"""The webhook receiver: signature on the raw bytes, self-events, dedupe, durable storage."""

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime

import pytest

from bot.adapters.store import SqlStores
from bot.edge.intake import Crowding, Event, Receiver
from bot.edge.worker import Worker

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


def test_a_delivery_arriving_while_two_are_being_received_makes_the_edge_crowded_for_a_while() -> None:
    now = [0.0]
    crowding = Crowding(crowd=2, lasts=1.0, clock=lambda: now[0])
    with crowding.receiving(), crowding.receiving():
        assert not crowding.crowded()  # two at once: not yet
        with crowding.receiving():
            assert crowding.crowded()
    now[0] = 0.9
    assert crowding.crowded()  # for a while after the crowd
    now[0] = 1.0
    assert not crowding.crowded()


def test_while_deliveries_crowd_one_worker_thread_processes_and_the_others_wait(store: SqlStores) -> None:
    crowded = threading.Event()
    crowded.set()
    handled_by: list[str] = []
    done = threading.Event()

    together = threading.Barrier(3, timeout=30)

    def handle(event: Event) -> None:
        if event.id.startswith("later"):
            together.wait()  # passes only when three threads handle events at once
            return
        handled_by.append(threading.current_thread().name)
        if len(handled_by) == 6:
            done.set()

    for number in range(6):
        store.inbox.add(Event("messages", f"m{number}"), b"{}", NOW)
    worker = Worker(store=store.inbox, handle=handle, now=lambda: NOW, threads=3, idle_wait=0.01,
                    crowded=crowded.is_set)
    worker.start()
    try:
        assert done.wait(30)
        assert set(handled_by) == {"event-worker-0"}
        crowded.clear()  # the burst is over: every thread takes events again
        for number in range(3):
            store.inbox.add(Event("messages", f"later{number}"), b"{}", NOW)
        worker.wake()
        deadline = time.monotonic() + 30
        while store.inbox.counts() != {"done": 9} and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.inbox.counts() == {"done": 9}
    finally:
        worker.stop()
