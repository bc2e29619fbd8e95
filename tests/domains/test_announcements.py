"""Announcements: queued for every customer not opted out in one go, sent once each over SMTP;
an opt-out made while a run sends is honoured; broken templates and the wrong staff refused."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from domains.announcements import (
    FOLDER,
    Announcements,
    BrokenTemplate,
    UnknownRun,
    UnknownTemplate,
)
from domains.customer_panel import CustomerPanel
from domains.mailer import Mailer, SmtpMailer
from domains.models import AuditEvent, Notice
from domains.notice_models import Announcement
from domains.staff import Refused, UnknownStaff
from domains.store import Store
from portal.links import PortalLinks
from tests.support.announce import bulk_accounts
from tests.support.mail import SmtpSink
from tests.support.staff import DISABLED, SUPERVISOR, SUPPORT

BOSS = f"staff:{SUPERVISOR}"
TEMPLATE = "new_control_panel"
MAIL = Path(__file__).resolve().parents[2] / "domains" / "templates" / "mail" / FOLDER


def rows(store: Store) -> tuple[int, int, int]:
    """How many notices, announcement runs and audit events the store holds."""
    with store.read() as session:
        return tuple(
            session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (Notice, Announcement, AuditEvent)
        )


@pytest.mark.slow
def test_a_run_mails_every_customer_who_did_not_opt_out_exactly_once(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    customers = bulk_accounts(store, 1000, opt_out_every=10)
    announcements = Announcements(store)

    run = announcements.start(BOSS, TEMPLATE)
    assert run.reference.startswith("AN-") and run.queued == 900 and run.waiting == 900
    with store.read() as session:
        queued = session.execute(
            select(
                col(Notice.category), col(Notice.template), col(Notice.subject_ref), func.count()
            ).group_by(col(Notice.category), col(Notice.template), col(Notice.subject_ref))
        ).all()
    assert queued == [("marketing", f"announcement:{TEMPLATE}", run.reference, 900)]

    seen: list[tuple[int, int]] = []
    done = announcements.send(
        BOSS,
        run.reference,
        mailer=mailer,
        links=PortalLinks(store.settings),
        progress=lambda n, total: seen.append((n, total)),
    )

    assert (done.sent, done.suppressed, done.failed, done.waiting, done.sending) == (
        900,
        0,
        0,
        0,
        0,
    )
    assert done.finished_at is not None and done.finished_at.tzinfo is not None
    assert seen[0] == (0, 900) and seen[-1] == (900, 900)
    per_address = Counter(rcpt for m in sink.messages for rcpt in m.rcpt_tos)
    assert per_address == Counter(dict.fromkeys(customers.wanted, 1))
    assert not set(per_address) & customers.opted_out
    first = sink.messages[0].message
    assert first["Precedence"] == "bulk"
    assert first["Subject"] == run.subject
    assert "control panel" in first["Subject"]
    body = first.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert f"{store.settings.portal_base_url}/account" in text
    assert "You receive this newsletter" in text  # the marketing footer of the base template
    assert first.get_body(preferencelist=("html",)) is not None
    # Sending again sends nothing more.
    again = announcements.resume(
        BOSS, run.reference, mailer=mailer, links=PortalLinks(store.settings)
    )
    assert again.sent == 900 and len(sink.messages) == 900
    assert [r.reference for r in announcements.runs()] == [run.reference]


class OptingOutMailer:
    """The real mailer; after its `at`-th message the customer `number` opts out (through the
    control panel), as a customer who reads the first mails of a run might."""

    def __init__(self, inner: Mailer, store: Store, at: int, number: str) -> None:
        self.inner, self.store, self.at, self.number = inner, store, at, number
        self.count = 0

    def send(self, message: EmailMessage) -> None:
        self.inner.send(message)
        self.count += 1
        if self.count == self.at:
            CustomerPanel(self.store).set_marketing(self.number, True)


def test_an_opt_out_made_while_a_run_sends_stops_the_rest(
    store: Store, smtp: tuple[SmtpMailer, SmtpSink]
) -> None:
    mailer, sink = smtp
    customers = bulk_accounts(store, 30)
    late_address, late_number = list(customers.wanted.items())[-1]
    announcements = Announcements(store)
    run = announcements.start(BOSS, TEMPLATE)
    assert run.queued == 30

    done = announcements.send(
        BOSS,
        run.reference,
        mailer=OptingOutMailer(mailer, store, 10, late_number),
        links=PortalLinks(store.settings),
    )

    assert (done.sent, done.suppressed, done.waiting) == (29, 1, 0)
    assert done.finished_at is not None
    assert sink.to(late_address) == []
    assert len(sink.messages) == 29
    with store.read() as session:
        reasons = session.execute(
            select(col(Notice.error)).where(col(Notice.status) == "suppressed")
        ).all()
    assert reasons == [("the account opted out of marketing",)]


def test_an_unknown_template_is_refused_naming_the_known_ones(store: Store) -> None:
    with pytest.raises(UnknownTemplate) as refused:
        Announcements(store).start(BOSS, "spring_sale")
    said, _, known = str(refused.value).partition("; the templates: ")
    assert said == "there is no announcement template 'spring_sale'"
    # (another test may have a broken template of its own in the folder at the same moment)
    assert TEMPLATE in known.split(", ")
    with pytest.raises(UnknownRun):
        Announcements(store).run("AN-NOPE")
    assert rows(store)[:2] == (0, 0)


@pytest.fixture
def broken() -> Iterator[tuple[str, Path]]:
    """A template of its own in the announcements folder, removed afterwards."""
    name = f"broken_{secrets.token_hex(4)}"
    path = MAIL / f"{name}.txt"
    try:
        yield name, path
    finally:
        path.unlink(missing_ok=True)


def test_a_template_that_does_not_render_is_refused_with_its_file_and_line(
    store: Store, broken: tuple[str, Path]
) -> None:
    name, path = broken
    bulk_accounts(store, 3)
    path.write_text(
        '{% extends "_base.txt" %}\n'
        '{% set subject = "News" %}\n'
        "{% block body %}\n"
        "Dear {{ recipient_name }}, see {{ no_such_value }}.\n"
        "{% endblock %}\n",
        encoding="utf-8",
    )
    announcements = Announcements(store)
    assert name in announcements.templates()
    before = rows(store)
    with pytest.raises(BrokenTemplate) as refused:
        announcements.start(BOSS, name)
    assert str(refused.value).startswith(
        f"the announcement template {FOLDER}/{name}.txt, line 4 does not render: "
    )
    assert "no_such_value" in str(refused.value)
    assert rows(store) == before  # nothing queued

    other = f"{name}x"
    (MAIL / f"{other}.txt").write_text(
        '{% extends "_base.txt" %}\n{% block body %}\n{% if %}\n{% endblock %}\n',
        encoding="utf-8",
    )
    try:
        with pytest.raises(BrokenTemplate) as refused:
            announcements.dry_run(BOSS, other)
        assert f"{FOLDER}/{other}.txt, line 3 does not render" in str(refused.value)
    finally:
        (MAIL / f"{other}.txt").unlink()


def test_only_a_supervisor_may_announce(store: Store) -> None:
    bulk_accounts(store, 5)
    announcements = Announcements(store)
    before = rows(store)
    with pytest.raises(Refused) as refused:
        announcements.start(f"staff:{SUPPORT}", TEMPLATE)
    assert (
        str(refused.value)
        == f"{SUPPORT} may not send announcements: that needs the supervisor role"
    )
    with pytest.raises(Refused):
        announcements.dry_run(f"staff:{SUPPORT}", TEMPLATE)
    with pytest.raises(UnknownStaff):
        announcements.start(f"staff:{DISABLED}", TEMPLATE)
    assert rows(store) == before
    run = announcements.start(BOSS, TEMPLATE)
    with pytest.raises(Refused):
        announcements.send(
            f"staff:{SUPPORT}",
            run.reference,
            mailer=SmtpMailer("127.0.0.1", 9, starttls=False),
            links=PortalLinks(store.settings),
        )
    assert announcements.run(run.reference).waiting == 5


def test_a_dry_run_counts_and_renders_one_sample_and_writes_nothing(store: Store) -> None:
    bulk_accounts(store, 200, opt_out_every=4)
    before = rows(store)

    dry = Announcements(store).dry_run(BOSS, TEMPLATE)

    assert (dry.recipients, dry.opted_out) == (150, 50)
    assert dry.sample is not None
    assert "control panel" in dry.sample.subject
    assert "Hello Customer 1," in dry.sample.text
    assert f"{store.settings.portal_base_url}/account" in dry.sample.text
    assert rows(store) == before
