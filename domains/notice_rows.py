"""Notice rows for delivery: claims, outcomes and due lists, each step one transaction."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Update, and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from domains import address_failures
from domains.db import is_transient
from domains.mailer import scrub
from domains.models import Account, Notice, utcnow
from domains.notices import PENDING_GRACE
from domains.settings import MailSettings
from domains.store import Store
from domains.vocabulary import NoticeCategory, NoticeStatus

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Tries of one database step (claim, read, release) within a pass on a transient error.
DATABASE_TRIES = 4


class Outcome(StrEnum):
    """What a try of a notice ends in; RETRY queues it again after a back-off."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


@dataclass(frozen=True)
class AccountFacts:
    """What a marketing notice to an account depends on, read in its claim's transaction."""

    account: Account | None  # None: the account is gone
    failing: bool  # the account's address is known to fail


@dataclass(frozen=True)
class Claim:
    """A claimed notice; for a marketing notice to an account (an announcement), the facts
    its sending depends on, read with the claim (`facts`; None for every other notice)."""

    notice: Notice
    facts: AccountFacts | None = None


def claim_lease(mail: MailSettings) -> timedelta:
    """How long a claim holds: far longer than sending a notice with every retry can take."""
    # Each attempt: up to ~10 socket operations of `timeout` each, then the back-off.
    attempt = 10 * mail.timeout + mail.retry_wait_max
    return max(timedelta(minutes=30), timedelta(seconds=2 * (mail.retries + 1) * attempt))


def retry_wait(mail: MailSettings, first_error_at: datetime, now: datetime) -> timedelta:
    """The back-off before the next pass tries a notice again after a transient error.

    As long as the errors have lasted so far (so each wait about doubles the time since the
    first), from `notice_retry_wait` up to `notice_retry_wait_max`, spread by +-20% so that
    notices that failed together are not all tried again at the same moment.
    """
    lasted = (now - first_error_at).total_seconds()
    wait = min(mail.notice_retry_wait_max, max(mail.notice_retry_wait, lasted))
    return timedelta(seconds=wait * random.uniform(0.8, 1.2))


def step(store: Store, step: Callable[..., T], *args: Any, patient: bool = False) -> T:
    """Run a database step, trying again on a transient error with back-off.

    A few tries in a row (DATABASE_TRIES), or with `patient` for as long as an outage may last
    (`sync.database_outage_limit`): then the last error is raised.
    """
    sync = store.settings.sync
    retrying = Retrying(
        stop=stop_after_delay(sync.database_outage_limit)
        if patient
        else stop_after_attempt(DATABASE_TRIES),
        wait=wait_exponential(
            multiplier=sync.database_retry_wait, max=sync.database_retry_wait_max
        ),
        retry=retry_if_exception(is_transient),
        reraise=True,
    )
    return retrying(step, *args)


def due(now: datetime) -> ColumnElement[bool]:
    """A queued notice that a pass at `now` may take."""
    return and_(
        col(Notice.status) == NoticeStatus.QUEUED,
        or_(
            col(Notice.next_attempt_at) <= now,
            and_(
                col(Notice.next_attempt_at).is_(None),
                col(Notice.created_at) <= now - PENDING_GRACE,
            ),
        ),
    )


# The statements of every notice's claim and send, built once (Core, on the notice table):
# they run per notice, and building a statement costs more than SQLite takes to run it.
_N = Notice.__table__  # type: ignore[attr-defined]
_MINE = and_(_N.c.status == NoticeStatus.SENDING, _N.c.claimed_by == bindparam("holder"))
_TAKE = {
    "status": NoticeStatus.SENDING,
    "claimed_at": bindparam("now"),
    "claimed_by": bindparam("holder"),
    "version": _N.c.version + 1,
}
_CLAIM_QUEUED = (
    update(_N)
    .where(_N.c.id == bindparam("notice_id"), or_(_N.c.status == NoticeStatus.QUEUED, _MINE))
    .values(_TAKE)
    .returning(*_N.c)
)
_CLAIM_DUE = (
    update(_N)
    .where(
        _N.c.id == bindparam("notice_id"),
        or_(
            and_(  # the same condition as `due`
                _N.c.status == NoticeStatus.QUEUED,
                or_(
                    _N.c.next_attempt_at <= bindparam("due_by"),
                    and_(
                        _N.c.next_attempt_at.is_(None),
                        _N.c.created_at <= bindparam("queued_by"),
                    ),
                ),
            ),
            _MINE,
        ),
    )
    .values(_TAKE)
    .returning(*_N.c)
)
_RECORD_SENT = (
    update(_N)
    .where(_N.c.id == bindparam("notice_id"), _N.c.status != NoticeStatus.SENT)
    .values(
        status=NoticeStatus.SENT,
        sent_at=bindparam("sent"),
        subject=bindparam("subject_line"),
        error=bindparam("note"),
        claimed_by=None,
        next_attempt_at=None,
        attempts=_N.c.attempts + bindparam("attempts"),
        version=_N.c.version + 1,
    )
    .returning(_N.c.id)
)


_ACCOUNT = select(Account.__table__).where(  # type: ignore[attr-defined]
    Account.__table__.c.id == bindparam("account_id")  # type: ignore[attr-defined]
)


def due_ids(store: Store, now: datetime, after: int, size: int) -> list[int]:
    with store.read() as session:
        return list(
            session.execute(
                select(col(Notice.id))
                .where(due(now), col(Notice.id) > after)
                .order_by(col(Notice.id))
                .limit(size)
            ).scalars()
        )


