"""Notices: e-mails queued in a change's transaction, rendered and sent after it committed.

A Notice row holds ids only (contact, account, change request reference), never an address, a
name or a body: the address is looked up when the notice is sent. Its `error` column keeps the
transport's error with addresses replaced by `<address>`, and the log carries the notice id, the
template and the status, nothing else.

Statuses: queued -> sending (claimed by one deliverer) -> sent | failed | suppressed, or back to
queued after a transient error. This module queues and renders; sending, retrying and the
sweep for notices left behind are in `domains.notice_delivery` (its names are also reachable
from here, as before: `notices.deliver`, `notices.deliver_pending`, `notices.NoticeSender`).
An essential notice is always sent: to an address known to fail (`domains.address_failures`) it
goes to the next address on file instead (`notice_addresses`). A marketing notice is
suppressed for an account that opted out of marketing, for anyone who is not a customer (no
account), and for an address known to fail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import select
from sqlmodel import Session, col

from domains import (
    address_failures,
    correction_notices,
    disclosure_mail,
    notice_addresses,
    reminder_mail,
    unsubscribe,
)
from domains.mail_compose import ANNOUNCEMENT, NoticeError, Recipient, compose
from domains.mail_compose import aware as _aware
from domains.masking import mask_email, mask_name
from domains.models import Account, ChangeRequest, Contact, Domain, DomainContact, Notice, utcnow
from domains.settings import Settings
from domains.store_sessions import StoreSessions
from domains.vocabulary import ContactRole, NoticeCategory, RequestTarget

log = logging.getLogger(__name__)

TEMPLATES = (
    "request_received",
    "request_confirmed",
    "request_approved",
    "request_rejected",
    "request_completed",
    "request_expired",
    "request_cancelled",
    "request_sync_failed",
    "newsletter",
    "signin_link",
    *correction_notices.TEMPLATES,
    *reminder_mail.TEMPLATES,
    *disclosure_mail.TEMPLATES,
)
RECIPIENTS = (
    "contact",
    "account",
    "proposed_tech",
    *correction_notices.RECIPIENTS,
    *disclosure_mail.RECIPIENTS,
)
#: A notice still queued this long after it was queued was left behind: the deliverer that
#: queues a notice claims it moments after its transaction commits.
PENDING_GRACE = timedelta(minutes=5)
# Context keys that only the registrant's own mail may carry (the confirmation link holds the
# one-time token). They are dropped for every other recipient, whatever the caller passes.
REGISTRANT_ONLY = frozenset({"confirm_url", "token"})
#: Mails that are useless without a link made when they were queued (its token exists only in
#: memory then): the context key that must carry it.
NEEDS_LINK = {
    "signin_link": "signin_url",
    **correction_notices.NEEDS_LINK,
    **disclosure_mail.NEEDS_LINK,
}

CHANNEL_TEXT = {
    "portal": "made on our website",
    "phone": "made by telephone and entered by our support team",
    "letter": "made by letter and entered by our support team",
    "email": "made by e-mail and entered by our support team",
}
CHANNEL_LABEL = {
    "portal": "our website",
    "phone": "telephone call to our support team",
    "letter": "letter to our support team",
    "email": "e-mail to our support team",
}


@dataclass(frozen=True)
class RequestView:
    """What a mail may say about a change request."""

    reference: str
    state: str
    reason: str | None
    channel: str
    channel_text: str
    channel_label: str
    created_at: datetime
    expires_at: datetime
    confirmed: bool


@dataclass(frozen=True)
class DomainView:
    """A domain's names."""

    name: str
    unicode_name: str


@dataclass(frozen=True)
class PartyView:
    """A technical contact as a mail names it: `shown` is masked until the request is confirmed."""

    org: str | None
    name: str | None
    label: str
    label_masked: str
    shown: str


# -- queueing ---------------------------------------------------------------------------


