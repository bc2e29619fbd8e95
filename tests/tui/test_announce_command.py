"""`interlink announce`: supervisors only, a dry run, a run to a real SMTP server, and a run killed
with SIGKILL and resumed: every customer gets the announcement exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update
from sqlmodel import col

from domains.announcements import Announcements
from domains.models import Notice, utcnow
from domains.notice_models import Announcement
from domains.notice_rows import claim_lease
from domains.settings import get_settings
from domains.store import Store
from domains.vocabulary import StaffRole
from tests.support.announce import bulk_accounts
from tests.support.cli import on, one_error, url_of
from tests.support.mail import SmtpSink
from tests.support.net import free_port
from tests.support.staff import add_me

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = "new_control_panel"


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings of this test only: no config file of the user's, mail to its own folder."""
    monkeypatch.setenv("INTERLINK_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("INTERLINK_DATA_DIR", str(tmp_path / "data"))
    for name in ("INTERLINK_MAIL__SMTP_HOST", "INTERLINK_MAIL__USERNAME"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def counts(store: Store) -> tuple[int, int]:
    """How many notices and announcement runs the store holds."""
    with store.read() as session:
        return (
            session.execute(select(func.count()).select_from(Notice)).scalar_one(),
            session.execute(select(func.count()).select_from(Announcement)).scalar_one(),
        )


def test_only_a_supervisor_may_announce(store: Store) -> None:
    bulk_accounts(store, 5)
    login = add_me(store, StaffRole.SUPPORT).removeprefix("staff:")

    refused = on(store, "announce", TEMPLATE)

    assert one_error(refused) == (
        f"error: {login} may not send announcements: that needs the supervisor role"
    )
    assert counts(store) == (0, 0)


def test_an_unknown_template_is_refused_naming_the_known_ones(store: Store) -> None:
    add_me(store, StaffRole.SUPERVISOR)
    result = on(store, "announce", "spring_sale")
    said, _, known = one_error(result).partition("; the templates: ")
    assert said == "error: there is no announcement template 'spring_sale'"
    # (another test may have a broken template of its own in the folder at the same moment)
    assert TEMPLATE in known.split(", ")


def test_a_dry_run_prints_the_counts_and_one_mail_and_sends_nothing(
    store: Store, tmp_path: Path
) -> None:
    bulk_accounts(store, 40, opt_out_every=4)
    add_me(store, StaffRole.SUPERVISOR)

    result = on(store, "announce", TEMPLATE, "--dry-run")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"{TEMPLATE}: 30 recipients; 10 customers opted out of marketing mail and get none"
    )
    assert any(line.startswith("Subject: ") and "control panel" in line for line in lines)
    assert "Hello Customer 1," in result.stdout
    assert counts(store) == (0, 0)
    assert not (tmp_path / "data" / "outbox").exists()


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """A real SMTP server on loopback, configured as the relay."""
    handler = SmtpSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv("INTERLINK_MAIL__SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("INTERLINK_MAIL__SMTP_PORT", str(controller.port))
    monkeypatch.setenv("INTERLINK_MAIL__STARTTLS", "false")
    get_settings.cache_clear()
    try:
        yield handler
    finally:
        controller.stop()


def test_an_announcement_reaches_every_customer_not_opted_out_with_unsubscribe_headers(
    sqlite_store: Store, sink: SmtpSink
) -> None:
    store = sqlite_store
    customers = bulk_accounts(store, 25, opt_out_every=5)
    add_me(store, StaffRole.SUPERVISOR)

    result = on(store, "announce", TEMPLATE)

    assert result.exit_code == 0, result.output
    reference = Announcements(store).runs()[0].reference
    assert result.stdout.splitlines() == [
        f"{reference}: 20 recipients queued",
        f"{reference}: 20 sent, 0 suppressed (opted out meanwhile), 0 failed, 0 not sent yet",
    ]
    per_address = Counter(rcpt for m in sink.messages for rcpt in m.rcpt_tos)
    assert per_address == Counter(dict.fromkeys(customers.wanted, 1))
    for received in sink.messages:
        mail = received.message
        assert mail["Precedence"] == "bulk"
        # One-click unsubscribe (RFC 8058) on every marketing mail.
        assert mail["List-Unsubscribe"], "no List-Unsubscribe header"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    listed = on(store, "announce", "--list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if reference in line)
    assert TEMPLATE in row and " 20 " in row


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def addressees(outbox: Path) -> Counter[str]:
    """Per address, how many .eml files in the outbox are to it."""
    found: Counter[str] = Counter()
    for path in outbox.glob("*.eml"):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(mail, EmailMessage)
        found.update(address.addr_spec for address in mail["To"].addresses)
    return found


def interlink(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "announce", *args, "--db", url_of(store)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_run_killed_with_sigkill_and_resumed_mails_everyone_exactly_once(
    sqlite_store: Store, tmp_path: Path
) -> None:
    store = sqlite_store
    customers = bulk_accounts(store, 300)
    add_me(store, StaffRole.SUPERVISOR)
    outbox = tmp_path / "data" / "outbox"

    process = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "announce", TEMPLATE, "--db", url_of(store)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(list(outbox.glob("*.eml"))) >= 40, "the first mails")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(30)
    assert process.returncode == -signal.SIGKILL
    run = Announcements(store).runs()[0]
    assert run.queued == 300 and run.finished_at is None
    assert run.sent < 300, "the kill came after the run ended"

    resumed = interlink(store, "--resume", run.reference)
    if run.sending:  # the killed run held a claim: it waits for its lease
        assert resumed.returncode == 3, resumed.stderr
        assert f"`interlink announce --resume {run.reference}` sends them after" in (resumed.stderr)
        assert Announcements(store).run(run.reference).sending == run.sending
        # Time passes: the killed run's claim lapses.
        lapsed = utcnow() - claim_lease(store.settings.mail) - timedelta(minutes=1)
        with store.write() as session:
            session.execute(
                update(Notice).where(col(Notice.status) == "sending").values(claimed_at=lapsed)
            )
        resumed = interlink(store, "--resume", run.reference)
    assert resumed.returncode == 0, resumed.stderr

    done = Announcements(store).run(run.reference)
    assert (done.sent, done.waiting, done.sending) == (300, 0, 0)
    assert done.finished_at is not None
    assert addressees(outbox) == Counter(dict.fromkeys(customers.wanted, 1))
    assert f"{run.reference}: 300 sent," in resumed.stdout
