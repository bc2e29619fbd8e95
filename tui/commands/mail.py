"""`interlink mail`: the mail that comes back to Interlink (unsubscribe requests)."""

from __future__ import annotations

from pathlib import Path

import typer

from domains.staff import Permission
from domains.unsubscribe import Unsubscribes
from tui.commands.common import acting, console, opened_store, user_errors

app = typer.Typer(help="Mail that comes back: unsubscribe requests.", no_args_is_help=True)


@app.command("unsubscribe-inbox")
def unsubscribe_inbox_command(
    path: Path = typer.Argument(
        ..., help="The unsubscribe mailbox: an mbox file or a Maildir folder."
    ),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
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
