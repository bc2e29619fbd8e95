"""Essential reminders are due and sent at the right dates, once, to opted-out accounts too."""

from __future__ import annotations

import email
import email.policy
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from domains import notice_delivery
from domains.mailer import FolderMailer
from domains.models import Account, Contact, Domain, Notice
from domains.notice_models import ReminderSent
from domains.notices import PENDING_GRACE
from domains.reminders import DueReminder, Reminders
from domains.store import Store
from domains.vocabulary import ReminderKind
from portal.links import PortalLinks
from tests.support.factories import account_data, contact_data, make_domain

#: The fixed clock of these tests.
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


def send(store: Store, outbox: Path, now: datetime) -> Counter[str]:
    """One pass at `now` by a new Reminders object (as after a restart): counts per kind."""
    report = Reminders(store).send_due(now, FolderMailer(outbox), PortalLinks(store.settings))
    assert report.sent == report.total, "every queued reminder went out in the same pass"
    return Counter(report.queued)


def mails(outbox: Path) -> list[EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(outbox.glob("*.eml"))
    ]


def body(message: EmailMessage) -> str:
    """The plain text, its lines joined (the mail refills paragraphs)."""
    part = message.get_body(("plain",))
    assert part is not None
    return " ".join(str(part.get_content()).split())


def expiring(store: Store, name: str, expires_at: datetime) -> tuple[Domain, Contact]:
    return make_domain(store, name, expires_at=expires_at)


def sent_rows(store: Store) -> list[tuple[str, str]]:
    with store.read() as session:
        rows = session.execute(select(col(ReminderSent.kind), col(ReminderSent.period))).all()
    return sorted((kind, period) for kind, period in rows)


def expiry_only(counts: Counter[str]) -> Counter[str]:
    return Counter({k: v for k, v in counts.items() if k != ReminderKind.WDRP})


# -- expiry reminders (ERRP) ------------------------------------------------------------------


def test_expiry_reminders_are_due_a_month_and_a_week_before_and_after_expiry(
    store: Store, outbox: Path
) -> None:
    expires = NOW + 40 * DAY
    expiring(store, "expiring.com", expires)

    assert expiry_only(send(store, outbox, NOW)) == Counter(), "40 days before: nothing"
    assert expiry_only(send(store, outbox, expires - 31 * DAY)) == Counter()

    month = expires - 30 * DAY
    assert expiry_only(send(store, outbox, month)) == {ReminderKind.EXPIRY_MONTH: 1}
    assert expiry_only(send(store, outbox, month)) == Counter(), "a second pass: nothing"
    assert expiry_only(send(store, outbox, expires - 8 * DAY)) == Counter()

    assert expiry_only(send(store, outbox, expires - 7 * DAY)) == {ReminderKind.EXPIRY_WEEK: 1}
    assert expiry_only(send(store, outbox, expires - DAY)) == Counter()
    assert expiry_only(send(store, outbox, expires - timedelta(minutes=1))) == Counter()

    assert expiry_only(send(store, outbox, expires)) == {ReminderKind.EXPIRED: 1}, "expired"
    assert expiry_only(send(store, outbox, expires + 2 * DAY)) == Counter()
    assert expiry_only(send(store, outbox, expires + 4 * DAY)) == Counter()

    period = "2030-04-10"
    assert [row for row in sent_rows(store) if row[0] != ReminderKind.WDRP] == sorted(
        [
            (ReminderKind.EXPIRY_MONTH, period),
            (ReminderKind.EXPIRY_WEEK, period),
            (ReminderKind.EXPIRED, period),
        ]
    )
    subjects = [str(m["Subject"]) for m in mails(outbox) if "expir" in str(m["Subject"])]
    assert subjects == [
        "Your domain expiring.com expires on 10 April 2030",
        "Your domain expiring.com expires on 10 April 2030",
        "Your domain expiring.com has expired",
    ]


def test_a_missed_window_is_not_sent_late(store: Store, outbox: Path) -> None:
    expires = NOW + 40 * DAY
    expiring(store, "late.com", expires)

    assert expiry_only(send(store, outbox, expires + 6 * DAY)) == Counter(), "past five days"
    # First seen five days before expiry: the week reminder only, never a late month one.
    expiring(store, "soon.com", expires + 11 * DAY)
    assert expiry_only(send(store, outbox, expires + 6 * DAY)) == {ReminderKind.EXPIRY_WEEK: 1}


