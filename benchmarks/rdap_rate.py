"""RDAP answers per second of `interlink serve`, against a bare FastAPI endpoint, in one run.

    python benchmarks/rdap_rate.py [--domains 1000000] [--seconds 10] [--concurrency 32]

The store of 1,000,000 synthetic domains is built once with benchmarks/make_store.py and reused.
The server is the real `serve` command (RDAP under /rdap beside the portal, one uvicorn server;
rate limits checked on every request but wide open); the baseline is a bare FastAPI endpoint on
uvicorn (uvloop, httptools, no access log) at the same path, answering a fixed JSON body of the
same size as our average answer. The load generator is a separate process on loopback keeping
`concurrency` HTTP/1.1 keep-alive connections busy, as RDAP clients do.

The query mixes (uniform, zipf, hot), the answers rendered ahead before measuring and
`--live`: see benchmarks/rdds_load.py.

Each line reports answers per second, p50 and p99 latency; the ratio is ours / bare (target
>= 0.70, architecture §10). Runs alternate bare / ours; each side keeps its best of the rounds.

Our server answers a domain whose answer is ready at once from its pure ASGI guard, in front of
the FastAPI routing (publishers/rdap_app.py), so it can beat the bare FastAPI endpoint. For
information, each mix is therefore also measured against a barer baseline: an ASGI callable on
the same uvicorn, no framework at all, returning the same fixed body (`ratio to it`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.rdds_load import Service, benchmark


def answer_size(port: int, names: list[str]) -> int:
    """The average size of our RDAP answers over a sample of names."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        sizes = [len(client.get(f"/rdap/domain/{name}").content) for name in names]
    return round(sum(sizes) / len(sizes))


def main() -> None:
    benchmark(
        Service(
            name="rdap",
            kind="http",
            load="keep-alive connections",
            bare="bare FastAPI",
            answer_size=answer_size,
            floor=("asgi", "bare ASGI, no framework"),
        ),
        __doc__.split("\n\n")[0],
    )


if __name__ == "__main__":
    main()
