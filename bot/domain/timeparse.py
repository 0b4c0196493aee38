"""Time phrase parser: turns "until Friday", "for 2 hours", "from Dec 24 to Jan 2" ... into a window.

Pure functions, no I/O, deterministic given ``(text, now, zone)``: the current time is always the injected
``now`` (any zone), every phrase is read in the requester's IANA ``zone``, and every result is an aware
datetime in that zone.  The grammar is a small hand-written one (regular expressions); ``dateparser`` is not
used, because its guesses (numeric dates, weekdays, zones) are exactly what this parser must not do.

Rules
-----
General
  * Empty text -> ``Window(None, None, None)``: no time given, not a problem (the form will ask).
  * Leading "intercept", "intercept me", "please", "me" are ignored, as are case, surrounding whitespace,
    trailing punctuation, emoticons and emoji ("until Friday!", "until Friday :)") and trailing remarks
    after a comma, semicolon, dash, bracket or a word such as "please", "because", "as", "I'm" ("until
    Friday, I'm on leave"). A remark is only dropped when it has no digit and no time word ("until Friday,
    25:00", "until 5pm, on Friday afternoon", "until 5pm, London time" and "until Friday, COB" are
    rejected, not cut).
  * Anything not understood -> ``end=None`` and a one-sentence ``problem`` quoting (a plain-text excerpt,
    at most 60 characters, of) the phrase. Never a guess. Escaping for display is the caller's job.

Points in time
  * A date without a time means the END of that day: 23:59 local (``end_of_day``). As a start ("from ...")
    a date without a time means 00:00 of that day.
  * A time without a date ("until 17:00", "until 5pm", "until noon", "until end of day") is today if it is
    still ahead, otherwise tomorrow.
  * A plain weekday ("until Friday", also "this Friday", "coming Friday") is today if its end (or the given
    time) is still ahead, otherwise the next one: on a Friday at 10:00, "until Friday" is today 23:59 and
    "until Friday 9am" is next week's Friday 09:00.
  * "next <weekday>" is the first such weekday strictly after today (on a Wednesday "next Friday" is in two
    days; on a Friday it is in seven). "<weekday> next week" is that weekday in the next Monday-Sunday week.
  * A month and day without a year ("Dec 3", "3 December", "december 3rd") is the next such date whose end
    (or given time) is still ahead; "the 3rd" alone is the next 3rd of a month. With a year, or as ISO
    ("2026-12-03", "2026-12-03 14:00"), the date is taken as written.
  * Numeric day/month forms ("03/12", "3.12.", "12-03-2026", "17.00") are ambiguous and NOT understood;
    only year-first numeric dates (2026-12-03) are read.
  * Times: "17:00", "9:30" (H:MM without am/pm is 24-hour), "5pm", "5 p.m.", "9:30am", "noon"/"midday"
    (12:00), "morning" (09:00, e.g. "until Monday morning"), "midnight", "night", "tonight" and "end of
    day"/"EOD" (all 23:59 of the day: "tonight" = today 23:59, "Friday night" = Friday 23:59). A bare hour
    ("until 5") is ambiguous: rejected.
  * "end of the week" = the coming Friday 23:59 (today if it is Friday; on a weekend, next Friday).
    "end of next week" = Friday 23:59 of next week. "end of the month" = its last day, 23:59.
  * A weekday named together with a date ("Friday 4 Dec") must agree with it, otherwise it is a problem.
  * The end is never silently in the past: an explicit date or time that has passed (e.g. "until
    2020-01-01", "until today 9:00" at 10:00) gives ``end=None`` and a problem saying it is in the past.
  * Anything more than 10 years ahead is rejected as too far in the future.

Durations ("for 2 hours", "for 90 minutes", "for 1.5 hours", "for an hour", "for 3 days", "for a week",
"for 2 weeks", "for 1h30m", "in 2 hours", "for the next 3 days", "for the next hour")
  * Hours and minutes are exact elapsed time (across a DST change the wall clock moves by one hour more or
    less). Days and weeks are calendar days that keep the local wall-clock time of day ("for 1 day" from
    Saturday 10:00 ends Sunday 10:00 even if Sunday has 23 or 25 hours).
  * Only hours may be fractional (and must come out in whole minutes); zero and negative durations, and
    words like "many" or "a few", are not understood.

Whole phrases
  * "for the rest of the day", "rest of the day", "for today" -> now .. today 23:59.
  * "next week" (also "for next week", "for the next week") -> Monday 00:00 .. Friday 23:59 of next week.
  * "over the weekend", "for the weekend", "this weekend" -> Saturday 00:00 .. Sunday 23:59; if it is already
    the weekend, start None (now) .. Sunday 23:59.
  * "for the rest of the week", "this week", "for the week" -> now .. end of the week (see above).
  * "for Friday", "on Friday", "tomorrow" (a bare date without time) -> that whole day: 00:00 .. 23:59.
    A bare end word ("tonight", "EOD", "end of the week") is an end. A bare date with a time ("Friday 5pm")
    is ambiguous (start or end?) and is a problem asking for "until ..." or "from ...".

Ranges ("from Monday until Friday", "from Monday to Friday", "Monday - Friday", "between Monday and Friday",
"from tomorrow 9:00 until Friday", "from Dec 24 to Jan 2", "from Monday for 3 days")
  * The end is read relative to the start: weekdays, month-days and bare times roll forward until they are
    after the start ("from Dec 24 to Jan 2" ends on Jan 2 of the following year; "next Friday" means the
    first Friday strictly after the start's day). "today", "tomorrow" and "<weekday> next week" still refer
    to the real today. An end that is not after the start is a problem.
  * A start that falls today but has already passed ("from today", "from 9:00 today" at 10:00, "from Friday"
    on a Friday) becomes ``start=None``, meaning "as soon as approved"; "from now"/"asap" too. A start on an
    earlier day is a problem ("in the past"): also a month-day or day-of-month start of the last 31 days
    whose range is still running ("from Dec 24 to Jan 2" on 28 Dec), or, with no end, of the last 7 days,
    rather than the same day next year or next month.
  * "next week" after a weekday range is both days' week ("Monday to Wednesday next week", "Mon-Fri next
    week").
  * "from <start>" with no end gives that start and ``end=None`` without a problem (no end was given).
  * A start with only a time and an end with a day and a time ("from 11:00 to 17:00 tomorrow") is a problem:
    the day may belong to both times. Name the day of the start too ("from tomorrow 11:00 to 17:00").

Daylight saving time
  * Wall-clock results that fall into a DST gap (e.g. 02:30 on the spring-forward night) move forward by the
    gap (03:30); wall-clock results in a repeated hour (fall back) take the first occurrence. (The form,
    which has only a wall time, reads an end in the repeated hour as the second one; ``describe`` adds the
    zone's abbreviation for such a time: "Sun 25 Oct 02:30 Europe/Berlin (CET)".)

Extensions (``parse_extension``): a bare duration adds to the current end ("extend for 2 hours", "by 2 days",
"for another hour", "30 minutes more"); anything else is read as above.
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from bot.domain.values import Duration

__all__ = ["Window", "add_duration", "describe", "end_of_day", "last_time_word", "parse_extension", "parse_window",
           "time_phrase"]


@dataclass(frozen=True)
class Window:
    """The result of :func:`parse_window`."""

    start: datetime | None  # aware, in the given zone; None = "as soon as approved"
    end: datetime | None  # aware, in the given zone; None = not understood (or no time given)
    problem: str | None  # one plain-text sentence for the user when a time part could not be read
    # the other reasonable reading of a phrase that has two ("until 5": 17:00, or 05:00?), never itself
    # with another; None when the phrase has one reading
    other: Window | None = None
    # "for 2 hours" (a duration and no start): the intercept lasts this long from when it goes on; the end
    # above is as if it went on now
    lasts: Duration | None = None


# ---------------------------------------------------------------------------------------------------------
# Two readings
# ---------------------------------------------------------------------------------------------------------


class _Choices:
    """The ambiguities met while reading one phrase, in order. The phrase is read once taking the likelier
    side of each; when there was one, it is read again taking the other side of the first (``flip=0``)."""

    def __init__(self, flip: int | None = None) -> None:
        self.flip = flip
        self.seen = 0


_T = TypeVar("_T")
_CHOICES: ContextVar[_Choices | None] = ContextVar("timeparse_choices", default=None)


@contextmanager
def _quiet() -> Iterator[None]:
    """A look ahead that must not count as an ambiguity of the phrase (a check, not the reading)."""
    token = _CHOICES.set(None)
    try:
        yield
    finally:
        _CHOICES.reset(token)


def _choose(likely: _T, other: _T) -> _T:
    """``likely``, or ``other`` when this is the ambiguity being flipped; equal sides are no ambiguity."""
    choices = _CHOICES.get()
    if choices is None or likely == other:
        return likely
    index, choices.seen = choices.seen, choices.seen + 1
    return other if index == choices.flip else likely


# ---------------------------------------------------------------------------------------------------------
# Public helpers
# ---------------------------------------------------------------------------------------------------------

_WEEKDAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WEEKDAY_NAME = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAME = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

_EOD = time(23, 59)
_MIDNIGHT = time(0, 0)
_MAX_YEARS_AHEAD = 10
_EXCERPT_MAX = 60
_MAX_PHRASE = 300
_TOO_LONG = 'That is too long for me to read as a time: say just the time, for example "until Friday 17:00".'


def _normalized(dt: datetime, zone: ZoneInfo) -> datetime:
    """Return a real wall-clock time in ``zone`` (gap times move forward; repeated hour: first occurrence)."""
    return dt.replace(fold=0).astimezone(UTC).astimezone(zone)


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return _normalized(datetime.combine(day, clock, tzinfo=zone), zone)


def _utc(dt: datetime) -> datetime:
    # Aware datetimes that share a tzinfo object compare by wall time, ignoring fold: compare in UTC.
    return dt.astimezone(UTC)


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """23:59 local time of ``day`` in ``zone``, aware."""
    return _at(day, _EOD, zone)


def describe(dt: datetime, now: datetime | None = None) -> str:
    """E.g. 'Fri 27 Nov 23:59 Europe/Berlin'; the year is added when it differs from ``now``'s year there."""
    if dt.tzinfo is None:
        raise ValueError("describe() needs an aware datetime")
    zone_name = dt.tzinfo.key if isinstance(dt.tzinfo, ZoneInfo) else (dt.tzname() or "UTC")
    text = f"{_WEEKDAY_ABBR[dt.weekday()]} {dt.day} {_MONTH_ABBR[dt.month - 1]}"
    if now is not None and now.astimezone(dt.tzinfo).year != dt.year:
        text += f" {dt.year}"
    text = f"{text} {dt.hour:02d}:{dt.minute:02d} {zone_name}"
    if dt.replace(fold=0).utcoffset() != dt.replace(fold=1).utcoffset():  # the hour the clocks go back
        text += f" ({dt.tzname()})"
    return text


