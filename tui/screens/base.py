"""What every staff screen shares: database work off the UI thread, errors, palette entries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen

from domains.errors import InterlinkError
from tui.permissions import allowed

if TYPE_CHECKING:
    from domains.staff import StaffView
    from domains.store import Store

T = TypeVar("T")
log = logging.getLogger(__name__)


class StaffScreen(Screen):
    """A screen that talks to the store only from worker threads, and offers (footer, palette,
    keys) only the actions the member at the keyboard may do."""

    #: The palette prefix of this screen's actions, e.g. "Domain".
    PALETTE_GROUP = ""

    @property
    def store(self) -> Store:
        """The store of the app."""
        return self.app.context.store  # type: ignore[attr-defined]

    @property
    def actor(self) -> str:
        """The staff member at the keyboard (audit actor)."""
        return self.app.context.actor  # type: ignore[attr-defined]

    @property
    def staff(self) -> StaffView:
        """The member of staff at the keyboard."""
        return self.app.context.staff  # type: ignore[attr-defined]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """An action the member's roles do not allow is hidden from the footer and not run."""
        return allowed(self.staff, action)

    def palette_commands(self) -> Iterable[SystemCommand]:
        """Each binding of this screen the member may use, as a command palette entry."""
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if not allowed(self.staff, binding.action):
                continue
            title = (
                f"{self.PALETTE_GROUP}: {binding.description}"
                if self.PALETTE_GROUP
                else binding.description
            )
            yield SystemCommand(
                title, f"key {binding.key}", partial(self.run_action, binding.action)
            )

    def background(
        self,
        work: Callable[[], T],
        done: Callable[[T], Any],
        *,
        group: str = "db",
        exclusive: bool = False,
        failed: Callable[[Exception], Any] | None = None,
    ) -> None:
        """Run `work` in a thread; hand its result (or error) back on the UI thread."""

        def runner() -> None:
            try:
                result = work()
            except InterlinkError as exc:
                self.app.call_from_thread(self._deliver, failed or self.show_error, exc)
                return
            except Exception as exc:  # a user never sees a traceback; the log keeps it
                log.exception("background task failed")
                self.app.call_from_thread(
                    self._deliver,
                    failed or self.show_error,
                    RuntimeError(f"unexpected error: {exc}"),
                )
                return
            self.app.call_from_thread(self._deliver, done, result)

        self.run_worker(runner, thread=True, group=group, exclusive=exclusive)

    def _deliver(self, handler: Callable[[Any], Any], value: Any) -> None:
        """Hand a result to the screen, unless the screen is gone meanwhile (a demo that
        switched staff removes the screens of the member before)."""
        if not (self.is_attached and self.is_running):
            return
        try:
            handler(value)
        except NoMatches:
            if self.children:
                raise
            # The screen is being taken down (the app is closing): its widgets went first and
            # there is nothing left to show the result on.

    def show_error(self, exc: Exception) -> None:
        """A clear message in a notification, never a traceback."""
        # The message may quote what someone typed: shown as it is, never read as markup.
        self.notify(str(exc), title="Not done", severity="error", timeout=8, markup=False)
