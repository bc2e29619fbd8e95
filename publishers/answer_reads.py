"""Answers rendered ahead, read from PostgreSQL on the event loop: an async pool, in batches.

Each server process holds one `AnswerReads`: the `AnswerNotices` that keep its lookups' caches
current, and a pool of asynchronous psycopg connections. On the primary a read rides on the
notices' next round (one query, `name = ANY(...)`, for every name asked for meanwhile and the
cache hits' barrier); the pool reads, in the same batches, while the notices' connection is
being restored, and always when reading from a replica. Under load one round trip and one
index scan serve many answers, with no thread in the way.

With `read_url` (a streaming replica) the reads go there, each batch after a barrier on the
primary: a batch is read on the replica once it has replayed up to the primary's WAL position
at that barrier (so it sees every change committed before the requests), and on the primary
when the replica lags behind. A read database that is not a standby (no replay position) is
read as it is: keeping it in step is then the operator's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from publishers.answer_notices import AnswerNotices, libpq_url
from publishers.answer_reader import LookupUnavailable
from publishers.published import SERVICES

log = logging.getLogger(__name__)

#: At most this many names in one query.
BATCH = 64
#: Seconds to wait for a pool connection before saying the service is unavailable.
POOL_TIMEOUT = 5.0
_SQL = {
    service: f"SELECT name, {service} FROM published_answer "
    "WHERE name = ANY(%s) AND render_key = %s"
    for service in SERVICES
}
_CAUGHT_UP = "SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, true)"


class _Batch:
    """The names asked for of one service under one render key, each with its waiters."""

    def __init__(self, service: str, key: str) -> None:
        self.service = service
        self.key = key
        self.waiting: dict[str, list[asyncio.Future[bytes | None]]] = {}


class AnswerReads:
    """Batched reads of answers rendered ahead, and the notices (publishers/answer_notices.py)."""

    def __init__(self, url: str, *, read_url: str = "", pool_size: int = 4) -> None:
        self.notices = AnswerNotices(url, with_position=bool(read_url))
        self._url = libpq_url(url)
        self._read_url = libpq_url(read_url) if read_url else ""
        self.pool_size = pool_size
        self._pools: dict[str, Any] = {}
        self._pending: dict[tuple[str, str], _Batch] = {}
        self._busy = 0
        self._soon = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.stats = {"queries": 0, "names": 0, "replica": 0, "replica_behind": 0}

    async def start(self) -> None:
        """Open the pools and listen; raises when the database cannot be reached."""
        from psycopg_pool import AsyncConnectionPool

        urls = {"primary": self._url}
        if self._read_url:
            urls["replica"] = self._read_url
        for which, url in urls.items():
            pool = AsyncConnectionPool(
                url,
                min_size=self.pool_size,
                max_size=self.pool_size,
                kwargs={"autocommit": True},
                timeout=POOL_TIMEOUT,
                name=f"interlink-answers-{which}",
                open=False,
            )
            await pool.open(wait=True, timeout=POOL_TIMEOUT * 2)
            self._pools[which] = pool
        await self.notices.start()

    async def close(self) -> None:
        """Stop listening, close the pools."""
        log.info("answer reads: %s; notices: %s", self.stats, self.notices.stats)
        await self.notices.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()

    # -- reads -------------------------------------------------------------------------

    async def read(self, service: str, key: str, name: str) -> bytes | None:
        """The packed answer of `service` for `name` under `key`, None when there is none
        current; LookupUnavailable when the database cannot be read."""
        if "replica" not in self._pools and self.notices.listening:
            # On the primary the read rides on the next barrier's query: one round trip
            # serves the cache hits' barrier and the misses' reads that came meanwhile.
            try:
                both = await self.notices.read(key, name)
            except LookupUnavailable:
                pass  # not listening any more: read from the pool below
            else:
                return None if both is None else both[SERVICES.index(service)]
        batch = self._pending.get((service, key))
        if batch is None:
            batch = self._pending[(service, key)] = _Batch(service, key)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes | None] = loop.create_future()
        batch.waiting.setdefault(name, []).append(future)
        if not self._soon:
            # Sent once the loop has run what is ready now: the queries that came in together
            # (one readiness poll's worth of sockets) go in one batch, not the first one alone.
            self._soon = True
            loop.call_soon(self._dispatch)
        return await future

    def _dispatch(self) -> None:
        """Send the waiting names, as long as the pool has a connection for them."""
        self._soon = False
        while self._pending and self._busy < self.pool_size:
            key = next(iter(self._pending))
            batch = self._pending[key]
            if len(batch.waiting) <= BATCH:
                del self._pending[key]
                sent = batch
            else:
                sent = _Batch(batch.service, batch.key)
                for name in list(batch.waiting)[:BATCH]:
                    sent.waiting[name] = batch.waiting.pop(name)
            self._busy += 1
            task = asyncio.get_running_loop().create_task(self._send(sent))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: _Batch) -> None:
        try:
            try:
                found = await self._query(batch)
            except Exception as exc:
                # The pool's connections may have died under it (a restart, a terminated
                # backend): replace the broken ones and try once more (a read is safe to repeat).
                log.info("answer reads: query failed (%s); trying again", type(exc).__name__)
                for pool in self._pools.values():
                    await pool.check()
                found = await self._query(batch)
        except Exception as exc:
            log.warning("answer reads: query failed (%s)", type(exc).__name__)
            failure = LookupUnavailable("the store cannot be read just now")
            for futures in batch.waiting.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(failure)
        else:
            for name, futures in batch.waiting.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(name))
        finally:
            self._busy -= 1
            self._dispatch()

    async def _query(self, batch: _Batch) -> dict[str, bytes]:
        names = list(batch.waiting)
        self.stats["queries"] += 1
        self.stats["names"] += len(names)
        if "replica" in self._pools and self.notices.listening:
            try:
                position = await self.notices.barrier()
            except LookupUnavailable:
                position = None  # the primary is read instead
            rows = None if position is None else await self._on_replica(batch, names, position)
            if rows is not None:
                return rows
        return await self._select(self._pools["primary"], batch, names)

    async def _on_replica(
        self, batch: _Batch, names: Sequence[str], position: str | None
    ) -> dict[str, bytes] | None:
        """The batch read on the replica, or None when it has not replayed up to `position`."""
        async with self._pools["replica"].connection() as conn:
            cursor = await conn.execute(_CAUGHT_UP, (position,))
            row = await cursor.fetchone()
            if not row[0]:
                self.stats["replica_behind"] += 1
                return None
            self.stats["replica"] += 1
            return await self._rows(conn, batch, names)

    async def _select(self, pool: Any, batch: _Batch, names: Sequence[str]) -> dict[str, bytes]:
        async with pool.connection() as conn:
            return await self._rows(conn, batch, names)

    @staticmethod
    async def _rows(conn: Any, batch: _Batch, names: Sequence[str]) -> dict[str, bytes]:
        cursor = await conn.execute(
            _SQL[batch.service], (list(names), batch.key), prepare=True, binary=True
        )
        return {name: bytes(blob) for name, blob in await cursor.fetchall()}
