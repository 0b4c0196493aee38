import pytest

from bot.config import ConfigError, load

BASE = {"WEBEX_BOT_TOKEN": "bot-token-123", "WEBEX_ADMIN_TOKEN": "admin-token-456",
        "WEBEX_WEBHOOK_SECRET": "secret-789", "INTERCEPT_APPROVERS": "Bob@Example.com, carol@example.com"}


def test_defaults_and_normalisation() -> None:
    config = load(BASE)
    assert config.api_url == "https://webexapis.com/v1"
    assert config.database_url == "sqlite:///intercept-bot.db"
    assert config.approvers == frozenset({"bob@example.com", "carol@example.com"})
    assert config.default_timezone == "UTC" and config.max_days == 30 and config.sandbox is False
    assert "bot-token-123" not in repr(config) and "secret-789" not in repr(config)


@pytest.mark.parametrize(("change", "variable"), [
    ({"WEBEX_BOT_TOKEN": ""}, "WEBEX_BOT_TOKEN"),
    ({"WEBEX_ADMIN_TOKEN": " "}, "WEBEX_ADMIN_TOKEN"),
    ({"WEBEX_WEBHOOK_SECRET": ""}, "WEBEX_WEBHOOK_SECRET"),
    ({"WEBEX_BOT_TOKEN": "two words"}, "WEBEX_BOT_TOKEN"),
    ({"WEBEX_API_URL": "webexapis.com"}, "WEBEX_API_URL"),
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
    ({"INTERCEPT_APPROVERS": ""}, "INTERCEPT_APPROVERS"),
    ({"INTERCEPT_APPROVERS": "bob"}, "INTERCEPT_APPROVERS"),
    ({"DEFAULT_TIMEZONE": "Mars/Olympus"}, "DEFAULT_TIMEZONE"),
    ({"INTERCEPT_MAX_DAYS": "ten"}, "INTERCEPT_MAX_DAYS"),
    ({"INTERCEPT_MAX_DAYS": "0"}, "INTERCEPT_MAX_DAYS"),
])
def test_each_problem_names_its_variable_in_one_line(change: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load({**BASE, **change})
    message = str(raised.value)
    assert message.startswith(variable)
    assert "\n" not in message
    for secret in ("bot-token-123", "admin-token-456", "secret-789"):
        assert secret not in message


def test_an_approval_space_alone_is_enough() -> None:
    config = load({**BASE, "INTERCEPT_APPROVERS": "", "INTERCEPT_APPROVAL_ROOM_ID": "room-1"})
    assert config.approvers == frozenset() and config.approval_room_id == "room-1"
