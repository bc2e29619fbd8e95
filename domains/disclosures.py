"""Disclosure requests: intake (web form with e-mail verification, staff entry), the states
received -> acknowledged -> under review -> decided -> closed, and what is due soonest.

A web request counts only once its requestor opened the link mailed to them (the token is kept
hashed, single use, expiring). A request counts as received at that moment (staff entry: at
once), and its deadlines are computed then (`domains.disclosure_clock`). The acknowledgement is
queued at once to a requestor with an e-mail address; one without (a letter, a phone call) is
acknowledged by staff, who say so here. Decisions and delivery are in
`domains.disclosure_decisions`. Every operation is one transaction with its audit event.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlmodel import Session, col

from domains import access, audit, validation
from domains.disclosure_clock import DisclosureClock, require_aware
from domains.disclosure_input import RequestForm, check_form
from domains.disclosure_models import (
    DisclosureAttachment,
    DisclosureDecision,
    DisclosureDomain,
    DisclosureRequest,
)
from domains.disclosure_views import (
    DisclosureRequestView,
    DueRequest,
    ListedRequest,
    records_of,
    request_view,
)
from domains.errors import NotFound, RuleViolation
from domains.models import Domain, utcnow
from domains.notices import RequestLinks, queue
from domains.request_rules import require_staff
from domains.request_tokens import check_token_shape, hash_token, new_token
from domains.staff import Permission
from domains.store import DomainRecord, Store
from domains.vocabulary import (
    OPEN_DISCLOSURE_STATES,
    AccessPurpose,
    DisclosureChannel,
    DisclosureLinkState,
    DisclosureState,
    NoticeCategory,
)

#: The audit trail names requests by this entity type.
ENTITY = "disclosure_request"
#: The requestor of a web request, as the audit trail names them (no personal data).
WEB_REQUESTOR = "requestor:web"
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class DisclosureLinks(RequestLinks, Protocol):
    """The portal's links that disclosure mail carries (`portal.links.PortalLinks`)."""

    def disclosure_verify(self, token: str) -> str:
        """The page where a requestor verifies their e-mail address."""
        ...

    def disclosure_download(self, token: str) -> str:
        """The single-use download of a disclosed document."""
        ...


class InvalidLink(RuleViolation):
    """A verification or download link that is unknown, used or expired."""

    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        #: True when the link was real but can no longer be used (HTTP 410 rather than 404).
        self.gone = gone


@dataclass(frozen=True)
class DisclosureOutcome:
    """A request after an operation, and the notices it queued (send them after the commit
    with `domains.contact_corrections.deliver(store, notice_ids, contexts, ...)`); `contexts`
    holds the links that exist only in memory, per notice."""

    request: DisclosureRequestView
    notice_ids: tuple[int, ...] = ()
    contexts: Mapping[int, Mapping[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class DisclosureReview:
    """A request under review with the domains it asks about, private fields included (the
    look is recorded in the access trail)."""

    request: DisclosureRequestView
    records: Mapping[str, DomainRecord]


def new_reference() -> str:
    """A public reference of a disclosure request: unguessable, easy to read out."""
    body = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))
    return f"DR-{body[:5]}-{body[5:]}"


def locked_request(session: Session, reference: str) -> DisclosureRequest:
    """The request with this reference, locked for update; NotFound otherwise."""
    row = session.execute(
        select(DisclosureRequest)
        .where(col(DisclosureRequest.reference) == reference.strip().upper())
        .with_for_update()
    ).scalar()
    if row is None:
        raise NotFound("disclosure request", reference)
    return row


def require_state(row: DisclosureRequest, states: Iterable[str], doing: str) -> None:
    """Refuse an operation the request's state does not allow."""
    allowed = tuple(states)
    if row.state not in allowed:
        raise RuleViolation(
            f"disclosure request {row.reference} is {row.state}; only a request that is "
            f"{' or '.join(allowed)} can be {doing}"
        )


def transition(
    session: Session, actor: str, row: DisclosureRequest, state: str, now: datetime, action: str
) -> None:
    """Move the request to `state`, with its audit event."""
    before = row.state
    row.state = state
    row.version += 1
    row.updated_at = now
    audit.record(
        session,
        actor=actor,
        action=f"disclosure.{action}",
        entity_type=ENTITY,
        entity_id=row.reference,
        changes={"state": {"before": before, "after": state}},
        request_ref=row.reference,
    )


