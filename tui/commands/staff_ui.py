"""`interlink tui`: the staff app on the store from settings."""

from __future__ import annotations

import typer

from tui.app import create_app
from tui.commands.common import opened_store, staff_actor, user_errors
from tui.context import AppContext, PublicWhois


def tui_command(
    user: str = typer.Option(None, "--user", help="Staff name for the audit trail."),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
    whois_host: str = typer.Option("127.0.0.1", "--whois-host", help="Public WHOIS host."),
    whois_port: int = typer.Option(4343, "--whois-port", help="Its port."),
) -> None:
    """Open the support staff's terminal UI."""
    with user_errors(), opened_store(database_url) as store:
        context = AppContext(
            store=store, actor=staff_actor(user), whois=PublicWhois(whois_host, whois_port)
        )
        create_app(context).run()
