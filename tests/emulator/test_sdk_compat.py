"""The emulator speaks well enough for webexpythonsdk (what the bot is built on)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import pytest
import requests
from webexpythonsdk import WebexAPI
from webexpythonsdk.exceptions import ApiError, RateLimitError

from tests.emulator.helpers import Cast, card


def _api(cast: Cast, token: str) -> WebexAPI:
    return WebexAPI(access_token=token, base_url=cast.emu.base_url + "/", wait_on_rate_limit=False,
                    single_request_timeout=10)


def test_sdk_round_trip(cast: Cast) -> None:
    bot = _api(cast, "bot-token")
    assert bot.people.me().id == cast.bot.id
    assert bot.people.get(cast.alice.id).displayName == "Alice Adler"
    sent = bot.messages.create(toPersonId=cast.alice.id, markdown="Approve?", attachments=[
        {"contentType": "application/vnd.microsoft.card.adaptive", "content": card()}])
    assert sent.roomType == "direct"
    assert bot.messages.get(sent.id).markdown == "Approve?"
    action = cast.emu.submit(cast.alice, sent.id, {"decision": "approve"})
    assert bot.attachment_actions.get(action["id"]).inputs == {"decision": "approve"}
    hook = bot.webhooks.create(name="h", targetUrl="https://bot.example.com/h", resource="messages",
                               event="created", secret="s")
    assert [w.id for w in bot.webhooks.list()] == [hook.id]
    bot.webhooks.delete(hook.id)
    bot.messages.delete(sent.id)
    assert cast.emu.spec_violations == []


def test_sdk_sees_errors_and_rate_limits(cast: Cast) -> None:
    bot = _api(cast, "bot-token")
    with pytest.raises(ApiError) as refused:
        bot.messages.create(toPersonId=cast.alice.id, text="x" * 8000)
    assert refused.value.status_code == 400 and refused.value.tracking_id
    cast.emu.fail("GET", "/people/me", 429, retry_after="3")
    with pytest.raises(RateLimitError) as limited:
        bot.people.me()
    assert limited.value.retry_after == 3


def test_sdk_posts_a_local_file_as_multipart(cast: Cast, tmp_path: Path) -> None:
    path = tmp_path / "greeting.wav"
    path.write_bytes(b"RIFF\x04\x00\x00\x00WAVE\r\n\x00\xff")
    sent = _api(cast, "alice-token").messages.create(toPersonId=cast.bot.id, text="my greeting",
                                                     files=[str(path)])
    [content] = cast.emu.contents
    assert sent.files == [f"{cast.emu.base_url}/contents/{content.id}"] and sent.text == "my greeting"
    assert (content.filename, content.content_type, content.data) == (
        "greeting.wav", mimetypes.guess_type(path.name)[0], path.read_bytes())  # the type the SDK sent
    response = requests.get(sent.files[0], headers={"Authorization": "Bearer bot-token"}, timeout=10)
    assert response.status_code == 200 and response.content == path.read_bytes()
    assert response.headers["Content-Disposition"] == 'attachment; filename="greeting.wav"'
    assert cast.emu.spec_violations == []
