"""A banner: where the demo's services listen and who the demo acts as (hidden outside a demo)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from domains.staff import StaffView
from tui.permissions import roles_text


def acting_line(staff: StaffView) -> str:
    """The banner's line in a demo: who the app acts as, and how to switch."""
    return (
        f"Demo: acting as {staff.display_name} ({staff.login}, {roles_text(staff)})"
        " - ctrl+p 'act as' switches"
    )


class Banner(Static):
    """Shows the app context's banner text, if any: one or more lines, folded to the width; in a
    demo, a last line says who the app acts as."""

    def on_mount(self) -> None:
        context = getattr(self.app, "context", None)
        self.show_text(context.banner if context is not None else None)

    def show_text(self, text: str | None) -> None:
        """Show `text` as it is (paths and URLs are never read as markup), or hide the banner
        when there is none and this is no demo."""
        lines = [text] if text else []
        context = getattr(self.app, "context", None)
        if context is not None and context.is_demo:
            lines.append(acting_line(context.staff))
        self.display = bool(lines)
        if lines:
            self.update(Content("\n".join(lines)))
