"""The Account screen's read: an account, its contacts, domains, pending changes and own changes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select
from sqlmodel import Session, col

from domains.address_failures import normal
from domains.audit import customer_actor
from domains.customer_models import EmailVerification, RegistrantChange, TransferLock
from domains.errors import NotFound, RuleViolation
from domains.models import Account, AuditEvent, Contact, Domain, DomainContact
from domains.notice_models import AddressFailure
from domains.staff import Permission, login_of, require
from domains.vocabulary import AccessPurpose, ConsentMethod, ContactRole, OptOutVia

if TYPE_CHECKING:
    from domains.store import Store

#: The audit actor of a customer acting on their own account: `customer:A-100001`.
#: A new e-mail address still unverified after this long is flagged to staff.
UNVERIFIED_AFTER = timedelta(days=15)
#: How many of the customer's own changes the screen lists, newest first.
CHANGES_LIMIT = 50
#: How an opt-out was given, in words ("opted out ... in the portal"); others show as stored.
OPT_OUT_WORDS: dict[str, str] = {
    ConsentMethod.PORTAL: "in the portal",
    ConsentMethod.PHONE: "by phone",
    ConsentMethod.LETTER: "by letter",
    ConsentMethod.EMAIL: "by e-mail",
    ConsentMethod.IMPORT: "as imported",
    ConsentMethod.STAFF: "through staff",
    OptOutVia.PORTAL: "in the control panel",
    OptOutVia.ONE_CLICK: "by one-click unsubscribe",
    OptOutVia.UNSUBSCRIBE_MAIL: "by an unsubscribe e-mail",
}
_ROLE_ORDER = {role.value: n for n, role in enumerate(ContactRole)}


def _day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class OptOut:
    """The account's opt-out of marketing mail: when, how it was given (as stored), and who
    recorded it (a member of staff, or the customer), when that is known."""

    at: datetime
    via: str | None
    by: str | None = None

    @property
    def how(self) -> str:
        """How it was given, in words."""
        if not self.via:
            return "how was not recorded"
        return OPT_OUT_WORDS.get(self.via.strip().lower(), f"via {self.via}")

    @property
    def words(self) -> str:
        recorded = f", recorded by {self.by}" if self.by else ""
        return f"opted out of marketing mail on {_day(self.at)}, {self.how}{recorded}"


@dataclass(frozen=True)
class FailingAddress:
    """An address of the account (or of one of its contacts) that mail to it fails at."""

    address: str
    #: Whose address it is: "account" or a contact's handle.
    holders: tuple[str, ...]
    source: str
    reason: str
    since: datetime


@dataclass(frozen=True)
class PendingEmail:
    """A new e-mail address waiting for its link to be followed."""

    new_email: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    #: Unverified for more than UNVERIFIED_AFTER: staff should look into it.
    overdue: bool
    link_expired: bool

    @property
    def flag(self) -> str:
        if self.overdue:
            return f"unverified for more than {UNVERIFIED_AFTER.days} days"
        return "waiting for verification"


@dataclass(frozen=True)
class AccountContact:
    """A contact of the account, with the newest e-mail change still waiting, if any."""

    handle: str
    name: str
    org: str | None
    email: str
    pending_email: PendingEmail | None


@dataclass(frozen=True)
class PendingRegistrantChange:
    """A change of registrant not decided yet (both parties confirm by link)."""

    reference: str
    contact_handle: str
    state: str
    fields: tuple[str, ...]
    requested_by: str
    requested_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class AccountDomain:
    """A domain of the account: the holder (handle) of each role, its transfer lock if in force."""

    name: str
    unicode_name: str
    expires_at: datetime | None
    holders: tuple[tuple[str, str], ...]
    lock_until: datetime | None
    lock_reason: str | None

    def holder(self, role: str) -> str | None:
        return dict(self.holders).get(role)


@dataclass(frozen=True)
class CustomerChange:
    """One change the customer made themselves: when, what, on which record, which fields."""

    id: int
    at: datetime
    action: str
    entity_type: str
    entity_id: str
    fields: tuple[str, ...]

    @property
    def entity(self) -> str:
        return f"{self.entity_type}:{self.entity_id}"


@dataclass(frozen=True)
class AccountDetail:
    """Everything staff see of one account on the Account screen, read at `read_at`."""

    number: str
    name: str
    email: str
    phone: str | None
    street: tuple[str, ...]
    city: str | None
    state: str | None
    postal_code: str | None
    country: str
    status: str
    opt_out: OptOut | None
    created_at: datetime
    updated_at: datetime
    version: int
    contacts: tuple[AccountContact, ...]
    registrant_changes: tuple[PendingRegistrantChange, ...]
    domains: tuple[AccountDomain, ...]
    changes: tuple[CustomerChange, ...]
    read_at: datetime
    #: The addresses of the account and its contacts that are failing (bounces, 5xx refusals).
    failing: tuple[FailingAddress, ...] = ()

    @property
    def actor(self) -> str:
        """The customer's audit actor, as their own changes are recorded."""
        return customer_actor(self.number)

    @property
    def opt_out_words(self) -> str:
        if self.opt_out is None:
            return "receives marketing mail (no opt-out)"
        return self.opt_out.words

    @property
    def address(self) -> str:
        parts = [*self.street, " ".join(p for p in (self.postal_code, self.city) if p)]
        return ", ".join(p for p in (*parts, self.state, self.country) if p)


