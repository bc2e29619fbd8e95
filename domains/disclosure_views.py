"""Frozen views of disclosure requests as the faces show them, and the records they ask about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from domains.disclosure_clock import aware_utc, overdue
from domains.disclosure_models import (
    DisclosureAttachment,
    DisclosureDecision,
    DisclosureDomain,
    DisclosureRequest,
)
from domains.models import Account, Contact, Domain, DomainContact
from domains.store import DomainRecord
from domains.vocabulary import REGULAR


def _aware(value: datetime | None) -> datetime | None:
    return aware_utc(value) if value is not None else None


@dataclass(frozen=True)
class AttachmentView:
    """An attachment's name, type, size and SHA-256 (its content is read on its own)."""

    id: int
    filename: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class DecisionView:
    """A decision: outcome, reason, the fields disclosed ("domain role field"), who and when,
    and whether (and from when) the customer is told."""

    outcome: str
    denial_reason: str | None
    explanation: str
    approved_fields: tuple[str, ...]
    decided_by: str
    decided_at: datetime
    gag_reason: str | None
    notify_after: datetime | None
    customers_notified_at: datetime | None
    document_sha256: str | None


@dataclass(frozen=True)
class DisclosureRequestView:
    """A disclosure request: requestor, ground, domains, fields, deadlines, state, decision."""

    reference: str
    state: str
    channel: str
    entered_by: str
    requestor_name: str
    requestor_organisation: str | None
    requestor_email: str | None
    requestor_phone: str | None
    requestor_kind: str
    jurisdiction: str
    ground: str
    legal_basis: str
    legal_reference: str | None
    urgency: str | None
    domains: tuple[str, ...]
    #: The domains asked about that Interlink does not hold.
    unknown_domains: tuple[str, ...]
    wanted_fields: tuple[str, ...]
    attachments: tuple[AttachmentView, ...]
    created_at: datetime
    received_at: datetime | None
    acknowledge_due_at: datetime | None
    answer_due_at: datetime | None
    acknowledged_at: datetime | None
    review_started_at: datetime | None
    decided_at: datetime | None
    closed_at: datetime | None
    decision: DecisionView | None
    version: int

    @property
    def urgent(self) -> bool:
        return self.urgency is not None

    @property
    def urgency_label(self) -> str:
        """The urgency category, or "regular"."""
        return self.urgency or REGULAR

    def acknowledgement_overdue(self, now: datetime) -> bool:
        return overdue(self.acknowledge_due_at, self.acknowledged_at, now)

    def answer_overdue(self, now: datetime) -> bool:
        return overdue(self.answer_due_at, self.decided_at, now)


@dataclass(frozen=True)
class DueRequest:
    """An open request in the queue: its next deadline, what it is for, and overdue flags."""

    reference: str
    state: str
    urgency: str
    requestor_kind: str
    next_deadline: datetime
    next_step: str
    acknowledgement_overdue: bool
    answer_overdue: bool

    @property
    def overdue(self) -> bool:
        return self.acknowledgement_overdue or self.answer_overdue

    @classmethod
    def of(cls, view: DisclosureRequestView, now: datetime) -> DueRequest:
        ack_open = view.acknowledged_at is None and view.acknowledge_due_at is not None
        if ack_open and view.acknowledge_due_at is not None and view.answer_due_at is not None:
            deadline = min(view.acknowledge_due_at, view.answer_due_at)
            step = "acknowledge" if deadline == view.acknowledge_due_at else "answer"
        else:
            deadline, step = view.answer_due_at or view.created_at, "answer"
        return cls(
            reference=view.reference,
            state=view.state,
            urgency=view.urgency_label,
            requestor_kind=view.requestor_kind,
            next_deadline=deadline,
            next_step=step,
            acknowledgement_overdue=view.acknowledgement_overdue(now),
            answer_overdue=view.answer_overdue(now),
        )


