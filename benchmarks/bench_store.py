"""The synthetic store the RDDS and staff-app benchmarks share, built once and kept between runs.

It is kept in $INTERLINK_BENCH_DIR (default ~/.cache/interlink-bench) as store-N.db, N the number
of domains, and built with benchmarks/make_store.py when it is missing (many minutes, once).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = Path(os.environ.get("INTERLINK_BENCH_DIR", Path.home() / ".cache" / "interlink-bench"))


def store_path(domains: int) -> Path:
    """Where the synthetic store of `domains` domains is kept between runs."""
    return CACHE_DIR / f"store-{domains}.db"


def ensure_store(domains: int, path: Path | None = None) -> Path:
    """The synthetic store at `path` (default: the kept one), built once with make_store.py into
    a .partial file that is renamed when complete; reused when present."""
    path = path or store_path(domains)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for stale in path.parent.glob(partial.name + "*"):
        stale.unlink()
    print(f"building a store of {domains} domains in {path} (once; it is reused)", flush=True)
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "make_store.py"),
            "--domains",
            str(domains),
            "--db",
            f"sqlite:///{partial}",
        ],
        check=True,
    )
    with contextlib.closing(sqlite3.connect(partial)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=WAL")
    partial.rename(path)
    for leftover in path.parent.glob(partial.name + "-*"):
        leftover.unlink()
    return path
