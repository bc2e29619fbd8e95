"""EPP sessions (RFC 5730 section 2) over the RFC 5734 transport, and a small pool of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from publishers.epp.client.commands import hello, login, logout, new_cltrid
from publishers.epp.client.responses import parse_greeting, parse_response
from publishers.epp.model import CONTACT_NS, DOMAIN_NS, HOST_NS, SECDNS_NS, Greeting, Response
from publishers.epp.transport import (
    DEFAULT_MAX_FRAME,
    ClientCertificateRefused,
    EppConnection,
    EppTransportError,
    TransportError,
    client_ssl_context,
)
from publishers.epp.xmlsafe import EppParseError

log = logging.getLogger(__name__)

__all__ = [
    "AmbiguousOutcome",
    "ClientCertificateRefused",
    "Endpoint",
    "EppCommandError",
    "EppSession",
    "EppTransportError",
    "ServiceMissing",
    "SessionPool",
    "TransportError",
    "login_services",
]


class AmbiguousOutcome(EppTransportError):
    """The command with this clTRID was sent, but its answer is unknown."""

    def __init__(self, cltrid: str, detail: str = "") -> None:
        message = f"command {cltrid} was sent but its answer is unknown"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.cltrid = cltrid


class EppCommandError(Exception):
    """A session command (login, logout) that the registry answered with an error code."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"EPP {response.code}: {response.message}")
        self.response = response
        self.code = response.code
        self.message = response.message


class ServiceMissing(Exception):
    """The registry's greeting lacks an object or extension service we need: no login is tried."""


@dataclass(frozen=True)
class Endpoint:
    """Where a registry's EPP server is and how we log in (password kept out of repr)."""

    host: str
    port: int
    client_id: str
    password: str = field(repr=False)
    new_password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_hostname: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    idle_limit: float = 300.0
    """The registry's idle limit in seconds; a hello goes out after 80% of it without traffic."""
    max_frame: int = DEFAULT_MAX_FRAME
    obj_uris: tuple[str, ...] = (CONTACT_NS, DOMAIN_NS)
    """The object services we use, every one needed: login fails when the greeting lacks one."""
    optional_obj_uris: tuple[str, ...] = (HOST_NS,)
    """The object services we use when the registry offers them (without host objects, name
    servers go as host attributes)."""
    ext_uris: tuple[str, ...] = (SECDNS_NS,)
    """The extensions we use when the registry offers them."""
    needed_ext_uris: tuple[str, ...] = ()
    """The extensions we cannot work without: login fails when the greeting lacks one."""

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS client context: the server verified against ca_file, our certificate if any."""
        return client_ssl_context(self.ca_file, self.cert_file, self.key_file)


def login_services(
    greeting: Greeting, endpoint: Endpoint
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The objURIs and extURIs to log in with: those we use that the greeting offers.

    ServiceMissing, naming each, when the greeting lacks one we need.
    """
    offered_objects, offered_extensions = set(greeting.obj_uris), set(greeting.ext_uris)
    missing = [f"object {uri}" for uri in endpoint.obj_uris if uri not in offered_objects]
    missing += [
        f"extension {uri}" for uri in endpoint.needed_ext_uris if uri not in offered_extensions
    ]
    if missing:
        raise ServiceMissing(
            f"the EPP server at {endpoint.host}:{endpoint.port} does not offer the "
            f"{', '.join(missing)} in its greeting, which we need; not logging in"
        )
    wanted = dict.fromkeys((*endpoint.needed_ext_uris, *endpoint.ext_uris))
    extensions = tuple(uri for uri in wanted if uri in offered_extensions)
    optional = tuple(uri for uri in endpoint.optional_obj_uris if uri in offered_objects)
    return tuple(dict.fromkeys((*endpoint.obj_uris, *optional))), extensions


