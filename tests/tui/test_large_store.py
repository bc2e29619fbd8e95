"""The Domains screen on 100,000 domains: pages fetched as you scroll; filtering; the end.

The store is built once per test session straight with SQLAlchemy Core (executemany of generated
rows: accounts, one registrant contact per account, domains with their two roles), which takes
seconds where the full import path (benchmarks/make_store.py) takes minutes.

Textual's DataTable slows down as it grows, so the screen keeps a window of at most WINDOW rows
in it: one test pages through the first 2,100 rows and then to the end of a filtered view, the
other scrolls to the very last of the 100,000 domains and back up.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import idna
import pytest
from sqlalchemy import func, insert, select

from domains.models import Account, Contact, Domain, DomainContact
from domains.store import Store, search_key
from tests.support.pilot import demo_settings, make_app, wait_for
from tests.support.staff import seed_staff
from tui.screens.domains import DomainsScreen


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


DOMAINS = 100_000
PAGE = 100
BATCH = 20_000
WORDS = words(
    "shop web cloud data garden bakery studio design travel photo music books coffee wine "
    "bike sport yoga dental legal tax home build auto pet kids fashion art craft farm green "
    "solar tech soft net media food fresh blue red north south city local smart quick best "
    "alpha nova prime first star sun moon sea river lake hill forest stone iron gold silver"
)
IDN_WORDS = words("bücher münchen köln grün straße café crème smörgås båt kraków łódź zürich")
TLDS = ("com", "com", "com", "net", "org", "de", "de", "co.uk", "fr", "nl", "se", "eu")
FIRST = words("Anna Ben Clara David Emma Felix Grace Hugo Ines Jonas Karin Lars Maria Niels")
LAST = words("Smith Jones Taylor Brown Müller Schmidt Dubois Martin Jansen Bakker Nilsson")
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def domain_name(rng: random.Random, i: int) -> tuple[str, str]:
    """(A-label, U-label) of the i-th domain: words and the index, about 5% IDNs."""
    if rng.random() < 0.05:
        unicode_name = f"{rng.choice(IDN_WORDS)}-{i}.{rng.choice(('de', 'fr', 'se', 'eu'))}"
        return idna.encode(unicode_name, uts46=True).decode("ascii"), unicode_name
    name = f"{rng.choice(WORDS)}{rng.choice(('', '-'))}{rng.choice(WORDS)}{i}.{rng.choice(TLDS)}"
    return name, name


def build_store(database: Path, domains: int, seed: int = 7) -> None:
    """A migrated store of `domains` domains: four per account, the account's person as
    registrant, the house contact as tech."""
    store = Store.open(settings=demo_settings(database, database.parent / "data"))
    rng = random.Random(seed)
    accounts = max(1, domains // 4)
    try:
        house = store.house_contact().id
        with store.engine.begin() as conn:
            rows = []
            for i in range(accounts):
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                local = name.lower().replace(" ", ".").encode("ascii", "ignore").decode()
                rows.append(
                    {
                        "id": i + 1,
                        "number": f"A-{100000 + i}",
                        "name": name,
                        "email": f"{local}{i}@example.com",
                        "street": [f"{i % 200 + 1} High Street"],
                        "city": "Bristol",
                        "postal_code": "BS1 4RR",
                        "country": "GB",
                        "created_at": EPOCH,
                        "updated_at": EPOCH,
                    }
                )
            conn.execute(insert(Account), rows)
            contacts = [
                {
                    **{k: a[k] for k in ("name", "email", "street", "city", "postal_code")},
                    "id": house + 1 + a["id"],
                    "handle": f"ILT{a['id']}",
                    "kind": "person",
                    "country": "GB",
                    "voice": f"+44.117496{a['id'] % 10000:04d}",
                    "consent_fields": [],
                    "account_id": a["id"],
                    "is_house": False,
                    "name_key": search_key(a["name"]),
                    "email_key": search_key(a["email"]),
                    "created_at": EPOCH,
                    "updated_at": EPOCH,
                }
                for a in rows
            ]
            conn.execute(insert(Contact), contacts)
            rows, links = [], []
            for i in range(domains):
                name, unicode_name = domain_name(rng, i)
                account = (i * 7919) % accounts + 1
                created = EPOCH - timedelta(days=i % 4000, seconds=i)
                rows.append(
                    {
                        "id": i + 1,
                        "name": name,
                        "unicode_name": unicode_name,
                        "tld": name.rsplit(".", 1)[1],
                        "account_id": account,
                        "roid": f"D{1000000 + i}-TEST",
                        "statuses": ["ok"],
                        "nameservers": ["ns1.interlink.example.net", "ns2.interlink.example.net"],
                        "dnssec": False,
                        "created_at": created,
                        "expires_at": created + timedelta(days=730),
                        "updated_at": created,
                    }
                )
                links.append(
                    {"domain_id": i + 1, "role": "registrant", "contact_id": house + 1 + account}
                )
                links.append({"domain_id": i + 1, "role": "tech", "contact_id": house})
                if len(rows) >= BATCH:
                    conn.execute(insert(Domain), rows)
                    conn.execute(insert(DomainContact), links)
                    rows, links = [], []
            if rows:
                conn.execute(insert(Domain), rows)
                conn.execute(insert(DomainContact), links)
        seed_staff(store)  # the members of staff the app acts as
    finally:
        store.close()


@pytest.fixture(scope="session")
def large_store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 100,000-domain store, built once per test session."""
    database = tmp_path_factory.mktemp("tui-large") / f"store-{DOMAINS}.db"
    started = time.perf_counter()
    build_store(database, DOMAINS)
    seconds = time.perf_counter() - started
    assert seconds < 60, f"building the large store took {seconds:.0f} s"
    return database


