"""The decision form at 80x24: a partial disclosure of two ticked fields (its mails sent), a
denial that needs its reason, the four-eyes and role refusals, markup shown as typed."""

from __future__ import annotations

import email
import email.policy

from textual.widgets import Checkbox, Input, Select, Static

from domains.disclosures import Disclosures
from domains.store import Store
from domains.vocabulary import DenialReason, DisclosureChannel, DisclosureOutcome, DisclosureState
from tests.support.disclosures import customer_domain, form
from tests.support.pilot import make_app, palette_titles, settle, text_of, wait_for
from tests.support.staff import PRIVACY, SUPPORT
from tui.dialogs.decide_disclosure import DecideDisclosureDialog
from tui.screens.disclosure_detail import DisclosureDetailScreen

DOMAINS = ("harbour-kites.com", "quay-lanterns.net")
MARKUP = "[red]Mara[/red] [link=https://evil.example]Voss[/link] [b]"
PIA = f"staff:{PRIVACY}"


def entered(store: Store, actor: str = "staff:ann", **overrides: object) -> str:
    """A request by e-mail for two domains of ours, registrant name and e-mail of each."""
    for name in DOMAINS:
        customer_domain(store, name)
    outcome = Disclosures(store).enter(
        actor, form(DOMAINS, requestor_name=MARKUP, **overrides), DisclosureChannel.EMAIL
    )
    return outcome.request.reference


def subjects(store: Store) -> list[str]:
    found = []
    for path in sorted(store.settings.outbox_dir().glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found.append(str(message["Subject"]))
    return found


async def open_dialog(pilot, reference: str) -> DecideDisclosureDialog:
    app = pilot.app
    await app.push_screen(DisclosureDetailScreen(reference))
    facts = app.screen.query_one("#disclosure-facts", Static)
    await wait_for(pilot, lambda: "under review" in text_of(facts), what="the review")
    assert "Disclosure: Decide" in palette_titles(app)
    await pilot.press("d")
    return await wait_for(
        pilot,
        lambda: app.screen if isinstance(app.screen, DecideDisclosureDialog) else None,
        what="the decision form",
    )


def box(dialog: DecideDisclosureDialog, triple: str) -> Checkbox:
    return dialog.boxes()[dialog.triples.index(triple)]


async def test_a_partial_disclosure_of_two_ticked_fields_is_decided_and_mailed(
    demo_store: Store,
) -> None:
    reference = entered(demo_store)
    before = len(subjects(demo_store))
    app = make_app(demo_store, PIA)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot, reference)
        assert len(dialog.triples) == 4
        assert MARKUP in text_of(dialog.query_one("#decide-request", Static))
        box(dialog, f"{DOMAINS[0]} registrant name").value = True
        box(dialog, f"{DOMAINS[1]} registrant email").value = True
        dialog.query_one("#f-explanation", Input).value = f"order checked {MARKUP}"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DisclosureDetailScreen), what="done")
        facts = app.screen.query_one("#disclosure-facts", Static)
        await wait_for(pilot, lambda: "partly disclosed" in text_of(facts), what="the decision")
        assert f"order checked {MARKUP}" in text_of(facts)
        await settle(pilot)
    view = Disclosures(demo_store).get(reference)
    assert view.state == DisclosureState.DECIDED and view.decision is not None
    assert view.decision.outcome == DisclosureOutcome.PARTLY_DISCLOSED
    assert set(view.decision.approved_fields) == {
        f"{DOMAINS[0]} registrant name",
        f"{DOMAINS[1]} registrant email",
    }
    sent = subjects(demo_store)[before:]
    assert any(s.startswith("Your request for registration data was decided") for s in sent)
    assert sum(s.startswith("We disclosed some of your registration data") for s in sent) == 2


async def test_disclosed_ticks_every_field_and_a_denial_needs_its_reason(
    demo_store: Store,
) -> None:
    reference = entered(demo_store)
    app = make_app(demo_store, PIA)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot, reference)
        outcome = dialog.query_one("#f-outcome", Select)
        outcome.value = DisclosureOutcome.DISCLOSED
        await wait_for(pilot, lambda: all(b.value for b in dialog.boxes()), what="all ticked")
        outcome.value = DisclosureOutcome.DENIED
        await wait_for(pilot, lambda: not any(b.value for b in dialog.boxes()), what="none")
        dialog.query_one("#f-explanation", Input).value = "no court order attached"
        await pilot.press("ctrl+s")
        error = dialog.query_one("#e-denial_reason", Static)
        await wait_for(pilot, lambda: error.display, what="the reason asked for")
        assert "a denial needs a reason" in text_of(error)
        assert "Denied because" in text_of(dialog.query_one("#e-form", Static))
        assert app.screen is dialog
        dialog.query_one("#f-denial_reason", Select).value = DenialReason.INVALID_LEGAL_PROCESS
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DisclosureDetailScreen), what="done")
        await settle(pilot)
    view = Disclosures(demo_store).get(reference)
    assert view.decision is not None and view.decision.outcome == DisclosureOutcome.DENIED
    assert view.decision.denial_reason == DenialReason.INVALID_LEGAL_PROCESS
    assert view.decision.approved_fields == ()


async def test_who_entered_the_request_cannot_decide_it(demo_store: Store) -> None:
    reference = entered(demo_store, actor=PIA)
    app = make_app(demo_store, PIA)
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog(pilot, reference)
        dialog.query_one("#f-outcome", Select).value = DisclosureOutcome.DISCLOSED
        dialog.query_one("#f-explanation", Input).value = "fine"
        dialog.query_one("#f-notify_after", Input).value = "[b]soon"
        await pilot.press("ctrl+s")
        error = dialog.query_one("#e-notify_after", Static)
        await wait_for(pilot, lambda: error.display, what="the date refused")
        assert "'[b]soon' is not a date" in text_of(error)  # as typed, not read as markup
        dialog.query_one("#f-notify_after", Input).value = ""
        await pilot.press("ctrl+s")
        summary = dialog.query_one("#e-form", Static)
        await wait_for(pilot, lambda: "cannot also decide" in text_of(summary), what="refusal")
        assert "another member of staff with the privacy role must" in text_of(summary)
        assert not error.display
    assert Disclosures(demo_store).get(reference).state == DisclosureState.UNDER_REVIEW


async def test_support_staff_are_offered_no_decision_and_refused_one(demo_store: Store) -> None:
    reference = entered(demo_store)
    Disclosures(demo_store).review(PIA, reference)
    view = Disclosures(demo_store).get(reference)
    app = make_app(demo_store, f"staff:{SUPPORT}")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(DisclosureDetailScreen(reference))
        await settle(pilot)
        assert "Disclosure: Decide" not in palette_titles(app)
        dialog = DecideDisclosureDialog(view, DOMAINS)
        await app.push_screen(dialog)
        dialog.query_one("#f-outcome", Select).value = DisclosureOutcome.DISCLOSED
        dialog.query_one("#f-explanation", Input).value = "fine"
        await pilot.press("ctrl+s")
        summary = dialog.query_one("#e-form", Static)
        await wait_for(pilot, lambda: "needs the privacy role" in text_of(summary), what="refusal")
    assert Disclosures(demo_store).get(reference).state == DisclosureState.UNDER_REVIEW
