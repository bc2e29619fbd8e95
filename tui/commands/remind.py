"""`interlink remind --once|--follow`: send the essential reminders (WDRP, expiry) that are due,
and the customer notices of disclosures whose gag date has passed."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType

import typer

from domains.db import is_transient
from domains.disclosure_decisions import DisclosureDecisions
from domains.errors import InterlinkError
from domains.mailer import Mailer, mailer_from_settings
from domains.notice_delivery import deliver
from domains.reminders import ReminderReport, Reminders
from domains.vocabulary import ReminderKind
from portal.links import PortalLinks
from tui.commands.common import console, opened_store, user_errors

log = logging.getLogger(__name__)


class NoMailer(InterlinkError):
    """The configured mail relay cannot be used (its password is not in the environment)."""


def _kind(exc: BaseException) -> str:
    """An error's type, never its text (that may quote SQL parameters)."""
    return type(exc).__name__


@dataclass(frozen=True)
class PassReport:
    """What a pass did: the reminders, and the disclosures' customer notices it released (held
    by a gag whose date has passed) and sent."""

    reminders: ReminderReport
    customer_notices: int = 0
    customer_sent: int = 0


def one_pass(reminders: Reminders, now: datetime, mailer: Mailer, links: PortalLinks) -> PassReport:
    """Send the reminders due at `now`, then queue and send the customer notices of
    disclosures whose gag date is past (each decision's notices once: the decision records it)."""
    report = reminders.send_due(now, mailer, links)
    ids = DisclosureDecisions(reminders.store).notify_due(now=now)
    sent = 0
    if ids:
        notices = deliver(reminders.store, ids, mailer=mailer, links=links)
        sent = sum(1 for notice in notices if notice.status == "sent")
    return PassReport(report, len(ids), sent)


def _counts(result: PassReport) -> str:
    report = result.reminders
    kinds = ", ".join(f"{kind}: {report.queued.get(kind, 0)}" for kind in ReminderKind)
    return (
        f"reminders queued: {report.total} ({kinds}); sent: {report.sent}; "
        f"disclosure notices to customers: {result.customer_notices} "
        f"(sent: {result.customer_sent})"
    )


def run_passes(
    reminders: Reminders,
    mailer: Mailer,
    links: PortalLinks,
    stop: threading.Event,
    interval: float,
    show: Callable[[PassReport], None],
) -> int:
    """Pass after pass until `stop` is set, waiting `interval` seconds on it in between; a pass
    that the database failed (a transient error) is logged, and the next pass makes up for it."""
    passes = 0
    while not stop.is_set():
        try:
            show(one_pass(reminders, datetime.now(UTC), mailer, links))
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("a reminder pass failed (%s): the next one sends what is due", _kind(exc))
        passes += 1
        stop.wait(interval)
    return passes


def remind_command(
    once: bool = typer.Option(False, "--once", help="Send what is due now, then stop (default)."),
    follow: bool = typer.Option(
        False, "--follow", help="Keep running, a pass every --interval seconds (Ctrl-C stops)."
    ),
    interval: float = typer.Option(
        3600.0, "--interval", min=1.0, help="Seconds between passes with --follow."
    ),
    database_url: str | None = typer.Option(None, "--db", help="Database URL (default: settings)."),
) -> None:
    """Send the essential reminders that are due: the annual registration-data reminder and the
    expiry reminders (a month and a week before, and after expiry). Each goes once per domain
    and period, even across restarts; they reach accounts that opted out of marketing. Also
    the customer notices of disclosures held back by a gag whose date has passed."""
    if once and follow:
        raise typer.BadParameter("give --once or --follow, not both")
    with user_errors(), opened_store(database_url) as store:
        try:
            mailer = mailer_from_settings(store.settings)
        except ValueError as exc:
            raise NoMailer(str(exc)) from None
        reminders, links = Reminders(store), PortalLinks(store.settings)

        def show(report: PassReport) -> None:
            console.print(_counts(report), highlight=False)

        if not follow:
            show(one_pass(reminders, datetime.now(UTC), mailer, links))
            return
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            run_passes(reminders, mailer, links, stop, interval, show)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        console.print("stopped", highlight=False)
