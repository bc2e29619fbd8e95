"""A command in a tmux session of a given size: its screen as text, and keys sent to it."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from tests.support.environment import REQUIRE_ALL

#: Skip without tmux (in CI, where everything is required, fail instead).
needs_tmux = pytest.mark.skipif(
    shutil.which("tmux") is None and not REQUIRE_ALL, reason="tmux is not installed"
)
_serial = itertools.count(1)


@dataclass(frozen=True)
class TmuxSession:
    name: str

    def screen(self) -> str:
        """What the pane shows now, as plain text."""
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        ).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)


@contextmanager
def tmux_session(command: str, size: tuple[int, int] = (80, 24)) -> Iterator[TmuxSession]:
    """Run the shell `command` in a new detached session; killed when the block ends."""
    name = f"interlink-test-{os.getpid()}-{next(_serial)}"
    width, height = size
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command],
        check=True,
    )
    try:
        yield TmuxSession(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
