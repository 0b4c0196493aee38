"""Whether a sentence asks for an intercept, the time phrase in it, and where calls should go.

People rarely write "intercept me until Friday". They write "OOO till Monday", "I'm on vacation next
week", "out sick today", "stepping out for an hour", "please forward my calls to +49 30 1234567 until
Friday", "Offline for the next 2 hours, please intercept", "intercpet me til wednesday". And some
sentences about intercepts say not to: "please don't intercept my phone next week". This module reads
those; `bot.domain.commands` decides the order in which the commands are tried.

- `fixed`: common typing slips mended word by word ("intercpet", "cancle", "2moro", "teh").
- `refused`: a sentence that says not to intercept (it never opens a form).
- `away`: a sentence that says its writer will be away (out of office, leave, sick, appointments).
- `forwards`: a sentence that sends calls somewhere ("forward my calls to ...").
- `destination`: the number a sentence sends calls to, and the sentence without it.
- `time_part`: the time phrase in a sentence: the first stretch of it, from a word on, that
  `bot.domain.timeparse` reads ("I'm on vacation next week" -> "next week").
"""

from __future__ import annotations

import functools
import itertools
import re

from bot.domain.timeparse import last_time_word, time_phrase

_F = re.IGNORECASE

# words typed for others, mended before anything is read ("til" and "tmrw" the time parser reads itself)
_WORDS = {
    "2moro": "tomorrow", "2morow": "tomorrow", "2morro": "tomorrow", "2mrw": "tomorrow", "tomoz": "tomorrow",
    "teh": "the", "u": "you", "ur": "your", "yr": "your", "plz": "please", "pls": "please", "nxt": "next",
    "wk": "week", "wknd": "weekend", "tonite": "tonight", "2nite": "tonight", "2day": "today", "b4": "before",
    "untl": "until", "unitl": "until", "utnil": "until", "tll": "till",
    "vacay": "vacation", "hols": "holidays", "mtg": "meeting", "appt": "appointment",
}  # fmt: skip
_WORD_RE = re.compile(r"[A-Za-z0-9]+")
# the words slips are mended to (with the endings they take); short ones only when two letters were swapped
_VOCABULARY = {"intercept": ("ed", "ing", "ion", ""), "status": ("",), "cancel": ("led", "ed", ""), "extend": ("",),
               "help": ("",)}
_REAL_WORDS = frozenset({"states", "statue", "extent", "cancer", "intend"})  # one slip away, meant as written


@functools.lru_cache(maxsize=4096)
def _mended(low: str) -> str | None:
    """The word of the vocabulary ``low`` (lower case) was typed for: two letters swapped, one dropped,
    doubled or wrong (a word under six letters: only swapped); None when it is no slip."""
    if low in _REAL_WORDS or not 3 <= len(low) <= 13:
        return None
    for meant, endings in _VOCABULARY.items():
        if any(low == meant + ending for ending in endings):
            return None
        for ending in endings:
            if not low.endswith(ending):
                continue
            stem = low[: len(low) - len(ending)] if ending else low
            if stem == meant or stem[:1] != meant[0] or abs(len(stem) - len(meant)) > 1:
                continue
            if _close(stem, meant) and (len(meant) >= 6 or (len(stem) == len(meant) and sorted(stem) == sorted(meant))):
                return meant + ending
    return None


def _close(a: str, b: str) -> bool:
    """At most one edit apart, a swap of two neighbouring letters counting as one (Damerau)."""
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) <= 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def fixed(text: str) -> str:
    def mend(match: re.Match[str]) -> str:
        word = match[0]
        if (known := _WORDS.get(word.lower())) is not None:
            return known
        return _mended(word.lower()) or word

    return _WORD_RE.sub(mend, text)


