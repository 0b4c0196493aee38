"""`intercept-bot`: the console script.

- `intercept-bot serve [--host H] [--port P]`: the production server (what the Procfile runs),
  waitress with threads, in one process (exactly one scheduler), until SIGTERM or SIGINT.
- `intercept-bot sandbox-clock --advance SECONDS`: move the sandbox clock (INTERCEPT_SANDBOX only).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from bot import config as configuration
from bot import logs

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="intercept-bot", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the bot's web server (webhooks, health, timers)")
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server is meant to listen
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 8080")
    clock = commands.add_parser("sandbox-clock", help="move the sandbox clock forward (tests, demo)")
    clock.add_argument("--advance", type=float, required=True, help="seconds to add")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args.host, args.port)
    return _sandbox_clock(args.advance)


def _serve(host: str, port: int | None) -> int:
    try:
        config = configuration.load()
        port = port if port is not None else int(os.environ.get("PORT") or 8080)
    except configuration.ConfigError as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        return 2
    except ValueError:
        print("intercept-bot: PORT is not a whole number", file=sys.stderr)
        return 2
    logs.configure(config.secrets())

    from waitress import create_server

    from bot.app import BotApp, StartupError

    app = BotApp(config)
    try:
        app.start()
    except StartupError as error:
        print(f"intercept-bot: {error}", file=sys.stderr)
        app.stop()
        return 2
    try:
        server = create_server(app.web, host=host, port=port, threads=8, ident="intercept-bot")
    except OSError as error:
        print(f"intercept-bot: cannot listen on {host}:{port}: {error.strerror}", file=sys.stderr)
        app.stop()
        return 2

    def _stop(signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("listening on http://%s:%d", host, port)
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        server.close()
        app.stop()
    return 0


def _sandbox_clock(seconds: float) -> int:
    from bot.clock import advance
    from bot.store import SqlStore, make_engine

    url = os.environ.get("DATABASE_URL") or "sqlite:///intercept-bot.db"
    store = SqlStore(make_engine(url))
    store.create_schema()
    offset = advance(store, seconds)
    print(f"sandbox clock offset is now {offset} (honoured by a server started with INTERCEPT_SANDBOX=1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
