"""Make another contact of the domain's account its registrant."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widgets import Input, Static

from domains.domain_edits import DomainEdit
from domains.store import Store
from tui.dialogs.domain_edit import DomainEditDialog


class ChangeRegistrantDialog(DomainEditDialog):
    """The new registrant's handle; the registry is told of the change."""

    TITLE = "Registrant of"

    def body(self) -> ComposeResult:
        now = self.record.contact("registrant")
        held = f"{now.handle} ({now.org or now.name})" if now else "nobody"
        yield Static(
            f"Now {held}. Give the handle of another contact of account "
            f"{self.record.account.number}.",
            id="help",
            markup=False,
        )
        yield Input(placeholder="handle, e.g. ILC1008", id="f-registrant", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-registrant", Input).focus()

    def on_input_submitted(self) -> None:
        self.action_save()

    def edit(self, store: Store, actor: str) -> Callable[[], DomainEdit]:
        handle = self.query_one("#f-registrant", Input).value.strip()
        domain = self.record.domain
        return lambda: store.change_registrant(actor, domain.name, domain.version, handle)
