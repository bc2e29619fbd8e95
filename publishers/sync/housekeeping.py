"""Finishing change requests (completed, or sync_failed) once their entries are recorded, the
reconciliation of those whose worker died in between, and the expiry of stale requests and of
changes of registrant not confirmed in time."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import cast

from sqlalchemy import select
from sqlmodel import col

from domains.changes import Outcome, Workflow
from domains.contact_corrections import ContactCorrections
from domains.errors import InterlinkError, RuleViolation
from domains.models import ChangeRequest, OutboxEntry
from domains.notice_delivery import NoticeSender
from domains.store import Store
from domains.vocabulary import OutboxStatus, RequestState
from publishers.sync.record import ACTOR, FINISHED
from publishers.sync.report import Result, SyncReport

ANSWERED = tuple(s for s in FINISHED if s != OutboxStatus.SKIPPED)
"""Finished entries whose change request learns the outcome. A skipped entry's (its domain was
transferred away, nothing was sent) keeps its request as it is: neither completed at the
registry nor failed there."""

log = logging.getLogger(__name__)


class Housekeeping:
    """Takes change requests on through the workflow as their entries finish; the notices of
    the transitions go to `notices` (None: not sent by the worker)."""

    def __init__(
        self, store: Store, notices: NoticeSender | None, *, expire_requests: bool
    ) -> None:
        self.store = store
        self.notices = notices
        self.expire_requests = expire_requests
        self.workflow = Workflow(store)

    def finish_requests(self, results: Sequence[Result], report: SyncReport) -> None:
        """Complete or fail the change requests of finished results."""
        for r in results:
            if not r.request_ref or r.status == OutboxStatus.PENDING:
                continue
            self.finish_request(r.request_ref, r.status, r.cltrid, r.svtrid, r.error, report)

    def finish_request(
        self,
        reference: str,
        status: str,
        cltrid: str | None,
        svtrid: str | None,
        error: str | None,
        report: SyncReport,
    ) -> None:
        try:
            if status in ("done", "local_only"):
                outcome = self.workflow.mark_completed(
                    reference=reference, cltrid=cltrid, svtrid=svtrid, actor=ACTOR
                )
                report.requests_completed += 1
                if self.notices is not None:
                    self.notices.add(outcome.notice_ids)
            elif status == OutboxStatus.FAILED:
                self.workflow.mark_sync_failed(
                    reference=reference, error=error or "the registry refused", actor=ACTOR
                )
                report.requests_failed += 1
        except RuleViolation:
            pass  # finished already (by the reconciliation or another worker)
        except InterlinkError as exc:
            log.warning("change request %s not updated: %s", reference, type(exc).__name__)

    def reconcile(self, report: SyncReport) -> None:
        """Finish change requests whose outbox entry finished while no worker could say so."""
        with self.store.read() as session:
            rows = session.execute(
                select(
                    col(ChangeRequest.reference),
                    col(OutboxEntry.status),
                    col(OutboxEntry.cltrid),
                    col(OutboxEntry.svtrid),
                    col(OutboxEntry.last_error),
                )
                .join(OutboxEntry, col(OutboxEntry.id) == col(ChangeRequest.outbox_id))
                .where(
                    col(ChangeRequest.state) == RequestState.APPLIED,
                    col(OutboxEntry.status).in_(ANSWERED),
                )
            ).all()
        for reference, status, cltrid, svtrid, error in rows:
            self.finish_request(reference, status, cltrid, svtrid, error, report)

    def housekeeping(self, report: SyncReport) -> None:
        """The reconciliation, then the expiry of stale requests and changes of registrant
        (when the worker expires)."""
        self.reconcile(report)
        if self.expire_requests:
            try:
                # Workflow.expire_stale returns list[Outcome] (its class has a method `list`,
                # which mypy reads in the annotation).
                for outcome in cast(Iterable[Outcome], self.workflow.expire_stale()):
                    if self.notices is not None:
                        self.notices.add(outcome.notice_ids)
            except InterlinkError as exc:
                log.warning("expiring stale change requests failed: %s", type(exc).__name__)
            try:
                for ended in ContactCorrections(self.store).expire_registrant_changes():
                    if self.notices is not None:
                        self.notices.add(list(ended.notice_ids))
            except InterlinkError as exc:
                log.warning("expiring changes of registrant failed: %s", type(exc).__name__)


__all__ = ["Housekeeping"]
