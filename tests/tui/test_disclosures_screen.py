"""Disclosures at 80x24: the queue by deadline with overdue rows in red and filters, a request
with its attachments' SHA-256 and the fields public beside disclosed (privacy role only), staff
entry of a request that came by phone; markup in every field shown as typed."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import DataTable, Input, Select, Static

from domains.disclosure_decisions import DisclosureDecisions
from domains.disclosures import Disclosures
from domains.models import utcnow
from domains.store import Store
from domains.vocabulary import (
    DenialReason,
    DisclosureChannel,
    DisclosureOutcome,
    DisclosureState,
    UrgencyCategory,
)
from portal.links import PortalLinks
from tests.support.disclosures import customer_domain, form
from tests.support.pilot import (
    column,
    make_app,
    palette_titles,
    rows,
    settle,
    text_of,
    wait_for,
)
from tests.support.staff import PRIVACY, SUPPORT
from tui.dialogs.enter_disclosure import EnterDisclosureDialog
from tui.screens.disclosure_detail import DisclosureDetailScreen
from tui.screens.disclosures import DisclosuresScreen

DOMAIN = "harbour-kites.com"
MARKUP = "[red]Mara[/red] [link=https://evil.example]Voss[/link] [b]"


def seeded(store: Store) -> tuple[str, str]:
    """A regular letter (no e-mail: not acknowledged yet) entered now, and an urgent call
    entered two days ago (overdue)."""
    customer_domain(store, DOMAIN)
    register = Disclosures(store)
    regular = register.enter(
        "staff:ann",
        form((DOMAIN,), requestor_name=MARKUP, legal_basis=MARKUP, requestor_email=None),
        DisclosureChannel.LETTER,
    )
    urgent = register.enter(
        "staff:ann",
        form((DOMAIN,), urgency=UrgencyCategory.THREAT_TO_LIFE),
        DisclosureChannel.PHONE,
        now=utcnow() - timedelta(days=2),
    )
    return regular.request.reference, urgent.request.reference


async def open_queue(pilot) -> DataTable:
    app = pilot.app
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(app.screen, DisclosuresScreen), what="Disclosures")
    await settle(pilot)
    return app.screen.query_one("#disclosures", DataTable)


async def test_the_queue_is_by_deadline_with_overdue_in_red_and_filters(
    demo_store: Store,
) -> None:
    regular, urgent = seeded(demo_store)
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_queue(pilot)
        assert [row[0] for row in rows(table)] == [urgent, regular]
        late = table.get_row_at(0)
        assert "late" in str(late[1]) and all("red" in str(c.style) for c in late)
        assert not any("red" in str(c.style) for c in table.get_row_at(1))
        assert "1 overdue" in text_of(app.screen.query_one("#disclosures-status", Static))
        app.screen.query_one("#d-urgency", Select).value = "urgent"
        await wait_for(pilot, lambda: table.row_count == 1, what="the urgent one only")
        assert str(table.get_row_at(0)[0]) == urgent
        app.screen.query_one("#d-urgency", Select).value = "all"
        app.screen.query_one("#d-state", Select).value = DisclosureState.RECEIVED
        await wait_for(pilot, lambda: table.row_count == 1, what="the letter, not acknowledged")
        assert str(table.get_row_at(0)[0]) == regular
        titles = palette_titles(app)
        assert "Disclosures" in titles and "Disclosures: New request" in titles


async def test_the_privacy_role_sees_public_beside_disclosed_and_markup_as_typed(
    demo_store: Store,
) -> None:
    regular, _ = seeded(demo_store)
    app = make_app(demo_store, f"staff:{PRIVACY}")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(DisclosureDetailScreen(regular))
        facts = app.screen.query_one("#disclosure-facts", Static)
        await wait_for(pilot, lambda: regular in text_of(facts), what="the request")
        shown = facts.render()
        plain = text_of(facts)
        assert MARKUP in plain  # as typed, never read as markup
        assert all("evil" not in repr(span) for span in getattr(shown, "spans", []))
        assert "SHA-256 " in plain and "order.pdf" in plain
        table = app.screen.query_one("#disclosure-fields", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="the wanted fields")
        lines = {row[1]: row for row in rows(table)}
        assert lines["registrant name"][2] == "redacted"
        assert "@" in lines["registrant email"][3]  # the stored address, to be disclosed
    assert Disclosures(demo_store).get(regular).state == DisclosureState.UNDER_REVIEW


async def test_support_staff_see_the_request_but_no_customer_data(demo_store: Store) -> None:
    regular, _ = seeded(demo_store)
    app = make_app(demo_store, f"staff:{SUPPORT}")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(DisclosureDetailScreen(regular))
        facts = app.screen.query_one("#disclosure-facts", Static)
        await wait_for(pilot, lambda: regular in text_of(facts), what="the request")
        assert app.screen.query_one("#disclosure-fields", DataTable).row_count == 0
        title = text_of(app.screen.query_one("#disclosure-fields-title", Static))
        assert "privacy role only" in title
    assert Disclosures(demo_store).get(regular).state == DisclosureState.RECEIVED


async def test_staff_enter_a_request_that_came_by_phone(demo_store: Store) -> None:
    customer_domain(demo_store, DOMAIN)
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_queue(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, EnterDisclosureDialog))
        dialog = app.screen
        dialog.query_one("#f-channel", Select).value = DisclosureChannel.PHONE
        dialog.query_one("#f-requestor_name", Input).value = MARKUP
        dialog.query_one("#f-jurisdiction", Input).value = "GB"
        dialog.query_one("#f-domains", Input).value = f"{DOMAIN} [b]bad"
        dialog.query_one("#f-wanted_fields", Input).value = "registrant email"
        dialog.query_one("#f-legal_basis", Input).value = "Court order of 1 May"
        await pilot.press("ctrl+s")
        error = dialog.query_one("#e-domains", Static)
        await wait_for(pilot, lambda: error.display, what="the domain refused")
        assert "[b]bad" in text_of(error) or "bad" in text_of(error)
        dialog.query_one("#f-domains", Input).value = DOMAIN
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, DisclosuresScreen), what="closed")
        table = app.screen.query_one("#disclosures", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1, what="the new request queued")
        [reference] = [row[0] for row in rows(table)]
    view = Disclosures(demo_store).get(reference)
    assert view.channel == DisclosureChannel.PHONE and view.requestor_name == MARKUP
    assert view.entered_by == "staff:ann"


async def test_decided_and_closed_requests_are_behind_the_state_filter(
    demo_store: Store,
) -> None:
    regular, urgent = seeded(demo_store)
    pia = f"staff:{PRIVACY}"
    Disclosures(demo_store).review(pia, urgent)
    DisclosureDecisions(demo_store, PortalLinks(demo_store.settings)).decide(
        pia,
        urgent,
        DisclosureOutcome.DENIED,
        explanation="no order",
        denial_reason=DenialReason.INVALID_LEGAL_PROCESS,
    )
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_queue(pilot)
        assert [row[0] for row in rows(table)] == [regular]
        app.screen.query_one("#d-state", Select).value = DisclosureState.DECIDED
        await wait_for(pilot, lambda: column(table) == [urgent], what="the decided one only")
        [line] = rows(table)
        assert line[2] == DisclosureOutcome.DENIED and line[3] == DisclosureState.DECIDED
        app.screen.query_one("#d-state", Select).value = "all"
        await wait_for(pilot, lambda: column(table) == [regular, urgent], what="open, then done")
        status = text_of(app.screen.query_one("#disclosures-status", Static))
        assert "1 open request(s)" in status and "1 decided or closed" in status
