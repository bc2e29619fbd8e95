"""`interlink notices`: the e-mails that have not gone out, and why (no addresses shown)."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.markup import escape
from rich.table import Table

from domains.errors import InterlinkError
from domains.notice_delivery import UNSENT, notice_log
from domains.vocabulary import NoticeStatus
from tui.commands.common import console, opened_store, user_errors


class UnknownStatus(InterlinkError):
    """A --status that is not a notice status."""

    def __init__(self, status: str) -> None:
        super().__init__(
            f"{status!r} is not a notice status; use one of: {', '.join(NoticeStatus)}"
        )


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def notices_command(
    status: list[str] = typer.Option(
        None,
        "--status",
        help=f"Show notices in this status ({', '.join(NoticeStatus)}); may be given again. "
        f"Default: {', '.join(UNSENT)}.",
    ),
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many, newest first."),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Notices not sent yet, newest first: failed ones with their reason, queued ones with their
    next attempt (a transient error is tried again by itself)."""
    with user_errors():
        for name in status or ():
            if name not in tuple(NoticeStatus):
                raise UnknownStatus(name)
        with opened_store(database_url, create=False) as store:
            rows = notice_log(store, status or UNSENT, limit=limit)
    if not rows:
        console.print("no notices")
        return
    table = Table()
    for column in ("id", "template", "request", "status", "attempts", "queued", "next attempt"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for row in rows:
        waiting = row.status == NoticeStatus.QUEUED
        table.add_row(
            str(row.id),
            row.template,
            row.subject_ref or "-",
            row.status,
            str(row.attempts),
            _when(row.created_at),
            _when(row.next_attempt_at) if waiting else "-",
            escape(row.error or "-"),
        )
    console.print(table)
