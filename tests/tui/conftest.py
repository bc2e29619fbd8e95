"""Fixtures of the staff app tests: a demo store and the app wired to it.

The demo store is `fixtures/demo.json` imported once per session into a SQLite file; each test
gets its own copy. Live look-ups are pointed at a closed port on loopback with a short timeout,
so a screen that asks the DNS or the public WHOIS fails fast instead of reaching the Internet.
The waits and keys the tests drive the app with are in `tests/support/pilot.py`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from domains.exchange import import_records
from domains.store import Store
from tests.support.environment import DEMO_FILE
from tests.support.pilot import demo_settings, make_app
from tests.support.staff import seed_staff
from tui.app import InterlinkApp
from tui.demo_staff import seed_demo_staff


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo staff and data set, imported once into a migrated SQLite store."""
    folder = tmp_path_factory.mktemp("tui-demo")
    database = folder / "demo.db"
    store = Store.open(settings=demo_settings(database, folder / "data"))
    # The demo's own staff (ann, a supervisor, among them), as `interlink demo` adds them; then
    # the other names the tests act as.
    seed_demo_staff(store)
    seed_staff(store)
    try:
        report = import_records(store, DEMO_FILE, actor="system:demo")
        assert report.written, report.problems
    finally:
        store.close()
    return database


@pytest.fixture
def demo_store(demo_template: Path, tmp_path: Path) -> Iterator[Store]:
    """A copy of the demo store for one test."""
    database = tmp_path / "demo.db"
    shutil.copyfile(demo_template, database)
    store = Store.open(settings=demo_settings(database, tmp_path / "data"))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def app(demo_store: Store) -> InterlinkApp:
    """The staff app on the demo store, as staff:ann."""
    return make_app(demo_store)
