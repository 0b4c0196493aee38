"""Webhooks: CRUD, ids-only signed deliveries, who gets what, retries and redelivery."""

from __future__ import annotations

import hashlib
import hmac

from tests.emulator.helpers import Cast, Receiver, card_attachment, free_port_url, raw_request

SECRET = "s3cret-for-tests"


def _valid(received_raw: bytes, signature: str) -> bool:
    expected = hmac.new(SECRET.encode(), received_raw, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, signature)


def test_webhook_crud(cast: Cast) -> None:
    emu = cast.emu
    hook = emu.add_webhook(cast.bot, "bot messages", "https://bot.example.com/hook", "messages", "created",
                           secret=SECRET)
    assert hook["status"] == "active" and hook["ownedBy"] == "creator" and hook["createdBy"] == cast.bot.id
    assert hook["orgId"] == "org-1" and hook["appId"] and hook["secret"] == SECRET and "filter" not in hook
    status, listed = emu.call(cast.bot, "GET", "/webhooks")
    assert status == 200 and [w["id"] for w in listed["items"]] == [hook["id"]]
    assert emu.call(cast.alice, "GET", "/webhooks")[1]["items"] == []
    assert emu.call(cast.alice, "GET", f"/webhooks/{hook['id']}")[0] == 404
    status, updated = emu.call(cast.bot, "PUT", f"/webhooks/{hook['id']}",
                               {"name": "renamed", "targetUrl": "https://bot.example.com/v2"})
    assert status == 200 and updated["name"] == "renamed" and updated["resource"] == "messages"
    assert raw_request(emu, "DELETE", f"/webhooks/{hook['id']}", token="bot-token").status == 204
    assert emu.call(cast.bot, "GET", f"/webhooks/{hook['id']}")[0] == 404
    status, _ = emu.call(cast.bot, "POST", "/webhooks", {"name": "x", "targetUrl": "https://x", "resource": "nope",
                                                         "event": "created"})
    assert status == 400 and len(emu.spec_violations) == 1


def test_card_submit_flow_delivers_signed_ids_only(cast: Cast, receiver: Receiver) -> None:
    emu = cast.emu
    emu.add_webhook(cast.bot, "actions", receiver.url, "attachmentActions", "created", secret=SECRET)
    room = emu.direct_room_id(cast.alice.id, cast.bot.id)
    status, sent = emu.call(cast.bot, "POST", "/messages", {"roomId": room, "markdown": "Approve?",
                                                            "attachments": card_attachment()})
    assert status == 200
    action = emu.submit(cast.alice, sent["id"], {"decision": "approve", "note": "secret note"})
    assert action["type"] == "submit" and action["messageId"] == sent["id"] and action["personId"] == cast.alice.id
    assert action["roomId"] == room and action["inputs"] == {"decision": "approve", "note": "secret note"}
    assert emu.requests_matching("POST", "/attachment/actions")[0].status == 202

    emu.wait_for(lambda: receiver.received)
    got = receiver.received[0]
    assert got.headers["content-type"] == "application/json"
    assert _valid(got.raw, got.headers["x-spark-signature"])
    envelope = got.json
    assert envelope["resource"] == "attachmentActions" and envelope["event"] == "created"
    assert envelope["actorId"] == cast.alice.id and envelope["createdBy"] == cast.bot.id
    assert envelope["data"] == {"id": action["id"], "type": "submit", "messageId": sent["id"],
                                "personId": cast.alice.id, "roomId": room, "created": action["created"]}
    assert b"secret note" not in got.raw and b"inputs" not in got.raw

    emu.wait_for(lambda: emu.deliveries)
    delivery = emu.deliveries[0]
    assert delivery.status == 200 and delivery.ok and delivery.body == got.raw
    assert delivery.signature == got.headers["x-spark-signature"]

    status, read = emu.call(cast.bot, "GET", f"/attachment/actions/{action['id']}")
    assert status == 200 and read["inputs"]["note"] == "secret note"
    assert emu.call(cast.alice, "GET", f"/attachment/actions/{action['id']}")[0] == 404
    assert emu.spec_violations == []


def test_submit_needs_a_card_and_membership(cast: Cast) -> None:
    emu = cast.emu
    room = emu.direct_room_id(cast.alice.id, cast.bot.id)
    plain = emu.say(cast.bot, text="no card", room_id=room)
    status, _ = emu.call(cast.alice, "POST", "/attachment/actions",
                         {"type": "submit", "messageId": plain["id"], "inputs": {}})
    assert status == 400
    carded = emu.say(cast.bot, text="card", room_id=room, attachments=card_attachment())
    status, _ = emu.call(cast.bob, "POST", "/attachment/actions",
                         {"type": "submit", "messageId": carded["id"], "inputs": {}})
    assert status == 404


def test_message_delivery_is_ids_only_and_includes_bot_own_messages(cast: Cast, receiver: Receiver) -> None:
    emu = cast.emu
    emu.add_webhook(cast.bot, "messages", receiver.url, "messages", "created", secret=SECRET)
    sent = emu.say(cast.alice, text="take me out of service", to_person_id=cast.bot.id)
    own = emu.say(cast.bot, text="sure", to_person_id=cast.alice.id)
    emu.wait_for(lambda: len(receiver.received) == 2)
    first, second = (r.json for r in receiver.received)
    assert first["data"] == {"id": sent["id"], "roomId": sent["roomId"], "roomType": "direct",
                             "personId": cast.alice.id, "personEmail": "alice@example.com",
                             "created": sent["created"]}
    assert b"take me out" not in receiver.received[0].raw
    assert second["data"]["id"] == own["id"] and second["actorId"] == cast.bot.id
    assert all(_valid(r.raw, r.headers["x-spark-signature"]) for r in receiver.received)


