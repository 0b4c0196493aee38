"""How fast the bot calls Webex with one token (`Pace`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pace:
    """The calls made with one token: at most `rate` a second (a token bucket of `burst`), and when
    Webex refuses one for its rate (429, or 423 on Calling) every call with that token waits out
    the Retry-After, not only the refused one, and the rate halves; it grows back by a tenth for
    each `recover` seconds without a refusal. The bot slows itself down instead of collecting
    refusals (Webex publishes no figure: its limits are per application and organization, and
    change)."""

    def __init__(self, rate: float, *, burst: float = 10.0, floor: float = 1.0, recover: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.most = rate
        self.rate = rate
        self.burst = burst
        self.floor = min(floor, rate)
        self.recover = recover
        self.clock = clock
        self._lock = threading.Lock()
        self._due = clock()  # the bucket, as a time (see delay)
        self._held_until = 0.0
        self._calm_since = clock()

    def delay(self, *, refused: bool = False) -> float:
        """Take a turn: how long to wait before making the call (0: at once). `refused`: this call
        was the one refused, and has waited out the hold already."""
        with self._lock:
            now = self.clock()
            if self.rate < self.most and now - self._calm_since >= self.recover:
                self.rate, self._calm_since = min(self.most, self.rate * 1.1), now
            # the generic cell rate algorithm: each call moves a theoretical time on by 1/rate; a
            # call may go as long as that time is at most `burst` calls ahead of now
            due = max(self._due, now)
            wait = max(due - now - (self.burst - 1) / self.rate, 0.0 if refused else self._held_until - now, 0.0)
            self._due = due + 1.0 / self.rate
            return wait

    def holding(self) -> float:
        """How much longer every call with this token waits for a refusal (0: none)."""
        with self._lock:
            return max(0.0, self._held_until - self.clock())

    def refused(self, wait: float) -> None:
        """Webex said to wait `wait` seconds: every call with this token does (0: only the rate
        halves; the client passes that when the wait is longer than it ever blocks a thread, and
        the work is rescheduled instead)."""
        with self._lock:
            now = self.clock()
            self._held_until = max(self._held_until, now + wait)
            self.rate, self._calm_since = max(self.floor, self.rate / 2), now
