"""Notices written straight into the store, and counts of their states."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from domains import notices
from domains.models import ChangeRequest, Domain, Notice, utcnow
from domains.store import Store
from tests.support.factories import make_domain

#: The new technical contact of the requests these tests write directly.
PROPOSED_TECH = {
    "kind": "organization",
    "org": "Example Hosting GmbH",
    "name": "Jane Doe",
    "email": "jane.doe@example.com",
    "voice": "+49.301234567",
}


def make_request(
    store: Store,
    domain: Domain,
    *,
    reference: str = "TC-7Q2K9",
    proposed: dict[str, Any] | None = None,
    target: str = "new",
    channel: str = "portal",
    **fields: Any,
) -> ChangeRequest:
    """A change request row written directly (the workflow module is not needed here)."""
    old_tech = store.domain_record(domain.name).contact("tech")
    with store.write() as session:
        request = ChangeRequest(
            reference=reference,
            domain_id=domain.id,
            channel=channel,
            entered_by="customer:portal",
            target=target,
            proposed=dict(PROPOSED_TECH) if proposed is None else proposed,
            old_tech_id=old_tech.id if old_tech else None,
            expires_at=datetime(2031, 3, 14, 9, 30, tzinfo=UTC),
            **fields,
        )
        session.add(request)
    return request


def queue_many(store: Store, *specs: dict[str, Any]) -> list[int]:
    """Queue notices in one transaction, as the workflow does; their ids."""
    with store.write() as session:
        return [notices.queue(session, **spec).id for spec in specs]


def essential(template: str, ref: str = "TC-7Q2K9", **extra: Any) -> dict[str, Any]:
    return {"template": template, "category": "essential", "subject_ref": ref, **extra}


def completion_notices(store: Store, count: int) -> list[int]:
    """`count` completion mails to one registrant, queued in one transaction."""
    domain, registrant = make_domain(store)
    make_request(store, domain, state="completed", confirmed_at=utcnow())
    spec = essential("request_completed", contact_id=registrant.id)
    return queue_many(store, *[spec] * count)


def statuses(store: Store) -> Counter[str]:
    with store.read() as session:
        return Counter(session.execute(select(Notice.status)).scalars())
