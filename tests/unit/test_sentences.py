"""Sentences people write instead of "intercept me until Friday": out of office, leave, sick, appointments,
forwarding to a number, typing slips; and the ones that say not to, which never open a form."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain import intent
from bot.domain.commands import Command, Kind, parse_command
from bot.domain.model import Status
from tests.unit.fakes import ALICE, BOB, World
from tests.unit.test_two_readings import _form, _inputs

BOT = ("Intercept Bot", "Intercept")


@pytest.mark.parametrize(("sentence", "rest"), [
    ("I'm on vacation next week", "next week"),
    ("OOO till Monday", "till Monday"),
    ("out of office until Monday 9am", "until Monday 9am"),
    ("out sick today", "today"),
    ("I'm off tomorrow", "tomorrow"),
    ("gone for the day", "for the day"),
    ("stepping out for an hour", "for an hour"),
    ("on leave from the 14th to the 18th", "from the 14th to the 18th"),
    ("I need my phone intercepted until Monday morning", "until Monday morning"),
    ("Offline for the next 2 hours, please intercept", "for the next 2 hours"),
    ("I need an intercept on my line till Tuesday", "till Tuesday"),
    ("intercpet me til wednesday", "til wednesday"),
    ("pls intercept me till 2moro", "till tomorrow"),
    ("I'm taking Monday off", "Monday"),
    ("dentist tomorrow 9-11", "tomorrow 9-11"),
    ("in a meeting for 90 minutes, hold my calls", "for 90 minutes"),
    ("Next week: vacation. Intercept please", "Next week"),
    ("I'm off sick today and tomorrow", "today and tomorrow"),
    ("please take my phone out of service until Thursday 8am", "until Thursday 8am"),
    ("Good morning, I'll be flying to Seattle for our planning offsite so I'll be offline from tomorrow until "
     "Friday; please intercept my desk phone and let callers leave a voicemail.", "from tomorrow until Friday"),
    ("I'm travelling 13-15 July, intercept my phone please", "13-15 July"),
    ("Out next week - intercept me", "next week"),
])
def test_saying_you_will_be_away_asks_for_an_intercept_with_the_time_in_the_sentence(sentence: str,
                                                                                     rest: str) -> None:
    assert parse_command(sentence, BOT) == Command(Kind.INTERCEPT, rest), sentence


@pytest.mark.parametrize(("sentence", "rest", "number"), [
    ("please forward my calls to +49 30 1234567 until Friday", "until Friday", "+49301234567"),
    ("intercept my calls until Tuesday 8am, send them to extension 3101", "until Tuesday 8am", "3101"),
    ("forward my calls to (212) 555-0147 until Friday", "until Friday", "2125550147"),
    ("sick today, calls to my deputy at +44 161 496 0000 please", "today", "+441614960000"),
    ("forward my calls to extension 3101", "", "3101"),
    ("please intercept me tomorrow and transfer callers to extension 88", "tomorrow", "88"),
    ("Out next week - intercept me and send calls to my backup, Dana, at 312-555-0182", "next week", "3125550182"),
    ("please intercept me until Friday and send everything to my colleague Marc on extension 4302", "until Friday",
     "4302"),
])
def test_a_number_the_sentence_sends_calls_to_comes_with_the_request(sentence: str, rest: str, number: str) -> None:
    assert parse_command(sentence, BOT) == Command(Kind.INTERCEPT, rest, number), sentence


@pytest.mark.parametrize("sentence", [
    "Please don't intercept my phone next week, I'll be in the office",
    "no need to intercept my phone tomorrow, plans changed",
    "never intercept my calls again",
    "I don't need an intercept",
    "no intercept this week please",
    "skip the intercept tomorrow, I'm coming in after all",
    "I'm not on vacation next week after all",
    "no need to forward my calls next week",
    "my colleague is on vacation until Friday",  # someone else
    "I was out sick yesterday",  # the past
    "I'm back from vacation!",
    "the intercept worked great, thanks",
    "have a nice weekend!",
    "my intercept last week worked perfectly, thanks",  # the past
    "Last Friday I forgot to set an intercept, oops",
    "Could you intercept Pierre's phone until Friday?",  # someone else's phone: not from chat
    "Tom's on leave tomorrow",
])
def test_a_sentence_that_says_not_to_or_is_not_about_being_away_opens_no_form(sentence: str) -> None:
    assert parse_command(sentence, BOT).kind is not Kind.INTERCEPT, sentence


@pytest.mark.parametrize(("sentence", "kind", "rest"), [
    ("change my intercept to end at noon", Kind.END_AT, "at noon"),
    ("shorten my intercept so it ends today at 6pm", Kind.END_AT, "today at 6pm"),
    ("stop intercepting my calls at 4pm", Kind.END_AT, "at 4pm"),
    ("withdraw my intercept request", Kind.CANCEL, ""),
    ("take me off intercept", Kind.CANCEL, ""),
    ("any news on my intercept request?", Kind.STATUS, ""),
    ("show me my intercept", Kind.STATUS, ""),
    ("what can you do?", Kind.HELP, ""),
    ("change the end of my intercept to Thursday", Kind.END_AT, "Thursday"),
    ("change the end time to noon tomorrow", Kind.END_AT, "noon tomorrow"),
    ("could I get another 30 mins on my intercept?", Kind.EXTEND, "another 30 mins"),
    ("meeting is running over, extend for 2 hours", Kind.EXTEND, "for 2 hours"),
    ("turn the intercept off please", Kind.CANCEL, ""),
    ("take the intercept off my phone", Kind.CANCEL, ""),
    ("stauts?", Kind.STATUS, ""),
    ("cancle my intercept pls", Kind.CANCEL, ""),
    ("hlep", Kind.HELP, ""),
    ("when will my phone be back to normal?", Kind.STATUS, ""),
    ("I'm new here, what does this bot do?", Kind.HELP, ""),
    ("what is call intercept?", Kind.HELP, ""),
    ("can you explain how to use this bot?", Kind.HELP, ""),
])
def test_commands_said_in_other_words(sentence: str, kind: Kind, rest: str) -> None:
    assert parse_command(sentence, BOT) == Command(kind, rest), sentence


def test_typing_slips_are_mended_word_by_word_and_real_words_are_left_alone() -> None:
    assert intent.fixed("intercpet me til 2moro") == "intercept me til tomorrow"
    assert intent.fixed("Interecpted until teh weekend") == "intercepted until the weekend"
    mended = "status cancel help extend canceled cancelled"
    assert intent.fixed("stauts cancle hlep extned canceled cancelled") == mended
    for word in ("internet", "interest", "interrupt", "intercom", "interpret", "inception", "states", "statue",
                 "extent", "cancer", "held", "hello", "helm"):
        assert intent.fixed(word) == word


def _values(world: World) -> dict[str, Any]:
    return _inputs(_form(world)[1])


def test_forwarding_to_a_number_prefills_the_new_number_and_the_zero_transfer_and_says_why() -> None:
    world = World()  # Wed 2 Dec 2026, 10:00 in Berlin
    world.say(ALICE, "please forward my calls to +49 30 1234567 until Friday")
    record, card = _form(world)
    values = _inputs(card)
    assert (values["until.date"], values["until.time"]) == ("2026-12-04", "23:59")
    assert values["incoming.announcements.newNumber.enabled"] == "true"
    assert values["incoming.announcements.newNumber.destination"] == "+49301234567"
    assert values["incoming.announcements.zeroTransfer.enabled"] == "true"
    assert values["incoming.announcements.zeroTransfer.destination"] == "+49301234567"
    assert any("those who press 0 go to it" in str(block.get("text", "")) for block in card["body"])
    world.click(ALICE, record, {**values, "intent": "submit"})
    world.click(BOB, world.live_card("approval", Status.AWAITING_APPROVAL), {"intent": "approve"})
    on = world.webex.settings["alice"]
    assert on.enabled and on.new_number_destination == "+49301234567" and on.zero_transfer_destination == "+49301234567"


def test_out_of_office_language_opens_the_form_with_the_window_and_a_negation_sends_none() -> None:
    world = World()  # Wed 2 Dec 2026, 10:00 in Berlin
    world.say(ALICE, "I'm on vacation next week")
    values = _values(world)
    assert (values["from.date"], values["from.time"], values["until.date"], values["until.time"]) == (
        "2026-12-07", "00:00", "2026-12-11", "23:59")
    forms = len([m for m in world.webex.sent if m["card"]])
    world.say(ALICE, "please don't intercept my phone next week, I'll be in the office")
    assert len([m for m in world.webex.sent if m["card"]]) == forms  # no new form
    assert world.live_card("form", Status.FORM_SENT)  # and the one out is still there


def test_line_breaks_and_runs_of_white_space_read_as_the_sentence_they_break() -> None:
    assert parse_command("intercept me\nuntil Friday", BOT) == Command(Kind.INTERCEPT, "until Friday")
    assert parse_command("OOO till Monday\r\n\r\nthanks", BOT) == Command(Kind.INTERCEPT, "till Monday")
    assert parse_command("intercept me until" + " " * 250 + "Friday", BOT) == Command(Kind.INTERCEPT, "until Friday")
    # a time word far in a long sentence is not cut off to read the start alone
    long = "intercept me until 5, " + "blah " * 20 + "on Friday"
    assert parse_command(long, BOT).rest != "until 5"
