"""Contact edit: errors beside the field as you leave it, saving, consent, a stale conflict."""

from __future__ import annotations

from textual.widgets import Static

from tests.support.contact_edit import HANDLE, contact_events, open_editor
from tests.support.pilot import (
    ACTOR,
    focus_by_tab,
    retype,
    settle,
    shows_whole,
    text_of,
    wait_for,
)
from tui.screens.contact_edit import TEXT_FIELDS, ContactEditScreen

#: A phone number far too long: the error quoting it runs over more than one line.
LONG_PHONE = "+44 " + "1234567890" * 6


def error_beside(screen: ContactEditScreen, field: str) -> str:
    return text_of(screen.query_one(f"#e-{field}", Static))


async def test_the_form_shows_the_stored_contact(app, demo_store):
    stored = demo_store.get_contact(HANDLE)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        assert screen.handle == HANDLE
        assert screen.sub_title == f"version {stored.version}"
        assert screen.query_one("#f-name").value == stored.name
        assert screen.query_one("#f-voice").value == stored.voice
        assert screen.query_one("#f-email").value == stored.email
        assert screen.query_one("#f-street1").value == stored.street[0]
        assert all(error_beside(screen, name) == "" for name, _ in TEXT_FIELDS)


async def test_a_bad_phone_is_refused_beside_the_field_and_not_saved(app, demo_store):
    before = demo_store.get_contact(HANDLE)
    events = len(contact_events(demo_store))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        await retype(pilot, "f-voice", "12345")
        assert error_beside(screen, "voice") == ""  # not judged while typing
        await pilot.press("tab")  # leave the field
        await wait_for(pilot, lambda: error_beside(screen, "voice"))
        assert "12345" in error_beside(screen, "voice")
        assert "number" in error_beside(screen, "voice")
        # Only the field in error says so.
        assert all(error_beside(screen, n) == "" for n, _ in TEXT_FIELDS if n != "voice")

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ContactEditScreen)
        assert "12345" in error_beside(screen, "voice")
        assert screen.sub_title == f"version {before.version}"

        # Put right, the error goes as the field is left.
        await pilot.press("shift+tab")  # back into the field
        await retype(pilot, "f-voice", "+44 117 496 0999")
        await pilot.press("tab")
        await wait_for(pilot, lambda: error_beside(screen, "voice") == "")

    after = demo_store.get_contact(HANDLE)
    assert (after.version, after.voice) == (before.version, before.voice)
    assert len(contact_events(demo_store)) == events


async def test_a_failed_save_says_so_in_the_form_and_shows_the_error_whole(app, demo_store):
    before = demo_store.get_contact(HANDLE)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        await retype(pilot, "f-voice", LONG_PHONE)
        await focus_by_tab(pilot, "f-consent_method")  # the end of the form
        await pilot.press("ctrl+s")
        # The error is in view and whole: wrapped within the 80 columns, not cut by the screen's
        # edge, not scrolled away, not under a notification; its field has the focus.
        error = screen.query_one("#e-voice", Static)
        await wait_for(pilot, lambda: shows_whole(error), what="the whole error in view")
        assert LONG_PHONE in text_of(error)
        assert error.region.height > 1 and error.region.right <= 80
        assert app.focused.id == "f-voice" and shows_whole(app.focused)
        # What stops the save is said above the form, not in a notification.
        summary = screen.query_one("#e-form", Static)
        assert "Not saved: 1 field needs fixing: Phone" in text_of(summary)
        assert shows_whole(summary)
        assert not app._notifications
        assert screen.sub_title == f"version {before.version}"
    assert demo_store.get_contact(HANDLE).version == before.version


async def test_a_good_edit_is_saved_with_a_new_version_and_an_audit_row(app, demo_store):
    before = demo_store.get_contact(HANDLE)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        await retype(pilot, "f-voice", "+44 117 496 0999")
        await pilot.press("tab")
        await pilot.pause()
        assert error_beside(screen, "voice") == ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.version == before.version + 1, what="the save")
        assert screen.sub_title == f"version {before.version + 1}"

    after = demo_store.get_contact(HANDLE)
    assert after.voice == "+44.1174960999"
    assert after.version == before.version + 1
    assert (after.name, after.email) == (before.name, before.email)
    latest = contact_events(demo_store)[0]
    assert (latest.actor, latest.action) == (ACTOR, "contact.update")
    assert latest.changes == {"voice": {"before": before.voice, "after": "+44.1174960999"}}


async def test_consent_is_given_per_field(app, demo_store):
    before = demo_store.get_contact(HANDLE)
    assert "email" not in before.consent_fields
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        await focus_by_tab(pilot, "c-email")
        await pilot.press("space")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: screen.version == before.version + 1, what="the save")

    after = demo_store.get_contact(HANDLE)
    assert after.consent_fields == [*before.consent_fields, "email"]
    assert after.consent_method == "staff"
    assert after.consent_at is not None


async def test_a_stale_edit_shows_the_conflict_and_loses_nothing(app, demo_store):
    before = demo_store.get_contact(HANDLE)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_editor(pilot)
        await retype(pilot, "f-city", "Bath")

        # Meanwhile a colleague changes the e-mail address of the same contact.
        theirs = demo_store.update_contact(
            "staff:bob", HANDLE, before.version, {"email": "owner@harbourside.example.org"}
        )
        assert theirs.version == before.version + 1

        await pilot.press("ctrl+s")
        conflict = screen.query_one("#conflict", Static)
        await wait_for(pilot, lambda: "Conflict" in text_of(conflict), what="the conflict")
        shown = text_of(conflict)
        assert "owner@harbourside.example.org" in shown  # their newer value
        assert before.email in shown  # what it was when this user started
        assert "Ctrl+S" in shown
        # The store kept the colleague's change and nothing of this user's yet.
        stored = demo_store.get_contact(HANDLE)
        assert (stored.email, stored.city, stored.version) == (
            "owner@harbourside.example.org",
            before.city,
            before.version + 1,
        )
        # The form holds both: their e-mail, this user's city.
        assert screen.query_one("#f-email").value == "owner@harbourside.example.org"
        assert screen.query_one("#f-city").value == "Bath"

        await pilot.press("ctrl+s")  # apply this user's change on top of theirs
        await wait_for(pilot, lambda: screen.version == before.version + 2, what="the save")
        await settle(pilot)
        assert text_of(conflict) == ""

    after = demo_store.get_contact(HANDLE)
    assert (after.email, after.city, after.version) == (
        "owner@harbourside.example.org",
        "Bath",
        before.version + 2,
    )
    mine, colleague = contact_events(demo_store)[:2]
    assert (mine.actor, set(mine.changes)) == (ACTOR, {"city"})
    assert (colleague.actor, set(colleague.changes)) == ("staff:bob", {"email"})
