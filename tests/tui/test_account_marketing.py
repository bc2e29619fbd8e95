"""The Account screen at 80x24: `m` records a marketing choice told to staff; failing addresses."""

from __future__ import annotations

from textual.widgets import Button, RadioButton, Static

from domains.address_failures import record_failure
from domains.vocabulary import StaffRole
from tests.support.pilot import (
    ACTOR,
    make_app,
    open_domain,
    palette_titles,
    run_from_palette,
    settle,
    shows_whole,
    text_of,
    wait_for,
)
from tests.support.staff import ADMIN, SUPPORT
from tui.dialogs.marketing_choice import MarketingChoiceDialog
from tui.screens.account import AccountScreen

DOMAIN = "mehta-tutoring.co.uk"
#: Sanjay Mehta's account: he opted out of marketing mail in the portal.
NUMBER = "A-100007"
SIZE = (80, 24)


async def account_screen(pilot) -> AccountScreen:
    await open_domain(pilot, DOMAIN, typed="mehta")
    await settle(pilot)
    await pilot.press("a")
    await wait_for(
        pilot,
        lambda: isinstance(pilot.app.screen, AccountScreen) and pilot.app.screen.detail,
        what="the Account screen",
    )
    await settle(pilot)
    return pilot.app.screen


async def open_dialog(pilot) -> MarketingChoiceDialog:
    await pilot.press("m")
    dialog = await wait_for(
        pilot,
        lambda: isinstance(pilot.app.screen, MarketingChoiceDialog) and pilot.app.screen,
        what="the marketing choice dialog",
    )
    await pilot.pause()
    return dialog


def summary(screen: AccountScreen) -> str:
    return " ".join(text_of(screen.query_one("#account-summary", Static)).split())


async def test_m_records_an_opt_in_by_letter_then_an_opt_out_by_phone(app, demo_store):
    async with app.run_test(size=SIZE) as pilot:
        screen = await account_screen(pilot)
        assert "in the portal" in summary(screen)

        dialog = await open_dialog(pilot)
        assert dialog.query_one("#choice-in", RadioButton).value, "the opposite of the opt-out"
        assert shows_whole(dialog.query_one("#ok", Button)), "the whole dialog fits 80x24"
        # Tab to the channels, down to "Letter", press it; tab to Record, press it.
        await pilot.press("tab", "down", "enter")
        assert dialog.query_one("#channel-letter", RadioButton).value
        await pilot.press("tab", "enter")
        await wait_for(
            pilot,
            lambda: "receives marketing mail (no opt-out)" in summary(screen),
            what="the opt-in shown",
        )
        account = demo_store.get_account(NUMBER)
        assert (account.marketing_opt_out_at, account.marketing_opt_out_by) == (None, None)

        dialog = await open_dialog(pilot)
        assert dialog.query_one("#choice-out", RadioButton).value
        assert dialog.query_one("#channel-phone", RadioButton).value
        await pilot.click("#ok")
        await wait_for(
            pilot,
            lambda: f"by phone, recorded by {ACTOR}" in summary(screen),
            what="when, how and who",
        )
        assert "opted out of marketing mail on " in summary(screen)
        account = demo_store.get_account(NUMBER)
        assert (account.marketing_opt_out_via, account.marketing_opt_out_by) == ("phone", ACTOR)


async def test_escape_leaves_the_choice_as_it_was(app, demo_store):
    before = demo_store.get_account(NUMBER).version
    async with app.run_test(size=SIZE) as pilot:
        screen = await account_screen(pilot)
        await open_dialog(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is screen, what="back to the account")
        await settle(pilot)
    assert demo_store.get_account(NUMBER).version == before


async def test_the_palette_offers_the_marketing_choice(app):
    async with app.run_test(size=SIZE) as pilot:
        await account_screen(pilot)
        assert "Account: Marketing choice" in palette_titles(app)
        await run_from_palette(pilot, "Marketing", "Account: Marketing choice")
        await wait_for(
            pilot, lambda: isinstance(app.screen, MarketingChoiceDialog), what="the dialog"
        )


async def test_a_role_taken_away_meanwhile_is_refused_and_the_screen_says_so(demo_store):
    app = make_app(demo_store, f"staff:{SUPPORT}")
    async with app.run_test(size=SIZE) as pilot:
        await account_screen(pilot)
        demo_store.staff.grant(f"staff:{ADMIN}", SUPPORT, StaffRole.ADMIN)
        demo_store.staff.revoke(f"staff:{ADMIN}", SUPPORT, StaffRole.SUPPORT)
        await open_dialog(pilot)
        await pilot.click("#ok")
        await wait_for(
            pilot,
            lambda: any(
                "may not record a customer's choice about marketing mail" in n.message
                for n in app._notifications
            ),
            what="the refusal",
        )
    account = demo_store.get_account(NUMBER)
    assert account.marketing_opt_out_via == "portal", "nothing changed"


async def test_staff_see_a_failing_address_of_the_account(app, demo_store):
    registrant = demo_store.domain_record(DOMAIN).contact("registrant")
    record_failure(demo_store, registrant.email, "dsn", "DSN 5.1.1")
    async with app.run_test(size=SIZE) as pilot:
        screen = await account_screen(pilot)
        shown = summary(screen)
        assert f"Failing address {registrant.email}" in shown
        assert registrant.handle in shown and "DSN 5.1.1, since " in shown