def account_detail(store: Store, actor: str, number: str) -> AccountDetail:
    """The account `number` for a member of staff allowed to see customer data; the look at each
    contact shown is recorded in the access trail (purpose: account screen)."""
    if login_of(actor) is None:
        raise RuleViolation("the account screen is for staff; customers use the portal")
    key = number.strip().upper()
    with store.read() as session:
        require(session, actor, Permission.VIEW)
        now = store.now()
        detail = _read(session, key, now)
    store.record_looks(actor, AccessPurpose.ACCOUNT_SCREEN, [c.handle for c in detail.contacts])
    return detail


def _read(session: Session, number: str, now: datetime) -> AccountDetail:
    account = session.execute(
        select(
            col(Account.id),
            col(Account.number),
            col(Account.name),
            col(Account.email),
            col(Account.phone),
            col(Account.street),
            col(Account.city),
            col(Account.state),
            col(Account.postal_code),
            col(Account.country),
            col(Account.status),
            col(Account.marketing_opt_out_at),
            col(Account.marketing_opt_out_via),
            col(Account.marketing_opt_out_by),
            col(Account.created_at),
            col(Account.updated_at),
            col(Account.version),
        ).where(col(Account.number) == number)
    ).first()
    if account is None:
        raise NotFound("account", number)
    opt_out = (
        OptOut(
            account.marketing_opt_out_at,
            account.marketing_opt_out_via,
            account.marketing_opt_out_by,
        )
        if account.marketing_opt_out_at is not None
        else None
    )
    contacts = _contacts(session, account.id, now)
    return AccountDetail(
        number=account.number,
        name=account.name,
        email=account.email,
        phone=account.phone,
        street=tuple(account.street or ()),
        city=account.city,
        state=account.state,
        postal_code=account.postal_code,
        country=account.country,
        status=account.status,
        opt_out=opt_out,
        created_at=account.created_at,
        updated_at=account.updated_at,
        version=account.version,
        contacts=contacts,
        registrant_changes=_registrant_changes(session, account.id),
        domains=_domains(session, account.id, now),
        changes=_changes(session, customer_actor(account.number)),
        read_at=now,
        failing=_failing(session, account.email, contacts),
    )


def _failing(
    session: Session, email: str, contacts: tuple[AccountContact, ...]
) -> tuple[FailingAddress, ...]:
    """The failing addresses of the account and its contacts (the newest failure of each)."""
    holders: dict[str, list[str]] = defaultdict(list)
    for holder, address in [("account", email), *((c.handle, c.email) for c in contacts)]:
        holders[normal(address)].append(holder)
    rows = session.execute(
        select(AddressFailure)
        .where(
            col(AddressFailure.address).in_(list(holders)),
            col(AddressFailure.cleared_at).is_(None),
        )
        .order_by(col(AddressFailure.created_at), col(AddressFailure.id))
    ).scalars()
    newest = {row.address: row for row in rows}
    return tuple(
        FailingAddress(
            address=row.address,
            holders=tuple(holders[row.address]),
            source=row.source,
            reason=row.reason,
            since=row.created_at,
        )
        for row in sorted(newest.values(), key=lambda r: r.address)
    )


