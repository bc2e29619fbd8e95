"""`interlink db ...`: schema migrations."""

from __future__ import annotations

import typer

from domains.db import current_revision, head_revision, make_engine, upgrade
from domains.settings import get_settings
from tui.commands.common import console, opened_store, user_errors

app = typer.Typer(help="Database schema: migrations.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Apply every pending migration and make sure the house contact exists."""
    url = database_url or get_settings().database_url
    with user_errors():
        engine = make_engine(url)
        before = current_revision(engine)
        upgrade(engine)
        engine.dispose()
        with opened_store(url):
            pass
    console.print(f"database at revision {head_revision()} (was {before or 'empty'})")
