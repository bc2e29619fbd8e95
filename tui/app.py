"""The support staff's Textual app: one factory shared by `interlink tui`, the demo and tests."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.context import AppContext
from tui.screens.audit import AuditScreen
from tui.screens.domains import DomainsScreen
from tui.screens.requests import RequestsScreen
from tui.screens.sync import SyncScreen


class InterlinkApp(App[None]):
    """Domains, requests, registry sync and audit, for Interlink's support staff."""

    TITLE = "Interlink"
    CSS_PATH = "app.tcss"
    MODES = {
        "domains": DomainsScreen,
        "requests": RequestsScreen,
        "sync": SyncScreen,
        "audit": AuditScreen,
    }
    DEFAULT_MODE = "domains"
    BINDINGS = [
        # Shown in every screen's mode bar rather than the footer, which needs its 80 columns
        # for the screen's own keys.
        # F2 is the way back to the search from anywhere, so it leaves any domain screen.
        Binding("f2", "search", "Domains", show=False),
        Binding("f3", "switch_mode('requests')", "Requests", show=False),
        Binding("f4", "switch_mode('sync')", "Sync", show=False),
        Binding("f5", "switch_mode('audit')", "Audit", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.sub_title = context.actor

    @property
    def store(self):
        """The store every screen reads and writes."""
        return self.context.store

    @property
    def actor(self) -> str:
        """The audit actor: staff:NAME."""
        return self.context.actor

    async def action_search(self) -> None:
        """The Domains search, its box focused: from another section, or from a domain screen
        (or a dialog) opened on top of it, which is closed."""
        if self.current_mode != "domains":
            await self.switch_mode("domains")
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        screen = self.screen
        if isinstance(screen, DomainsScreen):
            screen.action_focus_search()

    def on_ready(self) -> None:
        """The first screen is up: let the composition root start what it needs."""
        if self.context.on_ready is not None:
            self.context.on_ready(self)

    def set_banner(self, text: str) -> None:
        """Change the banner on every screen that shows one."""
        from tui.widgets.banner import Banner

        self.context.banner = text
        for screen in self.screen_stack:
            for banner in screen.query(Banner):
                banner.show_text(text)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action of the app and of the current screen, in the command palette."""
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Domains", "Search the domains (F2)", partial(self.run_action, "search")
        )
        for mode, title, help_text in (
            ("requests", "Requests", "Technical-contact change requests (F3)"),
            ("sync", "Sync", "Registry sync outbox (F4)"),
            ("audit", "Audit", "The audit trail (F5)"),
        ):
            yield SystemCommand(title, help_text, partial(self.switch_mode, mode))
        palette = getattr(screen, "palette_commands", None)
        if palette is not None:
            yield from palette()


def create_app(context: AppContext) -> InterlinkApp:
    """The app, ready to run (CLI) or to drive with Pilot (tests)."""
    return InterlinkApp(context)
