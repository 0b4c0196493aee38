"""The HTTP edge: Flask, and nothing else imports it.

`POST /webhooks/webex` hands the raw bytes and headers to `Receiver.receive` (signature check,
dedupe, durable store) and answers at once. `GET /healthz` (liveness) answers 200 when the bot can
work, `GET /readyz` (readiness) 200 when it is ready to take work, both with a JSON report;
`GET /metrics` is the Prometheus text exposition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.edge.intake import MAX_BODY, Receiver

# waitress threads: each request in the app holds one, and deliveries stored at the same moment
# are committed together (SqlInbox), so more of them in flight is fewer commits. 8 acknowledged
# ~950 deliveries a second on 2 cores, 32 ~1,500 (bench/ack.py); idle threads cost no CPU.
WEB_THREADS = 32


def create_web_app(*, receiver: Callable[[], Receiver | None], health: Callable[[], dict[str, Any]],
                   readiness: Callable[[], dict[str, Any]], metrics: Callable[[], tuple[bytes, str]]) -> Flask:
    """`readiness` reports with `ready`; `metrics` gives the exposition and its content type."""
    app = Flask("intercept-bot")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY

    @app.post("/webhooks/webex")
    def webhook() -> tuple[Response, int]:
        current = receiver()
        if current is None:
            return jsonify(error="starting up"), 503
        try:
            raw = request.get_data(cache=False)
        except RequestEntityTooLarge:
            answer = current.too_large()
        else:
            answer = current.receive(raw, request.headers.get("X-Spark-Signature"), request.headers.get("Content-Type"))
        return jsonify(result=answer.text), answer.status

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        report = health()
        return jsonify(report), 200 if report.get("ok") else 503

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        report = readiness()
        return jsonify(report), 200 if report.get("ready") else 503

    @app.get("/metrics")
    def exposition() -> Response:
        body, content_type = metrics()
        return Response(body, content_type=content_type)

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
