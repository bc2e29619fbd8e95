"""A one-line banner saying where the demo's services listen (hidden when there is none)."""

from __future__ import annotations

from textual.widgets import Static


class Banner(Static):
    """Shows the app context's banner text, if any."""

    def on_mount(self) -> None:
        text = getattr(self.app, "context", None) and self.app.context.banner  # type: ignore[attr-defined]
        if text:
            self.update(text)
        else:
            self.display = False
