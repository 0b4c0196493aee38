"""`.env.example` names every setting the bot reads, and as shipped (with the required values filled
in) it is a configuration the bot accepts."""

from __future__ import annotations

import re
from pathlib import Path

from dotenv import dotenv_values

from bot import config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".env.example"
NAME = re.compile(r'"((?:WEBEX|INTERCEPT|DATABASE|DEFAULT|LOG)_[A-Z_]+)"')


def test_every_setting_the_bot_reads_is_in_the_example() -> None:
    read = set(NAME.findall((ROOT / "bot" / "config.py").read_text()))
    assert {"WEBEX_BOT_TOKEN", "DATABASE_URL", "LOG_FORMAT", "INTERCEPT_WORKERS"} <= read  # the pattern finds them
    named = set(re.findall(r"^#?([A-Z_]+)=", EXAMPLE.read_text(), re.MULTILINE))
    assert read - named == set()


def test_the_example_filled_in_is_accepted() -> None:
    values = {k: v or "" for k, v in dotenv_values(EXAMPLE).items()}
    assert set(values) == {"WEBEX_BOT_TOKEN", "WEBEX_ADMIN_TOKEN", "WEBEX_WEBHOOK_SECRET", "INTERCEPT_APPROVERS"}
    values.update(WEBEX_BOT_TOKEN="bot-token", WEBEX_ADMIN_TOKEN="admin-token", WEBEX_WEBHOOK_SECRET="secret",
                  INTERCEPT_APPROVERS="bob@example.com")
    loaded = config.load(values, dotenv=False)
    assert loaded.approvers == frozenset({"bob@example.com"})
    commented = {k: v for k, v in re.findall(r"^#([A-Z_]+)=(\S+)$", EXAMPLE.read_text(), re.MULTILINE)
                 if not k.startswith("WEBEX_CLIENT")}
    everything = config.load({**values, **commented, "INTERCEPT_SANDBOX": ""}, dotenv=False)
    assert everything.max_days == 30 and everything.log_format == "text"  # the defaults as the example says
