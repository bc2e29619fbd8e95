"""The register's listing on SQLite and PostgreSQL: open requests by their next deadline, decided
and closed ones the most recently finished first, states checked, the limit kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosures import Disclosures
from domains.errors import ValidationFailed
from domains.store import Store
from domains.vocabulary import (
    DenialReason,
    DisclosureChannel,
    DisclosureOutcome,
    DisclosureState,
    UrgencyCategory,
)
from portal.links import PortalLinks
from tests.support.disclosures import WEDNESDAY, customer_domain, form, german
from tests.support.staff import PRIVACY

ANN, PIA = "staff:ann", f"staff:{PRIVACY}"
DOMAIN = "harbour-kites.com"
HOUR = timedelta(hours=1)


def decided(store: Store, at_hours: int, outcome: str = DisclosureOutcome.DENIED) -> str:
    """A request by e-mail entered at WEDNESDAY, decided `at_hours` later."""
    reference = (
        Disclosures(store)
        .enter(ANN, form((DOMAIN,)), DisclosureChannel.EMAIL, now=WEDNESDAY)
        .request.reference
    )
    at = WEDNESDAY + at_hours * HOUR
    Disclosures(store).review(PIA, reference, now=at)
    denied = outcome == DisclosureOutcome.DENIED
    DisclosureDecisions(store, PortalLinks(store.settings)).decide(
        PIA,
        reference,
        outcome,
        explanation="checked",
        approved=() if denied else (f"{DOMAIN} registrant name",),
        denial_reason=DenialReason.NO_GROUND if denied else None,
        now=at,
    )
    return reference


@pytest.fixture
def seeded(store: Store) -> tuple[Store, dict[str, str]]:
    """A letter (acknowledge within two business days), an urgent call (answer within 24
    hours), two decided requests and a closed one."""
    store.settings = german(store.settings)
    customer_domain(store, DOMAIN)
    register = Disclosures(store)
    letter = register.enter(
        ANN, form((DOMAIN,), requestor_email=None), DisclosureChannel.LETTER, now=WEDNESDAY
    )
    call = register.enter(
        ANN,
        form((DOMAIN,), requestor_email=None, urgency=UrgencyCategory.THREAT_TO_LIFE),
        DisclosureChannel.PHONE,
        now=WEDNESDAY + HOUR,
    )
    refs = {
        "letter": letter.request.reference,
        "call": call.request.reference,
        "denied": decided(store, 2),
        "closed": decided(store, 3, DisclosureOutcome.PARTLY_DISCLOSED),
        "partly": decided(store, 4, DisclosureOutcome.PARTLY_DISCLOSED),
    }
    register.close(PIA, refs["closed"], now=WEDNESDAY + 5 * HOUR)
    return store, refs


def test_open_requests_by_their_next_deadline_by_default(
    seeded: tuple[Store, dict[str, str]],
) -> None:
    store, refs = seeded
    now = WEDNESDAY + 30 * HOUR  # the call's 24 hours are over
    items = Disclosures(store).listing(now=now)
    assert [i.reference for i in items] == [refs["call"], refs["letter"]]
    call, letter = items
    assert call.answer_overdue and call.overdue
    due = Disclosures(store).due(now=now)  # the same deadlines as the queue of what is due
    assert [(i.next_deadline, i.next_step, i.overdue) for i in items] == [
        (d.next_deadline, d.next_step, d.overdue) for d in due
    ]
    assert call.urgency == UrgencyCategory.THREAT_TO_LIFE
    assert letter.next_step == "acknowledge" and not letter.overdue
    assert letter.state == DisclosureState.RECEIVED and letter.outcome is None
    assert letter.next_deadline is not None and letter.next_deadline.tzinfo is not None


def test_decided_and_closed_ones_the_most_recently_finished_first(
    seeded: tuple[Store, dict[str, str]],
) -> None:
    store, refs = seeded
    finished = [DisclosureState.DECIDED, DisclosureState.CLOSED]
    items = Disclosures(store).listing(states=finished, now=WEDNESDAY + 6 * HOUR)
    assert [i.reference for i in items] == [refs["closed"], refs["partly"], refs["denied"]]
    closed, partly, denied = items
    assert closed.state == DisclosureState.CLOSED and closed.finished_at == WEDNESDAY + 5 * HOUR
    assert partly.outcome == DisclosureOutcome.PARTLY_DISCLOSED
    assert denied.outcome == DisclosureOutcome.DENIED
    assert denied.finished_at == WEDNESDAY + 2 * HOUR
    assert all(i.next_deadline is None and not i.overdue for i in items)


def test_every_state_open_first_within_the_limit(seeded: tuple[Store, dict[str, str]]) -> None:
    store, refs = seeded
    register = Disclosures(store)
    every = register.listing(states=list(DisclosureState), now=WEDNESDAY + 6 * HOUR)
    assert [i.reference for i in every] == [
        refs["call"],
        refs["letter"],
        refs["closed"],
        refs["partly"],
        refs["denied"],
    ]
    three = register.listing(states=list(DisclosureState), limit=3, now=WEDNESDAY + 6 * HOUR)
    assert [i.reference for i in three] == [refs["call"], refs["letter"], refs["closed"]]
    assert register.listing(states=[DisclosureState.UNDER_REVIEW]) == []


def test_an_unknown_state_is_refused(seeded: tuple[Store, dict[str, str]]) -> None:
    store, _ = seeded
    with pytest.raises(ValidationFailed, match="states"):
        Disclosures(store).listing(states=["lost"])
