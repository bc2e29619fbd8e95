"""Import rate against raw executemany into the same schema, measured in the same run.

    python benchmarks/import_rate.py [--domains 1000000] [--seed 7] [--own-tech 0.3] [--dir DIR]

1. The synthetic data set (benchmarks/common.py: N domains, each with 2 contacts: its own
   registrant, and its own technical contact for 30% of them (--own-tech), Interlink's house
   contact for the others; N/4 accounts) is written as an export file (not timed).
2. import: `domains.exchange.import_records` loads the file into a fresh migrated SQLite store:
   reading, every record validated with domains.validation, references resolved, bulk insert,
   the audit event, the commit. Timed from the call to its return.
3. raw executemany: exactly the rows the import wrote (read back from its store beforehand, not
   timed) are inserted with sqlite3's `executemany` into another fresh migrated store: no
   validation, no conversion, one transaction, the same connection settings as the store's engine
   (WAL, synchronous=NORMAL, foreign keys on), indexes in place. Timed from BEGIN to COMMIT.
4. For transparency, a second raw run that, like the import, drops the secondary indexes of the
   tables it fills and builds them after the rows are in; and the same rows through SQLAlchemy
   Core `insert()` executemany (Python values through the models' column types, no validation).

The ratio is import rate / raw rate (target >= 0.5).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from benchmarks.common import OWN_TECH, Synthetic, write_export
from domains.db import make_engine
from domains.exchange import import_records
from domains.exchange.format import COLUMNS
from domains.models import Account, Contact, Domain, DomainContact
from domains.settings import Settings
from domains.store import Store

TABLES = ("account", "contact", "domain", "domain_contact")


def fresh_store(path: Path) -> Store:
    """A migrated, empty store (it holds only the house contact) in a new SQLite file."""
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    return Store.open(settings=Settings(database_url=f"sqlite:///{path}", data_dir=path.parent))


def connect(path: Path) -> sqlite3.Connection:
    """A sqlite3 connection with the settings of the store's engine (domains/db.py)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def written_rows(path: Path) -> dict[str, list[tuple]]:
    """The rows the import wrote, in id order, as stored (the house contact excluded)."""
    conn = connect(path)
    out = {}
    for table in TABLES:
        columns = ", ".join(COLUMNS[table])
        where = " WHERE NOT is_house" if table == "contact" else ""
        order = "domain_id, role" if table == "domain_contact" else "id"
        out[table] = conn.execute(
            f"SELECT {columns} FROM {table}{where} ORDER BY {order}"
        ).fetchall()
    conn.close()
    return out


def raw_insert(path: Path, rows: dict[str, list[tuple]], *, defer_indexes: bool) -> float:
    """executemany of the rows into the store at `path`; seconds from BEGIN to COMMIT."""
    conn = connect(path)
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    rebuild = []
    if defer_indexes:
        for table in TABLES:
            for name, sql in conn.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                (table,),
            ).fetchall():
                conn.execute(f'DROP INDEX "{name}"')
                rebuild.append(sql)
    for table in TABLES:
        columns = COLUMNS[table]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        conn.executemany(sql, rows[table])
    for sql in rebuild:
        conn.execute(sql)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def core_insert(source: Path, target: Path) -> tuple[int, float]:
    """The same rows through SQLAlchemy Core: insert() executemany of Python values (no
    validation), into the store at `target`; (domains, seconds from BEGIN to COMMIT)."""
    tables = {m.__table__.name: m.__table__ for m in (Account, Contact, Domain, DomainContact)}
    reader = make_engine(f"sqlite:///{source}")
    rows: dict[str, list[dict]] = {}
    with reader.connect() as conn:
        for name in TABLES:
            table = tables[name]
            stmt = select(table)
            if name == "contact":
                stmt = stmt.where(table.c.is_house.is_(False))
            rows[name] = [dict(r._mapping) for r in conn.execute(stmt)]
    reader.dispose()
    engine = make_engine(f"sqlite:///{target}")
    started = time.perf_counter()
    with engine.begin() as conn:
        for name in TABLES:
            conn.execute(tables[name].insert(), rows[name])
    seconds = time.perf_counter() - started
    engine.dispose()
    return len(rows["domain"]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=1_000_000, help="default 1000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--own-tech",
        type=float,
        default=OWN_TECH,
        help=f"share of domains with their own tech contact (default {OWN_TECH}; 1 = 2 own "
        "contacts per domain)",
    )
    parser.add_argument("--dir", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the files afterwards")
    parser.add_argument(
        "--no-deferred-baseline", action="store_true", help="skip the informative second raw run"
    )
    parser.add_argument(
        "--no-core-baseline",
        action="store_true",
        help="skip the informative run of the same rows through SQLAlchemy Core insert()",
    )
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="interlink-import-rate-"))
    folder.mkdir(parents=True, exist_ok=True)
    n = args.domains
    try:
        source = folder / f"synthetic-{n}.json"
        started = time.perf_counter()
        data = Synthetic(n, args.seed, args.own_tech)
        write_export(data, source)
        print(
            f"data set: {n} domains, {data.sizes.contacts} contacts, {data.sizes.accounts} "
            f"accounts, {source.stat().st_size / 1e6:.0f} MB, written in "
            f"{time.perf_counter() - started:.1f} s"
        )

        store = fresh_store(folder / "import.db")
        started = time.perf_counter()
        report = import_records(store, source, actor="system:benchmark")
        seconds = time.perf_counter() - started
        store.close()
        if not report.written:
            raise SystemExit("import refused the data set: " + "; ".join(report.problems[:5]))
        rate = report.domains / seconds
        print(
            f"import: {report.domains} domains, {report.contacts} contacts in {seconds:.1f} s "
            f"= {rate:.0f} domains/s"
        )
        print(
            "  of which "
            + ", ".join(f"{phase} {spent:.1f} s" for phase, spent in report.timings.items())
        )

        rows = written_rows(folder / "import.db")
        raw = fresh_store(folder / "raw.db")
        raw.close()
        raw_seconds = raw_insert(folder / "raw.db", rows, defer_indexes=False)
        raw_rate = len(rows["domain"]) / raw_seconds
        print(
            f"raw executemany: {len(rows['domain'])} domains, {len(rows['contact'])} contacts "
            f"in {raw_seconds:.1f} s = {raw_rate:.0f} domains/s"
        )
        print(f"ratio: {rate / raw_rate:.2f} (target >= 0.5)")
        if not args.no_deferred_baseline:
            deferred = fresh_store(folder / "raw-deferred.db")
            deferred.close()
            deferred_seconds = raw_insert(folder / "raw-deferred.db", rows, defer_indexes=True)
            deferred_rate = len(rows["domain"]) / deferred_seconds
            print(
                f"raw executemany, indexes built after the rows (as the import does): "
                f"{deferred_seconds:.1f} s = {deferred_rate:.0f} domains/s; "
                f"ratio {rate / deferred_rate:.2f} (for information)"
            )
        if not args.no_core_baseline:
            del rows
            core = fresh_store(folder / "core.db")
            core.close()
            domains, core_seconds = core_insert(folder / "import.db", folder / "core.db")
            core_rate = domains / core_seconds
            print(
                f"Core insert() executemany: {core_seconds:.1f} s = {core_rate:.0f} domains/s; "
                f"ratio {rate / core_rate:.2f} (for information)"
            )
    finally:
        if not args.keep and args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
