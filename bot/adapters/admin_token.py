"""The admin token, renewed with `POST /access_token` when refresh credentials are configured
(split from `bot.adapters.webex`, whose client uses it for every call made with the admin token)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import requests

from bot.domain.ports import WebexError

log = logging.getLogger(__name__)
OPERATION = "refresh the admin token"


class AdminToken:
    """The admin token, and (with refresh credentials) a new one from `POST /access_token` before
    it expires or when Webex refuses it. A new token is registered with the log scrubber."""

    MARGIN = 300.0  # seconds before expiry when the token is renewed

    def __init__(self, *, api_url: str, token: str, refresh: tuple[str, str, str] | None, timeout: int,
                 on_new: Callable[[str], None],
                 on_call: Callable[[str, int | None], None] = lambda _operation, _status: None) -> None:
        self.url = api_url.rstrip("/") + "/access_token"
        self.token = token
        self.refresh_credentials = refresh
        self.timeout = timeout
        self.on_new = on_new
        self.on_call = on_call  # told of each request to the token endpoint (operation, status)
        self.expires = float("inf") if token or not refresh else 0.0  # monotonic
        self._lock = threading.Lock()

    @property
    def refreshable(self) -> bool:
        return self.refresh_credentials is not None

    def expires_in(self) -> float | None:
        """Seconds until the token expires, when the bot got it itself (None: a token given as it
        is, or one whose lifetime the bot was not told)."""
        if not self.refreshable or self.expires == float("inf"):
            return None
        return self.expires - time.monotonic()

    def due(self) -> bool:
        return self.refreshable and time.monotonic() > self.expires - self.MARGIN

    def renew(self, refused: str | None = None) -> str:
        """A fresh token: once per refusal of a token (`refused`, the one the failed call used) or
        once when it is due; a token another thread renewed meanwhile is reused."""
        assert self.refresh_credentials is not None
        with self._lock:
            if refused is not None and self.token != refused:
                return self.token
            if refused is None and not self.due():
                return self.token
            client_id, client_secret, refresh_token = self.refresh_credentials
            try:
                response = requests.post(self.url, timeout=self.timeout, data={
                    "grant_type": "refresh_token", "client_id": client_id, "client_secret": client_secret,
                    "refresh_token": refresh_token})
            except requests.RequestException as error:
                self.on_call(OPERATION, None)
                raise WebexError(None, f"Webex did not answer ({type(error).__name__})", transient=True,
                                 operation=OPERATION) from None
            self.on_call(OPERATION, response.status_code)
            if response.status_code != 200:
                message = _json_message(response) or response.reason
                raise WebexError(response.status_code, message, tracking_id=response.headers.get("trackingid"),
                                 transient=response.status_code >= 500 or response.status_code == 429,
                                 operation=OPERATION)
            data = response.json()
            self.token = str(data["access_token"])
            self.on_new(self.token)
            self.expires = time.monotonic() + float(data.get("expires_in") or 3600)
            rotated = data.get("refresh_token")
            if rotated and rotated != refresh_token:
                self.on_new(str(rotated))
                self.refresh_credentials = (client_id, client_secret, str(rotated))
                log.warning("Webex issued a new admin refresh token: update WEBEX_ADMIN_REFRESH_TOKEN "
                            "(the old one may stop working)")
            log.info("got a new admin access token, valid for %s s", data.get("expires_in"))
            return self.token


def _json_message(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("message") or "") if isinstance(data, dict) else ""
