"""The keys of the five main screens, always visible (the footer keeps the screen's own keys)."""

from __future__ import annotations

from textual.widgets import Static

MODES = (
    ("f2", "domains", "Domains"),
    ("f3", "requests", "Requests"),
    ("f4", "sync", "Sync"),
    ("f5", "audit", "Audit"),
    ("f6", "disclosures", "Disclosures"),
)


class ModeBar(Static):
    """F2 Domains ... F6 Disclosures, with the current one highlighted."""

    def __init__(self, current: str) -> None:
        parts = []
        for key, mode, label in MODES:
            text = f"[b]{key.upper()}[/] {label}"
            parts.append(f"[reverse] {text} [/]" if mode == current else f" {text} ")
        super().__init__("".join(parts) + "  [dim]ctrl+p: actions[/]", classes="mode-bar")
