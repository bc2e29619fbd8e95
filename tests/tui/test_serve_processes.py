"""`interlink serve --processes 2`: a supervisor and two server processes on the same ports.

Real processes on 127.0.0.1: both children listen on both ports (read from /proc, not from the
answers, which say nothing of who served them), Debian's whois and httpx get answers, a child
killed with SIGKILL is started again, SIGTERM stops them all (exit 0), a port in use or a child
that cannot start ends the supervisor with one clear line (exit 1), and a client cannot get past
the configured rate limits by spreading its connections over the processes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domains.settings import Settings
from domains.store import Store
from tests.support.environment import REPO
from tests.support.rdds import (
    Server,
    ask,
    need_whois_client,
    poll,
    seed,
    serve_env,
    start_server,
    stop_server,
    whois_cli,
)
from tui.commands.serve_processes import has_reuse_port, per_process, resolve_processes

pytestmark = pytest.mark.skipif(not has_reuse_port(), reason="SO_REUSEPORT is Linux's")

SQLITE_ONLY = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
TCP_LISTEN = "0A"


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "tui.cli", "serve", "--processes", "2", *args]


def children(pid: int) -> set[int]:
    """The live (not zombie) child processes of `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def listening_inodes(port: int) -> set[str]:
    """The socket inodes listening on 127.0.0.1:port (from /proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == TCP_LISTEN and int(local.split(":")[1], 16) == port:
            inodes.add(inode)
    return inodes


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process `pid` holds (none once it is gone)."""
    found = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def holders(pid: int, port: int) -> set[int]:
    """The children of `pid` that hold a socket listening on `port`."""
    inodes = listening_inodes(port)
    return {child for child in children(pid) if socket_inodes(child) & inodes}


def servers(running: Server) -> set[int]:
    """The children listening on both the WHOIS and the HTTP port."""
    return holders(running.pid, running.whois_port) & holders(running.pid, running.http_port)


@pytest.fixture
def seeded(store: Store) -> dict[str, Any]:
    return seed(store)


def start(settings: Settings, tmp_path: Path, **env: str) -> Server:
    command = cli("--whois-port", "0", "--http-port", "0", "--db", settings.database_url)
    return start_server(command, serve_env(tmp_path, **env))


@pytest.fixture
def server(settings: Settings, seeded: dict[str, Any], tmp_path: Path) -> Iterator[Server]:
    running = start(settings, tmp_path)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(10)


def test_two_processes_answer_whois_and_rdap_and_stop_together(server: Server) -> None:
    text = "".join(server.output)
    assert f"WHOIS  listening on 127.0.0.1:{server.whois_port}" in text
    assert f"Portal listening on http://127.0.0.1:{server.http_port}/" in text
    assert text.count("WHOIS  listening on") == 1  # once, by the supervisor
    assert "2 server processes on these ports" in text
    poll(lambda: len(servers(server)) == 2, 30, "two children listening on both ports")
    pids = servers(server)

    need_whois_client()
    assert "Domain Name: KITE-MAKERS.COM" in whois_cli(server.whois_port, "kite-makers.com")
    for _ in range(6):  # new connections, spread over both processes by their source ports
        assert ask(server.whois_port, b"kite-makers.com\r\n").startswith(b"Domain Name:")
        response = httpx.get(
            f"http://127.0.0.1:{server.http_port}/rdap/domain/kite-makers.com", timeout=10
        )
        assert response.status_code == 200 and response.json()["ldhName"] == "kite-makers.com"
        assert "Quist" not in response.text
    portal = httpx.get(f"http://127.0.0.1:{server.http_port}/", timeout=10)
    assert portal.status_code == 200

    code, err = stop_server(server)
    assert code == 0, err
    assert "Traceback" not in err and "Stopped." in "".join(server.output)
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)  # reaped: none left behind


@SQLITE_ONLY
def test_a_killed_process_is_started_again(server: Server) -> None:
    poll(lambda: len(servers(server)) == 2, 30, "two children listening")
    killed = min(servers(server))
    sockets = socket_inodes(killed) & listening_inodes(server.whois_port)
    assert sockets
    os.kill(killed, signal.SIGKILL)
    poll(lambda: killed not in holders(server.pid, server.whois_port), 10, "the killed one gone")
    # Gone for the kernel too: its listening socket out of the port's group (an exiting process
    # may hold it a moment after /proc stops showing its files).
    poll(lambda: not (sockets & listening_inodes(server.whois_port)), 10, "its socket closed")
    # The other one answers meanwhile.
    assert ask(server.whois_port, b"kite-makers.com\r\n").startswith(b"Domain Name:")
    poll(
        lambda: len(servers(server)) == 2 and killed not in servers(server),
        60,
        "a new child listening in its place",
    )
    for _ in range(4):
        assert ask(server.whois_port, b"kite-makers.com\r\n").startswith(b"Domain Name:")
    code, err = stop_server(server)
    assert code == 0, err
    assert "server process" in err and "(exit -9) unexpectedly" in err
    assert "Traceback" not in err


@SQLITE_ONLY
def test_a_killed_supervisor_leaves_no_server_process_behind(server: Server) -> None:
    poll(lambda: len(servers(server)) == 2, 30, "two children listening")
    pids = servers(server)
    server.process.kill()
    server.process.wait(10)
    poll(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids),
        30,
        "the server processes ended with their supervisor",
    )
    assert not listening_inodes(server.whois_port) and not listening_inodes(server.http_port)


@SQLITE_ONLY
def test_sigint_stops_them_all(server: Server) -> None:
    poll(lambda: len(servers(server)) == 2, 30, "two children listening")
    pids = servers(server)
    server.process.send_signal(signal.SIGINT)
    code, err = stop_server(server)
    assert code == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)


@SQLITE_ONLY
def test_sigterm_while_the_processes_start_stops_cleanly(
    settings: Settings, seeded: dict[str, Any], tmp_path: Path
) -> None:
    command = cli("--whois-port", "0", "--http-port", "0", "--db", settings.database_url)
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=serve_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The two server processes (and multiprocessing's resource tracker) exist: starting.
        poll(lambda: len(children(process.pid)) >= 3, 60, "the server processes spawned")
        process.terminate()
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "Stopped." in out and "listening on" not in out  # stopped before they served


def run(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=REPO,
        env=serve_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@SQLITE_ONLY
def test_a_port_in_use_is_one_clear_line(
    settings: Settings, seeded: dict[str, Any], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = run(
            cli("--whois-port", "0", "--http-port", str(port), "--db", settings.database_url),
            tmp_path,
        )
    assert done.returncode == 1
    assert f"HTTP: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@SQLITE_ONLY
def test_a_child_that_cannot_start_stops_all(
    settings: Settings, seeded: dict[str, Any], tmp_path: Path
) -> None:
    """The publisher's store is opened by the children only: a bad one fails them at start."""
    command = cli("--whois-port", "0", "--http-port", "0", "--db", settings.database_url)
    done = run([*command, "--publish-db", "nosuchdriver://nowhere/db"], tmp_path)
    assert done.returncode == 1, done.stderr
    assert "error:" in done.stderr and "nosuchdriver" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "listening on" not in done.stdout


EXIT_UNDER_SIGTERM = """
import atexit, logging, multiprocessing, os, signal, sys
from tui.commands.serve_processes import ServeOptions, WorkerSpec, worker_main
# Registered after logging's own exit handler, so it runs first: a SIGTERM in the middle of
# the interpreter's exit, as when the supervisor stops every process after one failed.
atexit.register(lambda: os.kill(os.getpid(), signal.SIGTERM))
options = ServeOptions("127.0.0.1", 0, 0, sys.argv[1], False, None, "nosuchdriver://nowhere/db")
ours, theirs = multiprocessing.Pipe(duplex=False)
worker_main(WorkerSpec(options, 0, 2, "127.0.0.1", 0, 0, logging.WARNING), theirs)
"""


@SQLITE_ONLY
def test_a_stop_signal_while_a_failed_child_exits_prints_no_traceback(
    settings: Settings, seeded: dict[str, Any], tmp_path: Path
) -> None:
    """The supervisor's SIGTERM can reach a child already on its way out (it failed)."""
    done = run([sys.executable, "-c", EXIT_UNDER_SIGTERM, settings.database_url], tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "KeyboardInterrupt" not in done.stderr


@SQLITE_ONLY
def test_a_client_gets_no_more_than_the_limit_across_processes(
    settings: Settings, seeded: dict[str, Any], tmp_path: Path
) -> None:
    """Burst 4 in all: each process allows 2, so 30 new connections get at most 4 answers."""
    burst = 4
    running = start(
        settings,
        tmp_path,
        INTERLINK_SERVE__RATE_LIMIT__ALLOW_LIST="[]",
        INTERLINK_SERVE__RATE_LIMIT__PER_ADDRESS_RATE="0.001",
        INTERLINK_SERVE__RATE_LIMIT__PER_ADDRESS_BURST=str(burst),
    )
    try:
        poll(lambda: len(servers(running)) == 2, 30, "two children listening")
        whois = [ask(running.whois_port, b"kite-makers.com\r\n") for _ in range(30)]
        answered = sum(answer.startswith(b"Domain Name:") for answer in whois)
        refused = sum(b"rate limit exceeded" in answer for answer in whois)
        assert answered + refused == 30
        # At most the configured burst (undivided, the two processes answer 2 * burst). More
        # than one process allows: both answered (30 connections all landing on one process,
        # spread by their source ports, would be a chance of 1 in 2**29).
        assert burst // 2 < answered <= burst

        url = f"http://127.0.0.1:{running.http_port}/rdap/domain/kite-makers.com"
        codes = [httpx.get(url, timeout=10).status_code for _ in range(30)]
        assert set(codes) == {200, 429}
        assert burst // 2 < codes.count(200) <= burst
    finally:
        code, err = stop_server(running)
    assert code == 0, err


def test_limits_are_divided_among_the_processes(settings: Settings) -> None:
    divided = per_process(settings, 4)
    limits, mine = settings.serve.rate_limit, divided.serve.rate_limit
    assert mine.per_address_rate == limits.per_address_rate / 4
    assert mine.per_address_burst == limits.per_address_burst / 4
    assert mine.per_network_burst == limits.per_network_burst / 4
    assert divided.serve.whois_max_connections_per_address == 2  # 8 / 4
    assert divided.serve.http_max_connections_per_network == 32  # 128 / 4
    assert divided.portal.submit_burst == 2 and divided.portal.submit_every == 120.0
    tiny = settings.model_copy(
        update={"serve": settings.serve.model_copy(update={"whois_max_connections_per_address": 3})}
    )
    assert per_process(tiny, 4).serve.whois_max_connections_per_address == 1  # at least 1
    assert per_process(settings, 1) is settings


def test_how_many_processes() -> None:
    assert resolve_processes(None, 3) == 3
    assert resolve_processes(1, 3) == 1  # the option wins
    assert resolve_processes(None, 0) == len(os.sched_getaffinity(0))
