"""`interlink publish`: render every domain's public answers ahead (WHOIS and RDAP).

`interlink serve` keeps them complete by itself; this is for after a large import, before
the servers start, so that the first queries are answered from rendered answers too.
"""

from __future__ import annotations

import os

import typer

from publishers.published import Publication, count_answers, publish
from tui.commands.common import console, opened_store, user_errors
from tui.progress import rich_progress


def publish_command(
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
    workers: int = typer.Option(
        os.cpu_count() or 1, "--workers", min=1, help="Processes that render (default: CPUs)."
    ),
) -> None:
    """Render the WHOIS and RDAP answers of every domain that lacks a current one."""
    with user_errors(), opened_store(database_url) as store:
        publication = Publication(store.settings)
        domains, current = count_answers(store, publication)
        with rich_progress() as progress:
            task = progress.add_task("publishing answers", total=max(domains - current, 1))
            report = publish(
                store, publication, workers=workers, advance=lambda n: progress.advance(task, n)
            )
        domains, current = count_answers(store, publication)
    console.print(
        f"published {report.published} answers in {report.seconds:.1f} s; "
        f"{current} of {domains} domains have current answers"
    )
