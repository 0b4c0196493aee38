"""Putting user text into Webex markdown and cards safely.

Webex renders message markdown (and Adaptive Card TextBlocks render a markdown subset): a reason
or a name full of `*`, `[link](...)`, `<@personEmail:...>` mentions or HTML must show as typed and
never format, link or mention anyone. Webex also caps a message's text at 7,439 bytes.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.model import Request, Status
from bot.domain.timeparse import describe

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


# ------------------------------------------------------------------ how a request's times are told


def when(at: datetime | None, request: Request) -> str:
    """A moment in the request's own zone, e.g. 'Fri 4 Dec 17:00 Europe/Berlin'."""
    return describe(at.astimezone(ZoneInfo(request.zone))) if at is not None else "(no end)"


def span(request: Request) -> str:
    """From when until when, e.g. 'as soon as it is approved, until Fri 4 Dec 17:00 Europe/Berlin'."""
    until = when(request.end_at, request)
    if request.applied_at is not None and request.status in (Status.ACTIVE, Status.REVERTING):
        return f"since {when(request.applied_at, request)}, until {until}"
    if request.start_at is None and request.lasts is not None:
        return f"as soon as it is approved, for {request.lasts.words()}"
    if request.start_at is None:
        return f"as soon as it is approved, until {until}"
    return f"from {when(request.start_at, request)} until {until}"
