"""The store's reads: accounts, contacts, domains with their roles, search and audit events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select
from sqlmodel import Session, col

from domains import access, audit, validation
from domains.dnssec import DsView
from domains.errors import NotFound, ValidationFailed
from domains.models import Account, Contact, Domain, DomainContact, DsRecord
from domains.staff import Permission, StaffDirectory, require
from domains.store_sessions import StoreSessions
from domains.vocabulary import AccessPurpose

if TYPE_CHECKING:
    from domains.store import DomainRecord, SearchPage


T = TypeVar("T")


def ds_of(session: Session, domain: Domain) -> tuple[DsView, ...]:
    """The DS records on file for `domain`, sorted."""
    rows = session.execute(select(DsRecord).where(col(DsRecord.domain_id) == domain.id)).scalars()
    return tuple(sorted(DsView(r.key_tag, r.algorithm, r.digest_type, r.digest) for r in rows))


class StoreReads(StoreSessions):
    """Look-ups by key, each in a session of its own, giving rows or frozen views."""

    def _one(self, model: type[T], column: Any, key: str, what: str, shown: str) -> T:
        """The row of `model` whose `column` is `key`; NotFound names it as the user gave it."""
        with self.read() as session:
            row = session.execute(select(model).where(col(column) == key)).scalar()
        if row is None:
            raise NotFound(what, shown)
        return row

    @property
    def staff(self) -> StaffDirectory:
        """The staff accounts: who may act, and their roles."""
        return StaffDirectory(self)

    def get_account(self, number: str) -> Account:
        """The account with this number."""
        return self._one(Account, Account.number, number.upper(), "account", number)

    def get_contact(self, handle: str) -> Contact:
        """The contact with this registry handle."""
        return self._one(Contact, Contact.handle, handle, "contact", handle)

    def house_contact(self) -> Contact:
        """Interlink's own contact, the default technical contact."""
        with self.read() as session:
            contact = self.house_contact_in(session)
        if contact is None:
            raise NotFound("contact", "house contact")
        return contact

    @staticmethod
    def _alabel(name: str) -> str:
        try:
            return validation.domain_name(name)[0]
        except ValidationFailed:
            # Not registrable, so it cannot be ours; look it up as given so NotFound names it.
            return name.strip().lower()

    def get_domain(self, name: str) -> Domain:
        """The domain by A-label or U-label, in any case."""
        return self._one(Domain, Domain.name, self._alabel(name), "domain", name)

    def domain_record(self, name: str) -> DomainRecord:
        """The domain with its account, contacts by role and DS records."""
        from domains.store import DomainRecord  # the view is defined beside Store

        with self.read() as session:
            domain = session.execute(
                select(Domain).where(col(Domain.name) == self._alabel(name))
            ).scalar()
            if domain is None:
                raise NotFound("domain", name)
            account = session.get(Account, domain.account_id)
            rows = session.execute(
                select(col(DomainContact.role), Contact)
                .join(Contact, col(Contact.id) == col(DomainContact.contact_id))
                .where(col(DomainContact.domain_id) == domain.id)
            ).all()
            ds = ds_of(session, domain)
        if account is None:
            raise NotFound("account of domain", name)
        return DomainRecord(domain=domain, account=account, contacts={r: c for r, c in rows}, ds=ds)

    def look_at_domain(self, actor: str, name: str, purpose: AccessPurpose) -> DomainRecord:
        """The domain record with its contacts' private fields, for a member of staff allowed to
        see them; the look is recorded (one access event per contact)."""
        self._may_view(actor)
        record = self.domain_record(name)
        handles = [contact.handle for contact in record.contacts.values()]
        self.record_looks(actor, purpose, handles, domain=record.domain.name)
        return record

    def record_looks(
        self, actor: str, purpose: AccessPurpose, handles: list[str], domain: str | None = None
    ) -> None:
        """Record that `actor`, allowed to see customer data, looked at these contacts."""
        with self.write() as session:
            require(session, actor, Permission.VIEW)
            access.record(session, actor, purpose, handles, domain=domain)

    def look_at_contact(
        self, actor: str, handle: str, purpose: AccessPurpose, domain: str | None = None
    ) -> Contact:
        """The contact with its private fields, for staff allowed to see them; recorded."""
        self._may_view(actor)
        contact = self.get_contact(handle)
        with self.write() as session:
            access.record(session, actor, purpose, [contact.handle], domain=domain)
        return contact

    def access_events(self, handle: str, limit: int = 200) -> list[access.AccessEventView]:
        """Who looked at a contact's private fields, newest first."""
        self.get_contact(handle)  # NotFound for a handle that is not ours
        return access.for_contact(self, handle, limit)

    def access_trail(
        self, actor: str, handle: str, limit: int = 200
    ) -> list[access.AccessEventView]:
        """`access_events` for a member of staff allowed to see customer data (VIEW)."""
        self._may_view(actor)
        return self.access_events(handle, limit)

    def _may_view(self, actor: str) -> None:
        with self.read() as session:
            require(session, actor, Permission.VIEW)

    def domains_of_contact(self, handle: str) -> list[tuple[str, str]]:
        """(domain name, role) for every role the contact holds."""
        with self.read() as session:
            rows = session.execute(
                select(col(Domain.name), col(DomainContact.role))
                .join(DomainContact, col(DomainContact.domain_id) == col(Domain.id))
                .join(Contact, col(Contact.id) == col(DomainContact.contact_id))
                .where(col(Contact.handle) == handle)
                .order_by(col(Domain.name))
            ).all()
        return [(name, role) for name, role in rows]

    def count_domains(self) -> int:
        """How many domains the store holds."""
        with self.read() as session:
            return session.execute(select(func.count()).select_from(Domain)).scalar_one()

    def search(
        self, query: str, *, kind: str | None = None, cursor: str | None = None, limit: int = 50
    ) -> SearchPage:
        """Prefix search with keyset paging; `kind` is domain, email, name, account or auto."""
        from domains.search import run_search  # the SQL lives beside, to keep this file short

        return run_search(self, query, kind=kind, cursor=cursor, limit=limit)

    def audit_event(self, event_id: int) -> audit.AuditEventView:
        """One audit event, with every field before and after, as a frozen view."""
        return audit.event_view(self, event_id)
