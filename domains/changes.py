"""Technical-contact change requests: the state machine of architecture §5.

submitted -> confirmed (registrant, by token) -> approved (staff) -> applied -> completed
                                                                           \\-> sync_failed
submitted -> expired | cancelled; confirmed -> rejected | cancelled.

Every transition checks who may make it and from which state, and writes its audit event in
the same transaction. Notices are queued in that transaction; the caller delivers them after
the commit (the confirmation token exists only in memory, never in the store).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from domains import audit, validation
from domains.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from domains.models import Account, ChangeRequest, Contact, Domain, DomainContact, utcnow
from domains.notices import RequestLinks
from domains.outbox import enqueue
from domains.request_mail import Outcome
from domains.request_reads import RequestReads, role_holder
from domains.request_rules import (
    audit_transition,
    check_changeable,
    check_locks,
    locked_domain,
    locked_request,
    require,
    require_if_staff,
    require_staff,
    touch,
)
from domains.request_sync import RequestSync
from domains.request_tokens import (
    check_token,
    check_token_shape,
    hash_token,
    new_reference,
    new_token,
)
from domains.staff import Permission
from domains.store import Store
from domains.vocabulary import ContactRole, RequestChannel, RequestState, RequestTarget

#: What a proposal must carry: EPP contact:create needs a city and a country code.
PROPOSAL_REQUIRED = ("org", "name", "email", "voice", "city", "country")


def validate_proposal(data: Mapping[str, Any]) -> dict[str, Any]:
    """The new technical contact of a request: an organisation with name, e-mail and phone."""
    missing = [
        FieldError(name, "is required")
        for name in PROPOSAL_REQUIRED
        if not str(data.get(name) or "").strip()
    ]
    try:
        clean = validation.contact({**data, "kind": "organization"})
    except ValidationFailed as exc:
        known = {e.field for e in missing}
        missing += [e for e in exc.errors if e.field not in known]
        raise ValidationFailed(missing) from None
    if missing:
        raise ValidationFailed(missing)
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in clean.items()}


def account_of(session: Session, domain: Domain) -> str | None:
    """The number of the account that holds the domain."""
    account = session.get(Account, domain.account_id)
    return account.number if account else None


def registrant_is_account(session: Session, domain: Domain, number: str) -> bool:
    """Whether the account's e-mail is the e-mail of the domain's registrant on file."""
    account = session.execute(select(Account).where(col(Account.number) == number)).scalar()
    registrant = role_holder(session, domain, ContactRole.REGISTRANT)
    if account is None or registrant is None or not registrant.email:
        return False
    return account.email.strip().lower() == registrant.email.strip().lower()


class Workflow(RequestReads, RequestSync):
    """The change-request rules over a store; reads in `request_reads`, mail in `request_mail`,
    the registry side in `request_sync`, the shared checks in `request_rules`.

    `links` builds the portal links that mail carries; a face that delivers mail passes the
    portal's (`portal.links.PortalLinks`).
    """

    def __init__(self, store: Store, links: RequestLinks | None = None) -> None:
        self.store = store
        self.links = links
        self.expiry = timedelta(days=store.settings.request_expiry_days)

    # -- transitions --------------------------------------------------------------------

    def submit(
        self,
        *,
        actor: str,
        domain_name: str,
        proposal: Mapping[str, Any] | None,
        channel: str,
        target: str = RequestTarget.NEW,
        account: str | None = None,
        now: datetime | None = None,
    ) -> Outcome:
        """Open a request to move the domain's tech contact; mails the registrant a token.

        `account`: the signed-in customer's account number (the control panel). The domain must
        be that account's; when the account's e-mail is the registrant's e-mail on file, the
        request counts as confirmed by the registrant and no link is mailed.
        """
        now = now or utcnow()
        validation.choice("channel", channel, RequestChannel)
        validation.choice("target", target, RequestTarget)
        proposed = validate_proposal(proposal or {}) if target == RequestTarget.NEW else {}
        token = new_token()
        with self.store.write() as session:
            require_if_staff(session, actor, Permission.ENTER_REQUEST)
            domain = locked_domain(session, domain_name)
            if account is not None and account_of(session, domain) != account:
                raise NotFound("domain", domain_name)  # never another account's, nor a hint
            check_changeable(session, domain)
            tech = role_holder(session, domain, ContactRole.TECH)
            if target == RequestTarget.HOUSE and tech is not None and tech.is_house:
                raise RuleViolation(
                    f"the technical contact of {domain.unicode_name} is already Interlink"
                )
            assert domain.id is not None  # a stored row
            request = ChangeRequest(
                reference=new_reference(),
                domain_id=domain.id,
                channel=channel,
                entered_by=audit.check_actor(actor),
                target=target,
                proposed=proposed,
                old_tech_id=tech.id if tech else None,
                token_hash=hash_token(token),
                token_expires_at=now + self.expiry,
                expires_at=now + self.expiry,
                created_at=now,
                updated_at=now,
            )
            session.add(request)
            session.flush()
            audit_transition(
                session, actor, "change.submit", request, {"state": (None, "submitted")}
            )
            if account is not None and registrant_is_account(session, domain, account):
                request.state = RequestState.CONFIRMED
                request.confirmed_at = request.token_used_at = now
                audit_transition(
                    session, actor, "change.confirm", request, {"state": ("submitted", "confirmed")}
                )
                return Outcome(request, self._notify_all(session, request, "request_confirmed"))
            ids = [self._notify_registrant(session, request, "request_received")]
        return Outcome(request, ids, token)

    def resend_confirmation(self, *, actor: str, reference: str) -> Outcome:
        """A new confirmation token for a submitted request (the old link stops working)."""
        token = new_token()
        with self.store.write() as session:
            require_if_staff(session, actor, Permission.ENTER_REQUEST)
            request = locked_request(session, reference)
            require(request, ("submitted",), "resend its confirmation")
            request.token_hash = hash_token(token)
            touch(request)
            audit_transition(session, actor, "change.resend", request, {})
            ids = [self._notify_registrant(session, request, "request_received")]
        return Outcome(request, ids, token)

    def confirm(self, *, token: str, now: datetime | None = None) -> Outcome:
        """The registrant confirms with the token from the e-mail on file (POST only)."""
        now = now or utcnow()
        check_token_shape(token)
        with self.store.write() as session:
            request = check_token(
                session.execute(
                    select(ChangeRequest)
                    .where(col(ChangeRequest.token_hash) == hash_token(token))
                    .with_for_update()
                ).scalar(),
                now,
            )
            domain = session.get(Domain, request.domain_id)
            registrant = role_holder(session, domain, ContactRole.REGISTRANT) if domain else None
            if registrant is None:
                raise NotFound("registrant of change request", request.reference)
            request.state = "confirmed"
            request.confirmed_at = now
            request.token_used_at = now
            touch(request, now)
            audit_transition(
                session,
                f"registrant:{registrant.handle}",
                "change.confirm",
                request,
                {"state": ("submitted", "confirmed")},
            )
            ids = self._notify_all(session, request, "request_confirmed")
        return Outcome(request, ids)

    def approve(self, *, actor: str, reference: str) -> Outcome:
        """Staff approve a confirmed request (not one they entered themselves)."""
        with self.store.write() as session:
            require_staff(session, actor, Permission.DECIDE_REQUEST)
            request = locked_request(session, reference)
            require(request, ("confirmed",), "approve it")
            if request.entered_by == actor:
                raise RuleViolation(
                    f"{actor} entered request {request.reference} and cannot also approve it; "
                    "another member of staff must"
                )
            request.state = "approved"
            request.decided_by = actor
            request.decided_at = utcnow()
            touch(request)
            audit_transition(
                session, actor, "change.approve", request, {"state": ("confirmed", "approved")}
            )
        return Outcome(request)

    def apply(self, *, actor: str, reference: str) -> Outcome:
        """Create the new contact, move the tech role, queue the registry change, in one go."""
        with self.store.write() as session:
            require_staff(session, actor, Permission.DECIDE_REQUEST, also_system=True)
            request = locked_request(session, reference)
            require(request, ("approved",), "apply it")
            domain = session.execute(
                select(Domain).where(col(Domain.id) == request.domain_id).with_for_update()
            ).scalar_one()
            check_locks(domain)
            old = role_holder(session, domain, ContactRole.TECH)
            new = self._new_tech(session, actor, request)
            assert new.id is not None  # a stored row
            link = session.get(DomainContact, (domain.id, "tech"))
            if link is None:
                session.add(DomainContact(domain_id=domain.id, role="tech", contact_id=new.id))
            else:
                link.contact_id = new.id
            domain.version += 1
            domain.updated_at = utcnow()
            entry = enqueue(
                session,
                kind="domain.tech_move",
                tld=domain.tld,
                domain_id=domain.id,
                contact_id=new.id,
                payload={
                    "domain": domain.name,
                    "old_tech": old.handle if old else None,
                    "new_tech": new.handle,
                    "request": request.reference,
                },
            )
            session.flush()
            request.state = "applied"
            request.new_tech_id = new.id
            request.applied_at = utcnow()
            request.outbox_id = entry.id
            touch(request)
            audit.record(
                session,
                actor=actor,
                action="domain.assign",
                entity_type="domain",
                entity_id=domain.name,
                changes={"tech": {"before": old.handle if old else None, "after": new.handle}},
                request_ref=request.reference,
            )
            audit_transition(
                session, actor, "change.apply", request, {"state": ("approved", "applied")}
            )
            ids = self._notify_all(session, request, "request_approved")
        return Outcome(request, ids)

    def approve_and_apply(self, *, actor: str, reference: str) -> Outcome:
        """Approve, then apply; if applying fails the request stays approved, error raised."""
        self.approve(actor=actor, reference=reference)
        return self.apply(actor=actor, reference=reference)

    def reject(self, *, actor: str, reference: str, reason: str) -> Outcome:
        """Staff reject a confirmed request, with a reason the customer will read."""
        reason = validation.text("reason", reason, required=True, max_len=1000) or ""
        with self.store.write() as session:
            require_staff(session, actor, Permission.DECIDE_REQUEST)
            request = locked_request(session, reference)
            require(request, ("confirmed",), "reject it")
            request.state = "rejected"
            request.reason = reason
            request.decided_by = actor
            request.decided_at = utcnow()
            touch(request)
            audit_transition(
                session,
                actor,
                "change.reject",
                request,
                {"state": ("confirmed", "rejected"), "reason": (None, reason)},
            )
            ids = self._notify_all(session, request, "request_rejected")
        return Outcome(request, ids)

    def cancel(self, *, actor: str, reference: str, reason: str | None = None) -> Outcome:
        """Withdraw a request that has not been decided yet."""
        reason = validation.text("reason", reason, required=False, max_len=1000)
        with self.store.write() as session:
            require_if_staff(session, actor, Permission.ENTER_REQUEST)
            request = locked_request(session, reference)
            before = request.state
            require(request, ("submitted", "confirmed"), "cancel it")
            request.state = "cancelled"
            request.reason = reason
            request.decided_by = audit.check_actor(actor)
            request.decided_at = utcnow()
            touch(request)
            audit_transition(
                session, actor, "change.cancel", request, {"state": (before, "cancelled")}
            )
            ids = self._notify_all(session, request, "request_cancelled")
        return Outcome(request, ids)

    def expire_stale(
        self, *, now: datetime | None = None, actor: str = "system:expiry"
    ) -> list[Outcome]:
        """Expire every submitted request whose confirmation window has passed."""
        now = now or utcnow()
        with self.store.read() as session:
            due = list(
                session.execute(
                    select(col(ChangeRequest.reference)).where(
                        col(ChangeRequest.state) == RequestState.SUBMITTED,
                        col(ChangeRequest.expires_at) <= now,
                    )
                ).scalars()
            )
        outcomes = []
        for reference in due:
            with self.store.write() as session:
                request = locked_request(session, reference)
                if request.state != RequestState.SUBMITTED or request.expires_at > now:
                    continue  # confirmed or cancelled meanwhile
                request.state = "expired"
                request.token_hash = None
                touch(request, now)
                audit_transition(
                    session, actor, "change.expire", request, {"state": ("submitted", "expired")}
                )
                ids = [self._notify_registrant(session, request, "request_expired")]
            outcomes.append(Outcome(request, ids))
        return outcomes

    def _new_tech(self, session: Session, actor: str, request: ChangeRequest) -> Contact:
        if request.target == RequestTarget.HOUSE:
            house = self.store.house_contact_in(session)
            if house is None:
                raise NotFound("contact", "house contact")
            return house
        return self.store.create_contact(
            actor,
            {**request.proposed, "kind": "organization"},
            session=session,
            request_ref=request.reference,
        )
