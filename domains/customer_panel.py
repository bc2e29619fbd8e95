"""The customer's control panel: an account's records, consent, marketing opt-out and data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlmodel import Session, col

from domains.audit import customer_actor
from domains.contact_fields import CONSENTABLE, CONTACT_FIELDS
from domains.correction_notices import VERIFICATION_REF
from domains.customer_models import (
    ApiToken,
    CustomerSession,
    EmailVerification,
    Passkey,
    RegistrantChange,
    TransferLock,
)
from domains.customer_overview import (
    AccountData,
    AccountSummary,
    ContactPage,
    ContactSummary,
    DomainRow,
    FieldRow,
    Overview,
    PublicField,
    PublicLens,
    RoleHolder,
)
from domains.errors import FieldError, NotFound, ValidationFailed
from domains.models import (
    AccessEvent,
    Account,
    AuditEvent,
    ChangeRequest,
    Contact,
    Domain,
    DomainContact,
    Notice,
    StaffMember,
    utcnow,
)
from domains.staff import login_of
from domains.store import ACCOUNT_FIELDS, Store
from domains.store import CONTACT_FIELDS as CONTACT_COLUMNS
from domains.vocabulary import ConsentMethod, ContactRole, OptOutVia

#: How the account's marketing opt-out was given when it was given here.
OPT_OUT_VIA = OptOutVia.PORTAL.value
#: Who made a change, as the customer's download says it: never a member of staff's name.
YOU, STAFF, SYSTEM = "you", "Interlink staff", "system"

_C = Contact.__table__  # type: ignore[attr-defined]
_D = Domain.__table__  # type: ignore[attr-defined]
_DC = DomainContact.__table__  # type: ignore[attr-defined]
_ROLE_ORDER: dict[str, int] = {str(role): index for index, role in enumerate(ContactRole)}
_LABELS = {f.name: f.label for f in CONTACT_FIELDS}
#: The fields a summary names: a phone extension is part of its number.
_SUMMARY_FIELDS = tuple(f.name for f in CONTACT_FIELDS if f.part_of is None)
#: The columns of the account's contacts the overview reads: what a summary names and what
#: the publication policy decides by (no times, no search keys).
_OVERVIEW_COLUMNS = tuple(
    _C.c[name]
    for name in ("id", "handle", "kind", "is_house", "consent_fields", "version", *_SUMMARY_FIELDS)
)


def actor_words(actor: str, number: str) -> str:
    """Who made a change, for the holder of account `number`: you, Interlink staff or system."""
    if actor.strip().upper() == customer_actor(number).upper():
        return YOU
    if login_of(actor) is not None:
        return STAFF
    return SYSTEM


def display_name(name: str | None, org: str | None) -> str:
    """How a contact is named in a list: its organisation and name, or either."""
    if org and name and org != name:
        return f"{name} ({org})"
    return org or name or ""


def _text(value: Any) -> str | None:
    """A stored field as text: street lines joined by line breaks; None when empty."""
    if isinstance(value, list | tuple):
        lines = [str(line) for line in value if line and str(line).strip()]
        return "\n".join(lines) or None
    if value is None or value == "":
        return None
    return str(value)


def public_line(shown: frozenset[str] | None, contact: Mapping[str, Any], role: str | None) -> str:
    """One line of what the public answers show of a contact, for the overview."""
    if role is None:
        return "Not published: it holds no role on your domains."
    if shown is None:
        return f"Not published: the public answers do not show the {role} contact."
    public, hidden = [], []
    for name in _SUMMARY_FIELDS:
        value = contact[name]
        if not value:
            continue
        if name == "street":
            value = ", ".join(line for line in value if line and line.strip())
            if not value:
                continue
        if name in shown:
            public.append(f"{_LABELS[name]} {value}")
        else:
            hidden.append(_LABELS[name])
    words = f"Public ({role}): " + ("; ".join(public) if public else "nothing")
    if hidden:
        words += ". Redacted: " + ", ".join(hidden)
    return words + "."


@dataclass(frozen=True)
class _Held:
    """A role a contact holds: on which domain."""

    domain: str
    unicode_name: str
    role: str


class CustomerPanel:
    """What the holder of an account sees and changes of their own records.

    Every method takes the account number of the signed-in customer and never gives or changes
    anything of another account: a contact of another account is `NotFound`, exactly as one
    that does not exist. Writes go through `Store` as the actor `customer:<number>`, so the
    audit trail, the registry's outbox and the public answers follow as for any other change.
    `lens` (publishers/customer_preview.py) says what the public answers show; without it the
    views leave those parts out (None).
    """

    def __init__(self, store: Store, lens: PublicLens | None = None) -> None:
        self.store = store
        self.lens = lens

    # -- reads ----------------------------------------------------------------------------

    @staticmethod
    def _account(session: Session, number: str) -> Account:
        account = session.execute(
            select(Account).where(col(Account.number) == number.strip().upper())
        ).scalar()
        if account is None:
            raise NotFound("account", number)
        return account

    @staticmethod
    def _summary(account: Account) -> AccountSummary:
        place = " ".join(p for p in (account.postal_code, account.city) if p)
        address = [*(line for line in account.street or () if line), place, account.state or ""]
        return AccountSummary(
            number=account.number,
            name=account.name,
            email=account.email,
            phone=account.phone,
            address=[line for line in address if line],
            country=account.country,
            marketing_opt_out_at=account.marketing_opt_out_at,
            marketing_opt_out_via=account.marketing_opt_out_via,
            version=account.version,
        )

    def account(self, number: str) -> AccountSummary:
        """The account's details."""
        with self.store.read() as session:
            return self._summary(self._account(session, number))

    def overview(self, number: str) -> Overview:
        """The account, its domains with the holder of each role, its contacts in one line each.

        A few set-based queries whatever the number of domains: the domains (with their
        transfer locks), the roles, the account's contacts, and the names of the others that
        hold a role (Interlink's own contact, a technical contact of another company).
        """
        locks = TransferLock.__table__  # type: ignore[attr-defined]
        with self.store.read() as session:
            account = self._account(session, number)
            aid = account.id
            domains = session.execute(
                select(_D.c.id, _D.c.name, _D.c.unicode_name, _D.c.expires_at, locks.c.until)
                .outerjoin(locks, locks.c.domain_id == _D.c.id)
                .where(_D.c.account_id == aid)
                .order_by(_D.c.name)
            ).all()
            roles = session.execute(
                select(_DC.c.domain_id, _DC.c.role, _DC.c.contact_id)
                .join(_D, _D.c.id == _DC.c.domain_id)
                .where(_D.c.account_id == aid)
            ).all()
            # By account only: with the house flag too, SQLite may take the flag's index and
            # read every contact of the store. Interlink's own contact belongs to no account.
            own: dict[int, Any] = {
                row["id"]: row
                for row in session.execute(
                    select(*_OVERVIEW_COLUMNS).where(_C.c.account_id == aid).order_by(_C.c.handle)
                ).mappings()
                if not row["is_house"]
            }
            others = {contact_id for _, _, contact_id in roles} - set(own)
            strangers = (
                session.execute(
                    select(_C.c.id, _C.c.handle, _C.c.name, _C.c.org).where(_C.c.id.in_(others))
                ).all()
                if others
                else []
            )
        by_domain: dict[int, dict[str, int]] = {}
        held: dict[int, list[tuple[int, str]]] = {}
        for domain_id, role, contact_id in roles:
            by_domain.setdefault(domain_id, {})[role] = contact_id
            held.setdefault(contact_id, []).append((domain_id, role))
        holders = {
            cid: RoleHolder(row["handle"], display_name(row["name"], row["org"]), True)
            for cid, row in own.items()
        }
        for cid, handle, name, org in strangers:
            holders[cid] = RoleHolder(handle, display_name(name, org), False)
        rows = [
            DomainRow(
                name=name,
                unicode_name=unicode_name,
                expires_at=expires_at,
                roles={
                    role: holders[cid]
                    for role, cid in sorted(
                        by_domain.get(domain_id, {}).items(), key=lambda i: _ROLE_ORDER[i[0]]
                    )
                    if cid in holders
                },
                lock_until=until,
            )
            for domain_id, name, unicode_name, expires_at, until in domains
        ]
        summaries = [
            self._contact_summary(row, [role for _, role in held.get(cid, [])])
            for cid, row in own.items()
        ]
        return Overview(account=self._summary(account), domains=rows, contacts=summaries)

    def _contact_summary(self, row: Mapping[str, Any], roles: list[str]) -> ContactSummary:
        public = None
        if self.lens is not None:
            role, shown = self._public_role(row, roles)
            public = public_line(shown, row, role)
        return ContactSummary(
            handle=row["handle"],
            name=row["name"],
            org=row["org"],
            kind=row["kind"],
            roles=len(roles),
            public=public,
            version=row["version"],
        )

    def _public_role(
        self, contact: Mapping[str, Any], roles: Iterable[str]
    ) -> tuple[str | None, frozenset[str] | None]:
        """The role whose publication stands for the contact (the first the answers show, in
        ContactRole order), with the fields they show; (None, None) for a contact without one."""
        assert self.lens is not None
        found: tuple[str | None, frozenset[str] | None] = (None, None)
        for role in sorted(set(roles), key=_ROLE_ORDER.__getitem__):
            shown = self.lens.shown_fields(role, contact)
            if shown is not None:
                return role, shown
            if found[0] is None:
                found = (role, None)
        return found

    def _own_contact(self, session: Session, number: str, handle: str) -> tuple[Account, Contact]:
        """The account and its contact `handle`; NotFound alike for another's and for none."""
        account = self._account(session, number)
        contact = session.execute(
            select(Contact).where(
                col(Contact.handle) == handle, col(Contact.account_id) == account.id
            )
        ).scalar()
        if contact is None or contact.is_house:
            raise NotFound("contact", handle)
        return account, contact

    def owns_contact(self, number: str, handle: str) -> bool:
        """True when `handle` is a contact of the account (for faces that must say 404)."""
        try:
            with self.store.read() as session:
                self._own_contact(session, number, handle)
        except NotFound:
            return False
        return True

    def contact(self, number: str, handle: str) -> ContactPage:
        """A contact of the account in full; NotFound for any other handle."""
        with self.store.read() as session:
            _, contact = self._own_contact(session, number, handle)
            held = [
                _Held(name, unicode_name, role)
                for name, unicode_name, role in session.execute(
                    select(_D.c.name, _D.c.unicode_name, _DC.c.role)
                    .join(_DC, _DC.c.domain_id == _D.c.id)
                    .where(_DC.c.contact_id == contact.id)
                    .order_by(_D.c.name)
                )
            ]
            events = list(
                session.execute(
                    select(AuditEvent)
                    .where(
                        col(AuditEvent.entity_type) == "contact",
                        col(AuditEvent.entity_id) == contact.handle,
                    )
                    .order_by(col(AuditEvent.id))
                ).scalars()
            )
        return self._page(contact, held, events)

    def _page(self, contact: Contact, held: list[_Held], events: list[AuditEvent]) -> ContactPage:
        preview: _Held | None = None
        texts: Mapping[str, PublicField] | None = None
        whois = None
        if self.lens is not None and held:
            values = {name: getattr(contact, name) for name in CONTACT_COLUMNS}
            values["is_house"] = contact.is_house
            shown = {
                role: self.lens.shown_fields(role, values) is not None
                for role in {h.role for h in held}
            }
            preview = min(held, key=lambda h: (not shown[h.role], _ROLE_ORDER[h.role], h.domain))
            record = self.store.domain_record(preview.domain)
            texts = self.lens.field_texts(record, preview.role)
            whois = self.lens.whois(record)
        given = consent_history(contact, events)
        rows = []
        for spec in CONTACT_FIELDS:
            public = texts.get(spec.name) if texts is not None else None
            consent = spec.consentable and spec.name in (contact.consent_fields or ())
            at, method = given.get(spec.name, (None, None)) if consent else (None, None)
            rows.append(
                FieldRow(
                    field=spec.name,
                    label=spec.label,
                    value=_text(getattr(contact, spec.name)),
                    whois=public.whois if public else None,
                    rdap=public.rdap if public else None,
                    published=public.published if public else None,
                    consentable=spec.consentable,
                    consent_label=spec.consent_label,
                    consented=consent,
                    consent_at=at,
                    consent_method=method,
                )
            )
        return ContactPage(
            handle=contact.handle,
            kind=contact.kind,
            name=contact.name,
            org=contact.org,
            version=contact.version,
            fields=rows,
            consent_fields=list(contact.consent_fields or ()),
            consent_at=contact.consent_at,
            consent_method=contact.consent_method,
            roles=[
                {"domain": h.domain, "unicode_name": h.unicode_name, "role": h.role} for h in held
            ],
            preview_domain=preview.domain if preview else None,
            preview_role=preview.role if preview else None,
            preview_whois=whois,
            updated_at=contact.updated_at,
        )

    # -- writes ---------------------------------------------------------------------------

    def set_consent(
        self,
        number: str,
        handle: str,
        fields: Iterable[str],
        *,
        expected_version: int | None = None,
    ) -> ContactPage:
        """Consent to publish exactly `fields` (of `CONSENTABLE`) of a contact of the account.

        Saved through `Store.update_contact` as `customer:<number>` with the time and the
        method (the portal), so the audit trail, the registry's outbox and the public answers
        (whose rendered-ahead rows the database drops in the same transaction) follow at once.
        `expected_version` (the version the customer's page showed) refuses a stale page with
        ConflictError. Consent as it already stands writes nothing.
        """
        ordered = checked_consent(fields)
        with self.store.read() as session:
            _, contact = self._own_contact(session, number, handle)
        if ordered != list(contact.consent_fields or ()):
            self.store.update_contact(
                customer_actor(number),
                contact.handle,
                contact.version if expected_version is None else expected_version,
                {
                    "consent_fields": ordered,
                    "consent_at": utcnow(),
                    "consent_method": ConsentMethod.PORTAL,
                },
            )
        return self.contact(number, handle)

    def set_marketing(self, number: str, opt_out: bool) -> AccountSummary:
        """Opt the account out of marketing mail (when and how are kept), or back in (both are
        cleared). Essential notices about the account and its domains are sent either way."""
        with self.store.read() as session:
            account = self._account(session, number)
        if opt_out == (account.marketing_opt_out_at is not None):
            return self._summary(account)
        changes: dict[str, Any] = (
            {
                "marketing_opt_out_at": utcnow(),
                "marketing_opt_out_via": OPT_OUT_VIA,
                "marketing_opt_out_by": customer_actor(account.number),
            }
            if opt_out
            else {
                "marketing_opt_out_at": None,
                "marketing_opt_out_via": None,
                "marketing_opt_out_by": None,
            }
        )
        # No version check: the customer's choice is absolute, whatever changed meanwhile.
        updated = self.store.update_account(customer_actor(number), account.number, None, changes)
        return self._summary(updated)

    # -- the download ---------------------------------------------------------------------

    def account_data(self, number: str) -> dict[str, Any]:
        """Everything held about the account, as JSON data (see `AccountData`)."""
        return self.data(number).as_json()

    def data(self, number: str) -> AccountData:
        """Everything held about the account: its records, the requests and notices about
        them, the changes made to them (by whom in general words) and staff's looks at them."""
        with self.store.read() as session:
            account = self._account(session, number)
            return _Collector(session, account).collect()


