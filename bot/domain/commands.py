"""What a chat message asks for: the command word and the rest of the sentence."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass


class Kind(enum.StrEnum):
    INTERCEPT = "intercept"
    EXTEND = "extend"
    STATUS = "status"
    CANCEL = "cancel"
    HELP = "help"
    PENDING = "pending"  # approvers: the requests waiting for a decision
    ACTIVE = "active"  # approvers: the intercepts that are on
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Command:
    kind: Kind
    rest: str = ""  # for INTERCEPT and EXTEND: the time phrase ("until Friday")


_INTERCEPT = re.compile(r"\bintercept\b(?:\s+me\b)?[\s,:;.!-]*(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_EXTEND = re.compile(r"^(?:please\s+)?(?:extend|prolong|lengthen)\b(?:\s+(?:it|me|my\s+intercept))?[\s,:;.!-]*"
                     r"(?P<rest>.*)", re.IGNORECASE | re.DOTALL)
_OFF = r"(?:cancel|stop|end|finish|turn\s+off|switch\s+off|disable|remove)"
_WORDS = (
    # "cancel", "end now", "stop intercepting me", "turn off my intercept", "end intercept"
    (Kind.CANCEL, re.compile(rf"^(?:please\s+)?{_OFF}\b(?!\s+(?:at|on|in|until|till|by)\b)", re.IGNORECASE)),
    # "status", "what's my status", "is my intercept on?", "am I intercepted?"
    (Kind.STATUS, re.compile(r"^(?:(?:what'?s|what\s+is|show)\s+(?:my\s+)?)?status\b"
                             r"|^(?:is|am)\b.*\bintercept\w*\b.*\?\s*$", re.IGNORECASE)),
    (Kind.PENDING, re.compile(r"^(?:show\s+|list\s+)?pending\b", re.IGNORECASE)),
    (Kind.ACTIVE, re.compile(r"^(?:show\s+|list\s+)?active\b", re.IGNORECASE)),
    (Kind.HELP, re.compile(r"^(?:help\b.*|\?+|(?:hi|hello|hey|hallo|good\s+\w+)(?:\s+\w+)?[\s!.?]*)$",
                           re.IGNORECASE | re.DOTALL)),
)
_LEADING_JUNK = re.compile(r"^[\s@,:;.!-]+")
_GREETING = re.compile(r"^(?:hi|hello|hey|hallo|good\s+(?:morning|afternoon|evening))\b[\s,!.:-]*(?:\w+[,!:.-]\s*)?",
                       re.IGNORECASE)


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
    if _GREETING.match(words) and not _WORDS[-1][1].match(words):
        words = _GREETING.sub("", words, count=1).strip()  # "Hi, intercept me until Friday"
    for kind, pattern in _WORDS:
        if pattern.search(words):
            return Command(kind)
    extend = _EXTEND.match(words)
    if extend:
        return Command(Kind.EXTEND, extend["rest"].strip())
    match = _INTERCEPT.search(words)
    if match:
        return Command(Kind.INTERCEPT, match["rest"].strip())
    return Command(Kind.UNKNOWN, words)
