"""Technical-contact change requests: the state machine of architecture §5.

submitted -> confirmed (registrant, by token) -> approved (staff) -> applied -> completed
                                                                           \\-> sync_failed
submitted -> expired | cancelled; confirmed -> rejected | cancelled.

Every transition checks who may make it and from which state, and writes its audit event in
the same transaction. Notices are queued in that transaction; the caller delivers them after
the commit (the confirmation token exists only in memory, never in the store).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from domains import audit, notice_delivery, notices, validation
from domains.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from domains.mailer import Mailer, mailer_from_settings
from domains.models import ChangeRequest, Contact, Domain, DomainContact, Notice, utcnow
from domains.outbox import enqueue
from domains.store import Store

STATES = (
    "submitted",
    "confirmed",
    "approved",
    "rejected",
    "applied",
    "completed",
    "sync_failed",
    "expired",
    "cancelled",
)
#: States in which a request still holds its domain: no second request may start.
OPEN_STATES = ("submitted", "confirmed", "approved", "applied", "sync_failed")
CHANNELS = ("portal", "phone", "letter", "email")
TARGETS = ("new", "house")
TOKEN_BYTES = 32  # 256 bits; the design asks for at least 128
#: What a proposal must carry: EPP contact:create needs a city and a country code.
PROPOSAL_REQUIRED = ("org", "name", "email", "voice", "city", "country")


@dataclass(frozen=True)
class RequestParties:
    """A change request, its domain, and its old and new technical contact (None until known)."""

    request: ChangeRequest
    domain: Domain
    old_tech: Contact | None
    new_tech: Contact | None


class InvalidToken(RuleViolation):
    """A confirmation link that is unknown, used, expired or for a closed request."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        #: True when the link was real but can no longer be used (HTTP 410 rather than 400).
        self.gone = gone


def check_token(request: ChangeRequest | None, now: datetime) -> ChangeRequest:
    """The request a token opens, or InvalidToken saying why it cannot be confirmed."""
    if request is None:
        raise InvalidToken("this confirmation link is not valid")
    if request.token_used_at is not None:
        raise InvalidToken("this confirmation link has already been used", gone=True)
    if request.state != "submitted":
        raise InvalidToken(
            f"this request is {request.state}; it can no longer be confirmed", gone=True
        )
    if request.token_expires_at is None or now >= request.token_expires_at:
        raise InvalidToken(
            "this confirmation link has expired; the request must be made again", gone=True
        )
    return request


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256 hex (the token itself is never stored)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_reference() -> str:
    """A public request reference: unguessable, easy to read out on the phone."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"CR-{body[:5]}-{body[5:]}"


@dataclass(frozen=True)
class Outcome:
    """A transition's result: the request, notices to deliver, and a token when one was made."""

    request: ChangeRequest
    notice_ids: list[int] = field(default_factory=list)
    token: str | None = None


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


