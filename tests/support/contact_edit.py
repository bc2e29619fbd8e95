"""The Contact edit form in Pilot tests: the demo registrant's form opened, its audit events."""

from __future__ import annotations

from typing import Any

from domains import audit
from tests.support.pilot import open_domain, wait_for
from tui.screens.contact_edit import ContactEditScreen

DOMAIN = "harbourside-bikes.co.uk"
HANDLE = "ILC1001"  # its registrant


async def open_editor(pilot: Any) -> ContactEditScreen:
    """Domains -> the domain -> e (the registrant is highlighted) -> the loaded form."""
    app = pilot.app
    await open_domain(pilot, DOMAIN, typed="harbourside-b")
    await pilot.press("e")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ContactEditScreen) and app.screen.version is not None,
        what="the contact form",
    )
    return app.screen  # type: ignore[no-any-return]


def contact_events(store: Any) -> list[Any]:
    return audit.list_events(store, entity_type="contact", entity_id=HANDLE, limit=50)
