"""The WHOIS and RDAP services under test: settings, seed data, sockets, server processes."""

from __future__ import annotations

import os
import resource
import selectors
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonpath
import pytest

from domains.settings import ServeSettings, Settings
from domains.store import Store
from tests.support.environment import REPO, REQUIRE_ALL
from tests.support.factories import account_data, contact_data

WHOIS = shutil.which("whois") or "/usr/bin/whois"


LOOPBACK = ["127.0.0.0/8", "::1"]


def need_whois_client() -> None:
    """Skip (or, with INTERLINK_REQUIRE_ALL=1, fail) when Debian's whois client is missing."""
    if not os.path.exists(WHOIS):
        message = f"Debian's whois client is not installed ({WHOIS}); apt-get install -y whois"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)


def rdds_settings(settings: Settings, **serve: Any) -> Settings:
    """The test's settings with these `serve` values (loopback allow-listed unless given)."""
    values: dict[str, Any] = {"answer_cache_bytes": 1024 * 1024, **serve}
    rate = values.pop("rate_limit", {"allow_list": LOOPBACK})
    base = ServeSettings().model_dump()
    base["rate_limit"].update(rate)
    base.update(values)
    return settings.model_copy(update={"serve": ServeSettings(**base)})


def seed(store: Store) -> dict[str, Any]:
    """A .com domain with a person registrant, and an IDN domain; their names and handles."""
    account = store.create_account("staff:test", account_data())
    registrant = store.create_contact(
        "staff:test",
        contact_data(name="Margarethe Quist", email="m.quist@example.org", voice="+49 30 901820"),
        account_number=account.number,
    )
    store.create_domain(
        "staff:test",
        {
            "name": "kite-makers.com",
            "roid": "D9137-COM",
            "nameservers": ["ns1.interlink.example.net", "ns2.interlink.example.net"],
            "expires_at": "2031-03-04T05:06:07Z",
        },
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )
    store.create_domain(
        "staff:test",
        {"name": "bücher-haus.de"},
        account_number=account.number,
        contacts={"registrant": registrant.handle},
    )
    return {
        "name": "kite-makers.com",
        "idn": "bücher-haus.de",
        "idn_alabel": "xn--bcher-haus-9db.de",
        "registrant": registrant,
    }


