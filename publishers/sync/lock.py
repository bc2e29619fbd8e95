"""On SQLite one sync worker runs at a time: it holds an exclusive flock next to the store."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from domains.errors import InterlinkError


class WorkerBusy(InterlinkError):
    """Another sync worker already runs on this SQLite store."""


class SqliteWorkerLock:
    """An exclusive flock on ``<database file>.sync-lock``: one sync worker per store at a time.

    The kernel drops it when the process dies, even by SIGKILL, so holding it proves that no
    other worker is alive: every entry left in progress is an orphan, reclaimed at once.
    """

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database
        if not database or database == ":memory:":
            self.path: Path | None = None
        else:
            self.path = Path(database).resolve().with_name(Path(database).name + ".sync-lock")
        self._fd: int | None = None

    def acquire(self, *, wait: float = 0.0) -> None:
        """Take the lock, waiting up to wait seconds; WorkerBusy when another worker holds it."""
        if self.path is None or self._fd is not None:
            return
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise WorkerBusy(
                        "another sync worker is running on this SQLite store "
                        f"(it holds {self.path}); on SQLite one worker runs at a time"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            import fcntl

            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


__all__ = ["SqliteWorkerLock", "WorkerBusy"]
