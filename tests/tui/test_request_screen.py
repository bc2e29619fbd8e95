"""The Request screen at 80x24: approving asks first, and the screen follows the sync worker."""

from __future__ import annotations

from textual.widgets import Static

from domains.changes import Workflow
from tests.support.factories import NEW_TECH, confirmed_request
from tests.support.pilot import ACTOR, drawn, settle, shows_whole, text_of, wait_for
from tui.dialogs.confirm import ConfirmDialog
from tui.screens.audit_event import AuditEventScreen
from tui.screens.request_detail import RequestDetailScreen
from tui.widgets.fitted_table import FittedTable

DOMAIN = "harbourside-bikes.com"


async def show_request(pilot, reference: str) -> RequestDetailScreen:
    """Open the Request screen of `reference` (as the Requests and Domain screens do)."""
    screen = RequestDetailScreen(reference)
    pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: pilot.app.screen is screen and screen.details, what=reference)
    await settle(pilot)  # the live NS look-up too (it fails fast: nothing listens)
    return screen


def summary(screen: RequestDetailScreen) -> str:
    return text_of(screen.query_one("#request-summary", Static))


def card_title(screen: RequestDetailScreen, card: str) -> str:
    return text_of(screen.query_one(f"#{card}", Static)).splitlines()[0]


async def test_approve_asks_first_naming_the_domain_and_the_new_contact(app, demo_store):
    reference = confirmed_request(demo_store, DOMAIN)
    old_tech = demo_store.domain_record(DOMAIN).contact("tech")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_request(pilot, reference)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        dialog = app.screen
        asked = text_of(dialog.query_one("#confirm-question", Static))
        facts = " ".join(drawn(dialog.query_one("#confirm-text", Static)).split())
        assert reference in asked
        assert DOMAIN in facts
        assert NEW_TECH["org"] in facts and NEW_TECH["name"] in facts
        assert old_tech.handle in facts  # the contact that goes
        # The whole question is on the 80x24 screen, Yes and No with it.
        for widget in (dialog.query_one("#confirm-box"), dialog.query_one("#yes")):
            assert dialog.region.contains_region(widget.region), widget

        await pilot.press("escape")  # Escape: nothing happens
        await wait_for(pilot, lambda: app.screen is screen)
        await settle(pilot)
        assert Workflow(demo_store).get(reference).state == "confirmed"
        assert "is confirmed" in summary(screen)

        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")  # the focus is on No: Enter does not approve
        await wait_for(pilot, lambda: app.screen is screen)
        await settle(pilot)
        assert Workflow(demo_store).get(reference).state == "confirmed"

        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")  # Yes: approved and applied as before
        await wait_for(pilot, lambda: "is applied" in summary(screen), what="applied on screen")

    request = Workflow(demo_store).get(reference)
    assert (request.state, request.decided_by) == ("applied", ACTOR)
    assert demo_store.domain_record(DOMAIN).contact("tech").org == NEW_TECH["org"]


async def test_the_screen_follows_the_request_until_the_sync_completes_it(
    app, demo_store, monkeypatch
):
    monkeypatch.setattr(RequestDetailScreen, "FOLLOW_SECONDS", 0.05, raising=False)
    reference = confirmed_request(demo_store, DOMAIN)
    old_tech = demo_store.domain_record(DOMAIN).contact("tech")
    Workflow(demo_store).approve_and_apply(actor="staff:bob", reference=reference)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_request(pilot, reference)
        assert "is applied" in summary(screen)
        assert card_title(screen, "current-tech") == "Previous technical contact"
        assert screen.following

        # The sync worker hears from the registry and completes the request.
        Workflow(demo_store).mark_completed(reference=reference, actor="system:sync")
        await wait_for(pilot, lambda: "is completed" in summary(screen), what="completed")

        assert card_title(screen, "current-tech") == "Previous technical contact"
        assert card_title(screen, "proposed-tech") == "Technical contact"
        assert old_tech.handle in text_of(screen.query_one("#current-tech", Static))
        assert NEW_TECH["org"] in text_of(screen.query_one("#proposed-tech", Static))
        assert not screen.following  # a completed request does not move again


async def test_a_hidden_screen_does_not_follow_and_catches_up_when_shown(
    app, demo_store, monkeypatch
):
    monkeypatch.setattr(RequestDetailScreen, "FOLLOW_SECONDS", 0.05, raising=False)
    reference = confirmed_request(demo_store, DOMAIN)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_request(pilot, reference)
        assert screen.following
        assert card_title(screen, "current-tech") == "Current technical contact"
        await pilot.press("x")  # the reason dialog covers the screen
        await wait_for(pilot, lambda: app.screen is not screen)
        assert not screen.following
        # A colleague approves meanwhile.
        Workflow(demo_store).approve_and_apply(actor="staff:bob", reference=reference)
        await pilot.press("escape")
        await wait_for(pilot, lambda: "is applied" in summary(screen), what="applied")
        assert card_title(screen, "current-tech") == "Previous technical contact"
        assert screen.following  # applied is not final: the sync has still to say


async def test_long_values_are_wrapped_or_shown_in_full_at_80x24(app, demo_store):
    long_email = "network-operations-centre-hamburg@northwind-hosting-gmbh.example.net"
    long_org = "Northwind Hosting und Rechenzentrumsbetrieb GmbH & Co. KG, Niederlassung Nord"
    # The longest login there may be (63 characters), of a member of staff who may approve.
    login = "maximiliane.featherstonehaugh-worthington.interlink-example-net"
    demo_store.staff.add("staff:ada", login, "Maximiliane Featherstonehaugh", ["supervisor"])
    colleague = f"staff:{login}"
    flow = Workflow(demo_store)
    outcome = flow.submit(
        actor="customer:portal",
        domain_name=DOMAIN,
        proposal={**NEW_TECH, "email": long_email, "org": long_org},
        channel="portal",
    )
    flow.confirm(token=outcome.token)
    reference = outcome.request.reference
    flow.approve_and_apply(actor=colleague, reference=reference)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_request(pilot, reference)
        # The cards wrap what does not fit their width: nothing is cut.
        card = screen.query_one("#proposed-tech", Static)
        shown = "".join(drawn(card).replace("│", "").split())
        for value in (long_email, long_org):
            assert "".join(value.split()) in shown, value

        # The history fits the width; a value its column cuts is shown in full under it.
        table = screen.query_one("#request-history", FittedTable)
        assert table.virtual_size.width <= table.size.width
        table.focus()
        for row in range(table.row_count):
            if colleague in table.row_values(row):
                table.move_cursor(row=row)
                break
        await pilot.pause()
        assert colleague in table.row_values()
        assert colleague in text_of(table.line)
        await wait_for(pilot, lambda: shows_whole(table.line), what="the whole line on screen")

        # Enter opens the highlighted event in full.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditEventScreen), what="event")
        await wait_for(pilot, lambda: app.screen.event is not None, what="the event")
        assert app.screen.event.actor == colleague
