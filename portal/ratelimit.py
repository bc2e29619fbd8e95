"""Token buckets per client: a burst of requests at once, then a steady trickle."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Forget idle clients beyond this many (their buckets are full again anyway).
MAX_CLIENTS = 50_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBucket:
    """`burst` tokens per client, one more every `every` seconds; a request takes one."""

    def __init__(
        self, burst: int, every: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if burst < 1 or every <= 0:
            raise ValueError("a bucket needs burst >= 1 and every > 0")
        self.burst = burst
        self.every = every
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the client may go ahead, else the seconds until it may try again."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                if len(self._buckets) >= MAX_CLIENTS:
                    self._prune(now)
                bucket = self._buckets[client] = _Bucket(float(self.burst), now)
            else:
                elapsed = max(0.0, now - bucket.at)
                bucket.tokens = min(float(self.burst), bucket.tokens + elapsed / self.every)
                bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) * self.every

    def _prune(self, now: float) -> None:
        """Drop the buckets that have refilled; if none has, drop the oldest half."""
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.at) / self.every >= self.burst
        ]
        if not full:
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k].at)
            full = by_age[: len(by_age) // 2]
        for key in full:
            del self._buckets[key]


class RateLimiter:
    """Named buckets (submit, confirm, lookup), each per client address."""

    def __init__(
        self, buckets: dict[str, tuple[int, float]], *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.buckets = {
            name: TokenBucket(burst, every, clock=clock) for name, (burst, every) in buckets.items()
        }

    def retry_after(self, bucket: str, client: str) -> int:
        """0 to go ahead, else whole seconds to wait (for the Retry-After header)."""
        wait = self.buckets[bucket].take(client)
        return 0 if wait <= 0 else max(1, math.ceil(wait))
