"""Build a synthetic, deterministic store of N domains (2 contacts each) for the benchmarks.

    python benchmarks/make_store.py --domains 1000000 --db sqlite:////tmp/store.db [--seed 7]
        [--own-tech 0.3]

Every domain has a registrant of its own and a technical contact: its own for 30% of the domains
(--own-tech), Interlink's house contact for the others (the product's default). See common.py.

How: the data set of benchmarks/common.py is written as an export file (the exchange format, one
record per line) and loaded with `domains.exchange.import_records`, the same path as
`interlink import` (every record validated, bulk insert, one audit event). The store must be new
or empty of these records: an existing store that already holds them refuses the import.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import OWN_TECH, Synthetic, write_export
from domains.exchange import import_records
from domains.settings import Settings
from domains.store import Store


def make_store(
    domains: int, url: str, seed: int = 7, *, own_tech: float = OWN_TECH, quiet: bool = False
) -> Store:
    """Create (migrate) the store at `url` and load the synthetic data set into it."""
    say = (lambda *_: None) if quiet else print
    with tempfile.TemporaryDirectory(prefix="interlink-make-store-") as folder:
        path = Path(folder) / f"synthetic-{domains}-{seed}.json"
        started = time.perf_counter()
        data = Synthetic(domains, seed, own_tech)
        write_export(data, path)
        say(
            f"generated {domains} domains, {data.sizes.contacts} contacts, "
            f"{data.sizes.accounts} accounts "
            f"({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        store = Store.open(
            settings=Settings(database_url=url, data_dir=Path(folder) / "data"),
        )
        started = time.perf_counter()
        report = import_records(store, path, actor="system:benchmark")
        if not report.written:
            store.close()
            problems = "\n  ".join(report.problems[:20])
            raise SystemExit(f"the import refused the data set:\n  {problems}")
        say(f"{report.summary()} ({time.perf_counter() - started:.1f} s)")
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, required=True, help="how many domains")
    parser.add_argument("--db", required=True, help="database URL, e.g. sqlite:////tmp/s.db")
    parser.add_argument("--seed", type=int, default=7, help="seed of the data set (default 7)")
    parser.add_argument(
        "--own-tech",
        type=float,
        default=OWN_TECH,
        help=f"share of domains with their own tech contact, the rest have the house contact "
        f"(default {OWN_TECH}; 1 gives 2 own contacts per domain)",
    )
    args = parser.parse_args()
    make_store(args.domains, args.db, args.seed, own_tech=args.own_tech).close()


if __name__ == "__main__":
    main()
