"""No long wrong windows: every range phrase, said on every day of two years in every zone the tests use,
either ends on the day it names and lasts no longer than it names, or is refused.

(Said on 16 July, "from the 13th to 15th July" once read 13 Aug -> 15 July next year: eleven months.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.timeparse import Window, parse_window

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")
FIRST_DAY = date(2026, 1, 1)
DAYS = 731  # two years, one of them with a 29 February around it (2028 is reached by the phrases)

EndsOn = Callable[[datetime], bool]


def on(month: int, day: int) -> EndsOn:
    return lambda end: (end.month, end.day) == (month, day)


def weekday(number: int) -> EndsOn:
    return lambda end: end.weekday() == number


def day_of_month(day: int) -> EndsOn:
    return lambda end: end.day == day


def clock(hour: int, minute: int = 0) -> EndsOn:
    return lambda end: (end.hour, end.minute) == (hour, minute)


# phrase, the day (or time) its end must be on, the longest window it names
RANGES: list[tuple[str, EndsOn, timedelta]] = [
    ("from the 13th to 15th July", on(7, 15), timedelta(days=3)),
    ("23rd to 26th Oct", on(10, 26), timedelta(days=4)),
    ("19th To 21st aug", on(8, 21), timedelta(days=3)),
    ("July 13 to 15", on(7, 15), timedelta(days=3)),
    ("13-15 July", on(7, 15), timedelta(days=3)),
    ("from 13 to 15 July", on(7, 15), timedelta(days=3)),
    ("from the 28th to 2nd Aug", on(8, 2), timedelta(days=6)),
    ("between the 30th and the 2nd", day_of_month(2), timedelta(days=4)),
    ("from Dec 24 to Jan 2", on(1, 2), timedelta(days=10)),
    ("from 27 Feb to 1 March", on(3, 1), timedelta(days=4)),
    ("from the 20th to the 3rd", day_of_month(3), timedelta(days=15)),
    ("from Monday to Friday", weekday(4), timedelta(days=5)),
    ("Friday to Tuesday", weekday(1), timedelta(days=5)),
    ("Mon-Wed next week", weekday(2), timedelta(days=3)),
    ("from next Monday to Thursday", weekday(3), timedelta(days=4)),
    ("from Friday 17:00 to Monday 9:00", weekday(0), timedelta(days=3, hours=16)),  # 21:00 is offered
    ("from 10pm to 6am", clock(6), timedelta(hours=8)),
    ("3-4pm", clock(16), timedelta(hours=1)),
    ("11:30-1:30", clock(13, 30), timedelta(hours=2)),
    ("from 11:00 to 17:00 tomorrow", clock(17), timedelta(hours=6)),
    ("18 Dec for 10 days", on(12, 28), timedelta(days=10)),
]


def _checked(window: Window, now: datetime, phrase: str, ends_on: EndsOn, longest: timedelta) -> None:
    if window.end is None:
        assert window.problem is not None, phrase  # refused, and says why
        return
    end = window.end
    assert ends_on(end), f"{phrase!r} said {now:%a %Y-%m-%d %H:%M %Z} ends {end:%a %Y-%m-%d %H:%M}"
    begins = window.start or now
    assert end - begins <= longest + timedelta(hours=1), (  # an hour for a daylight-saving change
        f"{phrase!r} said {now:%a %Y-%m-%d %H:%M %Z} is {begins:%Y-%m-%d %H:%M} -> {end:%Y-%m-%d %H:%M}")


@pytest.mark.parametrize("zone_name", ZONES)
def test_no_range_comes_out_longer_than_named_or_ends_on_another_day(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    accepted = 0
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for at in (time(10, 0), time(23, 30)) if offset % 7 == 0 else (time(10, 0),):
            now = datetime.combine(day, at, tzinfo=zone)
            for phrase, ends_on, longest in RANGES:
                window = parse_window(phrase, now, zone)
                _checked(window, now, phrase, ends_on, longest)
                if window.other is not None:
                    _checked(window.other, now, phrase, ends_on, longest)
                accepted += window.end is not None
    # the sweep is not vacuous: most phrases are read on most days
    assert accepted > 0.8 * DAYS * len(RANGES)