# ---------------------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------------------


class _Problem(Exception):
    """A phrase we cannot turn into a window. ``{q}`` in the template is replaced by the quoted excerpt.

    ``unreadable`` problems are grammar failures: a shorter head of the text (without a trailing remark)
    may still be tried. Other problems were understood but are unusable (past, invalid date ...).
    """

    def __init__(self, template: str, *, unreadable: bool = False) -> None:
        super().__init__(template)
        self.template = template
        self.unreadable = unreadable

    def message(self, quote: str) -> str:
        return self.template.replace("{q}", quote)


_EXAMPLES = " Phrases I read, for example: until Friday 17:00 · for 2 hours · from Monday to Wednesday."


def _unreadable(detail: str = "") -> _Problem:
    return _Problem('I could not read "{q}" as a time' + detail + "." + _EXAMPLES, unreadable=True)


def _invalid(detail: str) -> _Problem:
    return _Problem('I could not read "{q}" as a time: ' + detail + ".")


_START_OR_END = 'I could not tell whether "{q}" is the start or the end: say "until ..." or "from ...".'
_NUMERIC_HINT = ': please write dates like "3 Dec" or "2026-12-03" and times like "17:00" or "5pm"'


def _excerpt(text: str) -> str:
    """Plain, single-line, truncated excerpt of user text for quoting in a problem sentence."""
    chars = (" " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in text)
    flat = " ".join("".join(chars).split()).replace('"', "'")
    if len(flat) > _EXCERPT_MAX:
        flat = flat[: _EXCERPT_MAX - 1].rstrip() + "…"
    return flat


# ---------------------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------------------

_WEEKDAYS: dict[str, int] = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2, "weds": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
_MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
_NUMBER_WORDS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "couple of": 2, "a couple": 2, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "ninety": 90,
}  # fmt: skip
_NUMBER_WORDS.update({f"{tens} {unit}": _NUMBER_WORDS[tens] + _NUMBER_WORDS[unit]  # "forty five", "twenty-five"
                      for tens in ("twenty", "thirty", "forty", "fifty") for unit in (
                          "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")})
_MAX_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_WD = _alternation(_WEEKDAYS)
_MON = _alternation(_MONTHS)
_TOMORROW = r"tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow|2morrow"
_UNTIL = r"until|till|til|'til|til'|untill|up until|up till|up to|through|thru|by|no later than|latest by"
_CONNECTOR = r"until|till|til|'til|til'|untill|to|through|thru|-|–|—"
_START_WORD = r"from|starting(?: from| on| at)?|beginning(?: on| at)?|as of|effective(?: from)?"

# A trailing remark is only dropped when it has no digit and none of these words: it might be the rest
# of the time ("until 5pm, on Friday afternoon" must not become "until 5pm"). Month and weekday abbreviations
# that are also common English words (may, sat, sun, mar, wed) and "am"/"pm" (clock times have digits) do
# not count.
_TIME_WORDS = (set(_WEEKDAYS) | set(_MONTHS) | {
    "today", "tonight", "tonite", "tomorrow", "tmrw", "tmr", "tomorow", "tommorow", "tommorrow",
    "noon", "midday", "midnight", "morning", "afternoon", "evening", "night", "eod", "eow", "eom",
    "minute", "minutes", "min", "mins", "hour", "hours", "hr", "hrs", "day", "days", "week", "weeks",
    "weekend", "month", "months", "year", "years", "o'clock", "oclock",
    # the time of day in words, or a zone: "until 5pm, London time", "until tomorrow, half past two"
    "time", "local", "half", "past", "quarter", "lunch", "lunchtime", "first", "thing", "cob", "close",
    "business", "after", "next", "early", "late", "latest", "zone", "utc", "gmt", "zulu",
    "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt", "akst", "akdt", "hst", "cet", "cest", "eet", "eest",
    "wet", "west", "bst", "ist", "aest", "aedt", "acst", "acdt", "awst", "jst", "kst", "sgt", "hkt", "nzst", "nzdt",
}) - {"may", "sat", "sun", "mar", "wed"}  # fmt: skip


_WORDS_RE = re.compile(r"[a-z0-9']+")


def last_time_word(text: str) -> int:
    """Where the last word of ``text`` that belongs to a time starts (-1: none does)."""
    for word in reversed(list(_WORDS_RE.finditer(text.lower().replace("’", "'")))):
        if word[0] in _TIME_WORDS or any(c.isdigit() for c in word[0]):
            return word.start()
    return -1


# ---------------------------------------------------------------------------------------------------------
# Cleaning the raw text
# ---------------------------------------------------------------------------------------------------------

_LEAD_RE = re.compile(
    r"(?:please|pls|plz|kindly|hey|hi|hello|intercept|me|my\s+(?:phone|line|calls|number|extension))"
    r"(?![\w'’])[\s,:;!.]*",
    re.IGNORECASE,
)
# trailing punctuation, emoticons and emoji
_EMOJI = "\u2600-\u27bf\U0001f000-\U0001faff\ufe0f"
_TRAIL_RE = re.compile(rf"(?:[\s.!?…,;:–—-]|[:;]-?[)(dp]|[{_EMOJI}])$", re.IGNORECASE)  # one, at the end
_CUT_RE = re.compile(
    r"\s*[,;(]\s*|\s+[-–—]\s+|\s+(?=(?:because|cause|cos|coz|since|as|so|while|when|i|i'm|i’m|im|i've|i'll"
    r"|i'd|we|we're|my|our|thanks|thank|thx|ty|please|pls|plz|cheers)(?![\w'’]))",
    re.IGNORECASE,
)


def _without_trail(phrase: str) -> str:
    """``phrase`` without trailing punctuation, emoticons and emoji, taken off one at a time from the end (a
    pattern anchored at the end would be tried from every position: quadratic on ":-(:-(:-(...x")."""
    while (trail := _TRAIL_RE.search(phrase, max(0, len(phrase) - 3))) is not None:
        phrase = phrase[: trail.start()]
    return phrase


def _clean(text: str) -> str:
    phrase = " ".join(text.split())
    while (match := _LEAD_RE.match(phrase)) is not None and match.end() > 0:
        phrase = phrase[match.end() :]
    kept = _without_trail(phrase)
    if len(kept) < len(phrase) and re.search(r"(?<![0-9])[0-9]{1,2}\.[0-9]{1,2}$", kept) and phrase[len(kept)] == ".":
        return kept + "."  # "until 3.12.": the last dot is the date's
    return kept.strip()


_LONGEST_TIME = 100  # characters: a time phrase with a remark after it is cut within these


def _candidates(phrase: str) -> Iterator[str]:
    """The whole phrase, then shorter heads without a trailing remark (longest first). A head is at most
    `_LONGEST_TIME` long ("from Monday 14 December 9am until Friday 18 December 5pm" is 56): a remark made
    of many short pieces ("until Friday, a, a, a, ...") is not read once for each piece."""
    yield phrase
    seen, last = {phrase}, last_time_word(phrase)
    for cut in reversed(list(_CUT_RE.finditer(phrase, 0, _LONGEST_TIME))):
        head = _without_trail(phrase[: cut.start()]).strip()
        if head and head not in seen and cut.end() > last:  # the remark after it has no time word
            seen.add(head)
            yield head


_HOUR_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_MINUTE_WORDS: dict[str, int] = {"o five": 5, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30,
                                 "forty": 40, "forty five": 45, "forty-five": 45, "fifty": 50}
