"""WHOIS and RDAP answers per second of `interlink serve` on SQLite and on PostgreSQL, in one run.

    python benchmarks/rdds_postgres.py [--domains 200000] [--seconds 10] [--pg-url URL]
        [--processes 2] [--quick]

The same store on both: the synthetic store of benchmarks/bench_store.py (SQLite, built once and
kept), copied into a PostgreSQL database of its own (benchmarks/pg_store.py, kept too), on the
server of `--pg-url` (default: INTERLINK_TEST_POSTGRES_URL, else the local one). Both get their
answers rendered ahead (`interlink publish`), then `interlink serve` runs on each, side by side,
and the load generators of benchmarks/rdds_load.py (their own processes) ask each the same names,
WHOIS and RDAP, uniform and zipf mixes (see rdds_load.py), after a warm-up; the runs alternate
SQLite / PostgreSQL and each keeps its best of `--rounds`.

Printed, one line each: answers per second, p50 and p99 of both and the ratio PostgreSQL / SQLite
(target >= 0.7 with one server process); then `--processes N` (default 2) against one process,
per backend and protocol, on the uniform mix (target: above); then, for information, the bare
psycopg point lookup of a published answer on the same database: one connection, synchronous,
and 8 AsyncConnections at once. `--quick`: a small store and short runs, a smoke test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_store import ensure_store, store_path
from benchmarks.pg_store import ensure_postgres_copy, server_url
from benchmarks.rdds_load import (
    Child,
    ServeFailed,
    domain_names,
    ensure_published,
    free_port,
    run_load,
    start_serve,
    write_names,
)

TARGET = 0.7
#: (as printed, the load generator's kind)
PROTOCOLS = (("WHOIS", "whois"), ("RDAP", "http"))
MIXES = ("uniform", "zipf")
ASYNC_CONNECTIONS = 8
LOOKUP = "SELECT whois, rdap FROM published_answer WHERE name = %s"


@dataclass(frozen=True)
class Backend:
    label: str  # "SQLite" or "PostgreSQL"
    database: Path | str  # the SQLite file, or the PostgreSQL URL


@dataclass
class Server:
    """`interlink serve` running over one backend."""

    child: Child
    ports: dict[str, int]  # by load generator kind


def serve(backend: Backend, processes: int) -> Server:
    whois_port, http_port = free_port(), free_port()
    child = start_serve(backend.database, whois_port, http_port, processes=processes)
    return Server(child, {"whois": whois_port, "http": http_port})


def rate(result: dict[str, Any]) -> str:
    return f"{result['rate']:,.0f}/s"


def figures(label: str, result: dict[str, Any]) -> str:
    text = f"{label} {rate(result)} p50 {result['p50_ms']:.1f} ms p99 {result['p99_ms']:.1f} ms"
    if result["failures"] or result["misses"]:
        text += f" ({result['failures']} failures, {result['misses']:,} not-found)"
    return text


@dataclass(frozen=True)
class Load:
    """How each measurement is run."""

    seconds: float
    warmup: float
    rounds: int
    concurrency: int

    def best(self, kind: str, ports: list[int], names: Path) -> list[dict[str, Any]]:
        """Each port's best run (by rate) of the rounds, the ports taking turns, after a warm-up."""
        for port in ports:
            run_load(kind, port, names, self.warmup, self.concurrency)
        best: list[dict[str, Any]] = [{} for _ in ports]
        for _ in range(self.rounds):
            for index, port in enumerate(ports):
                result = run_load(kind, port, names, self.seconds, self.concurrency)
                if not best[index] or result["rate"] > best[index]["rate"]:
                    best[index] = result
        return best


