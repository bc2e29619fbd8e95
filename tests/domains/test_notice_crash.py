"""Notice delivery killed with SIGKILL in the middle of a batch, then started again: every notice
goes out exactly once, to the .eml folder and to a real SMTP server (aiosmtpd).

The .eml folder is exactly-once by construction (a notice's file is named by its id and never
replaced), so there the kills land anywhere: right after a file is written and before its
record, right after a claim, and at random moments. Over SMTP the kills land where a crash
cannot double a mail: while the server holds a message it has not accepted yet, and between a
claim and the send. The one window SMTP leaves (after the relay's 250, before our record: see
domains/notice_delivery.py) is not claimed to be exactly-once, so no kill is aimed at it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from domains import notice_delivery, notice_rows
from domains.mailer import NOTICE_HEADER, FolderMailer, Mailer, SmtpMailer
from domains.models import utcnow
from domains.settings import MailSettings, Settings
from domains.store import Store
from portal.links import PortalLinks
from tests.support.mail import SmtpSink
from tests.support.net import free_port
from tests.support.notices import completion_notices, statuses

BATCH = 7  # a pass claims across several batches


class KillingMailer:
    """The real mailer; the process kills itself (SIGKILL) at its `at`-th send, `before` the
    mailer runs (the notice is claimed, nothing sent) or `after` it (sent, not recorded)."""

    def __init__(self, inner: Mailer, at: int, when: str) -> None:
        self.inner, self.at, self.when, self.count = inner, at, when, 0

    def send(self, message: EmailMessage) -> None:
        self.count += 1
        if self.count == self.at and self.when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        self.inner.send(message)
        if self.count == self.at and self.when == "after":
            os.kill(os.getpid(), signal.SIGKILL)


def deliver_in_child(url: str, data_dir: str, port: int, at: int, when: str) -> None:
    """A deliverer started afresh: sends every due notice (`port`: over SMTP, else to files),
    as late as every claim of a killed deliverer has lapsed."""
    settings = Settings(
        database_url=url, data_dir=Path(data_dir), mail=MailSettings(retries=0, timeout=10)
    )
    store = Store.open(settings=settings)
    mailer: Mailer = (
        SmtpMailer("127.0.0.1", port, starttls=False, timeout=10)
        if port
        else FolderMailer(settings.outbox_dir())
    )
    if at:
        mailer = KillingMailer(mailer, at, when)
    lapsed = utcnow() + notice_rows.claim_lease(settings.mail) + timedelta(minutes=1)
    notice_delivery.deliver_pending(
        store, mailer=mailer, links=PortalLinks(store.settings), now=lapsed, batch=BATCH
    )
    store.close()


@pytest.fixture(scope="module")
def processes() -> multiprocessing.context.ForkServerContext:
    """Deliverer processes forked from a server that imported the modules already."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["domains.notice_delivery", "tests.domains.test_notice_crash"])
    return context


class Deliverers:
    """Starts deliverer processes on one store and checks how each ended."""

    def __init__(self, context, store: Store, port: int = 0) -> None:
        self.context, self.port = context, port
        self.url = store.engine.url.render_as_string(hide_password=False)
        self.data_dir = str(store.settings.data_dir)
        self.killed = 0

    def start(self, at: int = 0, when: str = "") -> multiprocessing.Process:
        args = (self.url, self.data_dir, self.port, at, when)
        process = self.context.Process(target=deliver_in_child, args=args)
        process.start()
        return process

    def run(self, at: int = 0, when: str = "") -> None:
        """One deliverer to its end: killed at its `at`-th send, or (no `at`) clean."""
        process = self.start(at, when)
        process.join(60)
        assert process.exitcode == (-signal.SIGKILL if at else 0), process.exitcode
        self.killed += bool(at)

    def kill(self, process: multiprocessing.Process) -> None:
        os.kill(process.pid, signal.SIGKILL)
        process.join(30)
        assert process.exitcode == -signal.SIGKILL
        self.killed += 1


def wait_until(condition, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def eml_files(outbox: Path) -> list[Path]:
    return list(outbox.glob("*.eml")) if outbox.exists() else []


def test_killed_deliverers_write_every_eml_exactly_once(
    store: Store, processes, tmp_path: Path
) -> None:
    ids = completion_notices(store, 40)
    outbox = store.settings.outbox_dir()
    deliverers = Deliverers(processes, store)
    deliverers.run(at=5, when="after")  # the 5th file written, not recorded
    assert len(eml_files(outbox)) == 5 and statuses(store)["sending"] == 1
    deliverers.run(at=3, when="before")  # the 5th again (its file is there), then one claimed
    assert len(eml_files(outbox)) == 6 and statuses(store)["sending"] == 1
    rng = random.Random(4711)
    for _ in range(3):  # killed while it writes, wherever in its work that finds it
        target = len(eml_files(outbox)) + rng.randint(1, 4)
        process = deliverers.start()
        wait_until(lambda t=target: len(eml_files(outbox)) >= t, "mail written")
        deliverers.kill(process)
    assert statuses(store)["queued"] > 0, "the kills interrupted the run"
    deliverers.run()

    assert deliverers.killed == 5
    assert statuses(store) == {"sent": 40}
    written = [message_from_bytes(path.read_bytes()) for path in eml_files(outbox)]
    assert Counter(int(m[NOTICE_HEADER]) for m in written) == Counter({i: 1 for i in ids})


class HoldingSink(SmtpSink):
    """An SMTP server that, at its `hold_at`-th message, holds it unanswered until `release`,
    then refuses it: a message the relay never accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.data_calls = 0
        self.hold_at = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    def hold(self, after: int) -> None:
        """Hold the `after`-th message from now."""
        self.holding.clear()
        self.release.clear()
        self.hold_at = self.data_calls + after

    async def handle_DATA(self, server, session, envelope) -> str:
        self.data_calls += 1
        if self.data_calls == self.hold_at:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.005)
            return "451 4.3.0 the sender went away"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_smtp() -> Iterator[tuple[int, HoldingSink]]:
    sink = HoldingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, sink
    finally:
        sink.release.set()
        controller.stop()


def test_killed_deliverers_send_every_smtp_mail_exactly_once(
    store: Store, processes, holding_smtp: tuple[int, HoldingSink]
) -> None:
    port, sink = holding_smtp
    ids = completion_notices(store, 30)
    deliverers = Deliverers(processes, store, port)

    def killed_while_held(after: int) -> None:
        sink.hold(after)
        process = deliverers.start()
        wait_until(sink.holding.is_set, "a held message")
        deliverers.kill(process)
        sink.release.set()

    killed_while_held(6)
    assert len(sink.messages) == 5 and statuses(store)["sending"] == 1
    deliverers.run(at=4, when="before")  # the held one again, two more, then one claimed
    assert len(sink.messages) == 8 and statuses(store)["sending"] == 1
    killed_while_held(9)
    assert len(sink.messages) == 16
    deliverers.run()

    assert deliverers.killed == 3
    assert statuses(store) == {"sent": 30}
    per_notice = Counter(int(m.message[NOTICE_HEADER]) for m in sink.messages)
    assert per_notice == Counter({i: 1 for i in ids})