def checked_consent(fields: Iterable[str]) -> list[str]:
    """The consentable fields chosen, in table order; ValidationFailed naming any other."""
    chosen = set(fields)
    unknown = sorted(chosen - set(CONSENTABLE))
    if unknown:
        choices = ", ".join(CONSENTABLE)
        raise ValidationFailed(
            FieldError(
                "consent_fields",
                f"{', '.join(unknown)} cannot be consented to; choose from {choices}",
            )
        )
    return [name for name in CONSENTABLE if name in chosen]


def consent_history(
    contact: Contact, events: list[AuditEvent]
) -> dict[str, tuple[datetime | None, str | None]]:
    """For each field the contact consents to now: when and how that consent was given.

    Read from the contact's audit events (oldest first): the last time the field joined its
    consent, with the method in force then; a field the trail does not explain (an import)
    takes the contact's own consent time and method.
    """
    method: str | None = None
    since: dict[str, tuple[datetime | None, str | None]] = {}
    for event in events:
        changes = event.changes or {}
        if "consent_method" in changes:
            method = _after(changes["consent_method"])
        if "consent_fields" not in changes:
            continue
        entry = changes["consent_fields"]
        before = set(entry.get("before") or ()) if isinstance(entry, Mapping) else set()
        after = set(_after(entry) or ())
        at = _time(_after(changes["consent_at"])) if "consent_at" in changes else None
        for name in after - before:
            since[name] = (at or event.at, method)
        for name in before - after:
            since.pop(name, None)
    current = set(contact.consent_fields or ())
    fallback = (contact.consent_at, contact.consent_method)
    return {name: since.get(name, fallback) for name in current}


