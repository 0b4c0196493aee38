import logging

import pytest

from bot.logs import AtMostEvery, RedactSecrets, configure, remember_secret


def record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("bot", logging.INFO, __file__, 1, message, args, None)


def test_configured_learned_and_bearer_secrets_are_scrubbed() -> None:
    scrubber = RedactSecrets(["configured-secret-1"])
    entry = record("calling with %s and Authorization: Bearer abc.def-123", "configured-secret-1")
    scrubber.filter(entry)
    assert entry.getMessage() == "calling with [redacted] and Authorization: Bearer [redacted]"
    remember_secret("refreshed-token-xyz")
    later = record("token now %s", "refreshed-token-xyz")
    scrubber.filter(later)
    assert "refreshed-token-xyz" not in later.getMessage()


def test_exception_text_is_scrubbed_too() -> None:
    scrubber = RedactSecrets(["s3cr3t-value"])
    try:
        raise RuntimeError("boom with s3cr3t-value inside")
    except RuntimeError:
        import sys

        entry = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    scrubber.filter(entry)
    assert entry.exc_text is not None and "s3cr3t-value" not in entry.exc_text


def test_a_line_said_at_every_request_is_said_once_in_its_interval_with_the_count_held_back() -> None:
    now = [100.0]
    throttle = AtMostEvery(10.0, clock=lambda: now[0])
    said = []
    for depth in range(1, 6):
        entry = record("Task queue depth is %d", depth)
        if throttle.filter(entry):
            said.append(entry.getMessage())
        now[0] += 1.0
    now[0] = 110.0
    entry = record("Task queue depth is %d", 9)
    assert throttle.filter(entry)
    said.append(entry.getMessage())
    assert said == ["Task queue depth is 1", "Task queue depth is 9 (4 such lines held back)"]


def test_waitress_queue_warnings_are_throttled_once_however_often_logging_is_configured(
        caplog: pytest.LogCaptureFixture) -> None:
    """waitress says it at every request that waits for a thread; under a burst, one line in 10 s."""
    configure([])
    configure([])
    queue = logging.getLogger("waitress.queue")
    assert [type(f) for f in queue.filters] == [AtMostEvery]
    logging.getLogger().addHandler(caplog.handler)  # configure put its own handler in place of caplog's
    try:
        for depth in range(50):
            queue.warning("Task queue depth is %d", depth)
    finally:
        logging.getLogger().removeHandler(caplog.handler)
    assert [r.getMessage() for r in caplog.records if r.name == "waitress.queue"] == ["Task queue depth is 0"]
