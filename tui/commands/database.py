"""`interlink db ...`: schema migrations, and the least-privilege PostgreSQL roles."""

from __future__ import annotations

import typer

from domains.db import current_revision, head_revision, is_sqlite, make_engine, upgrade
from domains.errors import InterlinkError
from domains.grants import ROLES, RolesNeedPostgres, apply_grants
from domains.settings import get_settings
from domains.store import Store
from tui.commands.common import console, opened_store, user_errors

app = typer.Typer(help="Database schema: migrations and roles.", no_args_is_help=True)


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


class NotMigrated(InterlinkError):
    """Roles were asked for on a database whose schema is not the current one."""

    def __init__(self, revision: str | None) -> None:
        super().__init__(
            f"the database is at revision {revision or 'empty'}, not {head_revision()}: "
            "run `interlink db upgrade` first, then `interlink db grants`"
        )


@app.command("grants")
def db_grants(
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Create Interlink's PostgreSQL roles (safe to run again), grant each the least it needs
    on this database, and give every active member of staff a login of their own.

    Run it as a superuser, or as the tables' owner with CREATEROLE, after `interlink db
    upgrade` and after every `interlink staff add`, `disable`, `grant` or `revoke`.
    """
    url = database_url or get_settings().database_url
    with user_errors():
        if is_sqlite(url):
            raise RolesNeedPostgres()
        settings = get_settings().model_copy(update={"database_url": url})
        store = Store.open(settings=settings, migrate=False)
        try:
            revision = current_revision(store.engine)
            if revision != head_revision():
                raise NotMigrated(revision)
            report = apply_grants(store.engine, store.staff.members())
        finally:
            store.close()
    for spec in ROLES:
        state = "created" if spec.name in report.created else "exists"
        kind = "login" if spec.login else "group"
        typer.echo(f"{spec.name:<22} {kind:<5} {state:<7} {spec.purpose}")
    for login in report.logins_created:
        typer.echo(f"staff login {login} created")
    for line in report.joined + report.left:
        typer.echo(line)
    for line in report.skipped:
        typer.echo(f"skipped {line}")
