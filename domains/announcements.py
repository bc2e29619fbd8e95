"""Announcements: one marketing mail per customer not opted out: queued at once, sent in batches."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import TemplateError, TemplateSyntaxError
from sqlalchemy import func, insert, literal, or_, select, update
from sqlmodel import Session, col

from domains import audit, staff
from domains.errors import InterlinkError
from domains.mail_compose import ANNOUNCEMENT, NoticeError, environment
from domains.mailer import Mailer
from domains.models import Account, Notice, utcnow
from domains.notice_delivery import STOP_AFTER_TRANSPORT_ERRORS, deliver
from domains.notice_models import Announcement
from domains.notice_rows import claim_lease
from domains.notices import PENDING_GRACE, RequestLinks, prepare
from domains.staff import Permission
from domains.store import Store
from domains.vocabulary import AccountStatus, NoticeCategory, NoticeStatus

log = logging.getLogger(__name__)

#: The folder of the announcement templates, inside the mail templates.
FOLDER = "announcements"
#: What a template's name may be (its notices' template is ANNOUNCEMENT + name, 64 at most).
NAME = re.compile(r"[a-z0-9][a-z0-9_]{0,49}")
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: A progress report: (notices settled so far, notices the run queued).
Progress = Callable[[int, int], None]


class AnnouncementError(InterlinkError):
    """An announcement cannot be started or sent; the text holds no personal data."""


class UnknownTemplate(AnnouncementError):
    """No announcement template has this name."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        listed = ", ".join(known) or "none"
        super().__init__(f"there is no announcement template {name!r}; the templates: {listed}")


class BrokenTemplate(AnnouncementError):
    """An announcement template does not compile or does not render; where, by file and line."""

    def __init__(self, where: str, line: int | None, reason: str) -> None:
        self.where, self.line = where, line
        at = f"{where}, line {line}" if line else where
        super().__init__(f"the announcement template {at} does not render: {reason}")


