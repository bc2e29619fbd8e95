"""What the mails of disclosure requests read: the requestor's address, the request, and for a
customer the fields of theirs that were disclosed (names only, never the values)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from domains.contact_fields import FIELDS_BY_NAME
from domains.disclosure_clock import aware_utc
from domains.disclosure_models import DisclosureDecision, DisclosureRequest
from domains.models import Contact, Domain, DomainContact, Notice

#: The notices of disclosure requests: each is one template file and one line here.
TEMPLATES = (
    "disclosure_verify",
    "disclosure_acknowledged",
    "disclosure_ready",
    "disclosure_denied",
    "disclosure_customer",
)
#: The recipient kind of the requestor, whose address is kept with the request.
RECIPIENTS = ("requestor",)
#: The mails whose link (made when they are queued, its token in memory only) they need.
NEEDS_LINK = {"disclosure_verify": "verify_url", "disclosure_ready": "download_url"}


class DisclosureMailError(Exception):
    """A disclosure notice whose request is gone; the text holds no personal data."""


@dataclass(frozen=True)
class DisclosedField:
    """A field of a customer's that was disclosed, in words."""

    domain: str
    role: str
    label: str


@dataclass(frozen=True)
class DisclosureMailView:
    """A disclosure request as its mails show it."""

    reference: str
    requestor_kind: str
    requestor_organisation: str | None
    ground: str
    urgent: bool
    received_at: datetime | None
    answer_due_at: datetime | None
    outcome: str | None
    denial_reason: str | None
    explanation: str | None
    fields: tuple[DisclosedField, ...]


def request_of(session: Session, notice: Notice) -> DisclosureRequest:
    """The disclosure request a notice is about (its subject_ref is the reference)."""
    row = session.execute(
        select(DisclosureRequest).where(
            col(DisclosureRequest.reference) == (notice.subject_ref or "")
        )
    ).scalar()
    if row is None:
        raise DisclosureMailError(f"disclosure request {notice.subject_ref} not found")
    return row


def address(session: Session, notice: Notice) -> tuple[str, str]:
    """(name, address) of the requestor of a notice."""
    row = request_of(session, notice)
    if not row.requestor_email:
        raise DisclosureMailError(f"disclosure request {row.reference} has no e-mail address")
    return row.requestor_name, row.requestor_email


def _customer_fields(
    session: Session, notice: Notice, approved: list[str]
) -> tuple[DisclosedField, ...]:
    """The approved fields of the roles the notice's contact holds on the domains."""
    held = set(
        session.execute(
            select(col(Domain.name), col(DomainContact.role))
            .join(DomainContact, col(DomainContact.domain_id) == col(Domain.id))
            .where(col(DomainContact.contact_id) == notice.contact_id)
        ).all()
    )
    out = []
    for value in approved:
        domain, role, name = value.split()
        if (domain, role) in held:
            label = "Registry handle" if name == "handle" else FIELDS_BY_NAME[name].label
            out.append(DisclosedField(domain, role, label))
    return tuple(out)


def context(session: Session, notice: Notice) -> dict[str, Any]:
    """What a disclosure template may use (nothing for other templates): `disclosure`."""
    if notice.template not in TEMPLATES:
        return {}
    row = request_of(session, notice)
    decision = session.execute(
        select(DisclosureDecision).where(col(DisclosureDecision.request_id) == row.id)
    ).scalar()
    fields: tuple[DisclosedField, ...] = ()
    if decision is not None and notice.recipient == "contact":
        if session.get(Contact, notice.contact_id) is None:
            raise DisclosureMailError(f"the contact of notice {notice.id} is gone")
        fields = _customer_fields(session, notice, decision.approved_fields)
    view = DisclosureMailView(
        reference=row.reference,
        requestor_kind=row.requestor_kind,
        requestor_organisation=row.requestor_organisation,
        ground=row.ground,
        urgent=row.urgency is not None,
        received_at=aware_utc(row.received_at) if row.received_at else None,
        answer_due_at=aware_utc(row.answer_due_at) if row.answer_due_at else None,
        outcome=decision.outcome if decision else None,
        denial_reason=decision.denial_reason if decision else None,
        explanation=decision.explanation if decision else None,
        fields=fields,
    )
    return {"disclosure": view}
