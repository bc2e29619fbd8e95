"""The outbox: changes the registry must learn, queued in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from domains.models import OutboxEntry

OUTBOX_KINDS = ("contact.update", "domain.tech_move", "domain.update")
OUTBOX_STATUSES = ("pending", "in_progress", "done", "local_only", "failed")


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
    if kind not in OUTBOX_KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    entry = OutboxEntry(
        kind=kind, tld=tld, payload=payload, domain_id=domain_id, contact_id=contact_id
    )
    session.add(entry)
    return entry
