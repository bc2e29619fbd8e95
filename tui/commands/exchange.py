"""`interlink import` and `interlink export`: the JSON exchange format."""

from __future__ import annotations

from pathlib import Path

import typer

from domains.exchange import ImportReport, export_records, import_records
from tui.commands.common import acting, console, err_console, opened_store, user_errors
from tui.progress import rich_progress


def import_command(
    path: Path = typer.Argument(..., help="JSON file written by `interlink export`."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Import the good records; write the bad ones to --rejects."
    ),
    rejects: Path = typer.Option(
        None, "--rejects", help="Where --skip-invalid writes rejected records and reasons."
    ),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Import accounts, contacts and domains; all-or-nothing unless --skip-invalid.

    Needs the supervisor role; who you are comes from the system.
    """
    if skip_invalid and rejects is None:
        rejects = path.with_name(path.stem + ".rejects.json")
    with user_errors(), opened_store(database_url) as store:
        actor = acting(store).actor
        with rich_progress() as progress:
            report: ImportReport = import_records(
                store,
                path,
                actor=actor,
                skip_invalid=skip_invalid,
                rejects_path=rejects,
                progress=progress,
            )
    for problem in report.problems:
        err_console.print(f"  {problem}", highlight=False)
    if report.problems and not skip_invalid:
        err_console.print(
            f"[bold red]import refused:[/] {len(report.problems)} bad record(s); "
            "nothing was imported"
        )
        raise typer.Exit(1)
    console.print(report.summary())
    if report.problems:
        console.print(f"rejected records and reasons written to {rejects}")


def export_command(
    path: Path = typer.Argument(..., help="Where to write the JSON export."),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Export every account, contact and domain (with roles and DS records) as JSON.

    Needs the privacy role; the export is recorded in the access trail of every contact.
    """
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store).actor
        with rich_progress() as progress:
            counts = export_records(store, path, actor=actor, progress=progress)
    console.print(
        f"exported {counts['accounts']} accounts, {counts['contacts']} contacts, "
        f"{counts['domains']} domains to {path}"
    )
