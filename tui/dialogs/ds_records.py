"""Edit a domain's DS records: the domain is signed while it has any."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Static, TextArea

from domains.domain_edits import DomainEdit
from domains.store import Store
from tui.dialogs.domain_edit import DomainEditDialog


class DsRecordsDialog(DomainEditDialog):
    """Every DS record of the domain, one a line; saving replaces them all (none: unsigned)."""

    TITLE = "DS records of"

    def body(self) -> ComposeResult:
        state = "signed" if self.record.domain.dnssec else "unsigned"
        if self.record.domain.dnssec and not self.record.ds:
            state = "signed, its DS records not on file"
        yield Static(
            f"Now {state}. One DS record a line: key tag, algorithm, digest type, digest, "
            "e.g. 2371 13 2 1F987CC6583E92DF0890718C42... (the output of dnssec-dsfromkey "
            "does too).",
            id="help",
        )
        yield TextArea("\n".join(ds.text for ds in self.record.ds), id="f-ds", soft_wrap=True)

    def on_mount(self) -> None:
        self.query_one("#f-ds", TextArea).focus()

    def edit(self, store: Store, actor: str) -> Callable[[], DomainEdit]:
        text = self.query_one("#f-ds", TextArea).text
        lines = [line for line in text.splitlines() if line.strip()]
        domain = self.record.domain
        return lambda: store.set_ds(actor, domain.name, domain.version, lines)
