"""Shared by the WHOIS and RDAP benchmarks: query mixes, the benchmark itself, load generators and
bare servers (the store is benchmarks/bench_store.py's).

Each load generator and each bare server runs as its own process (this file, with a sub-command):

    python benchmarks/rdds_load.py whois-load --port P --names FILE --seconds S --concurrency C
    python benchmarks/rdds_load.py http-load  --port P --names FILE --seconds S --concurrency C
    python benchmarks/rdds_load.py bare-whois --port P --size BYTES
    python benchmarks/rdds_load.py bare-http  --port P --size BYTES
    python benchmarks/rdds_load.py bare-asgi  --port P --size BYTES

A load generator keeps `concurrency` queries in flight for `seconds`, then prints one JSON
line: answers, failures, answers per second, p50 and p99 latency. WHOIS opens one connection
per query (RFC 3912), on raw sockets and epoll (benchmarks/whois_load.py: a connection per
query costs a client as much as the server, so the generator spends as little as it can); HTTP
keeps connections alive, as RDAP clients do (uvloop, asyncio protocols, no HTTP library in
the way).

The names file holds one A-label per line, in the order they are asked (`write_names`):

- uniform: names drawn uniformly from all the store's domains: every answer a different row of
  the store, the in-memory cache of no help: the worst case;
- zipf: names drawn by a Zipf law (s = 1) over a random ranking of all domains, as real RDDS
  traffic goes: popular names are asked again and again;
- hot: 1,000 names only: a diagnostic of the server's own cost per query (connection or
  routing, rate limit), not a target mix.

Before measuring, `interlink publish` renders every domain's answers ahead (as `serve`'s own
background publisher keeps them; quick when they already are), so answers are read from the
store's published answers: one indexed read, LZ4 decompression and the time stamp. `--live`
serves without them (`INTERLINK_SERVE__PUBLISH_ANSWERS=false`): every answer not in the
in-memory cache is built from the store (SQL, policy view, rendering), for information.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python benchmarks/NAME.py` from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_store import CACHE_DIR, ensure_store, store_path  # noqa: E402
from benchmarks.whois_load import whois_load  # noqa: E402

QUERIES = 1_000_000
#: The "hot" mix asks only this many names: it measures the servers' own cost (connection,
#: rate limit, freshness check) more than the store's.
HOT_NAMES = 1000


# -- the store and the query mixes --------------------------------------------------------


def domain_names(path: Path) -> list[str]:
    """Every domain name (A-label) of the store."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return [name for (name,) in db.execute("SELECT name FROM domain")]


def write_names(names: list[str], mix: str, target: Path, count: int = QUERIES) -> Path:
    """`count` queries drawn from `names` by the mix ("uniform", "zipf" or "hot"), one per line."""
    rng = random.Random(20261127)
    if mix == "uniform":
        picks = [names[rng.randrange(len(names))] for _ in range(count)]
    elif mix == "hot":
        few = rng.sample(names, min(HOT_NAMES, len(names)))
        picks = [few[rng.randrange(len(few))] for _ in range(count)]
    elif mix == "zipf":
        ranked = names[:]
        rng.shuffle(ranked)
        weights = list(itertools.accumulate(1.0 / rank for rank in range(1, len(ranked) + 1)))
        picks = rng.choices(ranked, cum_weights=weights, k=count)
    else:
        raise ValueError(f"unknown mix {mix!r}")
    target.write_text("\n".join(picks) + "\n", encoding="ascii")
    return target


# -- processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(
    port: int, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Until something listens on `port`; SystemExit after `timeout`, ServeFailed at once if
    `process` (what should listen) has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if process is not None and process.poll() is not None:
            raise ServeFailed(f"it ended with exit status {process.returncode}")
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


class ServeFailed(Exception):
    """`interlink serve` ended before it listened; the message says how (its last error line)."""


@dataclass
class Child:
    """A server process of the benchmark."""

    process: subprocess.Popen[bytes]
    port: int

    def memory_mb(self) -> tuple[float, float]:
        """(resident, of which mapped files such as the store) in MB."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssFile", "RssShmem"):
                fields[name] = int(value.split()[0]) / 1024
        return fields.get("VmRSS", 0.0), fields.get("RssFile", 0.0) + fields.get("RssShmem", 0.0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_bare(kind: str, size: int) -> Child:
    """The bare server of `kind` ("whois" or "http") answering `size` fixed bytes."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, f"bare-{kind}", "--port", str(port), "--size", str(size)]
    )
    wait_port(port)
    return Child(process, port)