def _changed(session: Session, statement: Update) -> int:
    """Run an UPDATE; how many rows it changed."""
    result = session.execute(statement)
    return result.rowcount if isinstance(result, CursorResult) else 0


def requeue_abandoned(store: Store, now: datetime) -> int:
    """Queue again the notices claimed longer ago than the lease; how many."""
    expired = now - claim_lease(store.settings.mail)
    with store.write() as session:
        count = _changed(
            session,
            update(Notice)
            .where(
                col(Notice.status) == NoticeStatus.SENDING,
                # No claim time: claimed before claims were timed (migration 0005).
                or_(col(Notice.claimed_at).is_(None), col(Notice.claimed_at) < expired),
            )
            .values(
                status="queued",
                claimed_at=None,
                claimed_by=None,
                next_attempt_at=now,
                version=col(Notice.version) + 1,
            ),
        )
    if count:
        log.warning("%d notices abandoned while being sent are queued again", count)
    return count


def claim(store: Store, notice_id: int, holder: str, due_by: datetime | None) -> Claim | None:
    """Mark a queued notice as being sent by `holder` (a pass); None if it is not queued (any
    more). With `due_by`, only a notice due then (`due`) is taken.

    Claiming again what the holder already holds succeeds too: a claim whose commit was lost
    with the connection is simply made again. A marketing notice to an account comes with the
    account and its address's state as they are at the claim (`Claim.facts`), so the opt-out is
    the one in force the moment the notice is sent.
    """
    values: dict[str, Any] = {"notice_id": notice_id, "holder": holder, "now": utcnow()}
    if due_by is None:
        statement = _CLAIM_QUEUED
    else:
        statement = _CLAIM_DUE
        values.update(due_by=due_by, queued_by=due_by - PENDING_GRACE)
    with store.write_rows() as connection:
        row = connection.execute(statement, values).mappings().first()
        if row is None:
            return None
        notice = Notice(**row)
        facts = _account_facts(connection, notice)
    return Claim(notice, facts)


def _account_facts(connection: Connection, notice: Notice) -> AccountFacts | None:
    """The account of a marketing notice to an account, and whether its address fails."""
    if notice.category != NoticeCategory.MARKETING or notice.recipient != "account":
        return None
    row = connection.execute(_ACCOUNT, {"account_id": notice.account_id}).mappings().first()
    if row is None:
        return AccountFacts(None, failing=False)
    account = Account(**row)
    failing = bool(address_failures.failing_in(connection, [account.email]))
    return AccountFacts(account, failing)


def current(store: Store, notice_id: int) -> Notice | None:
    """The notice as it is now (None: there is no such notice)."""
    with store.read() as session:
        return session.get(Notice, notice_id)


def record(
    store: Store,
    notice: Notice,
    holder: str,
    outcome: Outcome,
    attempts: int,
    error: str | None,
    subject: str | None = None,
) -> Notice | None:
    """Record a try's outcome (and the subject a sent mail had); the row after it.

    A send is recorded whoever holds the claim now (the mail is out); any other outcome only
    while `holder` still holds the notice: a claim that lapsed is not ours to release.
    """
    if outcome is Outcome.SENT:
        return _record_sent(store, notice, attempts, error, subject)
    with store.write() as session:
        row = session.execute(
            select(Notice).where(col(Notice.id) == notice.id).with_for_update()
        ).scalar()
        if row is None or row.status == NoticeStatus.SENT:
            return row
        if row.status != NoticeStatus.SENDING or row.claimed_by != holder:
            return row
        now, mail = utcnow(), store.settings.mail
        row.attempts += attempts
        row.error = scrub(error) if error else None
        row.claimed_by, row.next_attempt_at = None, None
        row.version += 1
        if outcome is Outcome.RETRY:
            first = row.first_error_at or now
            if now - first >= timedelta(hours=mail.notice_give_up_hours):
                lasted = f"{mail.notice_give_up_hours:g} hours"
                row.status = NoticeStatus.FAILED
                row.error = scrub(f"gave up after {lasted} of transient errors; the last: {error}")
            else:
                row.status, row.first_error_at = NoticeStatus.QUEUED, first
                row.next_attempt_at = now + retry_wait(mail, first, now)
        else:
            row.status = str(outcome)
        return row


def _record_sent(
    store: Store, notice: Notice, attempts: int, note: str | None, subject: str | None
) -> Notice | None:
    """Record a send in one UPDATE (the common outcome, so the cheap one); `notice` as it is
    now, or the row as another deliverer recorded it."""
    values = {
        "status": NoticeStatus.SENT,
        "sent_at": utcnow(),
        "subject": (subject or "")[:255] or None,
        "error": scrub(note) if note else None,
        "claimed_by": None,
        "next_attempt_at": None,
    }
    with store.write_rows() as connection:
        changed = connection.execute(
            _RECORD_SENT,
            {
                "notice_id": notice.id,
                "sent": values["sent_at"],
                "subject_line": values["subject"],
                "note": values["error"],
                "attempts": attempts,
            },
        ).first()
    if changed is None:  # another deliverer recorded it
        return current(store, notice.id or 0)
    for name, value in values.items():
        setattr(notice, name, value)
    notice.attempts += attempts
    notice.version += 1
    return notice


def error_kind(exc: BaseException) -> str:
    """An error's type (and the driver's), never its message: that may quote SQL parameters."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else None
    if inner is None or type(inner) is type(exc):
        return type(exc).__name__
    return f"{type(exc).__name__}/{type(inner).__name__}"
