"""The last registry drift check's differences (`interlink sync --reconcile`), one per line."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Static

from domains.drift import DriftRunView

PERSONAL = "(personal)"
REGISTRY_SECTION = "registry"


def drift_summary(run: DriftRunView | None) -> str:
    """One line about the last drift check, for the Sync screen."""
    if run is None:
        return "Drift check: never run (interlink sync --reconcile)"
    scope = f".{run.tld}" if run.tld else "all TLDs"
    return (
        f"Drift check {run.finished_at:%Y-%m-%d %H:%M} UTC ({scope}): "
        f"{run.domains_checked} checked, {run.domains_differing} differ, {run.errors} errors"
    )


def _value(value: str | None, section: str) -> Text:
    if value is None:
        shown = "—" if section in ("domain", REGISTRY_SECTION) else PERSONAL
        return Text(shown, style="dim")
    return Text(value)


class DriftDialog(ModalScreen[None]):
    """The last drift check: what it counted, and each difference (contact values are personal
    and not kept: `interlink registry show DOMAIN` shows them)."""

    DEFAULT_CSS = """
    DriftDialog {
        align: center middle;
    }
    DriftDialog #drift-box {
        width: 100%;
        height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    DriftDialog #drift-title {
        text-style: bold;
        height: auto;
    }
    DriftDialog #drift-buttons {
        height: auto;
        align-horizontal: right;
    }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, run: DriftRunView | None) -> None:
        super().__init__()
        self.drift_run = run

    def compose(self) -> ComposeResult:
        with Vertical(id="drift-box"):
            yield Static(Text(drift_summary(self.drift_run)), id="drift-title")
            table: DataTable[Text] = DataTable(id="drift-table", zebra_stripes=True)
            yield table
            with Horizontal(id="drift-buttons"):
                yield Button("Close (Esc)", id="close", compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#drift-table", DataTable)
        table.add_columns("Domain", "Object", "Field", "Registry", "Interlink")
        for finding in self.drift_run.findings if self.drift_run is not None else ():
            table.add_row(
                Text(finding.domain),
                Text(finding.section),
                Text(finding.field),
                _value(finding.registry, finding.section),
                _value(finding.store, finding.section),
            )
        table.focus()

    @on(Button.Pressed, "#close")
    def close_pressed(self) -> None:
        """Back to the Sync screen."""
        self.dismiss(None)

    def action_close(self) -> None:
        """Back to the Sync screen."""
        self.dismiss(None)
