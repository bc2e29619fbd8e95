"""EPP over TLS (RFC 5734): length-prefixed framing, timeouts and the client's TLS context."""

# Every EPP data unit travels as a 4-byte big-endian total length that COUNTS ITSELF, followed by
# that many minus four bytes of XML. TCP may split a frame over any number of segments or glue
# several frames into one; the readers here only ever hand out whole frames.

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct

HEADER = struct.Struct(">I")
HEADER_SIZE = HEADER.size
MIN_FRAME = HEADER_SIZE + 1
"""The smallest acceptable total length: the header and at least one byte of XML."""
DEFAULT_MAX_FRAME = 1_048_576


class EppTransportError(Exception):
    """Anything that went wrong with the connection rather than with an EPP command."""


class TransportError(EppTransportError):
    """A connection failure; written says whether any byte of the frame being sent left us."""

    def __init__(self, message: str, *, written: bool = False) -> None:
        super().__init__(message)
        self.written = written


class TransportTimeout(TransportError):
    """A peer that did not send (or take) a frame in time."""


class FramingError(TransportError):
    """A length header that no honest peer sends (shorter than 5 or longer than the maximum)."""


class PeerClosed(TransportError):
    """The peer closed the connection between two frames."""


class ClientCertificateRefused(TransportError):
    """The server ended the TLS connection for want of a client certificate it accepts: said by
    its TLS alert, or (a server that sends no alert) ended before its greeting, the likely cause
    given."""


_CERTIFICATE_ALERTS = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "it requires one",
    "SSLV3_ALERT_BAD_CERTIFICATE": "bad certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "certificate unknown",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "certificate expired",
    "SSLV3_ALERT_CERTIFICATE_REVOKED": "certificate revoked",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE": "unsupported certificate",
    "TLSV1_ALERT_UNKNOWN_CA": "it does not know the CA that signed it",
    "TLSV1_ALERT_ACCESS_DENIED": "access denied",
}
"""The TLS alerts (OpenSSL's reasons) a server sends when it refuses a client's certificate."""


def certificate_refusal(
    error: BaseException | None, peer: str, client_cert: str | None
) -> ClientCertificateRefused | None:
    """The refusal an SSL error stands for when it is a server's alert about our client
    certificate (None otherwise), saying whether we presented one (client_cert, its file)."""
    reason = getattr(error, "reason", None) if isinstance(error, ssl.SSLError) else None
    why = _CERTIFICATE_ALERTS.get(reason or "")
    if why is None:
        return None
    if client_cert is None:
        return ClientCertificateRefused(
            f"the EPP server at {peer} refused the TLS connection: it requires a client "
            "certificate and none is configured (cert_file and key_file in the registries file)"
        )
    return ClientCertificateRefused(
        f"the EPP server at {peer} refused our TLS client certificate ({client_cert}): {why}"
    )


def ended_early(peer: str, client_cert: str | None, when: str) -> ClientCertificateRefused:
    """A server that ended the connection `when` (during the TLS handshake, before its
    greeting) without a TLS alert to say why: the client certificate is the likely cause."""
    if client_cert is None:
        likely = (
            "it may require a TLS client certificate, and none is configured (cert_file and "
            "key_file in the registries file)"
        )
    else:
        likely = f"it may have refused our TLS client certificate ({client_cert})"
    return ClientCertificateRefused(
        f"the EPP server at {peer} ended the connection {when}; {likely}"
    )


_ENDED = (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError)
"""How a connection ended by the server during the TLS handshake shows."""


def encode_frame(payload: bytes) -> bytes:
    """The payload with its RFC 5734 header (total length including the four header bytes)."""
    if not payload:
        raise ValueError("an EPP frame needs at least one byte of XML")
    total = len(payload) + HEADER_SIZE
    if total > 0xFFFFFFFF:
        raise ValueError(f"frame of {total} bytes does not fit a 32-bit length header")
    return HEADER.pack(total) + payload


