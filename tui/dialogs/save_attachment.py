"""Save an attachment of a disclosure request to a file whose path staff type; a file already
there is never overwritten."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select

from domains.disclosure_views import AttachmentView
from domains.disclosures import Disclosures
from domains.errors import FieldError as Refusal
from domains.errors import InterlinkError, ValidationFailed
from tui.widgets.form import FieldError, FieldRow, FormSummary, show_field_errors, show_summary

log = logging.getLogger(__name__)

LABELS = {"attachment": "Attachment", "path": "Save as"}


def write_new(path: str, content: bytes) -> Path:
    """Write `content` to a new file at `path` (~ expanded); refuse a file already there."""
    if not path:
        raise ValidationFailed(Refusal("path", "type the path of the file to write"))
    target = Path(path).expanduser()
    try:
        with target.open("xb") as out:
            out.write(content)
    except FileExistsError:
        raise ValidationFailed(
            Refusal("path", "a file is there already; it was not overwritten: choose another name")
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValidationFailed(Refusal("path", f"cannot be written: {reason}")) from None
    return target


class SaveAttachmentDialog(ModalScreen[Path | None]):
    """Which attachment, and where to."""

    DEFAULT_CSS = """
    SaveAttachmentDialog { align: center middle; }
    SaveAttachmentDialog #save-box {
        width: 76; max-width: 100%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    SaveAttachmentDialog #save-buttons { height: auto; margin-top: 1; align-horizontal: right; }
    SaveAttachmentDialog #save-buttons Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "close", "Close"), Binding("ctrl+s", "submit", "Save")]

    def __init__(self, reference: str, attachments: Sequence[AttachmentView]) -> None:
        super().__init__()
        self.reference = reference
        self.attachments = list(attachments)

    def compose(self) -> ComposeResult:
        with Vertical(id="save-box") as box:
            box.border_title = f"Save an attachment of {self.reference}"
            yield FormSummary(id="e-form")
            options = [(Text(f"{a.filename} ({a.size} bytes)"), a.id) for a in self.attachments]
            yield FieldRow(
                LABELS["attachment"],
                Select(
                    options,
                    value=self.attachments[0].id,
                    allow_blank=False,
                    id="f-attachment",
                    compact=True,
                ),
                FieldError(id="e-attachment"),
            )
            yield FieldRow(
                LABELS["path"],
                Input(id="f-path", placeholder="~/orders/order.pdf", compact=True),
                FieldError(id="e-path"),
            )
            with Horizontal(id="save-buttons"):
                yield Button("Save (ctrl+s)", variant="primary", id="submit", compact=True)
                yield Button("Close (esc)", id="close", compact=True)

    def on_mount(self) -> None:
        self.query_one("#f-path", Input).focus()

    def show_errors(self, exc: Exception) -> None:
        found: dict[str, str] = {}
        general: list[str] = []
        for error in exc.errors if isinstance(exc, ValidationFailed) else []:
            found.setdefault(error.field, error.message)
        if not isinstance(exc, ValidationFailed):
            general.append(str(exc))
        show_field_errors(self, LABELS, {k: v for k, v in found.items() if k in LABELS})
        show_summary(self, "Not saved", found, LABELS, general)

    @on(Input.Submitted, "#f-path")
    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        """Read the attachment and write it to a new file, in a worker."""
        attachment_id = int(str(self.query_one("#f-attachment", Select).value))
        path = self.query_one("#f-path", Input).value.strip()
        store = self.app.context.store  # type: ignore[attr-defined]
        actor = self.app.context.actor  # type: ignore[attr-defined]

        def runner() -> None:
            try:
                _, content = Disclosures(store).attachment(actor, self.reference, attachment_id)
                written = write_new(path, content)
            except InterlinkError as exc:
                self.app.call_from_thread(self.show_errors, exc)
                return
            except Exception as exc:  # a user never sees a traceback; the log keeps it
                log.exception("saving an attachment failed")
                failed = RuntimeError(f"unexpected error ({type(exc).__name__}); see the log")
                self.app.call_from_thread(self.show_errors, failed)
                return
            self.app.call_from_thread(self.dismiss, written)

        self.run_worker(runner, thread=True, group="save")

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        """Close without saving."""
        self.dismiss(None)
