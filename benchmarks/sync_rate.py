"""Registry sync rate: changes per second to the sandbox over TLS (tech moves and a mix of domain
updates), with 1 and 4 EPP sessions, against the sandbox's own ceiling measured in the same run.

    python benchmarks/sync_rate.py [--moves 1500] [--updates 750] [--sessions 1,4] [--dir DIR]

1. A SQLite store gets `moves` domains whose technical contact was moved to a new one: each has
   its outbox entry (domain.tech_move), as `Workflow.apply` leaves it (bulk-inserted; not timed).
   It also gets `updates` more domains, each with one domain.update entry, in turn: the
   registrar lock (three client statuses added; one `domain:update`), a DS record added
   (secDNS-1.1; one `domain:update`), and two name servers added, one under the domain itself
   with its glue (`host:check`, `host:create` of the glued host, the shared other one created
   by the first entry that needs it, `domain:update`).
   The sandbox holds the same domains with the old tech contact. Each measurement starts from a
   fresh copy of both. The main figure is for entries without a change request; a second run
   gives every move its change request in state `applied`, which the worker then completes
   (`Workflow.mark_completed`: one transaction, an audit event and three notices each).
2. The sandbox registry runs in its own process (TLS, its own SQLite, every frame checked against
   the EPP schemas), as a registry would; the worker runs here.
3. ceiling: a bare client doing `<hello>` round trips over the same TLS with the same number of
   sessions (each session one request at a time, as EPP allows), for a few seconds.
4. sync: `SyncWorker.run_once()` drains the whole backlog: claim in batches, per move
   `contact:create` (disclose flags from the publication policy), one `domain:update` (add new
   tech, remove old), `domain:info` read-back, per domain update its commands (above), each
   entry recorded with its audit event, each change request completed (with its audit event
   and notices). Timed from start to return; the sandbox state is then checked (every domain
   has the new tech, every update is applied).

The ratio printed is changes per second / hello round trips per second. A move costs three EPP
commands and a domain update one to three, each heavier for the registry than a hello.
For context the second line of each session count gives the rate of a bare client sending the
same three commands (no store, no policy, no records) to a fresh copy of the sandbox, and the
CPU time per move of the worker process, of that bare client and of the sandbox process: on a
machine shared with other work the rates follow the load, the CPU times much less.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select
from sqlmodel import col

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
from domains.settings import Settings
from domains.store import Store, contact_handle
from publishers.epp.client.commands import contact_create, domain_info, domain_update
from publishers.epp.model import ContactData, Disclose, DomainUpdate
from publishers.epp.session import Endpoint, EppSession
from publishers.registries import parse_registries
from publishers.sandbox.process import run_sandbox
from publishers.sandbox.records import SandboxDomain
from publishers.sandbox.server import SandboxRegistry
from publishers.sandbox.store import read_snapshot
from publishers.sync.contacts import contact_data
from publishers.sync.options import SWITCH_INTERVAL, SyncOptions
from publishers.sync.worker import SyncWorker

CLIENT_ID = "interlink"
PASSWORD = "bench-pw-1"
TLDS = ("com", "net", "org", "de", "fr", "nl")
CEILING_SECONDS = 3.0


# ---------------------------------------------------------------- data


UPDATE_BASE = 500_000
SHARED_NS = "ns.bench-dns.example.net"
LOCK = ["clientDeleteProhibited", "clientTransferProhibited", "clientUpdateProhibited"]


def move_entry_id(i: int) -> int:
    """The outbox id of the i-th move: moves and updates alternate in the outbox."""
    return 10_000 + 2 * i


def update_entry_id(i: int) -> int:
    """The outbox id of the i-th domain update."""
    return 10_001 + 2 * i


def update_payload(i: int, name: str) -> dict[str, object]:
    """The i-th domain update of the mix: lock, DS record, name servers with glue."""
    match i % 3:
        case 0:
            return {"domain": name, "statuses": {"add": LOCK}}
        case 1:
            digest = f"{i:064X}"
            ds = {"key_tag": i % 65536, "alg": 13, "digest_type": 2, "digest": digest}
            return {"domain": name, "ds": {"add": [ds]}}
        case _:
            return {
                "domain": name,
                "ns": {"add": [f"ns1.{name}", SHARED_NS]},
                "hosts": {f"ns1.{name}": [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"]},
            }


def update_applied(i: int, held: SandboxDomain) -> bool:
    """True when the sandbox's domain shows the i-th update of the mix."""
    match i % 3:
        case 0:
            return sorted(held.statuses) == LOCK
        case 1:
            return len(held.ds) == 1
        case _:
            return len(held.ns) == 2