def check_length(total: int, max_frame: int) -> int:
    """The total length from a header, or FramingError when it cannot be a real frame."""
    if total < MIN_FRAME:
        raise FramingError(f"frame length header says {total} bytes; the minimum is {MIN_FRAME}")
    if total > max_frame:
        raise FramingError(f"frame length header says {total} bytes; the limit is {max_frame}")
    return total


class FrameDecoder:
    """Incremental RFC 5734 decoder: feed it bytes as they arrive, get whole frames back.

    After a FramingError the stream cannot be resynchronised (the length was a lie), so the
    decoder refuses every further feed with the same error.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        if max_frame < MIN_FRAME:
            raise ValueError(f"max_frame must be at least {MIN_FRAME}")
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._error: FramingError | None = None

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole frame yet."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add data; return the payloads (without headers) of every frame now complete."""
        if self._error is not None:
            raise self._error
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        start = 0
        end = len(buffer)
        while end - start >= HEADER_SIZE:
            (total,) = HEADER.unpack_from(buffer, start)
            try:
                check_length(total, self.max_frame)
            except FramingError as exc:
                self._error = exc
                del buffer[:]
                raise
            if end - start < total:
                break
            frames.append(bytes(buffer[start + HEADER_SIZE : start + total]))
            start += total
        if start:
            del buffer[:start]
        return frames


async def read_frame(
    reader: asyncio.StreamReader,
    *,
    max_frame: int = DEFAULT_MAX_FRAME,
    timeout: float | None,
    idle_timeout: float | None = None,
) -> bytes:
    """Read one whole frame and return its payload.

    timeout bounds the whole frame (header and body); with idle_timeout, waiting for the first
    byte of the header may take that long instead (a server waiting for the next command), and
    the rest must then arrive within timeout. Raises TransportError when the peer closes or a
    timeout passes, FramingError on an impossible length.
    """
    try:
        if idle_timeout is None:
            async with asyncio.timeout(timeout):
                header = await reader.readexactly(HEADER_SIZE)
                total = check_length(HEADER.unpack(header)[0], max_frame)
                return await reader.readexactly(total - HEADER_SIZE)
        async with asyncio.timeout(idle_timeout):
            first = await reader.readexactly(1)
        async with asyncio.timeout(timeout):
            header = first + await reader.readexactly(HEADER_SIZE - 1)
            total = check_length(HEADER.unpack(header)[0], max_frame)
            return await reader.readexactly(total - HEADER_SIZE)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise TransportError("connection closed in the middle of a frame") from None
        raise PeerClosed("connection closed by the peer") from None
    except TimeoutError:
        raise TransportTimeout("timed out waiting for a frame") from None
    except (OSError, ssl.SSLError) as exc:
        raise TransportError(f"connection failed: {exc}") from exc


async def write_frame(writer: asyncio.StreamWriter, payload: bytes) -> None:
    """Write one frame and wait until the transport has room again."""
    writer.write(encode_frame(payload))
    await writer.drain()


def client_ssl_context(
    ca_file: str | None, cert_file: str | None = None, key_file: str | None = None
) -> ssl.SSLContext:
    """A TLS >= 1.2 client context verifying the server (ca_file, else the system's CAs).

    The client certificate is optional; key_file may be left out when cert_file holds the key.
    """
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if cert_file:
        context.load_cert_chain(cert_file, key_file)
    elif key_file:
        raise ValueError("a client key needs its certificate (cert_file)")
    return context


