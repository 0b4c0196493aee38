"""The HTTP edge: Flask, and nothing else imports it.

`POST /webhooks/webex` hands the raw bytes and headers to `Receiver.receive` (signature check,
dedupe, durable store) and answers at once. `GET /healthz` answers 200 when the bot can work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request

from bot.edge.intake import MAX_BODY, Receiver


def create_web_app(*, receiver: Callable[[], Receiver | None], health: Callable[[], dict[str, Any]]) -> Flask:
    app = Flask("intercept-bot")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.post("/webhooks/webex")
    def webhook() -> tuple[Response, int]:
        current = receiver()
        if current is None:
            return jsonify(error="starting up"), 503
        answer = current.receive(request.get_data(cache=False), request.headers.get("X-Spark-Signature"),
                                 request.headers.get("Content-Type"))
        return jsonify(result=answer.text), answer.status

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        report = health()
        return jsonify(report), 200 if report.get("ok") else 503

    @app.errorhandler(413)
    def too_large(_error: Exception) -> tuple[Response, int]:
        return jsonify(error="too large"), 413

    @app.errorhandler(404)
    def not_found(_error: Exception) -> tuple[Response, int]:
        return jsonify(error="not found"), 404

    @app.errorhandler(405)
    def not_allowed(_error: Exception) -> tuple[Response, int]:
        return jsonify(error="method not allowed"), 405

    return app
