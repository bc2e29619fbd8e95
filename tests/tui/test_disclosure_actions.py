"""The request screen's actions at 80x24, each in the palette: acknowledge a letter, close a
decided request, a new download link (the old one revoked, the new one mailed), an attachment
saved to a typed path and never over a file already there."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlmodel import col
from textual.widgets import Input, Static

from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosure_models import DisclosureDownloadToken
from domains.disclosures import Disclosures
from domains.store import Store
from domains.vocabulary import DisclosureChannel, DisclosureOutcome, DisclosureState
from portal.links import PortalLinks
from tests.support.disclosures import PDF, customer_domain, form
from tests.support.pilot import make_app, palette_titles, settle, text_of, wait_for
from tests.support.staff import PRIVACY, SUPPORT
from tui.dialogs.confirm import ConfirmDialog
from tui.dialogs.save_attachment import SaveAttachmentDialog
from tui.screens.disclosure_detail import DisclosureDetailScreen

DOMAIN = "harbour-kites.com"
PIA, SAM = f"staff:{PRIVACY}", f"staff:{SUPPORT}"


def entered(store: Store, **overrides: object) -> str:
    customer_domain(store, DOMAIN)
    channel = overrides.pop("channel", DisclosureChannel.EMAIL)
    outcome = Disclosures(store).enter("staff:ann", form((DOMAIN,), **overrides), channel)
    return outcome.request.reference


def decided(store: Store) -> str:
    """A request partly disclosed by pia (its first download link mailed)."""
    reference = entered(store)
    Disclosures(store).review(PIA, reference)
    DisclosureDecisions(store, PortalLinks(store.settings)).decide(
        PIA,
        reference,
        DisclosureOutcome.PARTLY_DISCLOSED,
        explanation="the name only",
        approved=(f"{DOMAIN} registrant name",),
    )
    return reference


async def opened(pilot, reference: str, state: str) -> None:
    app = pilot.app
    await app.push_screen(DisclosureDetailScreen(reference))
    facts = app.screen.query_one("#disclosure-facts", Static)
    await wait_for(pilot, lambda: f"State: {state}" in text_of(facts), what=state)


async def confirm(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(app.screen, DisclosureDetailScreen), what="back")
    await settle(pilot)


async def test_support_staff_record_that_a_letter_was_acknowledged(demo_store: Store) -> None:
    reference = entered(demo_store, requestor_email=None, channel=DisclosureChannel.LETTER)
    app = make_app(demo_store, SAM)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, reference, DisclosureState.RECEIVED)
        titles = palette_titles(app)
        assert "Disclosure: Acknowledged" in titles and "Disclosure: Save file" in titles
        assert "Disclosure: Close" not in titles and "Disclosure: New link" not in titles
        await pilot.press("a")
        await confirm(pilot)
        facts = app.screen.query_one("#disclosure-facts", Static)
        await wait_for(pilot, lambda: "State: acknowledged" in text_of(facts), what="shown")
    assert Disclosures(demo_store).get(reference).acknowledged_at is not None


async def test_a_new_download_link_revokes_the_old_and_is_mailed_then_close(
    demo_store: Store,
) -> None:
    reference = decided(demo_store)
    outbox = demo_store.settings.outbox_dir()
    before = len(list(outbox.glob("*.eml")))
    app = make_app(demo_store, PIA)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, reference, DisclosureState.DECIDED)
        titles = palette_titles(app)
        assert "Disclosure: New link" in titles and "Disclosure: Close" in titles
        await pilot.press("l")
        await confirm(pilot)
        await wait_for(pilot, lambda: len(list(outbox.glob("*.eml"))) == before + 1, what="mail")
        await pilot.press("c")
        await confirm(pilot)
        facts = app.screen.query_one("#disclosure-facts", Static)
        await wait_for(pilot, lambda: "State: closed" in text_of(facts), what="closed")
    with demo_store.read() as session:
        links = list(
            session.execute(
                select(DisclosureDownloadToken).order_by(col(DisclosureDownloadToken.id))
            ).scalars()
        )
    assert len(links) == 2 and all(link.revoked_at is not None for link in links)
    assert Disclosures(demo_store).get(reference).state == DisclosureState.CLOSED


async def test_an_attachment_is_saved_to_a_new_file_and_never_overwrites(
    demo_store: Store, tmp_path: Path
) -> None:
    reference = entered(demo_store)
    target = tmp_path / "saved" / "order.pdf"
    target.parent.mkdir()
    app = make_app(demo_store, SAM)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot, reference, DisclosureState.ACKNOWLEDGED)
        await pilot.press("s")
        dialog = await wait_for(
            pilot, lambda: app.screen if isinstance(app.screen, SaveAttachmentDialog) else None
        )
        dialog.query_one("#f-path", Input).value = str(target)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DisclosureDetailScreen), what="saved")
        assert target.read_bytes() == PDF
        target.write_bytes(b"kept")
        await pilot.press("s")
        dialog = await wait_for(
            pilot, lambda: app.screen if isinstance(app.screen, SaveAttachmentDialog) else None
        )
        dialog.query_one("#f-path", Input).value = str(target)
        await pilot.press("ctrl+s")
        error = dialog.query_one("#e-path", Static)
        await wait_for(pilot, lambda: error.display, what="the refusal")
        assert "not overwritten" in text_of(error)
    assert target.read_bytes() == b"kept"
