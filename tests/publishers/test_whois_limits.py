"""WHOIS under a flood of idle connections from many addresses: the per-client caps.

Attackers bind their sockets to many addresses of 127.0.0.0/8 in a few /24 networks; the good
client asks from another /24 (127.0.9.9) and must be answered throughout. A refused connection
is told why, closed at once, and holds no slot (neither a per-client one nor the global one).
"""

from __future__ import annotations

import socket
import time
from typing import Any

from domains.store import Store
from publishers.whois_server import BUSY, CLIENT_BUSY, WhoisServer
from tests.support.rdds import (
    GOOD,
    close_all,
    connect,
    enough_files,
    poll,
    rdds_settings,
    read_all,
    wait_closed,
)
from tui.commands.serve import Services

# The same fixture as the HTTP tests: one seeded SQLite store.

NETWORKS = ["127.0.1", "127.0.2", "127.0.3", "127.0.4"]


def whois_settings(store: Store, **serve: Any) -> Any:
    """Settings with nobody allow-listed (rate limits too wide to matter) and these values."""
    wide = {"allow_list": [], "per_address_burst": 1000, "per_network_burst": 1000}
    return rdds_settings(store.settings, rate_limit=wide, **serve)


def good_query(port: int, source: str = GOOD) -> bytes:
    """One WHOIS query for the seeded domain from `source`; the whole answer."""
    with connect(port, source) as sock:
        sock.sendall(b"kite-makers.com\r\n")
        return read_all(sock)


def whois_of(services: Services) -> WhoisServer:
    assert services.whois is not None
    return services.whois


def test_a_flood_from_a_few_networks_leaves_others_served(seeded_store: Store) -> None:
    """1,000 idle connections from 100 addresses in 4 /24s; a client elsewhere gets 40 answers."""
    enough_files(4096)
    settings = whois_settings(seeded_store, whois_read_timeout=30.0)
    per_network = settings.serve.whois_max_connections_per_network
    held_at_most = len(NETWORKS) * per_network
    assert held_at_most < settings.serve.whois_max_connections
    attack: list[socket.socket] = []
    with Services(seeded_store, settings, whois_port=0, http_port=0, portal=False) as services:
        whois = whois_of(services)
        try:
            started = time.monotonic()
            for n in range(1000):
                network = NETWORKS[n % len(NETWORKS)]
                attack.append(connect(services.whois_port, f"{network}.{n % 25 + 1}"))
            # The refused ones are told why and closed at once, long before the read timeout.
            closed, still_open = wait_closed(attack, started + 10, leave_open=held_at_most)
            assert time.monotonic() - started < settings.serve.whois_read_timeout / 3
            assert still_open == held_at_most, still_open
            assert len(closed) == 1000 - held_at_most
            assert all(data in (CLIENT_BUSY, b"") for data in closed.values())
            assert sum(data == CLIENT_BUSY for data in closed.values()) >= len(closed) // 2
            assert len(whois.active) == held_at_most
            for _ in range(40):
                assert good_query(services.whois_port).startswith(b"Domain Name: KITE-MAKERS.COM")
            assert whois.stats["refused per client"] == 1000 - held_at_most
            assert whois.stats["refused busy"] == 0
        finally:
            close_all(attack)
        limits = whois.limits
        assert limits is not None
        poll(lambda: len(limits) == 0 and not whois.active, what="every slot given back")


def test_refused_connections_hold_no_slot(seeded_store: Store) -> None:
    """Refused connections left open by their client count toward no limit."""
    settings = whois_settings(
        seeded_store, whois_max_connections=2, whois_max_connections_per_address=2
    )
    socks: list[socket.socket] = []
    with Services(seeded_store, settings, whois_port=0, http_port=0, portal=False) as services:
        whois = whois_of(services)
        port = services.whois_port
        try:
            holders = [connect(port, "127.0.7.1") for _ in range(2)]
            socks += holders
            poll(lambda: len(whois.active) == 2, what="both idle connections accepted")
            # The same address once more: over its own cap; other addresses: over the global one.
            socks += [connect(port, "127.0.7.1") for _ in range(10)]
            socks += [connect(port, f"127.0.8.{n}") for n in range(1, 41)]
            poll(
                lambda: whois.stats["refused per client"] + whois.stats["refused busy"] == 50,
                what="50 refusals",
            )
            assert whois.stats["refused per client"] == 10, whois.stats
            assert len(whois.active) == 2
            assert whois.limits is not None and whois.limits.held("127.0.7.1") == (2, 2)
            closed, _ = wait_closed(socks[2:], time.monotonic() + 5)
            assert len(closed) == 50
            assert {data for data in closed.values()} <= {CLIENT_BUSY, BUSY, b""}
            # The refused ones are still open on the client's side; the idle ones go away:
            close_all(holders)
            poll(lambda: not whois.active, what="the idle connections gone")
            assert good_query(port).startswith(b"Domain Name: KITE-MAKERS.COM")
            assert good_query(port, "127.0.7.1").startswith(b"Domain Name: KITE-MAKERS.COM")
        finally:
            close_all(socks)
