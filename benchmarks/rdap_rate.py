"""RDAP answers per second of `interlink serve`, against a bare FastAPI endpoint, in one run.

    python benchmarks/rdap_rate.py [--domains 1000000] [--seconds 10] [--concurrency 32]

The store of 1,000,000 synthetic domains is built once with benchmarks/make_store.py and reused.
The server is the real `serve` command (RDAP under /rdap beside the portal, one uvicorn server;
rate limits checked on every request but wide open); the baseline is a bare FastAPI endpoint on
uvicorn (uvloop, httptools, no access log) at the same path, answering a fixed JSON body of the
same size as our average answer. The load generator is a separate process on loopback keeping
`concurrency` HTTP/1.1 keep-alive connections busy, as RDAP clients do. Three query mixes:

- uniform: names drawn uniformly from all 1,000,000 domains, so nearly every answer is built
  from the store (SQL, policy view, rendering, JSON): the worst case;
- zipf: names drawn by a Zipf law (s = 1) over a random ranking of all domains, as real RDDS
  traffic goes; the checked answer cache serves the popular ones.
- hot: 1,000 names only, so every answer comes from the checked cache: a diagnostic of the
  server's own cost per query (routing, rate limit, freshness check), not a target mix.

Each line reports answers per second, p50 and p99 latency; the ratio is ours / bare (target
>= 0.70, DESIGN section 10). Runs alternate bare / ours; each side keeps its best of the rounds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.rdds_load import (
    domain_names,
    ensure_store,
    free_port,
    line,
    run_load,
    start_bare,
    start_serve,
    store_path,
    write_names,
)


def answer_size(port: int, names: list[str]) -> int:
    """The average size of our RDAP answers over a sample of names."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        sizes = [len(client.get(f"/rdap/domain/{name}").content) for name in names]
    return round(sum(sizes) / len(sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="SQLite file of the store (default: cached)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mix", choices=["uniform", "zipf", "hot", "all"], default="all")
    args = parser.parse_args()

    path = ensure_store(args.domains, args.db or store_path(args.domains))
    names = domain_names(path)
    mixes = ["uniform", "zipf", "hot"] if args.mix == "all" else [args.mix]
    with tempfile.TemporaryDirectory(prefix="rdap-rate-") as folder:
        files = {mix: write_names(names, mix, Path(folder) / f"{mix}.txt") for mix in mixes}
        http_port = free_port()
        ours = start_serve(path, free_port(), http_port)
        size = answer_size(http_port, names[:: max(1, len(names) // 200)])
        bare = start_bare("http", size)
        try:
            print(
                f"RDAP: store of {len(names):,} domains; load generator: one process, "
                f"{args.concurrency} keep-alive connections, {args.seconds:g} s per run, best of "
                f"{args.rounds}; answers {size:,} bytes on average; load average "
                f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
                flush=True,
            )
            for mix in mixes:
                run_load("http", http_port, files[mix], args.warmup, args.concurrency)
                run_load("http", bare.port, files[mix], args.warmup / 2, args.concurrency)
                best: dict[str, dict] = {}
                for _ in range(args.rounds):
                    for label, port in (("bare", bare.port), ("ours", http_port)):
                        result = run_load("http", port, files[mix], args.seconds, args.concurrency)
                        if label not in best or result["rate"] > best[label]["rate"]:
                            best[label] = result
                        time.sleep(1)
                print(line(f"rdap {mix:7} interlink serve", best["ours"]))
                print(line(f"rdap {mix:7} bare FastAPI ({size:,} B fixed)", best["bare"]))
                ratio = best["ours"]["rate"] / best["bare"]["rate"]
                verdict = "meets" if ratio >= 0.7 else "MISSES"
                if mix == "hot":
                    verdict = "diagnostic, cached answers only;"
                print(f"rdap {mix:7} ratio {ratio:.2f} ({verdict} the target >= 0.70)", flush=True)
            print(f"rdap server resident memory: {ours.rss_mb():.0f} MB")
        finally:
            ours.stop()
            bare.stop()


if __name__ == "__main__":
    main()
