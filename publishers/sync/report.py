"""What a sync run reports: each command sent, each entry's result, the counts of a run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Sent:
    """One command sent for an entry: verb, clTRID, svTRID (None when unanswered), code."""

    verb: str
    cltrid: str
    svtrid: str | None
    code: int | None

    def plain(self) -> list[Any]:
        return [self.verb, self.cltrid, self.svtrid, self.code]


@dataclass
class Result:
    """What became of one claimed entry."""

    entry_id: int
    status: str
    """done, local_only, failed, skipped (not sent: the domain left), or pending (retry later)."""
    kind: str
    subject: str
    """The domain name or contact handle (no personal data)."""
    request_ref: str | None = None
    error: str | None = None
    code: int | None = None
    note: str | None = None
    cltrid: str | None = None
    svtrid: str | None = None
    commands: list[Sent] = field(default_factory=list)
    next_attempt_at: datetime | None = None
    claimed_at: datetime | None = None


@dataclass
class SyncReport:
    """Counts of one run of the worker."""

    claimed: int = 0
    done: int = 0
    local_only: int = 0
    failed: int = 0
    skipped: int = 0
    """Entries not sent: their domain was transferred away."""
    retried: int = 0
    lost: int = 0
    """Results not recorded because another worker had taken the entry over (lease expired)."""
    requests_completed: int = 0
    requests_failed: int = 0
    notices_sent: int = 0
    poll_messages: int = 0
    """Poll messages read, acted on and acknowledged."""
    domains_gone: int = 0
    """Domains marked gone: a poll message said they were transferred to another registrar."""
    seconds: float = 0.0

    def add(self, other: SyncReport) -> None:
        for name in (f.name for f in dataclasses.fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def finished(self) -> int:
        return self.done + self.local_only + self.failed + self.skipped


__all__ = ["Result", "Sent", "SyncReport"]