def test_group_room_bot_only_gets_mentions_person_gets_all(cast: Cast, receiver: Receiver) -> None:
    emu = cast.emu
    emu.add_webhook(cast.bot, "bot", receiver.url + "/bot", "messages", "created", secret=SECRET)
    emu.add_webhook(cast.bob, "bob", receiver.url + "/bob", "messages", "created")
    room = emu.group_room("Team space", [cast.alice.id, cast.bob.id, cast.bot.id])
    emu.say(cast.alice, text="hello team", room_id=room)
    mention = emu.say(cast.alice, markdown=f"<@personId:{cast.bot.id}|Intercept Bot> help", room_id=room)
    emu.wait_for_deliveries()
    bot_got = [r.json for r in receiver.received if r.path.endswith("/bot")]
    bob_got = [r.json for r in receiver.received if r.path.endswith("/bob")]
    assert [e["data"]["id"] for e in bot_got] == [mention["id"]]
    assert bot_got[0]["data"]["mentionedPeople"] == [cast.bot.id]
    assert len(bob_got) == 2
    assert all("x-spark-signature" not in r.headers for r in receiver.received if r.path.endswith("/bob"))


def test_no_delivery_when_owner_not_in_room_or_filter_mismatch(cast: Cast, receiver: Receiver) -> None:
    emu = cast.emu
    alice_room = emu.direct_room_id(cast.alice.id, cast.bot.id)
    emu.add_webhook(cast.bob, "bob", receiver.url, "messages", "created")
    emu.add_webhook(cast.bot, "filtered", receiver.url + "/f", "messages", "created",
                    filter=f"roomId={alice_room}&personEmail=alice%40example.com")
    from_alice = emu.say(cast.alice, text="x", room_id=alice_room)
    emu.say(cast.bot, text="y", room_id=alice_room)  # filtered out: personEmail
    from_bob = emu.say(cast.bob, text="z", to_person_id=cast.bot.id)  # bob is in that room: his hook fires
    emu.wait_for_deliveries()
    got = sorted((r.path, r.json["data"]["id"]) for r in receiver.received)
    assert got == sorted([("/hook/f", from_alice["id"]), ("/hook", from_bob["id"])])
    status, _ = emu.call(cast.bot, "POST", "/webhooks", {"name": "bad", "targetUrl": receiver.url,
                                                         "resource": "messages", "event": "created",
                                                         "filter": "color=blue"})
    assert status == 400


def test_failed_delivery_is_retried_and_recorded(cast: Cast, receiver: Receiver) -> None:
    emu = cast.emu
    receiver.statuses = [500, 503]
    emu.add_webhook(cast.bot, "messages", receiver.url, "messages", "created", secret=SECRET)
    emu.say(cast.alice, text="one", to_person_id=cast.bot.id)
    emu.wait_for_deliveries()
    assert [d.status for d in emu.deliveries] == [500, 503, 200]
    assert [d.attempt for d in emu.deliveries] == [1, 2, 3]
    assert emu.deliveries[0].error and emu.deliveries[2].error is None
    assert len({r.raw for r in receiver.received}) == 1


def test_connection_errors_are_recorded(cast: Cast) -> None:
    emu = cast.emu
    emu.add_webhook(cast.bot, "dead", free_port_url(), "messages", "created")
    emu.say(cast.alice, text="anyone?", to_person_id=cast.bot.id)
    emu.wait_for_deliveries()
    assert len(emu.deliveries) == 3  # first try + 2 retries
    assert all(d.status is None and d.error for d in emu.deliveries)


def test_deliveries_keep_creation_order_and_redeliver_repeats_bytes(cast: Cast, receiver: Receiver) -> None:
    emu = cast.emu
    emu.add_webhook(cast.bot, "messages", receiver.url, "messages", "created", secret=SECRET)
    sent = [emu.say(cast.alice, text=f"n{i}", to_person_id=cast.bot.id)["id"] for i in range(5)]
    emu.wait_for(lambda: len(receiver.received) == 5)
    assert [r.json["data"]["id"] for r in receiver.received] == sent
    again = emu.redeliver(2)
    assert again.redelivery and again.status == 200
    assert receiver.received[-1].raw == receiver.received[2].raw
    assert receiver.received[-1].headers["x-spark-signature"] == receiver.received[2].headers["x-spark-signature"]


def test_wait_for_times_out_clearly(cast: Cast) -> None:
    import pytest

    with pytest.raises(TimeoutError, match="still not true"):
        cast.emu.wait_for(lambda: False, timeout=0.1)
    assert cast.emu.wait_for(lambda: 42) == 42


def test_event_all_is_not_in_the_excerpt(cast: Cast) -> None:
    status, body = cast.emu.call(cast.bot, "POST", "/webhooks", {"name": "x", "targetUrl": "https://x.example.com",
                                                                 "resource": "messages", "event": "all"})
    assert status == 400 and "all" in body["message"]


def test_restart_keeps_state_and_delivers_again(cast: Cast, receiver: Receiver) -> None:
    emu = cast.emu
    emu.add_webhook(cast.bot, "m", receiver.url, "messages", "created")
    emu.stop()
    emu.start()
    emu.say(cast.alice, text="after restart", to_person_id=cast.bot.id)
    emu.wait_for_deliveries()
    assert emu.deliveries[-1].ok and emu.deliveries[-1].envelope()["data"]["personId"] == cast.alice.id
