"""Deciding disclosure requests with four eyes, and delivering what was decided.

Only a member of staff with the privacy role decides, and never the one who entered the
request. A decision names the fields of the domains it discloses ("domain role field"); the
document itself is made when the requestor opens their single-use, expiring download link (by
the publishers' `disclosure_document`, handed in as `seal`), and the register keeps its SHA-256,
never the data. The customers whose data is disclosed are told (an essential notice) unless the
decision records why the law forbids it, and then only after its date (`notify_due`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlmodel import Session, col

from domains import access, audit, validation
from domains.disclosure_clock import require_aware
from domains.disclosure_input import free_text, wanted_field
from domains.disclosure_models import (
    DisclosureDecision,
    DisclosureDownload,
    DisclosureDownloadToken,
    DisclosureRequest,
)
from domains.disclosure_views import DisclosureRequestView, records_of, request_view
from domains.disclosures import (
    ENTITY,
    DisclosureLinks,
    InvalidLink,
    locked_request,
    require_state,
    transition,
)
from domains.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from domains.models import utcnow
from domains.notices import queue
from domains.request_rules import require_staff
from domains.request_tokens import hash_token, new_token
from domains.staff import Permission
from domains.store import DomainRecord, Store
from domains.vocabulary import (
    AccessPurpose,
    DenialReason,
    DisclosureLinkState,
    DisclosureOutcome,
    DisclosureState,
    GagReason,
    NoticeCategory,
)


class DownloadNotFound(NotFound):
    """A download link that was never made (forged or mistyped): nothing to say about it."""

    def __init__(self) -> None:
        Exception.__init__(self, "no such download: the link is not valid")
        self.entity, self.key = "download", ""


class Sealed(Protocol):
    """What `seal` makes of a decision: a document with its SHA-256."""

    @property
    def sha256(self) -> str: ...


S = TypeVar("S", bound=Sealed)


@dataclass(frozen=True)
class DisclosureGrant:
    """What a decision allows to be disclosed: (domain, role, field) triples, and its request."""

    reference: str
    outcome: str
    decided_at: datetime
    approved: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class DecisionOutcome:
    """The decided request and the notices queued (send them after the commit with
    `domains.contact_corrections.deliver(store, notice_ids, contexts, ...)`).
    `download_token` is set only when there is no e-mail address to mail the link to."""

    request: DisclosureRequestView
    notice_ids: tuple[int, ...] = ()
    contexts: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    download_token: str | None = None


def split_approved(value: str) -> tuple[str, str, str]:
    """("domain", "role", "field") of a "domain role field" triple."""
    domain, role, name = value.split()
    return domain, role, name


def revoke_links(session: Session, row: DisclosureRequest, now: datetime) -> None:
    """Revoke every download link of the request not used yet."""
    links = session.execute(
        select(DisclosureDownloadToken)
        .join(DisclosureDecision, col(DisclosureDecision.id) == DisclosureDownloadToken.decision_id)
        .where(
            col(DisclosureDecision.request_id) == row.id,
            col(DisclosureDownloadToken.used_at).is_(None),
            col(DisclosureDownloadToken.revoked_at).is_(None),
        )
    ).scalars()
    for link in links:
        link.revoked_at = now


class DisclosureDecisions:
    """Decisions on the register's requests, their download links and customer notices."""

    def __init__(self, store: Store, links: DisclosureLinks | None = None) -> None:
        self.store = store
        self.links = links
        self.settings = store.settings.disclosures

    def decide(
        self,
        actor: str,
        reference: str,
        outcome: str,
        *,
        explanation: str,
        approved: Iterable[str] = (),
        denial_reason: str | None = None,
        gag_reason: str | None = None,
        notify_after: datetime | None = None,
        now: datetime | None = None,
    ) -> DecisionOutcome:
        """Decide a request under review: disclose every wanted field of every domain we hold
        (`approved` lists them all), some of them, or none (with a denial reason)."""
        now = require_aware("now", now or utcnow())
        with self.store.write() as session:
            require_staff(session, actor, Permission.DECIDE_DISCLOSURE)
            row = locked_request(session, reference)
            if row.entered_by == actor:
                raise RuleViolation(
                    f"{actor} entered disclosure request {row.reference} and cannot also decide "
                    "it; another member of staff with the privacy role must"
                )
            require_state(row, (DisclosureState.UNDER_REVIEW,), "decided (review it first)")
            held = set(records_of(session, row))
            checked = _check_decision(
                row, held, outcome, explanation, approved, denial_reason, gag_reason, notify_after
            )
            decision = DisclosureDecision(
                request_id=row.id or 0,
                decided_by=actor,
                decided_at=now,
                **checked,
            )
            session.add(decision)
            session.flush()
            row.decided_at = now
            transition(session, actor, row, DisclosureState.DECIDED, now, "decide")
            audit.record(
                session,
                actor=actor,
                action="disclosure.decision",
                entity_type=ENTITY,
                entity_id=row.reference,
                changes={
                    "outcome": decision.outcome,
                    "denial_reason": decision.denial_reason,
                    "approved_fields": list(decision.approved_fields),
                    "gag_reason": decision.gag_reason,
                },
                request_ref=row.reference,
            )
            result = self._deliver(session, actor, row, decision, now)
            if decision.outcome != DisclosureOutcome.DENIED and decision.gag_reason is None:
                result = _with(result, self._tell_customers(session, row, decision, now))
            return DecisionOutcome(request_view(session, row), *result)

    def new_download_link(
        self, actor: str, reference: str, *, now: datetime | None = None
    ) -> DecisionOutcome:
        """A new download link for a disclosed request (the old ones stop working), mailed to
        the requestor; for a link that expired before it was used."""
        now = require_aware("now", now or utcnow())
        with self.store.write() as session:
            require_staff(session, actor, Permission.DECIDE_DISCLOSURE)
            row = locked_request(session, reference)
            require_state(row, (DisclosureState.DECIDED,), "given a new download link")
            decision = _decision_of(session, row)
            if decision.outcome == DisclosureOutcome.DENIED:
                raise RuleViolation(f"disclosure request {row.reference} was denied")
            revoke_links(session, row, now)
            result = self._deliver(session, actor, row, decision, now)
            return DecisionOutcome(request_view(session, row), *result)

    def use_download(
        self,
        token: str,
        seal: Callable[[DisclosureGrant, Mapping[str, DomainRecord]], S],
        *,
        now: datetime | None = None,
    ) -> S:
        """The document of a download link, made by `seal` from the approved fields; the link
        is used up and the download recorded with the document's SHA-256, in one transaction.
        DownloadNotFound for a link never made; InvalidLink for a used, revoked or old one."""
        now = require_aware("now", now or utcnow())
        if not isinstance(token, str) or not 16 <= len(token) <= 128:
            raise DownloadNotFound()
        with self.store.write() as session:
            link = session.execute(
                select(DisclosureDownloadToken)
                .where(col(DisclosureDownloadToken.token_hash) == hash_token(token))
                .with_for_update()
            ).scalar()
            if link is None:
                raise DownloadNotFound()
            if link.used_at is not None:
                raise InvalidLink("this download link has already been used", gone=True)
            if link.revoked_at is not None or now >= link.expires_at:
                raise InvalidLink("this download link has expired; ask us for a new one", gone=True)
            decision = session.get(DisclosureDecision, link.decision_id)
            assert decision is not None  # a foreign key
            row = session.get(DisclosureRequest, decision.request_id)
            assert row is not None
            records = records_of(session, row)
            approved = tuple(split_approved(value) for value in decision.approved_fields)
            grant = DisclosureGrant(row.reference, decision.outcome, decision.decided_at, approved)
            document = seal(grant, records)
            link.used_at = now
            decision.document_sha256 = document.sha256
            session.add(
                DisclosureDownload(
                    token_id=link.id or 0,
                    request_id=row.id or 0,
                    at=now,
                    document_sha256=document.sha256,
                )
            )
            requestor = f"requestor:{row.reference}"
            for name, record in records.items():
                handles = [
                    contact.handle
                    for role, contact in record.contacts.items()
                    if any(d == name and r == role for d, r, _ in approved)
                ]
                access.record(session, requestor, AccessPurpose.DISCLOSURE_DOCUMENT, handles, name)
            audit.record(
                session,
                actor=requestor,
                action="disclosure.download",
                entity_type=ENTITY,
                entity_id=row.reference,
                changes={"document_sha256": document.sha256},
                request_ref=row.reference,
            )
            return document

    def download_state(self, token: str, *, now: datetime | None = None) -> DisclosureLinkState:
        """What a download link is now, looked up by the token's hash; nothing changes and
        nothing is recorded (the download page asks this before it shows its button)."""
        now = require_aware("now", now or utcnow())
        if not isinstance(token, str) or not 16 <= len(token) <= 128:
            return DisclosureLinkState.UNKNOWN
        with self.store.read() as session:
            link = session.execute(
                select(DisclosureDownloadToken).where(
                    col(DisclosureDownloadToken.token_hash) == hash_token(token)
                )
            ).scalar()
            if link is None:
                return DisclosureLinkState.UNKNOWN
            if link.used_at is not None:
                return DisclosureLinkState.USED
            if link.revoked_at is not None or now >= link.expires_at:
                return DisclosureLinkState.EXPIRED
            return DisclosureLinkState.USABLE

    def notify_due(self, *, now: datetime | None = None) -> tuple[int, ...]:
        """Queue the customer notices held back by a gag whose date has passed; the notices'
        ids (send them with `notice_delivery.deliver`, or leave them to `deliver_pending`)."""
        now = require_aware("now", now or utcnow())
        ids: list[int] = []
        with self.store.write() as session:
            decisions = session.execute(
                select(DisclosureDecision)
                .where(
                    col(DisclosureDecision.outcome) != DisclosureOutcome.DENIED,
                    col(DisclosureDecision.customers_notified_at).is_(None),
                    col(DisclosureDecision.notify_after).is_not(None),
                    col(DisclosureDecision.notify_after) <= now,
                )
                .order_by(col(DisclosureDecision.id))
                .with_for_update()
            ).scalars()
            for decision in list(decisions):
                row = session.get(DisclosureRequest, decision.request_id)
                assert row is not None
                ids += self._tell_customers(session, row, decision, now)
        return tuple(ids)

    # -- helpers ---------------------------------------------------------------------------

    def _deliver(
        self,
        session: Session,
        actor: str,
        row: DisclosureRequest,
        decision: DisclosureDecision,
        now: datetime,
    ) -> tuple[tuple[int, ...], dict[int, dict[str, str]], str | None]:
        """The requestor's mail: the denial, or a new download link (mailed, or handed back
        when there is no address)."""
        if decision.outcome == DisclosureOutcome.DENIED:
            if not row.requestor_email:
                return (), {}, None
            notice = queue(
                session,
                template="disclosure_denied",
                category=NoticeCategory.ESSENTIAL,
                subject_ref=row.reference,
                recipient="requestor",
            )
            return (notice.id or 0,), {}, None
        token = new_token()
        session.add(
            DisclosureDownloadToken(
                decision_id=decision.id or 0,
                token_hash=hash_token(token),
                created_by=actor,
                created_at=now,
                expires_at=now + timedelta(hours=self.settings.download_link_hours),
            )
        )
        if not row.requestor_email:
            return (), {}, token
        notice = queue(
            session,
            template="disclosure_ready",
            category=NoticeCategory.ESSENTIAL,
            subject_ref=row.reference,
            recipient="requestor",
        )
        if self.links is None:
            raise RuntimeError("DisclosureDecisions needs the portal's links to mail a link")
        notice_id = notice.id or 0
        url = self.links.disclosure_download(token)
        return (notice_id,), {notice_id: {"download_url": url}}, None

    @staticmethod
    def _tell_customers(
        session: Session, row: DisclosureRequest, decision: DisclosureDecision, now: datetime
    ) -> tuple[int, ...]:
        """Queue one essential notice to each contact whose fields are disclosed."""
        records = records_of(session, row)
        contact_ids: list[int] = []
        for value in decision.approved_fields:
            domain, role, _ = split_approved(value)
            contact = records[domain].contact(role) if domain in records else None
            if contact is not None and contact.id is not None and contact.id not in contact_ids:
                contact_ids.append(contact.id)
        ids = []
        for contact_id in contact_ids:
            notice = queue(
                session,
                template="disclosure_customer",
                category=NoticeCategory.ESSENTIAL,
                subject_ref=row.reference,
                contact_id=contact_id,
            )
            ids.append(notice.id or 0)
        decision.customers_notified_at = now
        return tuple(ids)


