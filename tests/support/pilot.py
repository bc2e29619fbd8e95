"""Driving the staff app with Textual's Pilot: the app on a store, waits, keys, what is shown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from domains.settings import DnsSettings, Settings
from domains.store import Store
from tui.app import InterlinkApp, create_app
from tui.context import AppContext, PublicWhois
from tui.screens.audit import AuditScreen

ACTOR = "staff:ann"


#: Nothing listens there: live DNS and WHOIS answers fail at once.
CLOSED_PORT = 9


SIZE = (100, 30)


def demo_settings(database: Path, data_dir: Path) -> Settings:
    """Settings of a test store: its own file and data folder, DNS that answers nothing."""
    return Settings(
        database_url=f"sqlite:///{database}",
        data_dir=data_dir,
        dns=DnsSettings(resolvers=["127.0.0.1"], port=CLOSED_PORT, timeout=0.2),
    )


def make_app(store: Store, actor: str = ACTOR, **context: Any) -> InterlinkApp:
    """The staff app on `store` as the member of staff `actor` (staff:LOGIN, who must be in the
    store), with the public WHOIS on a closed port."""
    context.setdefault("whois", PublicWhois(host="127.0.0.1", port=CLOSED_PORT, timeout=0.5))
    staff = store.staff.active(actor.removeprefix("staff:"))
    return create_app(AppContext(store=store, staff=staff, **context))


def make_demo_app(store: Store, login: str = "ann", **context: Any) -> InterlinkApp:
    """The staff app as the demo opens it: acting as the demo member `login`, able to switch."""
    from tui.demo_staff import demo_staff_views

    staff = demo_staff_views(store)
    member = next(m for m in staff if m.login == login)
    return make_app(store, member.actor, demo_staff=staff, **context)


def palette_titles(app: InterlinkApp) -> list[str]:
    """The titles of every command the palette offers on the current screen."""
    return [command.title for command in app.get_system_commands(app.screen)]


def footer_actions(app: InterlinkApp) -> set[str]:
    """The actions whose keys the current screen's footer shows now."""
    from textual.widgets._footer import FooterKey

    return {str(key.action) for key in app.screen.query(FooterKey)}


async def wait_for(
    pilot: Pilot, condition: Callable[[], Any], tries: int = 200, what: str = ""
) -> Any:
    """Let the app work (workers, messages) until `condition()` is truthy; fail after `tries`.

    Each try lets the app process its queue and gives worker threads a moment; the condition,
    not the clock, decides when the wait is over.
    """
    value: Any = None
    for _ in range(tries):
        await pilot.pause()
        try:
            value = condition()
        except Exception as exc:  # a widget not mounted yet, a screen still switching
            value = exc
        if value and not isinstance(value, Exception):
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(
        f"gave up waiting for {what or condition} (last: {value!r}; screen {pilot.app.screen!r})"
    )


async def settle(pilot: Pilot) -> None:
    """Wait until every worker of the app has finished and its results are shown."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text (markup removed)."""
    return str(widget.render())


def rows(table: DataTable) -> list[list[str]]:
    """Every row of a table as plain strings."""
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def column(table: DataTable, index: int = 0) -> list[str]:
    """One column of a table as plain strings."""
    return [str(table.get_row_at(i)[index]) for i in range(table.row_count)]


async def focus_by_tab(pilot: Pilot, widget_id: str, limit: int = 80) -> None:
    """Press tab until the widget with `widget_id` has the focus (as a user would)."""
    for _ in range(limit):
        focused = pilot.app.focused
        if focused is not None and focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"tab never reached #{widget_id}")


async def retype(pilot: Pilot, widget_id: str, text: str) -> None:
    """Tab to an input, clear it (home, ctrl+k) and type `text`."""
    await focus_by_tab(pilot, widget_id)
    await pilot.press("home", "ctrl+k", *text)
    assert pilot.app.focused.value == text  # type: ignore[union-attr]


async def open_domain(pilot: Pilot, name: str, typed: str | None = None) -> Any:
    """From the Domains screen: type (a prefix of) the name, enter, enter; the Domain screen."""
    from tui.screens.domain import DomainScreen

    app = pilot.app
    table = app.screen.query_one("#domains", DataTable)
    await pilot.press(*(typed or name))

    def first_row() -> str:
        return str(table.coordinate_to_cell_key((0, 0)).row_key.value).split("#", 1)[0]

    await wait_for(pilot, lambda: table.row_count and first_row() == name, what=name)
    await pilot.press("enter", "enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, DomainScreen) and app.screen.details is not None,
        what=f"the Domain screen of {name}",
    )
    return app.screen


async def answer_yes(pilot: Pilot) -> None:
    """Wait for the question an irreversible action asks first, and answer Yes."""
    from tui.dialogs.confirm import ConfirmDialog

    await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the confirmation"
    )
    await pilot.press("y")


def shows_whole(widget: Any) -> bool:
    """Whether every cell of `widget` is on the screen and shows it: not cut, scrolled away,
    nor covered (by a notification, say)."""
    from textual.errors import NoWidget

    screen, region = widget.screen, widget.region
    if not region or not screen.region.contains_region(region):
        return False
    for y in range(region.y, region.bottom):
        for x in range(region.x, region.right):
            try:
                hit, _ = screen.get_widget_at(x, y)
            except NoWidget:
                return False
            if hit is not widget and widget not in hit.ancestors:
                return False
    return True


def drawn(widget: Any) -> str:
    """The lines `widget` draws now, as on the screen (wrapped, cut, ellipsised): plain text."""
    from textual.geometry import Region

    strips = widget.render_lines(Region(0, 0, widget.region.width, widget.region.height))
    return "\n".join(strip.text.rstrip() for strip in strips)


async def open_audit(pilot) -> DataTable:
    app = pilot.app
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), what="Audit")
    table = app.screen.query_one("#audit", DataTable)
    await wait_for(pilot, lambda: table.row_count, what="the audit rows")
    return table


def palette_prompts(app: Any) -> list[str]:
    """The prompts the open command palette lists now."""
    from textual.command import CommandList, CommandPalette

    palette = app.screen
    assert isinstance(palette, CommandPalette)
    options = palette.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def run_from_palette(pilot: Pilot, typed: str, title: str) -> None:
    """ctrl+p, type `typed`, wait until the first command offered contains `title`, enter."""
    from textual.command import CommandPalette

    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
    await pilot.press(*typed)
    await wait_for(
        pilot,
        lambda: palette_prompts(app) and title in palette_prompts(app)[0],
        what=f"{title!r} first in the palette",
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), what="closed")
