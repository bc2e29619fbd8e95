"""How the staff app feels on a large store: first screen, keystroke to rows, memory.

    python benchmarks/tui_latency.py [--db PATH] [--domains 1000000] [--keystrokes 50]

Without --db it uses the synthetic store of 1,000,000 domains kept between runs in
$INTERLINK_BENCH_DIR (default ~/.cache/interlink-bench/store-1000000.db), building it first with
benchmarks/make_store.py if it is missing (that takes many minutes, once).

The app runs headless (App.run_test, 80x24) in this process, driven with real key presses:

- time to first screen: from opening the store and starting the app until the Domains table
  holds its first page of rows (target < 1 s);
- keystroke to rows: a key typed in the search box until the table holds that query's result
  set (median and p95 over the keystrokes; target < 100 ms). The words typed are prefixes of
  names in the store (ASCII and IDN, by U-label), account numbers and people's names, one
  character at a time, from one to five characters: each keystroke is a new search;
- resident memory: VmRSS (and VmHWM, the peak) of this process at the end (target < 300 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python benchmarks/tui_latency.py` from anywhere
    sys.path.insert(0, str(ROOT))

started_imports = time.perf_counter()
from textual.widgets import DataTable  # noqa: E402

from benchmarks.bench_store import ensure_store, store_path  # noqa: E402
from domains.settings import Settings  # noqa: E402
from domains.store import Store  # noqa: E402
from tui.app import create_app  # noqa: E402
from tui.context import AppContext  # noqa: E402
from tui.demo_staff import DEFAULT_LOGIN, seed_demo_staff  # noqa: E402
from tui.screens.domains import DomainsScreen  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - started_imports
TARGET_FIRST_S = 1.0
TARGET_KEY_MS = 100.0
TARGET_RSS_MB = 300.0
WORD_LENGTH = 5


def words_to_type(path: Path, count: int, seed: int = 20261127) -> list[str]:
    """Prefixes staff type: domain names (A- and U-labels), account numbers, people's names."""
    rng = random.Random(seed)
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        top = db.execute("SELECT max(id) FROM domain").fetchone()[0]
        ascii_names, idn_names = [], []
        while len(ascii_names) < count or len(idn_names) < max(1, count // 10):
            row = db.execute(
                "SELECT name, unicode_name FROM domain WHERE id >= ? ORDER BY id LIMIT 1",
                (rng.randrange(1, top + 1),),
            ).fetchone()
            if row is None:
                continue
            name, unicode_name = row
            (idn_names if name != unicode_name else ascii_names).append(unicode_name)
        accounts = [
            number
            for (number,) in db.execute(
                "SELECT number FROM account WHERE id IN (?, ?)",
                (rng.randrange(1, top // 4), rng.randrange(1, top // 4)),
            )
        ]
        people = [
            name
            for (name,) in db.execute(
                "SELECT name FROM contact WHERE id IN (?, ?) AND NOT is_house",
                (rng.randrange(2, top), rng.randrange(2, top)),
            )
        ]
    words = [*ascii_names[: count - 5], idn_names[0], *accounts[:2], *people[:2]]
    rng.shuffle(words)
    return [w[:WORD_LENGTH] for w in words[:count]]


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def memory_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


async def until(condition, limit: float = 30.0) -> None:
    """Let the app run until `condition()` holds (checked every millisecond)."""
    deadline = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit("the app did not answer within 30 s")
        await asyncio.sleep(0.001)


async def measure(path: Path, words: list[str]) -> tuple[float, float, list[float], int]:
    """(seconds to the first screen, of which opening the store, keystroke-to-rows latencies
    in ms, rows of the first page)."""
    started = time.perf_counter()
    settings = Settings(
        database_url=f"sqlite:///{path}",
        data_dir=Path(tempfile.mkdtemp(prefix="interlink-tui-bench-")),
    )
    store = Store.open(settings=settings)
    store_open = time.perf_counter() - started
    app = create_app(AppContext(store=store, staff=store.staff.active(DEFAULT_LOGIN)))
    latencies: list[float] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: isinstance(app.screen, DomainsScreen))
        screen = app.screen
        table = screen.query_one("#domains", DataTable)
        await until(lambda: table.row_count > 0)
        first_screen = time.perf_counter() - started
        first_rows = table.row_count

        # When the rows of each search are in the table (the latest search only).
        shown: dict[int, float] = {}
        show_first_page = screen.show_first_page

        def recording(generation, page) -> None:
            show_first_page(generation, page)
            if generation == screen.generation:
                shown[generation] = time.perf_counter()

        screen.show_first_page = recording  # type: ignore[method-assign]
        await pilot.pause()
        for word in words:
            for char in word:
                pressed = time.perf_counter()
                await pilot.press(char)
                generation = screen.generation
                await until(lambda g=generation: g in shown)
                latencies.append((shown[generation] - pressed) * 1000)
            await pilot.press("ctrl+a", "ctrl+k")  # clear the box (not timed)
            generation = screen.generation
            await until(lambda g=generation: g in shown)
    store.close()
    return first_screen, store_open, latencies, first_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=1_000_000, help="size of the store")
    parser.add_argument("--db", type=Path, help="SQLite file of the store (default: cached)")
    parser.add_argument("--keystrokes", type=int, default=50, help="keystrokes to time")
    args = parser.parse_args()
    path = ensure_store(args.domains, args.db or store_path(args.domains))
    with contextlib.closing(Store.open(f"sqlite:///{path}")) as store:
        if not store.staff.members():  # the staff app acts as a member of staff: the demo's
            seed_demo_staff(store)
    words = words_to_type(path, math.ceil(args.keystrokes / WORD_LENGTH))
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        domains = db.execute("SELECT count(*) FROM domain").fetchone()[0]

    first_screen, store_open, latencies, first_rows = asyncio.run(measure(path, words))
    latencies = latencies[: args.keystrokes]
    rss, peak = memory_mb()
    median, p95 = statistics.median(latencies), percentile(latencies, 95)

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    print(f"store: {path} ({domains:,} domains); imports {IMPORT_SECONDS:.2f} s (not counted)")
    print(f"typed: {' '.join(words)}")
    print(
        f"time to first screen: {first_screen:.3f} s (opening the store {store_open:.3f} s, "
        f"the app to {first_rows} rows {first_screen - store_open:.3f} s) "
        f"- target < {TARGET_FIRST_S:.0f} s: {verdict(first_screen < TARGET_FIRST_S)}"
    )
    print(
        f"keystroke to rows: median {median:.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms "
        f"over {len(latencies)} keystrokes - target < {TARGET_KEY_MS:.0f} ms: "
        f"{verdict(p95 < TARGET_KEY_MS)}"
    )
    print(
        f"resident memory: {rss:.0f} MB (peak {peak:.0f} MB) "
        f"- target < {TARGET_RSS_MB:.0f} MB: {verdict(peak < TARGET_RSS_MB)}"
    )


if __name__ == "__main__":
    main()
