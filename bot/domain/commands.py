"""What a chat message asks for: the command word and the rest of the sentence.

People do not type commands, they type sentences: "can you cancel my intercept?", "when does my intercept
end?", "I'm back, please end my intercept", "end it at 5pm", "OOO till Monday". The intent is read in a fixed
order, each step a small pattern, so that a sentence about an intercept that is on never opens a new request
form:

help (also "what can you do?") → pending / active → extend → cancel (or, with a time after it, a new end) →
status → "change my intercept to end at 5pm" → intercept, asked for or said as being away (`bot.domain.intent`;
never when the sentence says not to) → how-to questions (help) → other questions (status) → a change named
later in the sentence, unless negated.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain import intent


class Kind(enum.StrEnum):
    INTERCEPT = "intercept"
    EXTEND = "extend"  # a later (or earlier) end; a bare duration adds to the current end
    END_AT = "end_at"  # "end my intercept at 5pm": a new end, read from now
    STATUS = "status"
    CANCEL = "cancel"
    HELP = "help"
    PENDING = "pending"  # approvers: the requests waiting for a decision
    ACTIVE = "active"  # approvers: the intercepts that are on
    UNKNOWN = "unknown"
    ATTACHMENT = "attachment"  # never parsed: a message not understood that carries a file (a .wav greeting)


@dataclass(frozen=True)
class Command:
    kind: Kind
    rest: str = ""  # for INTERCEPT, EXTEND and END_AT: the time phrase ("until Friday")
    destination: str = ""  # for INTERCEPT: the number the sentence sends calls to ("+49301234567", "3101")


_F = re.IGNORECASE | re.DOTALL
# what an intercept is called in a sentence: "my intercept", "the intercept", "it", "my request" ...
_OBJECT = (r"(?:(?:my|the|this|that|our)\s+)?(?:call\s+)?(?:intercept(?:ion|ing)?|request|phone\s+intercept)\b"
           r"|it\b|me\b(?!\s+(?:know|see|check|tell))")
_POLITE = re.compile(
    r"^(?:(?:please|pls|plz|kindly|ok(?:ay)?|so|now|and|then|also|just|hey|yes|no|actually|i'?m\s+back"
    r"|(?:can|could|would|will)\s+(?:you|u)|i\s+(?:want|need|would\s+like|'d\s+like)\s+(?:you\s+)?to"
    r"|i'?d\s+like\s+to|you\s+can|let'?s|go\s+ahead\s+and)\b[\s,.!:;-]*)+",
    _F,
)
_EXTEND_AT_START = re.compile(r"^(?:extend|prolong|lengthen)\b", _F)
_EXTEND_ANYWHERE = re.compile(
    rf"\b(?:extend|prolong|lengthen)\s+(?:(?:{_OBJECT})|(?=(?:for|by|until|till|til|to)\b))", _F)
# "could I get another 30 mins on my intercept?"
_MORE = re.compile(r"\b(?P<rest>(?:another|an\s+extra|extra|a\s+further|an\s+additional)\s+.+?)\s+(?:on|for|to)\s+"
                   r"(?:my|the)\s+(?:call\s+)?intercept\b", _F)
_EXTEND_OBJECT = re.compile(rf"^(?:extend|prolong|lengthen)(?:\s+(?:{_OBJECT}))?[\s,:;.!-]*", _F)
_OFF = (r"(?:cancel|stop|end|finish|terminate|turn\s+off|switch\s+off|disable|remove|undo|revert|lift|withdraw"
        r"|retract|kill|scrap|abort|call\s+off|take\s+(?:me\s+)?off(?=\s+(?:the\s+|my\s+)?intercept))")
# "cancel", "end now", "stop intercepting me", "turn off my intercept" (not "end of day")
_OFF_AT_START = re.compile(
    rf"^{_OFF}\b(?!\s+of\b)(?:\s+(?:{_OBJECT}))?|^(?:turn|switch|take)\s+(?:the\s+|my\s+)?intercept\s+off\b"
    r"(?:\s+(?:of\s+)?my\s+(?:phone|line))?",
    _F,
)
# "I'm back, please end my intercept", "can you cancel my intercept?"
_OFF_ANYWHERE = re.compile(rf"\b{_OFF}\s+(?:{_OBJECT})", _F)
_STATUS = re.compile(
    r"^(?:(?:what'?s|what\s+is|show(?:\s+me)?|check|get|give\s+me|my|the)\s+(?:(?:my|the)\s+)?)?status\b"
    r"|\bstatus\s+of\b|\bmy\s+status\b|^(?:show|list|display|view|see)\s+(?:me\s+)?(?:my|the)\s+(?:call\s+)?"
    r"(?:intercepts?|requests?)\b|\b(?:news|updates?|progress)\s+(?:on|about|with|for)\s+(?:my|the)\b",
    _F,
)
# a question: about the intercept ("is my intercept still on", "did you cancel my intercept?") it
# gets the status; asking how ("how do I end my intercept early?", "can I cancel?") gets the help
_ASK = r"^(?:is|am|are|was|were|when|why|how|what|which|where|who|does|do|did|will|would|has|have|until\s+when)\b"
_QUESTION = re.compile(_ASK + r".*\b(?:intercept|cancel|end|stop|extend|request|my\s+(?:phone|line|calls)\b)", _F)
_HOW = re.compile(r"^(?:how\s+(?:do|can|could|should|would|to)\b|(?:can|could|may|should)\s+i\b)", _F)
# "don't cancel my intercept": a negation in the clause before the verb
_NEGATED = re.compile(r"\b(?:don'?t|do\s+not|doesn'?t|never|not|no\s+need\s+to|won'?t)\b[^,.;!?]*$", _F)
_INTERCEPT_ME = re.compile(r"\bintercept(?:ion)?\s+(?:me|my\s+(?:phone|line|calls|number|extension))\b"
                           r"[\s,:;.!-]*(?P<rest>.*)", _F)
_INTERCEPT = re.compile(r"\bintercept(?:ed|ing|ion)?\b[\s,:;.!-]*(?P<rest>.*)", _F)
# asking for one in other words: "take my phone out of service until ...", "block my phone between ..."
_OTHER_WORDS = re.compile(rf"{intent.OTHER_WORDS}[\s,:;.!-]*(?P<rest>.*)", _F)
# asking for one without a time: "intercept", "turn on my intercept", "I need an intercept"
_ENABLE = re.compile(r"^intercept|\b(?:turn\s+on|switch\s+on|put\s+on|enable|start|activate|set\s+up|need"
                     r"|want|like|get|request|ask\s+for)\b", _F)
_UNTIL_SOMETHING = re.compile(r"\b(?:until|till|til)\b.+", _F)
_NOW = re.compile(r"^(?:(?:right\s+)?now|immediately|asap|at\s+once|straight\s+away|right\s+away)?\b", _F)
_SIMPLE = (
    (Kind.PENDING, re.compile(r"^(?:show\s+|list\s+)?(?:the\s+)?pending\b", _F)),
    (Kind.ACTIVE, re.compile(r"^(?:show\s+|list\s+)?(?:the\s+)?active\b", _F)),
)
_HELP = re.compile(r"^(?:help\b.*|\?+|(?:hi|hello|hey|hallo|good\s+\w+)(?:\s+\w+)?[\s!.?]*)$", _F)
# asking what the bot does or how to use it: "what can you do?", "how does this work?", "what is call intercept?"
_ABOUT = re.compile(
    r"(?:^|(?<=[,.;!?]\s))(?:what\s+can\s+(?:you|i|this(?:\s+bot)?)\s+do|what\s+do\s+i\s+(?:type|say|write|send)\b"
    r"|how\s+does\s+(?:this|it|the\s+bot|this\s+bot|(?:call\s+)?intercept)"
    r"\s+work|what\s+(?:is|are)\s+(?:a\s+|an\s+)?(?:call\s+)?intercepts?\s*\??$|what\s+(?:does|do)\s+(?:this|the"
    r"|you)(?:\s+bot)?\s+do|(?:what\s+(?:are\s+)?(?:the\s+|your\s+)?)?commands\b|what\s+(?:commands|phrases"
    r"|(?:time\s+)?formats|words)\b|explain\b|how\s+(?:do\s+i\s+|to\s+)use\b|usage\b|instructions\b|manual\b)",
    _F,
)
_LEADING_JUNK = re.compile(r"^[\s@,:;.!-]+")
_GREETING = re.compile(r"^(?:hi|hello|hey|hallo|good\s+(?:morning|afternoon|evening))\b[\s,!.:-]*", _F)
_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?"
# words that make a sentence about a time ("until Friday", "2 hours", "on Monday")
_TIME_HINT = re.compile(
    r"[0-9]|\b(?:until|till|til|tonight|tomorrow|tmrw|today|noon|midday|midnight|morning|weekend|week|hours?"
    rf"|afternoon|evening|night|eod|end\s+of|next|{_WEEKDAY}"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|january|february|march|april|june|july|august"
    r"|september|october|november|december)\b",
    _F,
)
# "change my intercept to end at noon", "shorten my intercept so it ends today at 6pm"
_ENDS = re.compile(
    rf"\b(?:change|set|move|shorten|make|update|adjust|have|let)\s+(?:{_OBJECT})\s+(?:so\s+(?:that\s+)?(?:it\s+)?"
    r"|to\s+)?(?:ends?|finish(?:es)?|stops?)\b"
    rf"|\b(?:change|set|move|update|adjust|bring\s+forward)\s+the\s+end(?:\s+time|\s+date)?(?:\s+of\s+(?:{_OBJECT}))?"
    r"\s+to\b",
    _F,
)
# after "end it": a new end starts like a time ("at 5pm", "tomorrow", "on Friday", "in 2 hours"); "for
# tomorrow", "tomorrow's intercept", "the one for Monday" say which request, and cancel it
_NEW_END = re.compile(
    r"(?:at|on|by|in|until|till|til|after|before|tonight|noon|midday|midnight|eod|end\s+of|this|next|[0-9]"
    rf"|(?:tomorrow|tmrw|today|{_WEEKDAY})(?!'))\b",
    _F,
)


def parse_command(text: str, bot_names: Iterable[str] = ()) -> Command:
    """Read a message's text. In a group space Webex puts the bot's name where it was mentioned:
    `bot_names` (display name, first name) are stripped from the start, also after a greeting
    ("Hey Intercept Bot, ...")."""
    words = _plain(text)
    names = sorted((n for n in bot_names if n), key=len, reverse=True)
    greeted = _GREETING.sub("", words, count=1).strip() if not _HELP.match(words) else words
    for candidate in dict.fromkeys((words, greeted)):
        for name in names:
            mention = re.match(re.escape(name) + r"(?![\w'])", candidate, _F)
            rest = _LEADING_JUNK.sub("", candidate[mention.end():]).strip() if mention else ""
            # a bot called "Intercept" must not eat the verb of "intercept me until Friday"
            if not rest or re.match(r"(?:me|my)\b", rest, _F):
                continue
            command = _read(rest)
            if command.kind is Kind.UNKNOWN and re.match(r"intercept\b", name, _F) and _TIME_HINT.search(rest):
                return Command(Kind.INTERCEPT, rest)  # "intercept Friday" to a bot called Intercept
            return command  # the name is not part of the sentence ("@Intercept Bot thanks!")
    return _read(words)


def _plain(text: str) -> str:
    """Straight quotes; a line break is a comma, and any run of white space one space (no pattern then
    meets a long run of it)."""
    for curly, straight in (("’", "'"), ("‘", "'"), ("“", '"'), ("”", '"')):
        text = (text or "").replace(curly, straight)
    text = " ".join(re.sub(r"[ \t]*[\r\n]+\s*", ", ", text.strip()).split())
    return _LEADING_JUNK.sub("", text).strip()


def _read(words: str) -> Command:
    if not words:
        return Command(Kind.UNKNOWN)  # e.g. a file sent on its own
    words = intent.fixed(words)  # "intercpet", "cancle", "hlep"
    if _HELP.match(words):
        return Command(Kind.HELP)
    words = _GREETING.sub("", words, count=1).strip()  # "Hi, intercept me until Friday"
    if not words:
        return Command(Kind.HELP)
    sentence = _POLITE.sub("", words).strip() or words
    if _ABOUT.search(sentence):
        return Command(Kind.HELP)
    for kind, pattern in _SIMPLE:
        if pattern.search(sentence):
            return Command(kind)
    if _EXTEND_AT_START.search(sentence):
        return _extend(sentence)
    if (off := _OFF_AT_START.search(sentence)) is not None:
        return _off(sentence, off)
    if _STATUS.search(sentence):
        return Command(Kind.STATUS)
    if (ends := _ENDS.search(sentence)) is not None and _NEW_END.match(rest := sentence[ends.end():].strip()):
        return Command(Kind.END_AT, rest)  # "change my intercept to end at noon"
    if (more := _MORE.search(sentence)) is not None and not _NEGATED.search(sentence[:more.start()]):
        return Command(Kind.EXTEND, more["rest"])  # "could I get another 30 mins on my intercept?"
    change = _EXTEND_ANYWHERE.search(sentence) or _OFF_ANYWHERE.search(sentence)
    me = _INTERCEPT_ME.search(sentence)  # "is it possible to intercept me until Friday?" asks for one
    if ((me is not None and me["rest"].strip(" ?.!")) or (change is None and not re.match(_ASK, sentence, _F))) \
            and (request := _request(words, sentence)) is not None:
        return request
    if _HOW.match(sentence):
        return Command(Kind.HELP)
    if _QUESTION.search(sentence):
        return Command(Kind.STATUS)
    if change is not None and not _NEGATED.search(sentence[:change.start()]):
        return _extend(sentence[change.start():]) if _EXTEND_AT_START.match(change[0]) else _off(sentence, change)
    return Command(Kind.UNKNOWN, words)


def _request(words: str, sentence: str) -> Command | None:
    """An intercept asked for: "intercept me until Friday", "I'd like an intercept until Friday", "OOO till
    Monday", "please forward my calls to +49 30 1234567 until Friday"; None when `words` (the sentence
    before the polite words were taken off: "no need to ...") says not to."""
    me = _INTERCEPT_ME.search(words)
    if intent.refused(words) or intent.someone_elses(words) or (me is None and intent.past(words)):
        return None  # "no need to ...", "intercept Pierre's phone", "my intercept last week worked"
    number, without = intent.destination(sentence)
    asked = _INTERCEPT_ME.search(without) or _INTERCEPT.search(without) or _OTHER_WORDS.search(without)
    after = asked["rest"].strip() if asked is not None else ""
    # the time after "intercept me", else before it ("Offline for the next 2 hours, please intercept")
    found = intent.time_part(after) or intent.time_part(without[:asked.start()] if asked is not None else without)
    if asked is not None and (found or number or asked.start() == 0 or _INTERCEPT_ME.search(without)
                              or _TIME_HINT.search(after) or _ENABLE.search(sentence)):
        return Command(Kind.INTERCEPT, found or after, number)
    if (number and intent.forwards(sentence)) or (found and intent.away(sentence)):
        return Command(Kind.INTERCEPT, found, number)  # "I'm on vacation next week", "forward my calls to ..."
    until = _UNTIL_SOMETHING.search(without)
    if intent.away(sentence) and until is not None and not intent.time_part(until[0]):
        return Command(Kind.INTERCEPT, until[0])  # "OOO until I'm back": the form says what it did not read
    return None


def _extend(tail: str) -> Command:
    """`tail` starts with the verb: "extend my intercept until Friday" -> "until Friday"."""
    verb = _EXTEND_OBJECT.match(tail)
    return Command(Kind.EXTEND, tail[verb.end() if verb else 0:].strip())


def _off(sentence: str, off: re.Match[str]) -> Command:
    """Cancel, or, when a time follows ("end my intercept at 5pm", "end it tomorrow"), a new end."""
    after = sentence[off.end():]
    if re.match(r"\s*[,;(]", after):
        return Command(Kind.CANCEL)  # "cancel it, I'm back today": a remark, not a time
    after = re.sub(r"^[\s:.!-]*(?:intercepting(?:\s+me)?\b|me\b|my\s+(?:calls|phone|line)\b)?[\s,:;.!-]*", "",
                   after, flags=_F)
    now = _NOW.match(after)
    if now is not None and now.group():
        return Command(Kind.CANCEL)  # "end it now, I'm back at work tomorrow"
    rest = re.sub(r"^(?:(?:early|earlier|sooner|instead|already|please)\b[\s,]*)+", "", after.strip(), flags=_F)
    if _NEW_END.match(rest):
        return Command(Kind.END_AT, rest)
    return Command(Kind.CANCEL)
