"""Scoring the held-out corpora: time phrases (`time_phrases.tsv`) and chat sentences (`sentences.tsv`).

All were written from `docs/times.md`, the README and the issue's list of what people say, without looking
at the parser; `sentences_unseen.tsv` after the sentence reader was built, to measure it (91.0 % understood, 8
read wrong at its first score; the 8 were then fixed). Each file has sections headed
`# now: YYYY-MM-DD HH:MM Zone/Name`; each line is the text, a TAB and what it must come to:

- `END <local time>`: as soon as approved until then; `RANGE <start> -> <end>`; `NONE`: must not be read
  (no end named, vague, invalid, in the past); an optional third field `OTHER END|RANGE ...`: the other
  reading the rules offer.
- sentences: `FORM END ...`, `FORM RANGE ...`, `FORM EMPTY` (the request form, with that window; a third
  field `dest=<number>` when the sentence names where calls go), `NOFORM`, or the command it is: `STATUS`,
  `CANCEL`, `EXTEND`, `END_AT`, `HELP`.

`python -m tests.corpus.score` prints the figures and every line that was not read as expected.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain.commands import Kind, parse_command
from bot.domain.timeparse import Window, parse_window

HERE = Path(__file__).parent
TIME_PHRASES = HERE / "time_phrases.tsv"
SENTENCES = HERE / "sentences.tsv"
# written after the sentence reader, never seen while it was tuned: its first score was the honest figure
SENTENCES_UNSEEN = HERE / "sentences_unseen.tsv"
BOT_NAMES = ("Intercept Bot", "Intercept")

# outcomes
RIGHT = "right"  # read as expected (or refused as expected)
OFFERED = "offered"  # the expected reading is the other one the form offers
DIFFERS = "differs"  # read, but neither reading is the expected one: wrong
READ_NONE = "read a phrase that names no usable time"  # wrong
MISSED = "not understood"


@dataclass(frozen=True)
class Line:
    text: str
    expected: str
    extra: str
    now: datetime
    zone: ZoneInfo


@dataclass(frozen=True)
class Scored:
    line: Line
    outcome: str
    got: str


def lines(path: Path) -> Iterator[Line]:
    now: datetime | None = None
    zone: ZoneInfo | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("# now:"):
            day, clock, zone_name = raw[len("# now:"):].split()
            zone = ZoneInfo(zone_name)
            now = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)
            continue
        if not raw.strip() or raw.startswith("#"):
            continue
        assert now is not None and zone is not None, f"{path.name}: a line before the first '# now:'"
        text, expected, *extra = raw.split("\t")
        yield Line(text, expected.strip(), extra[0].strip() if extra else "", now, zone)


def _window_text(window: Window | None) -> str:
    if window is None or window.end is None:
        return "NONE"
    end = window.end.strftime("%Y-%m-%d %H:%M")
    if window.start is None:
        return f"END {end}"
    return f"RANGE {window.start.strftime('%Y-%m-%d %H:%M')} -> {end}"


def _judge(window: Window, expected: str) -> str:
    got = _window_text(window)
    if expected == "NONE":
        return RIGHT if got == "NONE" else READ_NONE
    if got == expected:
        return RIGHT
    if got == "NONE":
        return MISSED
    return OFFERED if _window_text(window.other) == expected else DIFFERS


def score_phrase(line: Line) -> Scored:
    window = parse_window(line.text, line.now, line.zone)
    return Scored(line, _judge(window, line.expected), _window_text(window))


def score_sentence(line: Line) -> Scored:
    command = parse_command(line.text, BOT_NAMES)
    want = line.expected.split(" ", 1)
    if want[0] != "FORM":
        kind = command.kind.name
        if want[0] == "NOFORM":
            return Scored(line, RIGHT if command.kind is not Kind.INTERCEPT else READ_NONE, kind)
        return Scored(line, RIGHT if kind == want[0] else (READ_NONE if kind == "INTERCEPT" else MISSED), kind)
    if command.kind is not Kind.INTERCEPT:
        return Scored(line, MISSED, command.kind.name)
    window = parse_window(command.rest, line.now, line.zone)
    got = _window_text(window)
    destination = getattr(command, "destination", "")
    if line.extra.startswith("dest=") and destination != line.extra[len("dest="):]:
        return Scored(line, MISSED, f"{got} dest={destination or '-'}")
    if want[1] == "EMPTY":
        return Scored(line, RIGHT if window.end is None else DIFFERS, got)
    return Scored(line, _judge(window, want[1]), got)


def summary(scored: list[Scored]) -> dict[str, int]:
    counts = Counter(s.outcome for s in scored)
    to_read = sum(1 for s in scored if s.line.expected not in ("NONE", "NOFORM"))
    return {"lines": len(scored), "to read": to_read, **counts}


def understood(scored: list[Scored]) -> float:
    """The share of lines handled as a person would expect: read right (or the right reading offered),
    refused when they name nothing usable, sent to the right command."""
    good = sum(1 for s in scored if s.outcome in (RIGHT, OFFERED))
    return good / len(scored)


def wrong(scored: list[Scored]) -> list[Scored]:
    return [s for s in scored if s.outcome in (DIFFERS, READ_NONE)]


CORPORA = (("time phrases", TIME_PHRASES, score_phrase), ("sentences", SENTENCES, score_sentence),
           ("sentences, unseen", SENTENCES_UNSEEN, score_sentence))


def main() -> int:
    for name, path, score in CORPORA:
        if not path.exists():
            continue
        scored = [score(line) for line in lines(path)]
        print(f"{name}: {understood(scored):.1%} understood, {len(wrong(scored))} wrong; {summary(scored)}")
        for s in scored:
            if s.outcome not in (RIGHT, OFFERED):
                print(f"  {s.outcome:>10}: {s.line.text!r} [{s.line.now:%a %Y-%m-%d %H:%M} {s.line.zone.key}]"
                      f" want {s.line.expected} {s.line.extra}, got {s.got}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
