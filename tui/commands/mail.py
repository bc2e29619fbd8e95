"""`interlink mail ...`: staff handle mail that came back (bounces) and failing addresses."""

from __future__ import annotations

from pathlib import Path

import typer

from domains.address_failures import clear, read_bounces
from domains.staff import Permission
from tui.commands.common import acting, console, err_console, opened_store, user_errors

app = typer.Typer(help="Mail that came back: bounces.", no_args_is_help=True)

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: settings).")


@app.command("bounces")
def bounces_command(
    path: Path = typer.Argument(..., help="The bounce drop: an mbox file or a Maildir folder."),
    database_url: str = DB_OPTION,
) -> None:
    """Read delivery reports (RFC 3464) and mark each address that failed for good as failing."""
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.HANDLE_RETURNED_MAIL).actor
        reading = read_bounces(store, actor, path)
    console.print(
        f"{reading.messages} message(s), {reading.reports} delivery report(s), "
        f"{reading.failed} failed recipient(s): {reading.recorded} address(es) newly marked "
        f"failing, {reading.failed - reading.recorded} already failing",
        highlight=False,
    )


@app.command("clear-failing")
def clear_failing_command(
    address: str = typer.Argument(..., help="The e-mail address that works again."),
    database_url: str = DB_OPTION,
) -> None:
    """Say that an address marked failing works again (its failures stay in the trail)."""
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.HANDLE_RETURNED_MAIL).actor
        cleared = clear(store, actor, address)
    if not cleared:
        err_console.print("[bold red]error:[/] that address is not marked failing")
        raise typer.Exit(1)
    console.print("the address is no longer marked failing", highlight=False)
