"""Notice delivery: claim each due notice, send it once, record the outcome, retry what may pass.

A pass claims one notice at a time (queued -> sending, with its own claim token), renders it,
hands it to the mailer and records the outcome before the claim is let go:

- sent: recorded the moment the mailer returns, before anything else. The .eml folder is
  exactly-once by construction (the file is named by the notice id and is never replaced, so a
  notice whose file exists counts as sent). Over SMTP one window stays: a deliverer killed after
  the relay's 250 and before that record sends the notice again once its claim lapses; the
  message carries the same Message-ID both times so receivers can drop the duplicate.
- queued again, with `next_attempt_at` after a back-off, on a transient error: the database
  (`domains.db.is_transient`), the network, an SMTP 4xx reply, an unwritable outbox folder.
  After `mail.notice_give_up_hours` of transient errors it is failed, saying so.
- failed, with the reason, on a permanent one: a template that cannot render, data that cannot
  be addressed, a 5xx refusal. Staff read the reasons with `interlink notices`. A 5xx refusal
  of the recipient also marks the address failing (`domains.address_failures`), and an
  essential notice is then sent to the next address on file (`notice_addresses`).

`deliver_pending` drains every notice that is due in one run, `mail.notice_batch` at a time.
Nothing here logs an address or a name: notice ids, templates, statuses and error types only.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlmodel import col
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from domains import address_failures, notice_rows
from domains.db import is_transient
from domains.mail_compose import NoticeError
from domains.mailer import Mailer, MailError, PermanentMailError, mailer_from_settings
from domains.models import Notice
from domains.notice_rows import Outcome, error_kind
from domains.notices import RequestLinks, prepare, prepare_for_account
from domains.settings import Settings
from domains.store import Store
from domains.vocabulary import FailureSource, NoticeCategory, NoticeStatus

log = logging.getLogger(__name__)

#: After this many notices in a row met a transient transport error, a pass stops sending: the
#: relay (or the outbox folder) is most likely down, and the rest wait for the next pass.
STOP_AFTER_TRANSPORT_ERRORS = 3
#: What `interlink notices` shows by default: what has not gone out.
UNSENT = ("failed", "queued", "sending")


@dataclass(frozen=True)
class NoticeView:
    """A notice as staff see it: ids, template, status and reason; never an address."""

    id: int
    created_at: datetime
    template: str
    category: str
    recipient: str
    subject_ref: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    error: str | None


def deliver(
    store: Store,
    notice_ids: Iterable[int],
    *,
    mailer: Mailer,
    links: RequestLinks,
    context: Mapping[str, Any] | None = None,
) -> list[Notice]:
    """Render and send each queued notice after the transaction committed.

    Each notice ends sent, failed or suppressed, or stays queued for a later pass after a
    transient error. Returns the notices in their state after this call (a notice that another
    deliverer holds, or that is no longer queued, is returned as it is, untouched; one that the
    database kept us from claiming is left out). No database transaction is open while a
    message is being sent.
    """
    run = _Pass(store, mailer, links, context or {}, None)
    return run.deliver(notice_ids)


def deliver_pending(
    store: Store,
    *,
    mailer: Mailer,
    links: RequestLinks,
    now: datetime | None = None,
    batch: int | None = None,
) -> list[Notice]:
    """Send every notice that is due, oldest first, `batch` (`mail.notice_batch`) at a time.

    Due: a notice still queued PENDING_GRACE after it was queued (a younger one is left to the
    deliverer that queued it), one whose back-off after a transient error is over, and one
    claimed for sending longer ago than the claim lease (`claim_lease`: its deliverer died
    while sending, so it is queued again). The run goes on until no due notice is left that it
    has not tried, unless the transport keeps failing (STOP_AFTER_TRANSPORT_ERRORS).

    A `request_received` to the registrant cannot be sent this way: its link carries a token
    that exists only in memory when the request is made; it fails with a clear message.
    """
    now = now or datetime.now(UTC)
    size = max(1, batch or store.settings.mail.notice_batch)
    notice_rows.step(store, notice_rows.requeue_abandoned, store, now)
    run = _Pass(store, mailer, links, {}, due_by=now)
    done: list[Notice] = []
    after = 0
    while not run.stopped:
        ids = notice_rows.step(store, notice_rows.due_ids, store, now, after, size)
        done += run.deliver(ids)
        if len(ids) < size:
            break
        after = ids[-1]
    return done


def notice_log(
    store: Store, statuses: Iterable[str] = UNSENT, *, limit: int = 50
) -> list[NoticeView]:
    """The newest notices in these statuses, for staff (no addresses, no names)."""
    with store.read() as session:
        rows = session.execute(
            select(Notice)
            .where(col(Notice.status).in_(list(statuses)))
            .order_by(col(Notice.id).desc())
            .limit(limit)
        ).scalars()
        names = [field.name for field in fields(NoticeView)]
        return [NoticeView(**{name: getattr(row, name) for name in names}) for row in rows]


class NoticeSender:
    """Sends, for a long-running job (the sync worker), the notices its transitions queue, and
    the ones other deliverers left behind; meant to run in a thread of its own (SMTP is slow).

    With no usable mailer (a relay whose password is not in the environment) nothing is sent:
    the notices stay queued for a later `deliver_pending`, and the log says why once.
    """

    def __init__(self, store: Store, links: RequestLinks, mailer: Mailer | None = None) -> None:
        self.store, self.links = store, links
        self._mailer = mailer
        self._ids: deque[int] = deque()
        self._warned = False
        self._lock = threading.Lock()
        self.sent = 0

    def add(self, notice_ids: Iterable[int]) -> None:
        """Notices to send on the next `send` (safe from any thread)."""
        self._ids.extend(notice_ids)

    @property
    def waiting(self) -> bool:
        """True when notices wait for `send`."""
        return bool(self._ids)

    def send(self, pending: bool = False) -> int:
        """Send the notices added so far (and with `pending`, the ones left behind); how many
        were sent. Never raises: what could not be sent stays queued for a later pass."""
        with self._lock:  # one pass at a time
            mailer = self._mailer_or_none()
            if mailer is None:
                return 0
            ids = []
            while self._ids:
                ids.append(self._ids.popleft())
            done: list[Notice] = []
            try:
                done += deliver(self.store, ids, mailer=mailer, links=self.links)
                if pending:
                    done += deliver_pending(self.store, mailer=mailer, links=self.links)
            except Exception as exc:  # the store went away: the rows keep what is not sent
                log.warning("sending notices failed: %s", error_kind(exc))
            sent = sum(1 for notice in done if notice.status == NoticeStatus.SENT)
            self.sent += sent
            return sent

    def _mailer_or_none(self) -> Mailer | None:
        if self._mailer is None:
            try:
                self._mailer = mailer_from_settings(self.store.settings)
            except ValueError as exc:
                if not self._warned:
                    log.warning("notices are not sent: %s", exc)
                    self._warned = True
                return None
        return self._mailer


class _Pass:
    """One delivery pass: its claim token, and whether the transport keeps failing."""

    def __init__(
        self,
        store: Store,
        mailer: Mailer,
        links: RequestLinks,
        context: Mapping[str, Any],
        due_by: datetime | None = None,
    ) -> None:
        self.store, self.mailer, self.links = store, mailer, links
        self.context, self.due_by = context, due_by
        self.holder = f"{os.getpid()}:{secrets.token_hex(8)}"  # this pass's claims
        self.transport_errors = 0

    @property
    def stopped(self) -> bool:
        """True once the transport failed for several notices in a row."""
        return self.transport_errors >= STOP_AFTER_TRANSPORT_ERRORS

    def deliver(self, notice_ids: Iterable[int]) -> list[Notice]:
        results: list[Notice] = []
        with _kept_open(self.mailer):
            for notice_id in notice_ids:
                if self.stopped:
                    log.warning("the mail transport keeps failing: the other notices wait")
                    break
                notice = self._one(notice_id)
                if notice is not None:
                    results.append(notice)
        return results

    def _one(self, notice_id: int) -> Notice | None:
        store = self.store
        try:
            claim = notice_rows.step(
                store, notice_rows.claim, store, notice_id, self.holder, self.due_by
            )
            if claim is None:  # not queued (any more), or no such notice: returned as it is
                return notice_rows.step(store, notice_rows.current, store, notice_id)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(
                "notice %s not claimed (%s): a later pass sends it", notice_id, error_kind(exc)
            )
            return None
        notice, facts = claim.notice, claim.facts
        attempts, tried = 0, set[str]()
        refused: MailError | None = None  # the last refusal, once one sent us on
        while True:  # again only after a refusal, to the next address on file
            try:
                if facts is not None:  # read with the claim (marketing mail goes once only)
                    message = prepare_for_account(
                        store.settings,
                        self.links,
                        notice,
                        facts.account,
                        facts.failing,
                        self.context,
                    )
                else:
                    message = notice_rows.step(
                        store, _prepare, store, self.links, notice, self.context
                    )
            except NoticeError as exc:  # after a refusal: no other address left
                reason = str(refused) if refused else str(exc)
                return self._settle(notice, Outcome.FAILED, attempts, reason)
            except Exception as exc:
                if is_transient(exc):
                    reason = f"the database failed while the mail was prepared ({error_kind(exc)})"
                    return self._settle(notice, Outcome.RETRY, attempts, reason)
                # A template or data bug: trying again changes nothing. Never leave it claimed.
                if isinstance(exc, DBAPIError):
                    text = error_kind(exc)
                else:
                    text = f"{type(exc).__name__}: {exc}"
                return self._settle(notice, Outcome.FAILED, attempts, text)
            if isinstance(message, str):
                return self._settle(notice, Outcome.SUPPRESSED, attempts, message)
            made, error = _send(self.mailer, message, store.settings, notice)
            attempts += made
            if error is None:
                self.transport_errors = 0
                subject = str(message["Subject"] or "")
                sent = f"sent to the next address on file after: {refused}" if refused else None
                return self._settle(notice, Outcome.SENT, attempts, sent, subject)
            self.transport_errors = self.transport_errors + 1 if error.transient else 0
            if error.transient:
                return self._settle(notice, Outcome.RETRY, attempts, str(error))
            address = self._refused_address(notice, message, error)
            if address is None or address in tried or notice.category != NoticeCategory.ESSENTIAL:
                return self._settle(notice, Outcome.FAILED, attempts, str(error))
            tried.add(address)
            refused = error
            log.info("notice %s %s refused: the next address on file", notice.id, notice.template)

    def _refused_address(
        self, notice: Notice, message: EmailMessage, error: MailError
    ) -> str | None:
        """A relay's permanent refusal of the recipient (5xx) marks the address failing; the
        address, or None for another permanent error (or one whose record failed)."""
        code = address_failures.refusal(str(error))
        to = message["To"]
        addresses: tuple[Address, ...] = getattr(to, "addresses", ())
        if code is None or len(addresses) != 1:
            return None
        address = address_failures.normal(addresses[0].addr_spec)
        try:
            notice_rows.step(
                self.store,
                address_failures.record_failure,
                self.store,
                address,
                FailureSource.SMTP,
                str(error),
                notice.id,
            )
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(
                "notice %s: the failing address is not recorded (%s)", notice.id, error_kind(exc)
            )
            return None
        return address

    def _settle(
        self,
        notice: Notice,
        outcome: Outcome,
        attempts: int,
        error: str | None,
        subject: str | None = None,
    ) -> Notice:
        """Record the outcome (a send patiently: one not recorded may go out again)."""
        args = (self.store, notice, self.holder, outcome, attempts, error, subject)
        try:
            patient = outcome is Outcome.SENT
            row = notice_rows.step(self.store, notice_rows.record, *args, patient=patient)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.error(
                "notice %s %s: the outcome (%s) is not recorded (%s); it is tried again once "
                "its claim lapses",
                notice.id,
                notice.template,
                outcome,
                error_kind(exc),
            )
            return notice
        row = row or notice
        if row.status == NoticeStatus.QUEUED:
            log.warning("notice %s %s queued again after a transient error", row.id, row.template)
        else:
            log.info("notice %s %s %s", row.id, row.template, row.status)
        return row


def _kept_open(mailer: Mailer) -> AbstractContextManager[Any]:
    """One connection for the pass where the transport keeps one (SMTP), else nothing."""
    kept_open = getattr(mailer, "kept_open", None)
    return kept_open() if callable(kept_open) else nullcontext()


def _prepare(
    store: Store, links: RequestLinks, notice: Notice, context: Mapping[str, Any]
) -> EmailMessage | str:
    with store.read() as session:
        return prepare(session, store.settings, links, notice, context)


# -- sending ------------------------------------------------------------------------------


def _send(
    mailer: Mailer, message: EmailMessage, settings: Settings, notice: Notice
) -> tuple[int, MailError | None]:
    """Send, trying again at once on transient errors; (attempts made, final error or None)."""
    mail = settings.mail
    retrying = Retrying(
        stop=stop_after_attempt(max(0, mail.retries) + 1),
        wait=wait_exponential(multiplier=mail.retry_wait, max=mail.retry_wait_max),
        retry=retry_if_exception(lambda exc: isinstance(exc, MailError) and exc.transient),
        before_sleep=lambda state: log.warning(
            "notice %s %s attempt %d failed (transient)",
            notice.id,
            notice.template,
            state.attempt_number,
        ),
        reraise=True,
    )
    error: MailError | None = None
    try:
        retrying(mailer.send, message)
    except MailError as exc:
        error = exc
    except Exception as exc:  # a transport that broke its contract
        error = PermanentMailError(f"{type(exc).__name__}: {exc}")
    return retrying.statistics.get("attempt_number", 1), error
