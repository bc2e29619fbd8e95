"""Nothing is cut at 80x24: columns follow the terminal's width, a long value ends in an
ellipsis and the highlighted row's cut values are shown in full under the table."""

from __future__ import annotations

from textual.widgets import DataTable

from domains.changes import Workflow
from tests.support.factories import confirmed_request
from tests.support.pilot import open_domain, settle, wait_for
from tui.screens.audit import AuditScreen
from tui.screens.requests import RequestsScreen
from tui.widgets.fitted_table import Col, FittedTable, fit_widths

SIZE = (80, 24)


def drawn_row(table: DataTable, row: int) -> str:
    """The text a row is drawn with (row 0 is under the header)."""
    return table.render_line(row + 1 - int(table.scroll_y)).text


def check_shown(table: FittedTable) -> list[str]:
    """Every value of the highlighted row is drawn whole, or cut with an ellipsis and shown
    whole on the line under the table; nothing is off to the right. The values cut."""
    assert table.virtual_size.width <= table.size.width, "the table scrolls sideways"
    line = drawn_row(table, table.cursor_row)
    under = dict(table.line.values)
    cut = []
    for fit, value in zip(table.fits, table.row_values(), strict=True):
        if value in line:
            continue
        cut.append(fit.label)
        assert under.get(fit.label) == value, (fit.label, value, under)
        column = table.ordered_columns[table.fits.index(fit)]
        assert value[: column.width - 1] + "…" in line, (value, line)
    return cut


async def test_the_requests_list_shows_whole_dates_and_every_value_somewhere(app, demo_store):
    confirmed_request(demo_store, "brightlineanalytics.org", actor="customer:portal")
    reference = confirmed_request(demo_store, "harbourside-bikes.co.uk")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestsScreen), what="Requests")
        table = app.screen.query_one("#requests", FittedTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="two requests")
        await settle(pilot)
        created = Workflow(demo_store).get(reference).created_at.strftime("%Y-%m-%d %H:%M")
        for row in range(2):
            assert table.row_values(row)[5][:4] == created[:4]
            assert table.row_values(row)[5] in drawn_row(table, row)  # "Created" never cut
        for _ in range(2):
            cut = check_shown(table)
            assert {"Reference", "State", "Created"}.isdisjoint(cut)
            await pilot.press("down")
            await settle(pilot)


async def test_the_domain_screen_shows_the_whole_e_mail_of_the_highlighted_contact(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_domain(pilot, "caffeaurora.com", typed="caffe")
        await settle(pilot)
        contacts = screen.query_one("#contacts", FittedTable)
        assert contacts.row_values()[3] == "info@caffeaurora.example.com"
        assert "E-mail" in check_shown(contacts)
        assert ("E-mail", "info@caffeaurora.example.com") in contacts.line.values
        await pilot.press("down")
        await settle(pilot)
        check_shown(contacts)
        assert ("E-mail", "hostmaster@interlink.example.net") in contacts.line.values


async def test_the_audit_entity_is_shown_whole_and_columns_follow_a_resize(app, demo_store):
    reference = confirmed_request(demo_store, "brightlineanalytics.org")
    Workflow(demo_store).reject(actor="staff:bob", reference=reference, reason="Not the owner")
    entity = f"change_request:{reference}"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), what="Audit")
        table = app.screen.query_one("#audit", FittedTable)
        await wait_for(pilot, lambda: table.row_count, what="the trail")
        await settle(pilot)
        assert table.row_values()[3] == entity
        check_shown(table)
        narrow = [column.width for column in table.ordered_columns]

        await pilot.resize_terminal(160, 30)
        await settle(pilot)
        wide = [column.width for column in table.ordered_columns]
        assert all(w >= n for w, n in zip(wide, narrow, strict=True)) and sum(wide) > sum(narrow)
        assert entity in drawn_row(table, 0)
        assert table.size.width - sum(c.get_render_width(table) for c in table.ordered_columns) < 3
        check_shown(table)

        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        assert [column.width for column in table.ordered_columns] == narrow


def test_fixed_columns_keep_their_width_flexible_ones_share_the_rest():
    columns = (Col("A", 10), Col("B", 5, share=1), Col("C", 5, share=3))
    # Room for every value: each flexible column gets its widest, the rest goes by share.
    assert fit_widths(columns, [10, 8, 12], 40) == [10, 8 + 3, 12 + 7]
    # Not enough: a column that needs less than its share gets just that, the other the rest.
    assert fit_widths(columns, [10, 7, 40], 30) == [10, 7, 13]
    # Both want more than their share: by share.
    assert fit_widths(columns, [10, 40, 40], 30) == [10, 5 + 3, 5 + 7]
    # Narrower than the minimums: the minimums (the table then scrolls).
    assert fit_widths(columns, [10, 40, 40], 12) == [10, 5, 5]
