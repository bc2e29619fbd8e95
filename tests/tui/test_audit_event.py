"""An audit event opens from the trail with its full before and after; escape goes back."""

from __future__ import annotations

from textual.geometry import Region

from domains.changes import Workflow
from tests.support.factories import confirmed_request
from tests.support.pilot import open_audit, settle, wait_for
from tui.screens.audit import AuditScreen
from tui.screens.audit_event import AuditEventScreen

SIZE = (80, 24)
LONG_CITY = "Bath and North East Somerset, by the River Avon, in the county of Somerset"


def drawn(widget) -> str:
    """The text `widget` draws now, line by line."""
    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(strip.text.rstrip() for strip in strips)


def flat(text: str) -> str:
    """Drawn text without the table's rules and the line breaks of wrapping."""
    for rule in "│┃":
        text = text.replace(rule, " ")
    return " ".join(text.split())


async def open_newest_event(pilot) -> AuditEventScreen:
    app = pilot.app
    table = await open_audit(pilot)
    assert app.focused is table  # the trail has the focus: Enter opens the newest event
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, AuditEventScreen) and app.screen.event,
        what="the event",
    )
    await settle(pilot)
    return app.screen


async def test_enter_on_an_event_shows_it_in_full_and_escape_returns(app, demo_store):
    before = demo_store.get_contact("ILC1002").city
    demo_store.update_contact(
        "staff:bob", "ILC1002", demo_store.get_contact("ILC1002").version, {"city": LONG_CITY}
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newest_event(pilot)
        summary = drawn(screen.query_one("#event-summary"))
        for line in ("Actor    staff:bob", "Action   contact.update", "Entity   contact:ILC1002"):
            assert line in summary
        assert "When     20" in summary and "UTC" in summary
        changes = flat(drawn(screen.query_one("#event-changes")))
        assert "Field Before After" in changes
        assert f"city {before} {LONG_CITY}" in changes  # the whole value, wrapped, not cut
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), what="the trail")


async def test_a_rejection_shows_its_reason(app, demo_store):
    reference = confirmed_request(demo_store, "brightlineanalytics.org")
    Workflow(demo_store).reject(actor="staff:bob", reference=reference, reason="Not the owner")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_newest_event(pilot)
        summary = drawn(screen.query_one("#event-summary"))
        assert f"Entity   change_request:{reference}" in summary
        assert "Reason   Not the owner" in summary
        assert f"Request  {reference}" in summary
        assert "state confirmed rejected" in flat(drawn(screen.query_one("#event-changes")))


async def test_opening_an_event_is_in_the_palette(app):
    async with app.run_test(size=SIZE) as pilot:
        await open_audit(pilot)
        titles = [command.title for command in app.screen.palette_commands()]
        assert "Audit: Open event" in titles
        await app.screen.run_action("open_event")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditEventScreen) and app.screen.event)
        titles = [command.title for command in app.screen.palette_commands()]
        assert "Audit event: Back" in titles
