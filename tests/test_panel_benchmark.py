"""benchmarks/panel_latency.py measures on a tiny store: sane numbers, the printed lines' shape."""

from __future__ import annotations

import math
import re
from pathlib import Path

from benchmarks.make_store import make_store
from benchmarks.panel_latency import TARGET_MS, run

NUMBER = r"\d+\.\d"
TIMES = (
    rf"p50 {NUMBER} ms, p99 {NUMBER} ms \(CPU p99 {NUMBER} ms\); "
    rf"bare query p50 {NUMBER} ms, p99 {NUMBER} ms; "
)
RATIO = rf"ratio {NUMBER}x"
VERDICT = rf"; target p99 < {TARGET_MS:.0f} ms: (met|MISSED)"
LINES = [
    rf"page GET /account \(50 domains\): {TIMES}{RATIO}{VERDICT}",
    rf"panel overview \(50 domains\): {TIMES}{RATIO}",
    rf"page GET /account/contacts/ILC\d+ \(registrant of 50 domains\): {TIMES}{RATIO}{VERDICT}",
    rf"panel contact \(50 domains held\): {TIMES}{RATIO}",
    r"garbage collection: (no full collection during the timed rounds|\d+ full collections "
    rf"during the timed rounds, longest {NUMBER} ms, total \d+ ms "
    r"\(each falls on the request then running\))",
    r"(both pages meet the target p99 < 100 ms|the target p99 < 100 ms is MISSED) "
    r"\(4 requests each\)",
]


def test_the_benchmark_measures_the_account_pages_against_the_bare_query(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    make_store(300, f"sqlite:///{path}", quiet=True).close()
    printed: list[str] = []

    results = run(path, 50, requests=4, warmup=1, say=lambda text, **_: printed.append(text))

    assert results.account.domains == 50
    timings = [
        results.page_overview,
        results.panel_overview,
        results.bare_overview,
        results.page_contact,
        results.panel_contact,
        results.bare_contact,
    ]
    for timing in timings:
        assert len(timing.times) == len(timing.cpu) == 4
        assert all(0 < ms < 60_000 and math.isfinite(ms) for ms in timing.times)
        assert all(0 <= ms < 60_000 for ms in timing.cpu)
        assert 0 < timing.p50 <= timing.p99 == max(timing.times)
    assert any(line.startswith("adding 50 domains to account BNCH-0050") for line in printed)
    assert printed[-8].startswith("store: ") and printed[-8].endswith(
        "(350 domains); account BNCH-0050"
    )
    assert printed[-7].startswith("machine: ")
    for pattern, line in zip(LINES, printed[-6:], strict=True):
        assert re.fullmatch(pattern, line), line
    assert results.met == (printed[-6].endswith(": met") and printed[-4].endswith(": met"))
    assert all(0 < ms < 60_000 for ms in results.full_collections)

    printed.clear()  # a later run reuses the account and its domains
    again = run(path, 50, requests=1, warmup=0, say=lambda text, **_: printed.append(text))
    assert not any(line.startswith("adding") for line in printed)
    assert again.account == results.account
