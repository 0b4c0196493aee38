"""Every webhook event delivered three times, out of order: several people go through form ->
submit -> approval -> apply -> revert while each delivery the bot gets is sent twice more, in a
shuffled order, concurrently and after random delays (so copies race the original and arrive
after later events). Each intercept is applied once, each card sent once, each revert done once."""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.harness import Chat, People, filled, wait_until
from tests.faults.conftest import BotFactory
from tests.faults.helpers import (
    CHANGES,
    ORIGINALS,
    add_requesters,
    live_cards,
    posted_cards,
    put_body,
    puts,
    requested_body,
    seed_from_env,
    texts_to,
    wait_quiet,
)

pytestmark = pytest.mark.e2e


class Redeliverer:
    """Sends every event the emulator delivered `copies` more times, shuffled, from a few threads."""

    def __init__(self, emu: Any, rng: random.Random, copies: int = 2, threads: int = 3) -> None:
        self.emu = emu
        self.rng = rng
        self.copies = copies
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="redeliver")
        self.lock = threading.Lock()
        self.pending: list[int] = []
        self.in_flight = 0
        self.seen = 0
        self.keys: set[bytes] = set()
        self.sent = 0
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="redeliverer", daemon=True)
        self.thread.start()

    def _send(self, index: int, delay: float) -> None:
        try:
            time.sleep(delay)  # spread the copies out: some arrive after later events
            self.emu.redeliver(index)
        except BaseException as error:
            self.errors.append(error)
        finally:
            with self.lock:
                self.in_flight -= 1
                self.sent += 1

    def _loop(self) -> None:
        while not self.stop.is_set():
            deliveries = self.emu.deliveries
            with self.lock:
                for index in range(self.seen, len(deliveries)):
                    key = bytes(deliveries[index].body)
                    if key not in self.keys:
                        self.keys.add(key)
                        self.pending.extend([index] * self.copies)
                self.seen = len(deliveries)
                self.rng.shuffle(self.pending)
                batch, self.pending = self.pending[:3], self.pending[3:]
                self.in_flight += len(batch)
            for index in batch:
                self.pool.submit(self._send, index, self.rng.uniform(0, 0.4))
            if not batch:
                time.sleep(0.02)

    def idle(self) -> bool:
        with self.lock:
            return not self.pending and not self.in_flight and self.seen == len(self.emu.deliveries)

    def drain(self, timeout: float = 30.0) -> None:
        self.emu.wait_for_deliveries(timeout)
        wait_until(self.idle, timeout, "every delivery to be sent twice more")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.pool.shutdown(wait=True)


def test_every_event_delivered_three_times_out_of_order_changes_nothing_twice(
        world: tuple[Any, People, Chat], start_bot: BotFactory, report) -> None:
    emu, people, chat = world
    seed = seed_from_env()
    print(f"seed {seed} (FAULTS_SEED={seed} replays the order)")
    rng = random.Random(seed)
    approvers = [people.bob, people.carol, people.dave]
    room = emu.group_room("Intercept approvals", [a.id for a in approvers] + [people.bot.id])
    bot = start_bot(approvers="bob@example.com,carol@example.com,dave@example.com", approval_room=room)
    requesters = [people.alice, people.mallory, *add_requesters(emu, ["Erin", "Frank", "Grace"])]
    plan = {}
    for number, person in enumerate(requesters):
        original, changes = ORIGINALS[number % len(ORIGINALS)], CHANGES[number % len(CHANGES)]
        emu.set_intercept(person.id, original)
        plan[person.id] = (original, changes, requested_body(original, changes), rng.choice(approvers))
    redeliverer = Redeliverer(emu, random.Random(rng.random()))
    errors: list[BaseException] = []

    def go_through(person: Any) -> None:
        try:
            _original, changes, _body, approver = plan[person.id]
            direct = chat.direct_room(person)
            chat.say(person, "intercept me for 2 hours")
            form = chat.wait_card(direct, "until.date")
            chat.submit(person, form, {**filled(form, **changes),
                                       "intent": "submit"})
            chat.wait_bot_text(direct, "Sent for approval")
            # every approver (and the space) has the card before anyone decides, so each card's
            # count below is exact (a decision stops the cards not sent yet)
            wait_until(lambda: all(live_cards(chat, where, "comment", person.display_name)
                                   for where in [room, *(chat.direct_room(a) for a in approvers)]),
                       60, f"the approval cards for {person.display_name}")
            card = live_cards(chat, chat.direct_room(approver), "comment", person.display_name)[-1]
            chat.submit(approver, card, {"intent": "approve", "comment": ""})
            bot.wait_status(person.id, "active", timeout=30)
        except BaseException as error:
            errors.append(error)

    try:
        threads = [threading.Thread(target=go_through, args=(p,)) for p in requesters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not errors, errors
        assert not any(thread.is_alive() for thread in threads), "a request did not get through in 2 minutes"
        redeliverer.drain()
        wait_quiet(bot)
        bot.sandbox_clock(3 * 3600)
        for person in requesters:
            bot.wait_status(person.id, "reverted", timeout=30)
        for person in requesters:
            chat.wait_bot_text(chat.direct_room(person), "previous call settings are back")
        redeliverer.drain()
        wait_quiet(bot)
    finally:
        redeliverer.close()
    assert not redeliverer.errors, redeliverer.errors

    for person in requesters:
        original, _changes, body, _approver = plan[person.id]
        name = person.display_name
        assert bot.request_statuses(person.id) == ["reverted"], name
        assert len(puts(emu, person, body)) == 1, f"{name}: the intercept was not PUT exactly once"
        assert len(puts(emu, person, put_body(original))) == 1, f"{name}: the revert was not PUT exactly once"
        assert len(puts(emu, person)) == 2, f"{name}: other PUTs"
        assert emu.get_intercept(person.id) == original, name
        assert len(posted_cards(emu, people, "until.date", person=person)) == 1, f"{name}: forms sent"
        for asked in approvers:
            assert len(posted_cards(emu, people, "comment", person=asked, containing=name)) == 1, \
                f"{name}: approval cards sent to {asked.display_name}"
        assert len(posted_cards(emu, people, "comment", room_id=room, containing=name)) == 1, \
            f"{name}: approval cards sent to the approval space"
        said = texts_to(chat, chat.direct_room(person))
        for once in ("Sent for approval", "now intercepted until", "previous call settings are back"):
            assert sum(once in text for text in said) == 1, f"{name}: {once!r} said {said}"

    # each event was stored once: one delivery of it was accepted (202), every other copy was
    # answered as a duplicate (or, for the bot's own messages, dropped)
    copies: dict[bytes, list[int | None]] = {}
    for delivery in emu.deliveries:
        copies.setdefault(bytes(delivery.body), []).append(delivery.status)
    own = 0
    for body, statuses in copies.items():
        assert len(statuses) >= 3, f"an event was not delivered three times: {statuses}"
        if json.loads(body)["actorId"] == people.bot.id:
            own += 1
            assert set(statuses) == {200}, statuses
        else:
            assert sorted(statuses) == [200] * (len(statuses) - 1) + [202], statuses
    stored = bot.db("SELECT count(*), sum(CASE WHEN status = 'done' THEN 1 ELSE 0 END) FROM webhook_inbox")[0]
    assert stored == (len(copies) - own, len(copies) - own)
    report(f"every event three times: {len(requesters)} requests, {len(copies)} events "
           f"({len(copies) - own} from people, {own} the bot's own), {redeliverer.sent} redeliveries (seed {seed})")
