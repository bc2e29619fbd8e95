"""The HTTP server under idle, half-sent and trickling connections (publishers/http_guard.py).

The services run in-process (`Services`, what `interlink serve` runs) on loopback; attackers and
good clients are real sockets bound to different addresses of 127.0.0.0/8, so the per-address
and per-/24 caps (publishers/connection_limits.py) see them as different clients.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import selectors
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from domains.settings import ServeSettings, Settings
from domains.store import Store
from publishers.connection_limits import ConnectionLimits, connection_limits_from_settings
from publishers.http_guard import HEAD_MAX_BYTES
from tests.support.rdap_schema import rdap_answer
from tests.support.rdds import (
    GOOD,
    close_all,
    connect,
    enough_files,
    poll,
    rdds_settings,
    wait_closed,
)
from tui.commands.serve import Services

HEAD_TIMEOUT = 1.5
#: Slack for the loop to notice a deadline and the kernel to deliver the close.
MARGIN = 2.0
HALF_HEAD = b"GET /rdap/domain/kite-makers.com HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"


def guarded_settings(settings: Settings, **serve: Any) -> Settings:
    """The test's settings: a short head deadline, nobody allow-listed, and these values."""
    values = {"http_head_timeout": HEAD_TIMEOUT, "rate_limit": {"allow_list": []}, **serve}
    return rdds_settings(settings, **values)


@contextlib.contextmanager
def running(store: Store, settings: Settings) -> Iterator[Services]:
    with Services(store, settings, whois_port=0, http_port=0, portal=False) as services:
        yield services


