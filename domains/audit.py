"""Audit events: the append-only trail of every change, written in the change's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session, col

from domains.errors import FieldError, NotFound, ValidationFailed
from domains.models import AuditEvent

if TYPE_CHECKING:
    from domains.store_sessions import StoreSessions


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a field value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose values differ: {field: {"before": old, "after": new}}."""
    changed: dict[str, dict[str, Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = _plain(before.get(key)), _plain(after.get(key))
        if old != new:
            changed[key] = {"before": old, "after": new}
    return changed


#: How a customer acting on their own records is named in the trail: customer:<account number>.
CUSTOMER = "customer:"


def customer_actor(number: str) -> str:
    """The actor of the holder of account `number` (the control panel, the one-click link)."""
    return CUSTOMER + number.strip().upper()


def check_actor(actor: str) -> str:
    """Every mutation names who made it: staff:NAME, customer:REF or system:JOB."""
    if not isinstance(actor, str) or not actor.strip() or len(actor) > 255:
        raise ValidationFailed(FieldError("actor", "every change must name who makes it"))
    return actor.strip()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int,
    changes: Mapping[str, Any] | None = None,
    request_ref: str | None = None,
    cltrid: str | None = None,
    svtrid: str | None = None,
) -> AuditEvent:
    """Add one audit event to the session's transaction."""
    event = AuditEvent(
        actor=check_actor(actor),
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        changes=dict(changes or {}),
        request_ref=request_ref,
        cltrid=cltrid,
        svtrid=svtrid,
    )
    session.add(event)
    return event


def list_events(
    store: StoreSessions,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    request_ref: str | None = None,
    before_id: int | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    """Audit events, newest first, filtered by entity, actor (prefix) and time."""
    stmt = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit)
    if entity_type:
        stmt = stmt.where(col(AuditEvent.entity_type) == entity_type)
    if entity_id:
        stmt = stmt.where(col(AuditEvent.entity_id) == entity_id)
    if actor:
        stmt = stmt.where(col(AuditEvent.actor).startswith(actor, autoescape=True))
    if since:
        stmt = stmt.where(col(AuditEvent.at) >= since)
    if until:
        stmt = stmt.where(col(AuditEvent.at) < until)
    if request_ref:
        stmt = stmt.where(col(AuditEvent.request_ref) == request_ref)
    if before_id is not None:
        stmt = stmt.where(col(AuditEvent.id) < before_id)
    with store.read() as session:
        return list(session.execute(stmt).scalars())


@dataclass(frozen=True)
class FieldChange:
    """One field of an event: its value before and after (`changed` False: a value recorded
    as it is, such as the counts of an import, with no before)."""

    field: str
    before: Any
    after: Any
    changed: bool = True


@dataclass(frozen=True)
class AuditEventView:
    """One audit event as staff read it: who, when, what, and every field before and after."""

    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    request_ref: str | None
    cltrid: str | None
    svtrid: str | None
    fields: tuple[FieldChange, ...]

    @property
    def entity(self) -> str:
        """type:id, as the audit filters take it."""
        return f"{self.entity_type}:{self.entity_id}"

    @property
    def reason(self) -> str | None:
        """The reason given with the change (a rejection, a cancellation), if any."""
        for change in self.fields:
            if change.field == "reason" and change.after:
                return str(change.after)
        return None


def _field_changes(changes: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """The event's changes as fields: {"before", "after"} pairs, or values recorded as they are."""
    fields = []
    for name in sorted(changes):
        value = changes[name]
        if isinstance(value, Mapping) and set(value) == {"before", "after"}:
            fields.append(FieldChange(name, value["before"], value["after"]))
        else:
            fields.append(FieldChange(name, None, value, changed=False))
    return tuple(fields)


def event_view(store: StoreSessions, event_id: int) -> AuditEventView:
    """The audit event with this id, read as a frozen view."""
    with store.read() as session:
        event = session.get(AuditEvent, event_id)
    if event is None:
        raise NotFound("audit event", str(event_id))
    return AuditEventView(
        id=event.id or event_id,
        at=event.at,
        actor=event.actor,
        action=event.action,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        request_ref=event.request_ref,
        cltrid=event.cltrid,
        svtrid=event.svtrid,
        fields=_field_changes(event.changes or {}),
    )
