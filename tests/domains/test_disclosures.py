"""The register of disclosure requests on SQLite and PostgreSQL: intake, e-mail verification,
states and deadlines, four eyes, attachments, download links, customer notices and the gag."""

from __future__ import annotations

import email
import email.policy
import hashlib
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import col

from domains import notice_delivery
from domains.contact_corrections import deliver
from domains.disclosure_decisions import DisclosureDecisions, DownloadNotFound
from domains.disclosure_input import Attachment
from domains.disclosure_models import DisclosureAttachment, DisclosureDownload
from domains.disclosures import Disclosures, InvalidLink
from domains.errors import NotFound, RuleViolation, ValidationFailed
from domains.mailer import FolderMailer
from domains.models import AccessEvent, Notice
from domains.staff import Refused
from domains.store import Store
from domains.vocabulary import (
    DenialReason,
    DisclosureChannel,
    DisclosureOutcome,
    DisclosureState,
    GagReason,
    UrgencyCategory,
)
from portal.links import PortalLinks
from publishers.disclosure_document import download, public_key, verify_document
from tests.support.disclosures import PDF, PNG, WEDNESDAY, customer_domain, form, german
from tests.support.staff import PRIVACY, SUPPORT

ANN, BOB, PIA, SAM = "staff:ann", "staff:bob", f"staff:{PRIVACY}", f"staff:{SUPPORT}"
DOMAIN = "harbour-kites.com"


@pytest.fixture
def register(store: Store) -> Store:
    """The store with a customer's domain and the German business-day calendar."""
    store.settings = german(store.settings)
    return store


def notices_of(store: Store, reference: str) -> list[tuple[str, str, int | None]]:
    with store.read() as session:
        rows = session.execute(
            select(Notice).where(col(Notice.subject_ref) == reference).order_by(col(Notice.id))
        ).scalars()
        return [(n.template, n.recipient, n.contact_id) for n in rows]


def entered(store: Store, **overrides: object) -> str:
    """A request by e-mail entered by ann (so ann may not decide it), under review by pia."""
    customer_domain(store, DOMAIN)
    outcome = Disclosures(store).enter(
        ANN, form((DOMAIN,), **overrides), DisclosureChannel.EMAIL, now=WEDNESDAY
    )
    Disclosures(store).review(PIA, outcome.request.reference, now=WEDNESDAY)
    return outcome.request.reference


def test_staff_entry_counts_at_once_and_queues_the_acknowledgement(register: Store) -> None:
    customer_domain(register, DOMAIN)
    outcome = Disclosures(register).enter(
        SAM, form((DOMAIN, "not-ours.org")), DisclosureChannel.EMAIL, now=WEDNESDAY
    )
    view = outcome.request
    assert view.state == DisclosureState.ACKNOWLEDGED
    assert view.received_at == WEDNESDAY and view.acknowledged_at == WEDNESDAY
    assert view.answer_due_at == WEDNESDAY + timedelta(days=30)
    assert view.entered_by == SAM
    assert view.domains == (DOMAIN, "not-ours.org") and view.unknown_domains == ("not-ours.org",)
    assert view.wanted_fields == ("registrant name", "registrant email")
    [attachment] = view.attachments
    assert attachment.media_type == "application/pdf"
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert notices_of(register, view.reference) == [("disclosure_acknowledged", "requestor", None)]


def test_a_letter_without_e_mail_waits_for_staff_to_acknowledge_and_goes_overdue(
    register: Store,
) -> None:
    customer_domain(register, DOMAIN)
    register_ = Disclosures(register)
    letter = form((DOMAIN,), requestor_email=None)
    view = register_.enter(SAM, letter, DisclosureChannel.LETTER, now=WEDNESDAY).request
    assert view.state == DisclosureState.RECEIVED and view.acknowledged_at is None
    monday_night = view.acknowledge_due_at
    assert monday_night is not None
    [before] = register_.due(now=monday_night)
    assert before.next_step == "acknowledge" and not before.overdue
    [after] = register_.due(now=monday_night + timedelta(minutes=1))
    assert after.acknowledgement_overdue and not after.answer_overdue
    register_.acknowledge(SAM, view.reference, now=monday_night + timedelta(hours=1))
    [done] = register_.due(now=monday_night + timedelta(hours=2))
    assert done.next_step == "answer" and not done.overdue
    assert notices_of(register, view.reference) == []


