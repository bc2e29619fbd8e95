"""The keys of the search at 80x24: Enter opens, Down goes to the list, typing is never lost,
F2 comes back to the search from anywhere, F3 starts in the list of requests."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Static

from tests.support.factories import confirmed_request
from tests.support.pilot import column, settle, text_of, wait_for
from tui.screens.domain import DomainScreen
from tui.screens.domains import DomainsScreen
from tui.screens.request_detail import RequestDetailScreen
from tui.screens.requests import RequestsScreen

SIZE = (80, 24)
THISTLE = ["thistleandquill.co.uk", "thistleandquill.org", "thistlequill.com"]


def results(app) -> DataTable:
    return app.screen.query_one("#domains", DataTable)


def box(app) -> Input:
    return app.screen.query_one("#search", Input)


async def typed(pilot, text: str, expected: list[str]) -> None:
    """Type into the search box and wait for exactly these results."""
    app = pilot.app
    await pilot.press(*text)
    await wait_for(
        pilot,
        lambda: (
            column(results(app)) == expected
            and "shown" in text_of(app.screen.query_one("#search-status", Static))
        ),
        what=f"the results of {text!r}",
    )


async def shown_domain(pilot) -> str:
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, DomainScreen) and app.screen.details,
        what="a Domain screen",
    )
    return app.screen.domain_name


async def test_enter_in_the_search_box_opens_the_first_result(app):
    async with app.run_test(size=SIZE) as pilot:
        await typed(pilot, "thistle", THISTLE)
        assert app.focused is box(app)
        await pilot.press("enter")
        assert await shown_domain(pilot) == "thistleandquill.co.uk"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen))
        assert column(results(app)) == THISTLE  # the search as it was


async def test_enter_typed_before_the_results_came_opens_the_first_of_them(app):
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: results(app).row_count)
        await pilot.press(*"whitcombe", "enter")  # no wait: the search may still be running
        assert await shown_domain(pilot) == "whitcombe-illustration.co.uk"


async def test_down_moves_into_the_list_where_typing_goes_on_in_the_box(app):
    async with app.run_test(size=SIZE) as pilot:
        await typed(pilot, "thistle", THISTLE)
        await pilot.press("down")
        assert app.focused is results(app)
        assert isinstance(app.screen, DomainsScreen)
        await typed(pilot, "a", THISTLE[:2])  # typed while the list has the focus
        assert box(app).value == "thistlea"
        assert app.focused is box(app)
        # Keys the screen binds keep their meaning: / goes to the box, typing nothing.
        await pilot.press("down", "slash")
        assert app.focused is box(app) and box(app).value == "thistlea"
        # Enter in the list opens the highlighted row.
        await pilot.press("down", "down", "enter")
        assert await shown_domain(pilot) == "thistleandquill.org"


async def test_f2_returns_to_the_search_from_a_domain_and_from_another_section(app):
    async with app.run_test(size=SIZE) as pilot:
        await typed(pilot, "thistle", THISTLE)
        await pilot.press("enter")
        await shown_domain(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen), what="the search")
        assert app.focused is box(app) and box(app).value == "thistle"

        await pilot.press("enter")
        await shown_domain(pilot)
        await pilot.press("f5")  # another section, the domain still open under F2
        await settle(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen), what="the search")
        assert len(app.screen_stack) == 1
        assert app.focused is box(app)
        await typed(pilot, "andquill.o", ["thistleandquill.org"])  # typing goes on at once


async def test_the_requests_list_has_the_focus_and_enter_opens_the_highlighted_request(
    app, demo_store
):
    reference = confirmed_request(demo_store, "brightlineanalytics.org")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, RequestsScreen), what="Requests")
        table = app.screen.query_one("#requests", DataTable)
        await wait_for(pilot, lambda: table.row_count, what="the request in the list")
        assert app.focused is table
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RequestDetailScreen) and app.screen.details,
            what="the request",
        )
        assert app.screen.reference == reference


async def test_the_palettes_domains_entry_also_returns_to_the_search(app):
    async with app.run_test(size=SIZE) as pilot:
        await typed(pilot, "thistle", THISTLE)
        await pilot.press("enter")
        await shown_domain(pilot)
        entry = next(c for c in app.get_system_commands(app.screen) if c.title == "Domains")
        await entry.callback()
        await wait_for(pilot, lambda: isinstance(app.screen, DomainsScreen), what="the search")
        assert len(app.screen_stack) == 1 and app.focused is box(app)
