"""The keys of the four main screens, always visible (the footer keeps the screen's own keys)."""

from __future__ import annotations

from textual.widgets import Static

MODES = (
    ("f2", "domains", "Domains"),
    ("f3", "requests", "Requests"),
    ("f4", "sync", "Sync"),
    ("f5", "audit", "Audit"),
)


class ModeBar(Static):
    """F2 Domains  F3 Requests  F4 Sync  F5 Audit, with the current one highlighted."""

    def __init__(self, current: str) -> None:
        parts = []
        for key, mode, label in MODES:
            text = f"[b]{key.upper()}[/] {label}"
            parts.append(f"[reverse] {text} [/]" if mode == current else f" {text} ")
        super().__init__("".join(parts) + "  [dim]ctrl+p: all actions[/]", classes="mode-bar")
