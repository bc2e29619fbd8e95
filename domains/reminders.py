"""Essential reminders (ICANN WDRP, ERRP): which are due, each recorded once and sent once."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from domains.correction_notices import aware, is_cctld
from domains.mailer import Mailer
from domains.models import Contact, Domain, DomainContact, Notice
from domains.notice_delivery import deliver
from domains.notice_models import ReminderSent
from domains.notices import RequestLinks, queue
from domains.reminder_mail import REMINDER_REF
from domains.store import Store
from domains.vocabulary import ContactRole, NoticeCategory, NoticeStatus, ReminderKind

log = logging.getLogger(__name__)

#: Who sends the reminders (a system actor: no staff login is needed for a service).
ACTOR = "system:reminders"
#: The expiry reminders and their windows before (or after) the expiry time, (start, end]
#: relative to now: a month before, a week before, and within five days after. The windows do
#: not overlap, so a domain first seen a few days before its expiry gets the week reminder
#: only, and one first seen after its expiry gets the expired one only. A reminder whose window
#: has passed is not sent late: at six days after the expiry nothing is due any more.
EXPIRY_WINDOWS: dict[ReminderKind, tuple[timedelta, timedelta]] = {
    ReminderKind.EXPIRY_MONTH: (timedelta(days=7), timedelta(days=30)),
    ReminderKind.EXPIRY_WEEK: (timedelta(0), timedelta(days=7)),
    ReminderKind.EXPIRED: (timedelta(days=-5), timedelta(0)),
}
#: How far back a reminder_sent row can matter to a domain still in a window: rows older than
#: this are left out of the reads (a month before the earliest expiry still in a window).
LOOKBACK = timedelta(days=40)


@dataclass(frozen=True)
class DueReminder:
    """One reminder due now: its kind, the domain it is keyed on, its period and registrant."""

    kind: ReminderKind
    domain_id: int
    period: str
    contact_id: int


@dataclass
class ReminderReport:
    """What a pass did: reminders queued per kind, those another pass had already taken, and
    how many of the queued ones were sent (the rest stay queued for `deliver_pending`)."""

    queued: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    sent: int = 0
    notice_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many reminders this pass queued."""
        return sum(self.queued.values())


def expiry_period(expires_at: datetime) -> str:
    """The period of an expiry reminder: the expiry date (UTC), YYYY-MM-DD."""
    return f"{aware(expires_at):%Y-%m-%d}"


def expiry_kind(expires_at: datetime, now: datetime) -> ReminderKind | None:
    """Which expiry reminder's window `expires_at` is in at `now`, if any."""
    for kind, (start, end) in EXPIRY_WINDOWS.items():
        if now + start < aware(expires_at) <= now + end:
            return kind
    return None


