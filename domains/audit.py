"""Audit events: the append-only trail of every change, written in the change's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from domains.errors import FieldError, ValidationFailed
from domains.models import AuditEvent


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
