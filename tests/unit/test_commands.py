from bot.domain.commands import Kind, parse_command

BOT = ("Intercept Bot", "Intercept")


def test_intercept_phrases_keep_the_time_part() -> None:
    assert parse_command("intercept me until Friday", BOT).rest == "until Friday"
    assert parse_command("Intercept Bot intercept me for 2 hours", BOT).rest == "for 2 hours"
    assert parse_command("please intercept me, from Monday until Friday!", BOT).rest == "from Monday until Friday!"
    assert parse_command("INTERCEPT", BOT).kind is Kind.INTERCEPT
    assert parse_command("intercept", BOT).rest == ""


def test_other_commands_tolerate_case_mentions_and_extra_words() -> None:
    assert parse_command("Intercept Bot status", BOT).kind is Kind.STATUS
    assert parse_command("  STATUS please", BOT).kind is Kind.STATUS
    assert parse_command("cancel", BOT).kind is Kind.CANCEL
    assert parse_command("end now", BOT).kind is Kind.CANCEL
    assert parse_command("Intercept help", BOT).kind is Kind.HELP
    assert parse_command("what can you do", BOT).kind is Kind.UNKNOWN
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