class UnknownRun(AnnouncementError):
    """No announcement run has this reference."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"there is no announcement {reference!r}; `--list` shows them")


class TransportFailing(AnnouncementError):
    """The mailer kept failing: the run stopped, the rest of its notices wait."""

    def __init__(self, reference: str, waiting: int) -> None:
        super().__init__(
            f"the mail transport keeps failing: announcement {reference} stopped with {waiting} "
            f"notices waiting; send them later with --resume {reference}"
        )


@dataclass(frozen=True)
class Sample:
    """One rendered announcement, as its first recipient would get it."""

    subject: str
    text: str


@dataclass(frozen=True)
class DryRun:
    """What `start` would do now: recipients, customers who opted out, and a sample."""

    recipients: int
    opted_out: int
    sample: Sample | None


@dataclass(frozen=True)
class AnnouncementRun:
    """A run and where its notices stand (counts only, never an address)."""

    reference: str
    template: str
    subject: str
    started_by: str
    created_at: datetime
    finished_at: datetime | None
    queued: int  # how many the run queued when it started
    sent: int
    suppressed: int  # opted out after the run started
    failed: int
    waiting: int  # still queued
    sending: int  # claimed by a deliverer (one that was stopped holds them until its lease)

    @property
    def settled(self) -> int:
        """The notices that are done with: sent, suppressed or failed."""
        return self.sent + self.suppressed + self.failed


def notice_template(name: str) -> str:
    """The template a notice of this announcement carries."""
    return ANNOUNCEMENT + name


class Announcements:
    """Marketing announcements to every customer who did not opt out (a supervisor's job)."""

    def __init__(self, store: Store, links: RequestLinks | None = None) -> None:
        """`links`: the portal's, for the links of a rendered sample (else its front page)."""
        self.store = store
        self.links: RequestLinks = links or _Links(store)

    # -- templates -------------------------------------------------------------------------

    def templates(self) -> tuple[str, ...]:
        """The announcement templates: `announcements/NAME.txt` (and optional NAME.html)."""
        names = []
        for path in environment().list_templates(extensions=["txt"]):
            folder, _, file = path.rpartition("/")
            name = file.removesuffix(".txt")
            if folder == FOLDER and NAME.fullmatch(name):
                names.append(name)
        return tuple(sorted(names))

    def check(self, name: str) -> Sample | None:
        """Compile the template and render it for the first recipient (None: nobody to render
        for); UnknownTemplate or BrokenTemplate (its file and line) when that fails."""
        known = self.templates()
        if name not in known:
            raise UnknownTemplate(name, known)
        env = environment()
        for suffix in (".txt", ".html"):
            path = f"{FOLDER}/{name}{suffix}"
            try:
                env.get_template(path)
            except TemplateSyntaxError as exc:
                raise BrokenTemplate(exc.name or path, exc.lineno, exc.message or "") from None
            except TemplateError:
                if suffix == ".txt":
                    raise
        with self.store.read() as session:
            return self._sample(session, name)

    def dry_run(self, actor: str, name: str) -> DryRun:
        """Recipients, opted-out customers and one rendered sample; nothing is written."""
        with self.store.read() as session:
            staff.require(session, actor, Permission.SEND_ANNOUNCEMENT)
        sample = self.check(name)
        with self.store.read() as session:
            rows = session.execute(
                select(col(Account.marketing_opt_out_at).is_(None), func.count())
                .where(col(Account.status) != AccountStatus.CLOSED)
                .group_by(col(Account.marketing_opt_out_at).is_(None))
            ).all()
        counts = {bool(wanted): count for wanted, count in rows}
        return DryRun(counts.get(True, 0), counts.get(False, 0), sample)

    # -- a run -----------------------------------------------------------------------------

    def start(self, actor: str, name: str) -> AnnouncementRun:
        """Queue one marketing notice per customer who did not opt out (closed accounts get
        none), with the run's row, in one transaction; the notices carry its reference."""
        with self.store.read() as session:
            staff.require(session, actor, Permission.SEND_ANNOUNCEMENT)
        sample = self.check(name)
        reference = new_reference()
        now = utcnow()
        with self.store.write() as session:
            staff.require(session, actor, Permission.SEND_ANNOUNCEMENT)
            run = Announcement(
                reference=reference,
                template=name,
                subject=(sample.subject if sample else name)[:255],
                started_by=actor,
                created_at=now,
            )
            session.add(run)
            session.flush()
            run.queued = _queue_all(session, name, reference, now)
            audit.record(
                session,
                actor=actor,
                action="announcement.start",
                entity_type="announcement",
                entity_id=reference,
                changes={"template": name, "queued": run.queued},
            )
        log.info("announcement %s %s queued %d notices", reference, name, run.queued)
        return self.run(reference)

    def send(
        self,
        actor: str,
        reference: str,
        *,
        mailer: Mailer,
        links: RequestLinks,
        progress: Progress | None = None,
    ) -> AnnouncementRun:
        """Send the run's queued notices in batches through notice delivery: each is claimed,
        checked against the opt-out at that moment, sent once and recorded. Notices claimed by
        a stopped run are queued again once their lease lapsed. The run is finished when none
        is left queued or being sent."""
        with self.store.read() as session:
            staff.require(session, actor, Permission.SEND_ANNOUNCEMENT)
            reference = _row(session, reference).reference
        self._requeue_lapsed(reference)
        with self.store.read() as session:
            ids = list(
                session.execute(
                    select(col(Notice.id))
                    .where(
                        col(Notice.subject_ref) == reference,
                        col(Notice.status) == NoticeStatus.QUEUED,
                    )
                    .order_by(col(Notice.id))
                ).scalars()
            )
        before = self.run(reference)
        done, total = before.settled, before.queued
        if progress:
            progress(done, total)
        size = max(1, self.store.settings.mail.notice_batch)
        for batch in _chunks(ids, size):
            results = deliver(self.store, batch, mailer=mailer, links=links)
            settled = [n for n in results if n.status not in _UNSETTLED]
            done += len(settled)
            if progress:
                progress(done, total)
            if not settled and len(results) >= min(len(batch), STOP_AFTER_TRANSPORT_ERRORS):
                again = sum(1 for n in results if n.status == NoticeStatus.QUEUED)
                if again >= min(len(batch), STOP_AFTER_TRANSPORT_ERRORS):
                    log.warning("announcement %s stopped: the transport keeps failing", reference)
                    raise TransportFailing(reference, self.run(reference).waiting)
        return self._finish(reference)

    def resume(
        self,
        actor: str,
        reference: str,
        *,
        mailer: Mailer,
        links: RequestLinks,
        progress: Progress | None = None,
    ) -> AnnouncementRun:
        """Send what a stopped run left: the same as `send`."""
        return self.send(actor, reference, mailer=mailer, links=links, progress=progress)

    def run(self, reference: str) -> AnnouncementRun:
        """One run and its counts; UnknownRun if there is none."""
        with self.store.read() as session:
            row = _row(session, reference)
            return _view(row, _counts(session, [reference]).get(reference, {}))

    def runs(self, limit: int = 50) -> list[AnnouncementRun]:
        """The newest runs first, each with its counts."""
        with self.store.read() as session:
            rows = list(
                session.execute(
                    select(Announcement).order_by(col(Announcement.id).desc()).limit(limit)
                ).scalars()
            )
            counts = _counts(session, [row.reference for row in rows])
            return [_view(row, counts.get(row.reference, {})) for row in rows]

    def held_until(self, reference: str) -> datetime | None:
        """When the last claim on the run's notices lapses (None: no notice is claimed)."""
        with self.store.read() as session:
            latest = session.execute(
                select(func.max(col(Notice.claimed_at))).where(
                    col(Notice.subject_ref) == reference,
                    col(Notice.status) == NoticeStatus.SENDING,
                )
            ).scalar()
        if latest is None:
            return None
        return _aware(latest) + claim_lease(self.store.settings.mail)

    # -- inside ----------------------------------------------------------------------------

    def _sample(self, session: Session, name: str) -> Sample | None:
        account_id = session.execute(
            select(col(Account.id)).where(_wanted()).order_by(col(Account.id)).limit(1)
        ).scalar()
        if account_id is None:
            return None
        notice = Notice(
            id=0,
            created_at=utcnow(),
            category=NoticeCategory.MARKETING,
            template=notice_template(name),
            recipient="account",
            account_id=account_id,
        )
        try:
            message = prepare(session, self.store.settings, self.links, notice, {})
        except NoticeError as exc:
            raise AnnouncementError(f"the announcement {name} cannot be made: {exc}") from None
        except Exception as exc:
            where, line = _template_line(exc.__traceback__) or (f"{FOLDER}/{name}.txt", None)
            raise BrokenTemplate(where, line, f"{type(exc).__name__}: {exc}") from None
        if isinstance(message, str):  # not possible for a customer who did not opt out
            return None
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        return Sample(str(message["Subject"]), str(text))

    def _requeue_lapsed(self, reference: str) -> int:
        """Queue again the run's notices whose claim lapsed (their deliverer was stopped)."""
        now = utcnow()
        expired = now - claim_lease(self.store.settings.mail)
        with self.store.write() as session:
            result = session.execute(
                update(Notice)
                .where(
                    col(Notice.subject_ref) == reference,
                    col(Notice.status) == NoticeStatus.SENDING,
                    or_(col(Notice.claimed_at).is_(None), col(Notice.claimed_at) < expired),
                )
                .values(
                    status=NoticeStatus.QUEUED,
                    claimed_at=None,
                    claimed_by=None,
                    next_attempt_at=now,
                    version=col(Notice.version) + 1,
                )
            )
            count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.warning(
                "announcement %s: %d notices of a stopped run queued again", reference, count
            )
        return count

    def _finish(self, reference: str) -> AnnouncementRun:
        with self.store.write() as session:
            row = _row(session, reference)
            left = session.execute(
                select(func.count())
                .select_from(Notice)
                .where(col(Notice.subject_ref) == reference, col(Notice.status).in_(_UNSETTLED))
            ).scalar_one()
            if not left and row.finished_at is None:
                row.finished_at = utcnow()
                log.info("announcement %s finished", reference)
        return self.run(reference)


_UNSETTLED = (NoticeStatus.QUEUED, NoticeStatus.SENDING)


class _Links:
    """For a sample without the portal's links: every link leads to its front page."""

    def __init__(self, store: Store) -> None:
        self.base = store.settings.portal_base_url.rstrip("/")

    def status(self, reference: str) -> str:
        return self.base

    def confirm(self, token: str) -> str:
        return self.base

    def unsubscribe(self, token: str) -> str:
        return self.base


def new_reference() -> str:
    """A public reference of an announcement run: unguessable, easy to read out."""
    body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))
    return f"AN-{body[:5]}-{body[5:]}"


