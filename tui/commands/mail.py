"""`interlink mail ...`: mail that comes back (unsubscribes, bounces) and failing addresses."""

from __future__ import annotations

from pathlib import Path

import typer

from domains.address_failures import clear, read_bounces
from domains.staff import Permission
from domains.unsubscribe import Unsubscribes
from tui.commands.common import acting, console, err_console, opened_store, user_errors

app = typer.Typer(
    help="Mail that comes back: unsubscribe requests and bounces; failing addresses.",
    no_args_is_help=True,
)

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: settings).")


@app.command("unsubscribe-inbox")
def unsubscribe_inbox_command(
    path: Path = typer.Argument(
        ..., help="The unsubscribe mailbox: an mbox file or a Maildir folder."
    ),
    database_url: str = DB_OPTION,
) -> None:
    """Opt out of marketing mail the account of every unsubscribe mail in the mailbox: by the
    link's token in its subject or text, else by a From address that is exactly one account's
    (needs the supervisor role). Handled Maildir messages move to its unsubscribe-handled
    folder; an mbox is only read, so a second run counts its accounts as already out."""
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.HANDLE_RETURNED_MAIL).actor
        summary = Unsubscribes(store).handle_inbox(actor, path)
    console.print(
        f"opted out {summary.opted_out}, already out {summary.already_out}, "
        f"unmatched {summary.unmatched}",
        highlight=False,
    )


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
