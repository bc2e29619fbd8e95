"""The Account screen at 80x24: `a` on a domain opens it, the palette lists it, roles checked."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Static

from domains.audit import customer_actor
from domains.customer_models import EmailVerification
from domains.models import utcnow
from domains.vocabulary import AccessPurpose, StaffRole
from tests.support.pilot import (
    ACTOR,
    column,
    drawn,
    make_app,
    open_domain,
    palette_titles,
    rows,
    run_from_palette,
    settle,
    text_of,
    wait_for,
)
from tests.support.staff import ADMIN, SUPPORT
from tui.screens.account import AccountScreen
from tui.screens.audit_event import AuditEventScreen
from tui.screens.domain import DomainScreen
from tui.screens.no_access import NoAccessScreen

DOMAIN = "mehta-tutoring.co.uk"
#: Sanjay Mehta's account: he opted out of marketing mail in the portal.
NUMBER = "A-100007"
SIZE = (80, 24)


def registrant(store):
    return store.domain_record(DOMAIN).contact("registrant")


async def press_a(pilot) -> AccountScreen:
    await pilot.press("a")
    await wait_for(
        pilot,
        lambda: isinstance(pilot.app.screen, AccountScreen) and pilot.app.screen.detail,
        what="the Account screen",
    )
    await settle(pilot)
    return pilot.app.screen


async def show_tab(pilot, screen: AccountScreen, key: str, table: str, value: str) -> str:
    """Press `key` for a tab; what `table` draws once it shows `value`."""
    await pilot.press(key)
    widget = screen.query_one(table)
    return await wait_for(pilot, lambda: value in drawn(widget) and drawn(widget), what=value)


async def test_a_on_a_domain_shows_its_account(app, demo_store):
    contact = registrant(demo_store)
    demo_store.update_contact(
        customer_actor(NUMBER), contact.handle, contact.version, {"voice": "+44.2079460878"}
    )
    async with app.run_test(size=SIZE) as pilot:
        domain_screen = await open_domain(pilot, DOMAIN, typed="mehta")
        await settle(pilot)
        screen = await press_a(pilot)

        summary = drawn(screen.query_one("#account-summary", Static))
        assert NUMBER in summary and "Sanjay Mehta" in summary
        assert "opted out of marketing mail on 2025-03-14 10:22 UTC, in the portal" in summary
        contacts = rows(screen.query_one("#account-contacts"))
        assert [contact.handle, "Sanjay Mehta", "sanjay.mehta@example.com", "-"] in contacts
        assert contact.handle in drawn(screen.query_one("#account-contacts"))

        domains = screen.query_one("#account-domains")
        assert DOMAIN in column(domains)
        await show_tab(pilot, screen, "d", "#account-domains", DOMAIN)

        changes = screen.query_one("#account-changes")
        assert rows(changes)[0][1:] == ["contact.update", f"contact:{contact.handle}", "voice"]
        await show_tab(pilot, screen, "h", "#account-changes", "contact.update")

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is domain_screen, what="back to the domain")
    looks = [(e.actor, e.purpose) for e in demo_store.access_events(contact.handle)]
    assert (ACTOR, AccessPurpose.ACCOUNT_SCREEN) in looks


async def test_an_address_unverified_for_15_days_is_flagged(app, demo_store):
    contact = registrant(demo_store)
    asked = utcnow() - timedelta(days=16)
    with demo_store.write() as session:
        session.add(
            EmailVerification(
                contact_id=contact.id,
                new_email="sanjay@example.net",
                token_hash="t" * 64,
                requested_by=customer_actor(NUMBER),
                created_at=asked,
                expires_at=asked + timedelta(days=7),
            )
        )
    async with app.run_test(size=SIZE) as pilot:
        await open_domain(pilot, DOMAIN, typed="mehta")
        await settle(pilot)
        screen = await press_a(pilot)
        summary = text_of(screen.query_one("#account-summary", Static))
        assert f"New e-mail unverified for more than 15 days: {contact.handle}" in summary
        table = screen.query_one("#account-contacts")
        (row,) = [r for r in rows(table) if r[0] == contact.handle]
        assert row[3] == "sanjay@example.net (unverified for more than 15 days)"


async def test_ctrl_r_shows_a_change_the_customer_made_meanwhile(app, demo_store):
    async with app.run_test(size=SIZE) as pilot:
        await open_domain(pilot, DOMAIN, typed="mehta")
        await settle(pilot)
        screen = await press_a(pilot)
        assert screen.query_one("#account-changes").row_count == 0
        demo_store.update_account(customer_actor(NUMBER), NUMBER, None, {"city": "Islington"})
        await pilot.press("ctrl+r")
        await wait_for(
            pilot, lambda: screen.query_one("#account-changes").row_count == 1, what="the change"
        )
        assert rows(screen.query_one("#account-changes"))[0][1:] == [
            "account.update",
            f"account:{NUMBER}",
            "city",
        ]


async def test_enter_opens_a_domain_of_the_account_or_a_change(app, demo_store):
    contact = registrant(demo_store)
    demo_store.update_contact(
        customer_actor(NUMBER), contact.handle, contact.version, {"city": "Camden"}
    )
    async with app.run_test(size=SIZE) as pilot:
        await open_domain(pilot, DOMAIN, typed="mehta")
        await settle(pilot)
        screen = await press_a(pilot)
        await show_tab(pilot, screen, "d", "#account-domains", DOMAIN)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, DomainScreen)
                and app.screen_stack[-2] is screen
                and app.screen.details
            ),
            what="the domain from the account",
        )
        assert app.screen.domain_name == DOMAIN
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back to the account")
        await show_tab(pilot, screen, "h", "#account-changes", "contact.update")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AuditEventScreen) and app.screen.event,
            what="the change in full",
        )
        assert app.screen.event.actor == customer_actor(NUMBER)
        assert [f.field for f in app.screen.event.fields] == ["city"]


async def test_the_palette_offers_the_account_on_a_domain(app):
    async with app.run_test(size=SIZE) as pilot:
        await open_domain(pilot, DOMAIN, typed="mehta")
        await settle(pilot)
        assert "Domain: Account" in palette_titles(app)
        await run_from_palette(pilot, "Account", "Domain: Account")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AccountScreen) and app.screen.detail,
            what="the Account screen",
        )
        assert app.screen.number == NUMBER
        titles = palette_titles(app)
        assert {"Account: Reload", "Account: Domains", "Account: Customer changes"} <= set(titles)
        assert "Account: Open the domain or change" in titles


async def test_a_role_without_customer_data_sees_the_notice_and_nothing_is_read(demo_store):
    app = make_app(demo_store, f"staff:{ADMIN}")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, NoAccessScreen), what="the notice")
        app.push_screen(AccountScreen(NUMBER))
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, NoAccessScreen)
                and not any(isinstance(s, AccountScreen) for s in app.screen_stack)
            ),
            what="the notice instead of the account",
        )
        await settle(pilot)
        notice = text_of(app.screen.query_one("#no-access", Static))
        assert "do not include customer data" in notice
    assert demo_store.access_events(registrant(demo_store).handle) == []


async def test_a_role_taken_away_meanwhile_is_refused_by_the_store(demo_store):
    app = make_app(demo_store, f"staff:{SUPPORT}")
    async with app.run_test(size=SIZE) as pilot:
        domain_screen = await open_domain(pilot, DOMAIN, typed="mehta")
        await settle(pilot)
        demo_store.staff.grant(f"staff:{ADMIN}", SUPPORT, StaffRole.ADMIN)
        demo_store.staff.revoke(f"staff:{ADMIN}", SUPPORT, StaffRole.SUPPORT)
        before = demo_store.access_events(registrant(demo_store).handle)
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: any("may not see customer data" in n.message for n in app._notifications),
            what="the refusal",
        )
        screen = app.screen
        assert isinstance(screen, AccountScreen) and screen.detail is None
        assert app.screen_stack[-2] is domain_screen
    assert demo_store.access_events(registrant(demo_store).handle) == before
