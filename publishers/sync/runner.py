"""Running one job to its result: its flow's commands, a few quick retries on fresh sessions,
and the classification of how it ended (architecture §6, "Classify")."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from datetime import timedelta

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from domains.models import utcnow
from domains.vocabulary import OutboxStatus
from publishers.epp.session import AmbiguousOutcome
from publishers.sync.channel import RegistryChannel
from publishers.sync.flows import flow_of
from publishers.sync.jobs import Job
from publishers.sync.options import SyncOptions
from publishers.sync.outcomes import DONE_CODES, LocalOnly, Permanent, Retry, where
from publishers.sync.pool import RegistryPools
from publishers.sync.report import Result, Sent

log = logging.getLogger(__name__)


class JobRunner:
    """Runs jobs on the registries' session pools with the worker's retry options."""

    def __init__(self, pools: RegistryPools, options: SyncOptions) -> None:
        self.pools = pools
        self.options = options

    async def process(self, job: Job) -> Result:
        """Run one entry to its result; never raises (except cancellation)."""
        result = Result(
            entry_id=job.entry_id,
            status="pending",
            kind=job.kind,
            subject=job.subject,
            request_ref=job.request_ref,
            claimed_at=job.claimed_at,
        )
        if job.fail_reason:
            result.status, result.error = "failed", job.fail_reason
            return result
        if job.local_reason:
            result.status, result.note = "local_only", job.local_reason
            return result
        if job.skip_reason:
            result.status, result.note = OutboxStatus.SKIPPED, job.skip_reason
            return result
        try:
            note = await self._attempts(job, result.commands)
            result.status, result.note = "done", note
        except LocalOnly as exc:
            result.status, result.note, result.code = "local_only", exc.message, exc.code
        except Permanent as exc:
            result.status, result.error, result.code = "failed", exc.message, exc.code
        except Retry as exc:
            result.status, result.error, result.code = "pending", exc.message, exc.code
            result.next_attempt_at = utcnow() + timedelta(seconds=self._backoff(job.attempts))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug or bad data: show it to staff, keep the worker alive
            log.error("outbox entry %s: unexpected error %s", job.entry_id, where(exc))
            result.status, result.error = "failed", f"unexpected error: {type(exc).__name__}: {exc}"
        main = main_command(result.commands)
        if main is not None:
            result.cltrid, result.svtrid = main.cltrid, main.svtrid
        log.info(
            "entry %s %s %s: %s%s",
            job.entry_id,
            job.kind,
            job.subject,
            result.status,
            f" (EPP {result.code})" if result.code else "",
        )
        return result

    async def _attempts(self, job: Job, sent: list[Sent]) -> str | None:
        """The flow's note; the outcome exceptions when it does not succeed within the quick
        retries. Every attempt after the first (or after a reclaim) resumes: info first."""
        run = flow_of(job.kind).run
        channel = RegistryChannel(self.pools, job, sent)
        resume = [job.attempts > 1]
        options = self.options

        async def attempt() -> str | None:
            try:
                return await run(channel, job, resume[0])
            except Retry:
                resume[0] = True
                raise
            except AmbiguousOutcome as exc:
                resume[0] = True
                raise Retry(f"answer lost: {exc}") from exc

        # The first attempt runs bare (the common case costs nothing extra); after a Retry,
        # tenacity runs the rest with exponential back-off and jitter.
        try:
            return await attempt()
        except Retry:
            if options.attempts <= 1:
                raise
        retrying = AsyncRetrying(
            stop=stop_after_attempt(options.attempts - 1),
            wait=wait_exponential(multiplier=options.retry_wait, max=options.retry_wait_max)
            + wait_random(0, options.retry_wait),
            retry=retry_if_exception_type(Retry),
            reraise=True,
        )
        await asyncio.sleep(options.retry_wait + random.uniform(0, options.retry_wait))
        return await retrying(attempt)

    def _backoff(self, attempts: int) -> float:
        """Seconds until a retried entry is due again: doubling per attempt, with jitter."""
        options = self.options
        base = min(options.backoff_max, options.backoff * 2 ** max(0, attempts - 1))
        return base * random.uniform(0.8, 1.2)


def main_command(commands: Sequence[Sent]) -> Sent | None:
    """The command that made the change (the last answered transform), else the last."""
    for sent in reversed(commands):
        if sent.verb.split(":")[1] in ("create", "update") and sent.code in DONE_CODES:
            return sent
    answered = [s for s in commands if s.svtrid]
    return answered[-1] if answered else (commands[-1] if commands else None)


__all__ = ["JobRunner", "main_command"]
