"""What a chat message asks for: the command word and the rest of the sentence."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass


class Kind(enum.StrEnum):
    INTERCEPT = "intercept"
    STATUS = "status"
    CANCEL = "cancel"
    HELP = "help"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Command:
    kind: Kind
    rest: str = ""  # for INTERCEPT: the time phrase ("until Friday")


_INTERCEPT = re.compile(r"\bintercept\b(?:\s+me\b)?[\s,:;.!-]*(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_WORDS = (
    (Kind.CANCEL, re.compile(r"^(?:please\s+)?(?:cancel|end(?:\s+it)?\s+now|stop)\b", re.IGNORECASE)),
    (Kind.STATUS, re.compile(r"^(?:what'?s\s+(?:my\s+)?)?status\b", re.IGNORECASE)),
    (Kind.HELP, re.compile(r"^(?:help|\?|hi|hello)\b", re.IGNORECASE)),
)
_LEADING_JUNK = re.compile(r"^[\s@,:;.!-]+")


def parse_command(text: str, bot_names: Iterable[str] = ()) -> Command:
    """Read a message's text. In a group space Webex puts the bot's name where it was mentioned:
    `bot_names` (display name, first name) are stripped from the start when that leaves a command."""
    words = _LEADING_JUNK.sub("", text or "").strip()
    for name in sorted((n for n in bot_names if n), key=len, reverse=True):
        if words.lower().startswith(name.lower()):
            command = _read(_LEADING_JUNK.sub("", words[len(name):]).strip())
            if command.kind is not Kind.UNKNOWN:
                return command
    return _read(words)


def _read(words: str) -> Command:
    for kind, pattern in _WORDS:
        if pattern.search(words):
            return Command(kind)
    match = _INTERCEPT.search(words)
    if match:
        return Command(Kind.INTERCEPT, match["rest"].strip())
    return Command(Kind.UNKNOWN, words)
