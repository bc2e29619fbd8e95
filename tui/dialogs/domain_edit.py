"""What the dialogs editing a domain's registry data share: the frame, saving off the UI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from domains.domain_edits import DomainEdit
from domains.errors import InterlinkError
from domains.store import DomainRecord, Store
from tui.widgets.form import FormSummary

log = logging.getLogger(__name__)


class DomainEditDialog(ModalScreen[bool]):
    """A form over one domain's record: ctrl+s saves it through the store (in a worker), a
    refusal shows every reason above the form, Escape closes; True when something changed."""

    DEFAULT_CSS = """
    DomainEditDialog {
        align: center middle;
    }
    DomainEditDialog #edit-box {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    DomainEditDialog #edit-body {
        height: auto;
    }
    DomainEditDialog #edit-buttons {
        height: auto;
        align-horizontal: right;
    }
    DomainEditDialog #edit-buttons Button {
        margin-left: 2;
    }
    DomainEditDialog TextArea {
        height: 7;
    }
    """
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+s", "save", "Save")]
    #: The frame's title, e.g. "Name servers of".
    TITLE = ""

    def __init__(self, record: DomainRecord) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical(id="edit-box") as box:
            box.border_title = f"{self.TITLE} {self.record.domain.unicode_name}"
            yield FormSummary(id="e-form")
            with Vertical(id="edit-body"):
                yield from self.body()
            with Horizontal(id="edit-buttons"):
                yield from self.extra_buttons()
                yield Button("Save (ctrl+s)", variant="primary", id="save", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    def body(self) -> ComposeResult:
        """The fields of the form."""
        yield Static("")

    def extra_buttons(self) -> ComposeResult:
        """Buttons beside Save (none unless a dialog has some)."""
        yield from ()

    def edit(self, store: Store, actor: str) -> Callable[[], DomainEdit]:
        """The store call that saves the form (read on the UI thread, run in a worker)."""
        raise NotImplementedError

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        """Save through the store in a worker; close on success, show the refusal if any."""
        store = self.app.context.store  # type: ignore[attr-defined]
        actor = self.app.context.actor  # type: ignore[attr-defined]
        try:
            work = self.edit(store, actor)
        except InterlinkError as exc:
            self.show_refusal(exc)
            return

        def runner() -> None:
            try:
                edit = work()
            except InterlinkError as exc:
                self.app.call_from_thread(self.show_refusal, exc)
                return
            except Exception as exc:  # a user never sees a traceback; the log keeps it
                log.exception("saving a domain edit failed")
                self.app.call_from_thread(
                    self.show_refusal, RuntimeError(f"unexpected error: {exc}")
                )
                return
            self.app.call_from_thread(self.saved, edit)

        self.run_worker(runner, thread=True, group="save", exclusive=True)

    def saved(self, edit: DomainEdit) -> None:
        """Say what was done and close."""
        name = edit.record.domain.unicode_name
        if edit.changed:
            self.app.notify(f"{name}: saved; the registry update is queued")
        else:
            self.app.notify(f"{name}: nothing changed")
        self.dismiss(edit.changed)

    def show_refusal(self, exc: Exception) -> None:
        """Every reason, field by field, above the form (shown as typed, never as markup)."""
        errors = getattr(exc, "errors", None)
        lines = [str(error) for error in errors] if errors else [str(exc)]
        self.query_one("#e-form", FormSummary).show(["Not saved:", *lines])

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        """Close without saving."""
        self.dismiss(False)
