"""The store API every face uses: accounts, contacts, domains, roles, look-up and search.

Each mutation runs in one transaction with its audit event; a stale `version` raises
ConflictError and writes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from domains import ascii_postal, audit, contact_fields, validation
from domains.db import ensure_schema, make_engine
from domains.dnssec import DsView
from domains.domain_edits import DomainEdits, ns_changes, queue_update, status_changes
from domains.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from domains.models import Account, Contact, Domain, DomainContact, utcnow
from domains.settings import Settings, get_settings
from domains.staff import Permission, require
from domains.store_reads import ds_of
from domains.vocabulary import ContactRole

#: A contact's registration data, in the order of ICANN's WHOIS layout (the contact-field table).
CONTACT_DATA_FIELDS = contact_fields.NAMES
CONTACT_FIELDS = ("kind", *CONTACT_DATA_FIELDS, "consent_fields", "consent_at", "consent_method")
#: What staff edit of a contact: its fields and the ASCII form of its postal data (not part of
#: the exchange format's contact, so not of CONTACT_FIELDS).
CONTACT_EDIT_FIELDS = (*CONTACT_FIELDS, "ascii_postal")
ACCOUNT_FIELDS = (
    "name",
    "email",
    "phone",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
    "status",
    "marketing_opt_out_at",
    "marketing_opt_out_via",
    "marketing_opt_out_by",
)
DOMAIN_FIELDS = ("roid", "statuses", "nameservers", "dnssec", "expires_at")
HANDLE_PREFIX = "ILC"


def contact_handle(contact_id: int) -> str:
    """Our registry handle for a contact: stable, derived from its id, 3-16 characters."""
    return f"{HANDLE_PREFIX}{contact_id}"


def search_key(value: str | None) -> str:
    """The lower-cased form kept for prefix search."""
    return (value or "").casefold()


def refuse_unknown(changes: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse changes to fields that cannot be changed through the method called."""
    unknown = [k for k in changes if k not in allowed]
    if unknown:
        raise ValidationFailed([FieldError(k, "cannot be changed here") for k in unknown])


