"""The access trail: every look at a contact's private fields, by whom, when and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlmodel import Session, col

from domains.audit import check_actor
from domains.models import AccessEvent
from domains.vocabulary import AccessPurpose

if TYPE_CHECKING:
    from domains.store_sessions import StoreSessions


@dataclass(frozen=True)
class AccessEventView:
    """One look: `contact` None means every contact at once (an export)."""

    id: int
    at: datetime
    actor: str
    contact: str | None
    purpose: str
    domain: str | None


def record(
    session: Session,
    actor: str,
    purpose: AccessPurpose,
    handles: Iterable[str | None],
    domain: str | None = None,
) -> None:
    """Add one access event per contact looked at to the session's transaction."""
    who = check_actor(actor)
    for handle in dict.fromkeys(handles):  # each contact once, in order
        session.add(AccessEvent(actor=who, contact_handle=handle, purpose=purpose, domain=domain))


def for_contact(store: StoreSessions, handle: str, limit: int = 200) -> list[AccessEventView]:
    """Who looked at this contact's private fields (and every export), newest first."""
    about = col(AccessEvent.contact_handle)
    stmt = (
        select(AccessEvent)
        .where(or_(about == handle, about.is_(None)))
        .order_by(col(AccessEvent.id).desc())
        .limit(limit)
    )
    with store.read() as session:
        return [
            AccessEventView(
                id=row.id or 0,
                at=row.at,
                actor=row.actor,
                contact=row.contact_handle,
                purpose=row.purpose,
                domain=row.domain,
            )
            for row in session.execute(stmt).scalars()
        ]
