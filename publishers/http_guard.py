"""uvicorn's httptools protocol with per-client connection caps and a deadline for request heads.

What it adds to uvicorn, which on its own keeps any connection that never completes a request:
- each connection takes a slot of a `ConnectionLimits` (per address, per /24 or /48); over the
  cap it gets a bare 503 and is closed at once, holding no slot; the slot is given back exactly
  once when the connection is gone;
- a connection must send a complete request head within `head_timeout` seconds of opening, or
  of the first byte of its next request on a keep-alive connection, however slowly it trickles
  in; otherwise it is closed. Between requests uvicorn's own keep-alive timeout still applies;
- a request head longer than `HEAD_MAX_BYTES` gets 431 and the connection is closed (llhttp
  itself sets no bound, so the headers would pile up in memory).

`guarded_protocol(limits, head_timeout)` gives the class to pass as `uvicorn.Config(http=...)`.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from publishers.connection_limits import ConnectionLimits

#: The longest request head (request line and headers) accepted, in bytes.
HEAD_MAX_BYTES = 64 * 1024


def plain_response(status: str, text: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, with a one-line text body."""
    body = text.encode("ascii") + b"\r\n"
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


BUSY = plain_response(
    "503 Service Unavailable", "Too many connections from your address or network at once."
)
HEAD_TOO_LARGE = plain_response(
    "431 Request Header Fields Too Large",
    f"The request line and headers are longer than {HEAD_MAX_BYTES} bytes.",
)


class GuardedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that takes a per-client slot and bounds the time to a request head."""

    limits: ClassVar[ConnectionLimits | None] = None
    head_timeout: ClassVar[float] = 5.0
    #: Counts shared by all connections of the class: refused, head timeouts, heads too large.
    stats: ClassVar[Counter[str]] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._address: str | None = None
        self._slot = False
        self._refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0

    # -- connection ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else None
        limits = self.limits
        if limits is not None:
            if not limits.acquire(address):
                self._refused = True
                self.stats["refused"] += 1
                self.transport = transport
                transport.write(BUSY)
                transport.close()  # the 503 is in the kernel's buffer: nothing lingers here
                return
            self._address = address
            self._slot = True
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        if self._slot:
            self._slot = False
            assert self.limits is not None
            self.limits.release(self._address)
        if self._refused:
            return  # never joined uvicorn's bookkeeping
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            # Between requests: whatever comes now starts the next head (even bytes the parser
            # skips, such as stray line ends), so its deadline starts here.
            self._arm_head_timer()
        super().data_received(data)
        if self._head_timer is not None:
            self._head_bytes += len(data)
            if self._head_bytes > HEAD_MAX_BYTES and not self.transport.is_closing():
                self.stats["head too large"] += 1
                self._disarm_head_timer()
                self.transport.write(HEAD_TOO_LARGE)
                self.transport.close()

    # -- parser callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_timer is None:  # a pipelined request: its head gets its own deadline
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        super().on_headers_complete()

    # -- the head deadline -----------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self.stats["head timeouts"] += 1
        if transport.get_write_buffer_size():
            transport.abort()  # a client that does not read would keep a closing socket open
        else:
            transport.close()


def guarded_protocol(
    limits: ConnectionLimits | None, head_timeout: float
) -> type[GuardedHttpProtocol]:
    """A GuardedHttpProtocol class bound to these caps and this head deadline (seconds)."""
    if head_timeout <= 0:
        raise ValueError(
            f"serve.http_head_timeout is {head_timeout}: it must be more than 0 seconds (the "
            "time a client has to send a complete request head)"
        )
    return type(
        "GuardedHttpProtocol",
        (GuardedHttpProtocol,),
        {"limits": limits, "head_timeout": head_timeout, "stats": Counter()},
    )
