"""No access: what a member of staff whose roles do not include customer data sees instead."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from domains.staff import NEEDS, Permission
from tui.permissions import roles_text
from tui.widgets.banner import Banner


class NoAccessScreen(Screen):
    """A notice instead of the sections: nothing here reads the store."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Banner()
        # Never read as markup: the display name is whatever an admin typed.
        yield Static("", id="no-access", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "No customer data"
        self.on_screen_resume()

    def on_screen_resume(self) -> None:
        """Name the member and roles at the keyboard now (a demo may switch them)."""
        staff = self.app.context.staff  # type: ignore[attr-defined]
        needed = NEEDS[Permission.VIEW]
        self.query_one("#no-access", Static).update(
            f"You are staff:{staff.login} ({staff.display_name}); your roles "
            f"({roles_text(staff)}) do not include customer data.\n\n"
            f"The domains, requests, registry sync and audit sections need the {needed} role "
            "(a supervisor or the privacy officer has it too).\n\n"
            "Staff accounts are managed with `interlink staff` in a shell.\n\n"
            "ctrl+q quits."
        )
