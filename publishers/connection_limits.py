"""Per-client caps on concurrent connections: per address and per /24 (IPv4) or /48 (IPv6).

Both servers (WHOIS and HTTP) take a slot for a new connection with `acquire(address)` and give
it back with `release(address)` when the connection is gone. Over either cap `acquire` says no,
and the server closes the connection at once: it holds no slot. Networks are computed as the
rate limits compute them (`publishers.ratelimit.client_keys`: an IPv4-mapped IPv6 address counts
as the IPv4 address it carries). Addresses in the rate limits' allow-list (a monitoring host, a
reverse proxy every visitor comes through) are never capped.

Memory is bounded by the connections held: a key whose count drops to zero is forgotten.
Refusals are counted, and logged at most once per `log_every` seconds, with no client address.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from publishers.ratelimit import client_keys, parse_networks

log = logging.getLogger(__name__)

#: The keys of a client that is not an IP address (a Unix socket peer): one shared slot pool.
UNKNOWN_KEYS = ("unknown", "unknown-net")


class ConnectionLimits:
    """Counts connections held per address and per network; `acquire` refuses over the caps."""

    def __init__(
        self,
        *,
        per_address: int,
        per_network: int,
        allow_list: Iterable[str] = (),
        service: str = "server",
        log_every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_address < 1 or per_network < 1:
            raise ValueError("a connection cap must be at least 1")
        self.per_address = per_address
        self.per_network = per_network
        self.allow_list = parse_networks(allow_list)
        self.service = service
        self.log_every = log_every
        self.clock = clock
        self.refused = 0
        self._held: dict[str, int] = {}
        self._exempt: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._unlogged = 0
        self._logged_at: float | None = None

    def __len__(self) -> int:
        """How many addresses and networks hold a connection now."""
        return len(self._held)

    def held(self, address: str | None) -> tuple[int, int]:
        """Connections held now by this address, and by its network."""
        own, network = client_keys(address or "") or UNKNOWN_KEYS
        return self._held.get(own, 0), self._held.get(network, 0)

    def is_exempt(self, address: str | None) -> bool:
        """True when the address lies in the allow-list (never capped)."""
        if not self.allow_list or not address:
            return False
        known = self._exempt.get(address)
        if known is None:
            keys = client_keys(address)
            parsed = ipaddress.ip_address(keys[0]) if keys else None
            known = parsed is not None and any(parsed in net for net in self.allow_list)
            if len(self._exempt) >= 4096:
                self._exempt.clear()
            self._exempt[address] = known
        return known

    def acquire(self, address: str | None) -> bool:
        """Take a slot for a new connection from `address`; False (nothing taken) over a cap."""
        if self.is_exempt(address):
            return True
        own, network = client_keys(address or "") or UNKNOWN_KEYS
        with self._lock:
            held_own = self._held.get(own, 0)
            held_network = self._held.get(network, 0)
            if held_own < self.per_address and held_network < self.per_network:
                self._held[own] = held_own + 1
                self._held[network] = held_network + 1
                return True
            self.refused += 1
            self._unlogged += 1
        self._note_refusals()
        return False

    def release(self, address: str | None) -> None:
        """Give back the slot `acquire` took for a connection from `address`."""
        if self.is_exempt(address):
            return
        own, network = client_keys(address or "") or UNKNOWN_KEYS
        with self._lock:
            for key in (own, network):
                count = self._held.get(key, 0) - 1
                if count > 0:
                    self._held[key] = count
                else:
                    self._held.pop(key, None)

    def _note_refusals(self) -> None:
        """Log how many were refused, at most once per `log_every` seconds (counts only)."""
        now = self.clock()
        if self._logged_at is not None and now - self._logged_at < self.log_every:
            return
        with self._lock:
            count, self._unlogged = self._unlogged, 0
            self._logged_at = now
        if count:
            log.warning(
                "%s: refused %d connection(s) over the per-client connection caps "
                "(%d per address, %d per network)",
                self.service,
                count,
                self.per_address,
                self.per_network,
            )


def connection_limits_from_settings(serve: Any, service: str) -> ConnectionLimits:
    """The caps of `serve.<service>_max_connections_per_address` and `..._per_network`.

    `service` is "http" or "whois"; a cap below 1 is a ValueError naming the setting.
    """
    caps = {}
    for level in ("address", "network"):
        name = f"{service}_max_connections_per_{level}"
        value = getattr(serve, name)
        if value < 1:
            raise ValueError(
                f"serve.{name} is {value}: it must be at least 1 (the connections one client "
                f"{level} may hold at once)"
            )
        caps[level] = value
    return ConnectionLimits(
        per_address=caps["address"],
        per_network=caps["network"],
        allow_list=serve.rate_limit.allow_list,
        service=service,
    )