def _after(entry: Any) -> Any:
    return entry.get("after") if isinstance(entry, Mapping) else entry


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


class _Collector:
    """The reads of one download, in one session."""

    def __init__(self, session: Session, account: Account) -> None:
        self.session = session
        self.account = account
        self.number = account.number

    def collect(self) -> AccountData:
        session, account = self.session, self.account
        contacts = [
            contact
            for contact in session.execute(
                select(Contact)
                .where(col(Contact.account_id) == account.id)
                .order_by(col(Contact.handle))
            ).scalars()
            if not contact.is_house
        ]
        domains = list(
            session.execute(
                select(Domain)
                .where(col(Domain.account_id) == account.id)
                .order_by(col(Domain.name))
            ).scalars()
        )
        domain_ids = [d.id for d in domains]
        names = {d.id: d.name for d in domains}
        roles = session.execute(
            select(col(DomainContact.domain_id), col(DomainContact.role), Contact)
            .join(Contact, col(Contact.id) == col(DomainContact.contact_id))
            .join(Domain, col(Domain.id) == col(DomainContact.domain_id))
            .where(col(Domain.account_id) == account.id)
        ).all()
        locks = {
            lock.domain_id: lock
            for lock in session.execute(
                select(TransferLock)
                .join(Domain, col(Domain.id) == col(TransferLock.domain_id))
                .where(col(Domain.account_id) == account.id)
            ).scalars()
        }
        requests = list(
            session.execute(
                select(ChangeRequest)
                .where(col(ChangeRequest.domain_id).in_(domain_ids))
                .order_by(col(ChangeRequest.id))
            ).scalars()
        )
        changes_of_registrant = list(
            session.execute(
                select(RegistrantChange)
                .where(col(RegistrantChange.account_id) == account.id)
                .order_by(col(RegistrantChange.id))
            ).scalars()
        )
        handles = {c.id: c.handle for c in contacts}
        verifications = list(
            session.execute(
                select(EmailVerification)
                .where(col(EmailVerification.contact_id).in_(list(handles)))
                .order_by(col(EmailVerification.id))
            ).scalars()
        )
        refs = [r.reference for r in changes_of_registrant]
        refs += [f"{VERIFICATION_REF}{v.id}" for v in verifications]
        return AccountData(
            generated_at=utcnow(),
            account={
                "number": account.number,
                **{name: getattr(account, name) for name in ACCOUNT_FIELDS},
                "created_at": account.created_at,
                "updated_at": account.updated_at,
            },
            contacts=[self._contact(c) for c in contacts],
            domains=self._domains(domains, roles, locks),
            change_requests=[self._request(r, names) for r in requests],
            registrant_changes=[self._registrant_change(r, handles) for r in changes_of_registrant],
            notices=self._notices(list(handles), refs),
            changes=self._changes(
                [c.handle for c in contacts],
                list(names.values()),
                [r.reference for r in requests],
                [r.reference for r in changes_of_registrant],
            ),
            staff_access=self._access([c.handle for c in contacts], set(names.values())),
            sign_in=self._sign_in(),
            email_verifications=[self._verification(v, handles) for v in verifications],
        )

    def _contact(self, contact: Contact) -> dict[str, Any]:
        return {
            "handle": contact.handle,
            **{name: getattr(contact, name) for name in CONTACT_COLUMNS},
            "created_at": contact.created_at,
            "updated_at": contact.updated_at,
        }

    def _domains(
        self, domains: list[Domain], roles: Iterable[Any], locks: Mapping[int, Any]
    ) -> list[dict[str, Any]]:
        by_domain: dict[int, dict[str, dict[str, Any]]] = {}
        for domain_id, role, contact in roles:
            by_domain.setdefault(domain_id, {})[role] = {
                "handle": contact.handle,
                "name": display_name(contact.name, contact.org),
                "yours": contact.account_id == self.account.id and not contact.is_house,
            }
        out = []
        for domain in domains:
            lock = locks.get(domain.id)  # type: ignore[arg-type]
            held = by_domain.get(domain.id, {})  # type: ignore[arg-type]
            out.append(
                {
                    "name": domain.name,
                    "unicode_name": domain.unicode_name,
                    "created_at": domain.created_at,
                    "expires_at": domain.expires_at,
                    "statuses": list(domain.statuses or ()),
                    "nameservers": list(domain.nameservers or ()),
                    "dnssec": domain.dnssec,
                    "roles": {r: held[r] for r in sorted(held, key=_ROLE_ORDER.__getitem__)},
                    "transfer_lock": (
                        {"until": lock.until, "reason": lock.reason} if lock is not None else None
                    ),
                }
            )
        return out

    def _request(self, request: ChangeRequest, names: Mapping[int | None, str]) -> dict[str, Any]:
        return {
            "reference": request.reference,
            "domain": names.get(request.domain_id),
            "state": request.state,
            "channel": request.channel,
            "entered_by": actor_words(request.entered_by, self.number),
            "target": request.target,
            "new_technical_contact": (request.proposed or {}).get("org"),
            "created_at": request.created_at,
            "confirmed_at": request.confirmed_at,
            "decided_at": request.decided_at,
            "reason": request.reason,
            "applied_at": request.applied_at,
            "completed_at": request.completed_at,
            "expires_at": request.expires_at,
        }

    def _registrant_change(
        self, change: RegistrantChange, handles: Mapping[int | None, str]
    ) -> dict[str, Any]:
        return {
            "reference": change.reference,
            "contact": handles.get(change.contact_id),
            "state": change.state,
            "fields": sorted(change.changes or {}),
            "prior_email": change.prior_email,
            "new_email": change.new_email,
            "prior_confirmed_at": change.prior_confirmed_at,
            "new_confirmed_at": change.new_confirmed_at,
            "lock_opt_out": change.lock_opt_out,
            "requested_by": actor_words(change.requested_by, self.number),
            "created_at": change.created_at,
            "expires_at": change.expires_at,
            "decided_at": change.decided_at,
        }

    def _verification(
        self, verification: EmailVerification, handles: Mapping[int | None, str]
    ) -> dict[str, Any]:
        return {
            "contact": handles.get(verification.contact_id),
            "new_email": verification.new_email,
            "requested_by": actor_words(verification.requested_by, self.number),
            "created_at": verification.created_at,
            "expires_at": verification.expires_at,
            "verified_at": verification.verified_at,
            "cancelled_at": verification.cancelled_at,
        }

    def _notices(self, contact_ids: list[int | None], refs: list[str]) -> list[dict[str, Any]]:
        """The mail sent to the account, to its contacts, and about its contacts' corrections
        (to the address being verified, to the registrant's prior and new addresses)."""
        about = [
            and_(col(Notice.recipient) == "account", col(Notice.account_id) == self.account.id),
            and_(col(Notice.recipient) == "contact", col(Notice.contact_id).in_(contact_ids)),
        ]
        if refs:
            about.append(col(Notice.subject_ref).in_(refs))
        rows = self.session.execute(
            select(Notice).where(or_(*about)).order_by(col(Notice.id))
        ).scalars()
        return [
            {
                "subject": notice.subject,
                "category": notice.category,
                "status": notice.status,
                "created_at": notice.created_at,
                "sent_at": notice.sent_at,
            }
            for notice in rows
        ]

    def _changes(
        self,
        handles: list[str],
        domains: list[str],
        requests: list[str],
        registrant_changes: list[str],
    ) -> list[dict[str, Any]]:
        about = [
            and_(col(AuditEvent.entity_type) == "account", col(AuditEvent.entity_id) == self.number)
        ]
        for kind, keys in (
            ("contact", handles),
            ("domain", domains),
            ("change_request", requests),
            ("registrant_change", registrant_changes),
        ):
            if keys:
                about.append(
                    and_(col(AuditEvent.entity_type) == kind, col(AuditEvent.entity_id).in_(keys))
                )
        rows = self.session.execute(
            select(AuditEvent).where(or_(*about)).order_by(col(AuditEvent.id))
        ).scalars()
        return [
            {
                "at": event.at,
                "action": event.action,
                "entity": f"{event.entity_type} {event.entity_id}",
                "fields": sorted(event.changes or {}),
                "by": actor_words(event.actor, self.number),
            }
            for event in rows
        ]

    def _access(self, handles: list[str], domains: set[str]) -> list[dict[str, Any]]:
        """Staff's looks at the account's contacts, and the exports made since it exists."""
        about = col(AccessEvent.contact_handle)
        export = and_(about.is_(None), col(AccessEvent.at) >= self.account.created_at)
        where = or_(about.in_(handles), export) if handles else export
        events = list(
            self.session.execute(
                select(AccessEvent).where(where).order_by(col(AccessEvent.id))
            ).scalars()
        )
        logins = {login for e in events if (login := login_of(e.actor)) is not None}
        roles = {
            login: ", ".join(sorted(held or ()))
            for login, held in self.session.execute(
                select(col(StaffMember.login), col(StaffMember.roles)).where(
                    col(StaffMember.login).in_(logins)
                )
            )
        }
        out = []
        for event in events:
            login = login_of(event.actor)
            out.append(
                {
                    "at": event.at,
                    "role": (roles.get(login) or "staff") if login is not None else SYSTEM,
                    "purpose": event.purpose,
                    "contact": event.contact_handle or "every contact (an export)",
                    "domain": event.domain if event.domain in domains else None,
                }
            )
        return out

    def _sign_in(self) -> dict[str, list[dict[str, Any]]]:
        aid = self.account.id
        sessions = self.session.execute(
            select(CustomerSession)
            .where(col(CustomerSession.account_id) == aid)
            .order_by(col(CustomerSession.id))
        ).scalars()
        tokens = self.session.execute(
            select(ApiToken).where(col(ApiToken.account_id) == aid).order_by(col(ApiToken.id))
        ).scalars()
        passkeys = self.session.execute(
            select(Passkey).where(col(Passkey.account_id) == aid).order_by(col(Passkey.id))
        ).scalars()
        return {
            "sessions": [
                {
                    "via": s.via,
                    "created_at": s.created_at,
                    "last_seen_at": s.last_seen_at,
                    "expires_at": s.expires_at,
                    "ended_at": s.ended_at,
                }
                for s in sessions
            ],
            "api_tokens": [
                {
                    "label": t.label,
                    "hint": t.hint,
                    "created_at": t.created_at,
                    "last_used_at": t.last_used_at,
                    "revoked_at": t.revoked_at,
                }
                for t in tokens
            ],
            "passkeys": [
                {"label": p.label, "created_at": p.created_at, "last_used_at": p.last_used_at}
                for p in passkeys
            ],
        }
