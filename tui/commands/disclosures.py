"""`interlink disclosures due|report|notify`: the register of requests for non-public data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosure_report import monthly_report
from domains.disclosures import Disclosures
from domains.mailer import mailer_from_settings
from domains.notice_delivery import deliver
from domains.staff import Permission
from portal.links import PortalLinks
from tui.commands.common import acting, console, opened_store, user_errors

app = typer.Typer(
    help="Requests for customers' non-public data: what is due, monthly figures, notices.",
    no_args_is_help=True,
)
DB_OPTION = typer.Option(None, "--db", help="Database URL (default: settings).")


def countdown(deadline: datetime, now: datetime) -> str:
    """The time left until a deadline ("3d 4h"), or how long ago it passed ("-5h")."""
    left = deadline - now
    sign = "-" if left < timedelta(0) else ""
    minutes = int(abs(left).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes}m"
    return sign + text


@app.command("due")
def due_command(
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many."),
    at: datetime | None = typer.Option(
        None, "--at", help="As of this time (UTC, e.g. 2026-12-24T09:00); default: now."
    ),
    database_url: str = DB_OPTION,
) -> None:
    """Open requests, the soonest deadline first; overdue ones flagged."""
    now = at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at
    now = now.astimezone(UTC) if now is not None else datetime.now(UTC)
    with user_errors(), opened_store(database_url, create=False) as store:
        acting(store, Permission.ENTER_DISCLOSURE)
        items = Disclosures(store).due(now=now, limit=limit)
    if not items:
        console.print("no open disclosure requests")
        return
    table = Table()
    for column in ("reference", "state", "urgency", "requestor", "next", "due", "left", ""):
        table.add_column(column, no_wrap=True)
    for item in items:
        flag = "OVERDUE" if item.overdue else ""
        style = "bold red" if item.overdue else None
        table.add_row(
            item.reference,
            item.state,
            escape(item.urgency),
            item.requestor_kind,
            item.next_step,
            item.next_deadline.strftime("%Y-%m-%d %H:%M UTC"),
            countdown(item.next_deadline, now),
            flag,
            style=style,
        )
    console.print(table)


@app.command("report")
def report_command(
    month: str = typer.Option(..., "--month", help="The month, YYYY-MM (UTC)."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for disclosures-YYYY-MM.csv and .json (default: here)."
    ),
    database_url: str = DB_OPTION,
) -> None:
    """The month's figures (as ICANN publishes for RDRS): counts by requestor kind, ground,
    urgency and outcome; median and 90th percentile hours to acknowledge and to answer; late."""
    with user_errors(), opened_store(database_url, create=False) as store:
        acting(store, Permission.ENTER_DISCLOSURE)
        report = monthly_report(store, month)
        folder = out or Path.cwd()
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = folder / f"disclosures-{report.month}.csv"
        json_path = folder / f"disclosures-{report.month}.json"
        csv_path.write_text(report.csv(), encoding="utf-8")
        json_path.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    table = Table(title=f"Disclosure requests received in {report.month}")
    for column in ("section", "item", "value"):
        table.add_column(column)
    for row in report.rows():
        table.add_row(*row)
    console.print(table)
    console.print(f"written: {csv_path} and {json_path}", highlight=False)


@app.command("notify")
def notify_command(database_url: str = DB_OPTION) -> None:
    """Queue and send the customer notices held back by a gag whose date has passed."""
    with user_errors(), opened_store(database_url) as store:
        ids = DisclosureDecisions(store).notify_due()
        sent = 0
        if ids:
            mailer, links = mailer_from_settings(store.settings), PortalLinks(store.settings)
            notices = deliver(store, ids, mailer=mailer, links=links)
            sent = sum(1 for notice in notices if notice.status == "sent")
    console.print(f"customer notices queued: {len(ids)}; sent: {sent}", highlight=False)
