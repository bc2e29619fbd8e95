"""The staff app offers each member only what their roles allow: keys, footer and palette."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from domains.changes import Workflow
from domains.vocabulary import StaffRole
from tests.support.factories import confirmed_request
from tests.support.pilot import (
    footer_actions,
    make_app,
    palette_titles,
    run_from_palette,
    settle,
    text_of,
    wait_for,
)
from tests.support.staff import ADMIN, SUPERVISOR, SUPPORT
from tui.dialogs.confirm import ConfirmDialog
from tui.screens.domains import DomainsScreen
from tui.screens.no_access import NoAccessScreen
from tui.screens.request_detail import RequestDetailScreen
from tui.screens.requests import RequestsScreen
from tui.screens.sync import SyncScreen

DOMAIN = "harbourside-bikes.com"


async def show_request(pilot, reference: str) -> RequestDetailScreen:
    screen = RequestDetailScreen(reference)
    pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: pilot.app.screen is screen and screen.details, what=reference)
    await settle(pilot)
    return screen


def summary(screen: RequestDetailScreen) -> str:
    return text_of(screen.query_one("#request-summary", Static))


async def test_support_sees_no_decision_keys_but_the_ones_they_may_use(demo_store):
    reference = confirmed_request(demo_store, DOMAIN)
    app = make_app(demo_store, f"staff:{SUPPORT}")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_request(pilot, reference)
        shown = await wait_for(pilot, lambda: footer_actions(app), what="the footer")
        assert {"approve", "reject", "apply"}.isdisjoint(shown), shown
        assert {"cancel_request", "resend", "reload"} <= shown, shown
        titles = palette_titles(app)
        assert not [t for t in titles if t in ("Request: Approve", "Request: Reject")], titles
        assert "Request: Apply" not in titles
        assert {"Request: Cancel", "Request: Resend link", "Request: Reload"} <= set(titles)

        await pilot.press("a")  # the key does nothing either
        await settle(pilot)
        assert app.screen is screen and "is confirmed" in summary(screen)
    assert Workflow(demo_store).get(reference).state == "confirmed"


@pytest.mark.parametrize(("login", "may"), [(SUPPORT, False), (SUPERVISOR, True)])
async def test_only_a_supervisor_may_retry_the_sync(demo_store, login, may):
    app = make_app(demo_store, f"staff:{login}")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, SyncScreen), what="Sync")
        shown = await wait_for(pilot, lambda: footer_actions(app), what="the footer")
        assert ("retry" in shown) is may, (login, shown)
        assert ("Sync: Retry failed" in palette_titles(app)) is may, login
        assert "refresh" in shown


async def test_a_supervisor_sees_the_decision_keys(demo_store):
    reference = confirmed_request(demo_store, DOMAIN)
    app = make_app(demo_store, f"staff:{SUPERVISOR}")
    async with app.run_test(size=(80, 24)) as pilot:
        await show_request(pilot, reference)
        shown = await wait_for(pilot, lambda: footer_actions(app), what="the footer")
        assert {"approve", "reject", "cancel_request"} <= shown, shown
        assert "Request: Approve" in palette_titles(app)


async def test_an_admin_sees_no_customer_data_and_is_told_why(demo_store):
    app = make_app(demo_store, f"staff:{ADMIN}")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NoAccessScreen), what="the notice")
        notice = text_of(app.screen.query_one("#no-access", Static))
        assert f"staff:{ADMIN}" in notice and "(admin)" in notice
        assert "do not include customer data" in notice
        assert "interlink staff" in notice
        titles = palette_titles(app)
        assert not {"Domains", "Requests", "Sync", "Audit"} & set(titles), titles
        for key in ("f2", "f3", "f4", "f5"):  # the section keys lead nowhere
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, NoAccessScreen), key
        assert not any(
            isinstance(screen, DomainsScreen | RequestsScreen | SyncScreen)
            for screen in app.screen_stack
        )


async def test_a_role_taken_away_while_the_app_runs_is_one_clear_message(demo_store):
    reference = confirmed_request(demo_store, DOMAIN)
    app = make_app(demo_store, f"staff:{SUPERVISOR}")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await show_request(pilot, reference)
        # An admin takes the role away; the app still believes what it read at the start.
        demo_store.staff.grant(f"staff:{ADMIN}", SUPERVISOR, StaffRole.SUPPORT)
        demo_store.staff.revoke(f"staff:{ADMIN}", SUPERVISOR, StaffRole.SUPERVISOR)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: any("may not approve" in n.message for n in app._notifications),
            what="the refusal",
        )
        await settle(pilot)
        assert app.screen is screen and app.is_running
        (message,) = [n.message for n in app._notifications if "may not" in n.message]
        assert message == (
            f"{SUPERVISOR} may not approve, reject or apply change requests: "
            "that needs the supervisor role"
        )
    assert Workflow(demo_store).get(reference).state == "confirmed"


async def test_the_palette_opens_the_sections_for_staff_who_may_see_them(demo_store):
    app = make_app(demo_store, f"staff:{SUPPORT}")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen), what="Domains")
        await run_from_palette(pilot, "Sync", "Sync")
        await wait_for(pilot, lambda: isinstance(app.screen, SyncScreen), what="Sync")
        await run_from_palette(pilot, "Requests", "Requests")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestsScreen), what="Requests")
