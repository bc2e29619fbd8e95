"""WHOIS answers per second of `interlink serve`, against a bare asyncio server, in one run.

    python benchmarks/whois_rate.py [--domains 1000000] [--seconds 10] [--concurrency 32]

The store of 1,000,000 synthetic domains is built once with benchmarks/make_store.py and reused
(see benchmarks/bench_store.py for where it is kept). The server is the real `serve` command (WHOIS,
RDAP and portal in one process; rate limits checked on every query but wide open); the baseline
is a bare asyncio protocol on uvloop that reads one line and answers a fixed text of the same
size as our average answer. The load generator is a separate process on loopback, one TCP
connection per query as RFC 3912 has it.

The query mixes (uniform, zipf, hot), the answers rendered ahead before measuring and
`--live`: see benchmarks/rdds_load.py.

Each line reports answers per second, p50 and p99 latency; the ratio is ours / bare (target
>= 0.70, architecture §10). Runs alternate bare / ours; each side keeps its best of the rounds.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.rdds_load import Service, benchmark


def answer_size(port: int, names: list[str]) -> int:
    """The average size of our WHOIS answers over a sample of names."""
    sizes = []
    for name in names:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(name.encode() + b"\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        sizes.append(len(data))
    return round(sum(sizes) / len(sizes))


def main() -> None:
    benchmark(
        Service(
            name="whois",
            kind="whois",
            load="queries in flight",
            bare="bare asyncio",
            answer_size=answer_size,
        ),
        __doc__.split("\n\n")[0],
    )


if __name__ == "__main__":
    main()
