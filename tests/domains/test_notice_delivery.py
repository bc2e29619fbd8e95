"""No notice is lost to a transient error: the database, the network or an SMTP 4xx leave it
queued for a later pass; only a permanent cause fails it, with the reason staff can read.

Real parts only: aiosmtpd on loopback, the .eml folder, SQLite and PostgreSQL (a lock held by
another transaction, backends terminated with pg_terminate_backend).
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text, update
from typer.testing import CliRunner

from domains import notice_delivery, notice_rows, notices
from domains.db import make_engine, upgrade, writer
from domains.mailer import NOTICE_HEADER, FolderMailer, SmtpMailer
from domains.models import Notice, utcnow
from domains.notice_delivery import STOP_AFTER_TRANSPORT_ERRORS
from domains.notice_rows import retry_wait
from domains.settings import MailSettings, Settings, SyncSettings
from domains.store import Store
from portal.links import PortalLinks
from tests.support.environment import REQUIRE_ALL
from tests.support.factories import account_data
from tests.support.mail import SmtpSink
from tests.support.net import free_port
from tests.support.notices import completion_notices, statuses
from tests.support.postgres import NO_POSTGRES, POSTGRES_URL
from tests.support.staff import seed_staff
from tui.cli import app

needs_postgres = pytest.mark.skipif(not POSTGRES_URL and not REQUIRE_ALL, reason=NO_POSTGRES)
LATER = notices.PENDING_GRACE + timedelta(seconds=1)


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    """Quick retries, in a pass and of the database (overrides the shared fixture)."""
    return Settings(
        database_url=store_url,
        data_dir=tmp_path / "data",
        mail=MailSettings(retries=1, retry_wait=0.01, retry_wait_max=0.02),
        sync=SyncSettings(
            database_retry_wait=0.01, database_retry_wait_max=0.05, database_outage_limit=10
        ),
        portal_base_url="https://portal.test",
    )


def row(store: Store, notice_id: int) -> Notice:
    with store.read() as session:
        found = session.get(Notice, notice_id)
    assert found is not None
    return found


def files_per_notice(outbox: Path) -> Counter[int]:
    found: Counter[int] = Counter()
    for path in outbox.glob("*.eml"):
        found[int(email.message_from_bytes(path.read_bytes())[NOTICE_HEADER])] += 1
    return found


# -- draining ----------------------------------------------------------------------------


def test_left_behind_notices_drain_in_one_run(store: Store, tmp_path: Path) -> None:
    ids = completion_notices(store, 350)
    assert store.settings.mail.notice_batch == 100
    outbox = tmp_path / "out"

    done = notice_delivery.deliver_pending(
        store, mailer=FolderMailer(outbox), links=PortalLinks(store.settings), now=utcnow() + LATER
    )

    assert [n.id for n in done] == ids, "all of them, oldest first"
    assert statuses(store) == {"sent": 350}
    assert files_per_notice(outbox) == Counter({i: 1 for i in ids})


def test_a_relay_that_is_down_stops_the_pass_and_fails_nothing(store: Store) -> None:
    ids = completion_notices(store, 8)
    mailer = SmtpMailer("127.0.0.1", free_port(), starttls=False, timeout=5)
    done = notice_delivery.deliver_pending(
        store, mailer=mailer, links=PortalLinks(store.settings), now=utcnow() + LATER
    )
    tried = ids[:STOP_AFTER_TRANSPORT_ERRORS]
    assert [n.id for n in done] == tried
    assert statuses(store) == {"queued": 8}
    assert [row(store, i).attempts for i in ids] == [2] * len(tried) + [0] * (8 - len(tried))


# -- transient errors ----------------------------------------------------------------------


def test_an_smtp_4xx_leaves_the_notice_queued_for_a_later_pass(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    sink.rcpt_reply = lambda _n, _address: "451 4.3.0 Greylisted, try again later"
    [notice_id] = completion_notices(store, 1)
    before = utcnow()

    [notice] = notice_delivery.deliver(
        store, [notice_id], mailer=mailer, links=PortalLinks(store.settings)
    )

    assert notice.status == "queued", "a 4xx reply fails nothing"
    assert notice.attempts == 2 and "451" in notice.error
    assert notice.first_error_at >= before
    assert notice.next_attempt_at >= before + timedelta(seconds=0.8 * 60)
    assert notice.claimed_by is None
    assert (
        notice_delivery.deliver_pending(
            store, mailer=mailer, links=PortalLinks(store.settings), now=utcnow()
        )
        == []
    ), "not due yet"
    sink.rcpt_reply = lambda _n, _address: None
    due = notice.next_attempt_at + timedelta(seconds=1)
    [sent] = notice_delivery.deliver_pending(
        store, mailer=mailer, links=PortalLinks(store.settings), now=due
    )
    assert (sent.status, sent.attempts, sent.error) == ("sent", 3, None)
    assert [int(m.message[NOTICE_HEADER]) for m in sink.messages] == [notice_id]


def test_transient_errors_back_off_longer_and_give_up_with_the_reason(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mail = MailSettings()
    now = utcnow()
    for lasted, low, high in ((0, 48, 72), (1000, 800, 1200), (86400, 2880, 4320)):
        wait = retry_wait(mail, now - timedelta(seconds=lasted), now).total_seconds()
        assert low <= wait <= high, (lasted, wait)

    mailer, sink = smtp
    sink.rcpt_reply = lambda _n, _address: "452 4.2.2 Mailbox full"
    [notice_id] = completion_notices(store, 1)
    with store.write() as session:  # its errors began five days and an hour ago
        session.get(Notice, notice_id).first_error_at = now - timedelta(hours=121)
    [notice] = notice_delivery.deliver(
        store, [notice_id], mailer=mailer, links=PortalLinks(store.settings)
    )
    assert notice.status == "failed"
    assert notice.error.startswith("gave up after 120 hours of transient errors; the last: ")
    assert "452" in notice.error


@needs_postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_a_database_error_while_preparing_leaves_the_notice_queued(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    [notice_id] = completion_notices(store, 1)
    # Every new connection of the store gives up on a lock after 100 ms: the error is real.
    locker = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with locker.connect() as connection:
        name = connection.execute(text("SELECT current_database()")).scalar_one()
        connection.execute(text(f"ALTER DATABASE \"{name}\" SET lock_timeout = '100ms'"))
        connection.commit()
    store.engine.dispose()
    outbox = tmp_path / "out"
    try:
        with locker.connect() as connection:
            connection.execute(text("LOCK TABLE change_request IN ACCESS EXCLUSIVE MODE"))
            before = utcnow()
            [notice] = notice_delivery.deliver(
                store, [notice_id], mailer=FolderMailer(outbox), links=PortalLinks(store.settings)
            )
            connection.rollback()
        assert notice.status == "queued", notice.error
        assert notice.error.startswith("the database failed while the mail was prepared (")
        assert "LockNotAvailable" in notice.error
        assert notice.next_attempt_at >= before + timedelta(seconds=48)
        assert not outbox.exists()
        due = notice.next_attempt_at + timedelta(seconds=1)
        [sent] = notice_delivery.deliver_pending(
            store, mailer=FolderMailer(outbox), links=PortalLinks(store.settings), now=due
        )
        assert sent.status == "sent"
        assert files_per_notice(outbox) == {notice_id: 1}
    finally:
        locker.dispose()


def test_a_locked_sqlite_store_leaves_the_notice_queued(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'locked.db'}",
        data_dir=tmp_path / "data",
        sqlite_busy_timeout_ms=50,
        sync=SyncSettings(database_retry_wait=0.01, database_retry_wait_max=0.02),
    )
    store = Store.open(settings=settings)
    seed_staff(store)
    try:
        [notice_id] = completion_notices(store, 1)
        outbox = tmp_path / "out"
        other = make_engine(settings.database_url, busy_timeout_ms=50)
        with writer(other).connect() as connection, connection.begin():
            # Another writer holds the write lock (BEGIN IMMEDIATE) all along.
            assert (
                notice_delivery.deliver(
                    store,
                    [notice_id],
                    mailer=FolderMailer(outbox),
                    links=PortalLinks(store.settings),
                )
                == []
            )
        other.dispose()
        assert row(store, notice_id).status == "queued"
        [sent] = notice_delivery.deliver(
            store, [notice_id], mailer=FolderMailer(outbox), links=PortalLinks(store.settings)
        )
        assert sent.status == "sent" and files_per_notice(outbox) == {notice_id: 1}
    finally:
        store.close()


@needs_postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_terminated_backends_fail_no_notice_and_double_none(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    ids = completion_notices(store, 150)
    outbox = tmp_path / "out"
    mailer = FolderMailer(outbox)
    killer = create_engine(
        store_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    terminate = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    count_done = text("SELECT count(*) FROM notice WHERE status <> 'queued'")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            notice_delivery.deliver_pending(
                store,
                mailer=mailer,
                links=PortalLinks(store.settings),
                now=utcnow() + LATER,
                batch=20,
            )
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    terminated = rounds = 0
    try:
        with killer.connect() as connection:
            worker.start()
            deadline = time.monotonic() + 60
            last = 0
            while worker.is_alive() and time.monotonic() < deadline:
                done = connection.execute(count_done).scalar_one()
                if done >= last + 12:  # every dozen notices, cut every connection
                    terminated += connection.execute(terminate).scalar_one()
                    rounds += 1
                    last = done
                time.sleep(0.005)
            worker.join(30)
        assert not worker.is_alive() and not errors, errors
        assert rounds >= 5 and terminated >= 5, (rounds, terminated)
        # What the cuts left for later (a back-off, an outcome not recorded) goes out later.
        lapsed = utcnow() + notice_rows.claim_lease(store.settings.mail) + timedelta(hours=2)
        notice_delivery.deliver_pending(
            store, mailer=mailer, links=PortalLinks(store.settings), now=lapsed
        )
    finally:
        killer.dispose()
    assert statuses(store) == {"sent": 150}
    assert files_per_notice(outbox) == Counter({i: 1 for i in ids})


# -- exactly once --------------------------------------------------------------------------


def test_a_notice_whose_file_was_written_before_a_crash_is_not_written_again(
    store: Store, tmp_path: Path
) -> None:
    [notice_id] = completion_notices(store, 1)
    outbox = tmp_path / "out"
    notice_delivery.deliver(
        store, [notice_id], mailer=FolderMailer(outbox), links=PortalLinks(store.settings)
    )
    first = next(outbox.glob("*.eml")).read_bytes()
    with store.write() as session:  # as if its deliverer died after the write, before the record
        session.execute(
            update(Notice)
            .where(Notice.id == notice_id)
            .values(status="sending", claimed_at=utcnow() - timedelta(days=1), sent_at=None)
        )
    [notice] = notice_delivery.deliver_pending(
        store, mailer=FolderMailer(outbox), links=PortalLinks(store.settings)
    )
    assert notice.status == "sent" and notice.sent_at is not None
    assert [p.read_bytes() for p in outbox.glob("*.eml")] == [first]


def test_every_try_of_a_notice_carries_the_same_message_id(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    first, second = completion_notices(store, 2)
    notice_delivery.deliver(
        store, [first, second], mailer=mailer, links=PortalLinks(store.settings)
    )
    with store.write() as session:  # sent again after a crash in the window SMTP leaves
        session.get(Notice, first).status = "queued"
    notice_delivery.deliver(store, [first], mailer=mailer, links=PortalLinks(store.settings))
    ids = [str(m.message["Message-ID"]) for m in sink.messages]
    assert ids[0] == ids[2] != ids[1]
    assert ids[0].startswith(f"<notice-{first}.") and ids[0].endswith("@interlink.example.net>")


# -- what staff see ------------------------------------------------------------------------


def test_staff_see_failed_and_waiting_notices_with_the_reason(
    store: Store, store_url: str, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    runner = CliRunner(env={"COLUMNS": "250"})
    empty = runner.invoke(app, ["notices", "--db", store_url])
    assert empty.exit_code == 0 and empty.stdout.strip() == "no notices"

    account = store.create_account("staff:test", account_data())
    waiting, refused = completion_notices(store, 2)
    with store.write() as session:  # a template that cannot render: failed at once
        broken = Notice(
            category="marketing",
            template="no_such_template",
            recipient="account",
            account_id=account.id,
        )
        session.add(broken)
        session.flush()
        broken_id = broken.id
    sink.rcpt_reply = lambda n, address: (
        "451 4.3.0 Try again later" if n <= 2 else f"550 5.1.1 <{address}>: no such user"
    )
    done = notice_delivery.deliver(
        store, [waiting, refused, broken_id], mailer=mailer, links=PortalLinks(store.settings)
    )
    assert [n.status for n in done] == ["queued", "failed", "failed"]
    assert done[2].error.startswith("TemplateNotFound: no_such_template")

    result = runner.invoke(app, ["notices", "--db", store_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│")}
    assert "failed" in lines[str(broken_id)] and "TemplateNotFound" in lines[str(broken_id)]
    assert "550 5.1.1 <<address>>: no such user" in lines[str(refused)]
    assert "queued" in lines[str(waiting)] and "451 4.3.0" in lines[str(waiting)]
    assert "@" not in result.stdout.replace("<<address>>", ""), "no address is shown"

    only = runner.invoke(app, ["notices", "--db", store_url, "--status", "failed"])
    listed = {line.split()[1] for line in only.stdout.splitlines() if line.startswith("│")}
    assert listed == {str(refused), str(broken_id)}
    wrong = runner.invoke(app, ["notices", "--db", store_url, "--status", "lost"])
    assert wrong.exit_code == 1 and "not a notice status" in wrong.stderr


# -- the migration -------------------------------------------------------------------------


def test_notices_queued_before_the_migration_are_due_at_once(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0006")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO notice (created_at, category, template, recipient, status, "
                    "attempts, version) VALUES (:at, 'essential', 'request_completed', "
                    "'contact', :status, 0, 1)"
                ),
                [{"at": utcnow() - timedelta(days=1), "status": s} for s in ("queued", "sent")],
            )
        upgrade(engine)
        with engine.connect() as connection:
            rows: list[Any] = connection.execute(
                text("SELECT status, next_attempt_at, created_at FROM notice ORDER BY id")
            ).all()
        assert rows[0][1] is not None and str(rows[0][1])[:19] == str(rows[0][2])[:19]
        assert rows[1][1] is None, "a sent notice has no next attempt"
    finally:
        engine.dispose()