def queue(
    session: Session,
    *,
    template: str,
    category: str,
    subject_ref: str | None,
    recipient: str = "contact",
    contact_id: int | None = None,
    account_id: int | None = None,
) -> Notice:
    """Add a queued Notice in the caller's transaction (category 'essential'|'marketing')."""
    if template not in TEMPLATES and not template.startswith(ANNOUNCEMENT):
        raise ValueError(f"unknown notice template {template!r}; known: {', '.join(TEMPLATES)}")
    if category not in tuple(NoticeCategory):
        raise ValueError(
            f"a notice category is one of {', '.join(NoticeCategory)}, not {category!r}"
        )
    if recipient not in RECIPIENTS:
        raise ValueError(f"a notice recipient is one of {', '.join(RECIPIENTS)}")
    if recipient == "contact" and contact_id is None:
        raise ValueError("a notice to a contact needs contact_id")
    if recipient == "account" and account_id is None:
        raise ValueError("a notice to an account needs account_id")
    if recipient == "proposed_tech" and not subject_ref:
        raise ValueError("a notice to the proposed technical contact needs subject_ref")
    if recipient in correction_notices.RECIPIENTS and not subject_ref:
        raise ValueError("a notice to an address kept with a change needs subject_ref")
    if template in disclosure_mail.TEMPLATES and not subject_ref:
        raise ValueError(f"the {template} notice needs subject_ref (the request reference)")
    if template.startswith("request_") and not subject_ref:
        raise ValueError(f"the {template} notice needs subject_ref (the request reference)")
    now = utcnow()
    notice = Notice(
        created_at=now,
        # Its deliverer sends it at once; a sweep takes it only if that deliverer stopped.
        next_attempt_at=now + PENDING_GRACE,
        category=category,
        template=template,
        recipient=recipient,
        contact_id=contact_id,
        account_id=account_id,
        subject_ref=subject_ref,
    )
    session.add(notice)
    session.flush()
    log.info("notice %s %s queued", notice.id, template)
    return notice


class RequestLinks(Protocol):
    """The links into the portal a mail carries; the portal builds them (`portal.links`)."""

    @property
    def base(self) -> str:
        """The portal's public address, without a trailing slash."""
        ...

    def status(self, reference: str) -> str:
        """The page that shows a request's state."""
        ...

    def confirm(self, token: str) -> str:
        """The page where the registrant confirms a request."""
        ...

    def unsubscribe(self, token: str) -> str:
        """The page (and the one-click POST) that opts an account out of marketing mail."""
        ...


# -- rendering --------------------------------------------------------------------------


def prepare(
    session: Session,
    settings: Settings,
    links: RequestLinks,
    notice: Notice,
    context: Mapping[str, Any],
) -> EmailMessage | str:
    """The message to send, or the reason (a str) why the notice is suppressed.

    Raises NoticeError when the notice cannot be sent (the same on every try), and the
    database's own error when reading fails (`domains.db.is_transient` tells if that may pass).
    """
    request = None
    if notice.subject_ref and _about_request(notice):
        request = session.execute(
            select(ChangeRequest).where(col(ChangeRequest.reference) == notice.subject_ref)
        ).scalar()
        if request is None:
            raise NoticeError(f"change request {notice.subject_ref} not found")
    recipient = _recipient(session, notice, request)
    if notice.category == NoticeCategory.MARKETING:
        failing = bool(address_failures.failing_in(session, [recipient.address]))
        refusal = _marketing_refusal(recipient.account, failing)
        if refusal:
            return refusal
    else:
        redirect = not _carries_proof(notice, recipient)
        recipient = notice_addresses.reachable(session, recipient, redirect=redirect)
    values = _context(session, settings, links, notice, request, recipient)
    values.update(_correction(correction_notices.context, session, notice))
    try:
        values.update(reminder_mail.context(session, notice))
        values.update(disclosure_mail.context(session, notice))
    except (reminder_mail.ReminderMailError, disclosure_mail.DisclosureMailError) as exc:
        raise NoticeError(str(exc)) from None
    return _compose(settings, links, notice, recipient, values, context)


def prepare_for_account(
    settings: Settings,
    links: RequestLinks,
    notice: Notice,
    account: Account | None,
    failing: bool,
    context: Mapping[str, Any],
) -> EmailMessage | str:
    """`prepare` for a marketing notice to an account (an announcement), from the account
    and its address's state as read with the notice's claim: no session of its own. The same
    message, or the same reason, as `prepare` gives (tests/domains/test_notices.py shows it)."""
    if notice.category != NoticeCategory.MARKETING or notice.recipient != "account":
        raise ValueError(f"notice {notice.id} is not a marketing notice to an account")
    if account is None:
        raise NoticeError(f"account {notice.account_id} does not exist")
    refusal = _marketing_refusal(account, failing)
    if refusal is not None:
        return refusal
    recipient = Recipient(account.name, account.email, "account", account)
    values = base_context(settings, links, notice, recipient)
    return _compose(settings, links, notice, recipient, values, context)


