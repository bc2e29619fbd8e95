"""The worker's loop: claim while there is room, run jobs side by side, record their results in
the background, send the notices of finished requests, and (following) look again now and then.

Every database call goes through `DatabaseThread`: one thread, so that claims and records queue
up there instead of fighting over SQLite's write lock, and one outage guard
(`publishers.db_retry.OutageGuard`), so that a lost connection is ridden out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from domains.notice_delivery import NoticeSender
from domains.store import Store
from domains.vocabulary import OutboxStatus
from publishers.db_retry import OutageGuard
from publishers.sync.claim import Claimer, backlog
from publishers.sync.housekeeping import Housekeeping
from publishers.sync.lock import SqliteWorkerLock
from publishers.sync.options import ProgressLike, SyncOptions
from publishers.sync.poll import PollReader
from publishers.sync.record import Recorder, ResultWriter
from publishers.sync.report import Result, SyncReport
from publishers.sync.runner import JobRunner

HOUSEKEEPING_EVERY = 30.0
"""Seconds between housekeeping passes while following."""


class DatabaseThread:
    """Runs blocking store work on the worker's one database thread through the outage guard.

    A transient error (a lost connection, a restart) is retried: every such piece of work is
    one transaction that commits whole or not at all, and is safe to run again. Once `stop`
    is set, an outage may last only the guard's grace.
    """

    def __init__(self, outage: OutageGuard) -> None:
        self.outage = outage
        self.stop: asyncio.Event | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def __call__(self, function: Callable[..., Any], *args: Any) -> Any:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="sync-db")
        loop = asyncio.get_running_loop()
        call = functools.partial(function, *args)
        executor = self._executor
        return await self.outage.run(
            lambda: loop.run_in_executor(executor, call),
            what=function.__name__.strip("_"),
            stop=self.stop,
        )

    def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class Progress:
    """The backlog on a progress display (none: nothing shown)."""

    def __init__(self, store: Store, display: ProgressLike | None) -> None:
        self.store = store
        self.display = display
        self._task: Any = None
        self._done = 0

    def start_progress(self) -> None:
        if self.display is None or self._task is not None:
            return
        self._task = self.display.add_task("registry sync", total=backlog(self.store))

    def advance_progress(self, n: int) -> None:
        if self.display is None or self._task is None or not n:
            return
        self._done += n
        total = self._done + backlog(self.store)
        self.display.update(self._task, completed=self._done, total=total)


class SyncLoop:
    """One worker's runs: `run(follow=False)` drains what is due, `run(follow=True)` keeps on
    until stop is set. `concurrency` entries are in flight at once at most."""

    def __init__(
        self,
        *,
        options: SyncOptions,
        concurrency: int,
        lock: SqliteWorkerLock | None,
        db: DatabaseThread,
        claimer: Claimer,
        runner: JobRunner,
        writer: ResultWriter,
        housekeeping: Housekeeping,
        progress: Progress,
        notices: NoticeSender | None,
        poll: PollReader | None = None,
    ) -> None:
        self.options = options
        self.concurrency = concurrency
        self.lock = lock
        self.db = db
        self.claimer = claimer
        self.runner = runner
        self.writer = writer
        self.housekeeping = housekeeping
        self.progress = progress
        self.notices = notices
        self.poll = poll

    async def run(self, *, follow: bool, stop: asyncio.Event | None = None) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        poll_interval = self.options.poll_interval
        stop = self.db.stop = stop or asyncio.Event()
        if self.lock is not None:
            await asyncio.to_thread(self.lock.acquire, wait=self.options.lock_wait)
        await self.db(self.housekeeping.reconcile, report)
        if self.poll is not None:
            await self.poll.drain(report)
        await self.db(self.progress.start_progress)
        recorder = Recorder(self._flush, report, self.options.batch_size)
        inflight: set[asyncio.Task[Result]] = set()
        exhausted = False
        empty_claim_at = 0.0
        finished_since_empty_claim = 0
        next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY
        mail: asyncio.Task[None] | None = None
        try:
            while True:
                recorder.check()
                mail = self._mail(mail, report)
                stopping = stop.is_set()
                if exhausted and time.monotonic() - empty_claim_at >= poll_interval:
                    exhausted = False  # look again for new entries now and then
                if not stopping and len(inflight) <= self.concurrency // 2 and not exhausted:
                    want = min(self.options.batch_size, self.concurrency - len(inflight))
                    jobs = await self.db(self.claimer.claim, want, [])
                    report.claimed += len(jobs)
                    for job in jobs:
                        inflight.add(asyncio.create_task(self.runner.process(job)))
                    if not jobs:
                        exhausted, finished_since_empty_claim = True, 0
                        empty_claim_at = time.monotonic()
                if not inflight:
                    await recorder.drain()
                    if stopping:
                        break
                    if exhausted and finished_since_empty_claim:
                        # What finished may have been holding back a later entry of its key.
                        exhausted = False
                        continue
                    if exhausted:
                        if not follow:
                            break
                        if time.monotonic() >= next_housekeeping:
                            await self.db(self.housekeeping.housekeeping, report)
                            if self.poll is not None:
                                await self.poll.drain(report)
                            mail = self._mail(mail, report, pending=True)
                            next_housekeeping = time.monotonic() + HOUSEKEEPING_EVERY
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(poll_interval):
                                await stop.wait()
                        exhausted = False
                    continue
                done, _ = await asyncio.wait(
                    inflight, timeout=poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
                if done:
                    inflight.difference_update(done)
                    recorder.submit([task.result() for task in done])
                    finished_since_empty_claim += len(done)
            await recorder.drain()
            recorder.check()
            if mail is not None:
                await mail
            mail = self._mail(None, report, pending=True)
            if mail is not None:
                await mail
        except BaseException:
            for task in inflight:
                task.cancel()
            raise
        finally:
            await recorder.close()
            report.seconds = time.monotonic() - started
        return report

    async def _flush(self, results: list[Result], report: SyncReport) -> None:
        """Record results in one transaction, then finish their change requests a few at a
        time (so that claims get the database in between)."""
        await self.db(self.writer.record, results, report)
        finishing = [r for r in results if r.request_ref and r.status != OutboxStatus.PENDING]
        for start in range(0, len(finishing), 8):
            await self.db(self.housekeeping.finish_requests, finishing[start : start + 8], report)
        await self.db(
            self.progress.advance_progress,
            sum(1 for r in results if r.status != OutboxStatus.PENDING),
        )

    def _mail(
        self, running: asyncio.Task[None] | None, report: SyncReport, *, pending: bool = False
    ) -> asyncio.Task[None] | None:
        """The running pass of the notice sender, or a new one when notices wait (`pending`: a
        sweep for notices left behind by others too); None when there is nothing to do."""
        if self.notices is None or (running is not None and not running.done()):
            return running
        if not (pending or self.notices.waiting):
            return None
        return asyncio.create_task(self._send_notices(report, pending), name="sync-notices")

    async def _send_notices(self, report: SyncReport, pending: bool) -> None:
        assert self.notices is not None
        report.notices_sent += await asyncio.to_thread(self.notices.send, pending)


__all__ = ["DatabaseThread", "Progress", "SyncLoop"]