def _wanted() -> Any:
    """The accounts an announcement goes to: not closed, not opted out of marketing."""
    return (col(Account.status) != AccountStatus.CLOSED) & col(Account.marketing_opt_out_at).is_(
        None
    )


def _queue_all(session: Session, name: str, reference: str, now: datetime) -> int:
    """One INSERT ... SELECT: a queued marketing notice per wanted account; how many."""
    table = Notice.__table__  # type: ignore[attr-defined]
    columns = table.c

    def value(column: str, data: Any) -> Any:
        return literal(data, columns[column].type)

    source = select(
        value("created_at", now),
        value("category", str(NoticeCategory.MARKETING)),
        value("template", notice_template(name)),
        value("recipient", "account"),
        col(Account.id),
        value("subject_ref", reference),
        value("status", str(NoticeStatus.QUEUED)),
        value("attempts", 0),
        # Left to this run: a sweep (deliver_pending) takes them only if it stopped meanwhile.
        value("next_attempt_at", now + PENDING_GRACE),
        value("version", 1),
    ).where(_wanted())
    names = [
        "created_at",
        "category",
        "template",
        "recipient",
        "account_id",
        "subject_ref",
        "status",
        "attempts",
        "next_attempt_at",
        "version",
    ]
    session.execute(insert(table).from_select(names, source.order_by(col(Account.id))))
    return int(
        session.execute(
            select(func.count()).select_from(Notice).where(col(Notice.subject_ref) == reference)
        ).scalar_one()
    )