def test_a_renewal_makes_the_next_reminders_due_again(store: Store, outbox: Path) -> None:
    expires = NOW + 30 * DAY
    domain, _ = expiring(store, "renewed.com", expires)
    assert expiry_only(send(store, outbox, NOW)) == {ReminderKind.EXPIRY_MONTH: 1}

    renewed = expires.replace(year=expires.year + 1)
    store.update_domain("staff:test", domain.name, None, {"expires_at": renewed})
    assert expiry_only(send(store, outbox, NOW)) == Counter(), "a year away now"

    next_year = renewed - 30 * DAY
    assert expiry_only(send(store, outbox, next_year)) == {ReminderKind.EXPIRY_MONTH: 1}
    months = [p for k, p in sent_rows(store) if k == ReminderKind.EXPIRY_MONTH]
    assert months == ["2030-03-31", "2031-03-31"]


def test_a_cctld_expiry_mail_does_not_claim_icann_policy(store: Store, outbox: Path) -> None:
    make_domain(store, "local.de", expires_at=NOW + 20 * DAY)
    assert send(store, outbox, NOW) == {ReminderKind.EXPIRY_MONTH: 1}, "no WDRP for a ccTLD"
    [message] = mails(outbox)
    text = body(message)
    assert "local.de" in text and "no domain expires unnoticed" in text
    assert "Expired Registration Recovery Policy" not in text


def test_the_expiry_mail_names_the_domain_says_why_and_how_to_renew(
    store: Store, outbox: Path
) -> None:
    _, registrant = expiring(store, "named.com", NOW + 7 * DAY)
    send(store, outbox, NOW)

    [message] = [m for m in mails(outbox) if "expires" in str(m["Subject"])]
    text = body(message)
    assert registrant.email in str(message["To"])
    assert "named.com" in text and "8 March 2030" in text
    assert "Expired Registration Recovery Policy" in text
    assert f"{store.settings.portal_base_url}/account" in text
    assert "opted out of marketing" in text


# -- the annual registration-data reminder (WDRP) ------------------------------------------


def two_gtld_domains_and_a_cctld_registrant(store: Store) -> tuple[Contact, Contact]:
    account = store.create_account("staff:test", account_data())
    holder = store.create_contact("staff:test", contact_data(), account_number=account.number)
    for name in ("alpha.com", "beta.org"):
        store.create_domain(
            "staff:test",
            {"name": name, "expires_at": NOW + 200 * DAY},
            account_number=account.number,
            contacts={"registrant": holder.handle},
        )
    _, local = make_domain(store, "local.de", expires_at=NOW + 200 * DAY)
    return holder, local


def test_wdrp_once_a_year_per_gtld_registrant_covering_all_their_domains(
    store: Store, outbox: Path
) -> None:
    holder, local = two_gtld_domains_and_a_cctld_registrant(store)

    due = Reminders(store).due(NOW)
    assert [(d.kind, d.contact_id, d.period) for d in due] == [
        (ReminderKind.WDRP, holder.id, "2030")
    ], "one for the gTLD registrant, none for the ccTLD-only one"

    assert send(store, outbox, NOW) == {ReminderKind.WDRP: 1}
    assert send(store, outbox, NOW + 100 * DAY) == Counter(), "once in 2030"
    assert send(store, outbox, datetime(2031, 1, 2, tzinfo=UTC)) == {ReminderKind.WDRP: 1}

    [message, _] = mails(outbox)
    text = body(message)
    assert holder.email in str(message["To"]) and local.email not in str(message["To"])
    assert "alpha.com" in text and "beta.org" in text and "local.de" not in text
    assert "Whois Data Reminder Policy" in text and "once a year" in text
    for value in (holder.name, holder.email, holder.city, holder.voice):
        assert value and value in text, "the data on file, as stored"
    assert f"{store.settings.portal_base_url}/account" in text


def test_a_new_domain_does_not_bring_a_second_wdrp_in_the_same_year(
    store: Store, outbox: Path
) -> None:
    holder, _ = two_gtld_domains_and_a_cctld_registrant(store)
    assert send(store, outbox, NOW) == {ReminderKind.WDRP: 1}
    with store.read() as session:
        account = session.get(Account, holder.account_id)
    assert account is not None
    store.create_domain(
        "staff:test",
        {"name": "aardvark.net", "expires_at": NOW + 300 * DAY},
        account_number=account.number,
        contacts={"registrant": holder.handle},
    )
    assert send(store, outbox, NOW + DAY) == Counter()


