"""A banner saying where the demo's services listen (hidden when there is none)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class Banner(Static):
    """Shows the app context's banner text, if any: one or more lines, folded to the width."""

    def on_mount(self) -> None:
        self.show_text(getattr(self.app, "context", None) and self.app.context.banner)  # type: ignore[attr-defined]

    def show_text(self, text: str | None) -> None:
        """Show `text` as it is (paths and URLs are never read as markup), or hide the banner
        when there is none."""
        self.display = bool(text)
        if text:
            self.update(Content(text))