_HW = _alternation(_HOUR_WORDS)
_AMPM = r"a\.?m\.?|p\.?m\.?"
# "three thirty" -> "3:30"
_WORD_CLOCK_RE = re.compile(rf"\b(?P<h>{_HW}) (?P<m>{_alternation(_MINUTE_WORDS)})\b")
# an hour in words where a clock is: "five pm", "at two", "eight tonight", "until one", "quarter past three"
_WORD_HOUR_RE = re.compile(
    rf"\b(?P<pre>at|past|after|to|before|till|til|until|by|from) (?P<h>{_HW})\b(?! (?:hours?|hrs?|minutes?|mins?|days?"
    rf"|weeks?|and))|\b(?P<h2>{_HW})(?= ?(?:{_AMPM}|o'?clock|tonight|this (?:morning|afternoon|evening)"
    r"|in the (?:morning|afternoon|evening)|at night)(?![a-z]))"
)
# "quarter past 3pm" -> "3:15pm", "quarter to 5" -> "4:45", "10 past 9" -> "9:10", "20 minutes to 6" -> "5:40"
_PAST_TO_RE = re.compile(
    r"\b(?:(?:a )?(?P<q>quarter)|(?P<half>half)|(?P<n>[0-9]{1,2})(?P<unit> (?:minutes?|mins?))?)"
    r" (?P<dir>past|after|to|before|till|til) (?P<h>[0-9]{1,2})(?P<ampm> ?(?:" + _AMPM + r"))?(?![0-9:.])"
)


def _past_to(m: re.Match[str]) -> str:
    minutes = 15 if m["q"] else 30 if m["half"] else int(m["n"])
    hour, before = int(m["h"]), m["dir"] in ("to", "before", "till", "til")
    if not 1 <= minutes <= 59 or not 1 <= hour <= 23 or (before and m["n"] and not m["unit"]) or (before and m["half"]):
        return m[0]  # "10 to 5" is a range, "half to" nothing
    if before:
        hour, minutes = (hour - 1) or 12, 60 - minutes
    return f"{hour}:{minutes:02d}{m['ampm'] or ''}"


def _words_to_clock(text: str) -> str:
    text = _WORD_CLOCK_RE.sub(lambda m: f"{_HOUR_WORDS[m['h']]}:{_MINUTE_WORDS[m['m']]:02d}", text)
    text = _WORD_HOUR_RE.sub(
        lambda m: f"{m['pre']} {_HOUR_WORDS[m['h']]}" if m["pre"] else str(_HOUR_WORDS[m["h2"]]), text)
    return _PAST_TO_RE.sub(_past_to, text)


_AND_DAYS_RE = re.compile(
    rf"^(?P<a>today|tomorrow|(?:(?:this|next|on) )?(?:{_WD})) and (?P<b>tomorrow|(?:next )?(?:{_WD}))$")


def _normalize(phrase: str) -> str:
    text = re.sub(r"[,()\[\]]", " ", phrase.lower().replace("’", "'").replace("‘", "'"))
    text = re.sub(r"([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})t(?=[0-9])", r"\1 ", text)
    text = re.sub(r"\b(twenty|thirty|forty|fifty)-(?=[a-z])", r"\1 ", text)  # "forty-five": one number
    text = _words_to_clock(" ".join(text.split()))
    # a dash between words or after a clock time is a range ("mon-fri", "9am-5pm", "9:00-17:00",
    # "dec 24-jan 2"), and so is one between two numbers that are not a numeric date ("9-5", "3-4pm",
    # "13-15 july"); inside a date ("12-03-2026", "2026-12-03") it stays
    text = re.sub(r"(?:(?<=[a-z.])|(?<=:[0-9]{2}))([-–—])(?=\S)|(?<=\S)([-–—])(?=[a-z])", r" \1\2 ", text)
    text = re.sub(r"(?<![0-9./-])([0-9]{1,2})([-–—])(?=[0-9]{1,2}(?![0-9./-]))", r"\1 \2 ", text)
    # and so is one between two numeric dates ("12/21-12/23")
    text = re.sub(r"\b([0-9]{1,2}[/.][0-9]{1,2}\.?)([-–—])(?=[0-9]{1,2}[/.][0-9]{1,2}(?![0-9]))", r"\1 \2 ", text)
    # two days joined by "and" are both meant: "today and tomorrow", "monday and tuesday"
    text = _AND_DAYS_RE.sub(r"from \g<a> to \g<b>", " ".join(text.split()))
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------------
# Points in time: grammar
# ---------------------------------------------------------------------------------------------------------

# plain: the next one, today included; this_week / next_week: in that Monday-Sunday week; next: next
# week's (or the first after the start, in a range); after_next: the second after today
_Mode = Literal["plain", "next", "next_week", "this_week", "after_next"]


@dataclass(frozen=True)
class _Rel:
    days: int  # 0 today, 1 tomorrow, 2 the day after tomorrow


@dataclass(frozen=True)
class _Abs:
    year: int
    month: int
    day: int


@dataclass(frozen=True)
class _MonthDay:
    month: int
    day: int


@dataclass(frozen=True)
class _DayOfMonth:
    day: int


@dataclass(frozen=True)
class _NumericDate:
    """ "03/12", "3.12.2026": day and month, or month and day."""

    first: int
    second: int
    year: int | None


@dataclass(frozen=True)
class _Weekday:
    weekday: int
    mode: _Mode


_Unit = Literal["week", "month", "quarter", "year"]


@dataclass(frozen=True)
class _PeriodEnd:
    """The last day of this (or the next) month, quarter or year, or of a named month or quarter."""

    unit: _Unit
    offset: int = 0
    month: int | None = None  # "end of April"
    quarter: int | None = None  # "end of Q3"
    year: int | None = None


@dataclass(frozen=True)
class _PeriodStart:
    """The first day of the next week, month or year ("until next month")."""

    unit: _Unit


_DateSpec = _Rel | _Abs | _MonthDay | _DayOfMonth | _NumericDate | _Weekday | _PeriodEnd | _PeriodStart


@dataclass(frozen=True)
class _Point:
    date: _DateSpec | None
    weekday_check: int | None  # a weekday named alongside an explicit date: must agree
    clock: time | None
    end_marker: bool  # "tonight", "EOD", "end of the week" ...: clearly an end, even when bare
    bare: bool = False  # the clock is an hour 1-12 without am/pm: morning or afternoon?
    zone: ZoneInfo | None = None  # "5pm London time"
    date_after_clock: bool = False  # "17:00 tomorrow": in a range, the day may hold for both times


# a part of the day: its time, and whether it is clearly an end
_PARTS: dict[str, tuple[time, bool]] = {
    "morning": (time(9, 0), False), "early morning": (time(7, 0), False), "late morning": (time(11, 0), False),
    "afternoon": (time(13, 0), False), "early afternoon": (time(13, 0), False),
    "late afternoon": (time(16, 0), False), "evening": (time(18, 0), False), "early evening": (time(18, 0), False),
    "late evening": (time(21, 0), False), "night": (_EOD, True),
}  # fmt: skip


class _PointBuilder:
    def __init__(self) -> None:
        self.date: _DateSpec | None = None
        self.weekday: _Weekday | None = None
        self.clock: time | None = None
        self.bare = False
        self.part: str | None = None
        self.zone: ZoneInfo | None = None
        self.end_marker = False
        self.date_after_clock = False

    def set_date(self, spec: _DateSpec) -> None:
        if self.date is not None:
            raise _unreadable()
        self.date = spec
        self.date_after_clock = self.clock is not None

    def set_weekday(self, weekday: int, mode: _Mode) -> None:
        if self.weekday is not None:
            raise _unreadable()
        self.weekday = _Weekday(weekday, mode)
        self.date_after_clock = self.clock is not None

    def set_clock(self, clock: time, *, end_marker: bool = False, bare: bool = False) -> None:
        if self.clock is not None:
            raise _unreadable()
        self.clock, self.bare = clock, bare
        self.end_marker = self.end_marker or end_marker

    def set_part(self, part: str) -> None:
        if self.part is not None:
            raise _unreadable()
        self.part = part

    def set_zone(self, zone: ZoneInfo) -> None:
        if self.zone is not None:
            raise _unreadable()
        self.zone = zone

    def _clock(self) -> tuple[time | None, bool]:
        if self.part is None:
            return self.clock, self.bare
        if self.clock is None:
            clock, marker = _PARTS[self.part]
            self.end_marker = self.end_marker or marker
            return clock, False
        if not self.bare:
            return self.clock, False  # "9am in the morning"
        hour = self.clock.hour % 12
        if self.part.endswith("morning"):
            return self.clock.replace(hour=hour), False
        if self.part == "night" and hour == 0 and self.clock.minute == 0:
            return _EOD, False  # "12 at night"
        return self.clock.replace(hour=hour + 12 if hour or self.part != "afternoon" else 12), False

    def build(self) -> _Point:
        if self.date is None and self.weekday is None and self.clock is None and self.part is None:
            raise _unreadable()
        clock, bare = self._clock()
        if self.weekday is not None and self.date is not None:
            if self.weekday.mode != "plain" or isinstance(self.date, _Weekday | _PeriodEnd | _PeriodStart):
                raise _unreadable()
            return _Point(self.date, self.weekday.weekday, clock, self.end_marker, bare, self.zone,
                          self.date_after_clock)
        return _Point(self.date or self.weekday, None, clock, self.end_marker, bare, self.zone, self.date_after_clock)


def _year(text: str | None) -> int | None:
    if not text:
        return None
    return 2000 + int(text) if len(text) == 2 else int(text)


def _month_day(builder: _PointBuilder, month: int, day: int, year: int | None) -> None:
    builder.set_date(_MonthDay(month, day) if year is None else _Abs(year, month, day))


