"""The WHOIS load generator: one connection per query (RFC 3912), on raw sockets and epoll.

On one machine the load generator shares the cores with the servers it measures, and a WHOIS
query costs a client a whole TCP connection: about as much CPU as the server spends answering.
Whatever the generator spends is taken from the servers, so this one spends as little as
Python allows: non-blocking sockets registered once with an edge-triggered epoll, no event
loop, task, future or timer per query (an asyncio version on uvloop cost about 1.5 times as
much per query, most of it in Python; what is left is the kernel's connect and close).

Each of `concurrency` slots connects, sends its query as soon as the connection is up, reads
until the server closes, checks the answer and starts the next query, until `seconds` have
passed; a query unanswered for `TIMEOUT` seconds counts as a failure.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Seconds a query may wait for its whole answer before it counts as failed.
TIMEOUT = 30.0
IN, OUT = select.EPOLLIN, select.EPOLLOUT
ENDED = select.EPOLLERR | select.EPOLLHUP | select.EPOLLRDHUP


@dataclass
class _Query:
    sock: socket.socket
    text: bytes
    started: float
    sent: bool = False
    parts: list[bytes] = field(default_factory=list)


@dataclass
class Tally:
    """What the run got: latencies of good answers, failures, not-found answers."""

    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    misses: int = 0

    def count(self, answer: bytes, latency: float) -> None:
        if answer.startswith(b"No match"):
            self.misses += 1
        elif answer.startswith(b"Domain Name:") or answer.startswith(b"X"):  # X: bare server
            self.latencies.append(latency)
        else:
            self.failures += 1


def whois_load(port: int, names: list[bytes], seconds: float, concurrency: int) -> Tally:
    """Ask `names` in turn of the WHOIS server on 127.0.0.1:`port`, `concurrency` at once."""
    poller = select.epoll()
    address = ("127.0.0.1", port)
    queries = [name + b"\r\n" for name in names]
    live: dict[int, _Query] = {}
    tally = Tally()
    perf = time.perf_counter
    deadline = perf() + seconds
    turn = 0

    def start() -> None:
        nonlocal turn
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        sock.connect_ex(address)  # EINPROGRESS; epoll says when it is up (or refused)
        live[sock.fileno()] = _Query(sock, queries[turn], perf())
        turn = (turn + 1) % len(queries)
        poller.register(sock.fileno(), IN | OUT | select.EPOLLRDHUP | select.EPOLLET)

    def finish(fd: int, query: _Query, answer: bytes | None) -> None:
        del live[fd]
        query.sock.close()  # also leaves the epoll set
        if answer is None:
            tally.failures += 1
        else:
            tally.count(answer, perf() - query.started)
        if perf() < deadline:
            start()

    for _ in range(concurrency):
        start()
    next_check = perf() + 1.0
    try:
        while live:
            for fd, events in poller.poll(1.0):
                query = live.get(fd)
                if query is not None:
                    _step(fd, events, query, finish)
            now = perf()
            if now > next_check:  # once a second: end the queries waiting too long
                next_check = now + 1.0
                for fd, query in list(live.items()):
                    if now - query.started > TIMEOUT:
                        finish(fd, query, None)
    finally:
        for query in live.values():
            query.sock.close()
        poller.close()
    return tally


def _step(
    fd: int, events: int, query: _Query, finish: Callable[[int, _Query, bytes | None], None]
) -> None:
    """What an epoll event means for one query: send it, read the answer, or end it."""
    if not query.sent and events & OUT and not events & select.EPOLLERR:
        query.sent = True
        try:
            query.sock.send(query.text)
        except OSError:
            finish(fd, query, None)
            return
    if not events & (IN | ENDED):
        return
    while True:  # edge-triggered: read until the socket is empty or closed
        try:
            data = query.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            finish(fd, query, None)
            return
        if not data:
            finish(fd, query, b"".join(query.parts) if query.sent else None)
            return
        query.parts.append(data)