# saying its writer will be away: out of office, leave, sick, appointments, leaving early, not reachable
_AWAY = re.compile(
    r"\b(?:out\s+of\s+(?:the\s+)?office|ooo|oof|out\s+of\s+town|on\s+(?:(?:my|a|an|the|annual|sick|parental"
    r"|maternity|paternity|medical|family|study|unpaid|business|work)\s+)*(?:vacation|holidays?|leave|pto"
    r"|trip|travel|break|sabbatical|course|training|sick\s+leave|the\s+road)"
    r"|vacation|holidays?|pto|(?:annual|sick|parental|maternity|paternity)\s+leave|leave\s+(?:from|until|till"
    r"|for|on|starting|next|this|tomorrow|today)|off\s+sick|out\s+sick|(?:call(?:ing)?\s+in\s+)?sick|ill|unwell"
    r"|(?:i\s*'?m|i\s+am|i\s*'?ll\s+be|i\s+will\s+be|will\s+be|be|being|going|went)\s+(?:out|away|off|offline"
    r"|unavailable|unreachable|travell?ing|flying|abroad|in\s+(?:a\s+)?(?:meetings?|training|workshops?))"
    r"|(?<!right\s)(?<!straight\s)away|day\s+off|days\s+off|time\s+off|(?:morning|afternoon|evening)\s+off|off\s+(?:work|today|tomorrow"
    r"|tmrw|until|till|til|from|for|on|next|this|the\s+rest)|gone\s+for\s+the\s+day|stepping\s+(?:out|away)"
    r"|step(?:ping)?\s+out|heading\s+(?:out|home|off)|leaving\s+(?:early|now|the\s+office|for|at)|going\s+home"
    r"|(?:doctor|dentist|medical|hospital|vet|gp)(?:'?s)?(?:\s+appointment)?|appointment|in\s+(?:a\s+)?meetings?"
    r"|offline|unavailable|not\s+available|won'?t\s+be\s+(?:in|available|around|reachable|at\s+my\s+desk)"
    r"|not\s+(?:in\s+the\s+office|around)|(?:hold|take|cover|catch)\s+(?:all\s+)?my\s+calls|afk|brb"
    r"|(?:working\s+)?remotely\s+without\s+a\s+phone|no\s+phone|without\s+(?:my\s+)?phone"
    r"|taking\s+(?:\S+\s+){1,3}off|physio(?:therapy)?|therapy|therapist|clinic|haircut|surgery|check-?up|funeral"
    r"|wedding|interview|exam|school\s+run|pick-?\s?up|daycare|conference|off-?site|workshop|course|training"
    r"|trip|flight)\b",
    _F,
)
# asking in so many words: "intercept me", "I need my phone intercepted", "an intercept on my line",
# "forward my calls to ...", "send callers to ...", "hold my calls"
_FORWARD = (r"\b(?:forward|divert|redirect|reroute|re-route|route|transfer|send|put)\s+"
            r"(?:(?:all|any|the|my|incoming)\s+)*(?:calls?|callers|phone|line|number|extension)\b"
            r"|\b(?:calls|callers)\s+(?:should\s+|can\s+|to\s+)?"
            r"(?:go\s+|be\s+sent\s+|be\s+transferred\s+|transferred\s+)?to\b")
_FORWARDS = re.compile(_FORWARD, _F)
# asking in other words: "take my phone out of service", "block my phone"
OTHER_WORDS = (r"\b(?:(?:take|put)\s+my\s+(?:\w+\s+)?(?:phone|line)\s+out\s+of\s+service"
               r"|(?:block|silence|mute)\s+my\s+(?:\w+\s+)?(?:phone|line|calls))\b")
