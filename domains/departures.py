"""Domains that left Interlink: a registry's notice that a domain was transferred to another
registrar marks it gone (the date kept, the change audited); its public answers end with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import col

from domains import audit
from domains.errors import NotFound
from domains.models import Domain, PublishedAnswer, utcnow
from domains.store_sessions import StoreSessions

ACTION = "domain.transferred_away"


@dataclass(frozen=True)
class Departure:
    """A domain marked gone: when, to whom (the gaining registrar's id), and whether this call
    marked it (False: it was gone already, nothing changed)."""

    name: str
    gone_at: datetime
    gaining: str
    marked: bool


def mark_gone(
    store: StoreSessions,
    name: str,
    *,
    actor: str,
    at: datetime | None = None,
    gaining: str,
    svtrid: str | None = None,
) -> Departure:
    """Mark the domain gone to the registrar `gaining` at `at` (default now), in one
    transaction with its audit event; its answer rendered ahead is dropped with it.

    Marking a domain gone twice changes nothing the second time. NotFound when the store
    holds no such domain.
    """
    when = at or utcnow()
    with store.write() as session:
        domain = session.execute(
            select(Domain).where(col(Domain.name) == name).with_for_update()
        ).scalar()
        if domain is None:
            raise NotFound("domain", name)
        if domain.gone_at is not None:
            return Departure(name, domain.gone_at, gaining, marked=False)
        domain.gone_at = when
        domain.updated_at = utcnow()
        domain.version += 1
        audit.record(
            session,
            actor=actor,
            action=ACTION,
            entity_type="domain",
            entity_id=name,
            changes={"gone_at": {"before": None, "after": when.isoformat()}, "to": gaining},
            svtrid=svtrid,
        )
        session.flush()
        session.execute(delete(PublishedAnswer).where(col(PublishedAnswer.name) == name))
    return Departure(name, when, gaining, marked=True)