def ask(port: int, payload: bytes, *, host: str = "127.0.0.1", timeout: float = 10.0) -> bytes:
    """Send raw bytes to the WHOIS port and read the answer to the end."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(payload)
        return read_all(sock)


def read_all(sock: socket.socket) -> bytes:
    """Read until the server closes (bounded by the socket's timeout)."""
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def query(port: int, name: str) -> str:
    """One WHOIS query for `name`, the answer as text."""
    return ask(port, name.encode("utf-8") + b"\r\n").decode("utf-8")


def without_stamp(answer: str) -> str:
    """The answer without its generation time line."""
    return "\r\n".join(
        line for line in answer.split("\r\n") if not line.startswith(">>> Last update")
    )


def whois_cli(port: int, name: str) -> str:
    """Debian's whois client asking our server."""
    done = subprocess.run(
        [WHOIS, "-h", "127.0.0.1", "-p", str(port), name],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8")


def is_empty(value: Any) -> bool:
    return value == "" or (isinstance(value, list) and all(is_empty(v) for v in value))


def check_redactions(body: dict[str, Any], settings: Settings) -> int:
    """Every RFC 9537 `redacted` entry holds on the served JSON; how many there were."""
    for entry in body["redacted"]:
        assert entry["pathLang"] == "jsonpath"
        method = entry["method"]
        if method == "removal":
            assert jsonpath.findall(entry["prePath"], body) == [], entry
        elif method == "emptyValue":
            found = jsonpath.findall(entry["postPath"], body)
            assert found and all(is_empty(value) for value in found), entry
        elif method == "replacementValue":
            assert jsonpath.findall(entry["prePath"], body) == [], entry
            (replaced,) = jsonpath.findall(entry["replacementPath"], body)
            assert replaced[0] == "contact-uri"
            assert replaced[3].startswith(settings.registrar.contact_form_url)
        else:  # pragma: no cover
            pytest.fail(f"unexpected method {method}")
    return len(body["redacted"])


GOOD = "127.0.9.9"


def enough_files(needed: int) -> None:
    """Raise the soft limit of open files to `needed` (or skip when the hard limit is lower)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} open files, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    """A TCP connection to 127.0.0.1:port from the loopback address `source`."""
    return socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))


def wait_closed(
    socks: Iterable[socket.socket], deadline: float, leave_open: int = 0
) -> tuple[dict[int, bytes], int]:
    """Read every socket until the server closes it, or until `deadline` (time.monotonic()).

    Stops early once no more than `leave_open` sockets are still open.
    Returns what each closed socket received (by its index) and how many were still open.
    """
    pending = list(socks)
    received: dict[int, bytearray] = {}
    closed: dict[int, bytes] = {}
    with selectors.DefaultSelector() as selector:
        for index, sock in enumerate(pending):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, index)
            received[index] = bytearray()
        while len(received) > leave_open and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(timeout=min(left, 0.5)):
                index, sock = key.data, key.fileobj
                try:
                    chunk = sock.recv(65536)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    received[index] += chunk
                    continue
                selector.unregister(sock)
                closed[index] = bytes(received.pop(index))
    return closed, len(received)


def poll(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Wait until `condition()` holds, failing after `timeout` seconds (checks every 10 ms)."""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as idle:
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting: {what}"
            idle.select(timeout=0.01)


def close_all(socks: Iterable[socket.socket]) -> None:
    for sock in socks:
        sock.close()


def rss_kb(pid: int) -> int:
    """The resident set size of a process, from /proc/PID/status (kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS line")


@dataclass
class Server:
    """A `serve` child process and where it listens."""

    process: subprocess.Popen[str]
    whois_port: int
    http_port: int
    output: list[str]

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        return rss_kb(self.pid)


#: What the server processes are started with.
READ_TIMEOUT = 1.0
MAX_CONNECTIONS = 256


def serve_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The child's environment: no user config, its own data dir, short read timeout."""
    env = {
        **os.environ,
        "INTERLINK_CONFIG": str(tmp / "no-config.toml"),
        "INTERLINK_DATA_DIR": str(tmp / "data"),
        "INTERLINK_SERVE__WHOIS_READ_TIMEOUT": str(READ_TIMEOUT),
        "INTERLINK_SERVE__WHOIS_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "INTERLINK_SERVE__RATE_LIMIT__ALLOW_LIST": '["127.0.0.0/8", "::1"]',
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def start_server(command: list[str], env: dict[str, str], timeout: float = 60) -> Server:
    """Start a serve command with ports 0 and read the ports it reports."""
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    ports: dict[str, int] = {}

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(ports) < 2:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {process.stderr.read()}")  # type: ignore[union-attr]
        for line in list(lines):
            if line.startswith("WHOIS  listening on "):
                ports["whois"] = int(line.split()[3].rsplit(":", 1)[1])
            elif line.startswith("RDAP   listening on "):
                ports["http"] = int(line.split()[3].split(":")[2].split("/")[0])
        time.sleep(0.05)
    if len(ports) < 2:
        process.kill()
        raise AssertionError(f"serve did not report its ports: {lines}")
    return Server(process, ports["whois"], ports["http"], lines)


def stop_server(server: Server, timeout: float = 20) -> tuple[int, str]:
    """SIGTERM, wait; the exit code and what it wrote to stderr."""
    if server.process.poll() is None:
        server.process.terminate()
    try:
        server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(5)
        raise
    err = server.process.stderr.read() if server.process.stderr else ""  # type: ignore[union-attr]
    return server.process.returncode, err
