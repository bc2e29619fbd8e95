"""Search latency per kind on a large store: p50 and p99 against the target p99 < 20 ms.

    python benchmarks/search_latency.py [--db URL | --domains N] [--queries 500] [--seed 7]

Without --db it uses the SQLite store of N (--domains, default 1,000,000) synthetic domains that
the benchmarks share (benchmarks/bench_store.py: $INTERLINK_BENCH_DIR, default
~/.cache/interlink-bench), built first with benchmarks/make_store.py if it does not exist (that
takes minutes, once).

Every kind of search the staff use (Store.search): a domain by A-label prefix, by U-label prefix
(IDN), a contact's e-mail prefix, the domain part of contacts' e-mail addresses (`@example.com`,
`@exa`: the synthetic addresses are under five mail domains, so each of these matches a fifth or
more of all contacts), a contact's name prefix, an account number prefix. The prefixes are taken
from records of the store (2 to 9 characters, so some match a handful of rows and some tens of
thousands). Each query is timed for its first page, and for a later page (the third, reached
through the cursors) when there is one. Times are Store.search calls, end to end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from benchmarks.bench_store import ensure_store
from domains.models import Account, Contact, Domain
from domains.settings import Settings
from domains.store import Store

TARGET_MS = 20.0


def open_store(url: str | None, domains: int = 1_000_000) -> Store:
    """The store at `url`, or the shared synthetic store of `domains` domains (built if missing)."""
    if url is None:
        url = f"sqlite:///{ensure_store(domains)}"
    # The data directory is not used by searches: the store's own default is fine.
    return Store.open(settings=Settings(database_url=url, data_dir=Path(tempfile.gettempdir())))


def sample(store: Store, column, count: int, rng: random.Random, accept: Callable) -> list[str]:
    """Values of `column` from random rows (by id) that `accept` keeps."""
    table = column.table
    with store.read() as session:
        top = session.execute(select(func.max(table.c.id))).scalar() or 0
        values: list[str] = []
        tries = 0
        while len(values) < count and tries < count * 200 and top:
            tries += 1
            value = session.execute(
                select(column).where(table.c.id == rng.randint(1, top))
            ).scalar()
            if value is not None and accept(value):
                values.append(value)
    return values


def prefixes(values: list[str], rng: random.Random, shortest: int, longest: int) -> list[str]:
    out = []
    for value in values:
        cut = rng.randint(shortest, max(shortest, min(longest, len(value))))
        out.append(value[:cut])
    return out


def queries(store: Store, n: int, rng: random.Random) -> dict[str, tuple[str, list[str]]]:
    """{label: (search kind, prefixes)} for every kind of search."""

    def idn_prefix(values: list[str]) -> list[str]:
        out = []
        for value in values:
            first = next(i for i, ch in enumerate(value) if not ch.isascii())
            out.append(value[: rng.randint(first + 1, max(first + 1, value.index("-", first)))])
        return out

    domains = sample(store, Domain.name, n, rng, lambda v: not v.startswith("xn--"))
    idns = sample(store, Domain.unicode_name, n, rng, lambda v: not v.isascii() and "-" in v)
    emails = sample(store, Contact.email, n, rng, lambda v: True)
    names = sample(store, Contact.name, n, rng, lambda v: True)
    numbers = sample(store, Account.number, n, rng, lambda v: True)
    by_name = prefixes(domains, rng, 3, 9)
    by_idn = idn_prefix(idns)
    by_email = prefixes(emails, rng, 3, 9)
    by_person = prefixes(names, rng, 2, 9)
    by_number = prefixes(numbers, rng, 5, 8)
    # Drawn last, so the other kinds' queries stay those of earlier runs with the same seed:
    # from the bare @ (every contact) to a whole mail domain.
    mail_domains = [email.partition("@")[2] for email in emails]
    longest = max((len(d) for d in mail_domains), default=0)
    by_mail_domain = ["@" + p for p in prefixes(mail_domains, rng, 0, longest)]
    return {
        "domain (A-label prefix)": ("domain", by_name),
        "domain (U-label prefix)": ("domain", by_idn),
        "e-mail prefix": ("email", by_email),
        "e-mail domain (@prefix)": ("email", by_mail_domain),
        "name prefix": ("name", by_person),
        "account number prefix": ("account", by_number),
    }


def timed(call: Callable, *args, **kwargs) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return (time.perf_counter() - started) * 1000, result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(label: str, page: str, times: list[float], hits: list[int]) -> bool:
    if not times:
        print(f"{label:26s} {page:11s} no query had such a page")
        return True
    p50, p99 = percentile(times, 50), percentile(times, 99)
    ok = p99 < TARGET_MS
    print(
        f"{label:26s} {page:11s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  max {max(times):6.2f} ms"
        f"  ({len(times)} queries, {statistics.mean(hits):.0f} hits/page)  "
        f"{'ok' if ok else 'MISSES'} (target p99 < {TARGET_MS:.0f} ms)"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", help="store URL (default: the shared store of --domains synthetic domains)"
    )
    parser.add_argument(
        "--domains",
        type=int,
        default=1_000_000,
        help="size of the shared synthetic store when no --db is given (1,000,000)",
    )
    parser.add_argument("--queries", type=int, default=500, help="queries per kind (500)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, default=50, help="rows per page (50)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    store = open_store(args.db, args.domains)
    try:
        print(f"store: {store.engine.url.render_as_string()} ({store.count_domains()} domains)")
        plan = queries(store, args.queries, rng)
        for kind, texts in plan.values():  # warm the caches a little, untimed
            for text in texts[:10]:
                store.search(text, kind=kind, limit=args.limit)
        all_ok = True
        for label, (kind, texts) in plan.items():
            first, later, first_hits, later_hits = [], [], [], []
            for text in texts:
                ms, page = timed(store.search, text, kind=kind, limit=args.limit)
                first.append(ms)
                first_hits.append(len(page.hits))
                if page.next_cursor is None:
                    continue
                second = store.search(text, kind=kind, cursor=page.next_cursor, limit=args.limit)
                if second.next_cursor is None:
                    continue
                ms, third = timed(
                    store.search, text, kind=kind, cursor=second.next_cursor, limit=args.limit
                )
                later.append(ms)
                later_hits.append(len(third.hits))
            all_ok &= report(label, "first page", first, first_hits)
            all_ok &= report(label, "page 3", later, later_hits)
        print("all kinds meet the target" if all_ok else "some kinds miss the target")
    finally:
        store.close()


if __name__ == "__main__":
    main()