_ASKED = re.compile(rf"\bintercept(?:ed|ing|ion)?\b|{_FORWARD}|{OTHER_WORDS}", _F)
# a sentence that says not to: "don't intercept", "no need to intercept", "never intercept my calls again",
# "I don't need an intercept", "I'm not on vacation after all"
_NEGATION = re.compile(
    r"\b(?:don'?t|do\s+not|dont|doesn'?t|does\s+not|never|no|no\s+need|no\s+longer|not|won'?t|will\s+not|skip"
    r"|isn'?t|aren'?t|am\s+not|i'?m\s+not|shouldn'?t|mustn'?t|didn'?t|cannot|can'?t|without\s+an?)\b",
    _F,
)
# "won't be in", "can't come in", "not available": these say away, not "don't"
_NEGATED_AWAY = re.compile(
    r"\b(?:won'?t|will\s+not|can'?t|cannot|not)\s+(?:be\s+)?(?:in\b|come\s+in|make\s+it|available|around"
    r"|reachable|at\s+my\s+desk|in\s+the\s+office)",
    _F,
)
_CLAUSE = re.compile(r"[,;.!?]+|(?<!\s)\s+(?:but|and|so|because|as)\s+", _F)


def refused(sentence: str) -> bool:
    """A clause that negates asking or being away: "please don't intercept my phone next week"."""
    for clause in _CLAUSE.split(sentence):
        clause = _NEGATED_AWAY.sub(" away ", clause)
        negation = _NEGATION.search(clause)
        if negation is None:
            continue
        after = clause[negation.end():]
        if _ASKED.search(after) or _AWAY.search(after) or re.search(r"\b(?:need|want)\b", after, _F):
            return True
    return False


def forwards(sentence: str) -> bool:
    """Sends calls somewhere: "forward my calls to ...", "calls to my deputy at ..."."""
    return _FORWARDS.search(sentence) is not None


def away(sentence: str) -> bool:
    """Says its writer will be away ("OOO till Monday", "I'm taking Monday off"); not someone else ("my
    colleague is on vacation") and not in the past ("I was out sick yesterday")."""
    sentence = _NEGATED_AWAY.sub(" away ", sentence)
    for clause in _CLAUSE.split(sentence):
        found = _AWAY.search(clause)
        if found is not None and not _SOMEONE_ELSE.search(clause[:found.start()]):
            return True
    return False


_SOMEONE_ELSE = re.compile(r"\b(?:is|are|was|were|has|had|he|she|they|his|her|their|who'?s|whose"
                           r"|(?!(?:it|that|there|here|what|let|today|tomorrow)'s)[a-z]+'s)\b", _F)
# about the past: "my intercept last week worked perfectly", "Last Friday I forgot to set an intercept"
_PAST = re.compile(r"\b(?:last\s+(?:week|month|year|night|time|mon|tues|wednes|thurs|fri|satur|sun)\w*|yesterday|ago"
                   r"|worked|ended|forgot|went|was|were|had|did|used)\b", _F)
# someone else's phone: "could you intercept Pierre's phone until Friday?" (only one's own, from chat)
_OTHERS_PHONE = re.compile(r"\bintercept\s+(?:[a-z]+'s|his|her|their)\s+(?:\w+\s+)?(?:phone|line|calls|number)\b", _F)


def past(sentence: str) -> bool:
    """Speaks of what has been ("my intercept last week worked perfectly")."""
    return _PAST.search(sentence) is not None


def someone_elses(sentence: str) -> bool:
    """Asks for someone else's phone."""
    return _OTHERS_PHONE.search(sentence) is not None


# where calls go: "forward my calls to +49 30 1234567", "calls to my deputy at +44 ...", "to extension 3101"
_NUMBER = r"(?:\+|\()?[0-9][0-9 ().-]{1,20}[0-9]"
_SENDS = re.compile(
    rf"{_FORWARD}|\b(?:forward|divert|redirect|reroute|route|transfer|send|put)\s+"
    r"(?:(?:them|it|all|everything|everyone|everybody)\s+)*(?:to|through)\b"
    r"|\b(?:reach|call|try)\s+me\b",
    _F,
)
_TO_NUMBER = re.compile(
    r"\b(?:to|onto|at|on)\s+(?:(?:my|the|our|a|his|her|their)\s+)?(?:[a-z]+,?\s+){0,3}?(?:on\s+|at\s+)?"
    rf"(?:(?:extension|ext\.?|x|number|no\.?|nr\.?|mobile|cell|phone)\s*(?::\s*)?)?(?P<number>{_NUMBER})",
    _F,
)
_EXTENSION = re.compile(r"\b(?:extension|ext\.?)\s*(?::\s*)?(?P<number>[0-9]{2,10})\b", _F)


