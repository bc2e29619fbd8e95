"""The registry sync worker (architecture §6): outbox entries -> EPP commands -> results.

How an entry travels:

1. **Claim.** The worker takes due entries in batches, oldest first, in one short transaction:
   ``status = 'in_progress'``, ``claimed_by`` = the worker's id, ``claimed_at`` = now, ``attempts``
   + 1. That claim is a lease: an entry still in progress after ``lease`` seconds is claimable
   again (that is how the entry of a killed worker is picked up).

   - PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED``, so several workers run side by side and
     never take the same row.
   - SQLite: one worker at a time. The worker holds an exclusive ``flock`` on
     ``<database file>.sync-lock`` for as long as it runs (the kernel drops it when the process
     dies, even by SIGKILL). Holding it proves no other worker is alive, so every entry left
     in progress is an orphan and is reclaimed at once, without waiting for its lease.

   Entries of one domain or one contact never run out of order or side by side: an entry is not
   claimed while an older unfinished entry (pending or in progress) shares its domain or contact.

2. **Commands.** A tech move: ``contact:create`` of the new tech contact (our deterministic
   handle, disclose flags from the publication policy), one ``domain:update`` adding the new tech
   and removing the old, then ``domain:info`` to read it back. A contact edit: ``contact:update``
   with every item and the disclose flags. Every command carries a unique clTRID that names the
   entry (``ILS<entry id>-...``).

3. **Classify** (architecture §6): done (1000, 1001); already done (2302 on a create of our own
   handle, confirmed by ``contact:info``: sponsored by our client id); local-only (2306, or the
   registry's configured policy prohibits the role: then nothing is sent at all); permanent
   failure (any other 2xxx: the entry fails with the registry's code and message, the change
   request becomes sync_failed); retry (2400, 2500-2502, transport errors: a few quick retries with
   tenacity on fresh sessions, then the entry goes back to pending with an exponential back-off in
   ``next_attempt_at``).

   After any doubt (a lost connection after sending, a retry, a reclaimed entry) the worker first
   learns the registry's state with ``info`` and only then sends what is still missing, so a
   command that went through before is never applied twice.

4. **Record.** Results are written in batches: the entry's status, error, clTRID/svTRID and an
   audit event (``sync.done``, ``sync.local_only``, ``sync.failed``; actor ``system:sync``) in one
   transaction. The change request is then completed (also when local-only) or marked
   sync_failed through the workflow; a request whose entry finished while the worker died in
   between is finished by the reconciliation that runs at every start and loop.

Every database call is one transaction run through `publishers.db_retry.OutageGuard`: a lost
connection or a restart is retried with back-off; the worker stops (DatabaseOutage) only when the
database stays away past ``sync.database_outage_limit``.

Logs carry entry ids, handles, domain names and result codes only, never personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import random
import secrets
import socket
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import col
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from domains import audit
from domains.changes import Workflow
from domains.errors import InterlinkError, RuleViolation
from domains.mailer import Mailer
from domains.models import (
    Account,
    AuditEvent,
    ChangeRequest,
    Contact,
    Domain,
    DomainContact,
    OutboxEntry,
    utcnow,
)
from domains.notice_delivery import NoticeSender
from domains.store import DomainRecord, Store
from publishers.db_retry import DatabaseOutage, OutageGuard
from publishers.disclose import disclose_for
from publishers.epp.codec import (
    ContactChange,
    ContactData,
    ContactInfo,
    ContactUpdate,
    Disclose,
    DomainInfo,
    DomainUpdate,
    Response,
    contact_create,
    contact_info,
    contact_update,
    domain_info,
    domain_update,
    new_cltrid,
)
from publishers.epp.session import (
    AmbiguousOutcome,
    EppCommandError,
    EppTransportError,
    SessionPool,
)
from publishers.policy import PublicationView, build_view
from publishers.registries import Registry, RegistryConfigError, RegistryMap, UnknownTld

log = logging.getLogger(__name__)

ACTOR = "system:sync"
KINDS = ("domain.tech_move", "contact.update")
DONE_CODES = frozenset({1000, 1001})
RETRY_CODES = frozenset({2400, 2500, 2501, 2502})
POLICY_CODE = 2306
EXISTS_CODE = 2302
MISSING_CODE = 2303
ALL_PUBLIC = Disclose(name=True, org=True, addr=True, voice=True, fax=True, email=True)
SWITCH_INTERVAL = 0.0005
"""GIL switch interval for a process that runs a worker (`interlink sync` sets it): the event
loop waits on the network and must get the GIL back quickly from the database thread; with
Python's default 5 ms every EPP answer could wait that long."""


# ---------------------------------------------------------------- outcomes


