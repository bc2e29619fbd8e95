"""Looking up the mailed links of disclosure requests (e-mail verification, download) by their
token's hash: unknown, usable, used or expired, and the look changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosure_models import DisclosureDownload, DisclosureDownloadToken
from domains.disclosures import Disclosures
from domains.errors import ValidationFailed
from domains.models import AccessEvent, AuditEvent
from domains.store import Store
from domains.vocabulary import (
    DisclosureChannel,
    DisclosureLinkState,
    DisclosureOutcome,
    DisclosureState,
)
from portal.links import PortalLinks
from publishers.disclosure_document import download
from tests.support.disclosures import WEDNESDAY, customer_domain, form, german
from tests.support.staff import PRIVACY

ANN, PIA = "staff:ann", f"staff:{PRIVACY}"
DOMAIN = "harbour-kites.com"
FORGED = "x" * 43


@pytest.fixture
def register(store: Store) -> Store:
    store.settings = german(store.settings)
    customer_domain(store, DOMAIN)
    return store


def trail(store: Store) -> tuple[int, int, int]:
    """How many audit events, access events and downloads the store holds."""
    with store.read() as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (AuditEvent, AccessEvent, DisclosureDownload)
        )


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_verification_link_is_usable_then_used_and_looking_changes_nothing(
    register: Store,
) -> None:
    disclosures = Disclosures(register, PortalLinks(register.settings))
    submitted = disclosures.submit(form((DOMAIN,)), now=WEDNESDAY)
    [context] = submitted.contexts.values()
    token = token_of(context["verify_url"])
    before = trail(register)

    assert disclosures.verification_state(token, now=WEDNESDAY) == DisclosureLinkState.USABLE
    assert disclosures.verification_state(FORGED, now=WEDNESDAY) == DisclosureLinkState.UNKNOWN
    assert disclosures.verification_state("short", now=WEDNESDAY) == DisclosureLinkState.UNKNOWN
    assert trail(register) == before
    assert disclosures.get(submitted.request.reference).state == DisclosureState.UNVERIFIED

    disclosures.verify_email(token, now=WEDNESDAY + timedelta(hours=1))
    later = WEDNESDAY + timedelta(hours=2)
    assert disclosures.verification_state(token, now=later) == DisclosureLinkState.USED


def test_a_verification_link_expires_at_its_hour(register: Store) -> None:
    disclosures = Disclosures(register, PortalLinks(register.settings))
    submitted = disclosures.submit(form((DOMAIN,)), now=WEDNESDAY)
    [context] = submitted.contexts.values()
    token = token_of(context["verify_url"])
    hours = timedelta(hours=register.settings.disclosures.verify_link_hours)
    last = WEDNESDAY + hours - timedelta(seconds=1)
    assert disclosures.verification_state(token, now=last) == DisclosureLinkState.USABLE
    at = WEDNESDAY + hours
    assert disclosures.verification_state(token, now=at) == DisclosureLinkState.EXPIRED


def decided(store: Store) -> tuple[str, str]:
    """A request entered by ann, partly disclosed by pia; (its reference, the download token)."""
    reference = (
        Disclosures(store)
        .enter(ANN, form((DOMAIN,)), DisclosureChannel.EMAIL, now=WEDNESDAY)
        .request.reference
    )
    Disclosures(store).review(PIA, reference, now=WEDNESDAY)
    outcome = DisclosureDecisions(store, PortalLinks(store.settings)).decide(
        PIA,
        reference,
        DisclosureOutcome.PARTLY_DISCLOSED,
        explanation="The order covers the holder's name only.",
        approved=[f"{DOMAIN} registrant name"],
        now=WEDNESDAY + timedelta(hours=1),
    )
    [url] = [c["download_url"] for c in outcome.contexts.values()]
    return reference, token_of(url)


def test_a_download_link_is_usable_then_used_and_looking_records_nothing(
    register: Store,
) -> None:
    _, token = decided(register)
    decisions = DisclosureDecisions(register)
    at = WEDNESDAY + timedelta(hours=2)
    before = trail(register)

    assert decisions.download_state(token, now=at) == DisclosureLinkState.USABLE
    assert decisions.download_state(token, now=at) == DisclosureLinkState.USABLE
    assert decisions.download_state(FORGED, now=at) == DisclosureLinkState.UNKNOWN
    assert decisions.download_state("", now=at) == DisclosureLinkState.UNKNOWN
    assert trail(register) == before
    with register.read() as session:
        [link] = session.execute(select(DisclosureDownloadToken)).scalars()
        assert link.used_at is None

    download(register, token, now=at)
    assert decisions.download_state(token, now=at) == DisclosureLinkState.USED


def test_a_download_link_expires_at_its_hour_or_when_revoked(register: Store) -> None:
    reference, token = decided(register)
    decisions = DisclosureDecisions(register)
    made = WEDNESDAY + timedelta(hours=1)
    hours = timedelta(hours=register.settings.disclosures.download_link_hours)
    last = made + hours - timedelta(seconds=1)
    assert decisions.download_state(token, now=last) == DisclosureLinkState.USABLE
    assert decisions.download_state(token, now=made + hours) == DisclosureLinkState.EXPIRED

    Disclosures(register).close(PIA, reference, now=made)  # revokes the link
    assert decisions.download_state(token, now=made) == DisclosureLinkState.EXPIRED


def test_the_lookups_want_an_aware_clock(register: Store) -> None:
    naive = WEDNESDAY.replace(tzinfo=None)
    with pytest.raises(ValidationFailed):
        Disclosures(register).verification_state(FORGED, now=naive)
    with pytest.raises(ValidationFailed):
        DisclosureDecisions(register).download_state(FORGED, now=naive)