def destination(sentence: str) -> tuple[str, str]:
    """The number calls should go to ("" when none is named), and the sentence without the words that
    send them there."""
    sends = _SENDS.search(sentence)
    found = _TO_NUMBER.search(sentence, sends.start()) if sends is not None else None
    if found is None:
        found = _EXTENSION.search(sentence)
    if found is None:
        return "", sentence
    digits = re.sub(r"[ ().-]", "", found["number"])
    extension = re.search(r"\bext", found[0], _F) is not None  # "extension 88": two digits will do
    clock = re.match(r"\s*(?:am|pm|a\.m|p\.m|h\b|o'?clock)", sentence[found.end():], _F)
    if len(digits.lstrip("+")) < (2 if extension else 3) or clock:
        return "", sentence  # "send it to 5pm"? a time, not a number
    begin = sends.start() if sends is not None and sends.start() <= found.start() else found.start()
    return digits, f"{_without_joint(sentence[:begin])} {sentence[found.end():]}".strip()


def _without_joint(head: str) -> str:
    """"for 2 hours and" -> "for 2 hours": the words that joined the part taken out."""
    while (shorter := re.sub(r"(?:[\s,;:–—-]|\b(?:and|please|then|also|pls)\b)$", "", head, flags=_F)) != head:
        head = shorter
    return head


_WORD = re.compile(r"(?:^|(?<=[\s,;:(]))[^\s,;:()]+")
# words around the time that are not part of it: they become a break the time parser cuts a remark at
_FILLER = re.compile(
    r"\b(?:(?:on\s+(?:(?:my|a|an|the|annual|sick|parental)\s+)*)?(?:vacation|holidays?|leave|pto|break)"
    r"|out\s+of\s+(?:the\s+)?office|in\s+(?:a\s+)?meetings?|off|out|away|sick|ill|unwell|ooo|oof|offline|unavailable|please"
    r"|intercept(?:ed|ing|ion)?|hold\s+my\s+calls)\b|[\u2600-\u27bf\U0001f000-\U0001faff\ufe0f]+",
    _F,
)


def time_part(sentence: str) -> str:
    """The time phrase in the sentence ("next week" of "I'm on vacation next week"): the part the time
    parser reads of the first stretch, from a word to the end, that it reads; "" when there is none."""
    sentence = _FILLER.sub(",", sentence)
    last = last_time_word(sentence)  # a stretch that starts after it has no time word: it cannot read
    starts = (word for word in itertools.takewhile(lambda word: word.start() <= last, _WORD.finditer(sentence))
              if _STARTER.match(word[0]) or last_time_word(word[0]) >= 0)
    for tried, start in enumerate(starts):
        if tried == _MOST_STARTS:
            break
        tail = sentence[start.start():]
        if len(tail) > _LONGEST and start.start() + _LONGEST > last:  # what is cut off has no time word
            tail = tail[:_LONGEST]
        # the first that reads, also with a problem: "until 9am today" at 10:00 is in the past, not "today"
        if found := time_phrase(tail)[0]:
            return found
    return ""


_MOST_STARTS = 8  # words a time phrase is looked for from: a sentence's time is rarely further in
# the words a time phrase starts with, besides a time word or a number ("until Friday", "for a week")
_STARTER = re.compile(
    r"(?:until|till|til|untill|'til|from|for|by|on|in|at|over|between|through|thru|up|starting|beginning|as"
    r"|effective|no|latest|before|after|during|within|this|next|coming|following|the|a|an|all|rest|end|close"
    r"|early|late|mid|first|half|quarter)\b",
    _F,
)
_LONGEST = 100  # characters: the longest time phrase looked for ("from Monday 14 December 9am until ..." is 56)
