"""News from the audit log: told once, in order, and not lost when Webex does not answer."""

from __future__ import annotations

from bot.domain.announce import CURSOR, EARLIER_PROGRESS, Announcer
from bot.domain.model import Status
from tests.unit.fakes import ALICE, World, transient


def test_news_webex_did_not_take_is_told_at_the_next_flush(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve()
    world.clock.advance(days=3)
    world.webex.faults["send"] = [transient()]  # "your settings are back" does not go
    world.service.sweep()
    assert world.status(request_id) is Status.REVERTED
    assert world.webex.said("previous call settings are back") == []
    world.service.sweep()
    assert len(world.webex.said("previous call settings are back")) == 1


def test_a_message_that_keeps_failing_is_given_up_and_the_rest_is_told(tmp_path) -> None:
    world = World(tmp_path)
    world.say(ALICE, "intercept me until Friday")
    world.webex.faults["send"] = [transient()] * Announcer.TRIES
    world.click(ALICE, world.live_card("form"), {"intent": "cancel"})
    for _ in range(Announcer.TRIES):
        world.service.announcer.flush()
    assert world.webex.said("Cancelled: nothing was changed") == []  # given up after its tries
    world.say(ALICE, "intercept me until Friday")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT), {"intent": "cancel"})
    assert len(world.webex.said("Cancelled: nothing was changed")) == 1  # the next news is told


def test_each_row_is_told_once(tmp_path) -> None:
    world = World(tmp_path)
    world.request_and_approve()
    told = len(world.webex.sent)
    for _ in range(3):
        world.service.announcer.flush()
        world.service.sweep()
    assert len(world.webex.sent) == told
    assert int(world.stores.settings.get(CURSOR) or 0) == max(
        row.id for row, _request in world.stores.audit.after(0, 1000))


def test_a_row_an_earlier_version_stopped_telling_half_way_goes_on_where_it_stopped() -> None:
    world = World()
    world.request_and_approve()
    on = [row for row, _request in world.stores.audit.after(0, 1000) if row.target is Status.ACTIVE][-1]
    # as an earlier version left them: the row's first message went out, Webex refused the second
    world.stores.settings.set(CURSOR, str(on.id - 1))
    world.stores.settings.set(EARLIER_PROGRESS, f"{on.id}:1:1")
    requester, approvers = len(world.webex.said("now intercepted until")), len(world.webex.said("is on until"))
    world.restart()  # this version starts
    assert len(world.webex.said("now intercepted until")) == requester  # not again
    assert len(world.webex.said("is on until")) == approvers + 1  # the one that had not gone
    assert world.stores.settings.get(CURSOR) == str(max(row.id for row, _ in world.stores.audit.after(0, 1000)))
