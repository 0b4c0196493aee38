"""emu.fail(...): injected statuses, Retry-After forms, delays."""

from __future__ import annotations

import time

import pytest

from tests.emulator.helpers import Cast, raw_request


@pytest.mark.parametrize("retry_after", ["2", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", None])
def test_429_with_each_retry_after_form(cast: Cast, retry_after: str | None) -> None:
    emu = cast.emu
    emu.fail("GET", "/people/me", 429, times=2, retry_after=retry_after)
    for _ in range(2):
        answer = raw_request(emu, "GET", "/people/me", token="bot-token")
        assert answer.status == 429
        assert answer.headers.get("retry-after") == retry_after
        assert answer.json["trackingId"] == answer.headers["trackingid"]
    assert raw_request(emu, "GET", "/people/me", token="bot-token").status == 200
    assert [r.status for r in emu.requests] == [429, 429, 200]


def test_fault_applies_before_auth_and_matches_full_path(cast: Cast) -> None:
    emu = cast.emu
    emu.fail("PUT", r"/people/[^/]+/features/intercept", 503, body={"message": "busy"})
    path = f"/people/{cast.alice.id}/features/intercept"
    assert raw_request(emu, "GET", path, token="admin-token").status == 200  # other method
    answer = raw_request(emu, "PUT", path, token="nobody", json_body={"enabled": True})
    assert answer.status == 503 and answer.json == {"message": "busy"}
    assert raw_request(emu, "PUT", path, token="admin-token", json_body={"enabled": True}).status == 204


def test_delay_then_status_and_slow_but_normal(cast: Cast) -> None:
    emu = cast.emu
    emu.fail("GET", "/people/me", 500, delay=1.5)
    emu.fail("*", "/people/me", 0, delay=1.5)
    started = time.monotonic()
    assert raw_request(emu, "GET", "/people/me", token="bot-token").status == 500
    assert raw_request(emu, "GET", "/people/me", token="bot-token").status == 200
    assert time.monotonic() - started >= 3.0
    started = time.monotonic()
    assert raw_request(emu, "GET", "/people/me", token="bot-token").status == 200
    assert time.monotonic() - started < 1.5  # both rules used up: no delay left (a loaded box may stall a little)


def test_fail_validates_arguments(cast: Cast) -> None:
    with pytest.raises(ValueError):
        cast.emu.fail("GET", "/x", 429, times=0)
    with pytest.raises(ValueError):
        cast.emu.fail("GET", "/x", 42)
