import pytest

from bot.domain.commands import Command, Kind, parse_command

BOT = ("Intercept Bot", "Intercept")


def test_intercept_phrases_keep_the_time_part() -> None:
    assert parse_command("intercept me until Friday", BOT).rest == "until Friday"
    assert parse_command("Intercept Bot intercept me for 2 hours", BOT).rest == "for 2 hours"
    assert parse_command("please intercept me, from Monday until Friday!", BOT).rest == "from Monday until Friday"
    assert parse_command("INTERCEPT", BOT).kind is Kind.INTERCEPT
    assert parse_command("intercept", BOT).rest == ""


def test_other_commands_tolerate_case_mentions_and_extra_words() -> None:
    assert parse_command("Intercept Bot status", BOT).kind is Kind.STATUS
    assert parse_command("  STATUS please", BOT).kind is Kind.STATUS
    assert parse_command("cancel", BOT).kind is Kind.CANCEL
    assert parse_command("end now", BOT).kind is Kind.CANCEL
    assert parse_command("Intercept help", BOT).kind is Kind.HELP
    assert parse_command("what can you do", BOT).kind is Kind.HELP
    assert parse_command("", BOT).kind is Kind.UNKNOWN


def test_a_bot_whose_name_starts_with_the_command_word_still_understands_it() -> None:
    command = parse_command("intercept me until Friday", BOT)
    assert command.kind is Kind.INTERCEPT
    assert command.rest == "until Friday"
    assert parse_command("Intercept intercept me until Friday", BOT).rest == "until Friday"


def test_extend_and_the_approver_commands() -> None:
    assert parse_command("extend until Monday 9am", BOT) == parse_command("Intercept Bot extend until Monday 9am", BOT)
    assert parse_command("extend until Monday 9am", BOT).kind is Kind.EXTEND
    assert parse_command("please extend it to Friday.", BOT).rest == "to Friday."
    assert parse_command("Pending", BOT).kind is Kind.PENDING
    assert parse_command("show active", BOT).kind is Kind.ACTIVE
    assert parse_command("end my intercept now", BOT).kind is Kind.CANCEL


def test_greetings_and_everyday_phrasings() -> None:
    assert parse_command("Hi, intercept me until Friday", BOT).rest == "until Friday"
    assert parse_command("hello bot, please intercept me for 2 hours", BOT).rest == "for 2 hours"
    assert parse_command("hi", BOT).kind is Kind.HELP
    assert parse_command("Hello there!", BOT).kind is Kind.HELP
    assert parse_command("help me please", BOT).kind is Kind.HELP
    for phrase in ("end intercept", "stop intercepting me", "turn off my intercept", "end my intercept now"):
        assert parse_command(phrase, BOT).kind is Kind.CANCEL, phrase
    for phrase in ("is my intercept on?", "am I intercepted?", "what is my status"):
        assert parse_command(phrase, BOT).kind is Kind.STATUS, phrase
    # an end time is not a cancel
    assert parse_command("intercept me and end at 5pm", BOT).kind is Kind.INTERCEPT


def test_sentences_about_an_intercept_that_is_on_never_open_a_new_form() -> None:
    for phrase in ("can you cancel my intercept?", "I'm back, please end my intercept", "I want to cancel my intercept",
                   "could you stop intercepting me", "cancel it, I'm back today"):
        assert parse_command(phrase, BOT).kind is Kind.CANCEL, phrase
    for phrase in ("what's the status of my intercept?", "when does my intercept end?", "Is my intercept still on",
                   "what’s my status?", "when will you intercept me?"):
        assert parse_command(phrase, BOT).kind is Kind.STATUS, phrase
    assert parse_command("can you extend my intercept until Friday?", BOT) == Command(Kind.EXTEND, "until Friday?")
    assert parse_command("extend the intercept by 2 hours", BOT) == Command(Kind.EXTEND, "by 2 hours")


def test_an_end_with_a_time_after_it_is_a_new_end_not_an_end_now() -> None:
    assert parse_command("end my intercept at 5pm", BOT) == Command(Kind.END_AT, "at 5pm")
    assert parse_command("stop intercepting me at 5pm", BOT) == Command(Kind.END_AT, "at 5pm")
    assert parse_command("end my intercept tomorrow at 17:00", BOT) == Command(Kind.END_AT, "tomorrow at 17:00")
    assert parse_command("cancel my intercept on Friday", BOT) == Command(Kind.END_AT, "on Friday")
    assert parse_command("end it in 2 hours", BOT) == Command(Kind.END_AT, "in 2 hours")
    for phrase in ("end of day", "end of week"):  # a time, typed on its own: not a command to end anything
        assert parse_command(phrase, BOT).kind is Kind.UNKNOWN, phrase


def test_a_request_is_a_request_even_as_a_question_or_after_the_bots_name() -> None:
    assert parse_command("Is it possible to intercept me until Friday?", BOT) == Command(Kind.INTERCEPT,
                                                                                         "until Friday")
    assert parse_command("Hey Intercept Bot, intercept me until Friday", BOT).rest == "until Friday"
    assert parse_command("intercept me until Friday, then remove it", BOT).kind is Kind.INTERCEPT
    # the word in the bot's name, or in passing, is not a request
    for phrase in ("Intercept Bot thanks!", "Intercept Bot blah", "thanks for the intercept"):
        assert parse_command(phrase, BOT).kind is Kind.UNKNOWN, phrase


def test_negations_and_questions_never_end_anything() -> None:
    for phrase in ("don't cancel my intercept", "No, don't end it", "please do not stop my intercept"):
        assert parse_command(phrase, BOT).kind in (Kind.UNKNOWN, Kind.STATUS), phrase
    for phrase in ("did you cancel my intercept?", "why did you end my intercept?", "when will you end my intercept?"):
        assert parse_command(phrase, BOT).kind is Kind.STATUS, phrase
    for phrase in ("how do I end my intercept early?", "can I cancel my request?"):
        assert parse_command(phrase, BOT).kind is Kind.HELP, phrase
    assert parse_command("I don't need it anymore, cancel my intercept", BOT).kind is Kind.CANCEL


def test_naming_which_request_to_cancel_cancels_it() -> None:
    for phrase in ("cancel my request for tomorrow", "cancel tomorrow's intercept", "cancel the one for Monday"):
        assert parse_command(phrase, BOT).kind is Kind.CANCEL, phrase


@pytest.mark.parametrize("names", [BOT, ("Helper", "Helper")])
def test_every_way_of_asking_opens_the_form_whatever_the_bot_is_called(names: tuple[str, str]) -> None:
    for phrase, rest in (("intercept Monday to Friday", "Monday to Friday"), ("intercept Friday", "Friday"),
                         ("intercept 2 hours", "2 hours"), ("I'd like an intercept until Friday", "until Friday"),
                         ("turn on my intercept", ""), ("enable intercept until Friday", "until Friday"),
                         ("Can I get an intercept until Friday?", "until Friday")):
        assert parse_command(phrase, names) == Command(Kind.INTERCEPT, rest), phrase
