"""Change-request reads: a request, its parties, listings, and the request a token opens."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from domains import validation
from domains.errors import NotFound
from domains.models import ChangeRequest, Contact, Domain, DomainContact, utcnow
from domains.request_tokens import check_token, check_token_shape, hash_token
from domains.store import Store
from domains.vocabulary import ContactRole, RequestState, RequestTarget


@dataclass(frozen=True)
class RequestParties:
    """A change request, its domain, and its old and new technical contact (None until known)."""

    request: ChangeRequest
    domain: Domain
    old_tech: Contact | None
    new_tech: Contact | None
    #: Interlink's own contact, for a request to move the technical contact back to it.
    house: Contact | None = None
    #: The registrant's e-mail address on file (faces show it masked).
    registrant_email: str | None = None


class RequestReads:
    """Reads of change requests over a store, each in a session of its own."""

    store: Store

    def get(self, reference: str) -> ChangeRequest:
        """The request with this reference."""
        with self.store.read() as session:
            request = session.execute(
                select(ChangeRequest).where(
                    col(ChangeRequest.reference) == reference.strip().upper()
                )
            ).scalar()
        if request is None:
            raise NotFound("change request", reference)
        return request

    def parties(self, reference: str) -> RequestParties:
        """The request with its domain and the technical contacts going and coming."""
        return self.parties_of(self.get(reference))

    def parties_of(self, request: ChangeRequest) -> RequestParties:
        """The domain, contacts and registrant's address of a request already read."""
        with self.store.read() as session:
            domain = session.get(Domain, request.domain_id)
            old = session.get(Contact, request.old_tech_id) if request.old_tech_id else None
            new = session.get(Contact, request.new_tech_id) if request.new_tech_id else None
            house = (
                self.store.house_contact_in(session)
                if request.target == RequestTarget.HOUSE
                else None
            )
            registrant = session.execute(
                select(col(Contact.email))
                .join(DomainContact, col(DomainContact.contact_id) == col(Contact.id))
                .where(col(DomainContact.domain_id) == request.domain_id)
                .where(col(DomainContact.role) == ContactRole.REGISTRANT)
            ).scalar()
        if domain is None:
            raise NotFound("domain of change request", request.reference)
        return RequestParties(request, domain, old, new, house, registrant)

    def list(
        self, *, state: str | None = None, domain_id: int | None = None, limit: int = 100
    ) -> builtins.list[ChangeRequest]:
        """Requests, newest first, optionally in one state or for one domain."""
        stmt = select(ChangeRequest).order_by(col(ChangeRequest.id).desc()).limit(limit)
        if state:
            stmt = stmt.where(
                col(ChangeRequest.state) == validation.choice("state", state, RequestState)
            )
        if domain_id is not None:
            stmt = stmt.where(col(ChangeRequest.domain_id) == domain_id)
        with self.store.read() as session:
            return builtins.list(session.execute(stmt).scalars())

    def domain_names(self, requests: builtins.list[ChangeRequest]) -> dict[int, str]:
        """The U-label of each request's domain, in one query (for listings)."""
        ids = {r.domain_id for r in requests}
        if not ids:
            return {}
        with self.store.read() as session:
            rows = session.execute(
                select(col(Domain.id), col(Domain.unicode_name)).where(col(Domain.id).in_(ids))
            ).all()
        return {domain_id: name for domain_id, name in rows}

    def inspect_token(self, token: str, *, now: datetime | None = None) -> ChangeRequest:
        """The request a confirmation token opens, checked as confirm would; changes nothing."""
        check_token_shape(token)
        with self.store.read() as session:
            request = session.execute(
                select(ChangeRequest).where(col(ChangeRequest.token_hash) == hash_token(token))
            ).scalar()
        return check_token(request, now or utcnow())


def role_holder(session: Session, domain: Domain, role: str) -> Contact | None:
    """The contact holding `role` on the domain, read in the caller's session."""
    return session.execute(
        select(Contact)
        .join(DomainContact, col(DomainContact.contact_id) == col(Contact.id))
        .where(col(DomainContact.domain_id) == domain.id, col(DomainContact.role) == role)
    ).scalar()
