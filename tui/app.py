"""The support staff's Textual app: one factory shared by `interlink tui`, the demo and tests."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from domains.staff import Permission
from tui.context import AppContext
from tui.permissions import roles_text
from tui.screens.audit import AuditScreen
from tui.screens.disclosures import DisclosuresScreen
from tui.screens.domains import DomainsScreen
from tui.screens.no_access import NoAccessScreen
from tui.screens.requests import RequestsScreen
from tui.screens.sync import SyncScreen

#: Where a member of staff who may not see customer data lands, and stays.
NO_ACCESS = "no_access"


class InterlinkApp(App[None]):
    """Domains, requests, registry sync and audit, for Interlink's support staff."""

    TITLE = "Interlink"
    CSS_PATH = "app.tcss"
    MODES = {
        "domains": DomainsScreen,
        "requests": RequestsScreen,
        "sync": SyncScreen,
        "audit": AuditScreen,
        "disclosures": DisclosuresScreen,
        NO_ACCESS: NoAccessScreen,
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
        Binding("f6", "switch_mode('disclosures')", "Disclosures", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, context: AppContext) -> None:
        self.context = context
        # The first screen follows the member's roles: read by App.__init__.
        self.DEFAULT_MODE = self.home_mode()  # type: ignore[misc]
        super().__init__()
        self.sub_title = self.who()

    def home_mode(self) -> str:
        """The Domains search for staff who may see customer data; the notice for the others."""
        return "domains" if self.context.staff.may(Permission.VIEW) else NO_ACCESS

    def who(self) -> str:
        """The member at the keyboard, for the header: login and roles."""
        staff = self.context.staff
        return f"{staff.actor} ({roles_text(staff)})"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The sections need the right to see customer data; switching staff needs a demo."""
        if action in ("search", "switch_mode"):
            return self.context.staff.may(Permission.VIEW)
        if action == "act_as":
            return self.context.is_demo
        return True

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

    def set_banner(self, text: str | None) -> None:
        """Change the banner on every screen that shows one."""
        from tui.widgets.banner import Banner

        self.context.banner = text
        for screen in self.screen_stack:
            for banner in screen.query(Banner):
                banner.show_text(text)

    async def action_act_as(self, login: str) -> None:
        """In a demo: act as another demo member of staff; every section starts afresh for them."""
        member = next((m for m in self.context.demo_staff if m.login == login), None)
        if member is None:
            return
        self.context.staff = member
        self.sub_title = self.who()
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        home = self.home_mode()
        await self.switch_mode(home)
        for mode, screen in self.MODES.items():
            if mode != home:
                await self.remove_mode(mode)
                self.add_mode(mode, screen)
        self.set_banner(self.context.banner)
        self.screen.refresh_bindings()
        self.notify(f"acting as {member.display_name} ({roles_text(member)})", title="Demo")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action of the app and of the current screen the member may use, in the palette."""
        yield from super().get_system_commands(screen)
        staff = self.context.staff
        for action, title, help_text in (
            ("search", "Domains", "Search the domains (F2)"),
            ("switch_mode('requests')", "Requests", "Technical-contact change requests (F3)"),
            ("switch_mode('sync')", "Sync", "Registry sync outbox (F4)"),
            ("switch_mode('audit')", "Audit", "The audit trail (F5)"),
            ("switch_mode('disclosures')", "Disclosures", "Requests for non-public data (F6)"),
        ):
            if self.check_action(action.split("(", 1)[0], ()):
                yield SystemCommand(title, help_text, partial(self.run_action, action))
        for member in self.context.demo_staff:
            if member.login != staff.login:
                yield SystemCommand(
                    f"Demo: act as {member.display_name} ({roles_text(member)})",
                    f"switch the demo to staff:{member.login}",
                    partial(self.run_action, f"act_as({member.login!r})"),
                )
        palette = getattr(screen, "palette_commands", None)
        if palette is not None:
            yield from palette()


def create_app(context: AppContext) -> InterlinkApp:
    """The app, ready to run (CLI) or to drive with Pilot (tests)."""
    return InterlinkApp(context)
