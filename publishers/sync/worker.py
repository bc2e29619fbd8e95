"""`SyncWorker`: the registry sync worker put together from its parts (see the package's
docstring), and `run_worker` for callers that want one run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import col

from domains.mailer import Mailer
from domains.models import AuditEvent
from domains.notice_delivery import NoticeSender
from domains.notices import RequestLinks
from domains.store import Store
from publishers.db_retry import OutageGuard
from publishers.registries import RegistryMap
from publishers.sync.claim import Claimer, backlog
from publishers.sync.housekeeping import Housekeeping
from publishers.sync.lock import SqliteWorkerLock
from publishers.sync.loop import DatabaseThread, Progress, SyncLoop
from publishers.sync.options import ProgressLike, SyncOptions, default_worker_id
from publishers.sync.poll import PollReader
from publishers.sync.pool import RegistryPools
from publishers.sync.record import ResultWriter
from publishers.sync.report import SyncReport
from publishers.sync.runner import JobRunner


class SyncWorker:
    """Pushes outbox entries to the registries; run_once() drains what is due, follow() keeps on.

    `options` tunes it (`SyncOptions`: sessions, concurrency, batch, lease, retries...). The
    notices of the requests it completes or expires are sent with `mailer` (default: the one of
    the store's settings), their links into the portal built by `links` (the portal's), unless
    options.send_notices is False. Database calls ride out a lost
    connection or a restart through `outage` (default: the store's `sync` settings);
    DatabaseOutage when the database stays away past its limit. `progress` shows the backlog.
    """

    def __init__(
        self,
        store: Store,
        registries: RegistryMap,
        options: SyncOptions | None = None,
        *,
        progress: ProgressLike | None = None,
        mailer: Mailer | None = None,
        links: RequestLinks | None = None,
        outage: OutageGuard | None = None,
    ) -> None:
        options = options or SyncOptions()
        if options.send_notices and links is None:
            raise TypeError("a worker that sends notices needs the portal's links (links=)")
        self.store = store
        self.registries = registries
        self.options = options
        self.worker_id = (options.worker_id or default_worker_id())[:64]
        # The notices of the transitions this worker makes (completed, expired), and those
        # other deliverers left behind: sent beside the sync, in a thread (default: settings).
        self.notices = NoticeSender(store, links, mailer) if links is not None else None
        if not options.send_notices:
            self.notices = None
        self.pools = RegistryPools(options.sessions)
        self._lock = SqliteWorkerLock(str(store.engine.url)) if store.is_sqlite else None
        total_sessions = sum(self.pools.size(r) for r in registries)
        self.concurrency = options.concurrency or max(16, 16 * total_sessions)
        self.outage = outage or OutageGuard.from_settings(store.settings.sync)
        self._db = DatabaseThread(self.outage)
        self._loop = SyncLoop(
            options=options,
            concurrency=self.concurrency,
            lock=self._lock,
            db=self._db,
            claimer=Claimer(
                store,
                registries,
                worker_id=self.worker_id,
                lease=timedelta(seconds=options.lease),
                exclusive=self._lock is not None,
            ),
            runner=JobRunner(self.pools, options),
            writer=ResultWriter(store, self.worker_id),
            housekeeping=Housekeeping(store, self.notices, expire_requests=options.expire_requests),
            progress=Progress(store, progress),
            notices=self.notices,
            poll=PollReader(store, registries, self.pools, self._db) if options.read_poll else None,
        )

    async def run_once(self) -> SyncReport:
        """Sync every entry due now (retries scheduled for later stay pending); then return."""
        return await self._loop.run(follow=False)

    async def follow(self, stop: asyncio.Event | None = None) -> SyncReport:
        """Keep syncing new entries until stop is set (or the task is cancelled)."""
        return await self._loop.run(follow=True, stop=stop)

    async def close(self) -> None:
        """Log out of every registry and release the SQLite lock."""
        await self.pools.close()
        if self._lock is not None:
            self._lock.release()
        self._db.close()

    async def __aenter__(self) -> SyncWorker:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def backlog(self) -> int:
        """Entries waiting: pending or in progress."""
        return backlog(self.store)


def audit_count(store: Store, action: str) -> int:
    """How many audit events of one action exist (used by tests and the staff views)."""
    with store.read() as session:
        return session.execute(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.action) == action)
        ).scalar_one()


async def run_worker(
    store: Store,
    registries: RegistryMap,
    options: SyncOptions | None = None,
    *,
    follow: bool = False,
    stop: asyncio.Event | None = None,
    on_start: Callable[[SyncWorker], Awaitable[None] | None] | None = None,
    links: RequestLinks | None = None,
) -> SyncReport:
    """Run one worker (once, or following until stop) and close it."""
    async with SyncWorker(store, registries, options, links=links) as worker:
        if on_start is not None:
            started = on_start(worker)
            if asyncio.iscoroutine(started):
                await started
        if follow:
            return await worker.follow(stop)
        return await worker.run_once()


__all__ = ["SyncWorker", "audit_count", "run_worker"]
