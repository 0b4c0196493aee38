"""LOG_FORMAT: text by default, JSON lines with `json`, scrubbed of secrets either way; a wrong
value stops start-up with one line naming the variable."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli, logs
from bot.config import ConfigError, load

SECRET = "admin-token-json-0123456789"
LEARNED = "refreshed-token-json-9876543210"
BASE = {"WEBEX_BOT_TOKEN": "bot-token-json-1", "WEBEX_ADMIN_TOKEN": SECRET, "WEBEX_WEBHOOK_SECRET": "hook-secret-1",
        "INTERCEPT_APPROVERS": "bob@example.com"}


@pytest.fixture
def root_logging() -> Iterator[None]:
    """`logs.configure` sets up the root logger: put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_lines_carry_time_level_logger_and_message(root_logging: None,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(BASE.values(), fmt="json")
    logging.getLogger("bot.test").info("hello %s", "there")
    [line] = json_lines(capsys.readouterr().err)
    assert line["message"] == "hello there" and line["level"] == "INFO" and line["logger"] == "bot.test"
    assert str(line["timestamp"]).endswith("+00:00") and line["thread"] == "MainThread"


def test_a_token_in_a_message_a_traceback_an_extra_field_or_learned_later_is_scrubbed(
        root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(BASE.values(), fmt="json")
    log = logging.getLogger("bot.test")
    log.warning("calling Webex with %s", SECRET)
    try:
        raise RuntimeError(f"Webex refused {SECRET}")
    except RuntimeError:
        log.exception("the call failed")
    log.info("headers", extra={"headers": {"Authorization": "Bearer abc.def-123"}, "tokens": [SECRET]})
    logs.remember_secret(LEARNED)
    try:
        raise ValueError(f"new token {LEARNED}")
    except ValueError:
        log.error("refresh", exc_info=True)
    output = capsys.readouterr().err
    lines = json_lines(output)
    assert len(lines) == 4
    assert SECRET not in output and LEARNED not in output and "abc.def-123" not in output
    assert lines[0]["message"] == "calling Webex with [redacted]"
    assert "RuntimeError: Webex refused [redacted]" in str(lines[1]["exc_info"])
    assert lines[2]["headers"] == {"Authorization": "Bearer [redacted]"} and lines[2]["tokens"] == ["[redacted]"]
    assert "ValueError: new token [redacted]" in str(lines[3]["exc_info"])


def test_text_is_the_default_and_is_scrubbed_too(root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert load(BASE).log_format == "text"
    assert load({**BASE, "LOG_FORMAT": "JSON"}).log_format == "json"
    logs.configure(BASE.values())
    try:
        raise RuntimeError(f"Webex refused {SECRET}")
    except RuntimeError:
        logging.getLogger("bot.test").exception("failed with %s", SECRET)
    output = capsys.readouterr().err
    assert "failed with [redacted]" in output and "RuntimeError: Webex refused [redacted]" in output
    assert SECRET not in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output.splitlines()[0])


def test_an_unknown_log_format_stops_start_up_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match=r"^LOG_FORMAT must be text or json, not 'xml'$"):
        load({**BASE, "LOG_FORMAT": "xml"})
    monkeypatch.chdir(tmp_path)  # no .env here
    for name, value in {**BASE, "LOG_FORMAT": "yaml", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["intercept-bot: LOG_FORMAT must be text or json, not 'yaml'"]
    assert not (tmp_path / "x.db").exists()  # stopped before anything started