def test_due_lists_the_soonest_deadline_first_and_flags_overdue(register: Store) -> None:
    customer_domain(register, DOMAIN)
    register_ = Disclosures(register)
    regular = register_.enter(SAM, form((DOMAIN,)), DisclosureChannel.EMAIL, now=WEDNESDAY)
    later = WEDNESDAY + timedelta(hours=2)
    urgent = register_.enter(
        SAM,
        form((DOMAIN,), urgency=UrgencyCategory.THREAT_TO_LIFE),
        DisclosureChannel.PHONE,
        now=later,
    )
    due = register_.due(now=later + timedelta(hours=25))
    assert [d.reference for d in due] == [urgent.request.reference, regular.request.reference]
    assert due[0].urgency == UrgencyCategory.THREAT_TO_LIFE and due[0].answer_overdue
    assert due[1].urgency == "regular" and not due[1].overdue


def test_a_web_request_counts_only_once_its_e_mail_is_verified(register: Store) -> None:
    customer_domain(register, DOMAIN)
    links = PortalLinks(register.settings)
    register_ = Disclosures(register, links)
    submitted = register_.submit(form((DOMAIN,)), now=WEDNESDAY)
    assert submitted.request.state == DisclosureState.UNVERIFIED
    assert submitted.request.received_at is None and register_.due(now=WEDNESDAY) == []
    [notice_id] = submitted.notice_ids
    url = submitted.contexts[notice_id]["verify_url"]
    token = url.rsplit("/", 1)[1]
    with pytest.raises(InvalidLink) as forged:
        register_.verify_email("x" * 43, now=WEDNESDAY)
    assert not forged.value.gone
    later = WEDNESDAY + timedelta(hours=3)
    verified = register_.verify_email(token, now=later)
    assert verified.request.state == DisclosureState.ACKNOWLEDGED
    assert verified.request.received_at == later
    assert verified.request.answer_due_at == later + timedelta(days=30)
    with pytest.raises(InvalidLink, match="already been used") as used:
        register_.verify_email(token, now=later)
    assert used.value.gone
    templates = [t for t, _, _ in notices_of(register, submitted.request.reference)]
    assert templates == ["disclosure_verify", "disclosure_acknowledged"]


def test_an_old_verification_link_is_refused(register: Store) -> None:
    customer_domain(register, DOMAIN)
    register_ = Disclosures(register, PortalLinks(register.settings))
    submitted = register_.submit(form((DOMAIN,)), now=WEDNESDAY)
    [context] = submitted.contexts.values()
    token = context["verify_url"].rsplit("/", 1)[1]
    with pytest.raises(InvalidLink, match="expired"):
        register_.verify_email(token, now=WEDNESDAY + timedelta(hours=48))
    assert register_.get(submitted.request.reference).state == DisclosureState.UNVERIFIED


@pytest.mark.parametrize(
    ("attachment", "why"),
    [
        (Attachment("order.pdf", PNG), "its content is not application/pdf"),
        (Attachment("order.png", PDF), "its content is not image/png"),
        (Attachment("order.docx", PDF), "is not a PDF, PNG or JPEG"),
        (Attachment("order.pdf", b"%PDF-" + b"0" * 2048), "at most 1024 bytes"),
    ],
)
def test_an_attachment_that_is_not_what_its_name_says_or_too_large_is_refused(
    register: Store, attachment: Attachment, why: str
) -> None:
    register.settings.disclosures.max_attachment_bytes = 1024
    customer_domain(register, DOMAIN)
    with pytest.raises(ValidationFailed) as refused:
        Disclosures(register).enter(
            SAM, form((DOMAIN,), attachments=(attachment,)), DisclosureChannel.LETTER
        )
    assert why in (refused.value.for_field("attachments") or "")
    with register.read() as session:  # nothing half-written
        assert session.execute(select(DisclosureAttachment)).first() is None


def test_bad_input_names_every_field_and_why(register: Store) -> None:
    bad = form(
        ("not a domain",),
        requestor_kind="journalist",
        ground="curiosity",
        wanted_fields=("registrant password",),
        requestor_email="nobody",
    )
    with pytest.raises(ValidationFailed) as refused:
        Disclosures(register).enter(SAM, bad, DisclosureChannel.EMAIL)
    fields = {error.field for error in refused.value.errors}
    assert fields == {"domains", "requestor_kind", "ground", "wanted_fields", "requestor_email"}
    assert "'journalist' is not one of" in (refused.value.for_field("requestor_kind") or "")