@dataclass(frozen=True)
class ListedRequest:
    """A request in a listing: an open one with its next deadline and overdue flags, a
    decided or closed one with its outcome and when it was finished."""

    reference: str
    state: str
    urgency: str
    requestor_kind: str
    #: The next deadline of an open request (None once decided).
    next_deadline: datetime | None
    next_step: str
    acknowledgement_overdue: bool
    answer_overdue: bool
    outcome: str | None
    #: When a decided request was decided, or a closed one closed.
    finished_at: datetime | None
    received_at: datetime | None

    @property
    def overdue(self) -> bool:
        return self.acknowledgement_overdue or self.answer_overdue

    @classmethod
    def of(cls, row: DisclosureRequest, outcome: str | None, now: datetime) -> ListedRequest:
        """The listing's line of a request row and its decision's outcome."""
        acknowledged, decided = _aware(row.acknowledged_at), _aware(row.decided_at)
        ack_due, answer_due = _aware(row.acknowledge_due_at), _aware(row.answer_due_at)
        deadline: datetime | None = None
        step = "-"
        if decided is None and answer_due is not None:
            deadline, step = answer_due, "answer"
            if acknowledged is None and ack_due is not None and ack_due <= answer_due:
                deadline, step = ack_due, "acknowledge"
        return cls(
            reference=row.reference,
            state=row.state,
            urgency=row.urgency or REGULAR,
            requestor_kind=row.requestor_kind,
            next_deadline=deadline,
            next_step=step,
            acknowledgement_overdue=overdue(ack_due, acknowledged, now),
            answer_overdue=overdue(answer_due, decided, now),
            outcome=outcome,
            finished_at=_aware(row.closed_at) or decided,
            received_at=_aware(row.received_at),
        )


def decision_view(row: DisclosureDecision) -> DecisionView:
    return DecisionView(
        outcome=row.outcome,
        denial_reason=row.denial_reason,
        explanation=row.explanation,
        approved_fields=tuple(row.approved_fields),
        decided_by=row.decided_by,
        decided_at=aware_utc(row.decided_at),
        gag_reason=row.gag_reason,
        notify_after=_aware(row.notify_after),
        customers_notified_at=_aware(row.customers_notified_at),
        document_sha256=row.document_sha256,
    )


def request_view(session: Session, row: DisclosureRequest) -> DisclosureRequestView:
    """The view of a request read in `session`."""
    domains = session.execute(
        select(DisclosureDomain)
        .where(col(DisclosureDomain.request_id) == row.id)
        .order_by(col(DisclosureDomain.name))
    ).scalars()
    names, unknown = [], []
    for domain in domains:
        names.append(domain.name)
        if domain.domain_id is None:
            unknown.append(domain.name)
    attachments = session.execute(
        select(DisclosureAttachment)
        .where(col(DisclosureAttachment.request_id) == row.id)
        .order_by(col(DisclosureAttachment.id))
    ).scalars()
    decision = session.execute(
        select(DisclosureDecision).where(col(DisclosureDecision.request_id) == row.id)
    ).scalar()
    return DisclosureRequestView(
        reference=row.reference,
        state=row.state,
        channel=row.channel,
        entered_by=row.entered_by,
        requestor_name=row.requestor_name,
        requestor_organisation=row.requestor_organisation,
        requestor_email=row.requestor_email,
        requestor_phone=row.requestor_phone,
        requestor_kind=row.requestor_kind,
        jurisdiction=row.jurisdiction,
        ground=row.ground,
        legal_basis=row.legal_basis,
        legal_reference=row.legal_reference,
        urgency=row.urgency,
        domains=tuple(names),
        unknown_domains=tuple(unknown),
        wanted_fields=tuple(row.wanted_fields),
        attachments=tuple(
            AttachmentView(a.id or 0, a.filename, a.media_type, a.size, a.sha256)
            for a in attachments
        ),
        created_at=aware_utc(row.created_at),
        received_at=_aware(row.received_at),
        acknowledge_due_at=_aware(row.acknowledge_due_at),
        answer_due_at=_aware(row.answer_due_at),
        acknowledged_at=_aware(row.acknowledged_at),
        review_started_at=_aware(row.review_started_at),
        decided_at=_aware(row.decided_at),
        closed_at=_aware(row.closed_at),
        decision=decision_view(decision) if decision else None,
        version=row.version,
    )


def records_of(session: Session, row: DisclosureRequest) -> dict[str, DomainRecord]:
    """The records (domain, account, contacts by role) of the request's domains we hold."""
    ids = list(
        session.execute(
            select(col(DisclosureDomain.domain_id)).where(
                col(DisclosureDomain.request_id) == row.id,
                col(DisclosureDomain.domain_id).is_not(None),
            )
        ).scalars()
    )
    records: dict[str, DomainRecord] = {}
    for domain in session.execute(
        select(Domain).where(col(Domain.id).in_(ids)).order_by(col(Domain.name))
    ).scalars():
        account = session.get(Account, domain.account_id)
        assert account is not None  # a domain's account is a foreign key
        contacts = session.execute(
            select(col(DomainContact.role), Contact)
            .join(Contact, col(Contact.id) == col(DomainContact.contact_id))
            .where(col(DomainContact.domain_id) == domain.id)
        ).all()
        records[domain.name] = DomainRecord(domain, account, {r: c for r, c in contacts})
    return records
