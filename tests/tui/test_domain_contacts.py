"""The Domain screen's contacts at 80x24: the highlighted row shows; e edits its contact."""

from __future__ import annotations

from textual.widgets import DataTable

from tests.support.pilot import settle, wait_for
from tui.screens.contact_edit import ContactEditScreen
from tui.screens.domain import DomainScreen

DOMAIN = "riversidedentalstudio.co.uk"
#: Its contacts, in the order of the table.
CONTACTS = [("registrant", "ILC1008"), ("admin", "ILC1009"), ("tech", "IL-HOUSE")]


def backgrounds(table: DataTable, row: int) -> set:
    """The background colours a table row is drawn with (row 0 is under the header)."""
    strip = table.render_line(row + 1)
    return {segment.style.bgcolor for segment in strip if segment.style and segment.text.strip()}


async def open_riverside(pilot) -> DomainScreen:
    app = pilot.app
    await pilot.press(*"riverside", "enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, DomainScreen) and app.screen.details,
        what=DOMAIN,
    )
    await settle(pilot)
    return app.screen


async def test_the_contacts_have_the_focus_and_the_highlighted_row_shows(app):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_riverside(pilot)
        contacts = screen.query_one("#contacts", DataTable)
        assert [[str(c) for c in contacts.get_row_at(i)[:2]] for i in range(3)] == [
            list(pair) for pair in CONTACTS
        ]
        assert app.focused is contacts
        assert contacts.cursor_row == 0
        assert backgrounds(contacts, 0).isdisjoint(backgrounds(contacts, 1))
        await pilot.press("down")
        await settle(pilot)
        assert contacts.cursor_row == 1
        assert backgrounds(contacts, 1).isdisjoint(backgrounds(contacts, 0))
        assert backgrounds(contacts, 1).isdisjoint(backgrounds(contacts, 2))


async def test_e_edits_the_contact_of_the_highlighted_row(app):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_riverside(pilot)
        await pilot.press("down", "e")  # admin
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ContactEditScreen) and app.screen.version is not None,
            what="the contact form",
        )
        assert app.screen.handle == "ILC1009"

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await settle(pilot)
        contacts = screen.query_one("#contacts", DataTable)
        assert contacts.cursor_row == 1  # still on the admin after the reload
        await pilot.press("down", "e")  # tech: the house contact
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ContactEditScreen) and app.screen.version is not None,
            what="the contact form",
        )
        assert app.screen.handle == "IL-HOUSE"
