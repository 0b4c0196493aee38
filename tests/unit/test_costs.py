"""What one approval click costs: store calls (at most 12, and the request read once) and Webex
calls, counted with counting stand-ins around the in-memory stores and the fake Webex. The
numbers are printed (`pytest -s tests/unit/test_costs.py`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import fields
from typing import Any

from bot.domain.model import Status
from bot.domain.stores import Stores
from tests.unit.fakes import ALICE, BOB, World

SUBMIT = {"intent": "submit", "incoming.type": "INTERCEPT_ALL", "incoming.voicemailEnabled": "false",
          "incoming.announcements.greeting": "DEFAULT", "outgoing.type": "INTERCEPT_ALL",
          "until.date": "2026-12-04", "until.time": "17:00"}


class Counting:
    """Every method call on `target` is counted as "<name>.<method>"; reads of a request by id too."""

    def __init__(self, target: Any, name: str, calls: Counter[str], reads: Counter[str]) -> None:
        self._target, self._name, self._calls, self._reads = target, name, calls, reads

    def __getattr__(self, attribute: str) -> Any:
        found = getattr(self._target, attribute)
        if not callable(found):
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[f"{self._name}.{attribute}"] += 1
            if self._name == "requests" and attribute == "get":
                self._reads[args[0]] += 1
            return found(*args, **kwargs)
        return counted


def counting_world() -> tuple[World, Counter[str], Counter[str], Counter[str]]:
    calls: Counter[str] = Counter()
    reads: Counter[str] = Counter()
    webex: Counter[str] = Counter()
    world = World()
    world.stores = Stores(**{f.name: Counting(getattr(world.stores, f.name), f.name, calls, reads)
                             for f in fields(Stores)})
    world.webex = Counting(world.webex, "webex", webex, Counter())  # type: ignore[assignment]
    world.service = world._service()
    return world, calls, reads, webex


def test_an_approval_click_costs_at_most_12_store_calls_and_reads_its_request_once(capsys: Any) -> None:
    world, calls, reads, webex = counting_world()
    world.say(ALICE, "intercept me until Friday")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT), SUBMIT)
    card = world.live_card("approval", Status.AWAITING_APPROVAL)
    calls.clear(), reads.clear(), webex.clear()

    world.click(BOB, card, {"intent": "approve"})
    cost, read, said = Counter(calls), Counter(reads), Counter(webex)

    assert world.requests.for_person("alice", [Status.ACTIVE]), "the click did not apply the intercept"
    with capsys.disabled():
        print(f"\napproval click: {cost.total()} store calls {dict(sorted(cost.items()))}; "
              f"reads of the request: {dict(read)}; {said.total()} Webex calls {dict(sorted(said.items()))}")
    assert cost.total() <= 12, cost
    assert all(count == 1 for count in read.values()), read
