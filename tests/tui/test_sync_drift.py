"""Sync: the last registry drift check on the screen, and its differences in a dialog (80x24)."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.widgets import DataTable, Static

from domains.drift import Finding, save_run
from tests.support.pilot import focus_by_tab, palette_titles, rows, text_of, wait_for
from tui.dialogs.drift import DriftDialog
from tui.screens.sync import SyncScreen

FINDINGS = (
    Finding(
        "harbourside-bikes.com", "domain", "name servers", "ns9.example.net", "ns1.example.net"
    ),
    Finding("harbourside-bikes.com", "contact ILC1002 (registrant)", "email"),
    Finding("kite-makers.com", "domain", "domain object", None, "kite-makers.com"),
)


def record_run(store) -> None:
    save_run(
        store,
        actor="system:drift-check",
        started_at=datetime(2026, 12, 6, 22, 0, tzinfo=UTC),
        finished_at=datetime(2026, 12, 6, 22, 5, tzinfo=UTC),
        tld=None,
        domains_checked=40,
        errors=1,
        findings=FINDINGS,
    )


async def open_sync(pilot) -> SyncScreen:
    await pilot.press("f4")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SyncScreen), what="Sync")
    return pilot.app.screen


async def test_the_screen_says_when_no_drift_check_ran(app, demo_store):
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sync(pilot)
        line = screen.query_one("#sync-drift", Static)
        await wait_for(pilot, lambda: "Drift check" in text_of(line), what="the drift line")
        assert "never run" in text_of(line)


async def test_the_last_drift_check_and_its_differences(app, demo_store):
    record_run(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_sync(pilot)
        line = screen.query_one("#sync-drift", Static)
        await wait_for(pilot, lambda: "40 checked" in text_of(line), what="the drift line")
        assert text_of(line) == (
            "Drift check 2026-12-06 22:05 UTC (all TLDs): 40 checked, 2 differ, 1 errors"
        )
        assert "Sync: Drift check" in palette_titles(pilot.app)

        await focus_by_tab(pilot, "outbox")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DriftDialog), what="dialog")
        table = pilot.app.screen.query_one("#drift-table", DataTable)
        await wait_for(pilot, lambda: table.row_count == 3, what="the differences")
        assert rows(table) == [
            [
                "harbourside-bikes.com",
                "domain",
                "name servers",
                "ns9.example.net",
                "ns1.example.net",
            ],
            [
                "harbourside-bikes.com",
                "contact ILC1002 (registrant)",
                "email",
                "(personal)",
                "(personal)",
            ],
            ["kite-makers.com", "domain", "domain object", "—", "kite-makers.com"],
        ]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SyncScreen), what="Sync")
