"""Every look at a contact's private fields from the staff app is recorded, and can be listed."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from domains.vocabulary import AccessPurpose
from tests.support.factories import confirmed_request
from tests.support.pilot import ACTOR, open_domain, rows, settle, text_of, wait_for
from tui.screens.access_log import AccessLogScreen
from tui.screens.contact_edit import ContactEditScreen
from tui.screens.publication import PublicationScreen
from tui.screens.request_detail import RequestDetailScreen

DOMAIN = "rhiannonpryce.co.uk"


def looks(store, handle: str) -> list[tuple[str, str, str | None]]:
    return [(e.actor, e.purpose, e.domain) for e in store.access_events(handle)]


async def test_the_domain_contact_and_publication_screens_record_each_look(app, demo_store):
    record = demo_store.domain_record(DOMAIN)
    registrant = record.contact("registrant").handle
    handles = {contact.handle for contact in record.contacts.values()}
    assert all(not looks(demo_store, handle) for handle in handles)
    async with app.run_test(size=(80, 24)) as pilot:
        domain_screen = await open_domain(pilot, DOMAIN, typed="rhian")
        await settle(pilot)
        for handle in handles:  # one look per contact the screen shows
            assert (ACTOR, AccessPurpose.DOMAIN_SCREEN, DOMAIN) in looks(demo_store, handle)

        await pilot.press("e")  # the registrant is highlighted first
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ContactEditScreen) and app.screen.version is not None,
            what="the contact form",
        )
        assert app.screen.handle == registrant
        assert looks(demo_store, registrant)[0] == (ACTOR, AccessPurpose.CONTACT_EDIT, None)

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is domain_screen)
        await settle(pilot)
        await pilot.press("p")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, PublicationScreen)
                and app.screen.query_one("#stored", DataTable).row_count
            ),
            what="the Publication screen",
        )
        assert looks(demo_store, registrant)[0] == (
            ACTOR,
            AccessPurpose.PUBLICATION_SCREEN,
            DOMAIN,
        )


async def test_who_looked_lists_the_recorded_looks_newest_first(app, demo_store):
    registrant = demo_store.domain_record(DOMAIN).contact("registrant").handle
    demo_store.look_at_contact("staff:bob", registrant, AccessPurpose.CONTACT_EDIT)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_domain(pilot, DOMAIN, typed="rhian")
        await settle(pilot)
        await pilot.press("w")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AccessLogScreen) and app.screen.events is not None,
            what="who looked",
        )
        screen = app.screen
        assert screen.handle == registrant
        table = screen.query_one("#access", DataTable)
        listed = [(row[1], row[2], row[3]) for row in rows(table)]
        # This very visit (the Domain screen) first, then bob's edit before it.
        assert listed[0] == (ACTOR, AccessPurpose.DOMAIN_SCREEN, DOMAIN)
        assert ("staff:bob", AccessPurpose.CONTACT_EDIT, "") in listed
        assert len(listed) == len(demo_store.access_events(registrant))
        status = text_of(screen.query_one("#access-status", Static))
        assert f"{len(listed)} recorded look(s) at {registrant}" in status


async def test_the_request_screen_records_a_look_at_the_contacts_it_shows(app, demo_store):
    domain = "harbourside-bikes.com"
    reference = confirmed_request(demo_store, domain)
    tech = demo_store.domain_record(domain).contact("tech").handle
    async with app.run_test(size=(80, 24)) as pilot:
        screen = RequestDetailScreen(reference)
        app.push_screen(screen)
        await wait_for(pilot, lambda: app.screen is screen and screen.details, what=reference)
        await settle(pilot)
    assert (ACTOR, AccessPurpose.REQUEST_SCREEN, domain) in looks(demo_store, tech)
