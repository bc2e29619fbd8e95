"""Change requests and the registry: completed, refused for good, or sent again (the sync side)."""

from __future__ import annotations

from domains import audit
from domains.models import OutboxEntry, utcnow
from domains.request_mail import Outcome, RequestMail
from domains.request_rules import audit_transition, locked_request, require, require_staff, touch
from domains.staff import Permission


class RequestSync(RequestMail):
    """The transitions the registry sync drives, and the staff's retry of a refused change."""

    def mark_completed(
        self,
        *,
        reference: str,
        cltrid: str | None = None,
        svtrid: str | None = None,
        actor: str = "system:sync",
    ) -> Outcome:
        """The registry confirmed the change (or it is local-only by the registry's policy)."""
        with self.store.write() as session:
            request = locked_request(session, reference)
            before = request.state
            require(request, ("applied", "sync_failed"), "complete it")
            request.state = "completed"
            request.completed_at = utcnow()
            request.sync_error = None
            touch(request)
            audit.record(
                session,
                actor=actor,
                action="change.complete",
                entity_type="change_request",
                entity_id=request.reference,
                changes={"state": {"before": before, "after": "completed"}},
                request_ref=request.reference,
                cltrid=cltrid,
                svtrid=svtrid,
            )
            ids = self._notify_all(session, request, "request_completed")
        return Outcome(request, ids)

    def mark_sync_failed(
        self, *, reference: str, error: str, actor: str = "system:sync"
    ) -> Outcome:
        """The registry refused the change for good: staff must look at it."""
        with self.store.write() as session:
            request = locked_request(session, reference)
            require(request, ("applied",), "mark its sync as failed")
            request.state = "sync_failed"
            request.sync_error = error[:2000]
            touch(request)
            audit_transition(
                session, actor, "change.sync_failed", request, {"state": ("applied", "sync_failed")}
            )
        # No customer mail: staff see failed syncs on the Sync screen and decide what to say.
        return Outcome(request)

    def retry_sync(self, *, actor: str, reference: str) -> Outcome:
        """Put a failed request's registry change back in the queue."""
        with self.store.write() as session:
            require_staff(session, actor, Permission.RETRY_SYNC)
            request = locked_request(session, reference)
            require(request, ("sync_failed",), "retry its sync")
            entry = session.get(OutboxEntry, request.outbox_id)
            if entry is not None:
                entry.status = "pending"
                entry.next_attempt_at = utcnow()
                entry.last_error = None
                entry.version += 1
            request.state = "applied"
            request.sync_error = None
            touch(request)
            audit_transition(
                session, actor, "change.retry_sync", request, {"state": ("sync_failed", "applied")}
            )
        return Outcome(request)
