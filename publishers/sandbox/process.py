"""Running the sandbox registry: blocking until a signal (run_sandbox), or in a child process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from publishers.sandbox.faults import FaultPlan
from publishers.sandbox.records import SandboxSnapshot
from publishers.sandbox.server import SandboxRegistry
from publishers.sandbox.store import read_snapshot


def run_sandbox(
    db_path: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 7000,
    clients: Mapping[str, str] | None = None,
    contacts_policy: Mapping[str, str] | None = None,
    faults: FaultPlan | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    on_ready: Callable[[SandboxRegistry], None] | None = None,
    stop_event: threading.Event | None = None,
    **options: Any,
) -> None:
    """Serve until SIGINT or SIGTERM (or stop_event, for a thread), then stop cleanly.

    options are further SandboxRegistry arguments (read_timeout, max_frame, tls_dir...).
    """

    async def main() -> None:
        registry = SandboxRegistry(
            db_path,
            host=host,
            port=port,
            clients=clients,
            contacts_policy=contacts_policy,
            faults=faults,
            certfile=certfile,
            keyfile=keyfile,
            **options,
        )
        try:
            await registry.start()
        except BaseException:
            registry.close_db()
            raise
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        installed = []
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(signum, stop.set)
                    installed.append(signum)
        try:
            if on_ready is not None:
                on_ready(registry)
            while not stop.is_set():
                if stop_event is not None and stop_event.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await stop.wait()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            await registry.stop()

    asyncio.run(main())


def _child_entry() -> None:
    """The child side of SandboxProcess: options pickled on stdin, one ready line on stdout."""
    db_path, options = pickle.loads(sys.stdin.buffer.read())

    def ready(registry: SandboxRegistry) -> None:
        print(json.dumps({"port": registry.port, "ca_file": registry.ca_file}), flush=True)

    run_sandbox(db_path, on_ready=ready, **options)


class SandboxProcess:
    """The sandbox in a child process, so that it has a CPU of its own (benchmarks, crash tests).

    ``options`` are SandboxRegistry arguments (clients, contacts_policy, faults, port...; they
    must pickle). start() waits until it listens; stop() ends it with SIGTERM (a clean stop),
    kill() with SIGKILL. A restart listens on the same port. Committed changes survive both:
    every commit is in the WAL before its answer is sent.
    """

    def __init__(self, db_path: str | os.PathLike[str], **options: Any) -> None:
        self.db_path = Path(db_path)
        self.options = {"port": 0, **options}
        self.port: int | None = None
        self.ca_file: str | None = None
        self._process: Any = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start the child and wait (up to timeout) until it listens."""
        if self.running:
            raise RuntimeError("the sandbox process is already running")
        options = dict(self.options)
        if self.port is not None:
            options["port"] = self.port
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from publishers.sandbox.process import _child_entry; _child_entry()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        stdin, stdout = process.stdin, process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(pickle.dumps((str(self.db_path), options)))
        stdin.close()
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = box[0] if box else b""
        if not line:
            process.kill()
            process.wait(5)
            raise RuntimeError("the sandbox process did not start listening")
        ready = json.loads(line)
        self.port, self.ca_file = ready["port"], ready["ca_file"]
        self._process = process

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: the sandbox closes its connections and database, then exits."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except Exception:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()

    def kill(self) -> None:
        """SIGKILL: no goodbye at all."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(5)
            if process.stdout is not None:
                process.stdout.close()

    def snapshot(self) -> SandboxSnapshot:
        """The state in the database file (readable while the process runs)."""
        return read_snapshot(self.db_path)

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
