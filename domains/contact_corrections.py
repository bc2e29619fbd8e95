"""A customer correcting their own contact: edits, e-mail verification, Change of Registrant."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlmodel import Session, col

from domains import audit, notice_delivery, notices, validation
from domains.audit import customer_actor
from domains.correction_notices import (
    VERIFICATION_REF,
    FieldChangeView,
    aware,
    field_changes,
    gtld_registrant_domains,
    lock_until,
)
from domains.customer_models import EmailVerification, RegistrantChange, TransferLock
from domains.errors import ConflictError, FieldError, NotFound, RuleViolation, ValidationFailed
from domains.mailer import Mailer
from domains.masking import mask_email
from domains.models import Account, Contact, Domain, Notice, utcnow
from domains.notices import RequestLinks
from domains.request_tokens import InvalidToken, check_token_shape, hash_token, new_token
from domains.store import CONTACT_DATA_FIELDS, CONTACT_FIELDS, Store, fields_of, refuse_unknown
from domains.vocabulary import NoticeCategory, RegistrantChangeState, RegistrantParty

#: What a customer may correct: a contact's registration data (consent is chosen elsewhere).
EDITABLE = CONTACT_DATA_FIELDS
#: A change of any of these for the registrant of a gTLD domain is a Change of Registrant
#: (ICANN Transfer Policy part II, "material change").
MATERIAL = ("name", "org", "email")
#: How long the link that verifies a new e-mail address works.
VERIFY_LINK = timedelta(days=3)
#: A new address still not verified this long after it was given is listed for staff (the RAA's
#: 15 days to verify a changed registrant address).
UNVERIFIED_AFTER = timedelta(days=15)
#: How long both parties have to confirm a change of registrant.
CHANGE_EXPIRY = timedelta(days=7)
#: After a change of registrant its domains may not move to another registrar for this long.
TRANSFER_LOCK = timedelta(days=60)
LOCK_REASON = "change of registrant"
#: Tries of applying a confirmed change when the contact moved meanwhile (a staff edit).
APPLY_TRIES = 3
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class CorrectionLinks(RequestLinks, Protocol):
    """The portal's links that correction mail carries (`portal.links.PortalLinks`)."""

    def verify_email(self, token: str) -> str:
        """The page where a new e-mail address is verified."""
        ...

    def registrant_change(self, token: str) -> str:
        """The page where a party confirms or refuses a change of registrant."""
        ...


def new_change_reference() -> str:
    """A public reference of a change of registrant: unguessable, easy to read out."""
    body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))
    return f"RC-{body[:5]}-{body[5:]}"


# -- what the faces are given ------------------------------------------------------------


@dataclass(frozen=True)
class PendingEmail:
    """A new e-mail address waiting for the link sent to it."""

    address: str
    requested_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class PendingRegistrantChange:
    """A change of registrant waiting for both parties' confirmations."""

    reference: str
    fields: tuple[str, ...]
    domains: tuple[str, ...]
    expires_at: datetime
    prior_confirmed: bool
    new_confirmed: bool


@dataclass(frozen=True)
class CorrectionResult:
    """What an edit did, as the customer may be shown it (the JSON API's answer)."""

    handle: str
    version: int
    applied: tuple[str, ...]
    email: PendingEmail | None
    registrant_change: PendingRegistrantChange | None


