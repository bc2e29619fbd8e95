"""`interlink tui`: the staff app on the store from settings."""

from __future__ import annotations

import typer

from domains.identity import identify
from tui.app import create_app
from tui.commands.common import opened_store, user_errors
from tui.context import AppContext, PublicWhois


def tui_command(
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
    whois_host: str = typer.Option("127.0.0.1", "--whois-host", help="Public WHOIS host."),
    whois_port: int = typer.Option(4343, "--whois-port", help="Its port."),
) -> None:
    """Open the support staff's terminal UI, as the member of staff the system says you are
    (your login; on PostgreSQL, your database user)."""
    with user_errors(), opened_store(database_url) as store:
        # Not a member of staff, or a disabled one: one line, and the app never starts.
        staff = identify(store)
        context = AppContext(store=store, staff=staff, whois=PublicWhois(whois_host, whois_port))
        create_app(context).run()