class _Credentials:
    """The password in use, shared by the sessions of a pool: after a newPW login it changes."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.password = endpoint.password
        self.pending_new = endpoint.new_password


class EppSession:
    """One EPP session: connect(), login(), command()..., logout().

    A session reads the greeting (keeping its data collection policy), logs in, sends one
    command at a time with a unique clTRID, keeps itself alive with <hello> before the
    registry's idle limit, and logs out. What a caller must know about failures:

    - TransportError: nothing was sent (connect failed, or the session was already closed);
      the command can simply be sent again on another session.
    - AmbiguousOutcome(cltrid): the frame was written but no usable answer came back
      (connection lost, timeout, garbage). The registry may or may not have applied it: find
      out with an <info> before sending anything that depends on it. The session is closed
      afterwards.
    - EppCommandError: login (or logout) answered with an error code.

    Both TransportError and AmbiguousOutcome are EppTransportError.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        ssl_context: ssl.SSLContext | None = None,
        credentials: _Credentials | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.greeting: Greeting | None = None
        self.logged_in = False
        self._ssl_context = ssl_context
        self._credentials = credentials or _Credentials(endpoint)
        self._connection: EppConnection | None = None
        self._lock = asyncio.Lock()
        self._keepalive: asyncio.Task[None] | None = None
        self._last_io = 0.0
        self.last_svtrid: str | None = None

    # ------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """True unless connected (never connected, closed, or the connection died)."""
        return self._connection is None or self._connection.closed

    @property
    def busy(self) -> bool:
        """True while a command (or a keep-alive hello) is in flight."""
        return self._lock.locked()

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    # ------------------------------------------------------------ connect and session commands

    async def connect(self) -> Greeting:
        """Open the TLS connection and read the greeting (TransportError on any failure)."""
        if not self.closed:
            raise RuntimeError("the session is already connected")
        endpoint = self.endpoint
        context = self._ssl_context or endpoint.ssl_context()
        self._ssl_context = context
        connection = await EppConnection.open(
            endpoint.host,
            endpoint.port,
            ssl_context=context,
            server_hostname=endpoint.server_hostname,
            connect_timeout=endpoint.connect_timeout,
            read_timeout=endpoint.read_timeout,
            max_frame=endpoint.max_frame,
            client_cert=endpoint.cert_file,
        )
        try:
            data = await connection.read_frame(timeout=endpoint.connect_timeout)
            self.greeting = parse_greeting(data, max_bytes=endpoint.max_frame)
        except EppParseError as exc:
            connection.abort()
            raise TransportError(f"the server's greeting is not EPP: {exc}") from exc
        except BaseException:
            connection.abort()
            raise
        self._connection = connection
        self.logged_in = False
        self._last_io = self._loop_time()
        self._keepalive = asyncio.create_task(self._keep_alive(), name="epp-keepalive")
        return self.greeting

    async def login(self) -> Response:
        """Log in (changing the password when the endpoint has a new one); EppCommandError on
        an error code, ServiceMissing (nothing sent) when the greeting lacks a service we need.
        The login asks only for the services we use that the greeting offers. After a password
        change every later login uses the new password, and a login with the new one is tried
        when the old one is refused."""
        endpoint, credentials = self.endpoint, self._credentials
        if self.greeting is not None:
            login_services(self.greeting, endpoint)
        new_pw = credentials.pending_new
        response = await self._login(credentials.password, new_pw)
        if response.code == 2200 and new_pw is not None:
            # The change went through earlier (maybe in a previous run): the new one is in use.
            response = await self._login(new_pw, None)
            if response.ok:
                credentials.password, credentials.pending_new = new_pw, None
        elif response.ok and new_pw is not None:
            credentials.password, credentials.pending_new = new_pw, None
        if not response.ok:
            raise EppCommandError(response)
        self.logged_in = True
        log.debug("EPP login to %s:%s as %s", endpoint.host, endpoint.port, endpoint.client_id)
        return response

    async def _login(self, password: str, new_password: str | None) -> Response:
        endpoint = self.endpoint
        obj_uris, ext_uris = self.services()
        return await self.command(
            lambda cltrid: login(
                endpoint.client_id,
                password,
                cltrid=cltrid,
                new_pw=new_password,
                obj_uris=obj_uris,
                ext_uris=ext_uris,
            )
        )

    def services(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The object services and extensions to log in with (`login_services`; before any
        greeting, the ones we need). ServiceMissing when the greeting lacks one we need."""
        if self.greeting is None:
            return self.endpoint.obj_uris, self.endpoint.needed_ext_uris
        return login_services(self.greeting, self.endpoint)

    async def hello(self) -> Greeting:
        """Send <hello>, return (and keep) the fresh greeting; TransportError on failure."""
        async with self._lock:
            return await self._hello_locked()

    async def _hello_locked(self) -> Greeting:
        connection = self._live_connection()
        try:
            await connection.send(hello())
            data = await connection.read_frame()
            greeting = parse_greeting(data, max_bytes=self.endpoint.max_frame)
        except (EppTransportError, EppParseError) as exc:
            self._kill()
            raise TransportError(f"hello failed: {exc}", written=True) from exc
        except BaseException:
            self._kill()
            raise
        self.greeting = greeting
        self._last_io = self._loop_time()
        return greeting

    async def logout(self) -> Response:
        """Send <logout> and close the connection whatever happens."""
        try:
            response = await self.command(lambda cltrid: logout(cltrid=cltrid))
        finally:
            self.logged_in = False
            await self.close()
        if not response.ok:
            raise EppCommandError(response)
        return response

    async def close(self) -> None:
        """Close the connection without logging out."""
        self.logged_in = False
        self._stop_keepalive()
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    # ------------------------------------------------------------ commands

    async def command(
        self, build: Callable[[str], bytes], *, cltrid: str | None = None
    ) -> Response:
        """Send build(cltrid) and return the parsed answer.

        The clTRID is new_cltrid() unless given. TransportError when nothing was written,
        AmbiguousOutcome(cltrid) when the frame was written but no usable answer came. Answers
        2500-2502 are returned, and the session is closed after them as the server says.
        """
        cltrid = cltrid or new_cltrid()
        frame = build(cltrid)
        async with self._lock:
            connection = self._live_connection()
            try:
                await connection.send(frame)
            except TransportError as exc:
                self._kill()
                if exc.written:
                    raise AmbiguousOutcome(cltrid, str(exc)) from exc
                raise
            except BaseException:
                self._kill()
                raise
            try:
                data = await connection.read_frame()
                response = parse_response(data, max_bytes=self.endpoint.max_frame)
            except (EppTransportError, EppParseError) as exc:
                self._kill()
                raise AmbiguousOutcome(cltrid, str(exc)) from exc
            except BaseException:
                # Cancelled while waiting: the answer would arrive for nobody; start afresh.
                self._kill()
                raise
            if response.cltrid is not None and response.cltrid != cltrid:
                self._kill()
                raise AmbiguousOutcome(cltrid, f"the answer is for clTRID {response.cltrid}")
            self._last_io = self._loop_time()
            self.last_svtrid = response.svtrid
            if 2500 <= response.code <= 2502:
                self._kill()
            return response

    def _live_connection(self) -> EppConnection:
        connection = self._connection
        if connection is None or connection.closed:
            raise TransportError("the EPP session is not connected", written=False)
        return connection

    def _kill(self) -> None:
        """Drop the connection at once (its stream can no longer be trusted)."""
        self.logged_in = False
        self._stop_keepalive()
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.abort()

    def _stop_keepalive(self) -> None:
        task, self._keepalive = self._keepalive, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    # ------------------------------------------------------------ keep-alive

    async def _keep_alive(self) -> None:
        interval = max(self.endpoint.idle_limit * 0.8, 0.05)
        try:
            while True:
                wait = self._last_io + interval - self._loop_time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                async with self._lock:
                    if self.closed:
                        return
                    if self._last_io + interval > self._loop_time():
                        continue  # a command went through while we waited for the lock
                    await self._hello_locked()
        except asyncio.CancelledError:
            raise
        except EppTransportError as exc:
            log.info("EPP keep-alive failed, session closed: %s", exc)
        except Exception:
            log.exception("EPP keep-alive failed")
            self._kill()


class SessionPool:
    """Up to size logged-in sessions to one endpoint, handed out one caller at a time.

    ``async with pool.session() as s:`` gives a logged-in session, connecting and logging in
    again when the one it had died. A session that failed during use is not reused.
    """

    def __init__(self, endpoint: Endpoint, size: int = 1) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one session")
        self.endpoint = endpoint
        self.size = size
        self._idle: list[EppSession] = []
        self._all: set[EppSession] = set()
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self._credentials = _Credentials(endpoint)
        self._closed = False
        self.greeting: Greeting | None = None
        """The most recent greeting any session of the pool read."""

    @property
    def closed(self) -> bool:
        return self._closed

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = self.endpoint.ssl_context()
        return self._ssl_context

    async def _fresh(self) -> EppSession:
        session = EppSession(
            self.endpoint, ssl_context=self._context(), credentials=self._credentials
        )
        await session.connect()
        try:
            await session.login()
        except BaseException:
            await session.close()
            raise
        return session

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[EppSession]:
        """A logged-in session for the duration of the block."""
        if self._closed:
            raise TransportError("the session pool is closed")
        if self._slots is None or self._loop is not asyncio.get_running_loop():
            self._adopt_loop()
        assert self._slots is not None
        async with self._slots:
            session = None
            while self._idle:
                candidate = self._idle.pop()
                if not candidate.closed and candidate.logged_in:
                    session = candidate
                    break
                self._all.discard(candidate)
                await candidate.close()
            if session is None:
                session = await self._fresh()
                self._all.add(session)
            try:
                yield session
            finally:
                if session.greeting is not None:
                    self.greeting = session.greeting
                if self._closed or session.closed or not session.logged_in:
                    self._all.discard(session)
                    await session.close()
                else:
                    self._idle.append(session)

    def _adopt_loop(self) -> None:
        """First use, or use from another event loop: the old loop's connections are useless."""
        for stale in [*self._idle, *self._all]:
            with contextlib.suppress(Exception):
                stale._kill()
        self._idle.clear()
        self._all.clear()
        self._slots = asyncio.Semaphore(self.size)
        self._loop = asyncio.get_running_loop()

    async def close(self) -> None:
        """Log every idle session out (best effort) and close the rest."""
        self._closed = True
        if self._loop is not asyncio.get_running_loop():
            self._adopt_loop()
        idle, self._idle = self._idle, []
        for session in idle:
            self._all.discard(session)
            try:
                async with asyncio.timeout(self.endpoint.read_timeout):
                    await session.logout()
            except (EppTransportError, EppCommandError, TimeoutError):
                await session.close()
        for session in list(self._all):
            if not session.busy:
                self._all.discard(session)
                await session.close()

    async def __aenter__(self) -> SessionPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
