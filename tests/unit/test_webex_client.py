"""The Webex client against the emulator on loopback: retries on 429/423 (every Retry-After form),
5xx and timeouts, bounded; permanent answers become clear errors without secrets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from bot.adapters.pace import Pace
from bot.adapters.webex import RetryPolicy, WebexClient, _file_name, retry_after_seconds
from bot.domain.model import InterceptSettings
from bot.domain.ports import WebexError
from tests.unit.test_greeting import wav_bytes
from webex_emulator import WebexEmulator

BOT, ADMIN = "bot-token-unit-1234", "admin-token-unit-5678"


@pytest.fixture
def emu() -> Iterator[WebexEmulator]:
    emulator = WebexEmulator()
    emulator.add_person(email="bot@webex.bot", display_name="Bot", type="bot", token=BOT)
    emulator.add_person(email="admin@example.com", display_name="Admin", token=ADMIN, admin=True)
    emulator.start()
    yield emulator
    emulator.stop()


def client(emu: WebexEmulator, sleeps: list[float], timeout: float = 10, **policy: float) -> WebexClient:
    """A client that records its waits instead of sleeping. The timeout is generous (a loaded
    machine can take seconds to answer on loopback) except where a test makes Webex slow."""
    retry = RetryPolicy(sleep=sleeps.append, jitter=lambda: 1.0, **policy)  # type: ignore[arg-type]
    return WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token=ADMIN, retry=retry, timeout=timeout)


@pytest.mark.parametrize(("header", "expected"), [
    ("2", 2.0), ("0", 0.0), ("1.5", 1.5), ("soon", 5.0), (None, 5.0),
])
def test_429_is_retried_after_the_time_webex_asks(emu: WebexEmulator, header: str | None, expected: float) -> None:
    sleeps: list[float] = []
    emu.fail("GET", r"^/people/me$", 429, retry_after=header)
    assert client(emu, sleeps).me().display_name == "Bot"
    assert sleeps == [expected]
    assert [r.status for r in emu.requests_matching("GET", r"^/people/me$")] == [429, 200]


def test_retry_after_as_an_http_date(emu: WebexEmulator) -> None:
    sleeps: list[float] = []
    emu.fail("GET", r"^/people/me$", 429, retry_after=format_datetime(datetime.now(UTC) + timedelta(seconds=20),
                                                                      usegmt=True))
    client(emu, sleeps).me()
    assert len(sleeps) == 1 and 10.0 <= sleeps[0] <= 20.0  # the date is cut to the second; the answer takes time


def test_retry_after_parsing() -> None:
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("Fri, 27 Nov 2026 09:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Fri, 27 Nov 2026 08:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("", now=now) is None
    assert retry_after_seconds("-3", now=now) == 0.0


def test_423_on_the_intercept_put_is_retried(emu: WebexEmulator) -> None:
    person = emu.add_person(email="p@example.com", display_name="P", token="p-token")
    sleeps: list[float] = []
    emu.fail("PUT", r".*/features/intercept", 423, retry_after="1")
    client(emu, sleeps).put_intercept(person.id, InterceptSettings(enabled=True))
    assert sleeps == [1.0]
    assert emu.get_intercept(person.id)["enabled"] is True


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_back_off_exponentially(emu: WebexEmulator, status: int) -> None:
    sleeps: list[float] = []
    emu.fail("GET", r"^/people/me$", status, times=3)
    client(emu, sleeps).me()
    assert sleeps == [0.5, 1.0, 2.0]


def test_a_slow_answer_is_a_timeout_that_is_retried(emu: WebexEmulator) -> None:
    sleeps: list[float] = []
    emu.fail("GET", r"^/people/me$", 0, delay=6.0)
    assert client(emu, sleeps, timeout=2).me().display_name == "Bot"
    assert sleeps == [0.5]


def test_retrying_is_bounded(emu: WebexEmulator) -> None:
    sleeps: list[float] = []
    emu.fail("GET", r"^/people/me$", 503, times=100)
    with pytest.raises(WebexError) as raised:
        client(emu, sleeps, attempts=4).me()
    assert raised.value.transient is True and raised.value.status == 503
    assert len(sleeps) == 3
    emu.fail("GET", r"^/people/me$", 429, retry_after="3600")
    with pytest.raises(WebexError) as raised:
        client(emu, sleeps).me()
    assert raised.value.transient is True  # gives up at once instead of blocking for an hour


def test_a_permanent_refusal_is_not_retried_and_names_no_secret(emu: WebexEmulator) -> None:
    sleeps: list[float] = []
    bad = WebexClient(api_url=emu.base_url, bot_token="wrong-token-9999", admin_token=ADMIN,
                      retry=RetryPolicy(sleep=sleeps.append))
    with pytest.raises(WebexError) as raised:
        bad.me()
    assert raised.value.status == 401 and raised.value.transient is False
    assert sleeps == []
    assert "wrong-token-9999" not in str(raised.value) and "Bearer" not in str(raised.value)


def test_the_bot_token_cannot_call_the_intercept_api(emu: WebexEmulator) -> None:
    person = emu.add_person(email="q@example.com", display_name="Q", token="q-token")
    swapped = WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token=BOT, retry=RetryPolicy(sleep=lambda _: None))
    with pytest.raises(WebexError) as raised:
        swapped.get_intercept(person.id)
    assert raised.value.status == 403


def test_org_id_is_sent_on_intercept_calls(emu: WebexEmulator) -> None:
    person = emu.add_person(email="r@example.com", display_name="R", token="r-token")
    with_org = WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token=ADMIN, org_id=person.org_id)
    with_org.get_intercept(person.id)
    with_org.put_intercept(person.id, InterceptSettings(enabled=True))
    assert [r.query.get("orgId") for r in emu.requests_matching("*", r".*/features/intercept")] == [
        person.org_id, person.org_id]
    assert emu.spec_violations == []


def test_a_stopping_client_ends_a_retry_wait_at_once_as_a_transient_failure(emu: WebexEmulator) -> None:
    emu.fail("GET", "/people/me", 429, times=2, retry_after="20")
    waiting = WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token=ADMIN)  # waits on its own event
    waiting.stopping.set()  # the bot is shutting down
    with pytest.raises(WebexError) as raised:
        waiting.me()
    assert raised.value.transient is True and "stopping" in str(raised.value)
    assert len(emu.requests_matching("GET", "/people/me")) == 1  # no second try, no 20 s wait


@pytest.mark.parametrize(("disposition", "expected"), [
    ('attachment; filename="a;b.wav"', "a;b.wav"),  # a quoted name may hold a semicolon
    ("attachment; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%E2%82%AC.wav", "Grüße €.wav"),  # RFC 5987
    ("attachment; filename=\"Grusse E.wav\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%E2%82%AC.wav", "Grüße €.wav"),
    ("attachment; filename*=UTF-8''Gr%C3%BC%C3%9Fe.wav; filename=\"Grusse.wav\"", "Grüße.wav"),  # either order
    ("attachment; filename*=iso-8859-1''%E9t%E9.wav", "été.wav"),
    ('attachment; filename="say \\"hi\\".wav"', 'say "hi".wav'),
    ("attachment; filename=plain.wav", "plain.wav"),
    ('attachment; filename="../../etc/passwd"', ".._.._etc_passwd"),  # never a path
    ('attachment; filename="two\r\nlines.wav"', "two__lines.wav"),
    ("attachment", "greeting 1.wav"),  # no name: the URL's last segment
    ("", "greeting 1.wav"),
])
def test_the_file_name_comes_from_content_disposition(disposition: str, expected: str) -> None:
    assert _file_name(disposition, "https://webexapis.com/v1/contents/greeting%201.wav") == expected


@pytest.mark.parametrize("name", ["a;b.wav", "Grüße €.wav"])
def test_a_downloaded_file_keeps_the_name_it_was_sent_with(emu: WebexEmulator, name: str) -> None:
    emu.add_person(email="s@example.com", display_name="S", token="s-token")
    bot = client(emu, []).me()
    message = emu.say("s-token", to_person_id=bot.id, upload=(name, b"RIFF....WAVE", "audio/wav"))
    assert client(emu, []).download(message["files"][0], 1024) == (name, b"RIFF....WAVE")


def test_a_greeting_upload_that_fails_once_is_sent_again_whole(emu: WebexEmulator) -> None:
    person = emu.add_person(email="g@example.com", display_name="G", token="g-token")
    sleeps: list[float] = []
    emu.fail("POST", r".*/announcementUpload/invoke", 503)
    client(emu, sleeps).upload_greeting(person.id, "hello; world.wav", wav_bytes(1.0))
    assert sleeps == [0.5]
    assert [(u.person_id, u.file_name, u.content_type, u.data == wav_bytes(1.0)) for u in emu.uploads] == [
        (person.id, "hello; world.wav", "audio/wav", True)]
    assert emu.spec_violations == []


# ---------------------------------------------------------------------------------------------- pace


def test_calls_are_spaced_to_the_rate_after_a_burst() -> None:
    now = [0.0]
    pace = Pace(10.0, burst=3, clock=lambda: now[0])
    assert [round(pace.delay(), 3) for _ in range(5)] == [0.0, 0.0, 0.0, 0.1, 0.2]
    now[0] = 10.0  # a quiet while fills the bucket again
    assert [round(pace.delay(), 3) for _ in range(4)] == [0.0, 0.0, 0.0, 0.1]


def test_a_refusal_holds_every_call_then_the_rate_is_halved_and_grows_back_when_calm() -> None:
    now = [0.0]
    pace = Pace(10.0, burst=1, recover=10.0, clock=lambda: now[0])
    pace.delay()
    pace.refused(2.0)
    assert pace.delay() == pytest.approx(2.0)  # another call waits out the Retry-After
    assert pace.delay(refused=True) == pytest.approx(0.3)  # the refused call waited it already: only the pace
    assert pace.rate == 5.0
    now[0] = 9.0
    pace.delay()
    assert pace.rate == 5.0  # not calm for long enough yet
    now[0] = 10.5
    pace.delay()
    assert pace.rate == pytest.approx(5.5)
    for step in range(40):
        now[0] = 11.0 + 10.0 * (step + 1)
        pace.delay()
    assert pace.rate == 10.0  # never above the configured rate


def test_after_a_429_the_other_calls_wait_instead_of_collecting_429s_too(emu: WebexEmulator) -> None:
    person = emu.add_person(email="paced@example.com", display_name="Paced")
    emu.fail("GET", r"^/people/[^/]+/features/intercept$", 429, retry_after="0.5")
    webex = WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token=ADMIN)
    first = threading.Thread(target=webex.get_intercept, args=(person.id,))
    first.start()
    refused = wait_for_status(emu, 429)
    # the calls made once the client has read the 429 (one already on its way cannot be held back)
    deadline = time.monotonic() + 30
    while not webex.holding("admin") and time.monotonic() < deadline:
        time.sleep(0.005)
    others = [threading.Thread(target=webex.get_intercept, args=(person.id,)) for _ in range(6)]
    for thread in [*others]:
        thread.start()
    for thread in [first, *others]:
        thread.join(30)
    calls = emu.requests_matching("GET", r"^/people/[^/]+/features/intercept$")
    assert [c.status for c in calls].count(429) == 1 and len(calls) == 8
    assert all(c.at >= refused.at + timedelta(seconds=0.5) for c in calls if c.status == 200)


def wait_for_status(emu: WebexEmulator, status: int) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [c for c in emu.requests_matching("GET", r"^/people/[^/]+/features/intercept$") if c.status == status]
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"no {status} answer")


def test_a_retry_after_longer_than_the_client_waits_holds_no_other_call(emu: WebexEmulator) -> None:
    """Retry-After 600: the refused call gives up at once (its work is rescheduled) and the next
    call with the token is not held for ten minutes."""
    person = emu.add_person(email="later@example.com", display_name="Later")
    emu.fail("GET", r"^/people/[^/]+/features/intercept$", 429, retry_after="600")
    webex = WebexClient(api_url=emu.base_url, bot_token=BOT, admin_token=ADMIN)
    with pytest.raises(WebexError) as refused:
        webex.get_intercept(person.id)
    assert refused.value.transient
    started = time.monotonic()
    webex.get_intercept(person.id)
    assert time.monotonic() - started < 10
