"""Writing results back (architecture §6, "Record"): each entry's status, error, clTRID/svTRID
and its audit event, for many entries in one transaction, in the background of the loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select
from sqlmodel import col

from domains import audit
from domains.models import AuditEvent, OutboxEntry, utcnow
from domains.store import Store
from domains.vocabulary import OutboxStatus
from publishers.db_retry import DatabaseOutage
from publishers.sync.outcomes import where
from publishers.sync.report import Result, SyncReport

log = logging.getLogger(__name__)

ACTOR = "system:sync"
FINISHED = ("done", "local_only", "failed", "skipped")
_SAID_WHY = (OutboxStatus.LOCAL_ONLY, OutboxStatus.SKIPPED)
"""Statuses whose reason (the note) is shown as the entry's message."""
_OUTBOX: Table = OutboxEntry.__table__  # type: ignore[attr-defined]


class ResultWriter:
    """Records the results of the worker `worker_id`: only entries still claimed by it."""

    def __init__(self, store: Store, worker_id: str) -> None:
        self.store = store
        self.worker_id = worker_id

    def record(self, results: Sequence[Result], report: SyncReport) -> None:
        """Write every result and its audit event in one transaction (only entries still ours)."""
        now = utcnow()
        actor = audit.check_actor(ACTOR)
        with self.store.write() as session:
            ids = [r.entry_id for r in results]
            ours_stmt = select(col(OutboxEntry.id)).where(
                col(OutboxEntry.id).in_(ids),
                col(OutboxEntry.status) == OutboxStatus.IN_PROGRESS,
                col(OutboxEntry.claimed_by) == self.worker_id,
            )
            if not self.store.is_sqlite:
                ours_stmt = ours_stmt.with_for_update()
            ours = set(session.execute(ours_stmt).scalars())
            rows: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            for r in results:
                if r.entry_id not in ours:
                    report.lost += 1
                    log.warning("entry %s was taken over by another worker", r.entry_id)
                    r.request_ref = None
                    continue
                rows.append(self._row(r, now))
                if r.status == OutboxStatus.PENDING:
                    report.retried += 1
                    continue
                setattr(report, r.status, getattr(report, r.status) + 1)
                events.append(self._event(r, now, actor))
            if events:
                # The audit trail's rows, in one multi-row insert (append-only, as ever).
                session.execute(insert(AuditEvent), events)
            if rows:
                session.execute(
                    _OUTBOX.update()
                    .where(_OUTBOX.c.id == bindparam("b_id"))
                    .values(
                        status=bindparam("status"),
                        next_attempt_at=bindparam("next_attempt_at"),
                        claimed_by=bindparam("claimed_by"),
                        claimed_at=bindparam("claimed_at"),
                        last_error=bindparam("last_error"),
                        cltrid=bindparam("cltrid"),
                        svtrid=bindparam("svtrid"),
                        completed_at=bindparam("completed_at"),
                        version=_OUTBOX.c.version + 1,
                    ),
                    rows,
                )

    def _row(self, r: Result, now: datetime) -> dict[str, Any]:
        """The entry's new values."""
        finished = r.status in FINISHED
        return {
            "b_id": r.entry_id,
            "status": r.status,
            "next_attempt_at": r.next_attempt_at or now,
            # A finished entry keeps who did it; a retry is free for anyone.
            "claimed_by": self.worker_id if finished else None,
            "claimed_at": r.claimed_at if finished else None,
            "last_error": r.error or (r.note if r.status in _SAID_WHY else None),
            "cltrid": r.cltrid,
            "svtrid": r.svtrid,
            "completed_at": now if finished else None,
        }

    def _event(self, r: Result, now: datetime, actor: str) -> dict[str, Any]:
        """The audit event of a finished entry (sync.done, sync.local_only, sync.failed,
        sync.skipped)."""
        changes: dict[str, Any] = {
            "status": {"before": "in_progress", "after": r.status},
            "kind": r.kind,
            "subject": r.subject,
            "worker": self.worker_id,
            "commands": [s.plain() for s in r.commands],
        }
        if r.note:
            changes["note"] = r.note
        if r.error:
            changes["error"] = r.error
        if r.code:
            changes["code"] = r.code
        return {
            "at": now,
            "actor": actor,
            "action": f"sync.{r.status}",
            "entity_type": "outbox_entry",
            "entity_id": str(r.entry_id),
            "changes": changes,
            "request_ref": r.request_ref,
            "cltrid": r.cltrid,
            "svtrid": r.svtrid,
        }


class Recorder:
    """Writes results in the background, so that claiming and EPP traffic never wait for it.

    Results that pile up while a write is under way go together in the next one (at most
    `batch`). When a write fails (the database is gone), its entries stay in progress under our
    claim and are taken up again once the lease expires, starting with info: nothing is lost or
    done twice.
    """

    LINGER = 0.02
    """Seconds to wait for more results before writing a batch."""

    def __init__(
        self,
        flush: Callable[[list[Result], SyncReport], Awaitable[None]],
        report: SyncReport,
        batch: int,
    ) -> None:
        self.flush = flush
        self.report = report
        self.batch = batch
        self.failure: DatabaseOutage | None = None
        self.queue: asyncio.Queue[list[Result]] = asyncio.Queue()
        self.task = asyncio.create_task(self._loop(), name="sync-recorder")

    def submit(self, results: list[Result]) -> None:
        self.queue.put_nowait(results)

    async def drain(self) -> None:
        """Wait until everything submitted is written."""
        if self.task.done():
            return
        await self.queue.join()

    def check(self) -> None:
        """Raise DatabaseOutage when a write gave up on the database: the worker stops."""
        if self.failure is not None:
            raise self.failure

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def _loop(self) -> None:
        while True:
            batch = await self.queue.get()
            taken = 1
            # Linger a moment so that one transaction carries many results.
            deadline = time.monotonic() + self.LINGER
            while len(batch) < self.batch:
                if self.queue.empty():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(left):
                            batch = batch + await self.queue.get()
                            taken += 1
                    continue
                batch = batch + self.queue.get_nowait()
                taken += 1
            try:
                await self.flush(batch, self.report)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, DatabaseOutage) and self.failure is None:
                    self.failure = exc
                log.error(
                    "recording %d sync results failed (%s); the entries will be taken up again",
                    len(batch),
                    where(exc),
                )
            finally:
                for _ in range(taken):
                    self.queue.task_done()


__all__ = ["ACTOR", "Recorder", "ResultWriter"]
