"""Rich progress bars for long jobs (import, export, sync backlog)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def rich_progress() -> Iterator[Progress]:
    """A progress display on stderr that vanishes when the job is done."""
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
        # On stderr, and only on a terminal: stdout carries only the command's result, and a
        # log file gets no bar drawings (nor the empty line a stopped bar leaves).
        console=console,
        disable=not console.is_terminal,
        redirect_stdout=False,
    )
    with progress:
        yield progress