def _clock_12h(builder: _PointBuilder, m: re.Match[str]) -> None:
    hour, minute = int(m["h"]), int(m["m"] or 0)
    if not 1 <= hour <= 12 or minute > 59:
        raise _invalid(f"{m[0]} is not a valid time of day")
    hour %= 12
    if m["ampm"].startswith("p"):
        hour += 12
    builder.set_clock(time(hour, minute))


def _clock_24h(builder: _PointBuilder, m: re.Match[str]) -> None:
    """ "17:00", "5.30", "9", "5 o'clock": a 24-hour time, or, for an hour 1-12 written without a leading
    zero, a time that may be morning or afternoon."""
    hour, minute, second = int(m["h"]), int(m["m"] or 0), int(m["s"] or 0)
    if hour > 23 and "." in m[0] and minute <= 12 and not m["s"]:
        builder.set_date(_NumericDate(hour, minute, None))  # "24.12": a date, not a time
        return
    if hour > 23 or minute > 59 or second > 59:
        raise _invalid(f"{m[0]} is not a valid time of day")
    builder.set_clock(time(hour, minute), bare=1 <= hour <= 12 and not m["h"].startswith("0"))


def _weekday(builder: _PointBuilder, m: re.Match[str]) -> None:
    prefix, suffix = m["prefix"] or "", (m["suffix"] or "").strip()
    if prefix == "next" and suffix:
        raise _unreadable()
    modes: dict[str, _Mode] = {"next week": "next_week", "of next week": "next_week", "after next": "after_next",
                               "of this week": "this_week", "this week": "this_week"}
    mode: _Mode = "next" if prefix == "next" else modes.get(suffix, "plain")
    builder.set_weekday(_WEEKDAYS[m["wd"]], mode)


def _numeric_date(builder: _PointBuilder, m: re.Match[str]) -> None:
    if m["a"]:
        builder.set_date(_NumericDate(int(m["a"]), int(m["b"]), _year(m["y"])))
    else:
        builder.set_date(_NumericDate(int(m["a2"]), int(m["b2"]), _year(m["y2"])))


_PointAction = Callable[[_PointBuilder, re.Match[str]], None]


def _end_of_day_clock(builder: _PointBuilder, m: re.Match[str]) -> None:
    builder.set_clock(_EOD, end_marker=True)


def _close_of_business(builder: _PointBuilder, m: re.Match[str]) -> None:
    builder.set_clock(time(17, 0), end_marker=True)


def _tonight(builder: _PointBuilder, m: re.Match[str]) -> None:
    builder.set_date(_Rel(0))
    builder.set_part("night")


def _today_part(builder: _PointBuilder, m: re.Match[str]) -> None:
    builder.set_date(_Rel(0))
    builder.set_part(m["part"])


def _part(builder: _PointBuilder, m: re.Match[str]) -> None:
    builder.set_part(f"{m['mod']} {m['part']}" if m["mod"] else m["part"])


def _end_of_week(builder: _PointBuilder, m: re.Match[str]) -> None:
    builder.set_weekday(4, "next_week" if m["next"] else "plain")
    builder.end_marker = True


def _period_end(unit: _Unit) -> _PointAction:
    def action(builder: _PointBuilder, m: re.Match[str]) -> None:
        groups = m.groupdict()
        quarter = int(groups["q"]) if groups.get("q") else _QUARTER_WORDS.get(groups.get("qw") or "")
        month = _MONTHS[groups["mon"]] if groups.get("mon") else None
        builder.set_date(_PeriodEnd(unit, 1 if groups.get("next") else 0, month, quarter, _year(groups.get("y"))))
        builder.end_marker = True

    return action


def _period_start(builder: _PointBuilder, m: re.Match[str]) -> None:
    unit = m["unit"] or m["unit2"]
    builder.set_date(_PeriodStart("week" if unit == "week" else "month" if unit == "month" else "year"))
    builder.set_clock(_MIDNIGHT)


def _zone(builder: _PointBuilder, m: re.Match[str]) -> None:
    name = m["z"] or m["city"]
    if name == "ist":
        raise _Problem('I could not tell which time zone IST is in "{q}" (India or Ireland?): name a city, for'
                       ' example "5pm Dublin time" or "5pm Kolkata time".')
    if name in ("my", "local", "my local"):
        return  # the requester's own zone
    key = _ZONE_ABBREVIATIONS.get(name) or _city_zones().get(name)
    if key is None:
        raise _unreadable()
    builder.set_zone(ZoneInfo(key))


def _utc_offset(builder: _PointBuilder, m: re.Match[str]) -> None:
    hours = int(m["oh"]) * (1 if m["sign"] == "+" else -1)
    if m["om"] not in (None, "00") or not -12 <= hours <= 14:
        raise _unreadable()
    builder.set_zone(ZoneInfo("UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"))  # Etc/GMT signs are inverted


def _ignore(builder: _PointBuilder, m: re.Match[str]) -> None:
    pass


# the place an abbreviation stands for; its daylight saving is followed ("17:00 CET" in July is CEST)
_ZONE_ABBREVIATIONS: dict[str, str] = {
    **dict.fromkeys(("utc", "gmt", "zulu", "z"), "UTC"),
    **dict.fromkeys(("et", "est", "edt", "eastern"), "America/New_York"),
    **dict.fromkeys(("ct", "cst", "cdt", "central"), "America/Chicago"),
    **dict.fromkeys(("mt", "mst", "mdt", "mountain"), "America/Denver"),
    **dict.fromkeys(("pt", "pst", "pdt", "pacific"), "America/Los_Angeles"),
    "bst": "Europe/London", **dict.fromkeys(("cet", "cest"), "Europe/Paris"),
    **dict.fromkeys(("eet", "eest"), "Europe/Athens"), "jst": "Asia/Tokyo", "sgt": "Asia/Singapore",
    "hkt": "Asia/Hong_Kong", **dict.fromkeys(("aest", "aedt"), "Australia/Sydney"),
}


@functools.cache
def _city_zones() -> dict[str, str]:
    """ "new york" -> "America/New_York": the last part of every zone in the time zone database."""
    cities: dict[str, str] = {}
    for key in sorted(zoneinfo.available_timezones()):
        if "/" in key and not key.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/")):
            cities.setdefault(key.rsplit("/", 1)[1].replace("_", " ").lower(), key)
    return cities


_ZONE_WORDS = _alternation([*_ZONE_ABBREVIATIONS, "ist"])

_POINT_PATTERNS: list[tuple[str, _PointAction]] = [
    (r"(?:the )?(?:close|end) of (?:business|play)(?: day)?|cob|c\.o\.b\.?|eob"
     r"|(?:the )?end of (?:the )?(?:working|work|business) ?day", _close_of_business),
    (r"(?:the )?end of (?:the )?day|eod|e\.o\.d\.?", _end_of_day_clock),
    (r"(?:the )?end of (?:the |this |(?P<next>next) )?(?:working |work )?week|eow", _end_of_week),
    (r"(?:the )?end of (?:the |this |(?P<next>next) )?(?:calendar )?month|eom", _period_end("month")),
    (r"(?:the )?end of (?:the |this |(?P<next>next) )?(?:calendar |financial |fiscal )?year|eoy"
     r"|(?:the )?year[ -]end", _period_end("year")),
    (r"(?:the )?end of (?:the |this |(?P<next>next) )?quarter|eoq"
     r"|(?:the )?end of (?:q(?P<q>[1-4])|the (?P<qw>first|second|third|fourth|1st|2nd|3rd|4th) quarter)"
     r"(?: (?P<y>[0-9]{4}))?", _period_end("quarter")),
    (rf"(?:the )?end of (?:the month of )?(?P<mon>{_MON})(?: (?P<y>[0-9]{{4}}))?", _period_end("month")),
    # "end of tomorrow", "end of Friday": the end of whatever day follows
    (r"(?:the )?end of(?= \S)", _end_of_day_clock),
    (rf"(?:the )?day after (?:{_TOMORROW})", lambda b, m: b.set_date(_Rel(2))),
    (r"today", lambda b, m: b.set_date(_Rel(0))),
    (r"tonight|tonite|this (?P<night>night)", _tonight),
    (r"this (?P<part>morning|afternoon|evening)", _today_part),
    (_TOMORROW, lambda b, m: b.set_date(_Rel(1))),
    (
        r"(?P<y>[0-9]{4})[-/.](?P<mo>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})",
        lambda b, m: b.set_date(_Abs(int(m["y"]), int(m["mo"]), int(m["d"]))),
    ),
    (rf"(?:(?P<prefix>next|this|coming|the coming|this coming) )?(?P<wd>{_WD})\.?"
     r"(?P<suffix> (?:of )?next week| after next| (?:of )?this week)?", _weekday),
    (r"next (?P<unit>week|month|year)|the (?:following|next) (?P<unit2>week|month|year)", _period_start),
    (
        rf"(?P<mon>{_MON})\.? (?:the )?(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)?(?: (?P<y>[0-9]{{4}}))?",
        lambda b, m: _month_day(b, _MONTHS[m["mon"]], int(m["d"]), _year(m["y"])),
    ),
    (
        rf"(?:the )?(?P<d>[0-9]{{1,2}})(?:st|nd|rd|th)? (?:of )?(?P<mon>{_MON})\.?(?: (?P<y>[0-9]{{4}}))?",
        lambda b, m: _month_day(b, _MONTHS[m["mon"]], int(m["d"]), _year(m["y"])),
    ),
    (r"(?:the )?(?P<d>[0-9]{1,2})(?:st|nd|rd|th)", lambda b, m: b.set_date(_DayOfMonth(int(m["d"])))),
    (r"(?P<h>[0-9]{1,2})(?:[:.](?P<m>[0-9]{2}))? ?(?P<ampm>" + _AMPM + r")", _clock_12h),
    (r"(?P<h>[0-9]{1,2})(?:[:.](?P<m>[0-9]{2})(?::(?P<s>[0-9]{2}))?)?(?: ?o'?clock)?", _clock_24h),
    (r"(?:12 )?(?:noon|midday|lunch ?time|lunch)", lambda b, m: b.set_clock(time(12, 0))),
    (r"midnight", _end_of_day_clock),
    (r"first thing(?: in the morning)?", lambda b, m: b.set_part("morning")),
    (r"(?:(?:in|during) the |at )?(?P<mod>early|late)? ?(?P<part>morning|afternoon|evening|night)", _part),
    (r"(?P<a>[0-9]{1,2})(?P<sep>[./])(?P<b>[0-9]{1,2})(?:(?P=sep)(?P<y>[0-9]{4}|[0-9]{2}))?\.?"
     r"|(?P<a2>[0-9]{1,2})-(?P<b2>[0-9]{1,2})-(?P<y2>[0-9]{4}|[0-9]{2})", _numeric_date),
    (r"(?:utc|gmt) ?(?P<sign>[+-]) ?(?P<oh>[0-9]{1,2})(?::?(?P<om>[0-9]{2}))?", _utc_offset),
    (rf"(?P<z>{_ZONE_WORDS}|my|local|my local)(?: (?:standard |daylight )?time)?"
     r"|(?:in )?(?P<city>[a-z]+(?: [a-z]+){0,2}) time", _zone),
    (r"(?:on|at|@|around|about|by)(?= \S)", _ignore),
]
_QUARTER_WORDS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_POINT_RES: list[tuple[re.Pattern[str], _PointAction]] = [
    (re.compile(rf"(?:{pattern})(?= |$)"), action) for pattern, action in _POINT_PATTERNS
]


