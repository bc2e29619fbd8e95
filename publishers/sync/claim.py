"""Claiming outbox entries (architecture §6): due entries in batches, oldest first, never two
of one domain or contact at once, each made into a job by its kind's flow."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session, col

from domains.models import Domain, OutboxEntry, utcnow
from domains.store import Store
from domains.vocabulary import OutboxStatus
from publishers.registries import RegistryMap
from publishers.sync.flows import KINDS, flow_of
from publishers.sync.jobs import Job, Preparation

log = logging.getLogger(__name__)

UNFINISHED = ("pending", "in_progress")


class Claimer:
    """Claims due entries for the worker `worker_id` and loads them as jobs.

    A claim is a lease: an entry still in progress after `lease` is claimable again. With
    `exclusive` (the worker holds the SQLite store's only worker lock) anything in progress
    under another id is an orphan of a worker that died, and is claimable at once.
    """

    def __init__(
        self,
        store: Store,
        registries: RegistryMap,
        *,
        worker_id: str,
        lease: timedelta,
        exclusive: bool,
    ) -> None:
        self.store = store
        self.registries = registries
        self.worker_id = worker_id
        self.lease = lease
        self.exclusive = exclusive

    def claim(self, limit: int, tried: list[datetime] | None = None) -> list[Job]:
        """Claim up to limit due entries (oldest first, one per domain/contact) and load them.

        `tried` holds the claim times of earlier tries of this claim that failed (a lost
        connection): one of them may have committed without our hearing, and the entries it
        claimed (ours, with its exact claim time) are taken again rather than left to the lease.
        """
        now = utcnow()
        lost_at = list(tried or ())
        if tried is not None:
            tried.append(now)
        stale = now - self.lease
        entry = OutboxEntry
        lease_over = col(entry.claimed_at) < stale
        if self.exclusive:
            # We hold the store's only worker lock: anything in progress under another id is an
            # orphan of a worker that died.
            lease_over = or_(lease_over, col(entry.claimed_by) != self.worker_id)
        if lost_at:
            lease_over = or_(
                lease_over,
                and_(col(entry.claimed_by) == self.worker_id, col(entry.claimed_at).in_(lost_at)),
            )
        due = or_(
            and_(col(entry.status) == OutboxStatus.PENDING, col(entry.next_attempt_at) <= now),
            and_(col(entry.status) == OutboxStatus.IN_PROGRESS, lease_over),
        )
        with self.store.write() as session:
            stmt = (
                select(col(entry.id), col(entry.domain_id), col(entry.contact_id))
                .where(due, col(entry.kind).in_(KINDS))
                .order_by(col(entry.id))
                .limit(limit)
            )
            if not self.store.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            candidates = session.execute(stmt).all()
            if not candidates:
                return []
            chosen = self._first_of_each_key(session, candidates)
            if not chosen:
                return []
            session.execute(
                update(entry)
                .where(col(entry.id).in_(chosen))
                .values(
                    status="in_progress",
                    claimed_by=self.worker_id,
                    claimed_at=now,
                    attempts=col(entry.attempts) + 1,
                    version=col(entry.version) + 1,
                )
                .execution_options(synchronize_session=False)
            )
            rows = list(
                session.execute(
                    select(entry).where(col(entry.id).in_(chosen)).order_by(col(entry.id))
                ).scalars()
            )
            jobs = self.load(session, rows)
        log.debug("claimed %d outbox entries", len(jobs))
        return jobs

    @staticmethod
    def _first_of_each_key(session: Session, candidates: Sequence[Any]) -> list[int]:
        """The candidates (rows of id, domain_id, contact_id) that no older unfinished entry of
        the same domain or contact holds back."""
        entry = OutboxEntry
        top = max(row.id for row in candidates)
        domain_ids = {row.domain_id for row in candidates if row.domain_id is not None}
        contact_ids = {row.contact_id for row in candidates if row.contact_id is not None}
        key_match = []
        if domain_ids:
            key_match.append(col(entry.domain_id).in_(domain_ids))
        if contact_ids:
            key_match.append(col(entry.contact_id).in_(contact_ids))
        earlier: Sequence[Any] = []
        if key_match:
            earlier = session.execute(
                select(col(entry.id), col(entry.domain_id), col(entry.contact_id)).where(
                    col(entry.status).in_(UNFINISHED),
                    col(entry.id) < top,
                    or_(*key_match),
                )
            ).all()
        chosen: list[int] = []
        for row in candidates:
            blocked = any(
                other.id < row.id
                and (
                    (row.domain_id is not None and other.domain_id == row.domain_id)
                    or (row.contact_id is not None and other.contact_id == row.contact_id)
                )
                for other in earlier
            )
            if not blocked:
                chosen.append(row.id)
        return chosen

    def load(self, session: Session, rows: Sequence[OutboxEntry]) -> list[Job]:
        """Make claimed entries into jobs: each kind's flow prepares its entries (reading what
        they need in a few queries); the jobs come back in the order of the entries. An entry
        of a domain transferred away is not sent: its job is skipped, saying so."""
        preparation = Preparation(session, self.registries, self.store.settings)
        gone = _gone_domains(session, {r.domain_id for r in rows if r.domain_id is not None})
        jobs: list[Job] = []
        by_kind: dict[str, list[OutboxEntry]] = {}
        for row in rows:
            departed = gone.get(row.domain_id) if row.domain_id is not None else None
            if departed is not None:
                name, at = departed
                reason = f"domain transferred away on {at.date().isoformat()}: nothing sent"
                jobs.append(preparation.job(row, name, None, skip_reason=reason))
                continue
            by_kind.setdefault(row.kind, []).append(row)
        jobs += [
            job
            for kind, entries in by_kind.items()
            for job in flow_of(kind).prepare(preparation, entries)
        ]
        return sorted(jobs, key=lambda job: job.entry_id)


def _gone_domains(session: Session, ids: set[int]) -> dict[int, tuple[str, datetime]]:
    """The domains among ids that were transferred away: their names and when they left."""
    if not ids:
        return {}
    rows = session.execute(
        select(col(Domain.id), col(Domain.name), col(Domain.gone_at)).where(
            col(Domain.id).in_(ids), col(Domain.gone_at).is_not(None)
        )
    ).all()
    return {domain_id: (name, gone_at) for domain_id, name, gone_at in rows}


def backlog(store: Store) -> int:
    """Entries waiting: pending or in progress."""
    with store.read() as session:
        return session.execute(
            select(func.count())
            .select_from(OutboxEntry)
            .where(col(OutboxEntry.status).in_(UNFINISHED))
        ).scalar_one()


__all__ = ["Claimer", "backlog"]
