"""Per-client rate limits of the public services (WHOIS and RDAP): token buckets.

A client spends one token per query from two buckets: its own address's, and its network's
(the /24 of an IPv4 address, the /48 of an IPv6 one), so one host cannot hog the service and
neither can a neighbourhood of hosts. Addresses in the allow-list (networks, e.g. a monitoring
host or the registry's own checker) are never limited. A bucket holds at most `burst` tokens and
refills at `rate` tokens per second; the clock is injectable, so tests need no sleeping.

Memory is bounded: at most `max_tracked` buckets are kept; when that many exist, the ones that
have refilled completely (idle clients, indistinguishable from new ones) are dropped, and if
that is not enough, the oldest ones.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from domains.settings import RateLimitSettings

IPV4_PREFIX = 24
IPV6_PREFIX = 48
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Limit:
    """A bucket's shape: `rate` tokens per second, at most `burst` tokens."""

    rate: float
    burst: float

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")


@dataclass(frozen=True)
class Decision:
    """The answer for one query: allowed, or refused with the seconds to wait."""

    allowed: bool
    retry_after: float = 0.0

    @property
    def retry_after_seconds(self) -> int:
        """The wait in whole seconds (at least 1), for Retry-After and refusal lines."""
        return max(1, math.ceil(self.retry_after))


ALLOWED = Decision(True)


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


@lru_cache(maxsize=8192)
def client_keys(address: str) -> tuple[str, str] | None:
    """The (address, network) keys of a client address; None when it is not an IP address.

    An IPv4-mapped IPv6 address (::ffff:192.0.2.1) counts as the IPv4 address it carries.
    """
    try:
        parsed: _Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = IPV4_PREFIX if parsed.version == 4 else IPV6_PREFIX
    network = ipaddress.ip_network(f"{parsed}/{prefix}", strict=False)
    return str(parsed), str(network)


def parse_networks(entries: Iterable[str]) -> tuple[_Network, ...]:
    """Allow-list entries (addresses or networks in CIDR form) as networks; bad ones raise."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


class RateLimiter:
    """Token buckets per address and per /24 (IPv4) or /48 (IPv6), with an allow-list."""

    def __init__(
        self,
        *,
        per_address: Limit,
        per_network: Limit,
        allow_list: Iterable[str] = (),
        max_tracked: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address = per_address
        self.per_network = per_network
        self.allow_list = parse_networks(allow_list)
        self.max_tracked = max(16, max_tracked)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._allowed_cache: dict[str, bool] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many buckets are tracked now."""
        return len(self._buckets)

    def is_allow_listed(self, address: str) -> bool:
        """True when the address lies in a network of the allow-list."""
        known = self._allowed_cache.get(address)
        if known is not None:
            return known
        keys = client_keys(address)
        listed = False
        if keys is not None and self.allow_list:
            parsed = ipaddress.ip_address(keys[0])
            listed = any(parsed in network for network in self.allow_list)
        if len(self._allowed_cache) >= 4096:
            self._allowed_cache.clear()
        self._allowed_cache[address] = listed
        return listed

    def check(self, address: str | None) -> Decision:
        """Spend one token of the client's address and network, or say how long to wait.

        An address that is not an IP address (a Unix socket peer, say) shares one bucket.
        """
        address = address or "unknown"
        if self.allow_list and self.is_allow_listed(address):
            return ALLOWED
        keys = client_keys(address) or ("unknown", "unknown-net")
        with self._lock:
            now = self.clock()
            own = self._bucket(keys[0], self.per_address, now)
            net = self._bucket(keys[1], self.per_network, now)
            if own.tokens >= 1 and net.tokens >= 1:
                own.tokens -= 1
                net.tokens -= 1
                return ALLOWED
            wait = max(
                (1 - own.tokens) / self.per_address.rate if own.tokens < 1 else 0.0,
                (1 - net.tokens) / self.per_network.rate if net.tokens < 1 else 0.0,
            )
            return Decision(False, wait)

    def _bucket(self, key: str, limit: Limit, now: float) -> _Bucket:
        """The bucket of `key`, refilled to `now`."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_tracked:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(limit.burst, now)
            return bucket
        elapsed = now - bucket.stamp
        if elapsed > 0:
            bucket.tokens = min(limit.burst, bucket.tokens + elapsed * limit.rate)
            bucket.stamp = now
        return bucket

    def _prune(self, now: float) -> None:
        """Drop full buckets (idle clients); if that frees too little, the oldest half."""
        burst_after = max(
            self.per_address.burst / self.per_address.rate,
            self.per_network.burst / self.per_network.rate,
        )
        idle = [key for key, b in self._buckets.items() if now - b.stamp >= burst_after]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) >= self.max_tracked * 0.9:
            for key in list(self._buckets)[: len(self._buckets) // 2]:
                del self._buckets[key]


def limiter_from_settings(
    settings: RateLimitSettings, clock: Callable[[], float] | None = None
) -> RateLimiter:
    """A RateLimiter from the `serve.rate_limit` settings."""
    return RateLimiter(
        per_address=Limit(settings.per_address_rate, settings.per_address_burst),
        per_network=Limit(settings.per_network_rate, settings.per_network_burst),
        allow_list=settings.allow_list,
        max_tracked=settings.max_tracked,
        clock=clock or time.monotonic,
    )