def _marketing_refusal(account: Account | None, failing: bool) -> str | None:
    """Why a marketing mail to this recipient is suppressed (None: it may go)."""
    if account is None:
        return "not a customer: no marketing mail"
    if account.marketing_opt_out_at is not None:
        return "the account opted out of marketing"
    if failing:
        return "the address is failing: no marketing mail to it"
    return None


def _compose(
    settings: Settings,
    links: RequestLinks,
    notice: Notice,
    recipient: Recipient,
    values: dict[str, Any],
    context: Mapping[str, Any],
) -> EmailMessage:
    """The message from the values read for it and the caller's context (the links made with
    the notice), after the checks every mail passes."""
    extra = dict(context)
    if recipient.audience != "registrant":
        for key in REGISTRANT_ONLY:
            extra.pop(key, None)
    values.update(extra)
    link_key = NEEDS_LINK.get(notice.template)
    if link_key and not values.get(link_key):
        raise NoticeError(
            f"the {notice.template} mail needs {link_key}: its token exists only in memory "
            "when it is made, so make a new link instead"
        )
    needs_link = notice.template == "request_received" and recipient.audience == "registrant"
    if needs_link and not values.get("confirm_url"):
        raise NoticeError(
            "the confirmation mail needs confirm_url: the token exists only in memory when "
            "the request is made, so send a new confirmation link instead"
        )
    values["unsubscribe_url"], headers = unsubscribe_link(settings, links, notice, recipient)
    return compose(settings, notice, recipient, values, headers)


def _about_request(notice: Notice) -> bool:
    """Whether the notice is about a change request (its subject_ref is the request's)."""
    return notice.template.startswith("request_") or notice.recipient == "proposed_tech"


def unsubscribe_link(
    settings: Settings, links: RequestLinks, notice: Notice, recipient: Recipient
) -> tuple[str | None, dict[str, str]]:
    """A marketing mail's unsubscribe link and its List-Unsubscribe headers (RFC 2369 and
    RFC 8058), for the recipient's account; essential mail has neither."""
    account = recipient.account
    if notice.category != NoticeCategory.MARKETING or account is None or account.id is None:
        return None, {}
    try:
        token = unsubscribe.token_for(settings, account.id)
    except (OSError, ValueError) as exc:  # no marketing mail goes out without a working link
        raise NoticeError(f"the unsubscribe link cannot be signed: {exc}") from None
    url = links.unsubscribe(token)
    return url, unsubscribe.list_headers(settings, url, token)


def _recipient(session: Session, notice: Notice, request: ChangeRequest | None) -> Recipient:
    if notice.recipient == "contact":
        contact = session.get(Contact, notice.contact_id)
        if contact is None:
            raise NoticeError(f"contact {notice.contact_id} does not exist")
        account = session.get(Account, contact.account_id) if contact.account_id else None
        return Recipient(
            contact.name, contact.email, _audience(session, contact.id, request), account
        )
    if notice.recipient == "account":
        account = session.get(Account, notice.account_id)
        if account is None:
            raise NoticeError(f"account {notice.account_id} does not exist")
        return Recipient(account.name, account.email, "account", account)
    if notice.recipient == "proposed_tech":
        assert request is not None
        proposed = request.proposed or {}
        if proposed.get("email"):
            return Recipient(
                proposed.get("name") or proposed.get("org") or "",
                proposed["email"],
                "new_tech",
                None,
            )
        house = _house(session)
        if request.target == RequestTarget.HOUSE and house is not None:
            return Recipient(house.name, house.email, "new_tech", None)
        raise NoticeError(f"change request {request.reference} names no new e-mail address")
    if notice.recipient in correction_notices.RECIPIENTS:
        name, address = _correction(correction_notices.address, session, notice)
        return Recipient(name, address, notice.recipient, None)
    if notice.recipient in disclosure_mail.RECIPIENTS:
        try:
            name, address = disclosure_mail.address(session, notice)
        except disclosure_mail.DisclosureMailError as exc:
            raise NoticeError(str(exc)) from None
        return Recipient(name, address, notice.recipient, None)
    raise NoticeError(f"unknown recipient kind {notice.recipient!r}")