class Disclosures:
    """The register of disclosure requests over a store; `links` build the mailed links."""

    def __init__(self, store: Store, links: DisclosureLinks | None = None) -> None:
        self.store = store
        self.links = links
        self.settings = store.settings.disclosures
        self.clock = DisclosureClock(self.settings)

    # -- intake ----------------------------------------------------------------------------

    def submit(self, form: RequestForm, *, now: datetime | None = None) -> DisclosureOutcome:
        """A request from the web form: kept, and a verification link mailed to the requestor;
        it counts (and its clock starts) only once that link is opened (`verify_email`)."""
        now = require_aware("now", now or utcnow())
        links = self._links()
        values = check_form(
            form,
            DisclosureChannel.WEB_FORM,
            max_attachment_bytes=self.settings.max_attachment_bytes,
            email_required=True,
        )
        token = new_token()
        with self.store.write() as session:
            row = self._add(session, WEB_REQUESTOR, DisclosureChannel.WEB_FORM, values, now)
            row.state = DisclosureState.UNVERIFIED
            row.verify_token_hash = hash_token(token)
            row.verify_expires_at = now + timedelta(hours=self.settings.verify_link_hours)
            self._audit_intake(session, WEB_REQUESTOR, row)
            notice = queue(
                session,
                template="disclosure_verify",
                category=NoticeCategory.ESSENTIAL,
                subject_ref=row.reference,
                recipient="requestor",
            )
            view = request_view(session, row)
        assert notice.id is not None
        context = {"verify_url": links.disclosure_verify(token)}
        return DisclosureOutcome(view, (notice.id,), {notice.id: context})

    def verify_email(self, token: str, *, now: datetime | None = None) -> DisclosureOutcome:
        """The requestor opened their link: the request counts from now, its deadlines are
        set and the acknowledgement is queued. InvalidLink for a forged, used or old link."""
        now = require_aware("now", now or utcnow())
        check_token_shape_or_invalid(token)
        with self.store.write() as session:
            row = session.execute(
                select(DisclosureRequest)
                .where(col(DisclosureRequest.verify_token_hash) == hash_token(token))
                .with_for_update()
            ).scalar()
            if row is None:
                raise InvalidLink("this verification link is not valid")
            if row.verified_at is not None:
                raise InvalidLink("this verification link has already been used", gone=True)
            if row.verify_expires_at is None or now >= row.verify_expires_at:
                raise InvalidLink(
                    "this verification link has expired; please submit the request again",
                    gone=True,
                )
            row.verified_at = now
            ids = self._receive(session, WEB_REQUESTOR, row, now)
            view = request_view(session, row)
        return DisclosureOutcome(view, ids)

    def verification_state(self, token: str, *, now: datetime | None = None) -> DisclosureLinkState:
        """What a verification link is now, looked up by the token's hash; nothing changes
        (the page a mailed link opens asks this before it shows its button)."""
        now = require_aware("now", now or utcnow())
        try:
            check_token_shape(token)
        except RuleViolation:
            return DisclosureLinkState.UNKNOWN
        with self.store.read() as session:
            found = session.execute(
                select(
                    col(DisclosureRequest.verified_at), col(DisclosureRequest.verify_expires_at)
                ).where(col(DisclosureRequest.verify_token_hash) == hash_token(token))
            ).first()
        if found is None:
            return DisclosureLinkState.UNKNOWN
        verified_at, expires_at = found
        if verified_at is not None:
            return DisclosureLinkState.USED
        if expires_at is None or now >= expires_at:
            return DisclosureLinkState.EXPIRED
        return DisclosureLinkState.USABLE

    def enter(
        self, actor: str, form: RequestForm, channel: str, *, now: datetime | None = None
    ) -> DisclosureOutcome:
        """A request that came by letter, phone or e-mail, entered by staff: it counts at once;
        with an e-mail address the acknowledgement is queued at once too."""
        now = require_aware("now", now or utcnow())
        if channel == DisclosureChannel.WEB_FORM:
            raise RuleViolation("web requests come through the web form, not staff entry")
        values = check_form(
            form,
            channel,
            max_attachment_bytes=self.settings.max_attachment_bytes,
            email_required=channel == DisclosureChannel.EMAIL,
        )
        with self.store.write() as session:
            require_staff(session, actor, Permission.ENTER_DISCLOSURE)
            row = self._add(session, actor, channel, values, now)
            self._audit_intake(session, actor, row)
            ids = self._receive(session, actor, row, now)
            view = request_view(session, row)
        return DisclosureOutcome(view, ids)

    # -- states ----------------------------------------------------------------------------

    def acknowledge(
        self, actor: str, reference: str, *, now: datetime | None = None
    ) -> DisclosureRequestView:
        """Staff acknowledged a request by other means (a letter, a call)."""
        now = require_aware("now", now or utcnow())
        with self.store.write() as session:
            require_staff(session, actor, Permission.ENTER_DISCLOSURE)
            row = locked_request(session, reference)
            require_state(row, (DisclosureState.RECEIVED,), "acknowledged")
            row.acknowledged_at = now
            transition(session, actor, row, DisclosureState.ACKNOWLEDGED, now, "acknowledge")
            return request_view(session, row)

    def review(
        self, actor: str, reference: str, *, now: datetime | None = None
    ) -> DisclosureReview:
        """The privacy officer opens a request: it is under review from the first look, and
        the domains' records (private fields included) come with it, the look recorded."""
        now = require_aware("now", now or utcnow())
        with self.store.write() as session:
            require_staff(session, actor, Permission.DECIDE_DISCLOSURE)
            row = locked_request(session, reference)
            require_state(row, (*OPEN_DISCLOSURE_STATES, DisclosureState.DECIDED), "reviewed")
            if row.state in (DisclosureState.RECEIVED, DisclosureState.ACKNOWLEDGED):
                if row.acknowledged_at is None:
                    row.acknowledged_at = now  # a request under review is acknowledged
                row.review_started_at, row.reviewed_by = now, actor
                transition(session, actor, row, DisclosureState.UNDER_REVIEW, now, "review")
            records = records_of(session, row)
            for name, record in records.items():
                handles = [contact.handle for contact in record.contacts.values()]
                access.record(session, actor, AccessPurpose.DISCLOSURE_REVIEW, handles, name)
            return DisclosureReview(request_view(session, row), records)

    def close(
        self, actor: str, reference: str, *, now: datetime | None = None
    ) -> DisclosureRequestView:
        """Close a decided request: nothing more happens to it (a download link still open is
        revoked)."""
        from domains.disclosure_decisions import revoke_links

        now = require_aware("now", now or utcnow())
        with self.store.write() as session:
            require_staff(session, actor, Permission.DECIDE_DISCLOSURE)
            row = locked_request(session, reference)
            require_state(row, (DisclosureState.DECIDED,), "closed")
            row.closed_at = now
            revoke_links(session, row, now)
            transition(session, actor, row, DisclosureState.CLOSED, now, "close")
            return request_view(session, row)

    # -- reading ---------------------------------------------------------------------------

    def get(self, reference: str) -> DisclosureRequestView:
        """A request as staff see it (its requestor, ground, domains, fields, deadlines and
        decision; no customer data)."""
        with self.store.read() as session:
            row = session.execute(
                select(DisclosureRequest).where(
                    col(DisclosureRequest.reference) == reference.strip().upper()
                )
            ).scalar()
            if row is None:
                raise NotFound("disclosure request", reference)
            return request_view(session, row)

    def attachment(self, actor: str, reference: str, attachment_id: int) -> tuple[str, bytes]:
        """(media type, content) of one attachment of a request, for staff."""
        with self.store.read() as session:
            require_staff(session, actor, Permission.ENTER_DISCLOSURE)
            row = session.get(DisclosureAttachment, attachment_id)
            request = session.get(DisclosureRequest, row.request_id) if row else None
            if row is None or request is None or request.reference != reference.strip().upper():
                raise NotFound("attachment", f"{reference}/{attachment_id}")
            return row.media_type, row.content

    def due(self, *, now: datetime | None = None, limit: int = 200) -> list[DueRequest]:
        """Open requests, the soonest next deadline first, each flagged when overdue."""
        now = require_aware("now", now or utcnow())
        with self.store.read() as session:
            rows = session.execute(
                select(DisclosureRequest).where(
                    col(DisclosureRequest.state).in_(list(OPEN_DISCLOSURE_STATES))
                )
            ).scalars()
            items = [DueRequest.of(request_view(session, row), now) for row in rows]
        items.sort(key=lambda item: (item.next_deadline, item.reference))
        return items[:limit]

    def listing(
        self,
        states: Iterable[str] = OPEN_DISCLOSURE_STATES,
        *,
        limit: int = 200,
        now: datetime | None = None,
    ) -> list[ListedRequest]:
        """Requests in `states`: the open ones first, the soonest next deadline first; then
        the others (decided, closed), the most recently finished first; at most `limit`."""
        now = require_aware("now", now or utcnow())
        wanted = {validation.choice("states", s, list(DisclosureState)) for s in states}
        still_open = [s for s in wanted if s in OPEN_DISCLOSURE_STATES]
        finished = [s for s in wanted if s not in OPEN_DISCLOSURE_STATES]
        outcome = col(DisclosureDecision.outcome)
        joined = select(DisclosureRequest, outcome).outerjoin(
            DisclosureDecision, col(DisclosureDecision.request_id) == DisclosureRequest.id
        )
        state = col(DisclosureRequest.state)
        with self.store.read() as session:
            items = [
                ListedRequest.of(row, decided, now)
                for row, decided in session.execute(joined.where(state.in_(still_open))).all()
            ]
            items.sort(key=lambda i: (i.next_deadline or now, i.reference))
            if finished and len(items) < limit:
                newest = func.coalesce(
                    col(DisclosureRequest.closed_at),
                    col(DisclosureRequest.decided_at),
                    col(DisclosureRequest.created_at),
                )
                query = (
                    joined.where(state.in_(finished))
                    .order_by(newest.desc(), col(DisclosureRequest.reference))
                    .limit(limit - len(items))
                )
                items += [ListedRequest.of(r, o, now) for r, o in session.execute(query).all()]
        return items[:limit]

    # -- helpers ---------------------------------------------------------------------------

    def _links(self) -> DisclosureLinks:
        if self.links is None:
            raise RuntimeError("Disclosures needs the portal's links to mail a link")
        return self.links

    def _add(
        self,
        session: Session,
        actor: str,
        channel: str,
        values: Mapping[str, Any],
        now: datetime,
    ) -> DisclosureRequest:
        row = DisclosureRequest(
            reference=new_reference(),
            channel=channel,
            entered_by=audit.check_actor(actor),
            requestor_name=values["requestor_name"],
            requestor_organisation=values["requestor_organisation"],
            requestor_email=values["requestor_email"],
            requestor_phone=values["requestor_phone"],
            requestor_kind=values["requestor_kind"],
            jurisdiction=values["jurisdiction"],
            ground=values["ground"],
            legal_basis=values["legal_basis"],
            legal_reference=values["legal_reference"],
            urgency=values["urgency"],
            wanted_fields=list(values["wanted_fields"]),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        ours = dict(
            session.execute(
                select(col(Domain.name), col(Domain.id)).where(
                    col(Domain.name).in_(list(values["domains"]))
                )
            ).all()
        )
        for name in values["domains"]:
            session.add(DisclosureDomain(request_id=row.id, name=name, domain_id=ours.get(name)))
        for attachment in values["attachments"]:
            session.add(
                DisclosureAttachment(
                    request_id=row.id,
                    filename=attachment.filename,
                    media_type=attachment.media_type,
                    size=attachment.size,
                    sha256=attachment.sha256,
                    content=attachment.content,
                    added_by=actor,
                    created_at=now,
                )
            )
        session.flush()
        return row

    @staticmethod
    def _audit_intake(session: Session, actor: str, row: DisclosureRequest) -> None:
        audit.record(
            session,
            actor=actor,
            action="disclosure.enter",
            entity_type=ENTITY,
            entity_id=row.reference,
            changes={
                "state": {"before": None, "after": row.state},
                "channel": row.channel,
                "ground": row.ground,
                "requestor_kind": row.requestor_kind,
                "urgency": row.urgency,
            },
            request_ref=row.reference,
        )

    def _receive(
        self, session: Session, actor: str, row: DisclosureRequest, now: datetime
    ) -> tuple[int, ...]:
        """The request counts from `now`: deadlines set, the acknowledgement queued if there
        is an address to send it to."""
        deadlines = self.clock.deadlines(now, urgent=row.urgency is not None)
        row.received_at = now
        row.acknowledge_due_at = deadlines.acknowledge_by
        row.answer_due_at = deadlines.answer_by
        transition(session, actor, row, DisclosureState.RECEIVED, now, "receive")
        if not row.requestor_email:
            return ()
        notice = queue(
            session,
            template="disclosure_acknowledged",
            category=NoticeCategory.ESSENTIAL,
            subject_ref=row.reference,
            recipient="requestor",
        )
        row.acknowledged_at = now
        transition(session, actor, row, DisclosureState.ACKNOWLEDGED, now, "acknowledge")
        assert notice.id is not None
        return (notice.id,)


def check_token_shape_or_invalid(token: object) -> str:
    """The token if it can be one at all; InvalidLink otherwise (nothing is read)."""
    try:
        return check_token_shape(token)
    except RuleViolation:
        raise InvalidLink("this link is not valid") from None
