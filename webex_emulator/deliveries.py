"""Webhook deliveries: one background worker per webhook, so each webhook receives its events in
creation order, with a few retries (short exponential backoff) on a connection error or a non-2xx
answer. Every attempt is recorded as a `Delivery`.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from webex_emulator.state import Delivery, utcnow

__all__ = ["Deliverer", "Job", "sign"]


def sign(secret: str, raw: bytes) -> str:
    """X-Spark-Signature: hex HMAC-SHA1 of the exact body bytes, keyed with the webhook secret."""
    return hmac.new(secret.encode("utf-8"), raw, hashlib.sha1).hexdigest()


@dataclass(frozen=True)
class Job:
    webhook_id: str
    target_url: str
    resource: str
    event: str
    body: bytes
    headers: dict[str, str]
    signature: str | None


class _Stop:
    pass


_STOP = _Stop()


class Deliverer:
    def __init__(self, *, record: Callable[[Delivery], None], retries: int = 2, backoff: float = 0.2,
                 timeout: float = 5.0) -> None:
        self._record = record
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._lock = threading.Lock()
        self._queues: dict[str, queue.Queue[Job | _Stop]] = {}
        self.held: list[Job] | None = None  # while a list: deliveries are kept there, not sent
        self._threads: list[threading.Thread] = []
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._stopped = threading.Event()

    # ------------------------------------------------------------------ public

    def enqueue(self, job: Job) -> None:
        with self._lock:
            if self._stopped.is_set():
                return
            if self.held is not None:
                self.held.append(job)
                return
            jobs = self._queues.get(job.webhook_id)
            if jobs is None:
                jobs = queue.Queue()
                self._queues[job.webhook_id] = jobs
                thread = threading.Thread(target=self._work, args=(jobs,), daemon=True,
                                          name=f"webex-emulator-delivery-{len(self._threads)}")
                self._threads.append(thread)
                thread.start()
            self._pending += 1
            jobs.put(job)

    def send_once(self, job: Job, *, attempt: int = 1, redelivery: bool = False) -> Delivery:
        """POST one job now (in the calling thread) and record the attempt."""
        status: int | None = None
        error: str | None = None
        request = urllib.request.Request(  # noqa: S310 (http(s) only: targetUrl is checked on creation)
            job.target_url, data=job.body, method="POST", headers=job.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = int(response.status)
                response.read()
        except urllib.error.HTTPError as failure:
            status = int(failure.code)
            error = f"HTTP {failure.code} {failure.reason}"
            failure.close()
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as failure:
            reason = getattr(failure, "reason", failure)
            error = f"{type(failure).__name__}: {reason}"
        delivery = Delivery(
            webhook_id=job.webhook_id, target_url=job.target_url, resource=job.resource, event=job.event,
            body=job.body, signature=job.signature, headers=dict(job.headers), status=status, error=error,
            at=utcnow(), attempt=attempt, redelivery=redelivery)
        self._record(delivery)
        return delivery

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery (and its retries) is done."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
            return True

    def restart(self) -> None:
        """Accept deliveries again after `stop` (the emulator was started again)."""
        with self._lock:
            if self._stopped.is_set():
                self._stopped.clear()
                self._queues = {}
                self._threads = []
                self._pending = 0

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
            queues = list(self._queues.values())
        for jobs in queues:
            jobs.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=2.0)

    # ------------------------------------------------------------------ worker

    def _work(self, jobs: queue.Queue[Job | _Stop]) -> None:
        while True:
            job = jobs.get()
            if isinstance(job, _Stop):
                return
            try:
                self._deliver(job)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, job: Job) -> None:
        for attempt in range(1, self.retries + 2):
            if self._stopped.is_set():
                return
            delivery = self.send_once(job, attempt=attempt)
            if delivery.ok:
                return
            if attempt <= self.retries:
                self._stopped.wait(self.backoff * (2 ** (attempt - 1)))


def headers_for(body: bytes, secret: str | None, tracking_id: str) -> tuple[dict[str, str], str | None]:
    signature = sign(secret, body) if secret else None
    headers: Mapping[str, str] = {
        "Content-Type": "application/json",
        "User-Agent": "webex-emulator",
        "TrackingID": tracking_id,
    }
    out = dict(headers)
    if signature:
        out["X-Spark-Signature"] = signature
    return out, signature