def build_store(
    url: str, data_dir: Path, moves: int, *, updates: int = 0, requests_too: bool = True
) -> tuple[list[str], list[str]]:
    """moves applied tech changes in the store at url (outbox entries, with their change
    requests in state applied unless requests_too is False) and `updates` domain updates;
    the domain names of both."""
    store = Store.open(settings=Settings(database_url=url, data_dir=data_dir))
    try:
        house = store.house_contact()
        now = utcnow()
        accounts, contacts, domains, links, outbox, requests = [], [], [], [], [], []
        names = []
        for i in range(moves):
            account_id, domain_id = 10_000 + i, 10_000 + i
            registrant_id, tech_id = 10_000 + 2 * i, 10_001 + 2 * i
            name = f"bench{i}.{TLDS[i % len(TLDS)]}"
            names.append(name)
            accounts.append(
                {
                    "id": account_id,
                    "number": f"B-{i}",
                    "name": f"Bench Customer {i}",
                    "email": f"customer{i}@example.com",
                    "street": ["1 Bench Street"],
                    "city": "Bristol",
                    "country": "GB",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for contact_id, kind, who in (
                (registrant_id, "person", f"Registrant {i}"),
                (tech_id, "organization", f"Noc Team {i}"),
            ):
                contacts.append(
                    {
                        "id": contact_id,
                        "handle": contact_handle(contact_id),
                        "kind": kind,
                        "name": who,
                        "org": f"Hosting {i} GmbH" if kind == "organization" else None,
                        "street": [f"Hafenstrasse {i}"],
                        "city": "Hamburg",
                        "postal_code": "20457",
                        "country": "DE",
                        "voice": "+49.40609040",
                        "email": f"c{contact_id}@example.net",
                        "consent_fields": ["org", "email"] if i % 2 else [],
                        "account_id": account_id if kind == "person" else None,
                        "is_house": False,
                        "name_key": who.casefold(),
                        "email_key": f"c{contact_id}@example.net",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            domains.append(
                {
                    "id": domain_id,
                    "name": name,
                    "unicode_name": name,
                    "tld": name.rsplit(".", 1)[1],
                    "account_id": account_id,
                    "statuses": [],
                    "nameservers": [],
                    "created_at": now,
                    "updated_at": now,
                }
            )
            links += [
                {"domain_id": domain_id, "role": "registrant", "contact_id": registrant_id},
                {"domain_id": domain_id, "role": "tech", "contact_id": tech_id},
            ]
            reference = f"CR-BENCH-{i:06d}"
            outbox.append(
                {
                    "id": move_entry_id(i),
                    "kind": "domain.tech_move",
                    "tld": name.rsplit(".", 1)[1],
                    "domain_id": domain_id,
                    "contact_id": tech_id,
                    "payload": {
                        "domain": name,
                        "old_tech": house.handle,
                        "new_tech": contact_handle(tech_id),
                        "request": reference if requests_too else None,
                    },
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
            requests.append(
                {
                    "reference": reference,
                    "domain_id": domain_id,
                    "state": "applied",
                    "channel": "phone",
                    "entered_by": "staff:bench",
                    "target": "new",
                    "proposed": {},
                    "old_tech_id": house.id,
                    "new_tech_id": tech_id,
                    "expires_at": now + timedelta(days=7),
                    "applied_at": now,
                    "outbox_id": move_entry_id(i),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        updated = []
        for i in range(updates):
            account_id = domain_id = registrant_id = UPDATE_BASE + i
            name = f"upd{i}.{TLDS[i % len(TLDS)]}"
            updated.append(name)
            accounts.append(
                {
                    "id": account_id,
                    "number": f"U-{i}",
                    "name": f"Update Customer {i}",
                    "email": f"update{i}@example.com",
                    "street": ["2 Bench Street"],
                    "city": "Bristol",
                    "country": "GB",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            contacts.append(
                {
                    "id": registrant_id,
                    "handle": contact_handle(registrant_id),
                    "kind": "person",
                    "name": f"Holder {i}",
                    "street": [f"Kaistrasse {i}"],
                    "city": "Kiel",
                    "postal_code": "24103",
                    "country": "DE",
                    "voice": "+49.4319000",
                    "email": f"u{registrant_id}@example.net",
                    "consent_fields": [],
                    "account_id": account_id,
                    "is_house": False,
                    "name_key": f"holder {i}",
                    "email_key": f"u{registrant_id}@example.net",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            domains.append(
                {
                    "id": domain_id,
                    "name": name,
                    "unicode_name": name,
                    "tld": name.rsplit(".", 1)[1],
                    "account_id": account_id,
                    "statuses": [],
                    "nameservers": [],
                    "created_at": now,
                    "updated_at": now,
                }
            )
            links.append(
                {"domain_id": domain_id, "role": "registrant", "contact_id": registrant_id}
            )
            outbox.append(
                {
                    "id": update_entry_id(i),
                    "kind": "domain.update",
                    "tld": name.rsplit(".", 1)[1],
                    "domain_id": domain_id,
                    "payload": update_payload(i, name),
                    "created_at": now,
                    "next_attempt_at": now,
                }
            )
        with store.write() as session:
            for model, rows in (
                (Account, accounts),
                (Contact, contacts),
                (Domain, domains),
                (DomainContact, links),
                (OutboxEntry, outbox),
                (ChangeRequest, requests if requests_too else []),
            ):
                for start in range(0, len(rows), 500):
                    session.execute(insert(model), rows[start : start + 500])
        return names, updated
    finally:
        store.close()


def house_handle(store_file: Path, data_dir: Path) -> str:
    store = Store.open(settings=Settings(database_url=f"sqlite:///{store_file}", data_dir=data_dir))
    try:
        return store.house_contact().handle
    finally:
        store.close()


def build_sandbox(
    path: Path, store_url: str, data_dir: Path, names: list[str], updated: list[str]
) -> None:
    """The sandbox's copy: every moved domain with its registrant and the old (house) tech,
    every updated domain with its registrant."""
    store = Store.open(settings=Settings(database_url=store_url, data_dir=data_dir))
    registry = SandboxRegistry(path, clients={CLIENT_ID: PASSWORD})
    try:
        house = store.house_contact()
        registry.seed_contact(contact_data(house), CLIENT_ID)
        for i, name in enumerate(names):
            registrant = contact_handle(10_000 + 2 * i)
            registry.seed_domain(name, registrant, [("tech", house.handle)], CLIENT_ID)
        for i, name in enumerate(updated):
            registry.seed_domain(name, contact_handle(UPDATE_BASE + i), [], CLIENT_ID)
    finally:
        registry.close_db()
        store.close()


# ---------------------------------------------------------------- the sandbox process


def _serve(db_path: str, ready: multiprocessing.Queue) -> None:
    run_sandbox(
        db_path,
        port=0,
        clients={CLIENT_ID: PASSWORD},
        on_ready=lambda registry: ready.put((registry.port, registry.ca_file)),
    )


class SandboxProcess:
    """The sandbox registry serving db_path from a process of its own."""

    def __init__(self, db_path: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.ready = context.Queue()
        self.process = context.Process(target=_serve, args=(str(db_path), self.ready), daemon=True)

    def __enter__(self) -> tuple[int, str]:
        self.process.start()
        return self.ready.get(timeout=60)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


# ---------------------------------------------------------------- measurements


async def hello_ceiling(endpoint: Endpoint, sessions: int, seconds: float) -> float:
    """Hello round trips per second with `sessions` sessions, one request at a time each."""
    opened = []
    for _ in range(sessions):
        session = EppSession(endpoint)
        await session.connect()
        await session.login()
        opened.append(session)
    for session in opened:  # warm up
        await session.hello()
    deadline = time.perf_counter() + seconds
    counts = [0] * sessions

    async def loop(index: int, session: EppSession) -> None:
        while time.perf_counter() < deadline:
            await session.hello()
            counts[index] += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(i, s) for i, s in enumerate(opened)))
    elapsed = time.perf_counter() - started
    for session in opened:
        await session.logout()
    return sum(counts) / elapsed


async def bare_moves(endpoint: Endpoint, names: list[str], house: str, sessions: int) -> float:
    """The same three commands per move from a bare client (no store, no policy, no records):
    what the sandbox and TLS allow for moves, measured on a copy of the same sandbox."""
    opened = []
    for _ in range(sessions):
        session = EppSession(endpoint)
        await session.connect()
        await session.login()
        opened.append(session)
    work = list(enumerate(names))
    disclose = Disclose(org=True)

    async def loop(session: EppSession) -> None:
        while work:
            i, name = work.pop()
            new = contact_handle(10_001 + 2 * i)
            data = ContactData(
                handle=new,
                name=f"Noc Team {i}",
                org=f"Hosting {i} GmbH",
                street=(f"Hafenstrasse {i}",),
                city="Hamburg",
                pc="20457",
                cc="DE",
                voice="+49.40609040",
                email=f"c{10_001 + 2 * i}@example.net",
                auth_info="bench-auth-1",
            )
            change = DomainUpdate(
                name=name, add_contacts=(("tech", new),), rem_contacts=(("tech", house),)
            )
            for build in (
                lambda c, d=data: contact_create(d, disclose, cltrid=c),
                lambda c, u=change: domain_update(u, cltrid=c),
                lambda c, n=name: domain_info(n, cltrid=c, hosts="none"),
            ):
                response = await session.command(build)
                if response.code != 1000:
                    raise SystemExit(f"bare client: {response.code} {response.message}")

    started = time.perf_counter()
    await asyncio.gather(*(loop(s) for s in opened))
    elapsed = time.perf_counter() - started
    for session in opened:
        await session.logout()
    return len(names) / elapsed


def commands_sent(store: Store) -> int:
    """The EPP commands the sync sent, as its audit events list them."""
    with store.read() as session:
        rows = session.execute(
            select(AuditEvent.changes).where(col(AuditEvent.action).like("sync.%"))
        ).scalars()
        return sum(len(changes.get("commands", ())) for changes in rows)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc), 0.0 where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


async def sync_rate(
    store: Store, port: int, ca_file: str, sessions: int, *, requests_too: bool, moves: int
) -> float:
    """Changes per second draining the whole backlog with `sessions` sessions."""
    registries = parse_registries(
        {
            "registries": {
                "sandbox": {
                    "tlds": list(TLDS),
                    "host": "127.0.0.1",
                    "port": port,
                    "client_id": CLIENT_ID,
                    "password_env": "INTERLINK_BENCH_SANDBOX_PASSWORD",
                    "ca_file": ca_file,
                    "sessions": sessions,
                }
            }
        }
    )
    os.environ["INTERLINK_BENCH_SANDBOX_PASSWORD"] = PASSWORD
    # The completion notices go to the mail relay at its pace, not the registry's: not measured.
    options = SyncOptions(sessions=sessions, expire_requests=False, send_notices=False)
    worker = SyncWorker(store, registries, options)
    try:
        started = time.perf_counter()
        report = await worker.run_once()
        elapsed = time.perf_counter() - started
    finally:
        await worker.close()
    completed = moves if requests_too else 0
    if report.done != report.claimed or report.requests_completed != completed:
        raise SystemExit(f"sync did not finish cleanly: {report}")
    return report.done / elapsed


# ---------------------------------------------------------------- main


def main() -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)  # as `interlink sync` does
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=1500)
    parser.add_argument("--updates", type=int, default=750, help="domain.update entries")
    parser.add_argument("--sessions", default="1,4")
    parser.add_argument("--dir", type=Path, help="working directory (default: a temporary one)")
    args = parser.parse_args()
    sessions_list = [int(s) for s in args.sessions.split(",")]
    work = args.dir or Path(tempfile.mkdtemp(prefix="sync-rate-"))
    work.mkdir(parents=True, exist_ok=True)
    for stale in work.glob("*.db*"):
        if stale.is_file():
            stale.unlink()
        else:
            shutil.rmtree(stale)
    data_dir = work / "data"
    templates = {}
    for requests_too in (False, True):
        template = work / f"template-store-{int(requests_too)}.db"
        names, updated = build_store(
            f"sqlite:///{template}",
            data_dir,
            args.moves,
            updates=args.updates,
            requests_too=requests_too,
        )
        templates[requests_too] = template
    template_sandbox = work / "template-sandbox.db"
    build_sandbox(template_sandbox, f"sqlite:///{templates[True]}", data_dir, names, updated)
    changes = args.moves + args.updates
    load = os.getloadavg()[0]
    print(
        f"sync_rate: {changes} changes per run ({args.moves} tech moves, {args.updates} domain"
        " updates: locks, DS records, name servers with glue), SQLite store, sandbox over TLS in"
        f" its own process ({os.cpu_count()} CPUs, load average {load:.1f} at start)"
    )
    results = {}
    commands = 0
    house = house_handle(templates[True], data_dir)
    for sessions in sessions_list:
        rates: dict[bool, float] = {}
        cpu: dict[str, float] = {}
        # The sandbox's ceilings, on a copy of its own: hello round trips, bare moves.
        bare_db = work / f"sandbox-{sessions}-bare.db"
        shutil.copyfile(template_sandbox, bare_db)
        with SandboxProcess(bare_db) as (port, ca_file):
            endpoint = Endpoint(
                host="127.0.0.1", port=port, client_id=CLIENT_ID, password=PASSWORD, ca_file=ca_file
            )
            ceiling = asyncio.run(hello_ceiling(endpoint, sessions, CEILING_SECONDS))
            mine = time.process_time()
            bare = asyncio.run(bare_moves(endpoint, names, house, sessions))
            cpu["bare"] = (time.process_time() - mine) / max(args.moves, 1) * 1000
        for requests_too in (False, True):
            run_store = work / f"store-{sessions}-{int(requests_too)}.db"
            shutil.copyfile(templates[requests_too], run_store)
            run_sandbox_db = work / f"sandbox-{sessions}-{int(requests_too)}.db"
            shutil.copyfile(template_sandbox, run_sandbox_db)
            url = f"sqlite:///{run_store}"
            sandbox = SandboxProcess(run_sandbox_db)
            with sandbox as (port, ca_file):
                pid = sandbox.process.pid
                assert pid is not None  # started
                store = Store.open(settings=Settings(database_url=url, data_dir=data_dir))
                try:
                    mine, theirs = time.process_time(), cpu_seconds(pid)
                    rates[requests_too] = asyncio.run(
                        sync_rate(
                            store,
                            port,
                            ca_file,
                            sessions,
                            requests_too=requests_too,
                            moves=args.moves,
                        )
                    )
                    if not requests_too:
                        cpu["worker"] = (time.process_time() - mine) / changes * 1000
                        cpu["sandbox"] = (cpu_seconds(pid) - theirs) / changes * 1000
                        commands = commands_sent(store)
                finally:
                    store.close()
            snapshot = read_snapshot(run_sandbox_db)
            moved = sum(
                1
                for i, name in enumerate(names)
                if snapshot.domains[name].handles("tech") == (contact_handle(10_001 + 2 * i),)
            )
            if moved != args.moves:
                raise SystemExit(f"only {moved} of {args.moves} domains have their new tech")
            applied = sum(
                update_applied(i, snapshot.domains[name]) for i, name in enumerate(updated)
            )
            if applied != args.updates:
                raise SystemExit(f"only {applied} of {args.updates} domain updates are applied")
        rate = rates[False]
        results[sessions] = rate
        per_change = commands / changes
        print(
            f"sessions={sessions}: {rate:,.0f} changes/s ({per_change * rate:,.0f} EPP"
            f" commands/s, {per_change:.2f} per change); sandbox ceiling {ceiling:,.0f} hello"
            f" round trips/s; ratio {rate / ceiling:.3f} (commands"
            f" {per_change * rate / ceiling:.2f})"
        )
        idle = 1000 / max(cpu["worker"], cpu["sandbox"])
        print(
            f"  tech moves alone from a bare client (3 commands each): {bare:,.0f} moves/s;"
            f" CPU per change: worker {cpu['worker']:.2f} ms (bare client"
            f" {cpu['bare']:.2f} ms per move), sandbox {cpu['sandbox']:.2f} ms, so about"
            f" {idle:,.0f} changes/s with a free core each; with each move's change request"
            f" completed too: {rates[True]:,.0f} changes/s"
        )
    if 4 in results:
        verdict = "met" if results[4] >= 500 else "NOT met"
        print(f"target >= 500 changes/s with 4 sessions: {verdict} ({results[4]:,.0f}/s)")


if __name__ == "__main__":
    main()
