"""SVG screenshots of the main screens, taken by the app itself at 80x24, for the README.

Every run drives the app through the screens and renders each screenshot (so they can always
be taken again); the files in docs/screenshots/ are written only when INTERLINK_WRITE_SCREENSHOTS=1:

    INTERLINK_WRITE_SCREENSHOTS=1 python -m pytest tests/tui/test_screenshots.py

Otherwise the test checks that the committed files are there and are SVG.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Static

from domains.models import OutboxEntry
from tests.support.environment import REPO
from tests.support.factories import confirmed_request
from tests.support.pilot import focus_by_tab, open_domain, retype, settle, text_of, wait_for
from tui.demo_staff import DEMO_STAFF
from tui.screens.account import AccountScreen
from tui.screens.audit import AuditScreen
from tui.screens.contact_edit import ContactEditScreen
from tui.screens.publication import PublicationScreen
from tui.screens.request_detail import RequestDetailScreen
from tui.screens.requests import RequestsScreen
from tui.screens.sync import SyncScreen

SHOTS = REPO / "docs" / "screenshots"
WRITE = os.environ.get("INTERLINK_WRITE_SCREENSHOTS") == "1"
SIZE = (80, 24)
#: file name -> what the screenshot shows (the SVG's title)
SCREENS = {
    "domains": "Domains: search-as-you-type",
    "domain": "Domain: contacts by role, statuses, name servers",
    "contact-edit": "Contact edit: an error beside the field",
    "requests": "Requests: the queue",
    "request": "Request: current and proposed technical contact",
    "publication": "Publication: redacted fields marked",
    "account": "Account: the customer, their opt-out, contacts and changes",
    "sync": "Sync: the registry outbox",
    "audit": "Audit: who changed what",
}


def seed(store) -> None:
    """A store with work to show: a confirmed request, outbox entries, staff changes."""
    confirmed_request(store, "brightlineanalytics.org")
    store.update_contact(
        "staff:bob", "ILC1002", store.get_contact("ILC1002").version, {"city": "Bath"}
    )
    store.update_contact(
        "staff:ann", "ILC1005", store.get_contact("ILC1005").version, {"voice": "+44 29 2018 0999"}
    )
    store.update_contact(
        "staff:ann", "ILC1013", store.get_contact("ILC1013").version, {"city": "Hamburg"}
    )
    with store.write() as session:
        entries = list(session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars())
        entries[0].status = "done"
        entries[1].status = "failed"
        entries[1].attempts = 5
        entries[1].last_error = "2305 Object association prohibits operation"


async def shoot(pilot, name: str, taken: dict[str, str]) -> None:
    """Let the screen settle, then have the app render it as SVG."""
    await settle(pilot)
    await pilot.pause()
    taken[name] = pilot.app.export_screenshot(title=SCREENS[name])


async def take(app) -> dict[str, str]:
    taken: dict[str, str] = {}
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#domains", DataTable)
        await wait_for(pilot, lambda: table.row_count > 20)
        await shoot(pilot, "domains", taken)

        await open_domain(pilot, "brightline-analytics.com", typed="bright")
        await shoot(pilot, "domain", taken)

        await pilot.press("e")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ContactEditScreen) and app.screen.version
        )
        screen = app.screen
        await retype(pilot, "f-voice", "12345")
        await pilot.press("tab")
        await wait_for(pilot, lambda: text_of(screen.query_one("#e-voice", Static)))
        await pilot.press("shift+tab")
        await shoot(pilot, "contact-edit", taken)
        await pilot.press("escape")

        await pilot.press("p")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, PublicationScreen)
                and app.screen.query_one("#stored", DataTable).row_count
            ),
        )
        await shoot(pilot, "publication", taken)
        await pilot.press("escape")

        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AccountScreen) and app.screen.detail is not None,
        )
        await shoot(pilot, "account", taken)
        await pilot.press("escape", "escape")

        await pilot.press("f3")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, RequestsScreen)
                and app.screen.query_one("#requests", DataTable).row_count
            ),
        )
        await focus_by_tab(pilot, "requests")
        await shoot(pilot, "requests", taken)
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, RequestDetailScreen) and app.screen.details
        )
        await shoot(pilot, "request", taken)
        await pilot.press("escape")

        await pilot.press("f4")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, SyncScreen)
                and app.screen.query_one("#outbox", DataTable).row_count
            ),
        )
        await focus_by_tab(pilot, "outbox")
        await shoot(pilot, "sync", taken)

        await pilot.press("f5")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, AuditScreen)
                and app.screen.query_one("#audit", DataTable).row_count
            ),
        )
        await retype(pilot, "actor", "staff:")
        await pilot.press("enter")
        # The seeded changes, and the demo's admin adding the other demo staff.
        staff_events = 3 + len(DEMO_STAFF) - 1
        await wait_for(
            pilot, lambda: app.screen.query_one("#audit", DataTable).row_count == staff_events
        )
        await shoot(pilot, "audit", taken)
    return taken


def check_svg(text: str) -> str:
    """The text of an SVG screenshot (it must parse as SVG)."""
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    return " ".join("".join(node.itertext()) for node in root.iter()).replace("\xa0", " ")


@pytest.mark.slow
async def test_the_app_renders_each_main_screen(app, demo_store):
    seed(demo_store)
    taken = await take(app)
    assert set(taken) == set(SCREENS)
    for name, svg in taken.items():
        assert SCREENS[name] in check_svg(svg)
    assert "brightline-analytics.com" in check_svg(taken["domain"])
    assert "REDACTED" in check_svg(taken["publication"])
    assert "failed" in check_svg(taken["sync"])
    assert "marketing" in check_svg(taken["account"])
    if WRITE:
        SHOTS.mkdir(parents=True, exist_ok=True)
        for name, svg in taken.items():
            (SHOTS / f"{name}.svg").write_text(svg, encoding="utf-8")


def test_the_screenshots_are_in_the_repository():
    for name, title in SCREENS.items():
        path: Path = SHOTS / f"{name}.svg"
        assert path.is_file(), f"{path} is missing: INTERLINK_WRITE_SCREENSHOTS=1 pytest {__file__}"
        assert title in check_svg(path.read_text(encoding="utf-8"))