def _with(
    result: tuple[tuple[int, ...], dict[int, dict[str, str]], str | None], more: tuple[int, ...]
) -> tuple[tuple[int, ...], dict[int, dict[str, str]], str | None]:
    ids, contexts, token = result
    return (*ids, *more), contexts, token


def _decision_of(session: Session, row: DisclosureRequest) -> DisclosureDecision:
    decision = session.execute(
        select(DisclosureDecision).where(col(DisclosureDecision.request_id) == row.id)
    ).scalar()
    if decision is None:
        raise NotFound("decision of disclosure request", row.reference)
    return decision


def _check_decision(
    row: DisclosureRequest,
    held: set[str],
    outcome: str,
    explanation: str,
    approved: Iterable[str],
    denial_reason: str | None,
    gag_reason: str | None,
    notify_after: datetime | None,
) -> dict[str, Any]:
    """The decision's columns, or ValidationFailed naming what is wrong."""
    outcome = validation.choice("outcome", outcome, DisclosureOutcome)
    text = free_text("explanation", explanation)
    wanted = {(domain, *split_field(w)) for domain in held for w in row.wanted_fields}
    chosen: list[tuple[str, str, str]] = []
    for value in approved:
        parts = value.split() if isinstance(value, str) else []
        if len(parts) != 3:
            raise validation.fail("approved", f"{value!r} is not 'domain role field'")
        domain = validation.domain_name(parts[0], "approved")[0]
        role, name = split_field(wanted_field(f"{parts[1]} {parts[2]}", "approved"))
        if domain not in held:
            raise validation.fail("approved", f"{domain} is not a domain of this request we hold")
        if (domain, role, name) not in wanted:
            raise validation.fail("approved", f"{role} {name} was not asked for")
        if (domain, role, name) not in chosen:
            chosen.append((domain, role, name))
    errors = []
    if outcome == DisclosureOutcome.DENIED:
        if chosen:
            errors.append(FieldError("approved", "a denial discloses no field"))
        if denial_reason is None:
            errors.append(
                FieldError("denial_reason", f"a denial needs a reason: {_list(DenialReason)}")
            )
        if gag_reason is not None or notify_after is not None:
            errors.append(FieldError("gag_reason", "a denial tells the customer nothing"))
    else:
        if denial_reason is not None:
            errors.append(FieldError("denial_reason", "only a denial has a denial reason"))
        if not chosen:
            errors.append(FieldError("approved", "name the fields disclosed ('domain role field')"))
        elif outcome == DisclosureOutcome.DISCLOSED and set(chosen) != wanted:
            errors.append(
                FieldError("outcome", "not every field asked for is approved: partly disclosed")
            )
        elif outcome == DisclosureOutcome.PARTLY_DISCLOSED and set(chosen) == wanted:
            errors.append(FieldError("outcome", "every field asked for is approved: disclosed"))
        if notify_after is not None and gag_reason is None:
            errors.append(FieldError("notify_after", "a notice date goes with a gag reason"))
    if errors:
        raise ValidationFailed(errors, record="decision")
    if denial_reason is not None:
        validation.choice("denial_reason", denial_reason, DenialReason)
    if gag_reason is not None:
        validation.choice("gag_reason", gag_reason, GagReason)
    return {
        "outcome": outcome,
        "explanation": text,
        "approved_fields": [" ".join(t) for t in chosen],
        "denial_reason": denial_reason,
        "gag_reason": gag_reason,
        "notify_after": require_aware("notify_after", notify_after) if notify_after else None,
    }


def split_field(value: str) -> tuple[str, str]:
    """("role", "field") of a "role field" pair."""
    role, name = value.split()
    return role, name


def _list(values: Iterable[str]) -> str:
    return "; ".join(values)