class _Stop(Exception):
    """How one attempt at an entry ends when it does not simply succeed."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Retry(_Stop):
    """Try again later (2400, 2500-2502, transport trouble, a read-back that does not match)."""


class Permanent(_Stop):
    """The registry refused for good (other 2xxx); staff must look at it."""


class LocalOnly(_Stop):
    """The registry does not take this (2306, or its configured policy): kept locally."""


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
    """done, local_only, failed, or pending (retry later)."""
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
    retried: int = 0
    lost: int = 0
    """Results not recorded because another worker had taken the entry over (lease expired)."""
    requests_completed: int = 0
    requests_failed: int = 0
    notices_sent: int = 0
    seconds: float = 0.0

    def add(self, other: SyncReport) -> None:
        for name in (f.name for f in dataclasses.fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def finished(self) -> int:
        return self.done + self.local_only + self.failed


class WorkerBusy(InterlinkError):
    """Another sync worker already runs on this SQLite store."""


# ---------------------------------------------------------------- jobs (what the store says)


@dataclass(frozen=True)
class Job:
    """A claimed entry with everything its EPP commands need, read from the store at claim."""

    entry_id: int
    kind: str
    tld: str
    attempts: int
    payload: Mapping[str, Any]
    registry: Registry | None
    claimed_at: datetime | None = None
    contact: ContactData | None = None
    """The contact to create (tech move) or update (contact edit)."""
    disclose: Disclose | None = None
    local_reason: str | None = None
    """Set when the registry's configured policy keeps this change local: nothing is sent."""
    fail_reason: str | None = None
    """Set when the store cannot make this entry into commands (e.g. no registry for the TLD)."""

    @property
    def subject(self) -> str:
        if self.kind == "domain.tech_move":
            return str(self.payload.get("domain"))
        return str(self.payload.get("handle"))

    @property
    def request_ref(self) -> str | None:
        return self.payload.get("request")

    @property
    def cltrid_prefix(self) -> str:
        return f"ILS{self.entry_id}"


