"""Lock or unlock a domain (the registrar lock), or set and lift its client statuses one by one."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Checkbox, Static

from domains.domain_edits import DomainEdit
from domains.store import Store
from domains.validation import CLIENT_STATUSES, REGISTRAR_LOCK
from tui.dialogs.domain_edit import DomainEditDialog


class ClientStatusesDialog(DomainEditDialog):
    """The client statuses as check boxes; Lock and Unlock save the registrar lock at once."""

    TITLE = "Lock and client statuses of"

    def body(self) -> ComposeResult:
        yield Static(
            "The registrar lock is the three statuses marked *: no transfer, update or delete "
            "until Interlink lifts it. Lock and Unlock save at once; ctrl+s saves the boxes.",
            id="help",
        )
        held = set(self.record.domain.statuses)
        for status in CLIENT_STATUSES:
            mark = " *" if status in REGISTRAR_LOCK else ""
            yield Checkbox(f"{status}{mark}", status in held, id=f"c-{status}", compact=True)

    def extra_buttons(self) -> ComposeResult:
        yield Button("Lock", id="lock", compact=True)
        yield Button("Unlock", id="unlock", compact=True)

    def checked(self) -> set[str]:
        """The statuses whose boxes are ticked."""
        return {s for s in CLIENT_STATUSES if self.query_one(f"#c-{s}", Checkbox).value}

    def edit(self, store: Store, actor: str) -> Callable[[], DomainEdit]:
        held = {s for s in self.record.domain.statuses if s in CLIENT_STATUSES}
        wanted = self.checked()
        domain = self.record.domain
        add = [s for s in CLIENT_STATUSES if s in wanted - held]
        remove = [s for s in CLIENT_STATUSES if s in held - wanted]
        return lambda: store.set_client_statuses(
            actor, domain.name, domain.version, add=add, remove=remove
        )

    @on(Button.Pressed, "#lock")
    def lock_pressed(self) -> None:
        """Tick the registrar lock's statuses and save."""
        self._set_lock(True)

    @on(Button.Pressed, "#unlock")
    def unlock_pressed(self) -> None:
        """Clear the registrar lock's statuses and save."""
        self._set_lock(False)

    def _set_lock(self, locked: bool) -> None:
        for status in REGISTRAR_LOCK:
            self.query_one(f"#c-{status}", Checkbox).value = locked
        self.action_save()
