"""`interlink announce`: a marketing announcement to every customer who did not opt out."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table

from domains.announcements import AnnouncementError, AnnouncementRun, Announcements
from domains.mailer import mailer_from_settings
from domains.staff import Permission
from portal.links import PortalLinks
from tui.commands.common import acting, console, err_console, opened_store, user_errors
from tui.progress import rich_progress


class NoTemplate(AnnouncementError):
    """`interlink announce` without a template, a --resume or --list."""

    def __init__(self, known: tuple[str, ...]) -> None:
        super().__init__(
            "name the announcement template to send (one of: "
            f"{', '.join(known) or 'none'}), or give --resume REFERENCE or --list"
        )


class MailerNotReady(AnnouncementError):
    """The configured relay cannot be used (its password is not in the environment)."""


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _counts(run: AnnouncementRun) -> str:
    return (
        f"{run.sent} sent, {run.suppressed} suppressed (opted out meanwhile), "
        f"{run.failed} failed, {run.waiting + run.sending} not sent yet"
    )


def announce_command(
    template: str = typer.Argument(None, help="The announcement template to send."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count the recipients and show one rendered mail; send nothing."
    ),
    resume: str = typer.Option(
        None, "--resume", metavar="REFERENCE", help="Send what a stopped run left."
    ),
    list_runs: bool = typer.Option(False, "--list", help="The runs so far, with their counts."),
    database_url: str = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Send a marketing announcement to every customer who did not opt out, once each.

    Needs the supervisor role; who you are comes from the system. Mail goes through the
    configured relay, or to the outbox folder. A customer who opts out while a run sends gets
    nothing more; a stopped run is finished with --resume (exit code 3: some of its mails are
    still held by the stopped run, and are sent by a --resume after the time it names).
    """
    with user_errors(), opened_store(database_url, create=False) as store:
        actor = acting(store, Permission.SEND_ANNOUNCEMENT).actor
        links = PortalLinks(store.settings)
        announcements = Announcements(store, links)
        if list_runs:
            _print_runs(announcements.runs())
            return
        if not template and not resume:
            raise NoTemplate(announcements.templates())
        if dry_run:
            if resume or not template:
                raise AnnouncementError("--dry-run takes a template, not --resume")
            dry = announcements.dry_run(actor, template)
            console.print(
                f"{template}: {dry.recipients} recipients; {dry.opted_out} customers opted "
                "out of marketing mail and get none"
            )
            if dry.sample is not None:
                console.print(f"\nSubject: {dry.sample.subject}\n", highlight=False)
                console.print(dry.sample.text, highlight=False, markup=False)
            return
        try:
            mailer = mailer_from_settings(store.settings)
        except ValueError as exc:
            raise MailerNotReady(str(exc)) from None
        if resume:
            reference = resume.strip().upper()
        else:
            started = announcements.start(actor, template)
            reference = started.reference
            console.print(f"{reference}: {started.queued} recipients queued", highlight=False)
        with rich_progress() as progress:
            task = progress.add_task(f"announce {reference}", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            run = announcements.send(
                actor,
                reference,
                mailer=mailer,
                links=links,
                progress=report,
            )
        console.print(f"{reference}: {_counts(run)}", highlight=False)
        if run.finished_at is None and run.sending:
            held = announcements.held_until(reference)
            err_console.print(
                f"{run.sending} notices are held by a run that was stopped (or still sends); "
                f"`interlink announce --resume {reference}` sends them after {_when(held)}",
                highlight=False,
            )
            raise typer.Exit(3)


def _print_runs(runs: list[AnnouncementRun]) -> None:
    if not runs:
        console.print("no announcements")
        return
    table = Table()
    for column in ("reference", "template", "started", "by", "queued", "sent"):
        table.add_column(column, no_wrap=True)
    for column in ("suppressed", "failed", "not sent", "finished"):
        table.add_column(column, no_wrap=True)
    for run in runs:
        table.add_row(
            run.reference,
            run.template,
            _when(run.created_at),
            run.started_by,
            str(run.queued),
            str(run.sent),
            str(run.suppressed),
            str(run.failed),
            str(run.waiting + run.sending),
            _when(run.finished_at),
        )
    console.print(table)
