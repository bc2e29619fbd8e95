"""The database's word on which answers changed: PostgreSQL LISTEN/NOTIFY, and the barrier.

Migration 0016 makes PostgreSQL send a notice on the channel `interlink_answers`, with the
domain's name, whenever an answer rendered ahead loses its validity (the triggers of 0004 and
0013 mark it stale in the same transaction as the change; the notice goes out at its commit).
`AnswerNotices` listens on one connection of its own and tells its subscribers which names to
drop from their in-memory caches.

A notice arrives a little after the commit, so a cached answer is given only after a
*barrier*: a query on the listening connection that starts after the request came in.
PostgreSQL sends a listening session every notice of the transactions committed before the
end of its query, before the query's result, so once `barrier()` returns, every change
committed before the request is known and dropped (tested in tests/publishers). Callers that
come meanwhile share the next barrier (a *round*), and the reads of answers not cached ride on
it: the round's query reads them (`read`), so one round trip stands for all the cache hits and
misses of that moment. There are `CONNECTIONS` listening connections, each with a round under
way at most: the next round gathers its callers while the one before waits for its answer.
Every connection hears every notice, so a round's barrier holds whichever it ran on.

With a replica to read from, the barrier also returns the primary's WAL position, which a
read on the replica must have reached (publishers/answer_reads.py). When the listening
connection is lost, every cache is cleared and none is used until all listen again (a notice
may have been missed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

from publishers.answer_reader import LookupUnavailable

log = logging.getLogger(__name__)

CHANNEL = "interlink_answers"
#: Listening connections, so as many rounds under way at once: while one waits for the
#: database, the next gathers its callers. Measured here on WHOIS on PostgreSQL, 32 queries in
#: flight, two server processes, eight runs side by side: one connection each 3,797 answers/s
#: (median), two 4,007, higher in 7 of the 8 runs; with one server process no difference.
CONNECTIONS = 2
#: Each listening connection runs a barrier at least this often, to take in the notices waiting
#: on its socket (PostgreSQL keeps them for a listener that does not read them).
DRAIN_SECONDS = 1.0
#: Turns of the event loop a round lets pass before its query, so that the queries of the
#: sockets ready meanwhile join it: bigger rounds, fewer round trips (measured here on WHOIS
#: on PostgreSQL, 32 queries in flight: 0 turns 4,200 answers/s, 8 turns 6,000, 16 turns
#: 6,700). A turn with nothing to do costs microseconds.
GATHER_TURNS = 16
#: Names remembered as dropped; beyond it, everything read before is treated as dropped.
MAX_REMEMBERED = 100_000
RECONNECT_WAIT = (0.1, 5.0)


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq reads it (no driver name, password kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


READ_SQL = "SELECT name, whois, rdap FROM published_answer WHERE name = ANY(%s) AND render_key = %s"


class _Round:
    """One barrier: its callers, the names they read (by render key), what was found."""

    __slots__ = ("done", "found", "names", "position")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.names: dict[str, set[str]] = {}
        self.found: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        self.position: str | None = None


class AnswerNotices:
    """Listening connections to the primary, the drops they report, and barriers on them."""

    def __init__(self, url: str, *, with_position: bool = False) -> None:
        self._url = libpq_url(url)
        self._barrier_sql = "SELECT pg_current_wal_lsn()::text" if with_position else "SELECT 1"
        self.with_position = with_position
        self._conns: list[Any] = []  # every listening connection
        self._idle: deque[Any] = deque()  # those with no round under way, oldest used first
        self._subscribers: list[Callable[[str | None], None]] = []
        self._next: _Round | None = None
        self._gathering = False  # a round is gathering `_next`'s callers
        self._rounds: set[asyncio.Task[None]] = set()
        self._under_way: set[_Round] = set()  # rounds whose query was sent
        self._keeper: asyncio.Task[None] | None = None
        self._closing = False
        self._reconnecting = False
        self.listening = False
        #: Counts the drops; `dropped_since` compares a name's last drop with a count taken before.
        self.seq = 0
        self._floor = 0
        self._dropped: dict[str, int] = {}
        #: notices: as received, once per listening connection.
        self.stats = {"notices": 0, "barriers": 0, "read": 0, "reconnects": 0}

    def subscribe(self, drop: Callable[[str | None], None]) -> None:
        """Call `drop(name)` for each changed name, `drop(None)` when everything must go."""
        self._subscribers.append(drop)

    def dropped_since(self, name: str, seq: int) -> bool:
        """Whether `name` may have changed since `seq` was read (keep nothing read before)."""
        return seq < self._floor or self._dropped.get(name, -1) > seq or not self.listening

    @property
    def backend_pids(self) -> list[int]:
        """The server processes of the listening connections (for tests and diagnostics)."""
        return [conn.info.backend_pid for conn in self._conns]

    # -- the connections ---------------------------------------------------------------

    async def start(self) -> None:
        """Listen (raises when the database cannot be reached) and keep listening."""
        await self._connect()
        self._keeper = asyncio.get_running_loop().create_task(self._keep())

    async def _connect(self) -> None:
        import psycopg

        conns: list[Any] = []
        try:
            for _ in range(CONNECTIONS):
                conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
                conns.append(conn)
                conn.add_notify_handler(self._notice)
                await conn.execute(f"LISTEN {CHANNEL}")
        except BaseException:
            await _close_all(conns)
            raise
        self._conns = conns
        self._idle = deque(conns)
        self._drop_all()  # notices may have been missed while not listening
        self.listening = True

    def _notice(self, notice: Any) -> None:
        self.stats["notices"] += 1
        self.seq += 1
        name = notice.payload
        if len(self._dropped) >= MAX_REMEMBERED:
            self._dropped.clear()
            self._floor = self.seq
        self._dropped[name] = self.seq
        for drop in self._subscribers:
            drop(name)

    def _drop_all(self) -> None:
        self.seq += 1
        self._dropped.clear()
        self._floor = self.seq
        for drop in self._subscribers:
            drop(None)

    async def _lost(self) -> None:
        """A listening connection failed: forget every cached answer, fail the rounds not yet
        under way, listen again on new connections. Once, whichever round found it."""
        if self._reconnecting:
            return
        self._reconnecting = True
        self.listening = False
        self._drop_all()
        self._fail_rounds()
        this = asyncio.current_task()
        for task in list(self._rounds):  # their connections are closed now: no answer will come
            if task is not this:
                task.cancel()
        conns, self._conns, self._idle = self._conns, [], deque()
        await _close_all(conns)
        wait = RECONNECT_WAIT[0]
        try:
            while not self._closing:
                try:
                    await self._connect()
                except Exception as exc:  # the database is away: try again later
                    log.warning("answer notices: cannot listen (%s); retrying", type(exc).__name__)
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, RECONNECT_WAIT[1])
                else:
                    self.stats["reconnects"] += 1
                    log.warning("answer notices: listening again")
                    return
        finally:
            self._reconnecting = False

    def _fail_rounds(self) -> None:
        """Fail the round gathering and those under way: no answer of theirs can be checked."""
        waiting, self._next = self._next, None
        for failed in (waiting, *self._under_way):
            if failed is not None:
                _fail(failed)

    async def _keep(self) -> None:
        """Take in waiting notices now and then, on every connection, when no round did."""
        while not self._closing:
            await asyncio.sleep(DRAIN_SECONDS)
            for _ in range(CONNECTIONS):  # rounds take the connection used longest ago
                with contextlib.suppress(LookupUnavailable):
                    await self.barrier()

    # -- barriers, and the reads that ride on them ---------------------------------------

    async def barrier(self) -> str | None:
        """Return once every change committed before this call is known (and dropped); the
        primary's WAL position then, when asked for. LookupUnavailable when not listening."""
        return (await self._join()).position

    async def read(self, key: str, name: str) -> tuple[bytes, bytes] | None:
        """The packed (WHOIS, RDAP) answers of `name` rendered ahead under `key`, read by the
        next barrier's query (None: no current one); once it returns, the changes committed
        before the call are known too. LookupUnavailable when not listening."""
        done = await self._join(key, name)
        return done.found.get((key, name))

    async def _join(self, key: str | None = None, name: str | None = None) -> _Round:
        if not self.listening:
            raise LookupUnavailable("not listening for changes")
        if self._next is None:
            self._next = _Round(asyncio.get_running_loop().create_future())
            self._start_round()
        joined = self._next
        if key is not None and name is not None:
            joined.names.setdefault(key, set()).add(name)
        await asyncio.shield(joined.done)
        return joined

    def _start_round(self) -> None:
        """Gather the next round on a free connection, if there is a round waiting, none is
        gathering and a connection is free (else the round under way that ends first does)."""
        if self._next is None or self._gathering or not self._idle:
            return
        self._gathering = True
        task = asyncio.get_running_loop().create_task(self._run(self._idle.popleft()))
        self._rounds.add(task)
        task.add_done_callback(self._rounds.discard)

    async def _run(self, conn: Any) -> None:
        try:
            for _ in range(GATHER_TURNS):  # let the queries ready meanwhile join this round
                await asyncio.sleep(0)
        finally:
            self._gathering = False
        current, self._next = self._next, None  # its query starts after all its callers
        if current is None:  # failed meanwhile (a connection was lost)
            return
        self._under_way.add(current)
        try:
            await self._query(conn, current)
        except Exception as exc:
            log.warning("answer notices: barrier failed (%s)", type(exc).__name__)
            _fail(current)
            await self._lost()
            return
        finally:
            self._under_way.discard(current)
        self.stats["barriers"] += 1
        if not current.done.done():
            current.done.set_result(None)
        if conn in self._conns:  # not one lost meanwhile
            self._idle.append(conn)
        self._start_round()

    async def _query(self, conn: Any, current: _Round) -> None:
        """The round's reads (one query per render key), or the bare barrier query."""
        if not current.names:
            cursor = await conn.execute(self._barrier_sql)
            row = await cursor.fetchone()
            current.position = str(row[0]) if self.with_position else None
            return
        for key, names in current.names.items():
            cursor = await conn.execute(READ_SQL, (list(names), key), prepare=True, binary=True)
            for name, whois, rdap in await cursor.fetchall():
                current.found[(key, name)] = (bytes(whois), bytes(rdap))
            self.stats["read"] += len(names)

    async def close(self) -> None:
        """Stop listening."""
        self._closing = True
        self.listening = False
        self._fail_rounds()  # nobody waits for an answer forever
        for task in (self._keeper, *self._rounds):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        conns, self._conns, self._idle = self._conns, [], deque()
        await _close_all(conns)


def _fail(round_: _Round) -> None:
    """Tell a round's callers the answers cannot be checked now."""
    if not round_.done.done():
        round_.done.set_exception(LookupUnavailable("not listening for changes"))
        round_.done.exception()  # retrieved: nobody may await it any more


async def _close_all(conns: list[Any]) -> None:
    for conn in conns:
        with contextlib.suppress(Exception):  # broken already, or closing
            await conn.close()
