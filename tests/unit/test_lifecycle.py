"""Apply, revert and their failures, on the real store with an in-process Webex: the cases that
must never lose or double an intercept, nor snapshot the intercepted settings."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import InterceptSettings, Status
from bot.domain.schedule import Work
from bot.domain.values import CardKind, Reason, Recipient
from tests.unit.fakes import ALICE, BOB, ORIGINAL, World, permanent, transient
from tests.unit.test_greeting import wav_bytes

BERLIN = ZoneInfo("Europe/Berlin")
SUBMIT = {"intent": "submit", "incoming.type": "INTERCEPT_ALL", "incoming.voicemailEnabled": "false",
          "incoming.announcements.greeting": "DEFAULT", "outgoing.type": "INTERCEPT_ALL"}


def test_approve_applies_with_the_snapshot_stored_first_and_the_end_reverts(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve()
    request = world.requests.get(request_id)
    assert request is not None and request.status is Status.ACTIVE
    assert request.snapshot == ORIGINAL
    assert world.webex.settings["alice"].enabled is True
    assert f"revert:{request_id}" in world.timers.jobs
    assert f"remind:{request_id}" in world.timers.jobs
    world.clock.at = request.end_at  # type: ignore[assignment]
    world.service.sweep()
    assert world.status(request_id) is Status.REVERTED
    assert world.webex.settings["alice"] == ORIGINAL
    assert len(world.webex.puts) == 2


def test_a_takeover_interrupted_between_its_writes_keeps_the_original_snapshot(tmp_path) -> None:
    world = World(tmp_path)
    first = world.request_and_approve(until="2026-12-03")
    # the process dies right after the takeover was stored
    world.timers.die_when(lambda r: r.status is Status.REPLACED, RuntimeError("the process died here"))
    try:
        second = world.request_and_approve(until="2026-12-05")
    except RuntimeError:
        second = world.requests.for_person("alice", [Status.APPLYING])[-1].id
    assert world.status(first) is Status.REPLACED
    world.service.sweep()  # the next round finishes the apply
    assert world.status(second) is Status.ACTIVE
    assert world.requests.get(second).snapshot == ORIGINAL  # type: ignore[union-attr]
    world.clock.advance(days=4)
    world.service.sweep()
    assert world.status(second) is Status.REVERTED
    assert world.webex.settings["alice"] == ORIGINAL


def test_a_second_request_while_one_is_on_takes_over_its_snapshot_and_timers(tmp_path) -> None:
    world = World(tmp_path)
    first = world.request_and_approve(until="2026-12-03")
    second = world.request_and_approve(until="2026-12-05", **{"incoming.voicemailEnabled": "true"})
    assert world.status(first) is Status.REPLACED
    assert world.requests.get(second).snapshot == ORIGINAL  # type: ignore[union-attr]
    assert f"revert:{first}" not in world.timers.jobs and f"revert:{second}" in world.timers.jobs
    world.clock.advance(days=1, hours=12)  # past the first one's end: nothing happens to it
    world.service.sweep()
    assert world.webex.settings["alice"].voicemail_enabled is True
    world.clock.advance(days=2)
    world.service.sweep()
    assert world.webex.settings["alice"] == ORIGINAL


def test_a_put_that_went_through_but_cannot_be_verified_is_undone(tmp_path) -> None:
    world = World(tmp_path)
    # GETs: when asked, when the form is sent, the snapshot, then the check after the PUT: it fails
    world.webex.faults["get"] = [None, None, None, permanent(401)]
    request_id = world.request_and_approve()
    assert world.status(request_id) is Status.FAILED
    assert world.webex.settings["alice"] == ORIGINAL  # put back, not left on
    assert not [job for job in world.timers.jobs if request_id in job]
    assert world.webex.said("could not be applied")


def test_an_apply_that_keeps_failing_is_given_up_and_undone(tmp_path) -> None:
    world = World(tmp_path)
    world.webex.faults["put"] = [transient()] * 6  # Webex keeps failing every PUT
    request_id = world.request_and_approve()
    assert world.status(request_id) is Status.APPLYING
    world.run_until_quiet()
    assert world.status(request_id) is Status.FAILED
    assert world.webex.settings["alice"] == ORIGINAL
    assert world.webex.said("could not be applied")


def test_a_put_refused_for_good_fails_without_a_needless_write(tmp_path) -> None:
    world = World(tmp_path)
    world.webex.faults["put"] = [permanent(400)]
    request_id = world.request_and_approve()
    assert world.status(request_id) is Status.FAILED
    assert world.webex.puts == []  # the undo found the settings unchanged
    assert world.webex.settings["alice"] == ORIGINAL


def test_a_takeover_that_fails_hands_the_intercept_back(tmp_path) -> None:
    world = World(tmp_path)
    first = world.request_and_approve(until="2026-12-03")
    world.webex.faults["put"] = [permanent(400)]
    second = world.request_and_approve(until="2026-12-05", **{"incoming.voicemailEnabled": "true"})
    assert world.status(second) is Status.FAILED
    assert world.status(first) is Status.ACTIVE
    assert f"revert:{first}" in world.timers.jobs
    world.clock.advance(days=2)
    world.service.sweep()
    assert world.status(first) is Status.REVERTED
    assert world.webex.settings["alice"] == ORIGINAL


def test_an_apply_resumed_after_its_put_went_through_does_not_put_again(tmp_path) -> None:
    world = World(tmp_path)
    world.webex.faults["get"] = [None, None, None, transient()]  # the PUT took; its check timed out
    request_id = world.request_and_approve()
    assert world.status(request_id) is Status.APPLYING
    world.run_until_quiet(sweeps=1)
    assert world.status(request_id) is Status.ACTIVE
    assert len(world.webex.puts) == 1  # read first: it was there already


def test_an_apply_waits_for_an_earlier_unfinished_one_of_the_same_person(tmp_path) -> None:
    world = World(tmp_path)
    world.webex.faults["get"] = [None, None, None, transient()]  # A's PUT took; its check timed out: A retries
    first = world.request_and_approve(until="2026-12-03")
    assert world.status(first) is Status.APPLYING
    second = world.request_and_approve(until="2026-12-05")
    assert world.status(second) is Status.APPLYING  # waits: it must not snapshot A's intercept
    assert world.requests.get(second).snapshot is None  # type: ignore[union-attr]
    world.run_until_quiet(sweeps=3)
    assert world.status(first) is Status.REPLACED and world.status(second) is Status.ACTIVE
    assert world.requests.get(second).snapshot == ORIGINAL  # type: ignore[union-attr]


def test_cancel_during_an_apply_undoes_it(tmp_path) -> None:
    world = World(tmp_path)
    world.webex.faults["get"] = [None, None, None, transient()]
    request_id = world.request_and_approve()
    assert world.status(request_id) is Status.APPLYING
    world.say(ALICE, "cancel")
    assert world.status(request_id) is Status.CANCELLED
    assert world.webex.settings["alice"] == ORIGINAL
    assert len(world.webex.said("previous call settings are back")) == 1  # told once
    world.run_until_quiet(sweeps=2)
    assert world.webex.settings["alice"] == ORIGINAL  # no retry turns it back on


def test_a_revert_that_keeps_failing_is_retried_and_approvers_hear_of_it_again(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve(until="2026-12-02", **{"until.time": "11:00"})
    world.webex.faults["put"] = [permanent(401)] * 12
    world.run_until_quiet(sweeps=17)  # about 5 before the end, then 12 failing attempts
    assert world.status(request_id) is Status.REVERTING
    alerts = world.webex.said("has failed")
    assert [a.split(" times")[0][-2:].strip() for a in alerts] == ["3", "6", "12"]
    world.run_until_quiet(sweeps=2)
    assert world.status(request_id) is Status.REVERTED
    assert world.webex.settings["alice"] == ORIGINAL


def test_settings_changed_by_someone_else_are_reported_once_and_overwritten(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve()
    changed = InterceptSettings(**{**world.webex.settings["alice"].__dict__, "outgoing_type": "ALLOW_LOCAL_ONLY"})
    world.webex.settings["alice"] = changed
    world.clock.advance(days=3)
    world.service.sweep()
    assert world.status(request_id) is Status.REVERTED
    assert world.webex.settings["alice"] == ORIGINAL
    assert len(world.webex.said("someone else changed")) == 1


def test_a_revert_that_only_failed_its_check_does_not_cry_wolf(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve()
    world.webex.faults["get"] = [None, transient()]  # before-GET ok, PUT ok, the check fails
    world.clock.advance(days=3)
    world.service.sweep()
    assert world.status(request_id) is Status.REVERTING
    world.run_until_quiet(sweeps=2)
    assert world.status(request_id) is Status.REVERTED
    assert world.webex.said("someone else changed") == []
    assert len(world.webex.puts) == 2  # the retry found the settings restored already


def test_approvers_not_reached_are_asked_again_by_the_sweep(tmp_path) -> None:
    world = World(tmp_path)
    world.say(ALICE, "intercept me until Friday")
    form = world.live_card("form")
    world.webex.faults["send"] = [transient()]  # Bob's card does not go (the news after it does)
    world.click(ALICE, form, {"intent": "submit", "incoming.type": "INTERCEPT_ALL",
                              "incoming.announcements.greeting": "DEFAULT", "outgoing.type": "INTERCEPT_ALL",
                              "until.date": "2026-12-04"})
    request = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    assert world.cards.for_request(request.id, CardKind.APPROVAL) == []
    world.service.sweep()
    assert [c.recipient for c in world.cards.for_request(request.id, CardKind.APPROVAL)] == [
        Recipient.approver("bob@example.com")]
    world.service.sweep()
    assert len(world.cards.for_request(request.id, CardKind.APPROVAL)) == 1  # asked once


def test_a_request_nobody_else_can_approve_is_not_left_waiting(tmp_path) -> None:
    world = World(tmp_path, approvers=frozenset({"alice@example.com"}))
    world.say(ALICE, "intercept me until Friday")
    world.click(ALICE, world.live_card("form"), {"intent": "submit", "incoming.type": "INTERCEPT_ALL",
                                                 "incoming.announcements.greeting": "DEFAULT",
                                                 "outgoing.type": "INTERCEPT_ALL", "until.date": "2026-12-04"})
    assert world.requests.for_person("alice", [Status.FORM_SENT])  # the form stays; nothing waits in vain
    assert world.requests.for_person("alice", [Status.AWAITING_APPROVAL]) == []
    assert world.webex.said("nobody but you to approve")


def test_extend_later_asks_again_and_takes_over_earlier_is_at_once(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve()
    world.say(ALICE, "extend until 2026-12-06 12:00")
    extension = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    assert extension.extends_id == request_id
    assert world.webex.said("asked the approvers to extend")
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    assert world.status(request_id) is Status.REPLACED and world.status(extension.id) is Status.ACTIVE
    assert world.requests.get(extension.id).snapshot == ORIGINAL  # type: ignore[union-attr]
    world.say(ALICE, "extend until 2026-12-05 08:00")  # earlier is not an extension: nothing changes
    assert world.webex.said("would not extend it")
    assert world.requests.get(extension.id).end_at == world.clock.now().replace(day=6, hour=11)  # type: ignore[union-attr]
    world.say(ALICE, "end my intercept at 2026-12-05 08:00")  # asked to end earlier: no approval needed
    shortened = world.requests.get(extension.id)
    assert shortened is not None and shortened.end_at == world.clock.now().replace(day=5, hour=7)
    assert world.timers.jobs[f"revert:{extension.id}"] == shortened.end_at
    assert world.timers.jobs[f"remind:{extension.id}"] == shortened.end_at - timedelta(minutes=15)


def test_the_reminder_offers_end_now_and_extend(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve()
    world.service.changes.remind(world.requests.get(request_id))
    world.service.changes.remind(world.requests.get(request_id))  # once only
    reminder = world.live_card("reminder")
    assert len([c for c in world.cards.for_request(request_id, CardKind.REMINDER)]) == 1
    world.click(BOB, reminder, {"intent": "end"})
    assert world.status(request_id) is Status.ACTIVE  # not Bob's to end
    world.click(ALICE, reminder, {"intent": "extend", "until.date": "2026-12-05", "until.time": "09:00"})
    assert world.requests.for_person("alice", [Status.AWAITING_APPROVAL])
    world.service.changes.remind(world.requests.get(request_id))  # reminded once: the card is not sent again
    assert len(world.cards.for_request(request_id, CardKind.REMINDER)) == 1
    world.say(ALICE, "end now")
    assert world.status(request_id) is Status.REVERTED
    assert world.webex.settings["alice"] == ORIGINAL


def test_ending_an_intercept_early_answers_once(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve()
    before = len(world.webex.sent)
    world.say(ALICE, "end now")
    assert world.status(request_id) is Status.REVERTED
    assert [m["markdown"] for m in world.webex.sent[before:] if m["room"] == "dm-alice"] == [
        "Your intercept has ended and your previous call settings are back."]
    assert world.webex.said("Alice Adler ended their intercept early.")  # the approvers are told
    world.say(ALICE, "cancel")
    assert world.webex.sent[-1]["markdown"] == "You have nothing to cancel."


def test_an_extension_whose_intercept_ended_first_is_withdrawn_and_never_turns_it_back_on(tmp_path) -> None:
    world = World(tmp_path)
    first = world.request_and_approve(until="2026-12-02")  # until 17:00 Berlin
    world.say(ALICE, "extend until 2026-12-05 12:00")
    extension = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    card = world.live_card("approval", Status.AWAITING_APPROVAL)
    world.clock.advance(hours=8)  # the intercept ends before anyone approves the extension
    world.service.sweep()
    assert world.status(first) is Status.REVERTED
    assert world.status(extension.id) is Status.EXPIRED
    assert not [c for c in world.cards.for_request(extension.id, CardKind.APPROVAL) if c.live]  # cards closed
    assert world.webex.said("request to extend your intercept was withdrawn")
    puts = len(world.webex.puts)
    world.click(BOB, card, {"intent": "approve"})  # a click on the old card changes nothing
    world.run_until_quiet(sweeps=3)
    assert len(world.webex.puts) == puts
    assert world.webex.settings["alice"] == ORIGINAL


def test_an_approval_racing_the_end_of_the_extended_intercept_applies_nothing(tmp_path) -> None:
    world = World(tmp_path)
    first = world.request_and_approve()
    world.say(ALICE, "extend until 2026-12-06 12:00")
    extension = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    world.service.lifecycle.end_now(world.requests.get(first), "alice")  # a path that does not look at extensions
    puts = len(world.webex.puts)
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    assert world.status(extension.id) is Status.EXPIRED
    assert world.webex.said("nothing to extend")
    assert len(world.webex.puts) == puts and world.webex.settings["alice"] == ORIGINAL


def test_an_approved_extension_is_not_applied_once_its_intercept_is_gone(tmp_path) -> None:
    world = World(tmp_path)
    first = world.request_and_approve()
    world.say(ALICE, "extend until 2026-12-06 12:00")
    extension = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    world.requests.move(extension.id, Status.AWAITING_APPROVAL, Status.APPROVED, now=world.clock.now(),
                        reason=Reason.DECIDED)
    # a crash came between the approval and its apply
    world.service.lifecycle.end_now(world.requests.get(first), "alice")
    puts = len(world.webex.puts)
    world.service.run(Work.APPLY, extension.id)
    assert world.status(extension.id) is Status.EXPIRED
    assert len(world.webex.puts) == puts


def test_shortening_withdraws_a_waiting_extension_and_the_same_end_changes_nothing(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve(until="2026-12-04")
    world.say(ALICE, "extend until 2026-12-06 12:00")
    extension = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    world.say(ALICE, "end it on 2026-12-03 15:00")  # earlier: done at once, and it is the latest word
    assert world.status(extension.id) is Status.CANCELLED
    assert not [c for c in world.cards.for_request(extension.id, CardKind.APPROVAL) if c.live]
    end = world.requests.get(request_id).end_at  # type: ignore[union-attr]
    before = len(world.webex.sent)
    world.say(ALICE, "extend until 2026-12-03 15:00")
    assert world.webex.said("ends Thu 3 Dec 15:00 Europe/Berlin already")
    assert world.requests.get(request_id).end_at == end  # type: ignore[union-attr]
    assert not world.requests.for_person("alice", [Status.AWAITING_APPROVAL])
    assert len(world.webex.sent) == before + 1  # the answer only: approvers are not told of a change


def test_an_extension_leaves_a_request_for_later_alone(tmp_path) -> None:
    world = World(tmp_path)
    world.request_and_approve(until="2026-12-03")
    world.say(ALICE, "intercept me next week")
    form = world.live_card("form", Status.FORM_SENT)
    world.click(ALICE, form, {**SUBMIT,
                                                            "from.date": "2026-12-07", "from.time": "00:00",
                              "until.date": "2026-12-11", "until.time": "23:59"})
    later = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    assert world.status(later.id) is Status.APPROVED
    world.say(ALICE, "extend until 2026-12-03 20:00")
    world.service.sweep()
    assert world.status(later.id) is Status.APPROVED  # still planned for next week
    assert len(world.requests.for_person("alice", [Status.AWAITING_APPROVAL])) == 1


def test_no_reminder_for_an_intercept_shorter_than_the_reminder(tmp_path) -> None:
    world = World(tmp_path)
    world.say(ALICE, "intercept me for 10 minutes")
    form = world.live_card("form", Status.FORM_SENT)
    end = world.clock.now() + timedelta(minutes=10)
    world.click(ALICE, form, {**SUBMIT,
                                                            "until.date": f"{end.astimezone(BERLIN):%Y-%m-%d}",
                              "until.time": f"{end.astimezone(BERLIN):%H:%M}"})
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    request = world.requests.for_person("alice", [Status.ACTIVE])[-1]
    world.service.sweep()
    assert world.cards.for_request(request.id, CardKind.REMINDER) == []
    assert f"remind:{request.id}" not in world.timers.jobs


def test_two_extensions_at_once_leave_the_newer_waiting(tmp_path) -> None:
    world = World(tmp_path)
    world.request_and_approve()
    world.say(ALICE, "extend until 2026-12-06 12:00")
    world.say(ALICE, "extend until 2026-12-07 12:00")
    waiting = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])
    assert len(waiting) == 1 and waiting[0].end_at == world.clock.now().replace(day=7, hour=11)


def test_the_sweep_cancels_a_request_a_newer_one_replaced(tmp_path, monkeypatch) -> None:
    world = World(tmp_path)
    older = world.request_and_approve(approve=False)
    # lost to a crash
    monkeypatch.setattr(world.service.approval, "cancel_superseded", lambda person_id, keep=None: None)
    world.clock.advance(minutes=5)
    newer = world.request_and_approve(approve=False, until="2026-12-05")
    assert world.status(older) is Status.AWAITING_APPROVAL
    monkeypatch.undo()
    world.service.sweep()
    assert world.status(older) is Status.CANCELLED and world.status(newer) is Status.AWAITING_APPROVAL


def test_extend_by_a_duration_adds_to_the_end_and_never_shortens(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve(until="2026-12-04")  # Fri 4 Dec 23:59 Berlin
    end = world.requests.get(request_id).end_at  # type: ignore[union-attr]
    world.say(ALICE, "extend for 2 hours")  # from the end, not from now: a later end, so approvers decide
    extension = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    assert extension.end_at == end + timedelta(hours=2)
    assert world.status(request_id) is Status.ACTIVE
    assert world.requests.get(request_id).end_at == end  # type: ignore[union-attr]


def test_end_it_at_a_time_sets_a_new_end_instead_of_ending_now(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve(until="2026-12-04")
    world.say(ALICE, "end my intercept at 5pm")  # Wed 10:00 Berlin now: today 17:00, earlier than Friday
    request = world.requests.get(request_id)
    assert request is not None and request.status is Status.ACTIVE
    assert request.end_at == world.clock.now().replace(hour=16)  # 17:00 Berlin = 16:00 UTC
    assert world.webex.said("now ends Wed 2 Dec 17:00 Europe/Berlin")
    world.say(ALICE, "can you end my intercept at blorp o'clock?")
    assert world.status(request_id) is Status.ACTIVE
    assert world.webex.said("end now")
    world.say(ALICE, "I'm back, please end my intercept")
    assert world.status(request_id) is Status.REVERTED
    assert world.webex.settings["alice"] == ORIGINAL


def test_a_late_click_on_an_applied_extension_is_told_who_decided(tmp_path) -> None:
    world = World(tmp_path)
    world.request_and_approve()
    world.say(ALICE, "extend until 2026-12-06 12:00")
    card = world.live_card("approval", Status.AWAITING_APPROVAL)
    world.click(BOB, card, {"intent": "approve"})
    before = len(world.webex.sent)
    world.click(BOB, card, {"intent": "reject"})
    replies = [m["markdown"] for m in world.webex.sent[before:]]
    assert replies and not any("nothing to extend" in r for r in replies), replies
    assert any("Already approved by you" in r for r in replies), replies  # his own decision, seen again


def test_an_extension_waits_while_a_takeover_may_still_hand_its_intercept_back(tmp_path) -> None:
    world = World(tmp_path)
    first = world.request_and_approve(until="2026-12-04")
    world.say(ALICE, "extend until 2026-12-06 12:00")
    extension = world.requests.for_person("alice", [Status.AWAITING_APPROVAL])[-1]
    world.say(ALICE, "intercept me until Saturday")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT),
                {**SUBMIT, "incoming.voicemailEnabled": "true", "until.date": "2026-12-05"})
    newer = [r for r in world.requests.for_person("alice", [Status.AWAITING_APPROVAL]) if not r.extends_id][-1]
    world.webex.faults["put"] = [transient("put")]
    card = [c for c in world.cards.for_request(newer.id, CardKind.APPROVAL) if c.live][-1]
    world.click(BOB, card, {"intent": "approve"})
    world.service.sweep()  # the takeover waits for its retry: the first intercept is REPLACED meanwhile
    assert world.status(extension.id) is Status.AWAITING_APPROVAL
    world.webex.faults["put"] = [permanent(400, "put")]
    world.run_until_quiet(sweeps=3)
    assert world.status(first) is Status.ACTIVE  # handed back
    assert world.status(extension.id) is Status.AWAITING_APPROVAL  # and its extension still stands


def test_a_status_cards_button_acts_only_on_what_the_card_showed(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve(approve=False)
    world.say(ALICE, "status")  # shows the request waiting: "Cancel my request"
    waiting_card = world.live_card("status", Status.AWAITING_APPROVAL)
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    world.say(ALICE, "status")  # now shows the intercept on: "End now"
    on_card = world.live_card("status", Status.ACTIVE)
    world.click(ALICE, waiting_card, {"intent": "cancel"})  # approved since: explained, nothing ended
    assert world.status(request_id) is Status.ACTIVE
    assert world.webex.said("That request is on now, until")
    world.say(ALICE, "end now")
    world.request_and_approve(until="2026-12-05")  # a second intercept goes on
    second = world.requests.for_person("alice", [Status.ACTIVE])[-1]
    world.click(ALICE, on_card, {"intent": "end"})  # the card showed the first one, which has ended
    assert world.status(second.id) is Status.ACTIVE
    assert world.webex.said("ended, previous settings restored now")


def test_the_requester_hears_who_approved_and_their_comment(tmp_path) -> None:
    world = World(tmp_path)
    world.request_and_approve(approve=False)
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve", "comment": "Enjoy!"})
    assert world.webex.said("Approved by Bob")
    assert world.webex.said("Comment: “Enjoy\\!” Your phone is now intercepted until")


def test_a_greeting_the_bot_uploaded_before_may_be_replaced_one_an_admin_set_may_not(tmp_path) -> None:
    world = World(tmp_path)
    world.say(ALICE, "intercept me until Friday", file=("first.wav", wav_bytes(1.0)))
    world.click(ALICE, world.live_card("form", Status.FORM_SENT),
                {**SUBMIT, "incoming.announcements.greeting": "CUSTOM", "until.date": "2026-12-04"})
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    world.say(ALICE, "end now")
    assert world.webex.uploads == ["first.wav"] and world.webex.settings["alice"].file_name == "first.wav"
    world.say(ALICE, "intercept me until Friday", file=("second.wav", wav_bytes(1.0)))  # the bot's own: replaced
    request = world.requests.for_person("alice", [Status.FORM_SENT])[-1]
    assert request.greeting_file == "second.wav"
    world.webex.settings["alice"] = dataclasses.replace(ORIGINAL, file_name="from-control-hub.wav")
    world.say(ALICE, "intercept me until Monday", file=("third.wav", wav_bytes(1.0)))  # an admin's: kept
    assert world.webex.said("You already have a custom intercept greeting on Webex (from\\-control\\-hub\\.wav)")


def test_a_request_no_approver_could_be_asked_about_ends_at_once_and_says_so(tmp_path) -> None:
    world = World(tmp_path, approvers=frozenset({"nobody@unknown.invalid"}))
    world.say(ALICE, "intercept me until Friday")
    world.click(ALICE, world.live_card("form", Status.FORM_SENT), {**SUBMIT, "until.date": "2026-12-04"})
    request = world.requests.for_person("alice", list(Status))[-1]
    assert request.status is Status.EXPIRED
    assert world.webex.said("I could not send your request to any approver")
    assert not world.webex.said("Sent for approval")
    world.service.sweep()  # nothing is tried again, nothing else is said
    assert len(world.webex.said("I could not send your request to any approver")) == 1


def test_pending_moves_an_approvers_card_down_instead_of_doubling_it(tmp_path) -> None:
    world = World(tmp_path)
    request_id = world.request_and_approve(approve=False)
    world.say(BOB, "pending")
    world.say(BOB, "pending")
    live = [c for c in world.cards.for_request(request_id, CardKind.APPROVAL) if c.live]
    assert len(live) == 1 and live[0].recipient == Recipient.approver("bob@example.com")
    world.service.sweep()  # Bob counts as asked: no card comes back
    assert len([c for c in world.cards.for_request(request_id, CardKind.APPROVAL) if c.live]) == 1
    world.click(BOB, live[0], {"intent": "approve"})
    assert world.status(request_id) is Status.ACTIVE
