"""How a sync worker is tuned: one frozen options object (architecture §6)."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any, Protocol

SWITCH_INTERVAL = 0.0005
"""GIL switch interval for a process that runs a worker (`interlink sync` sets it): the event
loop waits on the network and must get the GIL back quickly from the database thread; with
Python's default 5 ms every EPP answer could wait that long."""


@dataclass(frozen=True)
class SyncOptions:
    """The settings of one sync worker; the defaults are those of `interlink sync`.

    The worker's collaborators (a progress display, the mailer, the database outage guard) are
    not options: they are given to `SyncWorker` beside this object.
    """

    worker_id: str | None = None
    """Name in claimed_by (at most 64 characters); default: host:pid:random, new per worker."""
    sessions: int | None = None
    """EPP sessions per registry, overriding each registry's configured number."""
    concurrency: int | None = None
    """Entries in flight at once; default 16 per session (at least 16)."""
    batch: int = 64
    """Entries claimed (and results recorded) in one transaction."""
    lease: float = 300.0
    """Seconds after which an entry claimed but never finished may be claimed again."""
    quick_retries: int = 4
    """Attempts at an entry within one claim (fresh sessions, back-off in between)."""
    retry_wait: float = 0.1
    """First wait between quick retries, in seconds (exponential, with jitter)."""
    retry_wait_max: float = 2.0
    backoff: float = 10.0
    """Seconds before an entry that still needs a retry is due again (doubling per attempt)."""
    backoff_max: float = 900.0
    poll_interval: float = 1.0
    """Seconds between looks for new entries when none are due."""
    lock_wait: float = 0.0
    """Seconds to wait for the SQLite worker lock before WorkerBusy."""
    expire_requests: bool = True
    """Expire stale change requests in the housekeeping of follow mode."""
    send_notices: bool = True
    """Send the notices of the requests the worker completes or expires."""
    read_poll: bool = True
    """Read (and acknowledge) each registry's poll messages at the start of a run and in the
    housekeeping of follow mode: a transfer away marks the domain gone (`sync/poll.py`)."""

    @property
    def batch_size(self) -> int:
        return max(1, self.batch)

    @property
    def attempts(self) -> int:
        """Quick attempts at an entry (at least one)."""
        return max(1, self.quick_retries)


class ProgressLike(Protocol):
    """What the worker needs of a progress display (rich.progress.Progress fits)."""

    def add_task(self, description: str, *, total: float | None = ...) -> Any: ...

    def update(self, task_id: Any, **kwargs: Any) -> None: ...


def default_worker_id() -> str:
    """host:pid:random, at most 64 characters."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


__all__ = ["SWITCH_INTERVAL", "ProgressLike", "SyncOptions", "default_worker_id"]
