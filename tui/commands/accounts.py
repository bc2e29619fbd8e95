"""`interlink accounts ...`: staff record a customer's choice about marketing mail."""

from __future__ import annotations

import typer

from domains.marketing_choice import STAFF_CHANNELS, MarketingChoice, record_choice
from domains.staff import Permission
from tui.commands.common import acting, console, opened_store, user_errors

app = typer.Typer(
    help="Customer accounts: their choice about marketing mail.", no_args_is_help=True
)

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: settings).")
CHANNELS = "|".join(STAFF_CHANNELS)
VIA_OPTION = typer.Option(..., "--via", help=f"How the customer told us: {CHANNELS}.")


def _record(number: str, via: str, database_url: str | None, *, opt_out: bool) -> None:
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.RECORD_MARKETING_CHOICE).actor
        choice = record_choice(store, actor, number, opt_out=opt_out, via=via)
    console.print(_said(choice, via), highlight=False)


def _said(choice: MarketingChoice, via: str) -> str:
    if not choice.changed:
        state = "opted out of" if choice.opted_out else "receives"
        return f"account {choice.number} already {state} marketing mail: nothing changed"
    if choice.opted_out:
        at = choice.at.strftime("%Y-%m-%d %H:%M UTC") if choice.at else "-"
        return (
            f"account {choice.number} opted out of marketing mail on {at} by {choice.via}, "
            f"recorded by {choice.by}"
        )
    return f"account {choice.number} receives marketing mail again (opted in by {via.lower()})"


@app.command("opt-out")
def opt_out_command(
    account: str = typer.Argument(..., help="The account number, e.g. A-100007."),
    via: str = VIA_OPTION,
    database_url: str = DB_OPTION,
) -> None:
    """Record that the customer opted out of marketing mail (essential mail still goes out)."""
    _record(account, via, database_url, opt_out=True)


@app.command("opt-in")
def opt_in_command(
    account: str = typer.Argument(..., help="The account number, e.g. A-100007."),
    via: str = VIA_OPTION,
    database_url: str = DB_OPTION,
) -> None:
    """Record that the customer wants marketing mail again."""
    _record(account, via, database_url, opt_out=False)
