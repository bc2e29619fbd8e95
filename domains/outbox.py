"""The outbox: changes the registry must learn, queued in the same transaction as the change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from domains import audit
from domains.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from domains.models import ChangeRequest, OutboxEntry, utcnow
from domains.vocabulary import OutboxKind, OutboxStatus, RequestState

if TYPE_CHECKING:
    from domains.store import Store


def enqueue(
    session: Session,
    *,
    kind: str,
    tld: str,
    payload: dict[str, Any],
    domain_id: int | None = None,
    contact_id: int | None = None,
) -> OutboxEntry:
    """Add an outbox entry to the session's transaction."""
    try:
        OutboxKind(kind)
    except ValueError:
        raise ValueError(f"unknown outbox kind {kind!r}") from None
    entry = OutboxEntry(
        kind=kind, tld=tld, payload=payload, domain_id=domain_id, contact_id=contact_id
    )
    session.add(entry)
    return entry


def list_entries(
    store: Store, *, status: str | None = None, limit: int = 200, before_id: int | None = None
) -> list[OutboxEntry]:
    """Outbox entries, newest first, optionally in one status."""
    stmt = select(OutboxEntry).order_by(col(OutboxEntry.id).desc()).limit(limit)
    if status:
        try:
            OutboxStatus(status)
        except ValueError:
            raise ValidationFailed(
                FieldError("status", f"{status!r} is not one of {', '.join(OutboxStatus)}")
            ) from None
        stmt = stmt.where(col(OutboxEntry.status) == status)
    if before_id is not None:
        stmt = stmt.where(col(OutboxEntry.id) < before_id)
    with store.read() as session:
        return list(session.execute(stmt).scalars())


def count_by_status(store: Store) -> dict[str, int]:
    """How many entries are in each status."""
    with store.read() as session:
        rows = session.execute(
            select(col(OutboxEntry.status), func.count()).group_by(col(OutboxEntry.status))
        ).all()
    return {status: n for status, n in rows}


def retry_entry(store: Store, entry_id: int, *, actor: str) -> OutboxEntry:
    """Put a failed entry back in the queue (and its change request back to applied)."""
    with store.write() as session:
        entry = session.execute(
            select(OutboxEntry).where(col(OutboxEntry.id) == entry_id).with_for_update()
        ).scalar()
        if entry is None:
            raise NotFound("outbox entry", str(entry_id))
        if entry.status != OutboxStatus.FAILED:
            raise RuleViolation(
                f"outbox entry {entry_id} is {entry.status}; only a failed one can be retried"
            )
        request = session.execute(
            select(ChangeRequest).where(ChangeRequest.outbox_id == entry.id).with_for_update()
        ).scalar()
        before = entry.last_error
        entry.status = "pending"
        entry.next_attempt_at = utcnow()
        entry.last_error = None
        entry.attempts = 0
        entry.version += 1
        if request is not None and request.state == RequestState.SYNC_FAILED:
            request.state = "applied"
            request.sync_error = None
            request.version += 1
            request.updated_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="outbox.retry",
            entity_type="outbox_entry",
            entity_id=entry.id,
            changes={
                "status": {"before": "failed", "after": "pending"},
                "error": {"before": before, "after": None},
            },
            request_ref=request.reference if request else None,
        )
    return entry
