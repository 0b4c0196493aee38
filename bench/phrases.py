"""B5 phrase parsing: how long reading a time phrase takes, for any phrase under 300 characters (the
issue's target: under 5 ms at p99). In-process, no server.

    .venv/bin/python -m bench.phrases

The inputs: every phrase of tests/corpus/time_phrases.tsv through `parse_window`; every sentence of
tests/corpus/sentences.tsv (if there is one) read as the bot reads a chat message (`parse_command`, then
`parse_window` on its time phrase); hostile text of up to 299 characters (digits and separators, repeated
words, chained ranges, many remarks, emoji, whitespace, shuffled corpus words), alone and as a chat message,
to find patterns that backtrack. An input's figure: the median over 5 rounds of the fastest of 3 parses. The
baseline, timed on the same text, is what any parser pays: the words of the lowered text and the time now
in the zone. Also the corpus coverage (tests.corpus.score). About 5 s on 2 cores.
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bench.common import Row, machine, percentile, table
from bot.domain.commands import Kind, parse_command
from bot.domain.timeparse import parse_window
from tests.corpus import score

TARGET_MS = 5.0
LONGEST = 299  # characters: "under 300"
ROUNDS = 5  # passes over every input
REPEATS = 3  # parses per input and pass: the fastest counts
SEED = 5
TIMED = (Kind.INTERCEPT, Kind.EXTEND, Kind.END_AT)  # the commands whose rest the bot reads as a time


@dataclass(frozen=True)
class Case:
    group: str
    text: str
    now: datetime
    zone: ZoneInfo
    chat: bool = False  # a chat message: the command first, then its time phrase

    def parse(self) -> None:
        if not self.chat:
            parse_window(self.text, self.now, self.zone)
            return
        command = parse_command(self.text, score.BOT_NAMES)
        if command.rest and command.kind in TIMED:
            parse_window(command.rest, self.now, self.zone)

    def baseline(self) -> None:
        re.findall(r"\w+", self.text.lower())
        datetime.now(self.zone)


@dataclass
class Timed:
    case: Case
    parse_ns: list[int] = field(default_factory=list)  # one per round
    base_ns: list[int] = field(default_factory=list)

    @property
    def ms(self) -> float:
        return statistics.median(self.parse_ns) / 1e6

    @property
    def ratio(self) -> float:
        return statistics.median(self.parse_ns) / max(1.0, statistics.median(self.base_ns))


# hostile text: (head, unit, tail), the unit repeated as often as fits in LONGEST characters
HOSTILE: tuple[tuple[str, str, str], ...] = (
    ("", "1", ""), ("", "1-", "1"), ("until ", "1-", "1"), ("", "12:", "12"), ("until ", "12:", "12"),  # digits
    ("until ", "1.", ""), ("until ", "1/", "1"), ("for ", "9 ", ""), ("until ", "2026-12-03 ", ""),
    ("from ", "1-1 ", "to 2"), ("until 1:", "0", ""), ("for ", "1.5", " hours"), ("for ", "1h", ""),
    ("for ", "1 hour and ", "1 hour"), ("until ", "12 ", "x"), ("until ", "5pm ", ""), ("", "9-5-", "9"),
    ("until ", "3.12.", ""), ("", "until ", ""), ("", "until ", "friday"), ("", "next ", "friday"),  # words
    ("", "from ", "monday"), ("", "for ", "2 hours"), ("until ", "the ", "friday"), ("", "me ", "until friday"),
    ("", "please ", "until friday"), ("", "intercept ", ""), ("until ", "quarter past ", "3"),
    ("until ", "half past ", "two"), ("until ", "friday ", ""), ("until ", "end of ", "day"),
    ("until ", "next week ", ""), ("for ", "rest of the ", "day"), ("until 5pm in ", "new york ", "time"),
    ("", "for the next ", "3 days"), ("from ", "tomorrow ", ""), ("over the ", "weekend ", ""), ("for ", "a ", "week"),
    ("", "from monday to friday ", ""), ("from ", "9am to 5pm to ", ""), ("", "between 1 and ", "2"),  # ranges
    ("", "mon-fri-", ""), ("", "9:00-17:00 ", ""), ("from monday ", "to ", "friday"), ("from ", "dec 24 to jan 2 ", ""),
    ("from ", "monday for 3 days ", ""), ("", "for 2 hours starting ", ""),
    ("until friday", ", a", ""), ("until friday", " i", ""), ("until friday", " - x", ""),  # remarks: each a cut
    ("until friday", " (x", ""), ("until friday", " because", ""), ("until friday", ", 5pm", ""),
    ("until friday", "; ok", ""), ("until friday", ", ", "x"), ("until 5pm", " so", ""),
    ("until friday", "!?", "x"), ("until friday", ":) ", "x"), ("until friday", ".", "x"),  # emoticons, emoji
    ("until friday ", "🙂", ""), ("", "🙂 ", "until friday"), ("until friday ", "🙂x", ""), ("until friday", "…", ""),
    ("until friday ", ":-(", "x"), ("until ", "é日本", ""), ("until friday", "\u200b", ""), ("til", "’", ""),
    ("", " ", "friday"), ("until", " ", "friday"), ("until ", "\t\n ", "friday"), ("until ", "ｆｒｉｄａｙ ", ""),
    ("until", "\u00a0", "friday"), ("until ", "\u2003 ", "x"), ("until friday", " , ", ""),  # whitespace
)


def hostile(words: Sequence[str]) -> list[str]:
    """Text that makes regex-based parsers backtrack or loop, each at most LONGEST characters."""
    texts = [head + unit * ((LONGEST - len(head) - len(tail)) // len(unit)) + tail for head, unit, tail in HOSTILE]
    rng = random.Random(SEED)
    for _ in range(20):  # corpus words shuffled, cut at a word
        texts.append(" ".join(rng.sample(words, min(80, len(words))))[:LONGEST].rsplit(" ", 1)[0])
    for _ in range(10):  # the characters phrases are made of, at random
        texts.append("".join(rng.choice("0123456789 :.-/apmuntilfrday,'") for _ in range(LONGEST)))
    assert all(len(text) <= LONGEST for text in texts)
    return texts


def cases() -> list[Case]:
    phrases = list(score.lines(score.TIME_PHRASES))
    sentences = [line for path in (score.SENTENCES, score.SENTENCES_UNSEEN) if path.exists()
                 for line in score.lines(path)]
    found = [Case("corpus phrases", line.text, line.now, line.zone) for line in phrases]
    found += [Case("corpus sentences", line.text, line.now, line.zone, chat=True) for line in sentences]
    words = sorted({word for line in phrases + sentences for word in line.text.split()})
    now, zone = phrases[0].now, phrases[0].zone
    for text in hostile(words):
        found.append(Case("hostile", text, now, zone))
        found.append(Case("hostile, as chat", text, now, zone, chat=True))
        found.append(Case("hostile, as chat", f"intercept me {text}"[:LONGEST], now, zone, chat=True))
    return found


def _fastest(run: Callable[[], None]) -> int:
    best = sys.maxsize
    for _ in range(REPEATS):
        began = time.perf_counter_ns()
        run()
        best = min(best, time.perf_counter_ns() - began)
    return best


def measure(rounds: int = ROUNDS) -> list[Timed]:
    timed = [Timed(case) for case in cases()]
    order = list(timed)
    for round_ in range(rounds):
        random.Random(SEED + round_).shuffle(order)  # no input always runs after the same one
        for one in order:
            one.parse_ns.append(_fastest(one.case.parse))
            one.base_ns.append(_fastest(one.case.baseline))
    return timed


def shown(text: str, chars: int = 48) -> str:
    """A table cell quoting `text`: escaped, shortened, no pipe."""
    quoted = repr(text[:chars]) + (f"… ({len(text)} chars)" if len(text) > chars else "")
    return quoted.replace("|", "\\|")


def _group_row(what: str, timed: Sequence[Timed]) -> Row:
    ms, ratios = [t.ms for t in timed], [t.ratio for t in timed]
    base = [statistics.median(t.base_ns) / 1e6 for t in timed]
    over = sum(1 for value in ms if value >= TARGET_MS)
    p99 = percentile(ms, 99)
    value = (f"p50 {percentile(ms, 50):.3f} ms, p99 {p99:.3f} ms, max {max(ms):.3f} ms; "
             f"×{percentile(ratios, 50):.0f} / ×{percentile(ratios, 99):.0f} the baseline "
             f"(p50 {percentile(base, 50) * 1000:.1f} µs); {over} over {TARGET_MS:g} ms")
    return Row("B5", f"parse, {what} ({len(timed)} inputs)", value, f"p99 < {TARGET_MS:g} ms", p99 < TARGET_MS)


def _coverage() -> Iterator[Row]:
    for name, path, judge in score.CORPORA:
        if path.exists():
            scored = [judge(line) for line in score.lines(path)]
            yield Row("B5", f"corpus coverage, {name} ({len(scored)} lines)",
                      f"{score.understood(scored):.1%} understood, {len(score.wrong(scored))} wrong")


def rows(timed: Sequence[Timed] | None = None) -> list[Row]:
    timed = measure() if timed is None else timed
    groups = list(dict.fromkeys(t.case.group for t in timed))
    found = [_group_row(group, [t for t in timed if t.case.group == group]) for group in groups]
    found.append(_group_row("every input", timed))
    worst = sorted(timed, key=lambda t: t.ms, reverse=True)[:5]
    found += [Row("B5", f"slowest {rank}: {t.case.group}, {shown(t.case.text)}",
                  f"{t.ms:.3f} ms (rounds {min(t.parse_ns) / 1e6:.3f}–{max(t.parse_ns) / 1e6:.3f}), "
                  f"×{t.ratio:.0f} the baseline", f"< {TARGET_MS:g} ms", t.ms < TARGET_MS)
              for rank, t in enumerate(worst, 1)]
    return found + list(_coverage())


def main() -> None:
    began = time.monotonic()
    timed = measure()
    for slow in (t for t in timed if t.ms >= TARGET_MS):
        print(f"over {TARGET_MS:g} ms: {slow.ms:.3f} ms, {slow.case.group}: {slow.case.text!r}", file=sys.stderr)
    found = rows(timed)
    print(f"B5: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    print(f"{machine()}\n\n{table(found)}")


if __name__ == "__main__":
    main()
