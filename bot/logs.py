"""Logging that cannot leak a secret: every record is scrubbed of the configured tokens and the
webhook secret (and of anything that looks like a bearer token) before any handler sees it.

Lines are text by default; `LOG_FORMAT=json` writes one JSON object per line (python-json-logger),
each of its string fields scrubbed again as it is written (the formatter renders a traceback
itself, from the exception, not from the scrubbed text)."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from pythonjsonlogger.json import JsonFormatter

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\"]+")


_LEARNED: set[str] = set()
_LEARNED_LOCK = threading.Lock()


def remember_secret(value: str) -> None:
    """A secret learned at run time (a refreshed access token): scrubbed from every log from now on."""
    if len(value) >= 4:
        with _LEARNED_LOCK:
            _LEARNED.add(value)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.configured = {s for s in secrets if len(s) >= 4}

    @property
    def secrets(self) -> list[str]:
        with _LEARNED_LOCK:
            known = self.configured | _LEARNED
        return sorted(known, key=len, reverse=True)

    def scrubber(self) -> Callable[[str], str]:
        """A function removing every secret known now from a text."""
        secrets = self.secrets

        def scrub(text: str) -> str:
            for secret in secrets:
                text = text.replace(secret, "[redacted]")
            return _BEARER.sub(r"\1[redacted]", text)
        return scrub

    def filter(self, record: logging.LogRecord) -> bool:
        scrub = self.scrubber()  # once per record: message, exception and stack share it
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = scrub(message), None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class ScrubbedJsonFormatter(JsonFormatter):
    """One JSON object per record: timestamp (UTC), level, logger, thread, message, and exc_info /
    stack_info / extra fields when there are; every string in it scrubbed."""

    def __init__(self, redact: RedactSecrets) -> None:
        super().__init__("%(levelname)s %(name)s %(threadName)s %(message)s", timestamp=True,
                         rename_fields={"levelname": "level", "name": "logger", "threadName": "thread"})
        self.redact = redact

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        scrub = self.redact.scrubber()

        def clean(value: Any) -> Any:
            if isinstance(value, str):
                return scrub(value)
            if isinstance(value, dict):
                return {clean(k): clean(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [clean(v) for v in value]
            return value
        return {key: clean(value) for key, value in log_data.items()}


def formatter(fmt: str, redact: RedactSecrets) -> logging.Formatter:
    """The formatter of LOG_FORMAT (`text` or `json`)."""
    if fmt == "json":
        return ScrubbedJsonFormatter(redact)
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


# libraries whose INFO lines say nothing an operator needs (a timer ran, the schema was looked at)
NOISY = ("apscheduler.executors", "apscheduler.scheduler", "waitress.queue", "urllib3", "webexpythonsdk.restsession",
         "alembic")


class AtMostEvery(logging.Filter):
    """A logger's lines at most one every `seconds`, the next saying how many were held back:
    waitress says "Task queue depth is N" at every request that has to queue, a line per request
    under a burst (a twentieth of the web server's time at 1,000 deliveries a second)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._next = 0.0
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        with self._lock:
            if now < self._next:
                self._held += 1
                return False
            held, self._held, self._next = self._held, 0, now + self.seconds
        if held:
            record.msg, record.args = f"{record.getMessage()} ({held} such lines held back)", None
        return True


# libraries whose lines come one per request under load: one in this many seconds is enough
THROTTLED = {"waitress.queue": 10.0}


def configure(secrets: Iterable[str], level: int = logging.INFO, fmt: str = "text") -> None:
    redact = RedactSecrets(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt, redact))
    handler.addFilter(redact)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name, seconds in THROTTLED.items():
        logger = logging.getLogger(name)
        for old_filter in [f for f in logger.filters if isinstance(f, AtMostEvery)]:
            logger.removeFilter(old_filter)
        logger.addFilter(AtMostEvery(seconds))