def serve_env(live: bool = False) -> dict[str, str]:
    """The environment of `interlink serve` here: default settings, wide-open rate limits;
    `live`: no answers rendered ahead (every answer built when asked)."""
    return {
        **os.environ,
        "INTERLINK_CONFIG": str(CACHE_DIR / "no-config.toml"),
        "INTERLINK_DATA_DIR": str(CACHE_DIR / "data"),
        # The buckets are checked for every query, as in production, but never run dry here.
        "INTERLINK_SERVE__RATE_LIMIT__PER_ADDRESS_RATE": "1e9",
        "INTERLINK_SERVE__RATE_LIMIT__PER_ADDRESS_BURST": "1e9",
        "INTERLINK_SERVE__RATE_LIMIT__PER_NETWORK_RATE": "1e9",
        "INTERLINK_SERVE__RATE_LIMIT__PER_NETWORK_BURST": "1e9",
        "INTERLINK_SERVE__WHOIS_MAX_CONNECTIONS": "2048",
        # Likewise the per-client connection caps: counted for every connection, never reached
        # by the one load generator's address.
        "INTERLINK_SERVE__WHOIS_MAX_CONNECTIONS_PER_ADDRESS": "2048",
        "INTERLINK_SERVE__WHOIS_MAX_CONNECTIONS_PER_NETWORK": "2048",
        "INTERLINK_SERVE__HTTP_MAX_CONNECTIONS_PER_ADDRESS": "2048",
        "INTERLINK_SERVE__HTTP_MAX_CONNECTIONS_PER_NETWORK": "2048",
        "INTERLINK_SERVE__PUBLISH_ANSWERS": "false" if live else "true",
    }


def database_url(database: Path | str) -> str:
    """The URL of a store: a SQLite file's path, or already a URL (PostgreSQL)."""
    return f"sqlite:///{database}" if isinstance(database, Path) else database