@dataclass(frozen=True)
class CorrectionOutcome:
    """An edit's result, its notices, and the links each notice carries.

    `contexts` holds the one-time links mailed to prove an address: never show it, deliver it.
    """

    result: CorrectionResult
    notice_ids: tuple[int, ...] = ()
    contexts: Mapping[int, Mapping[str, str]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class PendingCorrections:
    """What of a contact waits for a link: a new e-mail address, a change of registrant."""

    email: PendingEmail | None
    registrant_change: PendingRegistrantChange | None


@dataclass(frozen=True)
class EditableContact:
    """One of the account's contacts as its edit form starts: the stored values and what waits."""

    handle: str
    kind: str
    version: int
    values: Mapping[str, Any]
    registrant_of: tuple[str, ...]
    """The gTLD domains it is the registrant of: a material change of it needs both parties."""
    pending: PendingCorrections


@dataclass(frozen=True)
class VerificationView:
    """What a verification link will do, for the page it opens (changes nothing)."""

    handle: str
    address: str
    expires_at: datetime


@dataclass(frozen=True)
class EmailVerified:
    """A new address verified and in use."""

    handle: str
    address: str
    version: int


@dataclass(frozen=True)
class RegistrantChangeView:
    """A change of registrant as the page of one party's link shows it."""

    reference: str
    party: str
    state: str
    fields: tuple[FieldChangeView, ...]
    domains: tuple[str, ...]
    expires_at: datetime
    prior_email_masked: str
    new_email_masked: str
    prior_confirmed: bool
    new_confirmed: bool
    lock_opt_out: bool
    lock_until: datetime | None

    @property
    def confirmed_by_me(self) -> bool:
        """True when the party holding this link has confirmed."""
        return self.prior_confirmed if self.party == RegistrantParty.PRIOR else self.new_confirmed


@dataclass(frozen=True)
class RegistrantChangeOutcome:
    """A party's decision: the change after it, and the notices to deliver."""

    change: RegistrantChangeView
    notice_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class UnverifiedEmail:
    """A new address given long ago and never verified: staff follow it up."""

    handle: str
    account_number: str
    address: str
    requested_at: datetime
    link_expired: bool


@dataclass(frozen=True)
class TransferLockView:
    """A domain that may not move to another registrar yet."""

    domain: str
    until: datetime
    reason: str
    change_ref: str | None


def deliver(
    store: Store,
    notice_ids: Iterable[int],
    contexts: Mapping[int, Mapping[str, str]],
    *,
    mailer: Mailer,
    links: RequestLinks,
) -> list[Notice]:
    """Send a correction's notices after its commit, each with its own links."""
    sent: list[Notice] = []
    plain = [n for n in notice_ids if n not in contexts]
    for notice_id, context in contexts.items():
        sent += notice_delivery.deliver(
            store, [notice_id], mailer=mailer, links=links, context=context
        )
    if plain:
        sent += notice_delivery.deliver(store, plain, mailer=mailer, links=links)
    return sent


# -- the rules ---------------------------------------------------------------------------


class ContactCorrections:
    """A customer's corrections of their contacts over a store; `links` build the mailed links."""

    def __init__(self, store: Store, links: CorrectionLinks | None = None) -> None:
        self.store = store
        self.links = links

    # -- edit ------------------------------------------------------------------------------

    def edit(
        self,
        account_number: str,
        handle: str,
        expected_version: int,
        changes: Mapping[str, Any],
        *,
        now: datetime | None = None,
    ) -> CorrectionOutcome:
        """Correct one of the account's contacts.

        NotFound for a contact of another account (as for none); ValidationFailed naming every
        bad field; ConflictError when the contact changed since `expected_version` was read.
        The fields apply at once, except a new e-mail address (it waits for the link mailed to
        it) and a material change of a gTLD registrant (a change of registrant: nothing applies
        until both parties confirm).
        """
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise TypeError("edit: expected_version must be the version that was read (an int)")
        refuse_unknown(changes, EDITABLE)
        now = now or utcnow()
        actor = customer_actor(account_number)
        with self.store.read() as session:
            account, contact = self._own(session, account_number, handle)
            self.store._check_version(contact, expected_version, "contact", contact.handle)
            before = fields_of(contact, CONTACT_FIELDS)
            clean = validation.contact({**before, **changes})
            changed = audit.diff({k: before[k] for k in EDITABLE}, {k: clean[k] for k in EDITABLE})
            assert contact.id is not None and account.id is not None  # stored rows
            if changed:
                self._refuse_while_changing(session, contact.id, now)
            registrant_of = gtld_registrant_domains(session, contact.id, account.id)
            handle = contact.handle
        if not changed:
            return CorrectionOutcome(self._result(handle, expected_version, ()))
        if registrant_of and any(name in changed for name in MATERIAL):
            return self._start_change(actor, handle, expected_version, changed, now)
        version = expected_version
        applied = tuple(name for name in EDITABLE if name in changed and name != "email")
        if applied:
            updated = self.store.update_contact(
                actor, handle, expected_version, {name: changes[name] for name in applied}
            )
            version = updated.version
        if "email" not in changed:
            return CorrectionOutcome(self._result(handle, version, applied))
        return self._request_verification(
            actor, handle, version, applied, clean["email"], changed["email"]["before"], now
        )

    def _request_verification(
        self,
        actor: str,
        handle: str,
        version: int,
        applied: tuple[str, ...],
        address: str,
        current: str,
        now: datetime,
    ) -> CorrectionOutcome:
        token = new_token()
        with self.store.write() as session:
            contact = self._locked_contact(session, handle)
            self.store._check_version(contact, version, "contact", contact.handle)
            assert contact.id is not None  # a stored row
            self._cancel_verifications(session, contact.id, now)
            verification = EmailVerification(
                contact_id=contact.id,
                new_email=address,
                token_hash=hash_token(token),
                requested_by=actor,
                created_at=now,
                expires_at=now + VERIFY_LINK,
            )
            session.add(verification)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="contact.email_verification",
                entity_type="contact",
                entity_id=contact.handle,
                changes={"email": {"before": current, "after": f"{address} (to be verified)"}},
            )
            notice_id = self._notice(
                session,
                "email_verify",
                f"{VERIFICATION_REF}{verification.id}",
                "new_email",
                contact,
            )
            pending = PendingEmail(address, now, now + VERIFY_LINK)
        result = CorrectionResult(handle, version, applied, pending, None)
        context = {"verify_url": self._links().verify_email(token)}
        return CorrectionOutcome(result, (notice_id,), {notice_id: context})

    def _start_change(
        self,
        actor: str,
        handle: str,
        version: int,
        changed: dict[str, dict[str, Any]],
        now: datetime,
    ) -> CorrectionOutcome:
        prior_token, new_token_ = new_token(), new_token()
        with self.store.write() as session:
            contact = self._locked_contact(session, handle)
            self.store._check_version(contact, version, "contact", contact.handle)
            assert contact.id is not None and contact.account_id is not None  # checked by _own
            self._refuse_while_changing(session, contact.id, now)
            self._cancel_verifications(session, contact.id, now)
            new_email = changed["email"]["after"] if "email" in changed else contact.email
            change = RegistrantChange(
                reference=new_change_reference(),
                contact_id=contact.id,
                account_id=contact.account_id,
                state=RegistrantChangeState.PENDING,
                changes=changed,
                prior_email=contact.email,
                new_email=new_email,
                prior_token_hash=hash_token(prior_token),
                new_token_hash=hash_token(new_token_),
                requested_by=actor,
                created_at=now,
                expires_at=now + CHANGE_EXPIRY,
            )
            session.add(change)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="registrant_change.request",
                entity_type="registrant_change",
                entity_id=change.reference,
                changes={"contact": {"before": None, "after": contact.handle}, **changed},
                request_ref=change.reference,
            )
            ref = change.reference
            prior_id = self._notice(
                session, "registrant_change_confirm_prior", ref, "prior_email", contact
            )
            new_id = self._notice(
                session, "registrant_change_confirm_new", ref, "new_email", contact
            )
            pending = self._pending_change(session, change)
        links = self._links()
        result = CorrectionResult(handle, version, (), None, pending)
        contexts = {
            prior_id: {"decide_url": links.registrant_change(prior_token)},
            new_id: {"decide_url": links.registrant_change(new_token_)},
        }
        return CorrectionOutcome(result, (prior_id, new_id), contexts)

    # -- e-mail verification -----------------------------------------------------------------

    def describe_verification(self, token: str, *, now: datetime | None = None) -> VerificationView:
        """What the link will verify; changes nothing (a mail scanner's GET may fetch it)."""
        now = now or utcnow()
        with self.store.read() as session:
            verification = self._verification(session, token, now, lock=False)
            contact = session.get(Contact, verification.contact_id)
            return VerificationView(
                handle=contact.handle if contact else "",
                address=verification.new_email,
                expires_at=aware(verification.expires_at),
            )

    def verify_email(self, token: str, *, now: datetime | None = None) -> EmailVerified:
        """Use the new address the link was sent to; the link works once, before it expires."""
        now = now or utcnow()
        with self.store.write() as session:
            verification = self._verification(session, token, now, lock=True)
            contact = session.get(Contact, verification.contact_id)
            if contact is None or contact.account_id is None:
                raise InvalidToken("this link is not valid")
            account = session.get(Account, contact.account_id)
            assert account is not None and account.id is not None and contact.id is not None
            if gtld_registrant_domains(session, contact.id, account.id):
                # It became a registrant since: its address is a change of registrant now.
                verification.cancelled_at = now
                cancelled = True
            else:
                verification.verified_at = now
                cancelled = False
            actor, handle = customer_actor(account.number), contact.handle
            address = verification.new_email
            verification_id = verification.id
        if cancelled:
            raise RuleViolation(
                "this contact is now the registrant of domains whose change of e-mail address "
                "both registrants must confirm; change the address again in your control panel"
            )
        try:
            updated = self._apply(actor, handle, {"email": address}, None)
        except Exception:
            with self.store.write() as session:  # not used after all: the link works again
                row = session.get(EmailVerification, verification_id)
                if row is not None:
                    row.verified_at = None
            raise
        return EmailVerified(handle, address, updated.version)

    def unverified_for_staff(self, now: datetime | None = None) -> list[UnverifiedEmail]:
        """New addresses given over UNVERIFIED_AFTER ago and never verified, oldest first."""
        now = now or utcnow()
        with self.store.read() as session:
            rows = session.execute(
                select(EmailVerification, col(Contact.handle), col(Account.number))
                .join(Contact, col(Contact.id) == col(EmailVerification.contact_id))
                .join(Account, col(Account.id) == col(Contact.account_id))
                .where(
                    col(EmailVerification.verified_at).is_(None),
                    col(EmailVerification.cancelled_at).is_(None),
                    col(EmailVerification.created_at) <= now - UNVERIFIED_AFTER,
                )
                .order_by(col(EmailVerification.created_at), col(EmailVerification.id))
            ).all()
            return [
                UnverifiedEmail(
                    handle=handle,
                    account_number=number,
                    address=row.new_email,
                    requested_at=aware(row.created_at),
                    link_expired=now >= aware(row.expires_at),
                )
                for row, handle, number in rows
            ]

    # -- change of registrant ---------------------------------------------------------------

    def describe_registrant_change(
        self, token: str, *, now: datetime | None = None
    ) -> RegistrantChangeView:
        """The change a party's link opens; changes nothing."""
        now = now or utcnow()
        with self.store.read() as session:
            change, party = self._change(session, token, lock=False)
            self._check_open(change, now)
            return self._view(session, change, party)

    def confirm_registrant_change(
        self, token: str, lock_opt_out: bool = False, *, now: datetime | None = None
    ) -> RegistrantChangeOutcome:
        """A party confirms; once both have, the change is made and the domains locked."""
        now = now or utcnow()
        with self.store.write() as session:
            change, party = self._change(session, token, lock=True)
            self._check_open(change, now)
            if lock_opt_out and party != RegistrantParty.NEW:
                raise ValidationFailed(
                    FieldError(
                        "lock_opt_out",
                        "only the new registrant can choose not to have the transfer lock",
                    )
                )
            both = change.prior_confirmed_at is not None and change.new_confirmed_at is not None
            mine = "prior_confirmed_at" if party == RegistrantParty.PRIOR else "new_confirmed_at"
            if getattr(change, mine) is not None and not both:
                raise InvalidToken(
                    "you have already confirmed this change; it waits for the other registrant",
                    gone=True,
                )
            if not both:
                setattr(change, mine, now)
                if party == RegistrantParty.NEW:
                    change.lock_opt_out = bool(lock_opt_out)
                audit.record(
                    session,
                    actor=self._party_actor(session, change, party),
                    action="registrant_change.confirm",
                    entity_type="registrant_change",
                    entity_id=change.reference,
                    changes={
                        f"{party}_confirmed": {"before": False, "after": True},
                        **(
                            {"lock_opt_out": {"before": False, "after": True}}
                            if party == RegistrantParty.NEW and lock_opt_out
                            else {}
                        ),
                    },
                    request_ref=change.reference,
                )
            complete = change.prior_confirmed_at is not None and change.new_confirmed_at is not None
            reference = change.reference
            if not complete:
                return RegistrantChangeOutcome(self._view(session, change, party))
        return self._make_change(reference, party, now)

    def refuse_registrant_change(
        self, token: str, *, now: datetime | None = None
    ) -> RegistrantChangeOutcome:
        """A party refuses: the change ends, nothing changed, both are told."""
        now = now or utcnow()
        with self.store.write() as session:
            change, party = self._change(session, token, lock=True)
            self._check_open(change, now)
            if change.prior_confirmed_at is not None and change.new_confirmed_at is not None:
                raise InvalidToken(
                    "both registrants have confirmed this change; it can no longer be refused",
                    gone=True,
                )
            self._decide(session, change, RegistrantChangeState.REFUSED, now)
            change.refused_by = party
            audit.record(
                session,
                actor=self._party_actor(session, change, party),
                action="registrant_change.refuse",
                entity_type="registrant_change",
                entity_id=change.reference,
                changes={"state": {"before": "pending", "after": "refused"}},
                request_ref=change.reference,
            )
            ids = self._tell_both(session, change, "registrant_change_refused")
            return RegistrantChangeOutcome(self._view(session, change, party), ids)

    def expire_registrant_changes(
        self, *, now: datetime | None = None, actor: str = "system:expiry"
    ) -> list[RegistrantChangeOutcome]:
        """End every change not confirmed by both in time; both parties are told."""
        now = now or utcnow()
        with self.store.read() as session:
            due = list(
                session.execute(
                    select(col(RegistrantChange.reference)).where(
                        col(RegistrantChange.state) == RegistrantChangeState.PENDING,
                        col(RegistrantChange.expires_at) <= now,
                        or_(
                            col(RegistrantChange.prior_confirmed_at).is_(None),
                            col(RegistrantChange.new_confirmed_at).is_(None),
                        ),
                    )
                ).scalars()
            )
        outcomes = []
        for reference in due:
            with self.store.write() as session:
                change = self._locked_change(session, reference)
                if change.state != RegistrantChangeState.PENDING or (
                    change.prior_confirmed_at is not None and change.new_confirmed_at is not None
                ):
                    continue  # decided or completed meanwhile
                self._decide(session, change, RegistrantChangeState.EXPIRED, now)
                audit.record(
                    session,
                    actor=actor,
                    action="registrant_change.expire",
                    entity_type="registrant_change",
                    entity_id=change.reference,
                    changes={"state": {"before": "pending", "after": "expired"}},
                    request_ref=change.reference,
                )
                ids = self._tell_both(session, change, "registrant_change_expired")
                view = self._view(session, change, RegistrantParty.PRIOR)
            outcomes.append(RegistrantChangeOutcome(view, ids))
        return outcomes

    def transfer_lock(
        self, domain_name: str, *, now: datetime | None = None
    ) -> TransferLockView | None:
        """The lock that keeps a domain from moving to another registrar now, if any."""
        now = now or utcnow()
        alabel = self.store._alabel(domain_name)
        with self.store.read() as session:
            row = session.execute(
                select(TransferLock, col(Domain.unicode_name))
                .join(Domain, col(Domain.id) == col(TransferLock.domain_id))
                .where(col(Domain.name) == alabel)
            ).first()
            if row is None or aware(row[0].until) <= now:
                return None
            lock, name = row
            return TransferLockView(name, aware(lock.until), lock.reason, lock.change_ref)

    def editable(
        self, account_number: str, handle: str, *, now: datetime | None = None
    ) -> EditableContact:
        """One of the account's contacts for its edit form (NotFound if not theirs)."""
        with self.store.read() as session:
            account, contact = self._own(session, account_number, handle)
            assert contact.id is not None and account.id is not None  # stored rows
            domains = gtld_registrant_domains(session, contact.id, account.id)
            values = MappingProxyType(fields_of(contact, EDITABLE))
            kind, version, handle = contact.kind, contact.version, contact.handle
        return EditableContact(
            handle=handle,
            kind=kind,
            version=version,
            values=values,
            registrant_of=tuple(d.unicode_name for d in domains),
            pending=self.pending(account_number, handle, now=now),
        )

    def pending(
        self, account_number: str, handle: str, *, now: datetime | None = None
    ) -> PendingCorrections:
        """What of one of the account's contacts waits for a link (NotFound if not theirs)."""
        now = now or utcnow()
        with self.store.read() as session:
            _account, contact = self._own(session, account_number, handle)
            verification = session.execute(
                select(EmailVerification)
                .where(
                    col(EmailVerification.contact_id) == contact.id,
                    col(EmailVerification.verified_at).is_(None),
                    col(EmailVerification.cancelled_at).is_(None),
                    col(EmailVerification.expires_at) > now,
                )
                .order_by(col(EmailVerification.id).desc())
            ).scalar()
            email = (
                PendingEmail(
                    verification.new_email,
                    aware(verification.created_at),
                    aware(verification.expires_at),
                )
                if verification
                else None
            )
            change = self._open_change(session, contact.id, now)
            return PendingCorrections(email, self._pending_change(session, change))

    # -- steps -------------------------------------------------------------------------------

    def _make_change(self, reference: str, party: str, now: datetime) -> RegistrantChangeOutcome:
        """Both confirmed: apply the changes (Store.update_contact), lock, tell both."""
        with self.store.read() as session:
            change = self._locked_change(session, reference, lock=False)
            contact = session.get(Contact, change.contact_id)
            account = session.get(Account, change.account_id)
            assert contact is not None and account is not None  # foreign keys
            after = {name: value["after"] for name, value in change.changes.items()}
            actor, handle = customer_actor(account.number), contact.handle
        self._apply(actor, handle, after, reference)
        with self.store.write() as session:
            change = self._locked_change(session, reference)
            if change.state != RegistrantChangeState.PENDING:  # another request finished it
                return RegistrantChangeOutcome(self._view(session, change, party))
            self._decide(session, change, RegistrantChangeState.APPLIED, now)
            domains = gtld_registrant_domains(session, change.contact_id, change.account_id)
            if not change.lock_opt_out:
                for domain in domains:
                    self._lock(session, actor, domain, change.reference, now)
            audit.record(
                session,
                actor=actor,
                action="registrant_change.apply",
                entity_type="registrant_change",
                entity_id=change.reference,
                changes={"state": {"before": "pending", "after": "applied"}},
                request_ref=change.reference,
            )
            ids = self._tell_both(session, change, "registrant_change_done")
            return RegistrantChangeOutcome(self._view(session, change, party), ids)

    def _apply(
        self, actor: str, handle: str, after: Mapping[str, Any], reference: str | None
    ) -> Contact:
        """Store.update_contact at the contact's version now (trying again if it moved)."""
        for attempt in range(APPLY_TRIES):
            version = self.store.get_contact(handle).version
            try:
                return self.store.update_contact(
                    actor, handle, version, after, request_ref=reference
                )
            except ConflictError:
                if attempt == APPLY_TRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _lock(session: Session, actor: str, domain: Domain, reference: str, now: datetime) -> None:
        until = now + TRANSFER_LOCK
        lock = session.get(TransferLock, domain.id)
        before = aware(lock.until).isoformat() if lock else None
        if lock is None:
            assert domain.id is not None  # a stored row
            session.add(
                TransferLock(
                    domain_id=domain.id,
                    until=until,
                    reason=LOCK_REASON,
                    change_ref=reference,
                    created_at=now,
                )
            )
        else:
            lock.until, lock.reason, lock.change_ref, lock.created_at = (
                max(aware(lock.until), until),
                LOCK_REASON,
                reference,
                now,
            )
        audit.record(
            session,
            actor=actor,
            action="domain.transfer_lock",
            entity_type="domain",
            entity_id=domain.name,
            changes={"transfer_lock_until": {"before": before, "after": until.isoformat()}},
            request_ref=reference,
        )

    def _own(self, session: Session, account_number: str, handle: str) -> tuple[Account, Contact]:
        """The account's contact with this handle; NotFound alike for none and another's."""
        number = str(account_number or "").strip().upper()
        row = session.execute(
            select(Account, Contact)
            .join(Contact, col(Contact.account_id) == col(Account.id))
            .where(col(Account.number) == number, col(Contact.handle) == str(handle).strip())
        ).first()
        if row is None:
            raise NotFound("contact", str(handle))
        return row[0], row[1]

    @staticmethod
    def _locked_contact(session: Session, handle: str) -> Contact:
        contact = session.execute(
            select(Contact).where(col(Contact.handle) == handle).with_for_update()
        ).scalar()
        if contact is None:
            raise NotFound("contact", handle)
        return contact

    @staticmethod
    def _locked_change(session: Session, reference: str, *, lock: bool = True) -> RegistrantChange:
        query = select(RegistrantChange).where(col(RegistrantChange.reference) == reference)
        change = session.execute(query.with_for_update() if lock else query).scalar()
        if change is None:
            raise NotFound("change of registrant", reference)
        return change

    @staticmethod
    def _open_change(
        session: Session, contact_id: int | None, now: datetime
    ) -> RegistrantChange | None:
        """The contact's change of registrant still waiting (or confirmed and being made)."""
        return session.execute(
            select(RegistrantChange)
            .where(
                col(RegistrantChange.contact_id) == contact_id,
                col(RegistrantChange.state) == RegistrantChangeState.PENDING,
                or_(
                    col(RegistrantChange.expires_at) > now,
                    col(RegistrantChange.new_confirmed_at).is_not(None)
                    & col(RegistrantChange.prior_confirmed_at).is_not(None),
                ),
            )
            .order_by(col(RegistrantChange.id).desc())
        ).scalar()

    def _refuse_while_changing(self, session: Session, contact_id: int, now: datetime) -> None:
        change = self._open_change(session, contact_id, now)
        if change is not None:
            raise RuleViolation(
                f"the change of registrant {change.reference} is waiting for both registrants "
                f"to confirm it (until {aware(change.expires_at):%d %B %Y}); this contact can be "
                "changed again once it is confirmed, refused or expired"
            )

    @staticmethod
    def _cancel_verifications(session: Session, contact_id: int, now: datetime) -> None:
        """Earlier links for a new address stop working (only the newest counts)."""
        for row in session.execute(
            select(EmailVerification)
            .where(
                col(EmailVerification.contact_id) == contact_id,
                col(EmailVerification.verified_at).is_(None),
                col(EmailVerification.cancelled_at).is_(None),
            )
            .with_for_update()
        ).scalars():
            row.cancelled_at = now

    @staticmethod
    def _verification(
        session: Session, token: str, now: datetime, *, lock: bool
    ) -> EmailVerification:
        check_token_shape(token)
        query = select(EmailVerification).where(
            col(EmailVerification.token_hash) == hash_token(token)
        )
        row = session.execute(query.with_for_update() if lock else query).scalar()
        if row is None:
            raise InvalidToken("this link is not valid")
        if row.verified_at is not None:
            raise InvalidToken(
                "this link has already been used: the address is verified", gone=True
            )
        if row.cancelled_at is not None:
            raise InvalidToken(
                "this link no longer works: a newer change of the address replaced it", gone=True
            )
        if now >= aware(row.expires_at):
            raise InvalidToken(
                "this link has expired; change the address again in your control panel to get "
                "a new one",
                gone=True,
            )
        return row

    @staticmethod
    def _change(session: Session, token: str, *, lock: bool) -> tuple[RegistrantChange, str]:
        """The change a link belongs to, and whose link it is."""
        check_token_shape(token)
        digest = hash_token(token)
        query = select(RegistrantChange).where(
            or_(
                col(RegistrantChange.prior_token_hash) == digest,
                col(RegistrantChange.new_token_hash) == digest,
            )
        )
        change = session.execute(query.with_for_update() if lock else query).scalar()
        if change is None:
            raise InvalidToken("this link is not valid")
        party = RegistrantParty.PRIOR if change.prior_token_hash == digest else RegistrantParty.NEW
        return change, party

    @staticmethod
    def _check_open(change: RegistrantChange, now: datetime) -> None:
        if change.state != RegistrantChangeState.PENDING:
            raise InvalidToken(
                f"this change of registrant is {change.state}; it can no longer be confirmed "
                "or refused",
                gone=True,
            )
        both = change.prior_confirmed_at is not None and change.new_confirmed_at is not None
        if not both and now >= aware(change.expires_at):
            raise InvalidToken(
                "this change of registrant has expired; nothing was changed", gone=True
            )

    @staticmethod
    def _decide(session: Session, change: RegistrantChange, state: str, now: datetime) -> None:
        change.state = state
        change.decided_at = now

    @staticmethod
    def _party_actor(session: Session, change: RegistrantChange, party: str) -> str:
        contact = session.get(Contact, change.contact_id)
        return f"{party}-registrant:{contact.handle if contact else change.reference}"

    def _tell_both(
        self, session: Session, change: RegistrantChange, template: str
    ) -> tuple[int, ...]:
        """A notice to the prior address, and to the new one if it differs."""
        contact = session.get(Contact, change.contact_id)
        assert contact is not None  # a foreign key
        kinds = ["prior_email"]
        if change.new_email.casefold() != change.prior_email.casefold():
            kinds.append("new_email")
        return tuple(
            self._notice(session, template, change.reference, kind, contact) for kind in kinds
        )

    @staticmethod
    def _notice(
        session: Session, template: str, subject_ref: str, recipient: str, contact: Contact
    ) -> int:
        notice = notices.queue(
            session,
            template=template,
            category=NoticeCategory.ESSENTIAL,
            subject_ref=subject_ref,
            recipient=recipient,
            contact_id=contact.id,
            account_id=contact.account_id,
        )
        assert notice.id is not None  # queue flushes
        return notice.id

    @staticmethod
    def _pending_change(
        session: Session, change: RegistrantChange | None
    ) -> PendingRegistrantChange | None:
        if change is None:
            return None
        domains = gtld_registrant_domains(session, change.contact_id, change.account_id)
        return PendingRegistrantChange(
            reference=change.reference,
            fields=tuple(name for name in EDITABLE if name in change.changes),
            domains=tuple(d.unicode_name for d in domains),
            expires_at=aware(change.expires_at),
            prior_confirmed=change.prior_confirmed_at is not None,
            new_confirmed=change.new_confirmed_at is not None,
        )

    @staticmethod
    def _view(session: Session, change: RegistrantChange, party: str) -> RegistrantChangeView:
        domains = gtld_registrant_domains(session, change.contact_id, change.account_id)
        return RegistrantChangeView(
            reference=change.reference,
            party=party,
            state=change.state,
            fields=field_changes(change.changes),
            domains=tuple(d.unicode_name for d in domains),
            expires_at=aware(change.expires_at),
            prior_email_masked=mask_email(change.prior_email),
            new_email_masked=mask_email(change.new_email),
            prior_confirmed=change.prior_confirmed_at is not None,
            new_confirmed=change.new_confirmed_at is not None,
            lock_opt_out=change.lock_opt_out,
            lock_until=lock_until(session, change.reference),
        )

    @staticmethod
    def _result(handle: str, version: int, applied: tuple[str, ...]) -> CorrectionResult:
        return CorrectionResult(handle, version, applied, None, None)

    def _links(self) -> CorrectionLinks:
        if self.links is None:
            raise RuntimeError(
                "ContactCorrections was made without the portal's links; pass links="
            )
        return self.links
