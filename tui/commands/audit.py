"""`interlink audit access CONTACT`: who looked at a contact's private fields, when and why."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from domains.staff import Permission
from tui.commands.common import acting, console, opened_store, user_errors

app = typer.Typer(help="The trails: who looked at customer data.", no_args_is_help=True)

#: How an export (every contact at once) shows in a contact's trail.
EVERY_CONTACT = "every contact (export)"


@app.command("access")
def access_command(
    contact: str = typer.Argument(..., help="The contact's registry handle, e.g. ILC42."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first."),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Every look at the contact's private fields, newest first, with every export of the
    whole store (needs the support role)."""
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.VIEW).actor
        events = store.access_trail(actor, contact.strip(), limit)
    if not events:
        console.print(f"nobody has looked at {contact.strip()}'s private fields", highlight=False)
        return
    table = Table()
    for column in ("when (UTC)", "who", "why", "contact"):
        table.add_column(column, no_wrap=True)
    table.add_column("domain", overflow="fold")
    for event in events:
        table.add_row(
            event.at.isoformat(timespec="seconds"),
            Text(event.actor),
            Text(event.purpose),
            Text(event.contact or EVERY_CONTACT),
            Text(event.domain or "-"),
        )
    console.print(table)
