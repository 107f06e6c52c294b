"""A circuit breaker for Redis: short timeouts, and after a failure, no Redis for a while.

A Redis that accepts connections but never answers would otherwise cost every turn its socket
timeouts. Every user of one Redis URL in a process shares one breaker (`breaker_for`): after a
failure the breaker is open for `cooldown` seconds (callers use their fallback: in-process
rate limits, the database lock alone), then one call is let through to test Redis again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: seconds a Redis command may take before it counts as a failure
REDIS_TIMEOUT = 0.5
COOLDOWN = 15.0


class CircuitBreaker:
    def __init__(self, cooldown: float = COOLDOWN, clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown, self.clock = cooldown, clock
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> bool:
        """True if Redis may be tried now (closed, or the cool-down is over: one trial)."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self.clock() - self._opened_at >= self.cooldown:
                self._opened_at = self.clock()  # half-open: this caller tries, the others wait
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._opened_at = None

    def failure(self) -> None:
        with self._lock:
            self._opened_at = self.clock()


_BREAKERS: dict[str, CircuitBreaker] = {}
_GUARD = threading.Lock()


def breaker_for(url: str) -> CircuitBreaker:
    with _GUARD:
        return _BREAKERS.setdefault(url, CircuitBreaker())
