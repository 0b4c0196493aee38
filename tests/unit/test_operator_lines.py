"""What an operator sees when something is off, found by trying the installed package as a new
operator would: one line naming the setting, no file created by a command that only reads, and a
database outage that does not flood the log."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.edge.intake import Event
from bot.edge.worker import Worker
from tests.unit.test_config import BASE


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/bot.db")
    return tmp_path


@pytest.mark.parametrize(("args", "env", "said"), [
    (["--port", "99999"], {}, "--port must be between 0 and 65535, not 99999"),
    ([], {"PORT": "99999"}, "PORT must be between 0 and 65535, not 99999"),
    ([], {"PORT": "eighty"}, "PORT is not a whole number: 'eighty'"),
    ([], {"DATABASE_URL": "postgresql://bot:pw@127.0.0.1:notaport/intercept"},
     "DATABASE_URL has a port that is not a number"),
])
def test_serve_says_which_setting_is_wrong_in_one_line(configured: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str], args: list[str],
                                                       env: dict[str, str], said: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"intercept-bot: {said}") and err.count("\n") == 1, err
    assert not (configured / "bot.db").exists()


def test_db_current_only_reads(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current"]) == 1
    assert "no database at" in capsys.readouterr().out
    assert not (configured / "bot.db").exists()
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0


def test_a_database_that_is_away_is_said_once_not_every_second(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0
    done = threading.Event()

    class Away:
        def claim(self, now: datetime) -> Event | None:
            nonlocal calls
            calls += 1
            if calls == 30:
                done.set()
            raise ConnectionError("the database is away")

    worker = Worker(store=Away(), handle=lambda event: None, now=lambda: datetime.now(UTC),  # type: ignore[arg-type]
                    threads=1, idle_wait=0.0001)
    with caplog.at_level(logging.INFO, logger="bot.edge.worker"):
        worker.start()
        assert done.wait(10)
        worker.stop()
    lines = [r for r in caplog.records if r.name == "bot.edge.worker"]
    assert calls >= 30 and len(lines) <= 4, [r.getMessage() for r in lines]
    assert lines[0].exc_info is not None  # the first says why, with the traceback