def _parse_point(text: str) -> _Point:
    builder = _PointBuilder()
    pos = 0
    while pos < len(text):
        for regex, action in _POINT_RES:
            match = regex.match(text, pos)
            if match is not None:
                action(builder, match)
                pos = match.end()
                break
        else:
            raise _unreadable()
        while pos < len(text) and text[pos] == " ":
            pos += 1
    return builder.build()


# ---------------------------------------------------------------------------------------------------------
# Points in time: resolution
# ---------------------------------------------------------------------------------------------------------

# zones whose people write the month first ("03/12" is 12 March there)
_MONTH_FIRST_ZONES = frozenset({
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix",
    "America/Anchorage", "America/Adak", "America/Boise", "America/Detroit", "America/Juneau", "America/Sitka",
    "America/Nome", "America/Yakutat", "America/Metlakatla", "America/Menominee", "America/Puerto_Rico",
    "Pacific/Honolulu", "Pacific/Guam",
})  # fmt: skip


def _checked_date(year: int, month: int, day: int, *, with_year: bool) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        month_name = _MONTH_NAME[month - 1] if 1 <= month <= 12 else f"month {month}"
        suffix = f" {year}" if with_year else ""
        raise _invalid(f"there is no {day} {month_name}{suffix}") from None


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _readings(clock: time) -> tuple[time, time]:
    """An hour 1-12 written without am/pm: the likelier reading (7-11 morning, 12 noon, 1-6 afternoon) and
    the other one."""
    if 7 <= clock.hour <= 11:
        return clock, clock.replace(hour=clock.hour + 12)
    if clock.hour == 12:
        return clock, clock.replace(hour=0)
    return clock.replace(hour=clock.hour + 12), clock


def _month_first(zone: ZoneInfo) -> bool:
    return zone.key in _MONTH_FIRST_ZONES or zone.key.startswith(
        ("America/Indiana/", "America/Kentucky/", "America/North_Dakota/", "US/"))


def _numeric(spec: _NumericDate, zone: ZoneInfo) -> _MonthDay | _Abs:
    """ "03/12": day first, or month first where people write it so; both real dates: the other is offered."""
    readings = [(spec.first, spec.second), (spec.second, spec.first)]  # (day, month)
    if _month_first(zone):
        readings.reverse()
    real = [(day, month) for day, month in readings
            if 1 <= month <= 12 and 1 <= day <= _MAX_MONTH_DAYS[month - 1]
            and (spec.year is None or _valid(spec.year, month, day))]
    if not real:
        raise _invalid(f"{spec.first}/{spec.second} is not a date")
    day, month = _choose(real[0], real[-1])
    return _MonthDay(month, day) if spec.year is None else _Abs(spec.year, month, day)


def _first_weekday(weekday: int, after: date) -> date:
    """The first ``weekday`` strictly after ``after``."""
    return after + timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)


def _resolve_weekday(spec: _Weekday, ref_day: date, today: date, ok: Callable[[date], bool], nearest: bool) -> date:
    monday = today - timedelta(days=today.weekday())
    if spec.mode == "next_week":
        return monday + timedelta(days=7 + spec.weekday)
    if spec.mode == "this_week":
        return monday + timedelta(days=spec.weekday)
    if spec.mode == "after_next":
        return _first_weekday(spec.weekday, today) + timedelta(days=7)
    if spec.mode == "next":
        first = _first_weekday(spec.weekday, ref_day)
        # in a range ("from Monday to next Friday"): the first after the start's day
        return first if nearest else _choose(monday + timedelta(days=7 + spec.weekday), first)
    day = ref_day if ok(ref_day) and ref_day.weekday() == spec.weekday else _first_weekday(spec.weekday, ref_day)
    if not ok(day):
        day += timedelta(days=7)
    if day == today and not nearest:
        return _choose(day, day + timedelta(days=7))  # "until Friday" on a Friday: today, or next week's?
    return day


