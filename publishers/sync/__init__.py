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

2. **Commands.** Each outbox kind is a flow (``flows/``, one module per kind, listed in
   ``flows.FLOWS``): its ``prepare`` makes claimed entries into jobs, its ``run`` sends a job's
   commands. A tech move: ``contact:create`` of the new tech contact (our deterministic handle,
   disclose flags from the publication policy), one ``domain:update`` adding the new tech and
   removing the old, then ``domain:info`` to read it back. A contact edit: ``contact:update``
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

Where each part lives:

- ``worker.py``: `SyncWorker` (puts the parts together), `run_worker`.
- ``options.py``: `SyncOptions`, the worker's one frozen options object.
- ``loop.py``: the loop (once or following), the database thread through the outage guard,
  the progress display, the notices pass.
- ``claim.py``: claiming (step 1) and loading entries into jobs through their flows.
- ``jobs.py``: `Job`, `Preparation` (what preparing may read) and the `Flow` protocol.
- ``flows/``: one module per outbox kind, and the one registry ``FLOWS``.
- ``runner.py``: one job to its result (quick retries, back-off, step 3).
- ``exchange.py``: one job's commands on the registry's sessions, and the info questions.
- ``pool.py``: the EPP session pools, one per registry.
- ``outcomes.py``: Retry, Permanent, LocalOnly and the result codes.
- ``record.py``: writing results back (step 4); ``housekeeping.py``: the change requests.
- ``report.py``: `Sent`, `Result`, `SyncReport`; ``lock.py``: the SQLite worker lock;
  ``contacts.py``: the store's contacts as EPP sends them.
"""

from publishers.db_retry import DatabaseOutage
from publishers.sync.contacts import ALL_PUBLIC, contact_data, matches, new_auth_info, techs_of
from publishers.sync.flows import FLOWS, KINDS
from publishers.sync.jobs import Flow, Job, Preparation
from publishers.sync.lock import SqliteWorkerLock, WorkerBusy
from publishers.sync.options import SWITCH_INTERVAL, ProgressLike, SyncOptions, default_worker_id
from publishers.sync.outcomes import LocalOnly, Permanent, Retry
from publishers.sync.record import ACTOR
from publishers.sync.report import Result, Sent, SyncReport
from publishers.sync.worker import SyncWorker, audit_count, run_worker

__all__ = [
    "ACTOR",
    "ALL_PUBLIC",
    "FLOWS",
    "KINDS",
    "SWITCH_INTERVAL",
    "DatabaseOutage",
    "Flow",
    "Job",
    "LocalOnly",
    "Permanent",
    "Preparation",
    "ProgressLike",
    "Result",
    "Retry",
    "Sent",
    "SqliteWorkerLock",
    "SyncOptions",
    "SyncReport",
    "SyncWorker",
    "WorkerBusy",
    "audit_count",
    "contact_data",
    "default_worker_id",
    "matches",
    "new_auth_info",
    "run_worker",
    "techs_of",
]
