"""Putting user text into Webex markdown and cards safely.

Webex renders message markdown (and Adaptive Card TextBlocks render a markdown subset): a reason
or a name full of `*`, `[link](...)`, `<@personEmail:...>` mentions or HTML must show as typed and
never format, link or mention anyone. Webex also caps a message's text at 7,439 bytes.
"""

from __future__ import annotations

import re

WEBEX_TEXT_LIMIT = 7439  # bytes, for `text` and for `markdown`
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def escape_markdown(text: str) -> str:
    """User text as literal markdown: specials backslash-escaped, `<`, `>` and `&` as entities
    (so `<@personEmail:x>` cannot mention anyone), line breaks folded to spaces."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def escape_card_text(text: str) -> str:
    """User text for an Adaptive Card TextBlock: markdown specials escaped, `{{` broken so the
    card's DATE()/TIME() functions cannot be triggered, `<@` broken so no client reads a mention.
    Line breaks are kept (as paragraph breaks)."""
    lines = [_MARKDOWN_SPECIAL.sub(r"\\\1", line) for line in text.splitlines()]
    joined = "\n\n".join(line for line in lines if line.strip())
    return joined.replace("{{", "{\u200b{").replace("<@", "<\u200b@")


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def quote_block(text: str, limit: int = 300) -> str:
    return "“" + escape_markdown(shorten(text, limit)) + "”"


def fit_message(markdown: str, limit: int = WEBEX_TEXT_LIMIT) -> str:
    """Cut a message to Webex's byte limit on a character boundary."""
    raw = markdown.encode()
    if len(raw) <= limit:
        return markdown
    cut = raw[: limit - len("…".encode())].decode(errors="ignore")
    return cut.rstrip("\\") + "…"
