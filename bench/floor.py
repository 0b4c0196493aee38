"""The floor for webhook acknowledgement: a bare Flask app answering 204 to every delivery, on the
same web server with the same settings as `intercept-bot serve` (waitress, `WEB_THREADS` threads).

    .venv/bin/python -m bench.floor PORT
"""

from __future__ import annotations

import sys

from flask import Flask, request
from waitress import serve

from bot.edge.intake import MAX_BODY
from bot.edge.web import WEB_THREADS


def app() -> Flask:
    web = Flask("floor")

    @web.post("/webhooks/webex")
    def webhook() -> tuple[str, int]:
        request.get_data()  # read, as the bot reads every delivery
        return "", 204

    @web.get("/healthz")
    def healthz() -> tuple[str, int]:
        return "ok", 200

    return web


if __name__ == "__main__":
    serve(app(), host="127.0.0.1", port=int(sys.argv[1]), threads=WEB_THREADS, ident="floor",
          max_request_body_size=MAX_BODY + 1, _quiet=True)