class Workflow:
    """The change-request rules over a store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.expiry = timedelta(days=store.settings.request_expiry_days)

    # -- reading ------------------------------------------------------------------------

    def get(self, reference: str) -> ChangeRequest:
        """The request with this reference."""
        with self.store.read() as session:
            request = session.execute(
                select(ChangeRequest).where(ChangeRequest.reference == reference.strip().upper())
            ).scalar()
        if request is None:
            raise NotFound("change request", reference)
        return request

    def parties(self, reference: str) -> RequestParties:
        """The request with its domain and the technical contacts going and coming."""
        request = self.get(reference)
        with self.store.read() as session:
            domain = session.get(Domain, request.domain_id)
            old = session.get(Contact, request.old_tech_id) if request.old_tech_id else None
            new = session.get(Contact, request.new_tech_id) if request.new_tech_id else None
        if domain is None:
            raise NotFound("domain of change request", reference)
        return RequestParties(request, domain, old, new)

    def list(
        self, *, state: str | None = None, domain_id: int | None = None, limit: int = 100
    ) -> list[ChangeRequest]:
        """Requests, newest first, optionally in one state or for one domain."""
        stmt = select(ChangeRequest).order_by(col(ChangeRequest.id).desc()).limit(limit)
        if state:
            stmt = stmt.where(ChangeRequest.state == validation.choice("state", state, STATES))
        if domain_id is not None:
            stmt = stmt.where(ChangeRequest.domain_id == domain_id)
        with self.store.read() as session:
            return list(session.execute(stmt).scalars())

    def domain_names(self, requests: list[ChangeRequest]) -> dict[int, str]:
        """The U-label of each request's domain, in one query (for listings)."""
        ids = {r.domain_id for r in requests}
        if not ids:
            return {}
        with self.store.read() as session:
            rows = session.execute(
                select(Domain.id, Domain.unicode_name).where(col(Domain.id).in_(ids))
            ).all()
        return {domain_id: name for domain_id, name in rows}

    # -- transitions --------------------------------------------------------------------

    def submit(
        self,
        *,
        actor: str,
        domain_name: str,
        proposal: Mapping[str, Any] | None,
        channel: str,
        target: str = "new",
        now: datetime | None = None,
    ) -> Outcome:
        """Open a request to move the domain's tech contact; mails the registrant a token."""
        now = now or utcnow()
        validation.choice("channel", channel, CHANNELS)
        validation.choice("target", target, TARGETS)
        proposed = validate_proposal(proposal or {}) if target == "new" else {}
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.store.write() as session:
            domain = self._domain(session, domain_name)
            self._check_changeable(session, domain)
            tech = self._holder(session, domain, "tech")
            registrant = self._holder(session, domain, "registrant")
            if target == "house" and tech is not None and tech.is_house:
                raise RuleViolation(
                    f"the technical contact of {domain.unicode_name} is already Interlink"
                )
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
            self._audit(session, actor, "change.submit", request, {"state": (None, "submitted")})
            ids = [self._notice(session, request, "request_received", contact_id=registrant.id)]
        return Outcome(request, ids, token)

    def resend_confirmation(self, *, actor: str, reference: str) -> Outcome:
        """A new confirmation token for a submitted request (the old link stops working)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self.store.write() as session:
            request = self._locked(session, reference)
            self._require(request, ("submitted",), "resend its confirmation")
            request.token_hash = hash_token(token)
            self._touch(request)
            domain = session.get(Domain, request.domain_id)
            registrant = self._holder(session, domain, "registrant")
            self._audit(session, actor, "change.resend", request, {})
            ids = [self._notice(session, request, "request_received", contact_id=registrant.id)]
        return Outcome(request, ids, token)

    def confirm(self, *, token: str, now: datetime | None = None) -> Outcome:
        """The registrant confirms with the token from the e-mail on file (POST only)."""
        now = now or utcnow()
        if not isinstance(token, str) or not 16 <= len(token) <= 128:
            raise InvalidToken("this confirmation link is not valid")
        with self.store.write() as session:
            request = check_token(
                session.execute(
                    select(ChangeRequest)
                    .where(ChangeRequest.token_hash == hash_token(token))
                    .with_for_update()
                ).scalar(),
                now,
            )
            domain = session.get(Domain, request.domain_id)
            registrant = self._holder(session, domain, "registrant")
            request.state = "confirmed"
            request.confirmed_at = now
            request.token_used_at = now
            self._touch(request, now)
            self._audit(
                session,
                f"registrant:{registrant.handle}",
                "change.confirm",
                request,
                {"state": ("submitted", "confirmed")},
            )
            ids = self._notify_all(session, request, "request_confirmed")
        return Outcome(request, ids)

    def inspect_token(self, token: str, *, now: datetime | None = None) -> ChangeRequest:
        """The request a confirmation token opens, checked as confirm would; changes nothing."""
        if not isinstance(token, str) or not 16 <= len(token) <= 128:
            raise InvalidToken("this confirmation link is not valid")
        with self.store.read() as session:
            request = session.execute(
                select(ChangeRequest).where(ChangeRequest.token_hash == hash_token(token))
            ).scalar()
        return check_token(request, now or utcnow())

    def approve(self, *, actor: str, reference: str) -> Outcome:
        """Staff approve a confirmed request (not one they entered themselves)."""
        self._require_staff(actor)
        with self.store.write() as session:
            request = self._locked(session, reference)
            self._require(request, ("confirmed",), "approve it")
            if request.entered_by == actor:
                raise RuleViolation(
                    f"{actor} entered request {request.reference} and cannot also approve it; "
                    "another member of staff must"
                )
            request.state = "approved"
            request.decided_by = actor
            request.decided_at = utcnow()
            self._touch(request)
            self._audit(
                session, actor, "change.approve", request, {"state": ("confirmed", "approved")}
            )
        return Outcome(request)

    def apply(self, *, actor: str, reference: str) -> Outcome:
        """Create the new contact, move the tech role, queue the registry change, in one go."""
        self._require_staff(actor, also_system=True)
        with self.store.write() as session:
            request = self._locked(session, reference)
            self._require(request, ("approved",), "apply it")
            domain = session.execute(
                select(Domain).where(Domain.id == request.domain_id).with_for_update()
            ).scalar_one()
            self._check_locks(domain)
            old = self._holder(session, domain, "tech")
            new = self._new_tech(session, actor, request)
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
            self._touch(request)
            audit.record(
                session,
                actor=actor,
                action="domain.assign",
                entity_type="domain",
                entity_id=domain.name,
                changes={"tech": {"before": old.handle if old else None, "after": new.handle}},
                request_ref=request.reference,
            )
            self._audit(session, actor, "change.apply", request, {"state": ("approved", "applied")})
            ids = self._notify_all(session, request, "request_approved")
        return Outcome(request, ids)

    def approve_and_apply(self, *, actor: str, reference: str) -> Outcome:
        """Approve, then apply; if applying fails the request stays approved, error raised."""
        self.approve(actor=actor, reference=reference)
        return self.apply(actor=actor, reference=reference)

    def reject(self, *, actor: str, reference: str, reason: str) -> Outcome:
        """Staff reject a confirmed request, with a reason the customer will read."""
        self._require_staff(actor)
        reason = validation.text("reason", reason, required=True, max_len=1000) or ""
        with self.store.write() as session:
            request = self._locked(session, reference)
            self._require(request, ("confirmed",), "reject it")
            request.state = "rejected"
            request.reason = reason
            request.decided_by = actor
            request.decided_at = utcnow()
            self._touch(request)
            self._audit(
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
            request = self._locked(session, reference)
            before = request.state
            self._require(request, ("submitted", "confirmed"), "cancel it")
            request.state = "cancelled"
            request.reason = reason
            request.decided_by = audit.check_actor(actor)
            request.decided_at = utcnow()
            self._touch(request)
            self._audit(session, actor, "change.cancel", request, {"state": (before, "cancelled")})
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
                    select(ChangeRequest.reference).where(
                        ChangeRequest.state == "submitted", col(ChangeRequest.expires_at) <= now
                    )
                ).scalars()
            )
        outcomes = []
        for reference in due:
            with self.store.write() as session:
                request = self._locked(session, reference)
                if request.state != "submitted" or request.expires_at > now:
                    continue  # confirmed or cancelled meanwhile
                request.state = "expired"
                request.token_hash = None
                self._touch(request, now)
                self._audit(
                    session, actor, "change.expire", request, {"state": ("submitted", "expired")}
                )
                domain = session.get(Domain, request.domain_id)
                registrant = self._holder(session, domain, "registrant")
                ids = [self._notice(session, request, "request_expired", contact_id=registrant.id)]
            outcomes.append(Outcome(request, ids))
        return outcomes

    def mark_completed(
        self,
        *,
        reference: str,
        cltrid: str | None = None,
        svtrid: str | None = None,
        actor: str = "system:sync",
    ) -> Outcome:
        """The registry confirmed the change (or it is local-only by the registry's policy)."""
        with self.store.write() as session:
            request = self._locked(session, reference)
            before = request.state
            self._require(request, ("applied", "sync_failed"), "complete it")
            request.state = "completed"
            request.completed_at = utcnow()
            request.sync_error = None
            self._touch(request)
            audit.record(
                session,
                actor=actor,
                action="change.complete",
                entity_type="change_request",
                entity_id=request.reference,
                changes={"state": {"before": before, "after": "completed"}},
                request_ref=request.reference,
                cltrid=cltrid,
                svtrid=svtrid,
            )
            ids = self._notify_all(session, request, "request_completed")
        return Outcome(request, ids)

    def mark_sync_failed(
        self, *, reference: str, error: str, actor: str = "system:sync"
    ) -> Outcome:
        """The registry refused the change for good: staff must look at it."""
        with self.store.write() as session:
            request = self._locked(session, reference)
            self._require(request, ("applied",), "mark its sync as failed")
            request.state = "sync_failed"
            request.sync_error = error[:2000]
            self._touch(request)
            self._audit(
                session, actor, "change.sync_failed", request, {"state": ("applied", "sync_failed")}
            )
        # No customer mail: staff see failed syncs on the Sync screen and decide what to say.
        return Outcome(request)

    def retry_sync(self, *, actor: str, reference: str) -> Outcome:
        """Put a failed request's registry change back in the queue."""
        from domains.models import OutboxEntry

        self._require_staff(actor)
        with self.store.write() as session:
            request = self._locked(session, reference)
            self._require(request, ("sync_failed",), "retry its sync")
            entry = session.get(OutboxEntry, request.outbox_id)
            if entry is not None:
                entry.status = "pending"
                entry.next_attempt_at = utcnow()
                entry.last_error = None
                entry.version += 1
            request.state = "applied"
            request.sync_error = None
            self._touch(request)
            self._audit(
                session, actor, "change.retry_sync", request, {"state": ("sync_failed", "applied")}
            )
        return Outcome(request)

    # -- helpers ------------------------------------------------------------------------

    def _domain(self, session: Session, name: str) -> Domain:
        alabel = Store._alabel(name)
        domain = session.execute(
            select(Domain).where(Domain.name == alabel).with_for_update()
        ).scalar()
        if domain is None:
            raise NotFound("domain", name)
        return domain

    def _check_changeable(self, session: Session, domain: Domain) -> None:
        self._check_locks(domain)
        open_request = session.execute(
            select(ChangeRequest.reference, ChangeRequest.state).where(
                ChangeRequest.domain_id == domain.id, col(ChangeRequest.state).in_(OPEN_STATES)
            )
        ).first()
        if open_request:
            raise RuleViolation(
                f"{domain.unicode_name} already has an open change request "
                f"({open_request[0]}, {open_request[1]}); finish or cancel it first"
            )

    @staticmethod
    def _check_locks(domain: Domain) -> None:
        locks = [s for s in domain.statuses if s in validation.UPDATE_LOCKS]
        if locks:
            who = (
                "the registry"
                if locks[0].startswith("server")
                else "Interlink (at the customer's request)"
            )
            raise RuleViolation(
                f"{domain.unicode_name} has {', '.join(locks)}: its contacts cannot be changed "
                f"until {who} lifts that status"
            )

    @staticmethod
    def _holder(session: Session, domain: Domain, role: str) -> Contact | None:
        return session.execute(
            select(Contact)
            .join(DomainContact, col(DomainContact.contact_id) == col(Contact.id))
            .where(DomainContact.domain_id == domain.id, DomainContact.role == role)
        ).scalar()

    def _new_tech(self, session: Session, actor: str, request: ChangeRequest) -> Contact:
        if request.target == "house":
            return session.execute(
                select(Contact).where(col(Contact.is_house).is_(True))
            ).scalar_one()
        return self.store.create_contact(
            actor,
            {**request.proposed, "kind": "organization"},
            session=session,
            request_ref=request.reference,
        )

    @staticmethod
    def _locked(session: Session, reference: str) -> ChangeRequest:
        request = session.execute(
            select(ChangeRequest)
            .where(ChangeRequest.reference == reference.strip().upper())
            .with_for_update()
        ).scalar()
        if request is None:
            raise NotFound("change request", reference)
        return request

    @staticmethod
    def _require(request: ChangeRequest, states: tuple[str, ...], doing: str) -> None:
        if request.state not in states:
            raise RuleViolation(
                f"request {request.reference} is {request.state}; to {doing} it must be "
                + " or ".join(states)
            )

    @staticmethod
    def _require_staff(actor: str, *, also_system: bool = False) -> None:
        audit.check_actor(actor)
        if actor.startswith("staff:") or (also_system and actor.startswith("system:")):
            return
        raise RuleViolation(f"only Interlink staff may do this, not {actor}")

    @staticmethod
    def _touch(request: ChangeRequest, now: datetime | None = None) -> None:
        request.version += 1
        request.updated_at = now or utcnow()

    @staticmethod
    def _audit(
        session: Session,
        actor: str,
        action: str,
        request: ChangeRequest,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> None:
        audit.record(
            session,
            actor=actor,
            action=action,
            entity_type="change_request",
            entity_id=request.reference,
            changes={k: {"before": b, "after": a} for k, (b, a) in changes.items()},
            request_ref=request.reference,
        )

    @staticmethod
    def _notice(
        session: Session,
        request: ChangeRequest,
        template: str,
        *,
        contact_id: int | None,
        recipient: str = "contact",
    ) -> int:
        notice = notices.queue(
            session,
            template=template,
            category="essential",
            subject_ref=request.reference,
            recipient=recipient,
            contact_id=contact_id,
        )
        session.flush()
        return notice.id

    def _notify_all(self, session: Session, request: ChangeRequest, template: str) -> list[int]:
        """Essential notice to the registrant, the old and the new technical contact."""
        domain = session.get(Domain, request.domain_id)
        registrant = self._holder(session, domain, "registrant")
        targets: list[tuple[str, int | None]] = [("contact", registrant.id)]
        if request.old_tech_id and request.old_tech_id != registrant.id:
            targets.append(("contact", request.old_tech_id))
        if request.new_tech_id:
            if request.new_tech_id not in (registrant.id, request.old_tech_id):
                targets.append(("contact", request.new_tech_id))
        elif request.target == "new":
            targets.append(("proposed_tech", None))
        return [
            self._notice(session, request, template, contact_id=cid, recipient=kind)
            for kind, cid in targets
        ]


def deliver_outcome(store: Store, outcome: Outcome, mailer: Mailer | None = None) -> list[Notice]:
    """Send the notices a transition queued; the confirmation link goes in memory only."""
    if not outcome.notice_ids:
        return []
    base = store.settings.portal_base_url.rstrip("/")
    context = {"status_url": f"{base}/status/{outcome.request.reference}"}
    if outcome.token:
        context["confirm_url"] = f"{base}/confirm/{outcome.token}"
    return notice_delivery.deliver(
        store,
        outcome.notice_ids,
        mailer=mailer or mailer_from_settings(store.settings),
        context=context,
    )