def side_by_side(
    backends: list[Backend], load: Load, files: dict[str, Path], say: Callable[[str], None]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """One server process per backend: each protocol and mix, SQLite | PostgreSQL | ratio."""
    servers = []
    try:
        for backend in backends:
            servers.append(serve(backend, 1))
        results = {}
        for protocol, kind in PROTOCOLS:
            for mix in MIXES:
                ports = [server.ports[kind] for server in servers]
                lite, pg = load.best(kind, ports, files[mix])
                ratio = pg["rate"] / lite["rate"] if lite["rate"] else 0.0
                verdict = "met" if ratio >= TARGET else "NOT met"
                say(
                    f"{protocol:5} {mix:8} {figures(backends[0].label, lite)} | "
                    f"{figures(backends[1].label, pg)} | ratio {ratio:.2f} "
                    f"(target >= {TARGET}): {verdict}"
                )
                results[(backends[0].label, protocol, mix)] = lite
                results[(backends[1].label, protocol, mix)] = pg
        return results
    finally:
        for server in servers:
            server.child.stop()


def more_processes(
    backends: list[Backend],
    processes: int,
    load: Load,
    names: Path,
    say: Callable[[str], None],
) -> None:
    """`--processes N` against one process, each backend and protocol, the uniform mix: both
    servers run at once and take turns, so both are measured under the same conditions."""
    for backend in backends:
        try:
            single = serve(backend, 1)
        except ServeFailed as failed:
            say(f"{backend.label}: `interlink serve` did not start ({failed}): not measured")
            continue
        try:
            try:
                server = serve(backend, processes)
            except ServeFailed as failed:
                for protocol, _ in PROTOCOLS:
                    say(
                        f"{protocol:5} uniform  {backend.label} processes={processes}: "
                        f"`interlink serve --processes {processes}` did not start ({failed}): "
                        "not measured"
                    )
                continue
            try:
                for protocol, kind in PROTOCOLS:
                    ports = [single.ports[kind], server.ports[kind]]
                    one, many = load.best(kind, ports, names)
                    verdict = "above" if many["rate"] > one["rate"] else "NOT above"
                    say(
                        f"{protocol:5} uniform  {backend.label} processes={processes} "
                        f"{rate(many)} p50 {many['p50_ms']:.1f} ms p99 {many['p99_ms']:.1f} ms "
                        f"vs processes=1 {rate(one)} (target: above): {verdict}"
                    )
            finally:
                server.child.stop()
        finally:
            single.child.stop()


def bare_sync(url: str, names: list[str], seconds: float) -> tuple[float, int]:
    """Point lookups of published answers on one connection, one after the other: (per second,
    how many found nothing)."""
    done = misses = 0
    with psycopg.connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            cursor.execute(LOOKUP, (names[done % len(names)],), prepare=True)
            misses += cursor.fetchone() is None
            done += 1
        return done / (time.perf_counter() - started), misses


async def bare_async(url: str, names: list[str], seconds: float) -> tuple[float, int]:
    """The same on ASYNC_CONNECTIONS AsyncConnections at once, each its own share of the names."""
    counts = [0] * ASYNC_CONNECTIONS
    misses = 0

    async def worker(index: int) -> None:
        nonlocal misses
        async with (
            await psycopg.AsyncConnection.connect(url, autocommit=True) as connection,
            connection.cursor() as cursor,
        ):
            await ready.wait()
            while time.perf_counter() < deadline:
                name = names[(index + counts[index] * ASYNC_CONNECTIONS) % len(names)]
                await cursor.execute(LOOKUP, (name,), prepare=True)
                misses += await cursor.fetchone() is None
                counts[index] += 1

    ready = asyncio.Event()
    deadline = float("inf")
    tasks = [asyncio.create_task(worker(index)) for index in range(ASYNC_CONNECTIONS)]
    await asyncio.sleep(0.5)  # the connections opened
    started = time.perf_counter()
    deadline = started + seconds
    ready.set()
    await asyncio.gather(*tasks)
    return sum(counts) / (time.perf_counter() - started), misses


def bare_lookups(url: str, names: list[str], seconds: float, say: Callable[[str], None]) -> None:
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    sync, missed = bare_sync(plain, names, seconds)
    concurrent, missed_too = asyncio.run(bare_async(plain, names, seconds))
    found = "" if not (missed or missed_too) else f" ({missed + missed_too:,} not found)"
    say(
        f"bare psycopg point lookup of a published answer, uniform names: one connection, sync "
        f"{sync:,.0f}/s; {ASYNC_CONNECTIONS} AsyncConnections {concurrent:,.0f}/s{found} "
        "(for information)"
    )


def say(text: str) -> None:
    print(text, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2, help="compared with 1 (default 2)")
    parser.add_argument(
        "--pg-url", help="PostgreSQL server (default: INTERLINK_TEST_POSTGRES_URL, else local)"
    )
    parser.add_argument(
        "--pg-database", help="database the store is copied into (default interlink_bench_rdds_N)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke test: 2,000 domains, runs of 1 s"
    )
    args = parser.parse_args()
    if args.quick:
        args.domains, args.seconds, args.warmup, args.rounds = 2000, 1.0, 0.5, 1

    one, five, fifteen = os.getloadavg()
    say(
        f"machine: {os.cpu_count()} CPUs, load average {one:.2f} {five:.2f} {fifteen:.2f} at "
        f"start; store of {args.domains:,} domains; load generator: one process, "
        f"{args.concurrency} queries in flight, {args.seconds:g} s per run after "
        f"{args.warmup:g} s of warm-up, best of {args.rounds}"
    )
    path = ensure_store(args.domains, store_path(args.domains))
    ensure_published(path)
    database = args.pg_database or f"interlink_bench_rdds_{args.domains}"
    url = ensure_postgres_copy(path, server_url(args.pg_url), database)
    ensure_published(url)
    backends = [Backend("SQLite", path), Backend("PostgreSQL", url)]
    load = Load(args.seconds, args.warmup, args.rounds, args.concurrency)
    names = domain_names(path)
    with tempfile.TemporaryDirectory(prefix="rdds-postgres-") as folder:
        files = {mix: write_names(names, mix, Path(folder) / f"{mix}.txt") for mix in MIXES}
        side_by_side(backends, load, files, say)
        if args.processes != 1:
            more_processes(backends, args.processes, load, files["uniform"], say)
        uniform = files["uniform"].read_text(encoding="ascii").split()
    bare_lookups(url, uniform, args.seconds, say)


if __name__ == "__main__":
    main()