def _row(session: Session, reference: str) -> Announcement:
    row = session.execute(
        select(Announcement).where(col(Announcement.reference) == reference.strip().upper())
    ).scalar()
    if row is None:
        raise UnknownRun(reference)
    return row


def _counts(session: Session, references: list[str]) -> dict[str, dict[str, int]]:
    if not references:
        return {}
    out: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(col(Notice.subject_ref), col(Notice.status), func.count())
        .where(col(Notice.subject_ref).in_(references))
        .group_by(col(Notice.subject_ref), col(Notice.status))
    ).all()
    for reference, status, count in rows:
        out.setdefault(reference, {})[status] = count
    return out


def _view(row: Announcement, counts: dict[str, int]) -> AnnouncementRun:
    return AnnouncementRun(
        reference=row.reference,
        template=row.template,
        subject=row.subject,
        started_by=row.started_by,
        created_at=_aware(row.created_at),
        finished_at=_aware(row.finished_at) if row.finished_at else None,
        queued=row.queued,
        sent=counts.get(NoticeStatus.SENT, 0),
        suppressed=counts.get(NoticeStatus.SUPPRESSED, 0),
        failed=counts.get(NoticeStatus.FAILED, 0),
        waiting=counts.get(NoticeStatus.QUEUED, 0),
        sending=counts.get(NoticeStatus.SENDING, 0),
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _template_line(tb: TracebackType | None) -> tuple[str, int] | None:
    """The innermost template frame of a render error: its file (relative to the mail
    templates) and the template's line (mapped from the compiled code's line, unless Jinja2
    rewrote the traceback already)."""
    root = Path(__file__).resolve().parent / "templates" / "mail"
    found = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith((".txt", ".html")):
            try:
                shown = Path(code.co_filename).resolve().relative_to(root).as_posix()
            except ValueError:
                shown = Path(code.co_filename).name
            line = tb.tb_lineno
            if code.co_name == "root" or code.co_name.startswith("block_"):  # compiled code
                line = environment().get_template(shown).get_corresponding_lineno(line)
            found = (shown, line)
        tb = tb.tb_next
    return found
