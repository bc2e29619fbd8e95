"""`interlink demo`: a fresh demo store from fixtures/demo.json, then the staff's view of it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from domains.settings import Settings, get_settings
from domains.store import Store
from domains.transfer import import_records
from tui.commands.common import console, user_errors

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def demo_store(directory: Path) -> Store:
    """A new store in `directory` holding the demo data set (any old demo store is replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "demo.db"
    for stale in directory.glob("demo.db*"):
        stale.unlink()
    settings = Settings(**{**get_settings().model_dump(), "database_url": f"sqlite:///{database}"})
    store = Store.open(settings=settings)
    import_records(store, FIXTURES / "demo.json", actor="system:demo")
    return store


def demo_command(
    directory: Path = typer.Option(
        None, "--dir", help="Where the demo store lives (default: the data directory's demo/)."
    ),
) -> None:
    """Make a fresh demo store and show what it holds."""
    with user_errors():
        store = demo_store(directory or get_settings().data_dir / "demo")
        table = Table(title=f"Demo store: {store.engine.url.database}")
        table.add_column("domain")
        table.add_column("account")
        for hit in store.search("", kind="domain", limit=20).hits:
            table.add_row(hit.unicode_name, hit.account_number)
        console.print(table)
        console.print(f"{store.count_domains()} domains in the demo store")
        store.close()
