"""Configuration from environment variables (and a `.env` file), checked before anything starts.

A missing or malformed value raises `ConfigError` whose text is one line naming the variable;
`intercept-bot` prints it and exits non-zero. Secrets are never part of that line.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

DEFAULT_DATABASE_URL = "sqlite:///intercept-bot.db"
_EMAIL = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")
# whole-number settings, checked in this order: (name, default, lowest, highest)
_NUMBERS = (("INTERCEPT_MAX_DAYS", 30, 1, 366), ("INTERCEPT_SWEEP_SECONDS", 60, 1, 3600),
            ("INTERCEPT_WORKERS", 4, 1, 32), ("INTERCEPT_REMINDER_MINUTES", 15, 0, 24 * 60),
            ("INTERCEPT_APPROVAL_HOURS", 24, 1, 24 * 14), ("INTERCEPT_WEBEX_RATE", 100, 1, 1000))
LOG_FORMATS = ("text", "json")


class ConfigError(Exception):
    """A configuration problem, told in one line that names the variable."""


@dataclass(frozen=True)
class Config:
    bot_token: str = field(repr=False)
    admin_token: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    # (client id, client secret, refresh token): the bot gets and refreshes the admin token itself
    admin_refresh: tuple[str, str, str] | None = field(default=None, repr=False)
    api_url: str = "https://webexapis.com/v1"
    org_id: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    approvers: frozenset[str] = frozenset()
    approval_room_id: str | None = None
    default_timezone: str = "UTC"
    max_days: int = 30
    reminder_minutes: int = 15  # 0: no reminder before the end
    approval_hours: int = 24  # a request nobody decides on expires after this
    sandbox: bool = False  # honour the sandbox clock (tests, demo); never in production
    sweep_seconds: float = 60.0
    workers: int = 4
    webex_rate: int = 100  # calls a second to Webex with each token, at most (slower after a 429)
    log_format: str = "text"  # or "json": one JSON object per line

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.bot_token, self.admin_token, self.webhook_secret,
                                 *(self.admin_refresh or ()), make_url(self.database_url).password) if s)


def load(environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Config:
    """Read and check the configuration; `environ` defaults to os.environ (+ `.env` in the cwd)."""
    if environ is None:
        if dotenv:
            from dotenv import load_dotenv

            load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
        environ = os.environ
    env = {k: v.strip() for k, v in environ.items()}
    bot_token = _required(env, "WEBEX_BOT_TOKEN", "the bot's access token (developer.webex.com > My Apps)")
    refresh = _refresh(env)
    admin_token = env.get("WEBEX_ADMIN_TOKEN", "") if refresh else _required(
        env, "WEBEX_ADMIN_TOKEN", "an admin or service-app token with spark-admin:people_read and "
                                  "spark-admin:people_write (or set WEBEX_CLIENT_ID, WEBEX_CLIENT_SECRET and "
                                  "WEBEX_ADMIN_REFRESH_TOKEN to have the bot get and refresh it)")
    secret = _required(env, "WEBEX_WEBHOOK_SECRET", "the secret of the bot's webhooks (any long random string)")
    api_url = env.get("WEBEX_API_URL") or "https://webexapis.com/v1"
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"WEBEX_API_URL is not an http(s) URL: {api_url!r}")
    database_url = _database(env)
    approvers, room = _approvers(env)
    zone = env.get("DEFAULT_TIMEZONE") or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"DEFAULT_TIMEZONE is not an IANA time zone: {zone!r}") from None
    numbers = {name: _int(env, name, default, low, high) for name, default, low, high in _NUMBERS}
    log_format = (env.get("LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be {' or '.join(LOG_FORMATS)}, not {env['LOG_FORMAT']!r}")
    sandbox = env.get("INTERCEPT_SANDBOX", "") in ("1", "true", "yes")
    if sandbox and not is_loopback(parsed.hostname or ""):
        raise ConfigError("INTERCEPT_SANDBOX is on but WEBEX_API_URL is not on this machine: the sandbox clock "
                          "is for tests and the demo, never for a real Webex")
    return Config(bot_token=bot_token, admin_token=admin_token, webhook_secret=secret, api_url=api_url,
                  admin_refresh=refresh, org_id=env.get("WEBEX_ORG_ID") or None, database_url=database_url,
                  approvers=approvers, approval_room_id=room, default_timezone=zone,
                  max_days=numbers["INTERCEPT_MAX_DAYS"], reminder_minutes=numbers["INTERCEPT_REMINDER_MINUTES"],
                  approval_hours=numbers["INTERCEPT_APPROVAL_HOURS"], sandbox=sandbox,
                  sweep_seconds=float(numbers["INTERCEPT_SWEEP_SECONDS"]), workers=numbers["INTERCEPT_WORKERS"],
                  webex_rate=numbers["INTERCEPT_WEBEX_RATE"], log_format=log_format)


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ConfigError(f"{name} is not set: {what}")
    if any(c.isspace() for c in value):
        raise ConfigError(f"{name} contains white space: check the value you pasted")
    return value


def _refresh(env: Mapping[str, str]) -> tuple[str, str, str] | None:
    names = ("WEBEX_CLIENT_ID", "WEBEX_CLIENT_SECRET", "WEBEX_ADMIN_REFRESH_TOKEN")
    given = [name for name in names if env.get(name)]
    if given and len(given) < len(names):
        missing = next(name for name in names if name not in given)
        raise ConfigError(f"{missing} is not set: refreshing the admin token needs WEBEX_CLIENT_ID, "
                          "WEBEX_CLIENT_SECRET and WEBEX_ADMIN_REFRESH_TOKEN together")
    return (env[names[0]], env[names[1]], env[names[2]]) if given else None


def database_url(environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> str:
    """DATABASE_URL alone, checked as `load` checks it (for the commands that need nothing else)."""
    if environ is None:
        if dotenv:
            from dotenv import load_dotenv

            load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
        environ = os.environ
    return _database({k: v.strip() for k, v in environ.items()})


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, absolute (a relative one is relative to the working directory, as
    SQLite takes it); None for another database, an in-memory one or a `file:` URI."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" \
            or parsed.query.get("uri") in ("true", "1"):
        return None
    return Path(parsed.database).absolute()


def _database(env: Mapping[str, str]) -> str:
    """A URL the bot can use: SQLite or PostgreSQL, its driver installed, a SQLite file in a folder
    that exists. Whether the database answers only connecting tells (at start-up)."""
    raw = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        url = make_url(raw)
        url.port  # noqa: B018 - a port that is not a number is found here, not when connecting
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a database URL (e.g. sqlite:///intercept-bot.db)") from None
    except ValueError:
        raise ConfigError("DATABASE_URL has a port that is not a number (a password with @, : or / must be "
                          "percent-encoded)") from None
    if url.drivername in ("postgres", "postgresql"):  # Heroku-style, or no driver named: the one we declare
        url = url.set(drivername="postgresql+psycopg")
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(f"DATABASE_URL names a database intercept-bot cannot use ({url.drivername!r}): "
                          "give sqlite:///FILE or postgresql://...") from None
    if dialect.name not in ("sqlite", "postgresql"):
        raise ConfigError(f"DATABASE_URL names {dialect.name}, but intercept-bot keeps its state in SQLite or "
                          "PostgreSQL only")
    try:
        dialect.import_dbapi()
    except ImportError as error:
        driver = url.get_driver_name()
        remedy = ("pip install 'intercept-bot[postgres]'" if driver == "psycopg" else
                  "install it, or use postgresql://..., whose driver pip install 'intercept-bot[postgres]' brings"
                  if dialect.name == "postgresql" else "install it")
        raise ConfigError(f"DATABASE_URL needs the {driver} driver, which is not installed "
                          f"(no module {error.name or driver}): {remedy}") from None
    database_url = url.render_as_string(hide_password=False) if url.drivername != make_url(raw).drivername else raw
    if dialect.name == "sqlite":
        _sqlite_place(database_url)
    return database_url


def _sqlite_place(url: str) -> None:
    if make_url(url).database in (None, "", ":memory:"):
        raise ConfigError("DATABASE_URL is an in-memory SQLite database, which keeps nothing: give a file "
                          "(sqlite:///intercept-bot.db)")
    path = sqlite_file(url)
    if path is None:
        return
    if not path.parent.is_dir():
        raise ConfigError(f"DATABASE_URL: the folder {path.parent} does not exist")
    if path.is_dir():
        raise ConfigError(f"DATABASE_URL: {path} is a folder, not a database file")


def _approvers(env: Mapping[str, str]) -> tuple[frozenset[str], str | None]:
    emails = [e.strip().lower() for e in env.get("INTERCEPT_APPROVERS", "").split(",") if e.strip()]
    for email in emails:
        if not _EMAIL.fullmatch(email):
            raise ConfigError(f"INTERCEPT_APPROVERS holds {email!r}, which is not an email address")
    room = env.get("INTERCEPT_APPROVAL_ROOM_ID") or None
    if not emails and not room:
        raise ConfigError("INTERCEPT_APPROVERS is not set: give the approvers' emails, comma-separated "
                          "(or set INTERCEPT_APPROVAL_ROOM_ID)")
    return frozenset(emails), room


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback address: a host only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} is not a whole number: {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value
