"""A customer whose contact's postal address is not ASCII (Müllerstraße 5, Zürich), for the
tests of the ASCII form registries get of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from domains.models import AuditEvent, Contact, OutboxEntry
from domains.store import Store
from tests.support.factories import account_data, contact_data

ZURICH = {
    "name": "Jürg Müller",
    "street": ["Müllerstraße 5"],
    "city": "Zürich",
    "state": None,
    "postal_code": "8001",
    "country": "CH",
    "voice": "+41 44 668 18 00",
}
"""A person's non-ASCII postal data (no organisation)."""


@dataclass(frozen=True)
class Holder:
    """An account and its contact, the registrant of one domain (so its changes are synced)."""

    number: str
    contact: Contact
    domain: str


def zurich_holder(store: Store, tld: str = "ch", **overrides: Any) -> Holder:
    """An account whose contact lives at Müllerstraße 5, Zürich, registrant of a `tld` domain."""
    account = store.create_account("staff:test", account_data())
    contact = store.create_contact(
        "staff:test", contact_data(**{**ZURICH, **overrides}), account_number=account.number
    )
    domain = store.create_domain(
        "staff:test",
        {"name": f"{contact.handle.lower()}-mueller.{tld}"},
        account_number=account.number,
        contacts={"registrant": contact.handle},
    )
    return Holder(account.number, contact, domain.name)


def contact_updates(store: Store, handle: str) -> list[list[str]]:
    """The `fields` of each contact.update queued for the contact, oldest first."""
    with store.read() as session:
        rows = session.execute(
            select(OutboxEntry)
            .where(col(OutboxEntry.kind) == "contact.update")
            .order_by(col(OutboxEntry.id))
        ).scalars()
        return [row.payload["fields"] for row in rows if row.payload.get("handle") == handle]


def ascii_trail(store: Store, handle: str) -> list[tuple[str, Any]]:
    """(actor, the ascii_postal change) of each audit event of the contact that changed it."""
    with store.read() as session:
        events = session.execute(
            select(AuditEvent)
            .where(col(AuditEvent.entity_id) == handle)
            .order_by(col(AuditEvent.id))
        ).scalars()
        return [
            (e.actor, e.changes["ascii_postal"])
            for e in events
            if e.action == "contact.update" and "ascii_postal" in (e.changes or {})
        ]