def _contacts(session: Session, account_id: int, now: datetime) -> tuple[AccountContact, ...]:
    """The account's contacts by handle, each with its newest e-mail change still waiting."""
    rows = session.execute(
        select(
            col(Contact.id),
            col(Contact.handle),
            col(Contact.name),
            col(Contact.org),
            col(Contact.email),
        )
        .where(col(Contact.account_id) == account_id)
        .order_by(col(Contact.id))
    ).all()
    waiting = session.execute(
        select(
            col(EmailVerification.contact_id),
            col(EmailVerification.new_email),
            col(EmailVerification.requested_by),
            col(EmailVerification.created_at),
            col(EmailVerification.expires_at),
        )
        .join(Contact, col(Contact.id) == col(EmailVerification.contact_id))
        .where(
            col(Contact.account_id) == account_id,
            col(EmailVerification.verified_at).is_(None),
            col(EmailVerification.cancelled_at).is_(None),
        )
        .order_by(col(EmailVerification.created_at), col(EmailVerification.id))
    ).all()
    newest: dict[int, PendingEmail] = {}
    for row in waiting:  # oldest first: the newest of each contact is kept
        newest[row.contact_id] = PendingEmail(
            new_email=row.new_email,
            requested_by=row.requested_by,
            requested_at=row.created_at,
            expires_at=row.expires_at,
            overdue=now - row.created_at > UNVERIFIED_AFTER,
            link_expired=row.expires_at <= now,
        )
    return tuple(
        AccountContact(
            handle=row.handle,
            name=row.name,
            org=row.org,
            email=row.email,
            pending_email=newest.get(row.id),
        )
        for row in rows
    )


def _registrant_changes(session: Session, account_id: int) -> tuple[PendingRegistrantChange, ...]:
    """The account's changes of registrant not decided yet, oldest first."""
    rows = session.execute(
        select(
            col(RegistrantChange.reference),
            col(Contact.handle),
            col(RegistrantChange.state),
            col(RegistrantChange.changes),
            col(RegistrantChange.requested_by),
            col(RegistrantChange.created_at),
            col(RegistrantChange.expires_at),
        )
        .join(Contact, col(Contact.id) == col(RegistrantChange.contact_id))
        .where(
            col(RegistrantChange.account_id) == account_id,
            col(RegistrantChange.decided_at).is_(None),
        )
        .order_by(col(RegistrantChange.created_at), col(RegistrantChange.id))
    ).all()
    return tuple(
        PendingRegistrantChange(
            reference=row.reference,
            contact_handle=row.handle,
            state=row.state,
            fields=tuple(sorted(row.changes or {})),
            requested_by=row.requested_by,
            requested_at=row.created_at,
            expires_at=row.expires_at,
        )
        for row in rows
    )


def _domains(session: Session, account_id: int, now: datetime) -> tuple[AccountDomain, ...]:
    """The account's domains by name, with role holders and transfer locks: two queries, however
    many domains the account holds."""
    lock = and_(col(TransferLock.domain_id) == col(Domain.id), col(TransferLock.until) > now)
    rows = session.execute(
        select(
            col(Domain.id),
            col(Domain.name),
            col(Domain.unicode_name),
            col(Domain.expires_at),
            col(TransferLock.until),
            col(TransferLock.reason),
        )
        .outerjoin(TransferLock, lock)
        .where(col(Domain.account_id) == account_id)
        .order_by(col(Domain.name))
    ).all()
    holders: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for domain_id, role, handle in session.execute(
        select(col(DomainContact.domain_id), col(DomainContact.role), col(Contact.handle))
        .join(Domain, col(Domain.id) == col(DomainContact.domain_id))
        .join(Contact, col(Contact.id) == col(DomainContact.contact_id))
        .where(col(Domain.account_id) == account_id)
    ).all():
        holders[domain_id].append((role, handle))
    return tuple(
        AccountDomain(
            name=row.name,
            unicode_name=row.unicode_name,
            expires_at=row.expires_at,
            holders=tuple(sorted(holders[row.id], key=_role_rank)),
            lock_until=row.until,
            lock_reason=row.reason,
        )
        for row in rows
    )


def _role_rank(pair: tuple[str, str]) -> tuple[int, str]:
    return _ROLE_ORDER.get(pair[0], len(_ROLE_ORDER)), pair[0]


def _changes(session: Session, actor: str) -> tuple[CustomerChange, ...]:
    """The customer's own changes (audit actor `customer:NUMBER`), newest first."""
    rows = session.execute(
        select(
            col(AuditEvent.id),
            col(AuditEvent.at),
            col(AuditEvent.action),
            col(AuditEvent.entity_type),
            col(AuditEvent.entity_id),
            col(AuditEvent.changes),
        )
        .where(col(AuditEvent.actor) == actor)
        .order_by(col(AuditEvent.id).desc())
        .limit(CHANGES_LIMIT)
    ).all()
    return tuple(
        CustomerChange(
            id=row.id,
            at=row.at,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            fields=_field_names(row.changes),
        )
        for row in rows
    )


def _field_names(changes: Any) -> tuple[str, ...]:
    return tuple(sorted(changes)) if isinstance(changes, dict) else ()
