"""`interlink remind`: --once sends what is due and counts it; --follow stops cleanly on SIGTERM."""

from __future__ import annotations

import email
import email.policy
import os
import queue
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosures import Disclosures
from domains.mailer import FolderMailer
from domains.models import utcnow
from domains.reminders import ReminderReport, Reminders
from domains.store import Store
from domains.vocabulary import DisclosureChannel, DisclosureOutcome, GagReason
from portal.links import PortalLinks
from tests.support.cli import url_of
from tests.support.disclosures import WEDNESDAY, customer_domain, form
from tests.support.environment import REPO
from tests.support.factories import make_domain
from tests.support.staff import PRIVACY
from tui.commands.remind import PassReport, one_pass, run_passes


def environment(tmp_path: Path) -> dict[str, str]:
    """The child's settings: no config file, its own data directory (so its own outbox)."""
    return {
        **os.environ,
        "INTERLINK_CONFIG": str(tmp_path / "no-config.toml"),
        "INTERLINK_DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "200",
    }


def command(store: Store, *args: str) -> list[str]:
    return [sys.executable, "-m", "tui.cli", "remind", *args, "--db", url_of(store)]


def recipients(tmp_path: Path) -> list[str]:
    found = []
    for path in sorted((tmp_path / "data" / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found.append(str(message["Subject"]))
    return sorted(found)


def test_once_sends_what_is_due_and_prints_counts_per_kind(store: Store, tmp_path: Path) -> None:
    # The command runs on the real clock: dates well inside the windows.
    make_domain(store, "month.com", expires_at=utcnow() + timedelta(days=20))
    make_domain(store, "week.de", expires_at=utcnow() + timedelta(days=3))

    run = subprocess.run(
        command(store, "--once"),
        cwd=REPO,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr
    assert "reminders queued: 3" in run.stdout
    assert "expiry in a month: 1" in run.stdout and "expiry in a week: 1" in run.stdout
    assert "registration data: 1" in run.stdout, "WDRP for month.com's registrant only"
    assert "sent: 3" in run.stdout
    subjects = recipients(tmp_path)
    assert len(subjects) == 3
    assert any(s.startswith("Your domain month.com expires on") for s in subjects)
    assert any(s.startswith("Your domain week.de expires on") for s in subjects)

    again = subprocess.run(
        command(store, "--once"),
        cwd=REPO,
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert "reminders queued: 0" in again.stdout, "never twice across runs"
    assert len(recipients(tmp_path)) == 3


def test_follow_runs_a_pass_then_stops_on_sigterm(store: Store, tmp_path: Path) -> None:
    make_domain(store, "follow.com", expires_at=utcnow() + timedelta(days=20))
    process = subprocess.Popen(
        command(store, "--follow", "--interval", "3600"),
        cwd=REPO,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def reader() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        first = lines.get(timeout=120)  # the first pass, then it waits an hour on its event
        assert "reminders queued: 2" in first, first
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    thread.join(timeout=30)  # the pipe closed with the process: every line is read
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    assert any("stopped" in line for line in rest), rest
    assert len(recipients(tmp_path)) == 2


def test_passes_stop_as_soon_as_their_event_is_set(store: Store, tmp_path: Path) -> None:
    make_domain(store, "event.com", expires_at=utcnow() + timedelta(days=20))
    stop = threading.Event()
    reports: list[ReminderReport] = []

    def show(report: PassReport) -> None:
        reports.append(report.reminders)
        stop.set()  # as SIGTERM does: the hour-long wait ends at once

    mailer, links = FolderMailer(tmp_path / "out"), PortalLinks(store.settings)
    assert run_passes(Reminders(store), mailer, links, stop, 3600.0, show) == 1
    assert [report.total for report in reports] == [2]


def test_a_pass_sends_a_gagged_customer_notice_once_its_date_has_passed(
    store: Store, tmp_path: Path
) -> None:
    customer_domain(store, "harbour-kites.com")
    links = PortalLinks(store.settings)
    reference = (
        Disclosures(store)
        .enter("staff:ann", form(("harbour-kites.com",)), DisclosureChannel.EMAIL, now=WEDNESDAY)
        .request.reference
    )
    pia = f"staff:{PRIVACY}"
    Disclosures(store).review(pia, reference, now=WEDNESDAY)
    until = WEDNESDAY + timedelta(days=90)
    DisclosureDecisions(store, links).decide(
        pia,
        reference,
        DisclosureOutcome.PARTLY_DISCLOSED,
        explanation="the name only",
        approved=("harbour-kites.com registrant name",),
        gag_reason=GagReason.CRIMINAL_INVESTIGATION,
        notify_after=until,
        now=WEDNESDAY,
    )
    mailer, reminders = FolderMailer(tmp_path / "out"), Reminders(store)

    def customer_mails() -> int:
        return sum(
            1
            for path in (tmp_path / "out").glob("*.eml")
            if "We disclosed some of your registration data" in path.read_text()
        )

    before = one_pass(reminders, until - timedelta(minutes=1), mailer, links)
    assert (before.customer_notices, customer_mails()) == (0, 0), "held by the gag"
    after = one_pass(reminders, until + timedelta(hours=1), mailer, links)
    assert (after.customer_notices, after.customer_sent, customer_mails()) == (1, 1, 1)
    again = one_pass(reminders, until + timedelta(days=1), mailer, links)
    assert (again.customer_notices, customer_mails()) == (0, 1), "never twice"