def good_request(port: int, source: str = GOOD) -> dict[str, Any]:
    """One RDAP request on a new connection from `source`; the JSON answer (status 200)."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request("GET", "/rdap/domain/kite-makers.com")
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, (response.status, body[:200])
        return rdap_answer(body, "domainAnswer")
    finally:
        connection.close()


def limits_of(services: Services) -> ConnectionLimits:
    assert services.http_limits is not None
    return services.http_limits


# -- the counter --------------------------------------------------------------------------


def test_caps_per_address_and_per_network() -> None:
    limits = ConnectionLimits(per_address=2, per_network=3)
    assert limits.acquire("192.0.2.1") and limits.acquire("192.0.2.1")
    assert not limits.acquire("192.0.2.1")  # the address's cap
    assert limits.acquire("::ffff:192.0.2.7")  # IPv4-mapped: the same /24
    assert not limits.acquire("192.0.2.8")  # the network's cap
    assert limits.acquire("192.0.3.1")  # another /24
    assert limits.held("192.0.2.99") == (0, 3) and limits.refused == 2
    limits.release("192.0.2.1")
    assert limits.acquire("192.0.2.200")
    v6 = ConnectionLimits(per_address=5, per_network=2)
    assert v6.acquire("2001:db8:1:1::1") and v6.acquire("2001:db8:1:ffff::2")
    assert not v6.acquire("2001:db8:1:2::3")  # the same /48
    assert v6.acquire("2001:db8:2::1")


def test_slots_come_back_and_memory_stays_bounded() -> None:
    limits = ConnectionLimits(per_address=1, per_network=1)
    for round_ in range(3):
        addresses = [f"10.{round_}.{n}.1" for n in range(200)]
        assert all(limits.acquire(address) for address in addresses)
        assert len(limits) == 400
        for address in addresses:
            limits.release(address)
        assert len(limits) == 0
    limits.release("10.9.9.9")  # a stray release takes nothing below zero
    assert len(limits) == 0 and limits.acquire("10.9.9.9")


def test_allow_listed_addresses_are_never_capped() -> None:
    limits = ConnectionLimits(per_address=1, per_network=1, allow_list=["203.0.113.0/24"])
    assert all(limits.acquire("203.0.113.5") for _ in range(50))
    assert len(limits) == 0
    limits.release("203.0.113.5")
    assert limits.acquire("198.51.100.1") and not limits.acquire("198.51.100.2")


def test_refusals_are_logged_rarely_and_without_addresses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    limits = ConnectionLimits(per_address=1, per_network=1, service="http", clock=lambda: now[0])
    limits.acquire("192.0.2.1")
    with caplog.at_level(logging.INFO, logger="publishers.connection_limits"):
        for _ in range(500):
            assert not limits.acquire("192.0.2.1")
        now[0] += 61
        assert not limits.acquire("192.0.2.1")
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2, messages
    assert "refused 1 connection" in messages[0] and "refused 500 connection" in messages[1]
    assert not any("192.0.2" in message for message in messages)


def test_a_cap_below_one_names_the_setting() -> None:
    bad = ServeSettings(whois_max_connections_per_network=0)
    with pytest.raises(ValueError, match=r"serve\.whois_max_connections_per_network is 0"):
        connection_limits_from_settings(bad, "whois")


# -- the server ---------------------------------------------------------------------------


def test_idle_and_half_sent_connections_do_not_starve_a_good_client(
    seeded_store: Store,
) -> None:
    """500 idle and 500 half-sent connections from one address; another is served throughout."""
    enough_files(4096)
    settings = guarded_settings(seeded_store.settings)
    cap = settings.serve.http_max_connections_per_address
    attack: list[socket.socket] = []
    with running(seeded_store, settings) as services:
        limits = limits_of(services)
        try:
            for n in range(1000):
                sock = connect(services.http_port)
                attack.append(sock)
                if n % 2:
                    sock.sendall(HALF_HEAD)
            opened = time.monotonic()
            poll(lambda: limits.refused == 1000 - cap, what="the server seeing every connection")
            assert limits.held("127.0.0.1") == (cap, cap)
            for _ in range(20):
                assert good_request(services.http_port)["ldhName"] == "kite-makers.com"
            # ... while the attack still held its slots (unless this machine is very slow).
            still_held = limits.held("127.0.0.1")[0] == cap
            assert still_held or time.monotonic() - opened > HEAD_TIMEOUT - 0.2
            closed, still_open = wait_closed(attack, opened + HEAD_TIMEOUT + MARGIN)
            assert still_open == 0, f"{still_open} attack connections still open"
            refused = [data for data in closed.values() if data.startswith(b"HTTP/1.1 503 ")]
            # A refused one is told why (unless its unread request made the close a reset).
            assert len(refused) >= (1000 - cap) // 2, len(refused)
            assert all(b"Too many connections from your address" in data for data in refused)
            poll(lambda: len(limits) == 0, what="every slot given back")
            assert services.http_protocol is not None
            stats = services.http_protocol.stats
            assert stats["refused"] == 1000 - cap and stats["head timeouts"] == cap, stats
            assert good_request(services.http_port, "127.0.0.1")["ldhName"] == "kite-makers.com"
        finally:
            close_all(attack)


def test_a_head_trickled_byte_by_byte_is_cut_off_at_the_deadline(seeded_store: Store) -> None:
    settings = guarded_settings(seeded_store.settings)
    with running(seeded_store, settings) as services, connect(services.http_port) as sock:
        started = time.monotonic()
        payload = iter(HALF_HEAD * 100)
        closed = False
        while not closed and time.monotonic() < started + HEAD_TIMEOUT + MARGIN:
            # One byte every 50 ms: always some progress, never a complete head.
            ready = selectors.DefaultSelector()
            ready.register(sock, selectors.EVENT_READ)
            if ready.select(timeout=0.05):
                try:
                    closed = sock.recv(4096) == b""
                except ConnectionResetError:
                    closed = True
            else:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    sock.send(bytes([next(payload)]))
            ready.close()
        waited = time.monotonic() - started
        assert closed, "a trickled head was never cut off"
        assert HEAD_TIMEOUT - 0.1 <= waited < HEAD_TIMEOUT + MARGIN, waited


def ask_on(sock: socket.socket, reader: Any) -> None:
    """One complete RDAP request on an open keep-alive connection; its answer is read whole."""
    sock.sendall(b"GET /rdap/domain/kite-makers.com HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert reader.readline().startswith(b"HTTP/1.1 200 ")
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    assert b"kite-makers.com" in reader.read(length)


def test_keep_alive_requests_each_get_the_deadline(seeded_store: Store) -> None:
    keep_alive = 1
    settings = guarded_settings(seeded_store.settings, http_timeout_keep_alive=keep_alive)
    with running(seeded_store, settings) as services:
        with connect(services.http_port) as sock, sock.makefile("rb") as reader:
            for _ in range(3):  # complete requests on one connection are all answered
                ask_on(sock, reader)
            started = time.monotonic()
            sock.sendall(HALF_HEAD)  # the next head stops halfway: its own deadline applies
            closed, still_open = wait_closed([sock], started + HEAD_TIMEOUT + MARGIN)
            assert still_open == 0 and closed == {0: b""}
            # Not keep-alive's timer: the first byte of a request stops that one.
            assert time.monotonic() - started >= HEAD_TIMEOUT - 0.1
        with connect(services.http_port) as sock, sock.makefile("rb") as reader:
            ask_on(sock, reader)
            started = time.monotonic()  # idle after an answer: uvicorn's keep-alive timeout
            closed, still_open = wait_closed([sock], started + keep_alive + MARGIN)
            assert still_open == 0 and closed == {0: b""}


def test_the_per_network_cap_spares_other_networks(seeded_store: Store) -> None:
    settings = guarded_settings(
        seeded_store.settings,
        http_max_connections_per_address=2,
        http_max_connections_per_network=5,
        http_head_timeout=30.0,
    )
    socks: list[socket.socket] = []
    with running(seeded_store, settings) as services:
        limits = limits_of(services)
        try:
            socks += [connect(services.http_port, f"127.0.5.{n}") for n in range(1, 11)]
            socks += [connect(services.http_port, "127.0.6.1") for _ in range(3)]
            poll(lambda: limits.refused == 6, what="5 + 1 refusals")
            assert limits.held("127.0.5.1") == (1, 5) and limits.held("127.0.6.1") == (2, 2)
            for _ in range(5):
                good_request(services.http_port)
            close_all(socks)
            poll(lambda: len(limits) == 0, what="every slot given back")
            again = [connect(services.http_port, f"127.0.5.{n}") for n in range(1, 6)]
            socks += again
            poll(lambda: limits.held("127.0.5.1")[1] == 5, what="the network's slots again")
            assert limits.refused == 6
        finally:
            close_all(socks)


def test_an_endless_head_is_refused_not_stored(seeded_store: Store) -> None:
    settings = guarded_settings(seeded_store.settings, http_head_timeout=30.0)
    with running(seeded_store, settings) as services, connect(services.http_port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        header = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(2 * HEAD_MAX_BYTES // len(header)):
                sock.sendall(header)
        closed, still_open = wait_closed([sock], time.monotonic() + 5)
        assert still_open == 0
        assert closed[0] == b"" or closed[0].startswith(b"HTTP/1.1 431 ")
        assert good_request(services.http_port)["ldhName"] == "kite-makers.com"
