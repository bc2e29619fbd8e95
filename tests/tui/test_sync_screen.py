"""Sync: the outbox by status, the registry's message, and retrying a failed entry."""

from __future__ import annotations

from sqlalchemy import select
from textual.widgets import DataTable, Static

from domains import audit
from domains.changes import Workflow
from domains.models import OutboxEntry
from tests.support.factories import confirmed_request
from tests.support.pilot import ACTOR, focus_by_tab, rows, settle, text_of, wait_for
from tui.screens.sync import SyncScreen

REGISTRY_ERROR = "2305 Object association prohibits operation"


def fail_entry(store, entry_id: int, error: str = REGISTRY_ERROR) -> None:
    """What the sync worker does when the registry refuses for good."""
    with store.write() as session:
        entry = session.get(OutboxEntry, entry_id)
        entry.status, entry.last_error, entry.attempts = "failed", error, 5


def entry_status(store, entry_id: int) -> str:
    with store.read() as session:
        return session.get(OutboxEntry, entry_id).status


def queue_updates(store, count: int) -> list[int]:
    """Change a contact (of one domain) `count` times: the ids of the queued outbox entries."""
    for n in range(count):
        store.update_contact(
            "staff:bob", "ILC1002", store.get_contact("ILC1002").version, {"city": f"Bath {n}"}
        )
    with store.read() as session:
        return list(session.execute(select(OutboxEntry.id).order_by(OutboxEntry.id)).scalars())


async def open_sync(pilot) -> tuple[SyncScreen, DataTable]:
    app = pilot.app
    await pilot.press("f4")
    await wait_for(pilot, lambda: isinstance(app.screen, SyncScreen), what="Sync")
    table = app.screen.query_one("#outbox", DataTable)
    await wait_for(pilot, lambda: table.row_count, what="the outbox rows")
    return app.screen, table


async def highlight(pilot, table: DataTable, entry_id: int) -> None:
    """Tab to the table and move the cursor to the entry's row."""
    await focus_by_tab(pilot, "outbox")
    await pilot.press("ctrl+home")
    for _ in range(table.row_count):
        if str(table.get_row_at(table.cursor_row)[0]) == str(entry_id):
            return
        await pilot.press("down")
    raise AssertionError(f"entry {entry_id} is not in the table")


def row_of(table: DataTable, entry_id: int) -> list[str]:
    return next(row for row in rows(table) if row[0] == str(entry_id))


async def test_retry_a_failed_entry(app, demo_store):
    pending, failed = queue_updates(demo_store, 2)
    fail_entry(demo_store, failed)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, table = await open_sync(pilot)
        assert row_of(table, failed)[3:] == ["failed", "5", REGISTRY_ERROR]
        assert row_of(table, pending)[3] == "pending"
        counts = screen.query_one("#sync-counts", Static)
        assert "failed: 1" in text_of(counts) and "pending: 1" in text_of(counts)

        await highlight(pilot, table, failed)
        await pilot.press("t")
        await wait_for(
            pilot, lambda: row_of(table, failed)[3] == "pending", what="the row to refresh"
        )
        assert row_of(table, failed)[3:] == ["pending", "0", ""]
        assert "failed: 0" in text_of(counts) and "pending: 2" in text_of(counts)
        assert str(table.get_row_at(table.cursor_row)[0]) == str(failed)  # cursor kept

    assert entry_status(demo_store, failed) == "pending"
    [event] = audit.list_events(demo_store, entity_type="outbox_entry", entity_id=str(failed))
    assert (event.actor, event.action) == (ACTOR, "outbox.retry")
    assert event.changes["error"] == {"before": REGISTRY_ERROR, "after": None}


async def test_a_skipped_entry_shows_as_skipped_with_its_reason(app, demo_store):
    """An entry of a domain transferred away, as the worker records it: skipped, not failed."""
    [skipped] = queue_updates(demo_store, 1)
    reason = "domain transferred away on 2026-12-01: nothing sent"
    with demo_store.write() as session:
        entry = session.get(OutboxEntry, skipped)
        entry.status, entry.last_error, entry.attempts = "skipped", reason, 1
    async with app.run_test(size=(80, 24)) as pilot:
        screen, table = await open_sync(pilot)
        assert row_of(table, skipped)[3:] == ["skipped", "1", reason]
        counts = screen.query_one("#sync-counts", Static)
        assert "skipped: 1" in text_of(counts) and "failed: 0" in text_of(counts)


async def test_only_a_failed_entry_can_be_retried(app, demo_store):
    [pending] = queue_updates(demo_store, 1)
    async with app.run_test(size=(80, 24)) as pilot:
        _, table = await open_sync(pilot)
        await highlight(pilot, table, pending)
        await pilot.press("t")
        await wait_for(
            pilot,
            lambda: any("only a failed one" in n.message for n in app._notifications),
            what="the refusal",
        )
        await settle(pilot)
    assert entry_status(demo_store, pending) == "pending"


async def test_retrying_a_failed_tech_move_puts_its_request_back(app, demo_store):
    reference = confirmed_request(demo_store, "harbourside-bikes.com")
    flow = Workflow(demo_store)
    request = flow.approve_and_apply(actor="staff:bob", reference=reference).request
    fail_entry(demo_store, request.outbox_id, "2201 Authorization error")
    flow.mark_sync_failed(reference=reference, error="2201 Authorization error")
    async with app.run_test(size=(80, 24)) as pilot:
        _, table = await open_sync(pilot)
        assert row_of(table, request.outbox_id)[1:4] == ["domain.tech_move", "com", "failed"]
        await highlight(pilot, table, request.outbox_id)
        await pilot.press("t")
        await wait_for(pilot, lambda: row_of(table, request.outbox_id)[3] == "pending")

    assert entry_status(demo_store, request.outbox_id) == "pending"
    after = flow.get(reference)
    assert (after.state, after.sync_error) == ("applied", None)


async def test_the_status_filter(app, demo_store):
    _, failed = queue_updates(demo_store, 2)
    fail_entry(demo_store, failed)
    async with app.run_test(size=(80, 24)) as pilot:
        _, table = await open_sync(pilot)
        await wait_for(pilot, lambda: table.row_count == 2)
        await focus_by_tab(pilot, "status")
        await pilot.press("enter")  # open the list of statuses
        # all, pending, in_progress, done, local_only, failed, skipped
        await pilot.press(*["down"] * 5, "enter")
        await wait_for(pilot, lambda: [row[0] for row in rows(table)] == [str(failed)])
