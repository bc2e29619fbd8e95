"""The checks and records every change-request transition shares: locks, states, actors, audit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from domains import audit, staff, validation
from domains.errors import NotFound, RuleViolation
from domains.models import ChangeRequest, Domain, utcnow
from domains.staff import Permission
from domains.store_reads import StoreReads
from domains.vocabulary import OPEN_REQUEST_STATES


def locked_domain(session: Session, name: str) -> Domain:
    alabel = StoreReads._alabel(name)
    domain = session.execute(
        select(Domain).where(col(Domain.name) == alabel).with_for_update()
    ).scalar()
    if domain is None:
        raise NotFound("domain", name)
    return domain


def check_changeable(session: Session, domain: Domain) -> None:
    check_locks(domain)
    open_request = session.execute(
        select(col(ChangeRequest.reference), col(ChangeRequest.state)).where(
            col(ChangeRequest.domain_id) == domain.id,
            col(ChangeRequest.state).in_(sorted(OPEN_REQUEST_STATES)),
        )
    ).first()
    if open_request:
        raise RuleViolation(
            f"{domain.unicode_name} already has an open change request "
            f"({open_request[0]}, {open_request[1]}); finish or cancel it first"
        )


def check_locks(domain: Domain) -> None:
    locks = [s for s in domain.statuses if s in validation.UPDATE_LOCKS]
    if locks:
        who = (
            "the registry"
            if locks[0].startswith("server")
            else "Interlink (at the customer's request)"
        )
        raise RuleViolation(
            f"{domain.unicode_name} has {', '.join(locks)}: its contacts cannot be changed "
            f"until {who} lifts that status"
        )


def locked_request(session: Session, reference: str) -> ChangeRequest:
    request = session.execute(
        select(ChangeRequest)
        .where(col(ChangeRequest.reference) == reference.strip().upper())
        .with_for_update()
    ).scalar()
    if request is None:
        raise NotFound("change request", reference)
    return request


def require(request: ChangeRequest, states: tuple[str, ...], doing: str) -> None:
    if request.state not in states:
        raise RuleViolation(
            f"request {request.reference} is {request.state}; to {doing} it must be "
            + " or ".join(states)
        )


def require_staff(
    session: Session, actor: str, permission: Permission, *, also_system: bool = False
) -> None:
    """Only an active member of staff whose roles allow `permission` (or, with `also_system`, a
    system job) may go on."""
    audit.check_actor(actor)
    if staff.login_of(actor) is not None:
        staff.require(session, actor, permission)
    elif not (also_system and actor.startswith("system:")):
        raise RuleViolation(f"only Interlink staff may do this, not {actor}")


def require_if_staff(session: Session, actor: str, permission: Permission) -> None:
    """Customers and the system pass (their own rules apply); staff need `permission`."""
    staff.require(session, audit.check_actor(actor), permission)


def touch(request: ChangeRequest, now: datetime | None = None) -> None:
    request.version += 1
    request.updated_at = now or utcnow()


def audit_transition(
    session: Session,
    actor: str,
    action: str,
    request: ChangeRequest,
    changes: Mapping[str, tuple[Any, Any]],
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="change_request",
        entity_id=request.reference,
        changes={k: {"before": b, "after": a} for k, (b, a) in changes.items()},
        request_ref=request.reference,
    )