def test_only_the_privacy_role_reviews_and_decides_and_never_who_entered_it(
    register: Store,
) -> None:
    reference = entered(register)
    decisions = DisclosureDecisions(register, PortalLinks(register.settings))
    with pytest.raises(Refused, match="needs the privacy role"):
        Disclosures(register).review(SAM, reference)
    with pytest.raises(Refused, match="may not decide disclosure requests"):
        decisions.decide(
            SAM,
            reference,
            DisclosureOutcome.DENIED,
            explanation="x",
            denial_reason=DenialReason.NO_GROUND,
        )
    with pytest.raises(RuleViolation, match="entered disclosure request .* cannot also decide"):
        decisions.decide(
            ANN,
            reference,
            DisclosureOutcome.DENIED,
            explanation="x",
            denial_reason=DenialReason.NO_GROUND,
        )
    with pytest.raises(RuleViolation, match="only Interlink staff"):
        decisions.decide(
            "system:job",
            reference,
            DisclosureOutcome.DENIED,
            explanation="x",
            denial_reason=DenialReason.NO_GROUND,
        )
    assert Disclosures(register).get(reference).state == DisclosureState.UNDER_REVIEW
    denied = decisions.decide(
        PIA,
        reference,
        DisclosureOutcome.DENIED,
        explanation="The order names another domain.",
        denial_reason=DenialReason.INVALID_LEGAL_PROCESS,
        now=WEDNESDAY + timedelta(hours=5),
    )
    assert denied.request.state == DisclosureState.DECIDED
    assert denied.request.decision is not None
    assert denied.request.decision.denial_reason == DenialReason.INVALID_LEGAL_PROCESS
    templates = [t for t, _, _ in notices_of(register, reference)]
    assert templates == ["disclosure_acknowledged", "disclosure_denied"]
    closed = Disclosures(register).close(PIA, reference)
    assert closed.state == DisclosureState.CLOSED


def test_a_review_is_recorded_in_the_access_trail(register: Store) -> None:
    reference = entered(register)
    review = Disclosures(register).review(PIA, reference)
    record = review.records[DOMAIN]
    with register.read() as session:
        looks = session.execute(
            select(AccessEvent.contact_handle).where(
                col(AccessEvent.purpose) == "disclosure review", col(AccessEvent.actor) == PIA
            )
        ).scalars()
        assert set(looks) == {c.handle for c in record.contacts.values()}


def test_a_decision_must_match_what_was_asked(register: Store) -> None:
    reference = entered(register)
    decisions = DisclosureDecisions(register, PortalLinks(register.settings))
    cases = [
        (DisclosureOutcome.DISCLOSED, [f"{DOMAIN} registrant name"], "outcome"),
        (DisclosureOutcome.PARTLY_DISCLOSED, [f"{DOMAIN} admin name"], "approved"),
        (DisclosureOutcome.PARTLY_DISCLOSED, ["other.com registrant name"], "approved"),
        (DisclosureOutcome.DENIED, [], "denial_reason"),
    ]
    for outcome, approved, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            decisions.decide(PIA, reference, outcome, explanation="why", approved=approved)
        assert refused.value.for_field(field), (outcome, approved)


def decide_partly(store: Store, reference: str, **extra: object) -> tuple[str, int]:
    """pia discloses the registrant's name only; the download token and the mail's id."""
    outcome = DisclosureDecisions(store, PortalLinks(store.settings)).decide(
        PIA,
        reference,
        DisclosureOutcome.PARTLY_DISCLOSED,
        explanation="The order covers the holder's name, not their address.",
        approved=[f"{DOMAIN} registrant name"],
        now=WEDNESDAY + timedelta(hours=6),
        **extra,  # type: ignore[arg-type]
    )
    [ready] = [i for i in outcome.notice_ids if i in outcome.contexts]
    return outcome.contexts[ready]["download_url"].rsplit("/", 1)[1], ready


def test_the_document_is_downloaded_once_signed_and_recorded(register: Store) -> None:
    reference = entered(register)
    token, _ = decide_partly(register, reference)
    at = WEDNESDAY + timedelta(hours=7)
    document = download(register, token, now=at)
    payload = verify_document(document.json, public_key(register.settings))
    registrant = register.domain_record(DOMAIN).contact("registrant")
    assert registrant is not None
    [domain] = payload["domains"]
    assert [(f["role"], f["field"], f["value"]) for f in domain["fields"]] == [
        ("registrant", "name", registrant.name)
    ]
    assert registrant.email not in document.json.decode() + document.text
    assert hashlib.sha256(document.json).hexdigest() == document.sha256
    view = Disclosures(register).get(reference)
    assert view.decision is not None and view.decision.document_sha256 == document.sha256
    with pytest.raises(InvalidLink, match="already been used") as second:
        download(register, token, now=at)
    assert second.value.gone
    with pytest.raises(DownloadNotFound) as forged:
        download(register, "F" * 43, now=at)
    assert isinstance(forged.value, NotFound)
    with register.read() as session:
        [row] = session.execute(select(DisclosureDownload)).scalars()
        assert row.document_sha256 == document.sha256
        looks = session.execute(
            select(AccessEvent.contact_handle, AccessEvent.actor).where(
                col(AccessEvent.purpose) == "disclosure document"
            )
        ).all()
    assert looks == [(registrant.handle, f"requestor:{reference}")]


