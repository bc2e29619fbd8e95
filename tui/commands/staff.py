"""`interlink staff ...`: admins keep the staff accounts and their roles from the shell."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table
from rich.text import Text

from domains.errors import FieldError, ValidationFailed
from domains.identity import system_login
from domains.staff import StaffView
from domains.vocabulary import StaffRole
from tui.commands.common import acting, console, opened_store, user_errors

app = typer.Typer(
    help="Staff accounts and their roles; who you are comes from the system.",
    no_args_is_help=True,
)

DB_OPTION = typer.Option(None, "--db", help="Database URL (default: settings).")
ROLES = ", ".join(StaffRole)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _roles(member: StaffView) -> str:
    return ", ".join(member.roles) or "-"


@app.command("add")
def add_command(
    login: str = typer.Argument(
        None, help="The member's system login (OS account, or PostgreSQL role)."
    ),
    name: str = typer.Option(None, "--name", help="The member's full name."),
    roles: list[str] = typer.Option(None, "--role", help=f"A role ({ROLES}); may be given again."),
    bootstrap: bool = typer.Option(
        False,
        "--bootstrap",
        help="Make whoever runs this the first admin; refused once any member of staff exists.",
    ),
    database_url: str = DB_OPTION,
) -> None:
    """Add a member of staff (needs the admin role), or with --bootstrap the first admin."""
    with user_errors():
        if bootstrap:
            if login is not None or roles:
                raise ValidationFailed(
                    FieldError(
                        "login",
                        "--bootstrap takes no LOGIN and no --role: the first admin is whoever "
                        "runs it",
                    )
                )
            with opened_store(database_url) as store:
                me = system_login(store)
                member = store.staff.bootstrap(me, name or me)
            console.print(
                f"{member.login} ({member.display_name}) is the first admin; add the others "
                "with `interlink staff add LOGIN --name NAME --role ROLE`",
                highlight=False,
            )
            return
        with opened_store(database_url, create=False) as store:
            actor = acting(store).actor
            member = store.staff.add(actor, login or "", name or "", roles or [])
    console.print(
        f"added {member.login} ({member.display_name}) as {_roles(member)}", highlight=False
    )


@app.command("list")
def list_command(database_url: str = DB_OPTION) -> None:
    """Every member of staff: roles, whether active, who added and who disabled them."""
    with user_errors(), opened_store(database_url, create=False) as store:
        acting(store)
        members = store.staff.members()
    if not members:
        console.print("no staff")
        return
    table = Table()
    columns = ("login", "name", "roles", "active", "created by", "created (UTC)", "disabled by")
    for column in (*columns, "disabled (UTC)"):
        table.add_column(column, overflow="fold")
    for member in members:
        table.add_row(
            Text(member.login),
            Text(member.display_name),
            _roles(member),
            "yes" if member.active else "no",
            Text(member.created_by),
            _when(member.created_at),
            Text(member.disabled_by or "-"),
            _when(member.disabled_at),
        )
    console.print(table)


@app.command("grant")
def grant_command(
    login: str = typer.Argument(..., help="The member's login."),
    role: str = typer.Argument(..., help=f"The role to give ({ROLES})."),
    database_url: str = DB_OPTION,
) -> None:
    """Give a member of staff a role (needs the admin role)."""
    with user_errors(), opened_store(database_url, create=False) as store:
        member = store.staff.grant(acting(store).actor, login, role)
    console.print(f"{member.login} now has: {_roles(member)}", highlight=False)


@app.command("revoke")
def revoke_command(
    login: str = typer.Argument(..., help="The member's login."),
    role: str = typer.Argument(..., help=f"The role to take away ({ROLES})."),
    database_url: str = DB_OPTION,
) -> None:
    """Take a role from a member of staff (needs the admin role)."""
    with user_errors(), opened_store(database_url, create=False) as store:
        member = store.staff.revoke(acting(store).actor, login, role)
    console.print(f"{member.login} now has: {_roles(member)}", highlight=False)


@app.command("disable")
def disable_command(
    login: str = typer.Argument(..., help="The member's login."),
    database_url: str = DB_OPTION,
) -> None:
    """Disable a member's account: they can no longer act or see customer data (admin role)."""
    with user_errors(), opened_store(database_url, create=False) as store:
        member = store.staff.disable(acting(store).actor, login)
    console.print(f"{member.login} is disabled", highlight=False)