def _resolve_period(spec: _PeriodEnd | _PeriodStart, today: date, ok: Callable[[date], bool]) -> date:
    if isinstance(spec, _PeriodStart):
        if spec.unit == "week":
            return today - timedelta(days=today.weekday()) + timedelta(days=7)
        if spec.unit == "month":
            return date(*_add_months(today, 1), 1)
        return date(today.year + 1, 1, 1)
    if spec.unit == "year":
        return date((spec.year or today.year) + spec.offset, 12, 31)
    if spec.month is None and spec.quarter is None:  # this (or next) month or quarter
        months = 1 if spec.unit == "month" else 3
        first = date(today.year, (today.month - 1) // months * months + 1, 1)
        return _last_day(*_add_months(first, months * spec.offset + months - 1))
    month = spec.month or (spec.quarter or 1) * 3
    if spec.year is not None:
        return _last_day(spec.year, month)
    for year in range(today.year, today.year + 2):
        if ok(candidate := _last_day(year, month)):
            return candidate
    raise _unreadable()


def _resolve_day(spec: _DateSpec | None, ref: datetime, now_l: datetime, ok: Callable[[date], bool],
                 nearest: bool = False) -> date:
    today, ref_day = now_l.date(), ref.date()
    if spec is None:
        return ref_day if ok(ref_day) else ref_day + timedelta(days=1)
    if isinstance(spec, _NumericDate):
        return _resolve_day(_numeric(spec, _zone_of(now_l)), ref, now_l, ok, nearest)
    if isinstance(spec, _Rel):
        return today + timedelta(days=spec.days)
    if isinstance(spec, _Abs):
        if spec.year > now_l.year + _MAX_YEARS_AHEAD:
            raise _Problem('"{q}" is too far in the future.')
        return _checked_date(spec.year, spec.month, spec.day, with_year=True)
    if isinstance(spec, _MonthDay):
        if not 1 <= spec.day <= _MAX_MONTH_DAYS[spec.month - 1]:
            raise _invalid(f"there is no {spec.day} {_MONTH_NAME[spec.month - 1]}")
        for year in range(ref_day.year, ref_day.year + 9):
            if _valid(year, spec.month, spec.day) and ok(candidate := date(year, spec.month, spec.day)):
                return candidate
        raise _unreadable()
    if isinstance(spec, _DayOfMonth):
        if not 1 <= spec.day <= 31:
            raise _invalid(f"there is no day {spec.day} in a month")
        for months in range(25):
            year, month = _add_months(ref_day, months)
            if _valid(year, month, spec.day) and ok(candidate := date(year, month, spec.day)):
                return candidate
        raise _unreadable()
    if isinstance(spec, _Weekday):
        return _resolve_weekday(spec, ref_day, today, ok, nearest)
    return _resolve_period(spec, today, ok)


def _recent_start(point: _Point | None, now_l: datetime) -> datetime | None:
    """The start a month-and-day or day-of-month start ("from Dec 24", "from the 1st") meant when it
    fell in the last few weeks. The callers decide whether the user meant it (then it is a problem:
    it has passed) rather than the same day a year or a month later: when the window it opens is
    still running, or, with no end, when it was in the last week."""
    day = _recent_past(point.date, now_l) if point is not None else None
    return None if point is None or day is None else _at(day, point.clock or _MIDNIGHT, _zone_of(now_l))


def _recent_past(spec: _DateSpec | None, now_l: datetime) -> date | None:
    today = now_l.date()
    if isinstance(spec, _MonthDay):
        candidates = [(year, spec.month, spec.day) for year in (today.year, today.year - 1)]
    elif isinstance(spec, _DayOfMonth):
        candidates = [(*_add_months(today, months), spec.day) for months in (0, -1)]
    else:
        return None
    for year, month, day in candidates:
        if _valid(year, month, day) and today - timedelta(days=_RECENT_DAYS) <= date(year, month, day) < today:
            return date(year, month, day)
    return None


_RECENT_DAYS = 31
_RECENT_DAYS_NO_END = 7


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _resolve(point: _Point, role: Literal["start", "end"], ref: datetime, now_l: datetime, *,
             nearest: bool = False) -> datetime:
    """The point as an aware datetime; relative parts roll forward until they are after ``ref``. ``nearest``:
    ``ref`` is the start of a range and the point its end (the first reading after the start, no choice)."""
    zone = _zone_of(now_l)
    if point.zone is not None and point.zone != zone:  # "5pm London time": read there, shown here
        there = _resolve(replace(point, zone=None), role, ref, now_l.astimezone(point.zone), nearest=nearest)
        return there.astimezone(zone)
    if point.bare and point.clock is not None:
        likely, other = _readings(point.clock)
        if nearest and point.date is None:  # "9am-5": the first reading after the start
            return min((_resolve(replace(point, clock=clock, bare=False), role, ref, now_l, nearest=True)
                        for clock in (likely, other)), key=_utc)
        point = replace(point, clock=_choose(likely, other), bare=False)
    ref_l = ref.astimezone(zone)
    probe = point.clock or _EOD  # a date without time counts as long as its end is still ahead

    def ok(day: date) -> bool:
        return _utc(_at(day, probe, zone)) > _utc(ref_l)

    day = _resolve_day(point.date, ref_l, now_l, ok, nearest)
    if point.weekday_check is not None and day.weekday() != point.weekday_check:
        raise _invalid(
            f"{day.day} {_MONTH_ABBR[day.month - 1]} {day.year} is a {_WEEKDAY_NAME[day.weekday()]},"
            f" not a {_WEEKDAY_NAME[point.weekday_check]}"
        )
    default = _EOD if role == "end" else _MIDNIGHT
    return _at(day, point.clock or default, zone)


def _zone_of(now_l: datetime) -> ZoneInfo:
    assert isinstance(now_l.tzinfo, ZoneInfo)
    return now_l.tzinfo


def _check_end(end: datetime, start: datetime | None, now_l: datetime) -> datetime:
    if start is not None and _utc(end) <= _utc(start):
        end_text, start_text = describe(end, now_l), describe(start, now_l)
        raise _Problem(f'The end of "{{q}}" ({end_text}) is not after its start ({start_text}).')
    if _utc(end) <= _utc(now_l):
        raise _Problem('The end of "{q}" (' + describe(end, now_l) + ") is in the past.")
    if end.year > now_l.year + _MAX_YEARS_AHEAD:
        raise _Problem('"{q}" is too far in the future.')
    return end


def _check_start(start: datetime, now_l: datetime) -> datetime | None:
    if _utc(start) <= _utc(now_l):
        if start.astimezone(now_l.tzinfo).date() == now_l.date():
            return None  # already started today: as soon as approved
        raise _Problem('The start of "{q}" (' + describe(start.astimezone(now_l.tzinfo), now_l) + ") is in the past.")
    if start.year > now_l.year + _MAX_YEARS_AHEAD:
        raise _Problem('"{q}" is too far in the future.')
    return start


def _end_point(point: _Point, now_l: datetime) -> datetime:
    return _check_end(_resolve(point, "end", now_l, now_l), None, now_l)


_NOW_RE = re.compile(r"(?:right )?now|asap|as soon as possible|immediately|straight away|right away")
_DAY_NUMBER_RE = re.compile(r"(?:the )?(?P<d>[0-9]{1,2})(?:st|nd|rd|th)?")


def _parse_start(text: str) -> _Point | None:
    """The start point of a range, or None for "now"."""
    return None if _NOW_RE.fullmatch(text) else _parse_point(text)


def _start_point(point: _Point | None, now_l: datetime) -> datetime | None:
    if point is None:
        return None
    return _check_start(_resolve(point, "start", now_l, now_l), now_l)


def _has_month(point: _Point) -> bool:
    return isinstance(point.date, _MonthDay | _Abs | _NumericDate) and point.clock is None


def _range_points(start_text: str, end_text: str) -> tuple[_Point | None, _Point]:
    """Both ends of a range, each completed from the other: a day written once ("July 13 to 15", "from 11:00
    to 17:00 tomorrow"), am/pm written once ("3:30 to 6 PM", "9-5")."""
    start, end = _parse_start(start_text), _parse_point(end_text)
    if start is None:
        return None, end
    if (day := _DAY_NUMBER_RE.fullmatch(end_text)) and _has_month(start):  # "July 13 to 15"
        end = _Point(_DayOfMonth(int(day["d"])), None, None, False)
    if start.date is None and start.weekday_check is None and end.date is not None and end.clock is not None \
            and start.clock is not None and end.date_after_clock and not end.end_marker \
            and (start.bare or end.bare or start.clock < end.clock):
        # "from 11:00 to 17:00 tomorrow" (not "from 9pm until 7am tomorrow": that day is the end's)
        start = replace(start, date=end.date, weekday_check=end.weekday_check)
    if start.zone is None and end.zone is not None and start.date is None:
        start = replace(start, zone=end.zone)  # "9-5 London time"
    one_day = end.date is None or (end.date_after_clock and not end.end_marker)
    if start.bare and start.clock is not None and end.clock is not None and one_day:  # a range of times
        likely, other = _readings(start.clock)
        if not end.bare:  # "3:30 to 6 PM": the reading before the end
            before = [clock for clock in (likely, other) if clock < end.clock]
            likely = max(before) if before else max(likely, other)
        start = replace(start, clock=likely, bare=False)
    return start, end


def _month_once(day: int, end_point: _Point, now_l: datetime) -> _Pair:
    """ "from the 13th to 15th July", "13-15 July": the start is the last such day before the end."""
    end = _resolve(end_point, "end", now_l, now_l)
    year, month = end.year, end.month
    if day > end.day:
        year, month = _add_months(end.date(), -1)
    raw_start = _at(_checked_date(year, month, day, with_year=False), _MIDNIGHT, _zone_of(now_l))
    start = _check_start(raw_start, now_l)
    return start, _check_end(end, raw_start, now_l)


def _range(start_text: str, end_text: str, now_l: datetime) -> _Pair:
    end_first = _parse_point(end_text)
    if (day := _DAY_NUMBER_RE.fullmatch(start_text)) is not None and _has_month(end_first):
        return _month_once(int(day["d"]), end_first, now_l)
    start_point, end_point = _range_points(start_text, end_text)
    if start_point is not None and (recent := _recent_start(start_point, now_l)) is not None:
        with _quiet():
            try:
                recent_end = _resolve(end_point, "end", recent, now_l, nearest=True)
                ahead = _resolve(start_point, "start", now_l, now_l)
                ahead_end = _resolve(end_point, "end", ahead, now_l, nearest=True)
            except _Problem:
                recent_end = None
        # "from Dec 24 to Jan 2" on 28 Dec: not next year's, this one, which has begun (unless that one would
        # be longer: "from the 27th to the 29th" on 3 March is not 27 Feb to 29 March)
        if recent_end is not None and _utc(recent_end) > _utc(now_l) \
                and recent_end - recent <= ahead_end - ahead + timedelta(days=1):
            _check_start(recent, now_l)
    if start_point is None:
        return None, _end_point(end_point, now_l)
    raw_start = _resolve(start_point, "start", now_l, now_l)
    end = _resolve(end_point, "end", raw_start, now_l, nearest=True)
    start = _check_start(raw_start, now_l)
    return start, _check_end(end, raw_start, now_l)


# ---------------------------------------------------------------------------------------------------------
# Durations
# ---------------------------------------------------------------------------------------------------------

_DUR_UNIT = r"minutes?|mins?|hours?|hrs?|hr|days?|weeks?|wks?|wk|fortnights?|months?|mos?"
_DUR_PART_RE = re.compile(
    r"(?:(?P<half>(?:a )?half (?:an )?hour)|(?P<quarter>(?:a )?quarter(?: of)?(?: an)? hour)"
    r"|(?P<threeq>three quarters of an hour)"
    r"|(?:(?P<num>[0-9]{1,7}(?:\.[0-9]{1,4})?)(?P<half1> and a half| 1/2)? ?(?P<unit>" + _DUR_UNIT + r"|m|h|d|w)"
    r"|(?P<word>" + _alternation(_NUMBER_WORDS) + r")(?P<whalf> and a half)? (?P<wunit>" + _DUR_UNIT + r"))"
    r"(?P<half2> and a half)?)"
    r"(?=[ 0-9]|$)"
)
_UNIT_MINUTES = {"m": 1, "h": 60}
_UNIT_DAYS = {"d": 1, "w": 7, "f": 14}


@dataclass(frozen=True)
class _Duration:
    days: int  # calendar days, keeping the wall-clock time
    minutes: int  # exact elapsed minutes
    months: int = 0  # calendar months, keeping the day (or the month's last) and the wall-clock time


def _unit_of(match: re.Match[str]) -> str:
    if match["half"] or match["quarter"] or match["threeq"]:
        return "h"
    unit = match["unit"] or match["wunit"]
    return "o" if unit.startswith("mo") else unit[0]  # m(inutes), h, d, w, f(ortnight), (m)o(nths)


def _parse_duration(text: str) -> _Duration | None:
    """A duration, or None when the text is not (entirely) a duration."""
    text = text.replace("½", " 1/2").replace("1/2 an hour", "half an hour").replace("1/2 hour", "half hour")
    text = re.sub(r"\bhalf hour\b", "half an hour", " ".join(text.split()))
    amounts: dict[str, Fraction] = {}
    pos = 0
    while True:
        match = _DUR_PART_RE.match(text, pos)
        if match is None:
            return None
        unit = _unit_of(match)
        if unit in amounts:
            return None  # "2 hours 3 hours"
        amounts[unit] = _amount(match)
        pos = match.end()
        rest = re.match(r" ?(?:and )?", text[pos:])
        pos += rest.end() if rest else 0
        if pos >= len(text):
            break
    minutes = sum((amounts.get(unit, Fraction(0)) * per for unit, per in _UNIT_MINUTES.items()), Fraction(0))
    days = sum((amounts.get(unit, Fraction(0)) * per for unit, per in _UNIT_DAYS.items()), Fraction(0))
    months = amounts.get("o", Fraction(0))
    if days.denominator != 1 or months.denominator != 1:
        raise _invalid("please give days, weeks and months as whole numbers")
    if minutes.denominator != 1:
        raise _invalid("please give the duration in whole minutes")
    if days == 0 and minutes == 0 and months == 0:
        raise _invalid("the duration must be more than zero")
    if days + minutes / 1440 + months * 31 > 366 * _MAX_YEARS_AHEAD:
        raise _Problem('"{q}" is too far in the future.')
    return _Duration(int(days), int(minutes), int(months))


def _amount(match: re.Match[str]) -> Fraction:
    if match["half"]:
        return Fraction(1, 2)
    if match["quarter"]:
        return Fraction(1, 4)
    if match["threeq"]:
        return Fraction(3, 4)
    value = Fraction(match["num"]) if match["num"] else Fraction(_NUMBER_WORDS[match["word"]])
    if match["half1"] or match["whalf"] or match["half2"]:
        value += Fraction(1, 2)
    return value


def _add_duration(base: datetime, duration: _Duration) -> datetime:
    zone = _zone_of(base)
    shifted = base
    if duration.days or duration.months:
        day = base.date()
        if duration.months:
            year, month = _add_months(day, duration.months)
            day = date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
        day += timedelta(days=duration.days)
        shifted = _normalized(datetime.combine(day, base.timetz()), zone)
    return (_utc(shifted) + timedelta(minutes=duration.minutes)).astimezone(zone)


# ---------------------------------------------------------------------------------------------------------
# Whole phrases
# ---------------------------------------------------------------------------------------------------------

_REST_OF_DAY_RE = re.compile(
    r"(?:(?:for|during) )?(?:(?:the )?(?:rest|remainder) of (?:the )?(?:day|today)|today|all day(?: today)?)"
    r"|(?:for|during) the day"
)
_WEEKEND_RE = re.compile(r"(?:(?:for|over|during|on|this|the|coming|all|whole|entire) )*weekend")
_NEXT_WEEKEND_RE = re.compile(r"(?:(?:for|over|during|on|the|all) )*next weekend")
_NEXT_WEEK_RE = re.compile(r"(?:(?:for|during|over|all|of|the|whole|entire) )*(?:next|the following) week")
_WEEK_AFTER_NEXT_RE = re.compile(r"(?:(?:for|during|over|all|of|the|whole|entire) )*week after next")
_REST_OF_WEEK_RE = re.compile(
    r"(?:(?:for|during|over) )?(?:(?:the )?(?:rest|remainder) of (?:the |this )?week|this week|all week)"
    r"|(?:for|during) the week"
)
_REST_OF_MONTH_RE = re.compile(
    r"(?:(?:for|during|over) )?(?:(?:the )?(?:rest|remainder) of (?:the |this )?month|this month|all month)"
    r"|(?:for|during) the month"
)
_NEXT_MONTH_RE = re.compile(r"(?:(?:for|during|over|all|of|the|whole|entire) )*(?:next|the following) month")
_BETWEEN_RE = re.compile(r"(?:(?:for|on) )?between (?P<a>.+?) and (?P<b>.+)")
_RANGE_RE = re.compile(rf"(?:(?:for|on) )?(?:(?:{_START_WORD}) )?(?P<a>.+?) (?:{_CONNECTOR}) (?P<b>.+)")
# "Thursday from 9:30 to 11:00": the day holds for the range that follows
_DAY_THEN_RANGE_RE = re.compile(rf"(?:on )?(?P<day>\S+(?: \S+){{0,3}}?) (?P<range>(?:{_START_WORD}|between) .+)")
_START_RE = re.compile(rf"(?:(?:for|on) )?(?:{_START_WORD}) (?P<a>.+?)(?: for (?P<d>.+))?")
# "18 Dec for 10 days", "tomorrow for 2 hours"; "for 30 mins starting 4pm"
_POINT_FOR_RE = re.compile(r"(?:on )?(?P<a>.+?) for (?P<d>.+)")
_FOR_STARTING_RE = re.compile(rf"(?:for )?(?P<d>.+?) (?:{_START_WORD})(?: at| on)? (?P<a>.+)")
_UNTIL_RE = re.compile(rf"(?:{_UNTIL}) (?P<b>.+)")
_DURATION_RE = re.compile(
    r"(?:(?:for|in|during|over) )?(?P<next>(?:the )?next |another )?(?P<neg>-|minus |negative )?(?P<d>.+)"
)
_WHOLE_DAY_RE = re.compile(r"(?:(?:for|on|during) )?(?:all day )?(?:the (?:whole|entire) day )?(?P<p>.+?)"
                           r"(?: all day| the whole day)?")

_PLAIN_WEEKDAY_RE = re.compile(rf"(?:{_WD})\.?")

_Pair = tuple[datetime | None, datetime | None]


def _weekend(now_l: datetime, weeks: int = 0) -> _Pair:
    zone, today = _zone_of(now_l), now_l.date()
    if today.weekday() < 5 or weeks:
        saturday = today - timedelta(days=today.weekday()) + timedelta(days=5 + 7 * weeks)
        return _at(saturday, _MIDNIGHT, zone), end_of_day(saturday + timedelta(days=1), zone)
    sunday = today + timedelta(days=6 - today.weekday())
    return None, _check_end(end_of_day(sunday, zone), None, now_l)


def _work_week(now_l: datetime, weeks: int) -> _Pair:
    zone, today = _zone_of(now_l), now_l.date()
    monday = today - timedelta(days=today.weekday()) + timedelta(days=7 * weeks)
    return _at(monday, _MIDNIGHT, zone), end_of_day(monday + timedelta(days=4), zone)


def _month(now_l: datetime, months: int) -> _Pair:
    zone = _zone_of(now_l)
    year, month = _add_months(now_l.date(), months)
    end = end_of_day(_last_day(year, month), zone)
    return (None if months == 0 else _at(date(year, month, 1), _MIDNIGHT, zone)), _check_end(end, None, now_l)


def _duration_text(match: re.Match[str]) -> str:
    text = match["d"]
    if match["next"] and text in ("minute", "hour", "day", "week", "month", "fortnight"):
        return "1 " + text  # "for the next hour"
    return text


def _duration_from(text: str, base: datetime) -> datetime | None:
    """``base`` + the duration in ``text``; None when ``text`` is not a duration at all."""
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        return None
    duration = _parse_duration(_duration_text(match))
    if duration is None:
        return None
    if match["neg"]:
        raise _invalid("the duration must be more than zero")
    return _add_duration(base, duration)


_WHOLE_PHRASES: list[tuple[re.Pattern[str], Callable[[datetime], _Pair]]] = [
    (_REST_OF_DAY_RE, lambda now_l: (None, _check_end(end_of_day(now_l.date(), _zone_of(now_l)), None, now_l))),
    (_WEEKEND_RE, _weekend),
    (_NEXT_WEEKEND_RE, lambda now_l: _weekend(now_l, 1)),
    (_NEXT_WEEK_RE, lambda now_l: _work_week(now_l, 1)),
    (_WEEK_AFTER_NEXT_RE, lambda now_l: _work_week(now_l, 2)),
    (_REST_OF_WEEK_RE, lambda now_l: (None, _end_point(_parse_point("end of the week"), now_l))),
    (_REST_OF_MONTH_RE, lambda now_l: _month(now_l, 0)),
    (_NEXT_MONTH_RE, lambda now_l: _month(now_l, 1)),
]


def _start_and_duration(start_text: str, duration_text: str, now_l: datetime) -> _Pair | None:
    """ "from 4pm for 30 mins", "18 Dec for 10 days": None when the text is not a start and a duration."""
    duration = _DURATION_RE.fullmatch(duration_text)
    if duration is None or _parse_duration(duration["d"]) is None:
        return None
    start_point = _parse_start(start_text)
    start = _start_point(start_point, now_l)
    _past_recent_start(start_point, start, duration_text, now_l)
    end = _duration_from(duration_text, start or now_l)
    assert end is not None
    return start, end


def _past_recent_start(point: _Point | None, start: datetime | None, duration: str | None, now_l: datetime) -> None:
    """ "from Dec 1" on 2 Dec means that one, which has passed, not next year's: a problem."""
    recent = _recent_start(point, now_l)
    if recent is None or start is None:
        return
    if duration:  # meant that recent start if its window is still running
        recent_end = _duration_from(duration, recent)
        meant = recent_end is not None and _utc(recent_end) > _utc(now_l)
    else:
        meant = now_l.date() - recent.date() <= timedelta(days=_RECENT_DAYS_NO_END)
    if meant:
        _check_start(recent, now_l)


def _parse_phrase(text: str, now_l: datetime) -> _Pair:
    if not text:
        raise _unreadable()  # only brackets
    for pattern, window in _WHOLE_PHRASES:
        if pattern.fullmatch(text):
            return window(now_l)
    if (match := _DAY_THEN_RANGE_RE.fullmatch(text)) is not None and _is_day(match["day"]):
        text = f"{match['range']} {match['day']}"  # "Thursday from 9:30 to 11:00" -> "... to 11:00 thursday"

    if (match := _BETWEEN_RE.fullmatch(text) or _RANGE_RE.fullmatch(text)) is not None:
        start_text, end_day = match["a"], match["b"].split(" ", 1)[0].rstrip(".")
        if match["b"].endswith(" next week") and _PLAIN_WEEKDAY_RE.fullmatch(start_text) and end_day in _WEEKDAYS \
                and _WEEKDAYS[start_text.rstrip(".")] <= _WEEKDAYS[end_day]:
            start_text += " next week"  # "Monday to Wednesday next week": both days are next week's
            # ("Friday to Tuesday next week" is this Friday to next week's Tuesday)
        return _range(start_text, match["b"], now_l)

    if (match := _START_RE.fullmatch(text)) is not None:
        if match["d"] is not None:
            if (pair := _start_and_duration(match["a"], match["d"], now_l)) is None:
                raise _unreadable()
            return pair
        start_point = _parse_start(match["a"])
        start = _start_point(start_point, now_l)
        _past_recent_start(start_point, start, None, now_l)
        return start, None

    for pattern in (_FOR_STARTING_RE, _POINT_FOR_RE):
        if (match := pattern.fullmatch(text)) is not None:
            try:
                if (pair := _start_and_duration(match["a"], match["d"], now_l)) is not None:
                    return pair
            except _Problem as problem:
                if not problem.unreadable:
                    raise

    if (match := _UNTIL_RE.fullmatch(text)) is not None:
        return None, _end_point(_parse_point(match["b"]), now_l)

    if (end := _duration_from(text, now_l)) is not None:
        return None, end

    match = _WHOLE_DAY_RE.fullmatch(text)
    assert match is not None  # the pattern accepts any non-empty text
    point = _parse_point(match["p"])
    if point.end_marker:
        return None, _end_point(point, now_l)
    if point.clock is not None:
        raise _Problem(_START_OR_END)
    start = _resolve(point, "start", now_l, now_l)
    end = _check_end(end_of_day(start.date(), _zone_of(now_l)), None, now_l)
    return _check_start(start, now_l), end


def _is_day(text: str) -> bool:
    try:
        point = _parse_point(text)
    except _Problem:
        return False
    return point.date is not None and point.clock is None


# ---------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------


def parse_window(text: str, now: datetime, zone: ZoneInfo) -> Window:
    """Read a time phrase such as "until Friday" or "for 2 hours" in ``zone``, relative to ``now``.

    ``now`` must be aware (any zone). See the module docstring for the rules.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("parse_window() needs an aware 'now'")
    now_l = now.astimezone(zone)
    if len(" ".join(text.split())) > _MAX_PHRASE:  # also bounds the work the patterns do on hostile text
        return Window(None, None, _TOO_LONG)
    phrase = _clean(text)
    if not phrase:
        return Window(None, None, None)
    # the first problem that is not "unreadable" ("31 June does not exist") is the answer unless a shorter
    # head reads: "for 90 minutes, hold my calls" is not "90 is not a valid time of day"
    first: tuple[_Problem, str] | None = None
    for candidate in _candidates(phrase):
        try:
            (start, end), seen = _reading(_normalize(candidate), now_l, flip=None)
        except _Problem as problem:
            if first is None or (first[0].unreadable and not problem.unreadable):
                first = problem, candidate
            continue
        text = _normalize(candidate)
        return Window(start, end, None, _other_reading(text, now_l, (start, end)) if seen else None,
                      _lasts(text, now_l, end) if start is None else None)
    assert first is not None
    found, candidate = first
    return Window(None, None, found.message(_excerpt(phrase if found.unreadable else candidate)))


# Whether a phrase reads hardly depends on when: it reads at one of two moments half a year apart ("Dec 21 to
# Jan 4" is a start in the past on 3 January)
_READ_AT = (datetime(2000, 1, 3, 12, 0, tzinfo=ZoneInfo("UTC")), datetime(2000, 7, 3, 12, 0, tzinfo=ZoneInfo("UTC")))


def time_phrase(text: str) -> tuple[str, bool]:
    """The part of ``text`` read as a time ("until Friday" of "until Friday, thanks") at any moment, and
    whether it reads without a problem; a phrase with one ("until 31 June", "on next week": start or end?)
    comes with False, for the form to say what is wrong; ("", False) when nothing reads ("vacation")."""
    if len(" ".join(text.split())) > _MAX_PHRASE or not (phrase := _clean(text)):
        return "", False
    invalid = ""
    for candidate in _candidates(phrase):
        for moment in _READ_AT:
            try:
                with _quiet():
                    _parse_phrase(_normalize(candidate), moment)
            except _Problem as problem:
                if problem.unreadable:
                    break
                invalid = invalid or candidate
                continue
            return candidate, True
    return invalid, False


def _lasts(text: str, now_l: datetime, end: datetime | None) -> Duration | None:
    """The duration a phrase is ("for 2 hours", "for the next 3 days"), when its end is that duration from
    now; None for anything else."""
    match = _DURATION_RE.fullmatch(text)
    if match is None or end is None:
        return None
    try:
        with _quiet():
            parsed = _parse_duration(_duration_text(match))
    except _Problem:
        return None
    if parsed is None or match["neg"]:
        return None
    lasts = Duration(parsed.months, parsed.days, parsed.minutes)
    return lasts if add_duration(now_l, lasts) == end else None


def add_duration(base: datetime, lasts: Duration) -> datetime:
    """``base`` (aware, in the requester's zone) plus ``lasts``: months and days on the calendar, keeping the
    wall-clock time; minutes elapsed."""
    return _add_duration(base, _Duration(lasts.days, lasts.minutes, lasts.months))


def _reading(text: str, now_l: datetime, flip: int | None) -> tuple[_Pair, int]:
    """The phrase read taking the likelier side of every ambiguity, or the other side of the ``flip``-th;
    and how many ambiguities there were."""
    choices = _Choices(flip)
    token = _CHOICES.set(choices)
    try:
        return _parse_phrase(text, now_l), choices.seen
    finally:
        _CHOICES.reset(token)


def _other_reading(text: str, now_l: datetime, likely: _Pair) -> Window | None:
    """The phrase's other reading, when it has one that can be used and differs from the likelier one."""
    try:
        other, _ = _reading(text, now_l, flip=0)
    except _Problem:
        return None
    return None if other == likely else Window(other[0], other[1], None)


_EXTRA_RE = re.compile(
    r"(?:(?:by|for) )?(?P<another>(?:another|an extra|extra|a further|further|an additional|additional) )?"
    r"(?P<d>.+?)(?: (?:more|longer|extra|again))?"
)


def parse_extension(text: str, end: datetime, now: datetime, zone: ZoneInfo) -> Window:
    """The new end of an intercept that ends at ``end``, from what follows "extend".

    A bare duration adds to the current end ("extend for 2 hours", "extend by 2 days", "extend for
    another hour", "extend 30 minutes more"); anything else is an end read as :func:`parse_window`
    reads it ("extend until Friday", "extend to 5pm"). ``start`` is always None.
    """
    if end.tzinfo is None or now.tzinfo is None:
        raise ValueError("parse_extension() needs aware datetimes")
    if len(" ".join(text.split())) > _MAX_PHRASE:  # also bounds the work the patterns do on hostile text
        return Window(None, None, _TOO_LONG)
    phrase = _clean(text)
    for candidate in _candidates(phrase):
        match = _EXTRA_RE.fullmatch(_normalize(candidate))
        if match is None:
            continue
        amount = re.sub(r"^(\S+) (?:more|extra|additional|further) ", r"\1 ", match["d"])  # "2 more hours"
        if match["another"] and amount in ("minute", "hour", "day", "week"):
            amount = "1 " + amount  # "another hour"
        try:
            duration = _parse_duration(amount)
        except _Problem as problem:
            return Window(None, None, problem.message(_excerpt(candidate)))
        if duration is not None:
            return Window(None, _add_duration(end.astimezone(zone), duration), None)
    if re.match(r"to\b", phrase, re.IGNORECASE):
        phrase = "until" + phrase[2:]  # "extend to Friday"
    window = parse_window(phrase, now, zone)
    return Window(None, window.end, window.problem)
