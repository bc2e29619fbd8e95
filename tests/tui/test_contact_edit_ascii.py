"""Contact edit: the ASCII form for registries, a collapsed section at 80x24."""

from __future__ import annotations

from textual.widgets import Collapsible, Input, Static

from tests.support.contact_edit import HANDLE, contact_events, open_editor
from tests.support.pilot import retype, settle, shows_whole, text_of, wait_for
from tui.screens.contact_edit import ASCII_KEYS, ContactEditScreen


def section(screen: ContactEditScreen) -> Collapsible:
    return screen.query_one("#ascii-form", Collapsible)


async def test_the_ascii_form_is_given_in_its_section_and_saved(app, demo_store):
    before = demo_store.get_contact(HANDLE)
    assert before.ascii_postal is None
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        assert section(screen).collapsed  # none stored: out of the way
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert not section(screen).collapsed
        await retype(pilot, "f-ascii_name", "Harbourside Bikes")
        assert shows_whole(app.focused)
        await retype(pilot, "f-ascii_city", "Bristol Harbour")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.version == before.version + 1, what="the save")

    after = demo_store.get_contact(HANDLE)
    assert after.ascii_postal == {"name": "Harbourside Bikes", "city": "Bristol Harbour"}
    assert (after.name, after.city) == (before.name, before.city)
    latest = contact_events(demo_store)[0]
    assert latest.actor.startswith("staff:")
    assert latest.changes == {
        "ascii_postal": {"before": None, "after": after.ascii_postal},
    }


async def test_a_stored_form_opens_its_section_filled(app, demo_store):
    stored = {"name": "Jurgen Gross", "street": ["Line 1", "Line 2"], "postal_code": "BS1 4RN"}
    contact = demo_store.get_contact(HANDLE)
    demo_store.update_contact("staff:ann", HANDLE, contact.version, {"ascii_postal": stored})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        assert not section(screen).collapsed
        shown = {name: screen.query_one(f"#f-{name}", Input).value for name in ASCII_KEYS}
        assert shown == {
            "ascii_name": "Jurgen Gross",
            "ascii_org": "",
            "ascii_street1": "Line 1",
            "ascii_street2": "Line 2",
            "ascii_street3": "",
            "ascii_city": "",
            "ascii_state": "",
            "ascii_postal_code": "BS1 4RN",
        }
        # Nothing changed: nothing is saved.
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert demo_store.get_contact(HANDLE).version == contact.version + 1


async def test_a_non_ascii_item_is_refused_beside_it_and_its_section_opens(app, demo_store):
    before = demo_store.get_contact(HANDLE)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        assert section(screen).collapsed
        screen.query_one("#f-ascii_city", Input).value = "Zürich"
        await pilot.press("ctrl+s")
        error = screen.query_one("#e-ascii_city", Static)
        await wait_for(
            pilot,
            lambda: shows_whole(error) and getattr(app.focused, "id", None) == "f-ascii_city",
            what="the error in view and the field focused",
        )
        assert not section(screen).collapsed
        assert "must be printable ASCII" in text_of(error) and "'ü'" in text_of(error)
        assert "ASCII City" in text_of(screen.query_one("#e-form", Static))
    after = demo_store.get_contact(HANDLE)
    assert (after.version, after.ascii_postal) == (before.version, None)


async def test_the_section_is_in_the_command_palette(app):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        titles = [command.title for command in app.get_system_commands(screen)]
        assert "Contact: ASCII form" in titles


async def test_a_new_city_drops_the_stored_ascii_city_and_the_form_shows_it(app, demo_store):
    stored = {"name": "Harbourside Bikes", "city": "Bristol Harbour"}
    contact = demo_store.get_contact(HANDLE)
    given = demo_store.update_contact(
        "staff:ann", HANDLE, contact.version, {"ascii_postal": stored}
    )
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        await retype(pilot, "f-city", "Bäth")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.version == given.version + 1, what="the save")
        # The ASCII city was the old city's: dropped, and the form no longer shows it.
        assert screen.query_one("#f-ascii_city", Input).value == ""
        assert screen.query_one("#f-ascii_name", Input).value == "Harbourside Bikes"
        await pilot.press("ctrl+s")  # nothing changed since: nothing is saved
        await settle(pilot)
    after = demo_store.get_contact(HANDLE)
    assert (after.city, after.version) == ("Bäth", given.version + 1)
    assert after.ascii_postal == {"name": "Harbourside Bikes"}
    latest = contact_events(demo_store)[0]
    assert latest.actor.startswith("staff:")
    assert latest.changes["ascii_postal"] == {
        "before": stored,
        "after": {"name": "Harbourside Bikes"},
    }