def _carries_proof(notice: Notice, recipient: Recipient) -> bool:
    """Whether the mail holds a one-time link for its own address only (a sign-in link, a
    registrant's confirmation, an address check): such a mail never goes to another address."""
    if notice.template in NEEDS_LINK:
        return True
    return notice.template == "request_received" and recipient.audience == "registrant"


def _correction(read: Any, session: Session, notice: Notice) -> Any:
    """A read of `correction_notices`, its missing change a NoticeError."""
    try:
        return read(session, notice)
    except correction_notices.CorrectionMailError as exc:
        raise NoticeError(str(exc)) from None


def _audience(session: Session, contact_id: int | None, request: ChangeRequest | None) -> str:
    """How a contact stands to the request: registrant, new_tech, old_tech or contact."""
    if request is None:
        return "contact"
    registrant = session.get(DomainContact, (request.domain_id, "registrant"))
    if registrant is not None and registrant.contact_id == contact_id:
        return "registrant"
    if request.new_tech_id is not None and request.new_tech_id == contact_id:
        return "new_tech"
    if request.old_tech_id is not None and request.old_tech_id == contact_id:
        return "old_tech"
    return "contact"


def _house(session: Session) -> Contact | None:
    return StoreSessions.house_contact_in(session)


def _party(org: str | None, name: str | None, *, masked: bool) -> PartyView:
    label = org or name or "(none)"
    label_masked = mask_name(label)
    return PartyView(
        org=org,
        name=name,
        label=label,
        label_masked=label_masked,
        shown=label_masked if masked else label,
    )


def base_context(
    settings: Settings, links: RequestLinks, notice: Notice, recipient: Recipient
) -> dict[str, Any]:
    """What every template may use, none of it about a change request (those keys None)."""
    return {
        "category": notice.category,
        "template": notice.template,
        "audience": recipient.audience,
        "recipient_name": recipient.name or "customer",
        "account_number": recipient.account.number if recipient.account else None,
        "company": settings.registrar.name,
        "support_url": settings.registrar.url,
        "portal_base_url": links.base,
        "request": None,
        "domain": None,
        "old_tech": None,
        "new_tech": None,
        "registrant_email_masked": None,
        "status_url": links.base,
        "confirm_url": None,
    }


def _context(
    session: Session,
    settings: Settings,
    links: RequestLinks,
    notice: Notice,
    request: ChangeRequest | None,
    recipient: Recipient,
) -> dict[str, Any]:
    """Everything a template may use; always the same keys (templates are strict)."""
    values = base_context(settings, links, notice, recipient)
    if request is None:
        return values
    domain = session.get(Domain, request.domain_id)
    if domain is None:
        raise NoticeError(f"the domain of change request {request.reference} does not exist")
    confirmed = request.confirmed_at is not None
    values["request"] = RequestView(
        reference=request.reference,
        state=request.state,
        reason=request.reason,
        channel=request.channel,
        channel_text=CHANNEL_TEXT.get(request.channel, "made"),
        channel_label=CHANNEL_LABEL.get(request.channel, request.channel),
        created_at=_aware(request.created_at),
        expires_at=_aware(request.expires_at),
        confirmed=confirmed,
    )
    values["domain"] = DomainView(name=domain.name, unicode_name=domain.unicode_name)
    old = session.get(Contact, request.old_tech_id) if request.old_tech_id else None
    values["old_tech"] = _party(old.org if old else None, old.name if old else None, masked=False)
    house = _house(session) if request.target == RequestTarget.HOUSE else None
    if house is not None:
        values["new_tech"] = _party(house.org, house.name, masked=False)
    else:
        proposed = request.proposed or {}
        values["new_tech"] = _party(proposed.get("org"), proposed.get("name"), masked=not confirmed)
    registrant = session.execute(
        select(col(Contact.email))
        .join(DomainContact, col(DomainContact.contact_id) == col(Contact.id))
        .where(
            col(DomainContact.domain_id) == domain.id,
            col(DomainContact.role) == ContactRole.REGISTRANT,
        )
    ).scalar()
    values["registrant_email_masked"] = mask_email(registrant) if registrant else None
    values["status_url"] = links.status(request.reference)
    return values
