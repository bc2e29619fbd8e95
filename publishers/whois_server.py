"""The WHOIS server (RFC 3912): one query line ending in CRLF, the answer, then close.

asyncio protocol (uvloop when installed, chosen by whoever runs the loop): no stream objects,
no task for an answer the cache can give at once. Every query goes through `public_lookup`
(normalise, store, policy view, `render_whois`), so WHOIS shows exactly what the policy allows.

What keeps it standing whatever a client sends:
- a query longer than `max_query` bytes gets a one-line error and the connection is closed as
  soon as the limit is passed (nothing more is read: memory per connection is bounded);
- a client that sends no complete line within `read_timeout` seconds is told so and dropped;
- at most `max_connections` connections at once, and per client address and per /24 (IPv4) or
  /48 (IPv6) at most so many (`publishers.connection_limits`); one more gets a one-line refusal
  and is closed at once: a refused connection holds no slot of either;
- per client address and network, a token bucket (`publishers.ratelimit`); over it, a one-line
  refusal naming the wait;
- bytes that are not UTF-8, control characters, labels over 63 octets, names that are not
  IDNA2008, labels mixing scripts: a one-line `Error: ...`, never a traceback.

Logs carry no personal data: no client addresses, no queries; `stats` holds counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from typing import Any

from publishers.answer_reader import LookupUnavailable
from publishers.connection_limits import ConnectionLimits, connection_limits_from_settings
from publishers.public_lookup import PublicLookup, iso_now
from publishers.query_names import QueryError, normalise
from publishers.ratelimit import RateLimiter
from publishers.whois import whois_bytes

log = logging.getLogger(__name__)

CRLF = b"\r\n"
#: After the answer: half-close, then read and drop what the client still sends for this long,
#: so the answer is not lost to a reset (a lingering close, as HTTP servers do).
LINGER_SECONDS = 1.0
BUSY = b"Error: too many connections; try again later." + CRLF
CLIENT_BUSY = b"Error: too many connections from your address or network at once." + CRLF


def error_line(reason: str) -> bytes:
    """A one-line error answer."""
    return f"Error: {reason}".encode("ascii", "replace") + CRLF


def no_match(name: str) -> bytes:
    """The ICANN-style answer for a name the store does not hold."""
    return (
        f'No match for "{name.upper()}".\r\n>>> Last update of WHOIS database: {iso_now()} <<<\r\n'
    ).encode("ascii", "replace")


def whois_lookup(store: Any, settings: Any = None, **options: Any) -> PublicLookup:
    """A PublicLookup that renders WHOIS text."""
    return PublicLookup(store, whois_bytes, settings=settings, service="whois", **options)


class WhoisServer:
    """An RFC 3912 server over a PublicLookup; `start` it in a running loop, `stop` it there."""

    def __init__(
        self,
        lookup: PublicLookup,
        *,
        limiter: RateLimiter | None = None,
        limits: ConnectionLimits | None = None,
        max_connections: int = 256,
        read_timeout: float = 10.0,
        max_query: int = 512,
    ) -> None:
        self.lookup = lookup
        self.limiter = limiter
        self.limits = limits
        self.max_connections = max_connections
        self.read_timeout = read_timeout
        self.max_query = max_query
        self.stats: Counter[str] = Counter()
        self.active: set[_WhoisProtocol] = set()
        self._server: asyncio.Server | None = None

    @classmethod
    def from_settings(
        cls, lookup: PublicLookup, serve: Any, limiter: RateLimiter | None
    ) -> WhoisServer:
        """A server with the limits of `settings.serve`."""
        return cls(
            lookup,
            limiter=limiter,
            limits=connection_limits_from_settings(serve, "whois"),
            max_connections=serve.whois_max_connections,
            read_timeout=serve.whois_read_timeout,
            max_query=serve.whois_max_query,
        )

    async def start(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sock: socket.socket | None = None,
        backlog: int = 1024,
    ) -> None:
        """Listen on `sock`, or on host:port (port 0: any free port; see `port`)."""
        loop = asyncio.get_running_loop()
        if sock is not None:
            self._server = await loop.create_server(
                lambda: _WhoisProtocol(self), sock=sock, backlog=backlog
            )
        else:
            self._server = await loop.create_server(
                lambda: _WhoisProtocol(self), host, port, backlog=backlog, reuse_address=True
            )

    @property
    def port(self) -> int:
        """The port it listens on."""
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, grace: float = 2.0) -> None:
        """Stop listening, let answers in flight finish for up to `grace` seconds, drop the rest."""
        if self._server is not None:
            self._server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while any(p.answering for p in self.active) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        for protocol in list(self.active):
            protocol.abort()
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout=grace)
            self._server = None
        if self.stats:
            log.info("whois: %s", ", ".join(f"{k} {v}" for k, v in sorted(self.stats.items())))


class _WhoisProtocol(asyncio.Protocol):
    """One connection: read one line (bounded, timed), answer, close."""

    __slots__ = (
        "address",
        "answering",
        "buffer",
        "done",
        "server",
        "slot",
        "task",
        "timer",
        "transport",
    )

    def __init__(self, server: WhoisServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.done = False
        self.answering = False
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        self.address: str | None = None
        self.slot = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server = self.server
        self.transport = transport  # type: ignore[assignment]
        server.stats["connections"] += 1
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else None
        if server.limits is not None:
            if not server.limits.acquire(address):
                server.stats["refused per client"] += 1
                self._refuse_at_once(CLIENT_BUSY)
                return
            self.address = address
            self.slot = True
        if len(server.active) >= server.max_connections:
            server.stats["refused busy"] += 1
            self._release_slot()
            self._refuse_at_once(BUSY)
            return
        server.active.add(self)
        if server.limiter is not None:
            decision = server.limiter.check(address)
            if not decision.allowed:
                server.stats["refused rate"] += 1
                wait = decision.retry_after_seconds
                self._finish(error_line(f"rate limit exceeded; try again in {wait} seconds."))
                return
        self.timer = asyncio.get_running_loop().call_later(server.read_timeout, self._timed_out)

    def data_received(self, data: bytes) -> None:
        if self.done:
            return  # answered or answering: whatever else comes is dropped
        start = len(self.buffer)
        self.buffer += data
        end = self.buffer.find(b"\n", max(0, start - 1))
        limit = self.server.max_query
        if end < 0:
            if len(self.buffer) > limit:
                self._refuse(f"query longer than {limit} bytes")
            return
        if end > limit + 1:
            self._refuse(f"query longer than {limit} bytes")
            return
        line = bytes(self.buffer[:end])
        self._query(line[:-1] if line.endswith(b"\r") else line)

    def eof_received(self) -> bool:
        # A client that half-closes after its query without a line end still gets an answer.
        if not self.done and self.buffer:
            self._query(bytes(self.buffer).rstrip(b"\r"))
            return True
        return self.answering

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.active.discard(self)
        self._release_slot()
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.buffer = bytearray()

    # -- answering ---------------------------------------------------------------------

    def _timed_out(self) -> None:
        if not self.done:
            self.server.stats["timeouts"] += 1
            self._finish(error_line("no query line received in time."))

    def _refuse(self, reason: str) -> None:
        self.server.stats["errors"] += 1
        self._finish(error_line(reason + "."))

    def _release_slot(self) -> None:
        """Give back the per-client slot, once."""
        if self.slot:
            self.slot = False
            assert self.server.limits is not None
            self.server.limits.release(self.address)

    def _refuse_at_once(self, answer: bytes) -> None:
        """Refuse a new connection: one line, closed now (no lingering, no slot held)."""
        self.done = True
        assert self.transport is not None
        self.transport.write(answer)
        self.transport.close()

    def _finish(self, answer: bytes) -> None:
        """Send the answer, half-close, drop input until the client closes (or LINGER), close."""
        self.done = True
        self.answering = False
        self.buffer = bytearray()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(answer)
        try:
            transport.write_eof()
        except (OSError, RuntimeError, NotImplementedError):
            transport.close()
            return
        self.timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, transport.close)

    def abort(self) -> None:
        """Drop the connection at once (server shutdown)."""
        self.done = True
        if self.transport is not None:
            self.transport.abort()

    def _query(self, line: bytes) -> None:
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        try:
            name = normalise(line.decode("utf-8"))
        except UnicodeDecodeError:
            self._refuse("the query is not UTF-8 text")
            return
        except QueryError as exc:
            self._refuse(str(exc))
            return
        lookup = self.server.lookup
        try:
            answer = lookup.answer_now(name)
            if answer is None and lookup.inline:
                answer = lookup.answer(name)
        except Exception as exc:
            self._failed(exc)
            return
        if answer is not None:
            self._send(name, answer.body)
            return
        self.answering = True
        self.task = asyncio.get_running_loop().create_task(self._lookup(name))

    async def _lookup(self, name: str) -> None:
        try:
            answer = await self.server.lookup.answer_alabel(name)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(exc)
            return
        self._send(name, answer.body)

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, LookupUnavailable):
            self.server.stats["unavailable"] += 1
            self._finish(error_line("the service is temporarily unavailable; try again later."))
            return
        # No traceback in the logs either; a developer can turn on debug logging.
        log.error("whois: answering failed: %s", type(exc).__name__)
        log.debug("whois: answering failed", exc_info=True)
        self.server.stats["failures"] += 1
        self._finish(error_line("internal error; try again later."))

    def _send(self, name: str, body: bytes | None) -> None:
        if body is None:
            self.server.stats["no match"] += 1
            self._finish(no_match(name))
        else:
            self.server.stats["answers"] += 1
            self._finish(body)
