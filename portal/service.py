"""What the portal does with the workflow, shared by the HTML pages and the JSON API.

The rules live in `domains.changes`; this module adds what a public site needs on top: the
same answer for every valid submit (our domain or not, open to change or not), a masked
address for every domain, read-only views of a request for a token or a reference, and the
mail delivery that follows a transition.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from domains import notices, validation
from domains.changes import InvalidToken, Workflow, validate_proposal
from domains.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from domains.mailer import Mailer
from domains.masking import mask_email
from domains.models import ChangeRequest, Contact, Domain, DomainContact
from domains.settings import Settings
from domains.store import Store
from portal.config import PortalConfig, load_secret
from portal.ratelimit import RateLimiter
from portal.security import Csrf, derive_key

log = logging.getLogger("interlink.portal")

PORTAL_ACTOR = "customer:portal"
REFERENCE_RE = re.compile(r"^CR-[A-Z0-9]{5}-[A-Z0-9]{5}$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")

#: Fields of the new technical contact a visitor may agree to publish, and what they mean.
CONSENT_CHOICES = {
    "org": "Organisation",
    "name": "Contact name",
    "email": "E-mail address",
    "voice": "Phone number",
    "street": "Street",
    "city": "City",
    "postal_code": "Postal code",
}

STATE_TEXT = {
    "submitted": "Waiting for the registrant to confirm the request by the link we e-mailed.",
    "confirmed": "Confirmed by the registrant; Interlink staff will review it.",
    "approved": "Approved by Interlink staff; the change is being made.",
    "rejected": "Rejected by Interlink staff; the registrant was told why by e-mail. "
    "Nothing was changed.",
    "applied": "Made at Interlink and sent to the registry; waiting for the registry.",
    "completed": "Completed: the domain has its new technical contact.",
    "sync_failed": "Made at Interlink, but the registry has not accepted it yet; "
    "Interlink staff are working on it.",
    "expired": "Expired: the registrant did not confirm in time. Nothing was changed.",
    "cancelled": "Cancelled. Nothing was changed.",
}

# Plausible initials and TLDs for the masked address shown for a domain that is not ours.
_INITIALS = "aaabbcccdddeefghhiijjkkllmmmnnoppqrrsssttuvwyz"
_TLDS = ("com",) * 10 + ("net",) * 3 + ("org",) * 2 + ("de", "uk", "nl", "fr", "eu", "ch", "io")


@dataclass(frozen=True)
class SubmitAnswer:
    """The one answer to every valid submit; it never says whether anything was stored."""

    domain: str
    masked_email: str
    expiry_days: int


@dataclass(frozen=True)
class RequestView:
    """A request as the confirmation page shows it to the registrant (the token holder)."""

    reference: str
    domain: str
    state: str
    state_text: str
    current_tech: str | None
    new_org: str
    new_email_masked: str
    published: list[str]
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class StatusView:
    """A request as anyone with its reference may see it: no personal data."""

    reference: str
    domain: str
    state: str
    state_text: str
    registrant_masked: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


class BadToken(InvalidToken):
    """An InvalidToken with the HTTP status to answer it with (400 unknown, 410 spent)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


