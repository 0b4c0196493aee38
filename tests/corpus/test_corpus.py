"""The held-out corpora: at least 90 % understood, none read wrong (`python -m tests.corpus.score` lists
every line that was not read as expected)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.corpus import score


@pytest.mark.parametrize(("path", "judge", "at_least"), [
    (score.TIME_PHRASES, score.score_phrase, 500),
    (score.SENTENCES, score.score_sentence, 250),
    (score.SENTENCES_UNSEEN, score.score_sentence, 250),
], ids=["time phrases", "sentences", "sentences, unseen"])
def test_the_corpus_is_understood_and_nothing_is_read_wrong(path: Path, judge: Callable[[score.Line], score.Scored],
                                                           at_least: int) -> None:
    scored = [judge(line) for line in score.lines(path)]
    assert len(scored) >= at_least
    wrong = [f"{s.line.text!r}: want {s.line.expected} {s.line.extra}, got {s.got}" for s in score.wrong(scored)]
    assert wrong == []
    assert score.understood(scored) >= 0.9, score.summary(scored)
