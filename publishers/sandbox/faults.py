"""Faults the sandbox registry injects on request: errors, delays, answers lost after a commit."""

from __future__ import annotations

from dataclasses import dataclass

from publishers.epp.server.responses import RESULT_MESSAGES


@dataclass(frozen=True)
class FaultPlan:
    """Faults to inject into object commands (check, create, info, update, delete).

    error_share of them are answered with error_code before anything is applied (codes 2500-2502
    also close the connection); each waits delay_ms first; drop_after_commit_share of the
    successful creates, updates and deletes are committed and then answered by closing the
    connection. seed makes the choices repeatable.
    """

    error_share: float = 0.0
    error_code: int = 2400
    delay_ms: int = 0
    drop_after_commit_share: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_share", "drop_after_commit_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.error_code < 2000 or self.error_code not in RESULT_MESSAGES:
            raise ValueError(f"{self.error_code} is not an EPP error code (2000-2502)")
        if self.delay_ms < 0:
            raise ValueError("delay_ms must not be negative")
