"""`intercept-bot`: the console script.

- `intercept-bot serve [--host H] [--port P]`: the production server (what the Procfile runs),
  waitress with threads (on SQLite one process per database; on PostgreSQL any number, one of them
  the leader running the timers), until SIGTERM or SIGINT.
- `intercept-bot audit [--person P] [--since T] [--until T] [--format jsonl|csv]`: the audit log.
- `intercept-bot register-webhooks --url URL`: (re)create the bot's two webhooks in Webex.
- `intercept-bot check [--person EMAIL] [--url URL]`: a preflight of tokens, approvers, approval
  space, database and webhooks, one line each (bot/preflight.py); exit 0 when all pass, else 1.
- `intercept-bot db upgrade` / `db current`: bring the database to this version's schema / say where it is.
- `intercept-bot demo [--port P] [--data DIR] [--open]`: the local sandbox (bot/demo.py).
- `intercept-bot sandbox-clock --advance SECONDS`: move the sandbox clock (INTERCEPT_SANDBOX only).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from bot import config as configuration
from bot import logs
from bot.edge.intake import MAX_BODY

SWITCH_INTERVAL = 0.001  # seconds (Python's default: 0.005)

if TYPE_CHECKING:
    from waitress.server import BaseWSGIServer, MultiSocketServer

    from bot.adapters.store import SqlStores
    from bot.adapters.store.migrate import SchemaState
    from bot.app import BotApp

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="intercept-bot", description="A Webex bot that takes a Webex Calling phone out of service (call "
                                          "intercept) and back, with approval. docs/deploy.md: deploying it.")
    parser.add_argument("--version", action="version", version=f"intercept-bot {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the bot's web server (webhooks, health, timers)")
    serve.add_argument("--host", default="0.0.0.0",  # noqa: S104 - a server is meant to listen
                       help="the address to listen on (default: 0.0.0.0, every interface)")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 8080")
    audit = commands.add_parser("audit", help="print the audit log (JSON lines or CSV)")
    audit.add_argument("--person", help="only this person (email or Webex person id)")
    audit.add_argument("--since", help="from this date or time (ISO, UTC unless it has an offset)")
    audit.add_argument("--until", help="before this date or time (ISO, UTC unless it has an offset)")
    audit.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    hooks = commands.add_parser("register-webhooks", help="(re)create the bot's two webhooks in Webex")
    hooks.add_argument("--url", required=True, help="the public URL of POST /webhooks/webex")
    check = commands.add_parser("check", help="check tokens, approvers, approval space, database and webhooks")
    check.add_argument("--person", help="a Webex Calling user's email: check the admin token can read their "
                                        "intercept settings")
    check.add_argument("--url", help="the public URL of POST /webhooks/webex: check the webhooks point there")
    db = commands.add_parser("db", help="the database's schema (DATABASE_URL): where it is, upgrading it")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="upgrade the database to this version's schema (stop the bot first)")
    db_commands.add_parser("current", help="print the database's revision and whether it is this version's "
                                           "(exit status 0 only when it is)")
    commands.add_parser("demo", add_help=False,
                        help="the bot against a local Webex emulator, with a browser page (no Webex account)")
    clock = commands.add_parser("sandbox-clock", help="move the sandbox clock forward (tests, demo)")
    clock.add_argument("--advance", type=float, required=True, help="seconds to add")
    args, rest = parser.parse_known_args(argv)
    if args.command == "demo":
        return _demo(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "serve":
        return _serve(args.host, args.port)
    if args.command == "audit":
        return _audit(args.person, args.since, args.until, args.format)
    if args.command == "register-webhooks":
        return _register_webhooks(args.url)
    if args.command == "check":
        return _check(args.person, args.url)
    if args.command == "db":
        return _db(args.db_command)
    return _sandbox_clock(args.advance)


def _demo(argv: list[str]) -> int:
    try:
        from bot.demo import main as demo
    except ModuleNotFoundError as error:  # the emulator's libraries come with the sandbox extra
        missing = (error.name or "").split(".")[0]
        if not missing or missing in ("bot", "cards", "webex_emulator"):
            raise
        print(f"intercept-bot demo: {missing} is not installed: the sandbox needs "
              "pip install 'intercept-bot[sandbox]'", file=sys.stderr)
        return 2
    return demo(argv)


def _serve(host: str, port: int | None) -> int:
    try:
        config = configuration.load()
        port = _port(port)
    except configuration.ConfigError as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        return 2
    logs.configure(config.secrets(), fmt=config.log_format)
    # a thread waiting for the interpreter lock gets it within 1 ms instead of 5: a worker busy in
    # Python held each step of a webhook's answer up to that long (p99 at 200 deliveries a second
    # went from 18-26 ms to 11-14 ms on 2 cores, bench/ack.py; the throughput flat out held)
    sys.setswitchinterval(SWITCH_INTERVAL)

    from waitress import create_server

    from bot.app import BotApp, StartupError
    from bot.edge.web import WEB_THREADS

    app = BotApp(config)
    try:
        app.start()
    except StartupError as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        app.stop()
        return 2
    try:
        # waitress reads a request's whole body before the app sees it: refuse big ones while reading
        server = create_server(app.web, host=host, port=port, threads=WEB_THREADS, ident="intercept-bot",
                               max_request_body_size=MAX_BODY + 1)  # waitress refuses at the limit itself
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        print(f"intercept-bot: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
        app.stop()
        return 2

    log.info("listening on http://%s:%d", host, port)
    _run_until_signal(server, app)
    return 0


def _run_until_signal(server: BaseWSGIServer | MultiSocketServer, app: BotApp) -> None:
    """Serve until SIGTERM or SIGINT, then stop the server and the app; a second signal is only logged."""

    def _stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def _stopping(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: already stopping", signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        for each in (signal.SIGTERM, signal.SIGINT):  # a second signal must not cut the stop short
            signal.signal(each, _stopping)
        log.info("stopping")
        server.close()
        app.stop()
        log.info("stopped")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("intercept-bot")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "(not installed)"


def _port(given: int | None) -> int:
    """The port to listen on: --port, else $PORT, else 8080 (0: any free one)."""
    name, raw = ("--port", str(given)) if given is not None else ("PORT", os.environ.get("PORT") or "8080")
    try:
        port = int(raw)
    except ValueError:
        raise configuration.ConfigError(f"{name} is not a whole number: {raw!r}") from None
    if not 0 <= port <= 65535:
        raise configuration.ConfigError(f"{name} must be between 0 and 65535, not {port}")
    return port


def _stores() -> SqlStores | None:
    """The stores on DATABASE_URL, at this version's schema (an empty database is created); None,
    with the line said, when the URL is unusable or the database behind, ahead or unreachable."""
    from bot.adapters.store import SqlStores, migrate

    try:
        url = configuration.database_url()
    except configuration.ConfigError as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        return None
    stores = SqlStores.at(url)
    try:
        migrate.ready(stores.engine)
    except (migrate.SchemaError, migrate.DatabaseUnavailable) as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        stores.engine.dispose()
        return None
    return stores


def _db(action: str) -> int:
    from bot.adapters.store import DatabaseUnavailable, make_engine, migrate

    try:  # `current` only reads: a SQLite file is opened read-only and never created
        engine = make_engine(configuration.database_url(), read_only=action == "current")
    except configuration.ConfigError as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as error:
        print(f"{error}: `intercept-bot db upgrade` or `intercept-bot serve` creates it")
        return 1
    try:
        if action == "current":
            found = migrate.state(engine)
            print(_where(found))
            return 0 if found.at_head else 1
        found = migrate.upgrade(engine)
        now = migrate.state(engine)
        if found.at_head:
            print(f"the database is at revision {now.describe()}, this version's: nothing to do")
        else:
            print(f"upgraded the database from {found.describe()} to revision {now.describe()}")
        return 0
    except (migrate.SchemaError, migrate.DatabaseUnavailable) as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _where(found: SchemaState) -> str:
    if found.at_head:
        return f"{found.describe()}: this version's"
    if found.ahead:
        return f"{found.describe()}: unknown to this version (it needs {found.head}), a newer version upgraded it"
    if found.empty:
        return f"empty: this version needs {found.head} (`intercept-bot db upgrade` or `serve` creates it)"
    return f"{found.describe()}: this version needs {found.head}, run `intercept-bot db upgrade`"


def _audit(person: str | None, since: str | None, until: str | None, output: str) -> int:
    from bot.adapters.store import DatabaseUnavailable, SqlStores

    try:
        bounds = [_instant(value, name) for value, name in ((since, "--since"), (until, "--until"))]
        stores = SqlStores.at(configuration.database_url(), read_only=True)  # reads: never creates a database
        stores.reach(tables=True)
    except (ValueError, configuration.ConfigError) as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as error:
        print(f"intercept-bot: DATABASE_URL: {error}", file=sys.stderr)
        return 2
    rows = stores.audit.rows(person=person, since=bounds[0], until=bounds[1])
    columns = ("at", "request_id", "person_email", "person_name", "person_id", "actor_id", "event", "source",
               "target", "note", "tracking_id", "detail")
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_plain(row.get(c)) for c in columns])
    else:
        for row in rows:
            print(json.dumps({c: _jsonable(row.get(c)) for c in columns}, ensure_ascii=False))
    return 0


def _instant(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} is not an ISO date or time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _plain(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(_jsonable(value))


def _register_webhooks(url: str) -> int:
    """Deletes the bot's webhooks that point at `url` (or carry the bot's names) and creates the
    two it needs, with the secret: run it after deploying, or when the URL changes."""
    from bot.adapters.webex import WebexClient
    from bot.domain.ports import WebexError

    try:
        config = configuration.load()
    except configuration.ConfigError as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        return 2
    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        print("intercept-bot: --url must be an https URL Webex can reach", file=sys.stderr)
        return 2
    client = WebexClient(api_url=config.api_url, bot_token=config.bot_token, admin_token=config.admin_token)
    try:
        for hook in client.webhooks():
            if hook.get("targetUrl") == url or str(hook.get("name", "")).startswith("intercept-bot "):
                client.delete_webhook(str(hook["id"]))
                print(f"deleted webhook {hook.get('name')} ({hook.get('resource')}/{hook.get('event')})")
        for resource in ("messages", "attachmentActions"):
            client.create_webhook(name=f"intercept-bot {resource}", target_url=url, resource=resource,
                                  event="created", secret=config.webhook_secret)
            print(f"created webhook intercept-bot {resource} (created) -> {url}")
    except WebexError as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        return 1
    return 0


def _check(person: str | None, url: str | None) -> int:
    """Prints one line per check; 0 when none failed, else 1."""
    from bot import preflight

    try:
        config = configuration.load()
    except configuration.ConfigError as error:
        print(f"FAIL  configuration: {error}")
        return 1
    logs.configure(config.secrets(), level=logging.WARNING, fmt=config.log_format)
    print(f"ok    configuration: Webex API {config.api_url}")
    failed = False
    for finding in preflight.run(config, person=person, url=url):
        print(finding.line(), flush=True)
        failed = failed or finding.ok is False
    return 1 if failed else 0


def _sandbox_clock(seconds: float) -> int:
    from bot.adapters.clock import advance

    try:
        config = configuration.load()  # the server's own settings: it must honour the clock
    except configuration.ConfigError as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        return 2
    if not config.sandbox:
        print("intercept-bot: sandbox-clock only works with INTERCEPT_SANDBOX=1 (tests, demo), never in production",
              file=sys.stderr)
        return 2

    stores = _stores()
    if stores is None:
        return 2
    offset = advance(stores.settings, seconds)
    print(f"sandbox clock offset is now {offset} (honoured by a server started with INTERCEPT_SANDBOX=1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