def _strip(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def contact_data(contact: Contact, auth_info: str | None = None) -> ContactData:
    """The store's contact as EPP sends it (postal type loc when any postal item is not ASCII)."""
    street = tuple(line.strip() for line in (contact.street or ()) if line and line.strip())[:3]
    postal = [contact.name, contact.org, *street, contact.city, contact.state, contact.postal_code]
    postal_type = "int" if all(v is None or v.isascii() for v in postal) else "loc"
    return ContactData(
        handle=contact.handle,
        name=contact.name,
        org=_strip(contact.org),
        street=street,
        city=contact.city,
        sp=_strip(contact.state),
        pc=_strip(contact.postal_code),
        cc=contact.country.upper(),
        voice=_strip(contact.voice),
        voice_ext=_strip(contact.voice_ext) if _strip(contact.voice) else None,
        fax=_strip(contact.fax),
        fax_ext=_strip(contact.fax_ext) if _strip(contact.fax) else None,
        email=contact.email,
        auth_info=auth_info or new_auth_info(),
        postal_type=postal_type,
    )


def new_auth_info() -> str:
    """A fresh authInfo password for a contact we create (we never need it back)."""
    return secrets.token_urlsafe(12)


def matches(info: ContactInfo, data: ContactData, disclose: Disclose | None) -> bool:
    """True when the registry's contact holds every item of data and the disclose flags."""
    if not info.postal_info:
        return False
    postal = info.postal_info[0]
    want = data.postal_info.addr
    have = postal.addr
    same = (
        postal.name == data.name
        and (postal.org or None) == (data.org or None)
        and tuple(have.street) == tuple(want.street)
        and have.city == want.city
        and (have.sp or None) == (want.sp or None)
        and (have.pc or None) == (want.pc or None)
        and have.cc.upper() == want.cc.upper()
        and (info.voice or None) == (data.voice or None)
        and (info.voice_ext or None) == (data.voice_ext or None)
        and (info.fax or None) == (data.fax or None)
        and (info.fax_ext or None) == (data.fax_ext or None)
        and info.email == data.email
    )
    if not same or disclose is None:
        return same
    return (info.disclose or ALL_PUBLIC) == disclose


def techs_of(info: DomainInfo) -> tuple[str, ...]:
    """The tech contact handles of a domain:info answer."""
    return tuple(handle for kind, handle in info.contacts if kind == "tech")


def _where(exc: BaseException) -> str:
    """An exception for the log: its type and where it was raised, never its message (which
    may quote data: SQL parameters, field values)."""
    frames = traceback.extract_tb(exc.__traceback__)
    place = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{place}"


# ---------------------------------------------------------------- the SQLite worker lock


class SqliteWorkerLock:
    """An exclusive flock next to the SQLite file: one sync worker per store at a time."""

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


# ---------------------------------------------------------------- the worker


class ProgressLike:
    """What the worker needs of a progress display (rich.progress.Progress fits)."""

    def add_task(self, description: str, total: float | None = None) -> Any: ...

    def update(self, task_id: Any, **kwargs: Any) -> None: ...


def default_worker_id() -> str:
    """host:pid:random, at most 64 characters."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class SyncWorker:
    """Pushes outbox entries to the registries; run_once() drains what is due, follow() keeps on.

    sessions overrides each registry's configured number of EPP sessions. concurrency is how
    many entries are in flight at once (default: 16 per session), batch how many are claimed (and
    recorded) in one transaction. The notices of the requests it completes or expires are sent
    with `mailer` (default: the one of the store's settings) unless send_notices is False.
    Database calls ride out a lost connection or a restart through `outage` (default: the
    store's `sync` settings); DatabaseOutage when the database stays away past its limit.
    """

    def __init__(
        self,
        store: Store,
        registries: RegistryMap,
        *,
        worker_id: str | None = None,
        sessions: int | None = None,
        concurrency: int | None = None,
        batch: int = 64,
        lease: float = 300.0,
        quick_retries: int = 4,
        retry_wait: float = 0.1,
        retry_wait_max: float = 2.0,
        backoff: float = 10.0,
        backoff_max: float = 900.0,
        poll_interval: float = 1.0,
        lock_wait: float = 0.0,
        progress: ProgressLike | None = None,
        expire_requests: bool = True,
        mailer: Mailer | None = None,
        send_notices: bool = True,
        outage: OutageGuard | None = None,
    ) -> None:
        self.store = store
        self.registries = registries
        self.worker_id = (worker_id or default_worker_id())[:64]
        self.sessions = sessions
        self.batch = max(1, batch)
        self.lease = timedelta(seconds=lease)
        self.quick_retries = max(1, quick_retries)
        self.retry_wait = retry_wait
        self.retry_wait_max = retry_wait_max
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.poll_interval = poll_interval
        self.lock_wait = lock_wait
        self.progress = progress
        self.expire_requests = expire_requests
        # The notices of the transitions this worker makes (completed, expired), and those
        # other deliverers left behind: sent beside the sync, in a thread (default: settings).
        self.notices = NoticeSender(store, mailer) if send_notices else None
        self.workflow = Workflow(store)
        self._pools: dict[str, SessionPool] = {}
        self._lock = SqliteWorkerLock(str(store.engine.url)) if store.is_sqlite else None
        total_sessions = sum(self._pool_size(r) for r in registries)
        self.concurrency = concurrency or max(16, 16 * total_sessions)
        self._progress_task: Any = None
        self._progress_done = 0
        self._login_warned: set[str] = set()
        self._executor: ThreadPoolExecutor | None = None
        self.outage = outage or OutageGuard.from_settings(store.settings.sync)
        self._stop: asyncio.Event | None = None

    # ------------------------------------------------------------ public API

    async def run_once(self) -> SyncReport:
        """Sync every entry due now (retries scheduled for later stay pending); then return."""
        return await self._run(follow=False)

    async def follow(self, stop: asyncio.Event | None = None) -> SyncReport:
        """Keep syncing new entries until stop is set (or the task is cancelled)."""
        return await self._run(follow=True, stop=stop)

    async def close(self) -> None:
        """Log out of every registry and release the SQLite lock."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await pool.close()
        if self._lock is not None:
            self._lock.release()
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    async def __aenter__(self) -> SyncWorker:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def backlog(self) -> int:
        """Entries waiting: pending or in progress."""
        with self.store.read() as session:
            return session.execute(
                select(func.count())
                .select_from(OutboxEntry)
                .where(col(OutboxEntry.status).in_(("pending", "in_progress")))
            ).scalar_one()

    # ------------------------------------------------------------ the loop

    async def _run(self, *, follow: bool, stop: asyncio.Event | None = None) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        stop = self._stop = stop or asyncio.Event()
        if self._lock is not None:
            await asyncio.to_thread(self._lock.acquire, wait=self.lock_wait)
        await self._db(self._reconcile, report)
        await self._db(self._start_progress)
        recorder = _Recorder(self, report)
        inflight: set[asyncio.Task[Result]] = set()
        exhausted = False
        empty_claim_at = 0.0
        finished_since_empty_claim = 0
        next_housekeeping = time.monotonic() + 30.0
        mail: asyncio.Task[None] | None = None
        try:
            while True:
                recorder.check()
                mail = self._mail(mail, report)
                stopping = stop.is_set()
                if exhausted and time.monotonic() - empty_claim_at >= self.poll_interval:
                    exhausted = False  # look again for new entries now and then
                if not stopping and len(inflight) <= self.concurrency // 2 and not exhausted:
                    want = min(self.batch, self.concurrency - len(inflight))
                    jobs = await self._db(self._claim, want, [])
                    report.claimed += len(jobs)
                    for job in jobs:
                        inflight.add(asyncio.create_task(self._process(job)))
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
                            await self._db(self._housekeeping, report)
                            mail = self._mail(mail, report, pending=True)
                            next_housekeeping = time.monotonic() + 30.0
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(self.poll_interval):
                                await stop.wait()
                        exhausted = False
                    continue
                done, _ = await asyncio.wait(
                    inflight, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED
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

    def _start_progress(self) -> None:
        if self.progress is None or self._progress_task is not None:
            return
        self._progress_task = self.progress.add_task("registry sync", total=self.backlog())

    def _advance_progress(self, n: int) -> None:
        if self.progress is None or self._progress_task is None or not n:
            return
        self._progress_done += n
        total = self._progress_done + self.backlog()
        self.progress.update(self._progress_task, completed=self._progress_done, total=total)

    # ------------------------------------------------------------ claiming

    def _claim(self, limit: int, tried: list[datetime] | None = None) -> list[Job]:
        """Claim up to limit due entries (oldest first, one per domain/contact) and load them.

        `tried` holds the claim times of earlier tries of this claim that failed (a lost
        connection): one of them may have committed without our hearing, and the entries it
        claimed (ours, with its exact claim time) are taken again rather than left to the lease.
        """
        now = utcnow()
        lost_at = list(tried or ())
        if tried is not None:
            tried.append(now)
        stale = now - self.lease
        entry = OutboxEntry
        lease_over = col(entry.claimed_at) < stale
        if self._lock is not None:
            # We hold the store's only worker lock: anything in progress under another id is an
            # orphan of a worker that died.
            lease_over = or_(lease_over, col(entry.claimed_by) != self.worker_id)
        if lost_at:
            lease_over = or_(
                lease_over,
                and_(entry.claimed_by == self.worker_id, col(entry.claimed_at).in_(lost_at)),
            )
        due = or_(
            and_(entry.status == "pending", col(entry.next_attempt_at) <= now),
            and_(entry.status == "in_progress", lease_over),
        )
        with self.store.write() as session:
            stmt = (
                select(entry.id, entry.domain_id, entry.contact_id)
                .where(due, col(entry.kind).in_(KINDS))
                .order_by(col(entry.id))
                .limit(limit)
            )
            if not self.store.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            candidates = session.execute(stmt).all()
            if not candidates:
                return []
            top = max(row.id for row in candidates)
            domain_ids = {row.domain_id for row in candidates if row.domain_id is not None}
            contact_ids = {row.contact_id for row in candidates if row.contact_id is not None}
            key_match = []
            if domain_ids:
                key_match.append(col(entry.domain_id).in_(domain_ids))
            if contact_ids:
                key_match.append(col(entry.contact_id).in_(contact_ids))
            earlier = []
            if key_match:
                earlier = session.execute(
                    select(entry.id, entry.domain_id, entry.contact_id).where(
                        col(entry.status).in_(("pending", "in_progress")),
                        col(entry.id) < top,
                        or_(*key_match),
                    )
                ).all()
            chosen: list[int] = []
            for row in candidates:
                blocked = any(
                    other.id < row.id
                    and (
                        (row.domain_id is not None and other.domain_id == row.domain_id)
                        or (row.contact_id is not None and other.contact_id == row.contact_id)
                    )
                    for other in earlier
                )
                if not blocked:
                    chosen.append(row.id)
            if not chosen:
                return []
            session.execute(
                update(entry)
                .where(col(entry.id).in_(chosen))
                .values(
                    status="in_progress",
                    claimed_by=self.worker_id,
                    claimed_at=now,
                    attempts=entry.attempts + 1,
                    version=entry.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
            rows = list(
                session.execute(
                    select(entry).where(col(entry.id).in_(chosen)).order_by(col(entry.id))
                ).scalars()
            )
            jobs = self._load(session, rows)
        log.debug("claimed %d outbox entries", len(jobs))
        return jobs

    def _load(self, session: Any, rows: Sequence[OutboxEntry]) -> list[Job]:
        """Make claimed entries into jobs, reading what they need in a few queries."""
        moves = [row for row in rows if row.kind == "domain.tech_move"]
        names = {str(row.payload.get("domain")) for row in moves}
        handles = {str(row.payload.get("new_tech")) for row in moves}
        records = self._records(session, names)
        contacts = (
            {
                c.handle: c
                for c in session.execute(select(Contact).where(col(Contact.handle).in_(handles)))
                .scalars()
                .all()
            }
            if handles
            else {}
        )
        jobs = []
        for row in rows:
            try:
                if row.kind == "domain.tech_move":
                    jobs.append(self._move_job(row, records, contacts))
                else:
                    jobs.append(self._contact_job(session, row))
            except DBAPIError:
                raise  # the database failed, not the entry: the whole claim is tried again
            except Exception as exc:  # a broken entry must not stop the others
                log.error("outbox entry %s cannot be prepared: %s", row.id, _where(exc))
                jobs.append(self._job(row, None, fail_reason=f"cannot prepare the entry: {exc}"))
        return jobs

    def _records(self, session: Any, names: Iterable[str]) -> dict[str, DomainRecord]:
        names = set(names)
        if not names:
            return {}
        domains = list(session.execute(select(Domain).where(col(Domain.name).in_(names))).scalars())
        if not domains:
            return {}
        ids = [d.id for d in domains]
        accounts = {
            a.id: a
            for a in session.execute(
                select(Account).where(col(Account.id).in_({d.account_id for d in domains}))
            ).scalars()
        }
        holders: dict[int, dict[str, Contact]] = {}
        for domain_id, role, contact in session.execute(
            select(DomainContact.domain_id, DomainContact.role, Contact)
            .join(Contact, col(Contact.id) == col(DomainContact.contact_id))
            .where(col(DomainContact.domain_id).in_(ids))
        ).all():
            holders.setdefault(domain_id, {})[role] = contact
        return {
            d.name: DomainRecord(
                domain=d, account=accounts.get(d.account_id), contacts=holders.get(d.id, {})
            )
            for d in domains
        }

    def _job(self, row: OutboxEntry, registry: Registry | None, **extra: Any) -> Job:
        return Job(
            entry_id=row.id,
            kind=row.kind,
            tld=row.tld,
            attempts=row.attempts,
            claimed_at=row.claimed_at,
            payload=dict(row.payload),
            registry=registry,
            **extra,
        )

    def _registry(self, row: OutboxEntry) -> tuple[Registry | None, Mapping[str, str], str | None]:
        try:
            config = self.registries.tld(row.tld)
        except UnknownTld as exc:
            return None, {}, str(exc)
        return config.registry, config.contacts, None

    def _view(self, record: DomainRecord, policy: Mapping[str, str]) -> PublicationView:
        settings = self.store.settings
        return build_view(
            record,
            profile=settings.publication_profile,
            registrar=settings.registrar,
            registry_policy=policy,
        )

    def _move_job(
        self,
        row: OutboxEntry,
        records: Mapping[str, DomainRecord],
        contacts: Mapping[str, Contact],
    ) -> Job:
        registry, policy, problem = self._registry(row)
        if problem:
            return self._job(row, None, fail_reason=problem)
        payload = row.payload
        record = records.get(str(payload.get("domain")))
        new = contacts.get(str(payload.get("new_tech")))
        if record is None or new is None:
            what = "domain" if record is None else "new technical contact"
            return self._job(row, registry, fail_reason=f"the {what} is no longer in the store")
        if policy.get("tech") == "prohibited":
            return self._job(
                row,
                registry,
                local_reason=f"the registry of .{row.tld} takes no tech contacts (configured "
                "policy): kept locally, nothing sent",
            )
        held = record.contacts
        if held.get("tech") is None or held["tech"].handle != new.handle:
            # The store moved on since; the view is of the contact this entry moves in.
            record = DomainRecord(record.domain, record.account, {**held, "tech": new})
        view = self._view(record, policy)
        return self._job(
            row, registry, contact=contact_data(new), disclose=disclose_for(view, "tech")
        )

    def _contact_job(self, session: Any, row: OutboxEntry) -> Job:
        registry, policy, problem = self._registry(row)
        if problem:
            return self._job(row, None, fail_reason=problem)
        handle = str(row.payload.get("handle"))
        contact = session.execute(select(Contact).where(Contact.handle == handle)).scalar()
        if contact is None:
            return self._job(row, registry, fail_reason="the contact is no longer in the store")
        roles = sorted(
            set(
                session.execute(
                    select(DomainContact.role)
                    .join(Domain, col(Domain.id) == col(DomainContact.domain_id))
                    .where(DomainContact.contact_id == contact.id, Domain.tld == row.tld)
                    .distinct()
                ).scalars()
            )
        )
        sent = [role for role in roles if policy.get(role) != "prohibited"]
        if not sent:
            reason = (
                f"the contact holds no role on a .{row.tld} domain any more"
                if not roles
                else f"the registry of .{row.tld} takes no {'/'.join(roles)} contacts "
                "(configured policy): kept locally, nothing sent"
            )
            return self._job(row, registry, local_reason=reason)
        domain = session.execute(
            select(Domain)
            .join(DomainContact, col(DomainContact.domain_id) == col(Domain.id))
            .where(DomainContact.contact_id == contact.id, Domain.tld == row.tld)
            .limit(1)
        ).scalar_one()
        account = session.get(Account, domain.account_id)
        # One EPP contact object serves every role the contact holds under this registry: put
        # it in all of them, so the disclose flags keep private what any of them keeps private.
        record = DomainRecord(domain, account, {role: contact for role in roles})
        view = self._view(record, policy)
        return self._job(
            row, registry, contact=contact_data(contact), disclose=disclose_for(view, sent[0])
        )

    # ------------------------------------------------------------ EPP

    def _pool_size(self, registry: Registry) -> int:
        return self.sessions or registry.sessions

    def _pool(self, registry: Registry) -> SessionPool:
        pool = self._pools.get(registry.name)
        if pool is None or pool.closed:
            pool = SessionPool(registry.endpoint(), self._pool_size(registry))
            self._pools[registry.name] = pool
        return pool

    async def _send(
        self, job: Job, log_: list[Sent], verb: str, build: Callable[[str], bytes]
    ) -> Response:
        """One command on a pooled session; Retry on trouble before sending, AmbiguousOutcome
        (to be resolved with info) when the command left but no answer came."""
        assert job.registry is not None
        cltrid = new_cltrid(job.cltrid_prefix)
        try:
            pool = self._pool(job.registry)
            async with pool.session() as session:
                response = await session.command(build, cltrid=cltrid)
        except AmbiguousOutcome:
            log_.append(Sent(verb, cltrid, None, None))
            log.info("entry %s: %s %s sent, answer lost", job.entry_id, verb, cltrid)
            raise
        except EppCommandError as exc:
            name = job.registry.name
            if name not in self._login_warned:
                self._login_warned.add(name)
                log.error("registry %s refused our login: EPP %s", name, exc.code)
            raise Retry(
                f"login to registry {name} failed: {exc.code} {exc.message}", exc.code
            ) from exc
        except EppTransportError as exc:
            raise Retry(f"registry {job.registry.name} unreachable: {exc}") from exc
        except RegistryConfigError as exc:
            name = job.registry.name
            if name not in self._login_warned:
                self._login_warned.add(name)
                log.error("registry %s cannot be used: %s", name, exc)
            raise Retry(str(exc)) from exc
        log_.append(Sent(verb, cltrid, response.svtrid, response.code))
        log.debug("entry %s: %s %s -> %s", job.entry_id, verb, cltrid, response.code)
        return response

    @staticmethod
    def _classify(response: Response, what: str) -> None:
        """Raise the outcome of an answer that is not a success."""
        code = response.code
        if code in DONE_CODES:
            return
        text = f"{what}: {code} {response.message}"
        reasons = [r for result in response.results for r in result.reasons]
        if reasons:
            text += f" ({'; '.join(reasons)})"
        if code == POLICY_CODE:
            raise LocalOnly(text, code)
        if code in RETRY_CODES:
            raise Retry(text, code)
        if 1000 <= code < 2000:
            return  # another success (1300, 1500...): nothing to do
        raise Permanent(text, code)

    async def _contact_state(self, job: Job, sent: list[Sent]) -> ContactInfo | None:
        """The registry's copy of our contact, None when it has none; Permanent when the
        handle is another registrar's."""
        assert job.contact is not None
        handle = job.contact.handle
        try:
            response = await self._send(
                job, sent, "contact:info", lambda c: contact_info(handle, cltrid=c)
            )
        except AmbiguousOutcome as exc:
            raise Retry(f"contact:info of {handle}: answer lost") from exc
        if response.code == MISSING_CODE:
            return None
        self._classify(response, f"contact:info {handle}")
        info = response.res_data.get("contact_info")
        if info is None:
            raise Retry(f"contact:info of {handle} gave no data")
        client_id = job.registry.client_id if job.registry else None
        if info.cl_id != client_id:
            raise Permanent(
                f"contact {handle} exists at the registry but is sponsored by {info.cl_id}, "
                "not by us",
                EXISTS_CODE,
            )
        return info

    async def _ensure_contact(self, job: Job, sent: list[Sent], *, known: bool | None) -> str:
        """Create our contact unless the registry has it; "created" or "exists"."""
        assert job.contact is not None
        if known:
            return "exists"
        data, disclose = job.contact, job.disclose
        try:
            response = await self._send(
                job, sent, "contact:create", lambda c: contact_create(data, disclose, cltrid=c)
            )
        except AmbiguousOutcome:
            # Did it go through? Ask before sending anything again.
            if await self._contact_state(job, sent) is not None:
                return "exists"
            try:
                response = await self._send(
                    job,
                    sent,
                    "contact:create",
                    lambda c: contact_create(data, disclose, cltrid=c),
                )
            except AmbiguousOutcome as exc:
                raise Retry(f"contact:create of {data.handle}: answer lost twice") from exc
        if response.code == EXISTS_CODE:
            # 2302 on our own deterministic handle: done before (by us), if info says it is ours.
            await self._contact_state(job, sent)
            return "exists"
        self._classify(response, f"contact:create {data.handle}")
        return "created"

    async def _domain_state(self, job: Job, sent: list[Sent]) -> DomainInfo:
        name = str(job.payload["domain"])
        try:
            response = await self._send(
                job, sent, "domain:info", lambda c: domain_info(name, cltrid=c, hosts="none")
            )
        except AmbiguousOutcome as exc:
            raise Retry(f"domain:info of {name}: answer lost") from exc
        self._classify(response, f"domain:info {name}")
        info = response.res_data.get("domain_info")
        if info is None:
            raise Retry(f"domain:info of {name} gave no data")
        return info

    @staticmethod
    def _moved(info: DomainInfo, old: str | None, new: str) -> bool:
        techs = techs_of(info)
        return new in techs and (old is None or old == new or old not in techs)

    async def _tech_move(self, job: Job, sent: list[Sent], resume: bool) -> str | None:
        payload = job.payload
        name, old, new = str(payload["domain"]), payload.get("old_tech"), str(payload["new_tech"])
        current: DomainInfo | None = None
        note = None
        if resume:
            # A previous attempt may have done any part of this: learn the registry's state.
            current = await self._domain_state(job, sent)
            if self._moved(current, old, new):
                return "already at the registry"
            known = await self._contact_state(job, sent) is not None
            if await self._ensure_contact(job, sent, known=known) == "exists":
                note = "contact already at the registry"
        elif await self._ensure_contact(job, sent, known=False) == "exists":
            note = "contact already at the registry (2302, ours)"

        pending = False
        for round_ in range(2):
            techs = techs_of(current) if current is not None else None
            add = () if techs is not None and new in techs else (("tech", new),)
            rem = (("tech", old),) if old and old != new and (techs is None or old in techs) else ()
            if not add and not rem:
                break
            change = DomainUpdate(name=name, add_contacts=add, rem_contacts=rem)
            try:
                response = await self._send(
                    job, sent, "domain:update", lambda c, u=change: domain_update(u, cltrid=c)
                )
            except AmbiguousOutcome:
                current = await self._domain_state(job, sent)
                if self._moved(current, old, new):
                    break
                if round_:
                    raise Retry(f"domain:update of {name}: answer lost twice") from None
                continue
            if response.code in (EXISTS_CODE, MISSING_CODE) and current is None and not round_:
                # The registry's links are not what we thought: read them, then send only what
                # is still missing.
                current = await self._domain_state(job, sent)
                if self._moved(current, old, new):
                    break
                continue
            self._classify(response, f"domain:update {name}")
            pending = response.code == 1001
            break
        # Read it back.
        after = await self._domain_state(job, sent)
        if not self._moved(after, old, new) and pending:
            # 1001: the registry accepted the change but applies it later (it will say so in
            # its poll queue); the read-back cannot show it yet.
            return "registry answered 1001: action pending"
        if not self._moved(after, old, new):
            raise Retry(
                f"domain:info of {name} after the update shows tech "
                f"{', '.join(techs_of(after)) or 'none'}, not {new}"
            )
        return note

    async def _contact_edit(self, job: Job, sent: list[Sent], resume: bool) -> str | None:
        assert job.contact is not None
        data, disclose = job.contact, job.disclose
        if resume:
            state = await self._contact_state(job, sent)
            if state is None:
                await self._ensure_contact(job, sent, known=False)
                return "created at the registry"
            if matches(state, data, disclose):
                return "already at the registry"
        change = dataclasses.replace(ContactChange.from_contact(data, disclose), auth_info=None)
        edit = ContactUpdate(handle=data.handle, change=change)
        try:
            response = await self._send(
                job, sent, "contact:update", lambda c: contact_update(edit, cltrid=c)
            )
        except AmbiguousOutcome:
            state = await self._contact_state(job, sent)
            if state is not None and matches(state, data, disclose):
                return None
            raise Retry(f"contact:update of {data.handle}: answer lost") from None
        if response.code == MISSING_CODE:
            await self._ensure_contact(job, sent, known=False)
            return "created at the registry (it had no such contact)"
        self._classify(response, f"contact:update {data.handle}")
        return None

    async def _process(self, job: Job) -> Result:
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
        resume = [job.attempts > 1]
        step = self._tech_move if job.kind == "domain.tech_move" else self._contact_edit

        async def attempt() -> str | None:
            try:
                return await step(job, result.commands, resume[0])
            except Retry:
                resume[0] = True
                raise
            except AmbiguousOutcome as exc:
                resume[0] = True
                raise Retry(f"answer lost: {exc}") from exc

        async def attempts() -> str | None:
            # The first attempt runs bare (the common case costs nothing extra); after a Retry,
            # tenacity runs the rest with exponential back-off and jitter.
            try:
                return await attempt()
            except Retry:
                if self.quick_retries <= 1:
                    raise
            retrying = AsyncRetrying(
                stop=stop_after_attempt(self.quick_retries - 1),
                wait=wait_exponential(multiplier=self.retry_wait, max=self.retry_wait_max)
                + wait_random(0, self.retry_wait),
                retry=retry_if_exception_type(Retry),
                reraise=True,
            )
            await asyncio.sleep(self.retry_wait + random.uniform(0, self.retry_wait))
            return await retrying(attempt)

        try:
            note = await attempts()
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
            log.error("outbox entry %s: unexpected error %s", job.entry_id, _where(exc))
            result.status, result.error = "failed", f"unexpected error: {type(exc).__name__}: {exc}"
        main = self._main_command(result.commands)
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

    @staticmethod
    def _main_command(commands: Sequence[Sent]) -> Sent | None:
        """The command that made the change (the last answered transform), else the last."""
        for sent in reversed(commands):
            if sent.verb.split(":")[1] in ("create", "update") and sent.code in DONE_CODES:
                return sent
        answered = [s for s in commands if s.svtrid]
        return answered[-1] if answered else (commands[-1] if commands else None)

    def _backoff(self, attempts: int) -> float:
        base = min(self.backoff_max, self.backoff * 2 ** max(0, attempts - 1))
        return base * random.uniform(0.8, 1.2)

    # ------------------------------------------------------------ recording results

    async def _flush(self, results: list[Result], report: SyncReport) -> None:
        """Record results in one transaction, then finish their change requests a few at a
        time (so that claims get the database in between)."""
        await self._db(self._record, results, report)
        finishing = [r for r in results if r.request_ref and r.status != "pending"]
        for start in range(0, len(finishing), 8):
            await self._db(self._finish_requests, finishing[start : start + 8], report)
        await self._db(self._advance_progress, sum(1 for r in results if r.status != "pending"))

    async def _db(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run blocking store work on the worker's one database thread: claims and records
        queue up there instead of fighting over SQLite's write lock. A transient error (a lost
        connection, a restart) is retried through the outage guard: every such piece of work
        is one transaction that commits whole or not at all, and is safe to run again."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="sync-db")
        loop = asyncio.get_running_loop()
        call = functools.partial(function, *args)
        executor = self._executor
        return await self.outage.run(
            lambda: loop.run_in_executor(executor, call),
            what=function.__name__.strip("_"),
            stop=self._stop,
        )

    def _record(self, results: Sequence[Result], report: SyncReport) -> None:
        """Write every result and its audit event in one transaction (only entries still ours)."""
        now = utcnow()
        actor = audit.check_actor(ACTOR)
        table = OutboxEntry.__table__
        with self.store.write() as session:
            ids = [r.entry_id for r in results]
            ours_stmt = select(OutboxEntry.id).where(
                col(OutboxEntry.id).in_(ids),
                OutboxEntry.status == "in_progress",
                OutboxEntry.claimed_by == self.worker_id,
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
                finished = r.status in ("done", "local_only", "failed")
                rows.append(
                    {
                        "b_id": r.entry_id,
                        "status": r.status,
                        "next_attempt_at": r.next_attempt_at or now,
                        # A finished entry keeps who did it; a retry is free for anyone.
                        "claimed_by": self.worker_id if finished else None,
                        "claimed_at": r.claimed_at if finished else None,
                        "last_error": (r.error or (r.note if r.status == "local_only" else None)),
                        "cltrid": r.cltrid,
                        "svtrid": r.svtrid,
                        "completed_at": now if finished else None,
                    }
                )
                if r.status == "pending":
                    report.retried += 1
                    continue
                setattr(report, r.status, getattr(report, r.status) + 1)
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
                events.append(
                    {
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
                )
            if events:
                # The audit trail's rows, in one multi-row insert (append-only, as ever).
                session.execute(insert(AuditEvent), events)
            if rows:
                session.execute(
                    table.update()
                    .where(table.c.id == bindparam("b_id"))
                    .values(
                        status=bindparam("status"),
                        next_attempt_at=bindparam("next_attempt_at"),
                        claimed_by=bindparam("claimed_by"),
                        claimed_at=bindparam("claimed_at"),
                        last_error=bindparam("last_error"),
                        cltrid=bindparam("cltrid"),
                        svtrid=bindparam("svtrid"),
                        completed_at=bindparam("completed_at"),
                        version=table.c.version + 1,
                    ),
                    rows,
                )

    def _finish_requests(self, results: Sequence[Result], report: SyncReport) -> None:
        for r in results:
            if not r.request_ref or r.status == "pending":
                continue
            self._finish_request(r.request_ref, r.status, r.cltrid, r.svtrid, r.error, report)

    def _finish_request(
        self,
        reference: str,
        status: str,
        cltrid: str | None,
        svtrid: str | None,
        error: str | None,
        report: SyncReport,
    ) -> None:
        try:
            if status in ("done", "local_only"):
                outcome = self.workflow.mark_completed(
                    reference=reference, cltrid=cltrid, svtrid=svtrid, actor=ACTOR
                )
                report.requests_completed += 1
                if self.notices is not None:
                    self.notices.add(outcome.notice_ids)
            elif status == "failed":
                self.workflow.mark_sync_failed(
                    reference=reference, error=error or "the registry refused", actor=ACTOR
                )
                report.requests_failed += 1
        except RuleViolation:
            pass  # finished already (by the reconciliation or another worker)
        except InterlinkError as exc:
            log.warning("change request %s not updated: %s", reference, type(exc).__name__)

    def _reconcile(self, report: SyncReport) -> None:
        """Finish change requests whose outbox entry finished while no worker could say so."""
        with self.store.read() as session:
            rows = session.execute(
                select(
                    ChangeRequest.reference,
                    OutboxEntry.status,
                    OutboxEntry.cltrid,
                    OutboxEntry.svtrid,
                    OutboxEntry.last_error,
                )
                .join(OutboxEntry, col(OutboxEntry.id) == col(ChangeRequest.outbox_id))
                .where(
                    ChangeRequest.state == "applied",
                    col(OutboxEntry.status).in_(("done", "local_only", "failed")),
                )
            ).all()
        for reference, status, cltrid, svtrid, error in rows:
            self._finish_request(reference, status, cltrid, svtrid, error, report)

    def _housekeeping(self, report: SyncReport) -> None:
        self._reconcile(report)
        if self.expire_requests:
            try:
                for outcome in self.workflow.expire_stale():
                    if self.notices is not None:
                        self.notices.add(outcome.notice_ids)
            except InterlinkError as exc:
                log.warning("expiring stale change requests failed: %s", type(exc).__name__)


class _Recorder:
    """Writes results in the background, so that claiming and EPP traffic never wait for it.

    Results that pile up while a write is under way go together in the next one. When a write
    fails (the database is gone), its entries stay in progress under our claim and are taken
    up again once the lease expires, starting with info: nothing is lost or done twice.
    """

    LINGER = 0.02
    """Seconds to wait for more results before writing a batch."""

    def __init__(self, worker: SyncWorker, report: SyncReport) -> None:
        self.worker = worker
        self.report = report
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
            while len(batch) < self.worker.batch:
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
                await self.worker._flush(batch, self.report)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, DatabaseOutage) and self.failure is None:
                    self.failure = exc
                log.error(
                    "recording %d sync results failed (%s); the entries will be taken up again",
                    len(batch),
                    _where(exc),
                )
            finally:
                for _ in range(taken):
                    self.queue.task_done()


# ---------------------------------------------------------------- helpers for callers


def audit_count(store: Store, action: str) -> int:
    """How many audit events of one action exist (used by tests and the staff views)."""
    with store.read() as session:
        return session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        ).scalar_one()


async def run_worker(
    store: Store,
    registries: RegistryMap,
    *,
    follow: bool = False,
    stop: asyncio.Event | None = None,
    on_start: Callable[[SyncWorker], Awaitable[None] | None] | None = None,
    **options: Any,
) -> SyncReport:
    """Run one worker (once, or following until stop) and close it."""
    async with SyncWorker(store, registries, **options) as worker:
        if on_start is not None:
            started = on_start(worker)
            if asyncio.iscoroutine(started):
                await started
        if follow:
            return await worker.follow(stop)
        return await worker.run_once()


__all__ = [
    "ACTOR",
    "DatabaseOutage",
    "Job",
    "LocalOnly",
    "Permanent",
    "Result",
    "Retry",
    "SqliteWorkerLock",
    "SyncReport",
    "SyncWorker",
    "WorkerBusy",
    "contact_data",
    "matches",
    "run_worker",
    "techs_of",
]
