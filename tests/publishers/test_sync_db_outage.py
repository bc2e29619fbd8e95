"""`interlink sync --follow` (a process of its own, on PostgreSQL) rides out a lost database:
its backends terminated in the middle of its transactions again and again, it keeps running and
every change reaches the registry exactly once; the database cut off (a TCP relay in front of
PostgreSQL stops relaying) for less than sync.database_outage_limit, it carries on; for longer,
it stops with a message naming the setting, exit status 1 and no traceback. And the guard
that does it (publishers.db_retry) on its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from domains.store import Store
from publishers.db_retry import DatabaseOutage, OutageGuard
from tests.support.environment import REQUIRE_ALL
from tests.support.postgres import NO_POSTGRES, POSTGRES_URL
from tests.support.sync import (
    ACTOR,
    CLIENT_ID,
    PASSWORD,
    PASSWORD_ENV,
    TransformCountingSandbox,
    assert_sandbox_equals_store,
    entries,
    move_tech,
    new_tech,
    registries,
    sandbox_in_thread,
    seed,
    statuses,
    write_registries,
)

postgres_only = pytest.mark.skipif(not POSTGRES_URL and not REQUIRE_ALL, reason=NO_POSTGRES)

REPO = Path(__file__).resolve().parents[2]
#: Every other backend of the test's database, at a moment when one of them is inside a
#: transaction (so the worker loses a connection in the middle of its work, not while idle).
TERMINATE_IN_TRANSACTION = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND EXISTS (SELECT 1 FROM pg_stat_activity busy WHERE busy.datname = current_database() "
    "AND busy.pid <> pg_backend_pid() AND busy.xact_start IS NOT NULL)"
)
OUTAGE_LIMIT_MESSAGE = (
    "the database has been unreachable for 2 s (sync.database_outage_limit); stopping"
)


class Relay:
    """A TCP relay on 127.0.0.1 in front of PostgreSQL. `cut()` drops every relayed
    connection and closes each new one at once (the database is unreachable); `restore()`
    relays again."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.relaying = True
        self._live: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            if not self.relaying:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._live |= {client, server}
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            self._drop(source, target)

    def _drop(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with self._lock:
                self._live.discard(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut(self) -> None:
        self.relaying = False
        with self._lock:
            live = list(self._live)
        self._drop(*live)

    def restore(self) -> None:
        self.relaying = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[TransformCountingSandbox]:
    registry = TransformCountingSandbox(tmp_path / "sandbox.db", clients={CLIENT_ID: PASSWORD})
    with sandbox_in_thread(registry):
        yield registry


def start_worker(url: str, registries_path: Path, tmp_path: Path, **sync: float) -> Any:
    """`python -m tui.commands.sync --follow` on `url`, its output in files under tmp_path."""
    env = {**os.environ, PASSWORD_ENV: PASSWORD, "INTERLINK_DATA_DIR": str(tmp_path / "data")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    for name, value in sync.items():
        env[f"INTERLINK_SYNC__{name.upper()}"] = str(value)
    out = (tmp_path / "worker.out").open("wb")
    err = (tmp_path / "worker.err").open("wb")
    command = [sys.executable, "-m", "tui.commands.sync", "--follow", "--no-progress"]
    command += ["--registries", str(registries_path), "--db", url, "--batch", "4"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=err)
    out.close()
    err.close()
    return process


def stderr_of(tmp_path: Path) -> str:
    return (tmp_path / "worker.err").read_text(encoding="utf-8", errors="replace")


def wait_for(
    condition: Callable[[], Any],
    what: str,
    seconds: float = 30.0,
    worker: tuple[subprocess.Popen[bytes], Path] | None = None,
) -> Any:
    """Poll `condition` until it is true (its value), failing after `seconds`, or at once
    when the `worker` process (and its folder) ended meanwhile."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if worker is not None and worker[0].poll() is not None:
            pytest.fail(f"the worker ended while waiting for {what}: {stderr_of(worker[1])}")
        time.sleep(0.01)
    return value


def stop_worker(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(10)


def all_done(store: Store, count: int) -> bool:
    found = statuses(store)
    return sum(found.values()) == count and found["done"] == count


@pytest.mark.slow
@postgres_only
def test_worker_survives_backends_terminated_mid_transaction(
    pg_store: Store, sandbox: TransformCountingSandbox, tmp_path: Path
) -> None:
    store = pg_store
    path = write_registries(tmp_path / "r.toml", sandbox, tlds=("com", "net", "org"))
    regs = registries(path, tmp_path)
    seeded = seed(store, sandbox, 24, tlds=("com", "net", "org"))
    url = store.engine.url.render_as_string(hide_password=False)
    process = start_worker(url, path, tmp_path, database_retry_wait=0.05)
    admin = create_engine(store.engine.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    terminated = 0
    try:
        with admin.connect() as connection:

            def terminate_mid_transaction() -> int:
                return connection.execute(TERMINATE_IN_TRANSACTION).scalar_one()

            changes = 0
            for round_ in range(6):
                # A few changes, made between terminations (this test's own connections are
                # idle in the pool then, and checked before use).
                for n in range(round_ * 4, round_ * 4 + 3):
                    move_tech(store, seeded.names[n], new_tech(n))
                registrant = store.domain_record(seeded.names[round_ * 4]).contact("registrant")
                store.update_contact(
                    ACTOR, registrant.handle, registrant.version, {"city": f"Bergen {round_}"}
                )
                changes += 4
                for _ in range(3):
                    done = statuses(store)["done"]
                    terminated += wait_for(terminate_mid_transaction, "a worker transaction")
                    assert process.poll() is None, stderr_of(tmp_path)
                    wait_for(
                        lambda d=done, c=changes: statuses(store)["done"] > d or all_done(store, c),
                        "progress after a termination",
                        worker=(process, tmp_path),
                    )
        wait_for(
            lambda: all_done(store, changes), "every change synced", worker=(process, tmp_path)
        )
        assert process.poll() is None, stderr_of(tmp_path)
    finally:
        admin.dispose()
        code = stop_worker(process)
    log = stderr_of(tmp_path)
    assert code == 0, log
    assert "Traceback" not in log
    assert "database unavailable" in log  # it did meet the terminations, and said so
    assert terminated >= 18

    # Every change reached the registry exactly once.
    expected = Counter()
    for entry in entries(store):
        if entry.kind == "domain.tech_move":
            expected[(entry.id, "contact:create")] = expected[(entry.id, "domain:update")] = 1
        else:
            expected[(entry.id, "contact:update")] = 1
    assert dict(sandbox.transforms) == dict(expected)
    assert_sandbox_equals_store(store, sandbox, regs, seeded.names[: 6 * 4])


@postgres_only
def test_worker_rides_out_a_short_outage_and_stops_after_a_long_one(
    pg_store: Store, sandbox: TransformCountingSandbox, tmp_path: Path
) -> None:
    store = pg_store
    path = write_registries(tmp_path / "r.toml", sandbox, tlds=("com", "net", "org"))
    regs = registries(path, tmp_path)
    seeded = seed(store, sandbox, 3, tlds=("com", "net", "org"))
    relay = Relay(store.engine.url.host or "127.0.0.1", store.engine.url.port or 5432)
    url = store.engine.url.set(host="127.0.0.1", port=relay.port)
    process = start_worker(
        url.render_as_string(hide_password=False),
        path,
        tmp_path,
        database_outage_limit=2,
        database_retry_wait=0.1,
        database_retry_wait_max=0.5,
    )
    try:
        move_tech(store, seeded.names[0], new_tech(0))
        wait_for(lambda: all_done(store, 1), "the first change synced", worker=(process, tmp_path))

        # A short outage (under the limit): the worker notices, waits, carries on.
        relay.cut()
        move_tech(store, seeded.names[1], new_tech(1))
        wait_for(
            lambda: "database unavailable" in stderr_of(tmp_path),
            "the worker to notice",
            worker=(process, tmp_path),
        )
        relay.restore()
        wait_for(
            lambda: all_done(store, 2),
            "the change made during the outage",
            worker=(process, tmp_path),
        )
        move_tech(store, seeded.names[2], new_tech(2))
        wait_for(
            lambda: all_done(store, 3), "a change made after the outage", worker=(process, tmp_path)
        )
        assert process.poll() is None, stderr_of(tmp_path)
        assert "the database answers again" in stderr_of(tmp_path)

        # A long one: the worker gives up after the limit, saying why.
        cut_at = time.monotonic()
        relay.cut()
        code = process.wait(30)
        waited = time.monotonic() - cut_at
    finally:
        stop_worker(process)
        relay.close()
    log = stderr_of(tmp_path)
    assert code == 1, log
    assert OUTAGE_LIMIT_MESSAGE in " ".join(log.split()), log
    assert "Traceback" not in log
    assert 2.0 <= waited < 20, waited
    assert_sandbox_equals_store(store, sandbox, regs, seeded.names)


async def test_the_guard_retries_transient_errors_until_the_outage_limit() -> None:
    guard = OutageGuard(wait=0.01, wait_max=0.05, limit=0.3)
    calls: list[str] = []

    async def flaky() -> str:
        calls.append("try")
        if len(calls) < 4:
            raise sqlite3.OperationalError("database is locked")  # transient
        return "done"

    assert await guard.run(flaky) == "done" and len(calls) == 4
    assert guard.since is None  # the outage is over

    async def gone() -> None:
        raise sqlite3.OperationalError("unable to open database file")

    started = time.monotonic()
    with pytest.raises(DatabaseOutage) as raised:
        await guard.run(gone)
    assert time.monotonic() - started >= 0.3
    assert str(raised.value) == (
        "the database has been unreachable for 0.3 s (sync.database_outage_limit); stopping"
    )

    calls.clear()

    async def broken() -> None:
        calls.append("try")
        raise sqlite3.OperationalError("no such table: outbox_entry")  # a bug: not retried

    with pytest.raises(sqlite3.OperationalError):
        await guard.run(broken)
    assert calls == ["try"]


async def test_a_stop_cuts_the_wait_for_the_database_short() -> None:
    guard = OutageGuard(wait=0.01, wait_max=0.05, limit=60, stop_grace=0.2)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)

    async def gone() -> None:
        raise sqlite3.OperationalError("database is locked")

    started = time.monotonic()
    with pytest.raises(DatabaseOutage, match="stopped while the database was unreachable"):
        await guard.run(gone, stop=stop)
    assert 0.2 <= time.monotonic() - started < 5