def fields_of(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of a row, as a dict."""
    return {name: getattr(row, name) for name in names}


@dataclass(frozen=True)
class DomainRecord:
    """A domain with its account, the contact in each role and its DS records (sorted)."""

    domain: Domain
    account: Account
    contacts: dict[str, Contact]
    ds: tuple[DsView, ...] = ()

    def contact(self, role: str) -> Contact | None:
        """The contact holding `role`, if any."""
        return self.contacts.get(role)


@dataclass(frozen=True)
class DomainHit:
    """One search result row."""

    domain_id: int
    name: str
    unicode_name: str
    account_number: str
    matched: str
    cursor: str


@dataclass(frozen=True)
class SearchPage:
    """A page of search results and the cursor of the next page (None at the end)."""

    kind: str
    hits: list[DomainHit]
    next_cursor: str | None = None
    note: str | None = field(default=None)


class Store(DomainEdits):
    """The domain records store; cheap to share, opens a session per call.

    Sessions are in `domains.store_sessions`, reads in `domains.store_reads`, the edits of what
    the registry holds of a domain (locks, name servers, DS, registrant) in
    `domains.domain_edits`; the other writes are here.
    """

    @classmethod
    def open(
        cls, url: str | None = None, settings: Settings | None = None, *, migrate: bool = True
    ) -> Store:
        """Open (and on first use create and migrate) the store at `url` or from settings."""
        settings = settings or get_settings()
        engine = make_engine(
            url or settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        if migrate:
            ensure_schema(engine)
        store = cls(engine, settings)
        if migrate:
            store.ensure_house_contact()
        return store

    # -- accounts -----------------------------------------------------------------------

    def create_account(self, actor: str, data: Mapping[str, Any]) -> Account:
        """Create an account from validated data."""
        clean = validation.account(data)
        with self.write() as session:
            require(session, actor, Permission.EDIT_CONTACT)
            if session.execute(
                select(col(Account.id)).where(col(Account.number) == clean["number"])
            ).first():
                raise ValidationFailed(FieldError("number", f"{clean['number']} already exists"))
            account = Account(**clean)
            session.add(account)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="account.create",
                entity_type="account",
                entity_id=account.number,
                changes=audit.diff({}, fields_of(account, ACCOUNT_FIELDS)),
            )
        return account

    def update_account(
        self, actor: str, number: str, expected_version: int | None, changes: Mapping[str, Any]
    ) -> Account:
        """Change an account's fields; refuses a stale version."""
        refuse_unknown(changes, ACCOUNT_FIELDS)
        with self.write() as session:
            require(session, actor, Permission.EDIT_CONTACT)
            account = self._locked(session, Account, Account.number, number.upper(), "account")
            self._check_version(account, expected_version, "account", account.number)
            before = fields_of(account, ACCOUNT_FIELDS)
            clean = validation.account({**before, "number": account.number, **changes})
            clean.pop("number")
            self._write_changes(session, actor, account, "account", account.number, before, clean)
        return account

    # -- contacts -----------------------------------------------------------------------

    def create_contact(
        self,
        actor: str,
        data: Mapping[str, Any],
        *,
        account_number: str | None = None,
        session: Session | None = None,
        request_ref: str | None = None,
    ) -> Contact:
        """Create a contact (handle derived from its id unless given)."""
        if session is None:
            with self.write() as own:
                return self.create_contact(
                    actor, data, account_number=account_number, session=own, request_ref=request_ref
                )
        require(session, actor, Permission.EDIT_CONTACT)
        clean = validation.contact(data)
        given_handle = clean.pop("handle", None)
        if (
            given_handle
            and session.execute(
                select(col(Contact.id)).where(col(Contact.handle) == given_handle)
            ).first()
        ):
            raise ValidationFailed(FieldError("handle", f"{given_handle} already exists"))
        account_id = None
        if account_number:
            account_id = self._account_id(session, account_number)
        contact = Contact(
            **clean,
            handle=given_handle or "tmp" + secrets.token_hex(6),
            account_id=account_id,
            is_house=bool(data.get("is_house", False)),
            name_key=search_key(clean["name"]),
            email_key=search_key(clean["email"]),
        )
        session.add(contact)
        session.flush()
        assert contact.id is not None  # the flush gave it one
        if not given_handle:
            contact.handle = contact_handle(contact.id)
            session.flush()
        audit.record(
            session,
            actor=actor,
            action="contact.create",
            entity_type="contact",
            entity_id=contact.handle,
            changes=audit.diff({}, fields_of(contact, CONTACT_EDIT_FIELDS)),
            request_ref=request_ref,
        )
        return contact

    def update_contact(
        self,
        actor: str,
        handle: str,
        expected_version: int,
        changes: Mapping[str, Any],
        *,
        request_ref: str | None = None,
    ) -> Contact:
        """Change a contact's fields; refuses a stale version; queues the registry update.

        `expected_version` is the version the caller read; it is always checked, so a change
        made meanwhile by someone else is never overwritten unseen. A change of postal items
        that does not itself give `ascii_postal` drops the stored ASCII form's items of the
        items it changed (they no longer correspond; `ascii_postal.without_stale`): the
        registries then get those items transliterated, and the drop is in the same audit
        event and registry update as the change.
        """
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise TypeError(
                "update_contact: expected_version must be the version of the contact that was "
                f"read (an int), not {type(expected_version).__name__}"
            )
        refuse_unknown(changes, CONTACT_EDIT_FIELDS)
        with self.write() as session:
            require(session, actor, Permission.EDIT_CONTACT)
            contact = self._locked(session, Contact, Contact.handle, handle, "contact")
            self._check_version(contact, expected_version, "contact", contact.handle)
            before = fields_of(contact, CONTACT_EDIT_FIELDS)
            clean = validation.contact({**before, **changes})
            clean.pop("handle", None)
            if "ascii_postal" not in changes:
                clean["ascii_postal"] = ascii_postal.without_stale(
                    clean["ascii_postal"], before, clean
                )
            changed = self._write_changes(
                session, actor, contact, "contact", contact.handle, before, clean, request_ref
            )
            if changed:
                contact.name_key = search_key(contact.name)
                contact.email_key = search_key(contact.email)
                self._queue_contact_update(session, contact, sorted(changed))
        return contact

    def _queue_contact_update(self, session: Session, contact: Contact, fields: list[str]) -> None:
        """One outbox entry per TLD where this contact holds a role."""
        from domains.outbox import enqueue  # local: outbox imports the models only

        tlds = session.execute(
            select(col(Domain.tld))
            .join(DomainContact, col(DomainContact.domain_id) == col(Domain.id))
            .where(col(DomainContact.contact_id) == contact.id)
            .distinct()
        ).scalars()
        for tld in tlds:
            enqueue(
                session,
                kind="contact.update",
                tld=tld,
                contact_id=contact.id,
                payload={"handle": contact.handle, "fields": fields},
            )

    def ensure_house_contact(self) -> Contact:
        """Create the house contact from settings if this store has none."""
        try:
            return self.house_contact()
        except NotFound:
            pass
        house = self.settings.house
        data = house.model_dump()
        data.update(kind="organization", is_house=True)
        return self.create_contact("system:setup", data)

    # -- domains ------------------------------------------------------------------------

    def create_domain(
        self,
        actor: str,
        data: Mapping[str, Any],
        *,
        account_number: str,
        contacts: Mapping[str, str] | None = None,
    ) -> Domain:
        """Create a domain with contacts by role (handles); tech defaults to the house contact."""
        clean = validation.domain(data)
        contacts = dict(contacts or {})
        with self.write() as session:
            require(session, actor, Permission.EDIT_CONTACT)
            if session.execute(
                select(col(Domain.id)).where(col(Domain.name) == clean["name"])
            ).first():
                raise ValidationFailed(
                    FieldError("name", f"{clean['unicode_name']} already exists")
                )
            now = utcnow()
            clean["created_at"] = clean["created_at"] or now
            clean["updated_at"] = clean["updated_at"] or now
            domain = Domain(**clean, account_id=self._account_id(session, account_number))
            session.add(domain)
            session.flush()
            if "tech" not in contacts:
                contacts["tech"] = self._house_handle(session)
            if "registrant" not in contacts:
                raise ValidationFailed(
                    FieldError("contacts.registrant", "a domain needs a registrant")
                )
            audit.record(
                session,
                actor=actor,
                action="domain.create",
                entity_type="domain",
                entity_id=domain.name,
                changes=audit.diff(
                    {}, {"account": account_number, **fields_of(domain, DOMAIN_FIELDS)}
                ),
            )
            for role, contact_handle_ in contacts.items():
                self._assign(session, actor, domain, role, contact_handle_)
        return domain

    def update_domain(
        self,
        actor: str,
        name: str,
        expected_version: int | None,
        changes: Mapping[str, Any],
        *,
        sync: bool = True,
    ) -> Domain:
        """Change a domain's statuses, name servers, DNSSEC flag, ROID or expiry.

        A change of its client statuses or name servers queues one `domain.update` for the
        registry; `sync=False` records what the registry holds already (nothing is queued).
        """
        refuse_unknown(changes, DOMAIN_FIELDS)
        with self.write() as session:
            require(session, actor, Permission.EDIT_CONTACT)
            domain = self._locked_domain(session, name)
            self._check_version(domain, expected_version, "domain", domain.name)
            before = fields_of(domain, DOMAIN_FIELDS)
            clean = validation.domain({**before, "name": domain.name, **changes})
            kept = {k: clean[k] for k in DOMAIN_FIELDS}
            if not kept["dnssec"] and before["dnssec"] and ds_of(session, domain):
                raise ValidationFailed(
                    FieldError(
                        "dnssec",
                        f"{domain.name} has DS records on file: it is signed while it has them; "
                        "remove its DS records to make it unsigned",
                    )
                )
            self._write_changes(session, actor, domain, "domain", domain.name, before, kept)
            registry = {
                **status_changes(before["statuses"], kept["statuses"]),
                **ns_changes(before["nameservers"], kept["nameservers"]),
            }
            if registry and sync:
                queue_update(session, domain, registry)
        return domain

    def assign_contact(self, actor: str, domain_name: str, role: str, handle: str) -> Domain:
        """Give `role` on the domain to the contact with `handle` (replacing any holder).

        A new registrant is `change_registrant`'s business (its role, its checks, the registry
        told); here it needs the same role and queues the same `domain.update`.
        """
        with self.write() as session:
            registrant = role == ContactRole.REGISTRANT
            require(
                session,
                actor,
                Permission.CHANGE_REGISTRANT if registrant else Permission.EDIT_CONTACT,
            )
            domain = self._locked_domain(session, domain_name)
            before = self._assign(session, actor, domain, role, handle)
            domain.version += 1
            domain.updated_at = utcnow()
            if registrant and before is not False:
                queue_update(session, domain, {"registrant": {"before": before, "after": handle}})
        return domain

    def _assign(
        self, session: Session, actor: str, domain: Domain, role: str, handle: str
    ) -> str | bool | None:
        """Link the contact; the handle it replaced (None: the role was free), or False when
        the contact held the role already."""
        validation.choice("role", role, ContactRole)
        contact = session.execute(select(Contact).where(col(Contact.handle) == handle)).scalar()
        if contact is None:
            raise ValidationFailed(FieldError(f"contacts.{role}", f"no contact {handle!r}"))
        link = session.get(DomainContact, (domain.id, role))
        previous = None
        if link is None:
            assert domain.id is not None and contact.id is not None  # both rows are flushed
            session.add(DomainContact(domain_id=domain.id, role=role, contact_id=contact.id))
        else:
            if link.contact_id == contact.id:
                return False
            previous = session.get(Contact, link.contact_id)
            link.contact_id = contact.id
        before = previous.handle if previous else None
        audit.record(
            session,
            actor=actor,
            action="domain.assign",
            entity_type="domain",
            entity_id=domain.name,
            changes={role: {"before": before, "after": handle}},
        )
        return before

    def _locked_domain(self, session: Session, name: str) -> Domain:
        alabel = self._alabel(name)
        return self._locked(session, Domain, Domain.name, alabel, "domain")

    def _account_id(self, session: Session, number: str) -> int:
        account_id = session.execute(
            select(col(Account.id)).where(col(Account.number) == number.strip().upper())
        ).scalar()
        if account_id is None:
            raise ValidationFailed(FieldError("account", f"no account {number!r}"))
        return account_id

    def _house_handle(self, session: Session) -> str:
        house = self.house_contact_in(session)
        if house is None:
            raise RuleViolation("this store has no house contact; open it with Store.open()")
        return house.handle
