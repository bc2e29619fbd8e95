"""`interlink serve`: WHOIS, RDAP and the customer portal, together, until SIGTERM or Ctrl+C.

One asyncio loop (uvloop when installed) runs two listeners:
- WHOIS (RFC 3912) on `--whois-port` (default 4343);
- HTTP on `--http-port` (default 8080): one uvicorn server whose app mounts RDAP at `/rdap`
  (`/rdap/domain/NAME`, `/rdap/help`) and the customer portal at `/`; its connections are
  capped per client address and network, and must send a request head in time
  (publishers/http_guard.py).
Beside them a publisher thread keeps every domain's answers rendered ahead
(publishers/published.py); the servers answer live whatever it has not rendered yet.

Each may run under its own PostgreSQL role (README, "Running each service under its own
database role"): when `--db` logs in as a role that may not read contacts (`interlink_rdds`),
the lookups answer from the answers rendered ahead only, nothing is migrated or written, the
portal needs its own `--portal-db` and the publisher its own `--publish-db` (or runs elsewhere,
`interlink publish`).

`Services` is the same thing as a reusable runner for other commands and tests: `start()` runs
the loop in a background thread and returns once both listen (port 0 picks free ports, see
`whois_port` and `http_port`), `stop()` shuts them down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from domains import speedups
from domains.errors import InterlinkError
from domains.mailer import Mailer
from domains.settings import Settings, get_settings
from domains.store import Store
from publishers.answer_reads import AnswerReads
from publishers.connection_limits import ConnectionLimits, connection_limits_from_settings
from publishers.http_guard import GuardedHttpProtocol, guarded_protocol
from publishers.published import BackgroundPublisher, Publication
from publishers.ratelimit import limiter_from_settings
from publishers.rdap_app import create_rdap_app, rdap_lookup
from publishers.whois_server import WhoisServer, whois_lookup
from tui.commands.common import configure_logging, err_console
from tui.commands.serve_dispatch import PrefixDispatch
from tui.commands.serve_stores import ServeError, serve_stores

log = logging.getLogger(__name__)

RDAP_PREFIX = "/rdap"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def bound(host: str, port: int, what: str, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to host:port, not listening yet (SO_REUSEPORT: `reuse_port`)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(f"{what}: cannot resolve {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ServeError(f"{what}: cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def listen(
    host: str, port: int, what: str, backlog: int = 1024, *, reuse_port: bool = False
) -> socket.socket:
    """A listening TCP socket on host:port (IPv4 or IPv6), or ServeError saying why not."""
    sock = bound(host, port, what, reuse_port=reuse_port)
    try:
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ServeError(f"{what}: cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the runner decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Services:
    """WHOIS + HTTP (RDAP under /rdap, the portal at /) over one store, in one event loop."""

    def __init__(
        self,
        store: Store,
        settings: Settings | None = None,
        *,
        host: str | None = None,
        whois_port: int | None = None,
        http_port: int | None = None,
        portal: bool = True,
        mailer: Mailer | None = None,
        published_only: bool = False,
        portal_store: Store | None = None,
        publish_store: Store | None = None,
        reuse_port: bool = False,
        publisher: bool = True,
    ) -> None:
        self.store = store
        self.reuse_port = reuse_port  # several processes on the same ports (serve_processes.py)
        self.run_publisher = publisher  # of several processes, one publishes
        self.published_only = published_only
        self.portal_store = portal_store or (None if published_only else store)
        self.publish_store = publish_store or (None if published_only else store)
        self.settings = settings or store.settings
        serve = self.settings.serve
        self.host = host or serve.host
        self._want_whois = serve.whois_port if whois_port is None else whois_port
        self._want_http = serve.http_port if http_port is None else http_port
        self.with_portal = portal
        if portal and self.portal_store is None:
            raise ServeError(
                "the lookups' database role may not read customer data, so the portal needs "
                "its own: --portal-db URL (e.g. as interlink_portal), or --no-portal"
            )
        self.mailer = mailer
        self.whois: WhoisServer | None = None
        self.http: _QuietServer | None = None
        self.http_limits: ConnectionLimits | None = None
        self.http_protocol: type[GuardedHttpProtocol] | None = None
        self.app: Any = None
        self._sockets: list[socket.socket] = []
        self._lookups: list[Any] = []
        self.reads: AnswerReads | None = None
        self.publication = Publication(self.settings)
        self.publisher: BackgroundPublisher | None = None
        self._http_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.whois_port = 0
        self.http_port = 0

    # -- addresses ---------------------------------------------------------------------

    @property
    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def http_url(self) -> str:
        """The HTTP base URL (the portal)."""
        return f"http://{self._url_host}:{self.http_port}"

    @property
    def rdap_url(self) -> str:
        """The RDAP base URL: append domain/NAME or help."""
        return f"{self.http_url}{RDAP_PREFIX}/"

    def describe(self) -> list[str]:
        """Where each service listens, one line each."""
        return [
            f"WHOIS  listening on {self._url_host}:{self.whois_port} (RFC 3912; "
            f"try: whois -h {self.host} -p {self.whois_port} example.com)",
            f"RDAP   listening on {self.rdap_url} (GET {RDAP_PREFIX}/domain/NAME, "
            f"{RDAP_PREFIX}/help)",
            f"Portal listening on {self.http_url}/"
            + ("" if self.with_portal else " (disabled: RDAP only)"),
            *self._publishing(),
        ]

    def _publishing(self) -> list[str]:
        if not self.published_only:
            return []
        if self.publisher is not None:
            return ["Answers from rendered answers only; this process renders them (--publish-db)"]
        return [
            "Answers from rendered answers only; nothing here renders them: run "
            "`interlink publish` under a role that may (interlink_publish), or give --publish-db"
        ]

    # -- in a running loop -------------------------------------------------------------

    def build_http_app(self) -> Any:
        """The HTTP app: RDAP under /rdap, the portal everywhere else (when enabled)."""
        serve = self.settings.serve
        rdap = create_rdap_app(
            self.store,
            self.settings,
            lookup=self._lookup(rdap_lookup),
            limiter=limiter_from_settings(serve.rate_limit),
        )
        portal = None
        if self.with_portal:
            from portal.app import create_app  # the portal is optional for RDAP-only runs

            assert self.portal_store is not None  # refused in __init__ otherwise
            portal = create_app(self.portal_store, mailer=self.mailer, settings=self.settings)
        return PrefixDispatch(RDAP_PREFIX, rdap, portal)

    def _lookup(self, factory: Any) -> Any:
        lookup = factory(
            self.store,
            self.settings,
            publication=self.publication,
            published_only=self.published_only,
            reads=self.reads,
        )
        self._lookups.append(lookup)
        return lookup

    async def start_async(self) -> None:
        """Bind both ports and start serving in the running loop; ServeError if one fails."""
        serve = self.settings.serve
        try:
            if not self.store.is_sqlite and serve.publish_answers:
                # PostgreSQL: answers read on this loop, cached, kept current by notices.
                self.reads = AnswerReads(
                    self.store.engine.url.render_as_string(hide_password=False),
                    read_url=serve.read_database_url,
                    pool_size=serve.lookup_pool_size,
                )
                await self.reads.start()
            reuse = self.reuse_port
            whois_sock = listen(self.host, self._want_whois, "WHOIS", reuse_port=reuse)
            self._sockets.append(whois_sock)
            http_sock = listen(self.host, self._want_http, "HTTP", reuse_port=reuse)
            self._sockets.append(http_sock)
            self.whois_port = whois_sock.getsockname()[1]
            self.http_port = http_sock.getsockname()[1]
            self.whois = WhoisServer.from_settings(
                self._lookup(whois_lookup), serve, limiter_from_settings(serve.rate_limit)
            )
            await self.whois.start(sock=whois_sock)
            self.app = self.build_http_app()
            self.http_limits = connection_limits_from_settings(serve, "http")
            # httptools with per-client connection caps and a deadline for request heads
            self.http_protocol = guarded_protocol(self.http_limits, serve.http_head_timeout)
            config = uvicorn.Config(
                self.app,
                http=self.http_protocol,
                lifespan="off",
                access_log=False,  # portal links carry tokens; RDAP logs no client data
                log_config=None,
                log_level="warning",
                ws="none",
                server_header=False,
                limit_concurrency=serve.http_max_connections,
                timeout_keep_alive=int(serve.http_timeout_keep_alive),
                timeout_graceful_shutdown=5,
            )
            self.http = _QuietServer(config)
            self._http_task = asyncio.get_running_loop().create_task(
                self.http.serve(sockets=[http_sock])
            )
            while not self.http.started:
                if self._http_task.done():
                    raise ServeError("HTTP: the server stopped while starting")
                await asyncio.sleep(0.01)
            if serve.publish_answers and self.run_publisher and self.publish_store is not None:
                self.publisher = BackgroundPublisher(
                    self.publish_store, self.publication, interval=serve.publish_interval
                )
                self.publisher.start()
        except BaseException:
            await self.stop_async()
            raise

    async def stop_async(self) -> None:
        """Stop both servers and release the store connections the lookups opened."""
        if self.publisher is not None:
            publisher, self.publisher = self.publisher, None
            await asyncio.get_running_loop().run_in_executor(None, publisher.stop)
        if self.whois is not None:
            await self.whois.stop()
        if self.http is not None and self._http_task is not None:
            self.http.should_exit = True
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, SystemExit):
                await asyncio.wait_for(self._http_task, timeout=10)
        if self.http_protocol is not None and self.http_protocol.stats:
            stats = self.http_protocol.stats
            log.info("http: %s", ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
        for sock in self._sockets:
            sock.close()
        self._sockets.clear()
        for lookup in self._lookups:
            lookup.close()
        self._lookups.clear()
        if self.reads is not None:
            reads, self.reads = self.reads, None
            await reads.close()

    async def run_until(self, stop: asyncio.Event) -> None:
        """Start, serve until `stop` is set, stop."""
        await self.start_async()
        try:
            await stop.wait()
        finally:
            await self.stop_async()

    # -- in a background thread --------------------------------------------------------

    def start(self, timeout: float = 15.0) -> Services:
        """Run the services in a background thread; returns once both listen."""
        self._thread = threading.Thread(
            target=self._thread_main, name="interlink-serve", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise ServeError("the services did not start in time")
        if self._failure is not None:
            self._thread.join(timeout)
            raise self._failure
        return self

    def _thread_main(self) -> None:
        loop = self._loop = new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._thread_serve())
        except BaseException as exc:
            self._failure = exc
        finally:
            self._ready.set()
            loop.close()

    async def _thread_serve(self) -> None:
        self._stop = asyncio.Event()
        await self.start_async()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.stop_async()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the services started with `start` and wait for the thread."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Services:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _serve_forever(services: Services) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await services.start_async()
    speedups.settle_heap()  # started: what is loaded now stays, out of the collector's way
    try:
        for line in services.describe():
            typer.echo(line)
        typer.echo("Press Ctrl+C (or send SIGTERM) to stop.")
        await stop.wait()
        typer.echo("Stopping...")
    finally:
        await services.stop_async()
    typer.echo("Stopped.")


PROCESSES_HELP = (
    "Server processes (default: serve.processes; 0: one per core); over 1, on the same ports "
    "(SO_REUSEPORT), each client's limits divided among them."
)


def serve_command(
    host: str = typer.Option(None, "--host", help="Address to listen on (default 127.0.0.1)."),
    whois_port: int = typer.Option(None, "--whois-port", help="WHOIS port (default 4343)."),
    http_port: int = typer.Option(
        None, "--http-port", help="HTTP port for RDAP (/rdap) and the portal (default 8080)."
    ),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
    portal: bool = typer.Option(True, "--portal/--no-portal", help="Serve the customer portal."),
    portal_db: str = typer.Option(
        None,
        "--portal-db",
        envvar="INTERLINK_PORTAL_DATABASE_URL",
        help="The portal's database URL, e.g. as interlink_portal (default: --db).",
    ),
    publish_db: str = typer.Option(
        None,
        "--publish-db",
        envvar="INTERLINK_PUBLISH_DATABASE_URL",
        help="The publisher's database URL, e.g. as interlink_publish (default: --db).",
    ),
    processes: int = typer.Option(None, "--processes", min=0, max=256, help=PROCESSES_HELP),
) -> None:
    """Serve WHOIS, RDAP and the customer portal until stopped (SIGTERM or Ctrl+C)."""
    configure_logging(verbose=False)  # a no-op when `interlink` configured it already
    speedups.install()  # a no-op when `interlink` installed them already
    for name, port in (("--whois-port", whois_port), ("--http-port", http_port)):
        if port is not None and not 0 <= port <= 65535:
            raise typer.BadParameter(f"{port} is not a port number (0-65535)", param_hint=name)
    from tui.commands.serve_processes import ServeOptions, resolve_processes, supervise

    options = ServeOptions(host, whois_port, http_port, database_url, portal, portal_db, publish_db)
    try:
        count = resolve_processes(processes, get_settings().serve.processes)
        if count > 1:  # a supervisor and `count` server processes on the same ports
            raise typer.Exit(supervise(options, count))
        with serve_stores(options) as (store, published_only, portal_store, publish_store):
            services = Services(
                store,
                host=host,
                whois_port=whois_port,
                http_port=http_port,
                portal=portal,
                published_only=published_only,
                portal_store=portal_store,
                publish_store=publish_store,
            )
            with asyncio.Runner(loop_factory=new_event_loop) as runner:
                runner.run(_serve_forever(services))
    except (InterlinkError, OSError, ValueError, SQLAlchemyError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:  # a second Ctrl+C while stopping
        raise typer.Exit(0) from None


if __name__ == "__main__":  # python -m tui.commands.serve (the same command, unregistered)
    typer.run(serve_command)
