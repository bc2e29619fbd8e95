"""The staff-entry dialog at 80x24: every field on screen and reached by Tab, errors in view."""

from __future__ import annotations

import re

from textual.widgets import Checkbox, Static

from domains.changes import Workflow
from tests.support.pilot import focus_by_tab, open_domain, retype, shows_whole, text_of, wait_for
from tests.support.portal import make_portal
from tui.dialogs.enter_request import CONSENTS, FIELDS, EnterRequestDialog

PHONED = "whitcombe-illustration.co.uk"  # typed as "whitc"
INPUTS = [f"f-{name}" for name, _ in FIELDS]
ALL_FIELDS = ["channel", "house", *INPUTS, *(f"c-{name}" for name in CONSENTS)]
#: A phone number far too long: the error quoting it runs over more than one line.
LONG_PHONE = "+44 " + "1234567890" * 6


async def open_dialog_on_domain(pilot) -> EnterRequestDialog:
    """Domains -> the domain -> c."""
    await open_domain(pilot, PHONED, typed="whitc")
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, EnterRequestDialog))
    await pilot.pause()
    return pilot.app.screen


def assert_all_on_screen(dialog: EnterRequestDialog) -> None:
    """Every field and both buttons fit the 80x24 screen at once, nothing cut or covered."""
    for widget_id in ("f-domain", *ALL_FIELDS, "submit", "close"):
        assert shows_whole(dialog.query_one(f"#{widget_id}")), widget_id


async def test_every_field_is_on_the_80x24_screen_at_once(app):
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog_on_domain(pilot)
        assert_all_on_screen(dialog)
        for widget_id in ALL_FIELDS:  # the domain is given: it is not a field to fill
            await focus_by_tab(pilot, widget_id)
            await pilot.pause()
            assert shows_whole(pilot.app.focused), widget_id


async def test_tab_reaches_every_field_and_shows_it_with_the_buttons(app):
    async with app.run_test(size=(80, 24)) as pilot:
        pilot.app.push_screen(EnterRequestDialog(None))  # as `n` on the Requests screen
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, EnterRequestDialog))
        await pilot.pause()
        dialog = pilot.app.screen
        assert_all_on_screen(dialog)
        for widget_id in ("f-domain", *ALL_FIELDS):
            await focus_by_tab(pilot, widget_id)
            await pilot.pause()
            assert shows_whole(pilot.app.focused), widget_id
            assert shows_whole(dialog.query_one("#submit")), widget_id


async def test_a_failed_submit_says_so_above_the_form_and_shows_the_first_error(app, demo_store):
    domain_id = demo_store.get_domain(PHONED).id
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog_on_domain(pilot)
        await retype(pilot, "f-org", "Northwind Hosting GmbH")
        await retype(pilot, "f-name", "Greta Nord")
        await retype(pilot, "f-voice", LONG_PHONE)
        await focus_by_tab(pilot, f"c-{CONSENTS[-1]}")  # the last field, far from the errors
        await pilot.press("ctrl+s")  # no e-mail, a bad phone, no city, no country
        summary = dialog.query_one("#e-form", Static)
        await wait_for(pilot, lambda: "Not entered" in text_of(summary), what="the summary")
        assert "4 fields need fixing" in text_of(summary)
        assert "E-mail" in text_of(summary) and "Phone" in text_of(summary)
        assert shows_whole(summary)

        # The first field in error has the focus; it and its error are in view.
        await wait_for(pilot, lambda: pilot.app.focused.id == "f-email", what="focus")
        await pilot.pause()
        for widget_id in ("f-email", "e-email"):
            assert shows_whole(dialog.query_one(f"#{widget_id}")), widget_id
        assert text_of(dialog.query_one("#e-email", Static)) == "is required"

        # The long error of the phone is wrapped, whole, within the 80 columns.
        await focus_by_tab(pilot, "f-voice")
        await pilot.pause()
        error = dialog.query_one("#e-voice", Static)
        assert LONG_PHONE in text_of(error)
        assert error.region.height > 1 and error.region.right <= 80
        assert shows_whole(error) and shows_whole(dialog.query_one("#f-voice"))
        assert shows_whole(dialog.query_one("#submit"))
        assert pilot.app.screen is dialog
    assert Workflow(demo_store).list(domain_id=domain_id) == []


async def test_back_to_interlink_needs_no_contact_and_a_refusal_is_said_above_the_form(
    app, demo_store
):
    assert demo_store.domain_record(PHONED).contact("tech").is_house
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = await open_dialog_on_domain(pilot)
        await focus_by_tab(pilot, "house")
        await pilot.press("space")
        await pilot.pause()
        assert all(dialog.query_one(f"#{i}").disabled for i in INPUTS)
        await pilot.press("ctrl+s")
        summary = dialog.query_one("#e-form", Static)
        await wait_for(pilot, lambda: text_of(summary), what="the refusal")
        assert "already Interlink" in text_of(summary)
        assert shows_whole(summary) and pilot.app.screen is dialog
        await pilot.press("space")  # a new contact after all: its fields are back
        await pilot.pause()
        assert not any(dialog.query_one(f"#{i}").disabled for i in INPUTS)


async def test_staff_offer_the_consent_choices_the_portal_offers(app, demo_store, tmp_path):
    """A customer who phones may consent to what the portal's form would let them publish."""
    portal = make_portal(demo_store, tmp_path / "outbox")
    with portal.client:
        page = portal.client.get("/change")
    assert page.status_code == 200
    online = re.findall(r'name="consent" value="([^"]+)"', page.text)
    async with app.run_test(size=(80, 24)) as pilot:
        pilot.app.push_screen(EnterRequestDialog(None))
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, EnterRequestDialog))
        await pilot.pause()
        boxes = pilot.app.screen.query(Checkbox)
        by_staff = [box.id[2:] for box in boxes if box.id and box.id.startswith("c-")]
    assert online and by_staff == online
