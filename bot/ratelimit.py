"""A per-client rate limit: a token bucket per key, refilled evenly over a minute.

A client may send ``per_minute`` requests at once and then one every ``60 / per_minute``
seconds. Buckets live in memory: each server process limits its own clients, which is what a
single small server needs (behind several replicas, limit at the load balancer as well).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

#: Forget full buckets once this many clients are tracked, so memory stays bounded.
_PRUNE_AT = 10_000


class RateLimiter:
    """Token buckets keyed by client."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last time)
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """Take one request for ``key``: None if allowed, else whole seconds to wait."""
        if self.capacity <= 0:
            return None
        now = self.clock()
        with self._lock:
            known = self._buckets.get(key)
            if known is None:
                self._prune(now)  # only a new client can grow the table: scan then, not always
            tokens, then = known or (self.capacity, now)
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _prune(self, now: float) -> None:
        if len(self._buckets) < _PRUNE_AT:
            return
        full = [
            key
            for key, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self.rate >= self.capacity
        ]
        for key in full:
            del self._buckets[key]
