"""The sandbox's TLS listener (RFC 5734): a task per connection, a greeting, then frame by frame."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import Counter

from publishers.epp.transport import (
    FramingError,
    TransportError,
    TransportTimeout,
    encode_frame,
    read_frame,
)
from publishers.sandbox.handlers.session import Connection

log = logging.getLogger(__name__)


class EppListener:
    """Serves EPP over TLS; subclasses say what to greet with and how to answer each frame."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        max_frame: int,
        read_timeout: float,
        idle_timeout: float,
        max_connections: int,
    ) -> None:
        self.host = host
        self._port = port
        self.max_frame = max_frame
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.stats: Counter[str] = Counter()
        """Events: connections, refused, frames, greetings, hello, syntax_errors, framing_errors,
        timeouts, injected, dropped."""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port served (known after start(); kept for a restart)."""
        return self._port

    @property
    def running(self) -> bool:
        return self._server is not None

    # ------------------------------------------------------------ what subclasses provide

    def _greeting(self) -> bytes:
        raise NotImplementedError

    def _answer(self, code: int, cltrid: str | None, *, reason: str | None = None) -> bytes:
        raise NotImplementedError

    async def _handle(self, state: Connection, frame: bytes) -> tuple[bytes | None, bool]:
        """The answer to one frame (None: no answer) and whether to close afterwards."""
        raise NotImplementedError

    # ------------------------------------------------------------ listening

    async def _listen(self, context: ssl.SSLContext) -> None:
        self._server = await asyncio.start_server(
            self._serve,
            self.host,
            self._port,
            ssl=context,
            ssl_handshake_timeout=self.read_timeout,
            backlog=256,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("EPP sandbox listening on %s:%s", self.host, self._port)

    async def _close_listener(self) -> None:
        """Stop listening and drop every connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats["connections"] += 1
        state = Connection()
        try:
            if len(self._tasks) > self.max_connections:
                self.stats["refused"] += 1
                await self._send(writer, self._answer(2502, None))
                return
            await self._send(writer, self._greeting())
            while True:
                try:
                    frame = await read_frame(
                        reader,
                        max_frame=self.max_frame,
                        timeout=self.read_timeout,
                        idle_timeout=self.idle_timeout,
                    )
                except FramingError as exc:
                    # The length was a lie, so the stream cannot be resynchronised: say why, close.
                    self.stats["framing_errors"] += 1
                    await self._send(writer, self._answer(2001, None, reason=str(exc)))
                    return
                except TransportTimeout:
                    self.stats["timeouts"] += 1
                    return
                except TransportError:
                    return
                answer, close = await self._handle(state, frame)
                if answer is not None:
                    await self._send(writer, answer)
                if close:
                    return
        except (TransportError, OSError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            # stop() cancels connections. Python 3.11's streams call task.exception() on the
            # handler's task, which raises for a cancelled task, so the task must end normally.
            pass
        except Exception:  # one broken connection must never stop the registry
            log.exception("EPP sandbox: connection failed")
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(self, writer: asyncio.StreamWriter, payload: bytes) -> None:
        writer.write(encode_frame(payload))
        if writer.transport.get_write_buffer_size() > 65536:
            try:
                async with asyncio.timeout(self.read_timeout):
                    await writer.drain()
            except TimeoutError:
                raise TransportError("client does not read its answers") from None
