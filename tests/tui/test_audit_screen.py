"""Audit: the trail, newest first, filtered by actor, entity and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from textual.widgets import Static

from domains import audit
from tests.support.pilot import column, open_audit, retype, rows, text_of, wait_for
from tui.demo_staff import DEMO_STAFF


def seed(store) -> None:
    """Changes by two members of staff on two contacts."""
    store.update_contact(
        "staff:bob", "ILC1002", store.get_contact("ILC1002").version, {"city": "Bath"}
    )
    store.update_contact(
        "staff:ann", "ILC1001", store.get_contact("ILC1001").version, {"voice": "+44 117 496 0999"}
    )
    store.update_contact(
        "staff:bob", "ILC1001", store.get_contact("ILC1001").version, {"city": "Clifton"}
    )


def status(app) -> str:
    return text_of(app.screen.query_one("#audit-status", Static))


async def test_newest_first_without_filters(app, demo_store):
    seed(demo_store)
    total = len(audit.list_events(demo_store, limit=500))
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_audit(pilot)
        first = rows(table)[0]
        assert first[1:4] == ["staff:bob", "contact.update", "contact:ILC1001"]
        assert '"city"' in first[4] and "Clifton" in first[4]
        assert table.row_count == min(total, 200)
        assert status(app).startswith(f"{table.row_count} events")


async def test_filter_by_actor(app, demo_store):
    seed(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_audit(pilot)
        await retype(pilot, "actor", "staff:bob")
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count == 2, what="bob's two changes")
        assert set(column(table, 1)) == {"staff:bob"}
        assert column(table, 3) == ["contact:ILC1001", "contact:ILC1002"]
        assert status(app) == "2 events"

        # A prefix: every member of staff (the demo's admin added its other staff).
        await retype(pilot, "actor", "staff:")
        await pilot.press("enter")
        added = len(DEMO_STAFF) - 1
        await wait_for(pilot, lambda: table.row_count == 3 + added)
        assert set(column(table, 1)) == {"staff:ann", "staff:bob", f"staff:{DEMO_STAFF[0].login}"}
        assert [row[2] for row in rows(table)].count("staff.add") == added


async def test_filter_by_entity_and_actor(app, demo_store):
    seed(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_audit(pilot)
        await retype(pilot, "entity", "contact:ILC1001")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: table.row_count and set(column(table, 3)) == {"contact:ILC1001"},
            what="only ILC1001",
        )
        actions = [(row[1], row[2]) for row in rows(table)]
        assert actions[:2] == [("staff:bob", "contact.update"), ("staff:ann", "contact.update")]

        await retype(pilot, "actor", "staff:ann")
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count == 1)
        assert rows(table)[0][1:4] == ["staff:ann", "contact.update", "contact:ILC1001"]
        assert "+44.1174960999" in rows(table)[0][4]


async def test_filter_by_time(app, demo_store):
    seed(demo_store)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_audit(pilot)
        await retype(pilot, "since", tomorrow)
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count == 0 and status(app) == "0 events")

        await retype(pilot, "since", "2026-13-45")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "is not a date" in status(app))

        await retype(pilot, "since", "")
        await retype(pilot, "until", tomorrow)
        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count >= 3)