@pytest.fixture
def large_store(large_store_file: Path) -> Iterator[Store]:
    """The large store (read only in these tests)."""
    store = Store.open(settings=demo_settings(large_store_file, large_store_file.parent / "data"))
    try:
        yield store
    finally:
        store.close()


class CountingStore:
    """Wraps Store.search to record every page the screen asks for."""

    def __init__(self, store: Store) -> None:
        self.calls: list[tuple[str, str | None, int]] = []
        self._search = store.search

        def search(query, *, kind=None, cursor=None, limit=50):
            self.calls.append((query, cursor, limit))
            return self._search(query, kind=kind, cursor=cursor, limit=limit)

        store.search = search  # type: ignore[method-assign]


def row_names(table) -> list[str]:
    """The A-label of every loaded row (from the row keys)."""
    return [str(row.key.value).split("#", 1)[0] for row in table.ordered_rows]


async def scroll(pilot, table, screen: DomainsScreen, pages: int | None = None) -> list[int]:
    """ctrl+end (to the last loaded row) until `pages` more pages are in, or all of them:
    the loaded row count before and after each key press."""
    loaded = [table.row_count]
    while screen.next_cursor is not None and (pages is None or len(loaded) <= pages):
        await pilot.press("ctrl+end")
        await wait_for(
            pilot,
            lambda n=loaded[-1]: table.row_count > n and not screen.loading_more,
            what=f"the page after row {loaded[-1]}",
        )
        loaded.append(table.row_count)
    return loaded


@pytest.mark.slow
async def test_pages_as_you_scroll_then_filter_and_scroll_to_the_end(large_store):
    prefix = "sun"
    with large_store.read() as session:
        total = session.execute(select(func.count()).select_from(Domain)).scalar_one()
        matching = list(
            session.execute(
                select(Domain.name).where(Domain.name.startswith(prefix)).order_by(Domain.name)
            ).scalars()
        )
    assert total == DOMAINS and 1000 < len(matching) < 5000
    counter = CountingStore(large_store)
    app = make_app(large_store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, DomainsScreen)
        table = screen.query_one("#domains")
        await wait_for(pilot, lambda: table.row_count == PAGE, what="the first page")
        assert screen.next_cursor is not None
        await pilot.press("down")  # into the table

        # The whole store: each step to the last loaded row brings exactly one more page.
        loaded = await scroll(pilot, table, screen, pages=20)
        assert loaded == [PAGE * n for n in range(1, 22)]
        assert len(counter.calls) == 21 and {c[2] for c in counter.calls} == {PAGE}
        names = row_names(table)
        assert len(set(names)) == len(names) == 21 * PAGE and names == sorted(names)
        assert screen.next_cursor is not None
        assert str(screen.query_one("#search-status").render()).endswith("(more below)")

        # Filter: only rows that start with the prefix, fetched page by page to the end.
        await pilot.press("slash", *prefix)
        await wait_for(
            pilot,
            lambda: (
                screen.query_text == prefix
                and table.row_count == PAGE
                and row_names(table) == matching[:PAGE]
            ),
            what="the filtered first page",
        )
        await pilot.press("down")  # into the table
        calls = len(counter.calls)
        loaded = await scroll(pilot, table, screen)
        assert loaded[-1] == len(matching)
        steps = [b - a for a, b in pairwise(loaded)]
        assert set(steps[:-1]) == {PAGE} and 0 < steps[-1] <= PAGE
        assert len(counter.calls) - calls == len(steps)
        assert row_names(table) == matching  # every match once, in order, nothing else
        assert screen.next_cursor is None
        status = str(screen.query_one("#search-status").render())
        assert status == f"domain search: {len(matching)} shown"
        # At the end, the end key fetches nothing more.
        await pilot.press("ctrl+end")
        await pilot.app.workers.wait_for_complete()
        assert table.row_count == len(matching) and table.cursor_row == len(matching) - 1


@pytest.mark.slow
async def test_scrolls_to_the_end_of_the_whole_store(large_store):
    """To the very last of 100,000 domains, page by page, the table holding a window only."""
    from tui.screens.domains import WINDOW

    page = 500  # the most one search call returns (domains.search.MAX_LIMIT)
    with large_store.read() as session:
        last = list(
            session.execute(select(Domain.name).order_by(Domain.name.desc()).limit(3)).scalars()
        )[::-1]
    counter = CountingStore(large_store)
    app = make_app(large_store, page_size=page)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one("#domains")
        await wait_for(pilot, lambda: table.row_count == page, what="the first page")
        await pilot.press("down")  # into the table
        largest = 0
        while screen.next_cursor is not None:
            before = screen.loaded
            await pilot.press("ctrl+end")
            await wait_for(
                pilot,
                lambda n=before: screen.loaded > n and not screen.loading_more,
                what=f"the page after {before} (window {screen.window_start}+"
                f"{table.row_count}, cursor {table.cursor_row})",
            )
            largest = max(largest, table.row_count)
        assert screen.loaded == DOMAINS
        assert len(counter.calls) == DOMAINS // page  # each page fetched once
        assert largest <= WINDOW < DOMAINS  # never the whole table
        await pilot.press("ctrl+end")
        await pilot.app.workers.wait_for_complete()
        assert row_names(table)[-3:] == last
        assert screen.window_start + table.cursor_row == DOMAINS - 1
        # Back up again: earlier rows come back into the window from what was fetched.
        for _ in range(3):
            await pilot.press("ctrl+home")
            await pilot.pause()
        assert screen.window_start + table.cursor_row < DOMAINS - WINDOW
        assert len(counter.calls) == DOMAINS // page  # nothing fetched twice