class EppConnection:
    """One EPP connection: whole frames in, whole frames out, with timeouts."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        read_timeout: float = 30.0,
        max_frame: int = DEFAULT_MAX_FRAME,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.read_timeout = read_timeout
        self.max_frame = max_frame
        self.peer = "the server"
        self.client_cert: str | None = None
        """The client certificate presented (its file), for the words of a refusal."""
        self.tls = False
        self._frames_read = 0
        self._closed = False

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None,
        server_hostname: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        max_frame: int = DEFAULT_MAX_FRAME,
        client_cert: str | None = None,
    ) -> EppConnection:
        """Connect (TLS unless ssl_context is None) within connect_timeout, handshake included.

        client_cert names the client certificate ssl_context presents (None: none), so that a
        server refusing it is reported as ClientCertificateRefused, here or on the first read.
        """
        kwargs: dict = {}
        if ssl_context is not None:
            kwargs = {
                "ssl": ssl_context,
                "server_hostname": server_hostname or host,
                "ssl_handshake_timeout": connect_timeout,
            }
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, limit=max(2**16, min(max_frame, 2**20)), **kwargs
                )
        except TimeoutError:
            raise TransportError(f"connecting to {host}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            peer = f"{host}:{port}"
            refused = certificate_refusal(exc, peer, client_cert)
            if refused is None and ssl_context is not None and isinstance(exc, _ENDED):
                refused = ended_early(peer, client_cert, "during the TLS handshake")
            if refused is not None:
                raise refused from exc
            raise TransportError(f"cannot connect to {host}:{port}: {exc}") from exc
        connection = cls(reader, writer, read_timeout=read_timeout, max_frame=max_frame)
        connection.peer, connection.client_cert = f"{host}:{port}", client_cert
        connection.tls = ssl_context is not None
        return connection

    @property
    def closed(self) -> bool:
        """True once closed by us or found closing."""
        return self._closed or self.writer.is_closing()

    async def read_frame(self, *, timeout: float | None = None) -> bytes:
        """The next frame's payload (TransportError on close, timeout or a bad header)."""
        if self._closed:
            raise TransportError("connection is closed")
        try:
            frame = await read_frame(
                self.reader,
                max_frame=self.max_frame,
                timeout=self.read_timeout if timeout is None else timeout,
            )
        except TransportError as exc:
            # TLS 1.3 finishes the client's handshake before the server checks our certificate:
            # its refusal arrives as an alert on the first read, or (a server that sends none,
            # such as asyncio's) as the end of the connection before any frame.
            refused = certificate_refusal(exc.__cause__, self.peer, self.client_cert)
            ended = isinstance(exc, PeerClosed) or isinstance(exc.__cause__, _ENDED)
            if refused is None and ended and self.tls and self._frames_read == 0:
                refused = ended_early(self.peer, self.client_cert, "before its greeting")
            if refused is not None:
                raise refused from exc
            raise
        self._frames_read += 1
        return frame

    async def send(self, frame: bytes) -> None:
        """Send one frame's payload; TransportError.written tells whether it may have left."""
        if self.closed:
            raise TransportError("connection is closed", written=False)
        data = encode_frame(frame)
        try:
            self.writer.write(data)
        except (OSError, RuntimeError) as exc:
            raise TransportError(f"cannot write: {exc}", written=True) from exc
        try:
            if self.writer.transport.get_write_buffer_size() > 65536:
                async with asyncio.timeout(self.read_timeout):
                    await self.writer.drain()
            else:
                await self.writer.drain()
        except TimeoutError:
            raise TransportTimeout("timed out writing a frame", written=True) from None
        except (OSError, RuntimeError) as exc:
            raise TransportError(f"cannot write: {exc}", written=True) from exc

    def abort(self) -> None:
        """Drop the connection at once, without waiting for anything."""
        self._closed = True
        transport = self.writer.transport
        with contextlib.suppress(Exception):
            transport.abort()

    async def close(self, *, timeout: float = 2.0) -> None:
        """Close politely (TLS close_notify), giving up after timeout."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.writer.close()
        try:
            async with asyncio.timeout(timeout):
                await self.writer.wait_closed()
        except Exception:
            self.abort()
        except BaseException:
            self.abort()
            raise