def ensure_published(database: Path | str) -> None:
    """`interlink publish` over the store (a SQLite file or a URL, with serve's settings): every
    answer rendered ahead, as `serve`'s own publisher keeps them; quick when they already are."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tui.cli import main; main()",
            "publish",
            "--db",
            database_url(database),
        ],
        cwd=ROOT,
        env=serve_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    print(f"{done.stdout.strip()} (interlink publish, {time.perf_counter() - started:.0f} s)")


def start_serve(
    database: Path | str,
    whois_port: int,
    http_port: int,
    live: bool = False,
    processes: int = 1,
) -> Child:
    """`interlink serve` (WHOIS + RDAP + portal) over the store (a SQLite file or a URL), rate
    limits on but wide open, in `processes` server processes (`--processes`, passed when not 1);
    ServeFailed, with its last error line, if it ends before it listens."""
    env = {**serve_env(live), "INTERLINK_SERVE__PROCESSES": str(processes)}
    command = [
        sys.executable,
        "-m",
        "tui.commands.serve",
        "--whois-port",
        str(whois_port),
        "--http-port",
        str(http_port),
        "--db",
        database_url(database),
    ]
    if processes != 1:
        command += ["--processes", str(processes)]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            wait_port(whois_port, process=process)
            wait_port(http_port, process=process)
        except ServeFailed as failed:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").splitlines()
            said = [text for text in (text.strip(" │╭╮╰╯─") for text in lines) if text]
            raise ServeFailed(said[-1] if said else str(failed)) from None
    return Child(process, whois_port)


def run_load(kind: str, port: int, names: Path, seconds: float, concurrency: int) -> dict[str, Any]:
    """Run a load generator process; its result."""
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            f"{kind}-load",
            "--port",
            str(port),
            "--names",
            str(names),
            "--seconds",
            str(seconds),
            "--concurrency",
            str(concurrency),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def line(label: str, result: dict[str, Any]) -> str:
    return (
        f"{label}: {result['rate']:,.0f} answers/s, p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms ({result['answers']:,} answers, "
        f"{result['failures']} failures, {result['misses']:,} not-found)"
    )


# -- the benchmark of whois_rate.py and rdap_rate.py --------------------------------------


@dataclass(frozen=True)
class Service:
    """What tells the WHOIS benchmark from the RDAP one."""

    name: str  # "whois" or "rdap", as the report calls it
    kind: str  # "whois" or "http": the load generator, bare server and port of `serve` used
    load: str  # what the load generator keeps `concurrency` of, for the report
    bare: str  # the bare server, for the report
    answer_size: Callable[[int, list[str]], int]  # our average answer on a port, over names
    #: A second, barer baseline measured for information only: (its kind, its report label).
    floor: tuple[str, str] | None = None


def benchmark(service: Service, description: str) -> None:
    """Ours against the bare server, mix by mix, as the command line asks."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--domains", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="SQLite file of the store (default: cached)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mix", choices=["uniform", "zipf", "hot", "all"], default="all")
    parser.add_argument(
        "--live",
        action="store_true",
        help="serve without the answers rendered ahead: every answer built when asked",
    )
    args = parser.parse_args()

    path = ensure_store(args.domains, args.db or store_path(args.domains))
    if not args.live:
        ensure_published(path)
    names = domain_names(path)
    mixes = ["uniform", "zipf", "hot"] if args.mix == "all" else [args.mix]
    kind, name = service.kind, service.name
    with tempfile.TemporaryDirectory(prefix=f"{name}-rate-") as folder:
        files = {mix: write_names(names, mix, Path(folder) / f"{mix}.txt") for mix in mixes}
        whois_port, http_port = free_port(), free_port()
        ours = start_serve(path, whois_port, http_port, live=args.live)
        port = http_port if kind == "http" else whois_port
        size = service.answer_size(port, names[:: max(1, len(names) // 200)])
        bare = start_bare(kind, size)
        floor = start_bare(service.floor[0], size) if service.floor else None
        try:
            print(
                f"{name.upper()}: store of {len(names):,} domains; load generator: one process, "
                f"{args.concurrency} {service.load}, {args.seconds:g} s per run, best of "
                f"{args.rounds}; answers {size:,} bytes on average; load average "
                f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
                flush=True,
            )
            for mix in mixes:
                run_load(kind, port, files[mix], args.warmup, args.concurrency)
                run_load(kind, bare.port, files[mix], args.warmup / 2, args.concurrency)
                if floor is not None:
                    run_load(kind, floor.port, files[mix], args.warmup / 2, args.concurrency)
                sides = [("bare", bare.port), ("ours", port)]
                if floor is not None:
                    sides.append(("floor", floor.port))
                best: dict[str, dict] = {}
                for _ in range(args.rounds):
                    for label, at in sides:
                        result = run_load(kind, at, files[mix], args.seconds, args.concurrency)
                        if label not in best or result["rate"] > best[label]["rate"]:
                            best[label] = result
                        time.sleep(1)
                ours_label = "interlink serve" + (" (live)" if args.live else "")
                print(line(f"{name} {mix:7} {ours_label}", best["ours"]))
                print(line(f"{name} {mix:7} {service.bare} ({size:,} B fixed)", best["bare"]))
                ratio = best["ours"]["rate"] / best["bare"]["rate"]
                verdict = "meets" if ratio >= 0.7 else "MISSES"
                if mix == "hot":
                    verdict = "diagnostic, cached answers only;"
                print(
                    f"{name} {mix:7} ratio {ratio:.2f} ({verdict} the target >= 0.70)", flush=True
                )
                if floor is not None and service.floor is not None:
                    floor_label = f"{name} {mix:7} {service.floor[1]} ({size:,} B fixed)"
                    print(line(floor_label, best["floor"]))
                    ratio = best["ours"]["rate"] / best["floor"]["rate"]
                    print(f"{name} {mix:7} ratio to it {ratio:.2f} (for information)", flush=True)
            resident, mapped = ours.memory_mb()
            print(
                f"{name} server resident memory: {resident:.0f} MB, of which {mapped:.0f} MB "
                "pages of the memory-mapped store file (the kernel's page cache)"
            )
        finally:
            ours.stop()
            bare.stop()
            if floor is not None:
                floor.stop()


# -- load generators ----------------------------------------------------------------------


def _summary(latencies: list[float], failures: int, misses: int, elapsed: float) -> dict[str, Any]:
    latencies.sort()
    count = len(latencies)

    def pick(q: float) -> float:
        return latencies[min(count - 1, int(q * count))] * 1000 if count else 0.0

    return {
        "answers": count,
        "failures": failures,
        "misses": misses,
        "rate": count / elapsed,
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
    }


def _load_names(path: str) -> list[bytes]:
    return Path(path).read_bytes().split()


class _HttpClient(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: one request at a time, Content-Length bodies."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.need = -1
        self.status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def request(self, target: bytes) -> asyncio.Future[tuple[int, bytes]]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.need = -1
        assert self.transport is not None
        self.transport.write(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            self.status = int(head[9:12])
            start = head.find(b"content-length:") + 15
            self.need = end + 4 + int(head[start : head.find(b"\r\n", start)])
        if len(self.buffer) >= self.need and self.waiter is not None:
            del self.buffer[: self.need]
            self.waiter.set_result((self.status, b""))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))


async def http_load(port: int, names: list[bytes], seconds: float, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    targets = itertools.cycle(b"/rdap/domain/" + name for name in names)
    latencies: list[float] = []
    failures = misses = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal failures, misses
        client: _HttpClient | None = None
        while time.perf_counter() < deadline:
            if client is None or client.transport is None or client.transport.is_closing():
                _, client = await loop.create_connection(_HttpClient, "127.0.0.1", port)
            started = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(client.request(next(targets)), 30)
            except (TimeoutError, OSError, ConnectionError):
                failures += 1
                client = None
                continue
            if status == 404:
                misses += 1
            elif status != 200:
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)
        if client is not None and client.transport is not None:
            client.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    print(json.dumps(_summary(latencies, failures, misses, time.perf_counter() - started)))


# -- bare servers -------------------------------------------------------------------------


class _BareWhois(asyncio.Protocol):
    """Reads one line, answers a fixed text, closes: the least a WHOIS server can do."""

    answer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if b"\n" in self.buffer:
            self.transport.write(self.answer)  # type: ignore[attr-defined]
            self.transport.close()


async def bare_whois(port: int, size: int) -> None:
    _BareWhois.answer = b"X" * (size - 2) + b"\r\n"
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_BareWhois, "127.0.0.1", port, backlog=2048)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()


def _uvicorn(app: Any, port: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )


def _fixed_json(size: int) -> bytes:
    """A JSON object of `size` bytes."""
    skeleton = json.dumps({"objectClassName": "domain", "padding": ""}, separators=(",", ":"))
    return json.dumps(
        {"objectClassName": "domain", "padding": "x" * (size - len(skeleton))},
        separators=(",", ":"),
    ).encode()


def bare_asgi(port: int, size: int) -> None:
    """A bare ASGI callable on uvicorn, no framework: the least an RDAP server on uvicorn does."""
    body = _fixed_json(size)
    headers = [
        (b"content-length", str(len(body)).encode()),
        (b"content-type", b"application/rdap+json"),
    ]

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    _uvicorn(app, port)


def bare_http(port: int, size: int) -> None:
    from fastapi import FastAPI
    from fastapi.responses import Response

    body = _fixed_json(size)
    app = FastAPI()

    @app.get("/rdap/domain/{name}")
    async def domain(name: str) -> Response:
        return Response(body, media_type="application/rdap+json")

    _uvicorn(app, port)


def main() -> None:
    parser = argparse.ArgumentParser(description="load generators and bare servers")
    parser.add_argument(
        "command", choices=["whois-load", "http-load", "bare-whois", "bare-http", "bare-asgi"]
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--names")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--size", type=int, default=1300)
    args = parser.parse_args()
    import uvloop

    if args.command == "whois-load":
        started = time.perf_counter()
        tally = whois_load(args.port, _load_names(args.names), args.seconds, args.concurrency)
        elapsed = time.perf_counter() - started
        print(json.dumps(_summary(tally.latencies, tally.failures, tally.misses, elapsed)))
    elif args.command == "http-load":
        uvloop.run(http_load(args.port, _load_names(args.names), args.seconds, args.concurrency))
    elif args.command == "bare-whois":
        uvloop.run(bare_whois(args.port, args.size))
    elif args.command == "bare-asgi":
        bare_asgi(args.port, args.size)
    else:
        bare_http(args.port, args.size)


if __name__ == "__main__":
    main()
