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