class Reminders:
    """The essential reminders of a store: what is due at a time, and a pass that sends it.

    Expiry reminders (ERRP) go to the registrant of record of each domain, keyed on the domain,
    its kind and its expiry date (a renewal moves the date, so the next ones are due again).

    The registration-data reminder (WDRP) goes once per calendar year to each registrant
    contact that holds domains outside the ccTLDs (in its own account), listing all of them:
    due from the first pass of the year. Its row is keyed on the registrant's lowest-numbered
    such domain that has no reminder row of that year yet (period: the year); a registrant
    counts as reminded in a year once a reminder notice of that year went to that contact.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- what is due ------------------------------------------------------------------------

    def due(self, now: datetime) -> list[DueReminder]:
        """Every reminder due at `now` that no pass has recorded yet (expiry ones first)."""
        with self.store.read() as session:
            return self._expiry_due(session, now) + self._wdrp_due(session, now)

    def _expiry_due(self, session: Session, now: datetime) -> list[DueReminder]:
        earliest = now + min(start for start, _ in EXPIRY_WINDOWS.values())
        latest = now + max(end for _, end in EXPIRY_WINDOWS.values())
        sent = (
            select(ReminderSent)
            .where(
                col(ReminderSent.kind).in_(list(EXPIRY_WINDOWS)),
                col(ReminderSent.created_at) > now - LOOKBACK,
            )
            .subquery()
        )
        rows = session.execute(
            select(
                col(Domain.id),
                col(Domain.expires_at),
                col(DomainContact.contact_id),
                sent.c.kind,
                sent.c.period,
            )
            .join(
                DomainContact,
                and_(
                    col(DomainContact.domain_id) == col(Domain.id),
                    col(DomainContact.role) == ContactRole.REGISTRANT,
                ),
            )
            .outerjoin(sent, sent.c.domain_id == col(Domain.id))
            .where(col(Domain.expires_at) > earliest, col(Domain.expires_at) <= latest)
            .order_by(col(Domain.expires_at), col(Domain.id))
        ).all()
        recorded: set[tuple[int, str, str]] = set()
        domains: dict[int, tuple[datetime, int]] = {}
        for domain_id, expires_at, contact_id, kind, period in rows:
            domains[domain_id] = (expires_at, contact_id)
            if kind is not None:
                recorded.add((domain_id, kind, period))
        due = []
        for domain_id, (expires_at, contact_id) in domains.items():
            kind = expiry_kind(expires_at, now)
            period = expiry_period(expires_at)
            if kind is not None and (domain_id, kind, period) not in recorded:
                due.append(DueReminder(kind, domain_id, period, contact_id))
        return due

    def _wdrp_due(self, session: Session, now: datetime) -> list[DueReminder]:
        year = f"{now.year}"
        tlds = session.execute(select(col(Domain.tld)).distinct()).scalars()
        gtlds = sorted(tld for tld in tlds if not is_cctld(tld))
        if not gtlds:
            return []
        reminded = (
            select(col(Notice.contact_id))
            .join(ReminderSent, col(ReminderSent.notice_id) == col(Notice.id))
            .where(col(ReminderSent.kind) == ReminderKind.WDRP, col(ReminderSent.period) == year)
        )
        keyed = select(col(ReminderSent.domain_id)).where(
            col(ReminderSent.kind) == ReminderKind.WDRP, col(ReminderSent.period) == year
        )
        rows = session.execute(
            select(col(DomainContact.contact_id), func.min(col(Domain.id)))
            .join(Domain, col(Domain.id) == col(DomainContact.domain_id))
            .join(Contact, col(Contact.id) == col(DomainContact.contact_id))
            .where(
                col(DomainContact.role) == ContactRole.REGISTRANT,
                col(Domain.tld).in_(gtlds),
                col(Domain.account_id) == col(Contact.account_id),
                col(Domain.id).not_in(keyed),
                col(DomainContact.contact_id).not_in(reminded),
            )
            .group_by(col(DomainContact.contact_id))
            .order_by(col(DomainContact.contact_id))
        ).all()
        return [
            DueReminder(ReminderKind.WDRP, domain_id, year, contact_id)
            for contact_id, domain_id in rows
        ]

    # -- sending ----------------------------------------------------------------------------

    def send_due(self, now: datetime, mailer: Mailer, links: RequestLinks) -> ReminderReport:
        """Record and queue every reminder due at `now`; send them `mail.notice_batch` at a time.

        Each reminder is one transaction: its reminder_sent row and its essential notice. The
        row's UNIQUE(domain_id, kind, period) makes a pass that finds it recorded (a concurrent
        pass, or one before a restart) skip it. The notices are sent after their commits; one
        left queued by a crash in between is sent by `deliver_pending`, never queued again.
        """
        report = ReminderReport()
        batch: list[int] = []
        size = max(1, self.store.settings.mail.notice_batch)
        for reminder in self.due(now):
            notice_id = self.record(reminder, now)
            if notice_id is None:
                report.skipped += 1
                continue
            report.queued[reminder.kind] += 1
            report.notice_ids.append(notice_id)
            batch.append(notice_id)
            if len(batch) >= size:  # a long pass (January's WDRP) sends as it goes
                report.sent += self._deliver(batch, mailer, links)
                batch = []
        report.sent += self._deliver(batch, mailer, links)
        log.info(
            "reminders: %d queued, %d sent, %d already recorded",
            report.total,
            report.sent,
            report.skipped,
        )
        return report

    def record(self, reminder: DueReminder, now: datetime) -> int | None:
        """Record one reminder and queue its notice in one transaction: the notice's id, or
        None when that domain, kind and period is already recorded."""
        template = "reminder_wdrp" if reminder.kind == ReminderKind.WDRP else "reminder_expiry"
        try:
            with self.store.write() as session:
                row = ReminderSent(
                    domain_id=reminder.domain_id,
                    kind=reminder.kind,
                    period=reminder.period,
                    created_at=now,
                )
                session.add(row)
                session.flush()
                notice = queue(
                    session,
                    template=template,
                    category=NoticeCategory.ESSENTIAL,
                    subject_ref=f"{REMINDER_REF}{row.id}",
                    recipient="contact",
                    contact_id=reminder.contact_id,
                )
                row.notice_id = notice.id
                notice_id = notice.id
        except IntegrityError:
            log.info(
                "reminder %s for domain %s already recorded", reminder.kind, reminder.domain_id
            )
            return None
        return notice_id

    def _deliver(self, notice_ids: Iterable[int], mailer: Mailer, links: RequestLinks) -> int:
        ids = list(notice_ids)
        if not ids:
            return 0
        done = deliver(self.store, ids, mailer=mailer, links=links)
        return sum(1 for notice in done if notice.status == NoticeStatus.SENT)
