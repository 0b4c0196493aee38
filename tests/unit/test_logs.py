import logging

from bot.logs import RedactSecrets, remember_secret


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
