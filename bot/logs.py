"""Logging that cannot leak a secret: every record is scrubbed of the configured tokens and the
webhook secret (and of anything that looks like a bearer token) before any handler sees it."""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable

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

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets  # once per record: message, exception and stack share it

        def scrub(text: str) -> str:
            for secret in secrets:
                text = text.replace(secret, "[redacted]")
            return _BEARER.sub(r"\1[redacted]", text)

        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = scrub(message), None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def configure(secrets: Iterable[str], level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("apscheduler.executors", "apscheduler.scheduler", "waitress.queue", "urllib3",
                  "webexpythonsdk.restsession", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
