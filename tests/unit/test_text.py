from bot.domain.text import WEBEX_TEXT_LIMIT, escape_card_text, escape_markdown, fit_message, shorten


def test_markdown_specials_mentions_and_html_show_as_typed() -> None:
    escaped = escape_markdown("**hi** [x](http://e) <@personEmail:a@b.c> <b>&")
    assert "<@" not in escaped and "<b>" not in escaped
    assert escaped.startswith("\\*\\*hi\\*\\*")
    assert "\\[x\\]\\(http://e\\)" in escaped
    assert "&amp;" in escaped


def test_card_text_cannot_call_template_functions() -> None:
    assert "{{" not in escape_card_text("{{DATE(2026-01-01T00:00:00Z)}}")


def test_messages_are_cut_to_the_webex_byte_limit_on_a_character_boundary() -> None:
    text = "ä" * 5000  # 10,000 bytes
    cut = fit_message(text)
    assert len(cut.encode()) <= WEBEX_TEXT_LIMIT
    assert cut.endswith("…")
    assert fit_message("short") == "short"


def test_shorten() -> None:
    assert shorten("abcdef", 4) == "abc…"
    assert shorten("abc", 4) == "abc"
