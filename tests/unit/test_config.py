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
    ({"INTERCEPT_SANDBOX": "1"}, "INTERCEPT_SANDBOX"),  # with the real Webex: never
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


def test_refresh_credentials_replace_the_admin_token_and_come_together() -> None:
    refresh = {"WEBEX_CLIENT_ID": "client-1", "WEBEX_CLIENT_SECRET": "client-secret-2",
               "WEBEX_ADMIN_REFRESH_TOKEN": "refresh-token-3"}
    config = load({**BASE, "WEBEX_ADMIN_TOKEN": "", **refresh})
    assert config.admin_token == "" and config.admin_refresh == ("client-1", "client-secret-2", "refresh-token-3")
    assert {"client-secret-2", "refresh-token-3"} <= set(config.secrets())
    assert "refresh-token-3" not in repr(config)
    for missing in refresh:
        partial = {k: v for k, v in refresh.items() if k != missing}
        with pytest.raises(ConfigError) as raised:
            load({**BASE, **partial})
        assert str(raised.value).startswith(missing)
    with pytest.raises(ConfigError, match=r"^WEBEX_ADMIN_TOKEN"):
        load({**BASE, "WEBEX_ADMIN_TOKEN": ""})


def test_the_sandbox_clock_is_only_for_a_webex_on_this_machine() -> None:
    for url in ("http://127.0.0.1:8123/v1", "http://localhost:9/v1", "http://[::1]:9/v1"):
        assert load({**BASE, "INTERCEPT_SANDBOX": "1", "WEBEX_API_URL": url}).sandbox is True
    with pytest.raises(ConfigError):
        load({**BASE, "INTERCEPT_SANDBOX": "1", "WEBEX_API_URL": "https://webexapis.com.evil.example/v1"})


def test_sandbox_clock_refuses_to_move_a_clock_the_server_would_not_honour(tmp_path, monkeypatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    for name, value in {**BASE, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("INTERCEPT_SANDBOX", raising=False)
    assert main(["sandbox-clock", "--advance", "60"]) == 2
    assert "INTERCEPT_SANDBOX" in capsys.readouterr().err
    monkeypatch.setenv("INTERCEPT_SANDBOX", "1")
    monkeypatch.setenv("WEBEX_API_URL", "http://127.0.0.1:9/v1")
    assert main(["sandbox-clock", "--advance", "60"]) == 0
    assert "offset is now 0:01:00" in capsys.readouterr().out


def test_the_database_password_is_a_secret_the_logs_never_show() -> None:
    config = load({**BASE, "DATABASE_URL": "postgresql+psycopg://bot:pa55-w0rd@db.example.com/intercept"})
    assert "pa55-w0rd" in config.secrets()
    assert load(BASE).secrets() == (BASE["WEBEX_BOT_TOKEN"], BASE["WEBEX_ADMIN_TOKEN"], BASE["WEBEX_WEBHOOK_SECRET"])