# -- essential, once -----------------------------------------------------------------------


def test_reminders_reach_an_account_that_opted_out_of_marketing(store: Store, outbox: Path) -> None:
    domain, registrant = expiring(store, "optedout.com", NOW + 20 * DAY)
    with store.write() as session:
        account = session.get(Account, domain.account_id)
        assert account is not None
        account.marketing_opt_out_at = NOW - 100 * DAY

    assert send(store, outbox, NOW) == {ReminderKind.EXPIRY_MONTH: 1, ReminderKind.WDRP: 1}
    assert {str(m["To"]) for m in mails(outbox)} == {f"{registrant.name} <{registrant.email}>"}
    with store.read() as session:
        categories = set(session.execute(select(col(Notice.category), col(Notice.status))).all())
    assert categories == {("essential", "sent")}


def test_a_restart_never_doubles_a_reminder(store: Store, outbox: Path) -> None:
    expiring(store, "restart.com", NOW + 5 * DAY)
    assert send(store, outbox, NOW) == {ReminderKind.EXPIRY_WEEK: 1, ReminderKind.WDRP: 1}
    for _ in range(3):  # each pass a new Reminders object on the same store
        assert Reminders(store).due(NOW) == []
        assert send(store, outbox, NOW) == Counter()
    assert len(mails(outbox)) == 2


def test_a_due_reminder_recorded_meanwhile_is_skipped_not_sent_twice(store: Store) -> None:
    domain, registrant = expiring(store, "raced.com", NOW + 5 * DAY)
    assert registrant.id is not None and domain.id is not None
    due = DueReminder(ReminderKind.EXPIRY_WEEK, domain.id, "2030-03-06", registrant.id)
    reminders = Reminders(store)
    assert reminders.record(due, NOW) is not None
    assert Reminders(store).record(due, NOW) is None, "UNIQUE(domain_id, kind, period)"
    with store.read() as session:
        assert session.execute(select(func.count()).select_from(Notice)).scalar() == 1


def test_two_concurrent_passes_never_double(store: Store, outbox: Path) -> None:
    for n in range(6):
        expiring(store, f"concurrent{n}.com", NOW + (3 + n) * DAY)
    reports = []
    barrier = threading.Barrier(2)

    def one_pass() -> None:
        reminders = Reminders(store)
        due = reminders.due(NOW)  # both see everything due before either records it
        barrier.wait()
        recorded = [reminders.record(reminder, NOW) for reminder in due]
        reports.append(recorded)

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    first, second = reports
    queued = [i for i in first + second if i is not None]
    assert len(first) == len(second) == 12, "6 week reminders and 6 WDRP each"
    assert len(queued) == 12 and len(set(queued)) == 12, "each reminder queued exactly once"
    with store.read() as session:
        assert session.execute(select(func.count()).select_from(Notice)).scalar() == 12
        assert session.execute(select(func.count()).select_from(ReminderSent)).scalar() == 12


def test_two_concurrent_full_passes_send_each_reminder_once(store: Store, outbox: Path) -> None:
    for n in range(5):
        expiring(store, f"both{n}.com", NOW + (10 + n) * DAY)
    counts: list[Counter[str]] = []

    def one_pass() -> None:
        counts.append(send(store, outbox, NOW))

    threads = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts, Counter()) == {ReminderKind.EXPIRY_MONTH: 5, ReminderKind.WDRP: 5}
    assert len(mails(outbox)) == 10


def test_a_crash_before_delivery_leaves_the_notice_for_deliver_pending(
    store: Store, outbox: Path
) -> None:
    domain, registrant = expiring(store, "crashed.com", NOW + 25 * DAY)
    assert registrant.id is not None and domain.id is not None
    due = DueReminder(ReminderKind.EXPIRY_MONTH, domain.id, "2030-03-26", registrant.id)
    notice_id = Reminders(store).record(due, NOW)  # committed; the process "dies" here

    assert [d.kind for d in Reminders(store).due(NOW)] == [ReminderKind.WDRP], "not again"
    later = datetime.now(UTC) + PENDING_GRACE + timedelta(seconds=1)
    done = notice_delivery.deliver_pending(
        store, mailer=FolderMailer(outbox), links=PortalLinks(store.settings), now=later
    )
    assert [(n.id, n.status) for n in done] == [(notice_id, "sent")]
    [message] = mails(outbox)
    assert "crashed.com" in str(message["Subject"]) and "crashed.com" in body(message)
