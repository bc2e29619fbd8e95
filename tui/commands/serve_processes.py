"""`interlink serve --processes N`: a supervisor and N server processes on the same ports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from domains import speedups
from domains.errors import InterlinkError
from domains.settings import Settings
from tui.commands.common import configure_logging, err_console
from tui.commands.serve import ServeError, Services, bound, new_event_loop
from tui.commands.serve_stores import lookup_store, serve_stores

log = logging.getLogger(__name__)

#: How long the server processes may take to start (imports, the store, both ports).
START_TIMEOUT = 120.0
#: How long a stopping server process may take before it is killed.
STOP_TIMEOUT = 20.0
#: A process that died is started again after this many seconds, doubled at each death in a
#: row up to `RESTART_WAIT_MAX`; one that served `RESTART_RESET` seconds starts the count again.
RESTART_WAIT = 0.5
RESTART_WAIT_MAX = 30.0
RESTART_RESET = 60.0
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


@dataclass(frozen=True)
class ServeOptions:
    """What `interlink serve` was asked for (None: from the settings)."""

    host: str | None
    whois_port: int | None
    http_port: int | None
    database_url: str | None
    portal: bool
    portal_db: str | None
    publish_db: str | None


@dataclass(frozen=True)
class WorkerSpec:
    """One server process: which of how many, its ports (resolved already), and its options."""

    options: ServeOptions
    index: int
    processes: int
    host: str
    whois_port: int
    http_port: int
    log_level: int


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - not Linux


def has_reuse_port() -> bool:
    """True where several processes can listen on one port, spread by the kernel (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def resolve_processes(option: int | None, setting: int) -> int:
    """How many server processes to run: the option, else the setting; 0: one per core.

    One per core falls back to one process where SO_REUSEPORT is missing; asking for more than
    one there is a ServeError.
    """
    wanted = setting if option is None else option
    if wanted == 0:
        return cores() if has_reuse_port() else 1
    if wanted > 1 and not has_reuse_port():
        raise ServeError(
            f"{wanted} server processes need SO_REUSEPORT (Linux), which this platform lacks: "
            "run one (--processes 1, serve.processes = 1)"
        )
    return wanted


def _divided(value: float, processes: int) -> float:
    return max(1.0, value / processes)


def per_process(settings: Settings, processes: int) -> Settings:
    """The settings of one of `processes` server processes: each client's limits divided.

    Each process keeps its own token buckets and connection counts, so each gets 1/N of every
    per-client limit (rates and bursts of `serve.rate_limit`, the WHOIS and HTTP connection caps
    per address and network, the portal's buckets), each at least 1: a client gets at most the
    configured limit in all (more only where a limit is below N), and as little as 1/N of it
    when all its connections land on one process.
    """
    if processes <= 1:
        return settings
    serve, limits, portal = settings.serve, settings.serve.rate_limit, settings.portal
    rate_limit = limits.model_copy(
        update={
            "per_address_rate": limits.per_address_rate / processes,
            "per_address_burst": _divided(limits.per_address_burst, processes),
            "per_network_rate": limits.per_network_rate / processes,
            "per_network_burst": _divided(limits.per_network_burst, processes),
        }
    )
    caps = {
        f"{service}_max_connections_per_{level}": max(
            1, getattr(serve, f"{service}_max_connections_per_{level}") // processes
        )
        for service in ("whois", "http")
        for level in ("address", "network")
    }
    buckets: dict[str, Any] = {}
    for name, (burst, every) in portal.buckets().items():
        buckets[f"{name}_burst"] = max(1, burst // processes)
        buckets[f"{name}_every"] = every * processes
    return settings.model_copy(
        update={
            "serve": serve.model_copy(update={"rate_limit": rate_limit, **caps}),
            "portal": portal.model_copy(update=buckets),
        }
    )


# -- one server process ------------------------------------------------------------------


def worker_main(spec: WorkerSpec, channel: Connection) -> None:
    """A server process: its own stores and `Services` on the shared ports, until SIGTERM."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # until the loop takes over
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by the supervisor
        configure_logging(verbose=spec.log_level <= logging.INFO)
        speedups.install()
        code = _serve_in_process(spec, channel)
    except KeyboardInterrupt:  # stopped while starting
        code = 0
    finally:
        channel.close()
        # Ending already: a stop signal now (the supervisor stopping all after one failed)
        # must not interrupt the interpreter's exit (logging's flush) with a traceback.
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
    sys.exit(code)


def _serve_in_process(spec: WorkerSpec, channel: Connection) -> int:
    options = spec.options
    try:
        with serve_stores(options) as (store, published_only, portal_store, publish_store):
            services = Services(
                store,
                per_process(store.settings, spec.processes),
                host=spec.host,
                whois_port=spec.whois_port,
                http_port=spec.http_port,
                portal=options.portal,
                published_only=published_only,
                portal_store=portal_store,
                publish_store=publish_store,
                reuse_port=True,
                publisher=spec.index == 0,  # one publisher: N would fight over the same rows
            )
            with asyncio.Runner(loop_factory=new_event_loop) as runner:
                runner.run(_serve_until_stopped(services, channel))
    except (InterlinkError, OSError, ValueError, SQLAlchemyError) as exc:
        with contextlib.suppress(OSError):
            channel.send(("failed", str(exc)))
        return 1
    return 0


async def _serve_until_stopped(services: Services, channel: Connection) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    parent = multiprocessing.parent_process()
    if parent is not None:
        # The supervisor gone without a word (killed): no orphan keeps serving its ports.
        loop.add_reader(parent.sentinel, stop.set)
    await services.start_async()
    speedups.settle_heap()
    try:
        channel.send(("ready", services.describe()))
        await stop.wait()
    finally:
        await services.stop_async()


# -- the supervisor ----------------------------------------------------------------------


@dataclass
class _Slot:
    """One server process's place: the process now in it, and its restarts."""

    index: int
    process: BaseProcess | None = None
    channel: Connection | None = None
    ready: bool = False
    started_at: float = 0.0
    wait: float = RESTART_WAIT
    restart_at: float | None = None


class Supervisor:
    """Starts N server processes on reserved ports, restarts those that die, stops them all."""

    def __init__(self, options: ServeOptions, processes: int, settings: Settings) -> None:
        self.options = options
        self.processes = processes
        serve = settings.serve
        self.host = options.host or serve.host
        self.ports = {
            "WHOIS": serve.whois_port if options.whois_port is None else options.whois_port,
            "HTTP": serve.http_port if options.http_port is None else options.http_port,
        }
        self.context = multiprocessing.get_context("spawn")  # no fork of a loaded process
        self.slots = [_Slot(index) for index in range(processes)]
        self.stopping = False
        self._reserved: list[socket.socket] = []

    def reserve_ports(self) -> None:
        """Bind (not listen on) each port with SO_REUSEPORT: port 0 becomes a free port, and
        the port stays ours while server processes come and go.

        A plain bind first, so that a port another program holds is refused rather than shared.
        """
        for what, port in self.ports.items():
            probe = bound(self.host, port, what)
            port = probe.getsockname()[1]
            probe.close()
            sock = bound(self.host, port, what, reuse_port=True)
            self._reserved.append(sock)
            self.ports[what] = port

    def _start(self, slot: _Slot) -> None:
        spec = WorkerSpec(
            self.options,
            slot.index,
            self.processes,
            self.host,
            self.ports["WHOIS"],
            self.ports["HTTP"],
            logging.getLogger().getEffectiveLevel(),
        )
        ours, theirs = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=worker_main, args=(spec, theirs), name=f"interlink-serve-{slot.index + 1}"
        )
        # Blocked while it starts (inherited): a Ctrl+C meant for all lands once it can stop.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        theirs.close()
        slot.process, slot.channel, slot.ready = process, ours, False
        slot.started_at, slot.restart_at = time.monotonic(), None

    def start_all(self) -> list[str] | None:
        """Start every server process: the first one's description; None when stopped while
        starting; ServeError when one fails."""
        for slot in self.slots:
            self._start(slot)
        deadline = time.monotonic() + START_TIMEOUT
        lines: list[str] = []
        while not all(slot.ready for slot in self.slots):
            left = deadline - time.monotonic()
            if self.stopping:
                return None
            if left <= 0:
                raise ServeError("the server processes did not start in time")
            waiting = [s for s in self.slots if not s.ready]
            ready = wait([s.channel for s in waiting if s.channel] + [self._wakeup], left)
            self._drain_wakeup()
            for slot in waiting:
                if slot.channel in ready:
                    message = self._receive(slot)
                    if message is None or message[0] != "ready":
                        raise ServeError(message[1] if message else self._died(slot))
                    self._started(slot)
                    if slot.index == 0:
                        lines = list(message[1])
        return lines

    def _started(self, slot: _Slot) -> None:
        slot.ready = True
        if slot.channel is not None:
            slot.channel.close()
            slot.channel = None

    def _receive(self, slot: _Slot) -> tuple[str, Any] | None:
        assert slot.channel is not None
        try:
            message: tuple[str, Any] = slot.channel.recv()
        except (EOFError, OSError):
            return None
        return message

    def _died(self, slot: _Slot) -> str:
        assert slot.process is not None
        slot.process.join(5)
        return (
            f"server process {slot.index + 1} ended while starting (exit {slot.process.exitcode})"
        )

    def serve(self) -> None:
        """Until SIGTERM or SIGINT: start again, after a pause, each process that ends."""
        while not self.stopping:
            now = time.monotonic()
            due = [s.restart_at for s in self.slots if s.restart_at is not None]
            timeout = max(0.0, min(due) - now) if due else None
            watched: list[Any] = [self._wakeup]
            for slot in self.slots:
                if slot.process is not None and slot.restart_at is None:
                    watched.append(slot.process.sentinel)
                    if not slot.ready and slot.channel is not None:
                        watched.append(slot.channel)
            ready = wait(watched, timeout)
            self._drain_wakeup()
            if self.stopping:
                return
            for slot in self.slots:
                self._check(slot, ready)

    def _check(self, slot: _Slot, ready: list[Any]) -> None:
        if slot.restart_at is not None:
            if time.monotonic() >= slot.restart_at:
                self._start(slot)
            return
        assert slot.process is not None
        if slot.channel is not None and slot.channel in ready:
            message = self._receive(slot)
            if message is not None and message[0] == "ready":
                log.warning("serve: server process %d started again", slot.index + 1)
            elif message is not None:
                log.warning(
                    "serve: server process %d failed to start: %s", slot.index + 1, message[1]
                )
            self._started(slot)  # or ended: its sentinel says so
            slot.ready = message is not None and message[0] == "ready"
        if slot.process.sentinel in ready:
            slot.process.join(1)
            if time.monotonic() - slot.started_at >= RESTART_RESET:
                slot.wait = RESTART_WAIT
            log.warning(
                "serve: server process %d ended (exit %s) unexpectedly; starting again in %.1f s",
                slot.index + 1,
                slot.process.exitcode,
                slot.wait,
            )
            if slot.channel is not None:
                slot.channel.close()
            slot.channel, slot.ready = None, False
            slot.restart_at = time.monotonic() + slot.wait
            slot.wait = min(slot.wait * 2, RESTART_WAIT_MAX)

    def stop_all(self) -> None:
        """SIGTERM to every server process, wait for them (SIGKILL after STOP_TIMEOUT)."""
        self.stopping = True
        running = [s.process for s in self.slots if s.process is not None and s.process.is_alive()]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("serve: a server process did not stop in time; killed")
                process.kill()
                process.join(5)
        for slot in self.slots:
            if slot.channel is not None:
                slot.channel.close()
        for sock in self._reserved:
            sock.close()
        self._reserved.clear()

    # -- signals: a flag, and a byte on a socket that wakes `wait` -------------------------

    def __enter__(self) -> Supervisor:
        self._wakeup, self._wakeup_write = socket.socketpair()
        self._wakeup.setblocking(False)
        self._wakeup_write.setblocking(False)
        self._old_fd = signal.set_wakeup_fd(self._wakeup_write.fileno())
        self._old_handlers = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
        signal.set_wakeup_fd(self._old_fd)
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        self._wakeup.close()
        self._wakeup_write.close()

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stopping = True

    def _drain_wakeup(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wakeup.recv(512):
                pass


def supervise(options: ServeOptions, processes: int) -> int:
    """Run `processes` server processes until SIGTERM or SIGINT; the exit code (0, or 1)."""
    try:
        with lookup_store(options.database_url) as (store, _):  # migrated once, here
            settings = store.settings
        with Supervisor(options, processes, settings) as supervisor:
            supervisor.reserve_ports()
            lines = supervisor.start_all()
            if lines is not None:  # else stopped while starting
                for line in lines:
                    typer.echo(line)
                typer.echo(
                    f"{processes} server processes on these ports (SO_REUSEPORT); each client's "
                    "rate limits and connection caps divided among them"
                )
                typer.echo("Press Ctrl+C (or send SIGTERM) to stop.")
                supervisor.serve()
            typer.echo("Stopping...")
    except (InterlinkError, OSError, ValueError, SQLAlchemyError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return 1
    typer.echo("Stopped.")
    return 0
