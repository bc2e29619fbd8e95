"""The registry drift check's results in the store: each run replaces the last, and the staff
views read the last one (`interlink sync --reconcile`, the Sync screen)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel import col

from domains import audit
from domains.drift_models import DriftDifference, DriftRun
from domains.store_sessions import StoreSessions


@dataclass(frozen=True)
class Finding:
    """One field that differs between a registry and the store (values: None when personal)."""

    domain: str
    section: str
    field: str
    registry: str | None = None
    store: str | None = None


@dataclass(frozen=True)
class DriftRunView:
    """The last drift check: when, by whom, over which TLD, what it counted and found."""

    started_at: datetime
    finished_at: datetime
    actor: str
    tld: str | None
    domains_checked: int
    domains_differing: int
    differences: int
    errors: int
    findings: tuple[Finding, ...]


def _clip(value: str | None, most: int = 1000) -> str | None:
    if value is None or len(value) <= most:
        return value
    return value[: most - 1] + "…"


def save_run(
    store: StoreSessions,
    *,
    actor: str,
    started_at: datetime,
    finished_at: datetime,
    tld: str | None,
    domains_checked: int,
    errors: int,
    findings: Sequence[Finding],
) -> DriftRunView:
    """Store a finished run in place of the previous one, in one transaction; its view."""
    differing = len({f.domain for f in findings if f.section != "registry"})
    differences = sum(1 for f in findings if f.section != "registry")
    with store.write() as session:
        session.execute(delete(DriftDifference))
        session.execute(delete(DriftRun))
        run = DriftRun(
            started_at=started_at,
            finished_at=finished_at,
            actor=audit.check_actor(actor),
            tld=tld,
            domains_checked=domains_checked,
            domains_differing=differing,
            differences=differences,
            errors=errors,
        )
        session.add(run)
        session.flush()
        assert run.id is not None
        session.add_all(
            DriftDifference(
                run_id=run.id,
                domain=f.domain,
                section=f.section[:120],
                field=f.field[:64],
                at_registry=_clip(f.registry),
                in_store=_clip(f.store),
            )
            for f in findings
        )
    return DriftRunView(
        started_at,
        finished_at,
        run.actor,
        tld,
        domains_checked,
        differing,
        differences,
        errors,
        tuple(findings),
    )


def last_run(store: StoreSessions) -> DriftRunView | None:
    """The last drift check with what it found (None: none has run)."""
    with store.read() as session:
        run = session.execute(select(DriftRun).order_by(col(DriftRun.id).desc()).limit(1)).scalar()
        if run is None:
            return None
        rows = session.execute(
            select(DriftDifference)
            .where(col(DriftDifference.run_id) == run.id)
            .order_by(col(DriftDifference.id))
        ).scalars()
        findings = tuple(
            Finding(row.domain, row.section, row.field, row.at_registry, row.in_store)
            for row in rows
        )
    return DriftRunView(
        run.started_at,
        run.finished_at,
        run.actor,
        run.tld,
        run.domains_checked,
        run.domains_differing,
        run.differences,
        run.errors,
        findings,
    )