def test_a_changed_document_fails_its_signature(register: Store) -> None:
    reference = entered(register)
    token, _ = decide_partly(register, reference)
    document = download(register, token, now=WEDNESDAY + timedelta(hours=7))
    registrant = register.domain_record(DOMAIN).contact("registrant")
    assert registrant is not None
    forged = document.json.replace(registrant.name.encode(), b"Someone Else")
    with pytest.raises(Exception, match="signature does not match"):
        verify_document(forged)


def test_an_expired_download_link_is_refused_and_a_new_one_works(register: Store) -> None:
    reference = entered(register)
    token, _ = decide_partly(register, reference)
    expired = (
        WEDNESDAY
        + timedelta(hours=6)
        + timedelta(hours=register.settings.disclosures.download_link_hours)
    )
    with pytest.raises(InvalidLink, match="expired"):
        download(register, token, now=expired)
    again = DisclosureDecisions(register, PortalLinks(register.settings)).new_download_link(
        PIA, reference, now=expired
    )
    [url] = [c["download_url"] for c in again.contexts.values()]
    assert download(register, url.rsplit("/", 1)[1], now=expired).sha256


def test_the_customer_is_told_at_once_without_a_gag(register: Store, tmp_path: Path) -> None:
    reference = entered(register)
    _, ready = decide_partly(register, reference)
    registrant = register.domain_record(DOMAIN).contact("registrant")
    assert registrant is not None
    assert ("disclosure_customer", "contact", registrant.id) in notices_of(register, reference)
    ids = [n.id or 0 for n in _notice_rows(register, reference)]
    link = {ready: {"download_url": "https://portal.example/disclosure-requests/download/T"}}
    sent = deliver(
        register, ids, link, mailer=FolderMailer(tmp_path), links=PortalLinks(register.settings)
    )
    assert {n.status for n in sent} == {"sent"}
    mails = {}
    for path in tmp_path.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        mails[str(message["Subject"]).split(" (")[0]] = message
    to_requestor = body(mails["Your request for registration data was decided"])
    assert "disclosure-requests/download/T" in to_requestor
    assert registrant.name not in to_requestor and registrant.email not in to_requestor
    to_customer = mails["We disclosed some of your registration data"]
    assert to_customer["To"].addresses[0].addr_spec == registrant.email
    assert f"{DOMAIN}, registrant: Name" in body(to_customer)
    assert "E-mail" not in body(to_customer)  # only what was disclosed is listed


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def _notice_rows(store: Store, reference: str) -> list[Notice]:
    with store.read() as session:
        return list(
            session.execute(select(Notice).where(col(Notice.subject_ref) == reference)).scalars()
        )


def test_a_gag_holds_the_customer_notice_until_its_date(register: Store) -> None:
    reference = entered(register)
    until = WEDNESDAY + timedelta(days=90)
    decide_partly(
        register, reference, gag_reason=GagReason.CRIMINAL_INVESTIGATION, notify_after=until
    )
    templates = [t for t, _, _ in notices_of(register, reference)]
    assert "disclosure_customer" not in templates
    decisions = DisclosureDecisions(register)
    assert decisions.notify_due(now=until - timedelta(seconds=1)) == ()
    [queued] = decisions.notify_due(now=until)
    assert decisions.notify_due(now=until + timedelta(days=1)) == ()
    registrant = register.domain_record(DOMAIN).contact("registrant")
    assert registrant is not None
    assert notices_of(register, reference)[-1] == ("disclosure_customer", "contact", registrant.id)
    view = Disclosures(register).get(reference)
    assert view.decision is not None and view.decision.customers_notified_at == until
    assert queued


def test_a_gag_without_a_date_holds_the_notice(register: Store) -> None:
    reference = entered(register)
    decide_partly(register, reference, gag_reason=GagReason.COURT_ORDER)
    assert DisclosureDecisions(register).notify_due(now=WEDNESDAY + timedelta(days=3650)) == ()


def test_the_acknowledgement_renders(register: Store, tmp_path: Path) -> None:
    customer_domain(register, DOMAIN)
    outcome = Disclosures(register).enter(
        SAM,
        replace(form((DOMAIN,)), urgency=UrgencyCategory.CHILD_EXPLOITATION),
        DisclosureChannel.EMAIL,
        now=WEDNESDAY,
    )
    sent = notice_delivery.deliver(
        register,
        outcome.notice_ids,
        mailer=FolderMailer(tmp_path),
        links=PortalLinks(register.settings),
    )
    assert [n.status for n in sent] == ["sent"]
    [eml] = tmp_path.glob("*.eml")
    text = eml.read_text()
    assert outcome.request.reference in text and "urgent" in text