#: A job to run after the answer went out (mail delivery).
Job = Callable[[], None]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Portal:
    """The portal's state: the store, the workflow, the mailer, the secret, the limits."""

    def __init__(
        self, store: Store, *, mailer: Mailer, settings: Settings, config: PortalConfig
    ) -> None:
        self.store = store
        self.settings = settings
        self.config = config
        self.mailer = mailer
        self.workflow = Workflow(store)
        secret = load_secret(config, settings.data_dir)
        secure = config.secure_cookies
        if secure is None:
            secure = settings.portal_base_url.lower().startswith("https://")
        self.csrf = Csrf(secret, secure=secure)
        self.limiter = RateLimiter(config.buckets())
        self._mask_key = derive_key(secret, "unknown-domain-mask")

    @property
    def base_url(self) -> str:
        """The public address of the portal, for links in mail (read at each use)."""
        return self.settings.portal_base_url.rstrip("/")

    @property
    def expiry_days(self) -> int:
        return self.settings.request_expiry_days

    # -- submit ----------------------------------------------------------------------------

    def check(self, domain: str, proposal: Mapping[str, Any]) -> tuple[str, str]:
        """Validate the domain name and the new contact: (A-label, U-label), or every error."""
        errors: list[FieldError] = []
        alabel = ulabel = ""
        try:
            alabel, ulabel, _tld = validation.domain_name(domain, field="domain")
        except ValidationFailed as exc:
            errors += exc.errors
        try:
            validate_proposal(proposal)
        except ValidationFailed as exc:
            errors += exc.errors
        if errors:
            raise ValidationFailed(errors)
        return alabel, ulabel

    def submit(self, domain: str, proposal: Mapping[str, Any]) -> tuple[SubmitAnswer, Job | None]:
        """Validate everything, then open the request if the rules allow; same answer always.

        Raises ValidationFailed (every bad field at once) for input that is wrong whatever the
        domain. The answer does not depend on whether a request was stored; the job (mail to
        the registrant on file) is None when none was.
        """
        alabel, ulabel = self.check(domain, proposal)
        masked = self.masked_registrant(alabel)
        try:
            outcome = self.workflow.submit(
                actor=PORTAL_ACTOR, domain_name=alabel, proposal=proposal, channel="portal"
            )
        except (NotFound, RuleViolation) as exc:
            # Unknown, locked, or already moving: the visitor is told the same as for a request
            # that went through; only the log (no names) says what happened.
            log.info("portal submit: no request opened (%s)", type(exc).__name__)
            outcome = None
        answer = SubmitAnswer(domain=ulabel, masked_email=masked, expiry_days=self.expiry_days)
        if outcome is None:
            return answer, None
        reference = outcome.request.reference
        log.info("portal submit: request %s submitted", reference)
        context = {
            "confirm_url": f"{self.base_url}/confirm/{outcome.token}",
            "status_url": f"{self.base_url}/status/{reference}",
        }
        return answer, self._delivery(reference, outcome.notice_ids, context)

    def masked_registrant(self, alabel: str) -> str:
        """The registrant's address masked, or for a domain not ours a made-up one like it."""
        fake = self.fake_mask(alabel)  # computed on every path, so both take the same work
        try:
            record = self.store.domain_record(alabel)
        except NotFound:
            return fake
        registrant = record.contact("registrant")
        return mask_email(registrant.email) if registrant is not None else fake

    def fake_mask(self, alabel: str) -> str:
        """A masked address for a domain that is not ours: fixed per name, keyed by the secret."""
        digest = hmac.new(self._mask_key, alabel.encode("utf-8"), hashlib.sha256).digest()
        local = _INITIALS[digest[0] % len(_INITIALS)]
        host = _INITIALS[digest[1] % len(_INITIALS)]
        tld = _TLDS[digest[2] % len(_TLDS)]
        return mask_email(f"{local}@{host}.{tld}")

    # -- confirmation ----------------------------------------------------------------------

    def describe(self, token: str, *, now: datetime | None = None) -> RequestView:
        """The request a confirmation token belongs to; changes nothing (GET may prefetch)."""
        now = now or datetime.now(UTC)
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            raise BadToken("this confirmation link is not valid", 400)
        try:
            request = self.workflow.inspect_token(token, now=now)
        except InvalidToken as exc:
            raise BadToken(str(exc), 410 if exc.gone else 400) from None
        with self.store.read() as session:
            domain = session.get(Domain, request.domain_id)
            old = session.get(Contact, request.old_tech_id) if request.old_tech_id else None
            proposed = request.proposed or {}
            if request.target == "house":
                house = session.execute(
                    select(Contact).where(col(Contact.is_house).is_(True))
                ).scalar()
                proposed = {"org": house.org, "email": house.email} if house else {}
        assert domain is not None
        return RequestView(
            reference=request.reference,
            domain=domain.unicode_name,
            state=request.state,
            state_text=STATE_TEXT[request.state],
            current_tech=(old.org or old.name) if old else None,
            new_org=proposed.get("org") or proposed.get("name") or "",
            new_email_masked=mask_email(proposed.get("email")),
            published=[
                CONSENT_CHOICES[f]
                for f in proposed.get("consent_fields", [])
                if f in CONSENT_CHOICES
            ],
            created_at=_aware(request.created_at),
            expires_at=_aware(request.token_expires_at),
        )

    def confirm(self, token: str) -> tuple[StatusView, Job]:
        """Confirm by token (POST only); raises BadToken with the workflow's own message."""
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            raise BadToken("this confirmation link is not valid", 400)
        try:
            outcome = self.workflow.confirm(token=token)
        except InvalidToken as exc:
            raise BadToken(str(exc), 410 if exc.gone else 400) from None
        reference = outcome.request.reference
        log.info("portal confirm: request %s confirmed", reference)
        context = {"status_url": f"{self.base_url}/status/{reference}"}
        return self.status(reference), self._delivery(reference, outcome.notice_ids, context)

    # -- status ----------------------------------------------------------------------------

    def status(self, reference: str) -> StatusView:
        """The state of a request in plain words; NotFound for a reference we do not know."""
        key = reference.strip().upper() if isinstance(reference, str) else ""
        if not REFERENCE_RE.match(key):
            raise NotFound("change request", "(reference)")
        with self.store.read() as session:
            request = session.execute(
                select(ChangeRequest).where(ChangeRequest.reference == key)
            ).scalar()
            if request is None:
                raise NotFound("change request", "(reference)")
            domain = session.get(Domain, request.domain_id)
            registrant = session.execute(
                select(Contact.email)
                .join(DomainContact, col(DomainContact.contact_id) == col(Contact.id))
                .where(DomainContact.domain_id == request.domain_id)
                .where(DomainContact.role == "registrant")
            ).scalar()
        assert domain is not None
        return StatusView(
            reference=request.reference,
            domain=domain.unicode_name,
            state=request.state,
            state_text=STATE_TEXT[request.state],
            registrant_masked=mask_email(registrant) if registrant else None,
            created_at=_aware(request.created_at),
            updated_at=_aware(request.updated_at),
            expires_at=_aware(request.expires_at) if request.state == "submitted" else None,
        )

    # -- mail ------------------------------------------------------------------------------

    def _delivery(self, reference: str, notice_ids: list[int], context: dict[str, str]) -> Job:
        def run() -> None:
            try:
                sent = notices.deliver(self.store, notice_ids, mailer=self.mailer, context=context)
            except Exception as exc:  # the visitor has their answer; staff see the notice log
                log.error("notices for %s not delivered: %s", reference, type(exc).__name__)
                return
            states = ", ".join(sorted({n.status for n in sent})) or "none"
            log.info("notices for %s: %s", reference, states)

        return run
