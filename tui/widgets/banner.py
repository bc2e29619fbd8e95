"""A banner saying where the demo's services listen (hidden when there is none)."""

from __future__ import annotations

from textual.widgets import Static


class Banner(Static):
    """Shows the app context's banner text, if any."""

    def on_mount(self) -> None:
        self.show_text(getattr(self.app, "context", None) and self.app.context.banner)  # type: ignore[attr-defined]

    def show_text(self, text: str | None) -> None:
        """Show `text`, or hide the banner when there is none."""
        self.display = bool(text)
        if text:
            self.update(text)
