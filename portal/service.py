"""What the portal does with the workflow, shared by the HTML pages and the JSON API.

The rules live in `domains.changes`; this module adds what a public site needs on top: a plain
refusal of a domain not registered with Interlink (which registrar holds a domain is public
anyway), the same answer for every valid submit of one of ours (open to change or not) given
before the request is opened, so neither its words nor its time tell whether one was, the
registrant's address masked, read-only views of a request for a token or a reference, and the
mail delivery that follows a transition.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domains import notice_delivery, validation
from domains.changes import Workflow, validate_proposal
from domains.contact_fields import REQUEST_CONSENTS
from domains.customer_sessions import CustomerSessions
from domains.errors import FieldError, NotFound, RuleViolation, ValidationFailed
from domains.mailer import Mailer
from domains.masking import mask_email
from domains.request_tokens import TOKEN_BYTES, InvalidToken
from domains.server_secret import load_secret
from domains.settings import PortalSettings, Settings
from domains.store import DomainRecord, Store
from domains.vocabulary import RequestState, RequestTarget
from portal.links import PortalLinks
from portal.ratelimit import RateLimiter
from portal.security import Csrf

log = logging.getLogger("interlink.portal")

PORTAL_ACTOR = "customer:portal"
#: A confirmation token as the workflow makes it: secrets.token_urlsafe(TOKEN_BYTES), which is
#: base64url without padding, so always this many characters of this alphabet.
TOKEN_LENGTH = math.ceil(TOKEN_BYTES * 4 / 3)
TOKEN_PATTERN = rf"^[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}$"
TOKEN_RE = re.compile(TOKEN_PATTERN)

#: Fields of the new technical contact a visitor may agree to publish, and what they mean.
CONSENT_CHOICES: Mapping[str, str] = REQUEST_CONSENTS

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


def not_registered(domain: str) -> FieldError:
    """The refusal of a domain that is not registered with Interlink, on the field `domain`."""
    return FieldError(
        "domain",
        f"{domain} is not registered with Interlink, so we cannot change its technical contact "
        "here; which registrar holds it is public in RDAP and WHOIS",
    )


@dataclass(frozen=True)
class SubmitAnswer:
    """The answer to a valid submit for one of our domains; it never says if a request was made.

    A domain that is locked or already has an open request gets the same answer as one that
    took the request: only the registrant, by the mail on file, learns which it was.
    """

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
        self, store: Store, *, mailer: Mailer, settings: Settings, config: PortalSettings
    ) -> None:
        self.store = store
        self.settings = settings
        self.config = config
        self.mailer = mailer
        self.links = PortalLinks(settings)
        self.workflow = Workflow(store, self.links)
        secret = load_secret(config, settings.data_dir)
        secure = config.secure_cookies
        if secure is None:
            secure = settings.portal_base_url.lower().startswith("https://")
        self.secure = secure
        self.csrf = Csrf(secret, secure=secure)
        self.sessions = CustomerSessions(store)
        self.limiter = RateLimiter(config.buckets())

    @property
    def base_url(self) -> str:
        """The public address of the portal, for links in mail (read at each use)."""
        return self.links.base

    @property
    def expiry_days(self) -> int:
        return self.settings.request_expiry_days

    # -- submit ----------------------------------------------------------------------------

    def check(self, domain: str, proposal: Mapping[str, Any]) -> DomainRecord:
        """The registered domain for the name, if the new contact is valid too; or every error.

        A name that is not valid, or that is not registered with Interlink, is an error on the
        field `domain`, reported together with those of the new contact.
        """
        errors: list[FieldError] = []
        record = None
        try:
            alabel, ulabel, _tld = validation.domain_name(domain, field="domain")
        except ValidationFailed as exc:
            errors += exc.errors
        else:
            try:
                record = self.store.domain_record(alabel)
            except NotFound:
                errors.append(not_registered(ulabel))
        try:
            validate_proposal(proposal)
        except ValidationFailed as exc:
            errors += exc.errors
        if errors or record is None:
            raise ValidationFailed(errors)
        return record

    def submit(self, domain: str, proposal: Mapping[str, Any]) -> tuple[SubmitAnswer, Job]:
        """Validate everything and give the answer; the job opens the request after it.

        Raises ValidationFailed (every bad field at once) for wrong input and for a domain not
        registered with Interlink. For one of ours the answer is the same whether or not a
        request will be opened (the domain may be locked or already moving), and it is given
        before the workflow runs: the job, run after the answer went out, opens the request and
        mails the registrant on file, so the time of the answer tells nothing either.
        """
        record = self.check(domain, proposal)
        registrant = record.contact("registrant")
        answer = SubmitAnswer(
            domain=record.domain.unicode_name,
            masked_email=mask_email(registrant.email if registrant is not None else None),
            expiry_days=self.expiry_days,
        )
        return answer, self._opening(record.domain.name, dict(proposal))

    def _opening(self, domain_name: str, proposal: dict[str, Any]) -> Job:
        """The job that opens the request and mails the registrant; it logs, never raises."""

        def run() -> None:
            try:
                outcome = self.workflow.submit(
                    actor=PORTAL_ACTOR, domain_name=domain_name, proposal=proposal, channel="portal"
                )
            except (RuleViolation, NotFound) as exc:
                # Locked, already moving, or deleted since the check: the visitor was told the
                # same as for a request that went through; the log (no names) says which.
                log.info("portal submit: no request opened (%s)", type(exc).__name__)
                return
            except Exception as exc:  # the visitor has their answer; the type is enough here
                log.error("portal submit: request not opened: %s", type(exc).__name__)
                return
            reference = outcome.request.reference
            log.info("portal submit: request %s submitted", reference)
            self._delivery(reference, outcome.notice_ids, self.workflow.mail_context(outcome))()

        return run

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
        parties = self.workflow.parties_of(request)
        old, house = parties.old_tech, parties.house
        proposed = request.proposed or {}
        if request.target == RequestTarget.HOUSE:
            proposed = {"org": house.org, "email": house.email} if house else {}
        assert request.token_expires_at is not None  # inspect_token checked it
        return RequestView(
            reference=request.reference,
            domain=parties.domain.unicode_name,
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
        context = self.workflow.mail_context(outcome)
        return self.status(reference), self._delivery(reference, outcome.notice_ids, context)

    # -- status ----------------------------------------------------------------------------

    def status(self, reference: str) -> StatusView:
        """The state of a request in plain words; NotFound for a reference we do not know."""
        try:
            key = validation.reference(reference)
        except ValidationFailed:
            raise NotFound("change request", "(reference)") from None
        try:
            parties = self.workflow.parties(key)
        except NotFound:
            raise NotFound("change request", "(reference)") from None
        request, registrant = parties.request, parties.registrant_email
        return StatusView(
            reference=request.reference,
            domain=parties.domain.unicode_name,
            state=request.state,
            state_text=STATE_TEXT[request.state],
            registrant_masked=mask_email(registrant) if registrant else None,
            created_at=_aware(request.created_at),
            updated_at=_aware(request.updated_at),
            expires_at=_aware(request.expires_at)
            if request.state == RequestState.SUBMITTED
            else None,
        )

    # -- mail ------------------------------------------------------------------------------

    def deliver(self, what: str, notice_ids: list[int], context: dict[str, str]) -> Job:
        """The job that sends queued notices after the answer went out; it logs, never raises."""
        return self._delivery(what, notice_ids, context)

    def _delivery(self, reference: str, notice_ids: list[int], context: dict[str, str]) -> Job:
        def run() -> None:
            try:
                sent = notice_delivery.deliver(
                    self.store, notice_ids, mailer=self.mailer, links=self.links, context=context
                )
            except Exception as exc:  # the visitor has their answer; staff see the notice log
                log.error("notices for %s not delivered: %s", reference, type(exc).__name__)
                return
            states = ", ".join(sorted({n.status for n in sent})) or "none"
            log.info("notices for %s: %s", reference, states)

        return run
