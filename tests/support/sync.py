"""What the registry sync tests share: a real sandbox over TLS, a registries file, a seeded store,
change requests taken through the workflow, and the invariant "the sandbox equals the store"."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from domains import outbox
from domains.changes import Workflow
from domains.models import Contact, OutboxEntry
from domains.store import Store
from portal.links import PortalLinks
from publishers.disclose import disclose_for
from publishers.epp.model import Disclose
from publishers.policy import build_view
from publishers.registries import RegistryMap, load_registries
from publishers.sandbox.records import SandboxSnapshot
from publishers.sandbox.server import SandboxRegistry
from publishers.sync.contacts import ALL_PUBLIC, contact_data
from publishers.sync.options import SyncOptions
from publishers.sync.worker import SyncWorker
from tests.support.factories import make_domain

CLIENT_ID = "interlink"
PASSWORD = "sandbox-pw1"
PASSWORD_ENV = "INTERLINK_SANDBOX_PASSWORD"
ACTOR = "staff:ann"
APPROVER = "staff:bob"


CLTRID = re.compile(rb"<(?:\w+:)?clTRID>\s*ILS(\d+)-")
TRANSFORM = re.compile(rb"<(?:\w+:)?(?:create|update|delete)>\s*<((?:domain|contact|host):\w+)")


class TransformCountingSandbox(SandboxRegistry):
    """The sandbox, counting each outbox entry's transform commands that it applied (the
    clTRID names the entry): answered 1000, or committed and the answer dropped. Queries
    (info, check) may be repeated after a lost answer, applied transforms never."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transforms: Counter[tuple[int, str]] = Counter()

    async def _handle(self, state: Any, frame: bytes) -> Any:
        answer, close = await super()._handle(state, frame)
        entry, command = CLTRID.search(frame), TRANSFORM.search(frame)
        if entry and command and (answer is None or b'<result code="1000">' in answer):
            self.transforms[(int(entry[1]), command[1].decode())] += 1
        return answer, close


def new_tech(n: int, **overrides: Any) -> dict[str, Any]:
    """A proposed new technical contact (an organisation), distinct per n."""
    data = {
        "org": f"Hosting Company {n} GmbH",
        "name": f"Noc Team {n}",
        "email": f"noc{n}@hosting{n}.example.net",
        "voice": "+49 40 609040",
        "street": [f"Hafenstrasse {n}"],
        "city": "Hamburg",
        "postal_code": "20457",
        "country": "DE",
        "consent_fields": ["org", "email"] if n % 2 else [],
        "consent_method": "portal" if n % 2 else None,
    }
    data.update(overrides)
    return data


def write_registries(
    path: Path,
    registry: SandboxRegistry,
    *,
    tlds: Sequence[str] = ("com", "net", "org", "de"),
    sessions: int = 2,
    contacts: Mapping[str, str] | None = None,
    tld_contacts: Mapping[str, Mapping[str, str]] | None = None,
    read_timeout: float = 5.0,
    commands_per_second: float | None = None,
    client_cert: tuple[Path, Path] | None = None,
    contact_passwords: str | None = None,
) -> Path:
    """A registries TOML file pointing the TLDs at the running sandbox; client_cert is a
    (cert_file, key_file) pair, contact_passwords the TOML lines of that table."""
    lines = [
        "[registries.sandbox]",
        f"tlds = [{', '.join(repr(t).replace(chr(39), chr(34)) for t in tlds)}]",
        'host = "127.0.0.1"',
        f"port = {registry.port}",
        f'client_id = "{CLIENT_ID}"',
        f'password_env = "{PASSWORD_ENV}"',
        f'ca_file = "{registry.ca_file}"',
        f"sessions = {sessions}",
        "connect_timeout = 3.0",
        f"read_timeout = {read_timeout}",
    ]
    if commands_per_second is not None:
        lines.append(f"commands_per_second = {commands_per_second}")
    if client_cert is not None:
        lines += [f'cert_file = "{client_cert[0]}"', f'key_file = "{client_cert[1]}"']
    if contact_passwords is not None:
        lines += ["[registries.sandbox.contact_passwords]", contact_passwords]
    if contacts:
        lines.append("[registries.sandbox.contacts]")
        lines += [f'{role} = "{value}"' for role, value in contacts.items()]
    for tld, policy in (tld_contacts or {}).items():
        lines.append(f"[tlds.{tld}.contacts]")
        lines += [f'{role} = "{value}"' for role, value in policy.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def registries(path: Path, data_dir: Path) -> RegistryMap:
    return load_registries(path, data_dir=data_dir)


@dataclass
class Seeded:
    """Domains in the store and at the sandbox, with their registrants and the house tech."""

    names: list[str]
    house: str


def seed(
    store: Store,
    registry: SandboxRegistry,
    count: int,
    *,
    tlds: Sequence[str] = ("com", "net", "org", "de"),
    prefix: str = "sync",
) -> Seeded:
    """count domains (registrant: a person; tech: the house contact), the same at the sandbox
    (the house contact with the disclose flags the policy gives it as tech: the tests' registries
    files name no profile, so icann-gtld)."""
    house = store.house_contact()
    unseeded = house.handle not in registry.snapshot().contacts
    names = []
    for i in range(count):
        domain, registrant = make_domain(store, f"{prefix}{i}.{tlds[i % len(tlds)]}")
        if unseeded:
            record = store.domain_record(domain.name)
            view = build_view(record, profile="icann-gtld", registrar=store.settings.registrar)
            disclose = disclose_for(view, "tech")
            registry.seed_contact(contact_data(house), CLIENT_ID, disclose=disclose)
            unseeded = False
        registry.seed_contact(contact_data(registrant), CLIENT_ID)
        registry.seed_domain(domain.name, registrant.handle, [("tech", house.handle)], CLIENT_ID)
        names.append(domain.name)
    return Seeded(names, house.handle)


def move_tech(store: Store, name: str, proposal: Mapping[str, Any]) -> str:
    """A tech change request for name, confirmed, approved and applied; its reference."""
    flow = Workflow(store)
    outcome = flow.submit(actor=ACTOR, domain_name=name, proposal=proposal, channel="phone")
    assert outcome.token is not None
    flow.confirm(token=outcome.token)
    reference = outcome.request.reference
    flow.approve(actor=APPROVER, reference=reference)
    flow.apply(actor=APPROVER, reference=reference)
    return reference


def seed_backlog(
    store: Store,
    registry: SandboxRegistry,
    moves: int,
    *,
    edits: int,
    city: str,
    tlds: Sequence[str] = ("com", "net", "org", "de"),
) -> tuple[Seeded, list[str]]:
    """A backlog of moves + edits outbox entries: `moves` domains seeded (see `seed`), each one's
    tech moved to a new contact through the workflow, and the registrants of the first `edits`
    moved to `city`. The seeding, and the references of the tech changes."""
    seeded = seed(store, registry, moves, tlds=tlds)
    references = [move_tech(store, name, new_tech(i)) for i, name in enumerate(seeded.names)]
    for name in seeded.names[:edits]:
        registrant = store.domain_record(name).contact("registrant")
        assert registrant is not None
        store.update_contact(ACTOR, registrant.handle, registrant.version, {"city": city})
    return seeded, references


def entries(store: Store) -> list[OutboxEntry]:
    with store.read() as session:
        return list(session.execute(select(OutboxEntry).order_by(col(OutboxEntry.id))).scalars())


def statuses(store: Store) -> Counter[str]:
    return Counter(entry.status for entry in entries(store))


def expected_disclose(store: Store, registries_: RegistryMap, name: str, role: str) -> Disclose:
    """What the publication policy says the registry may publish of the role's contact."""
    record = store.domain_record(name)
    view = build_view(
        record,
        profile=registries_.publications(store.settings.publication_profile),
        registrar=store.settings.registrar,
        registry_policy=registries_.contact_policy(record.domain.tld),
    )
    return disclose_for(view, role)


def contact_matches_store(
    snapshot: SandboxSnapshot, contact: Contact, disclose: Disclose | None
) -> list[str]:
    """The differences between the sandbox's copy of a contact and the store (empty: equal)."""
    have = snapshot.contacts.get(contact.handle)
    if have is None:
        return [f"{contact.handle} missing at the sandbox"]
    want = contact_data(contact)
    problems = []
    for item, mine, theirs in (
        ("name", want.name, have.name),
        ("org", want.org, have.org),
        ("street", want.street, have.street),
        ("city", want.city, have.city),
        ("sp", want.sp, have.sp),
        ("pc", want.pc, have.pc),
        ("cc", want.cc, have.cc),
        ("voice", want.voice, have.voice),
        ("voice_ext", want.voice_ext, have.voice_ext),
        ("fax", want.fax, have.fax),
        ("email", want.email, have.email),
        ("sponsor", CLIENT_ID, have.sponsor),
    ):
        if (mine or None) != (theirs or None):
            problems.append(f"{contact.handle}.{item}: store {mine!r} != sandbox {theirs!r}")
    if want.ascii_form is not None and have.ascii_form != want.ascii_form:
        # Non-ASCII data: its ASCII form is the registry's "int" postalInfo.
        problems.append(f"{contact.handle}.ascii_form: {want.ascii_form} != {have.ascii_form}")
    if disclose is not None and (have.disclose or ALL_PUBLIC) != disclose:
        problems.append(f"{contact.handle}.disclose: {have.disclose} != {disclose}")
    return problems


def assert_sandbox_equals_store(
    store: Store,
    registry: SandboxRegistry,
    registries_: RegistryMap,
    names: Sequence[str],
    *,
    local_only: Sequence[str] = (),
) -> SandboxSnapshot:
    """Every domain's tech at the sandbox is the store's (one link, no duplicates), every tech
    contact's items and disclose flags are the store's and the policy's, and no contact exists
    twice. Domains in local_only keep their old tech at the sandbox."""
    snapshot = registry.snapshot()
    problems: list[str] = []
    for name in names:
        record = store.domain_record(name)
        at_registry = snapshot.domains[name]
        links = Counter(at_registry.contacts)
        doubled = [pair for pair, n in links.items() if n > 1]
        if doubled:
            problems.append(f"{name}: duplicate contact links {doubled}")
        techs = at_registry.handles("tech")
        if name in local_only:
            continue
        tech = record.contact("tech")
        assert tech is not None
        if techs != (tech.handle,):
            problems.append(f"{name}: sandbox tech {techs} != store tech {tech.handle}")
            continue
        disclose = expected_disclose(store, registries_, name, "tech")
        problems += contact_matches_store(snapshot, tech, disclose)
    handles = Counter(contact.id for contact in snapshot.contacts.values())
    problems += [f"contact {h} exists {n} times" for h, n in handles.items() if n > 1]
    assert not problems, "\n".join(problems[:20])
    return snapshot


@contextmanager
def sandbox_in_thread(registry: SandboxRegistry) -> Iterator[SandboxRegistry]:
    """Serve the sandbox from its own thread and event loop (for tests that block)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(registry.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="sandbox", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the sandbox did not start")
    try:
        yield registry
    finally:
        asyncio.run_coroutine_threadsafe(registry.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def worker_process_main(database_url: str, registries_path: str, data_dir: str) -> None:
    """The body of a sync worker process: `interlink sync --follow` (the command's own code).

    The crash test starts it from a forkserver that has the modules imported already, so a
    process is syncing within a fraction of a second of its start, and kills it with SIGKILL.
    """
    import os

    os.environ[PASSWORD_ENV] = PASSWORD
    os.environ["INTERLINK_DATA_DIR"] = data_dir
    from tui.commands.sync import sync_command

    sync_command(
        once=False,
        follow=True,
        workers=1,
        sessions=None,
        registries_file=Path(registries_path),
        database_url=database_url,
        lease=300.0,
        batch=16,
        worker_id=None,
        progress=False,
        reconcile=False,
        tld=None,
    )


DOMAIN_AUTH = "domain-secret-77"


CONTACT_AUTH = "contact-secret-88"


def registered(store: Store, sandbox: SandboxRegistry, regs: RegistryMap, name: str) -> str:
    """A domain in the store and at the sandbox exactly as the sync would have left it."""
    domain, registrant = make_domain(store, name, nameservers=["ns1.example.net"])
    house = store.house_contact()
    for role, contact in (("registrant", registrant), ("tech", house)):
        if contact.handle not in sandbox.snapshot().contacts:
            data = contact_data(contact, auth_info=CONTACT_AUTH)
            disclose = expected_disclose(store, regs, domain.name, role)
            sandbox.seed_contact(data, CLIENT_ID, disclose=disclose)
    sandbox.seed_domain(
        domain.name,
        registrant.handle,
        [("tech", house.handle)],
        CLIENT_ID,
        ns=["NS1.example.net"],
        auth_info=DOMAIN_AUTH,
    )
    return domain.name


def queue_domain_update(store: Store, name: str, **parts: Any) -> int:
    """A domain.update outbox entry for name as the store queues it (CONTRACT payload: the
    domain and only the parts given: statuses, ns, ds, registrant, hosts); its id."""
    domain = store.domain_record(name).domain
    with store.write() as session:
        entry = outbox.enqueue(
            session,
            kind="domain.update",
            tld=domain.tld,
            payload={"domain": domain.name, **parts},
            domain_id=domain.id,
        )
        session.flush()
        assert entry.id is not None
        return entry.id


LOCK = ["clientDeleteProhibited", "clientTransferProhibited", "clientUpdateProhibited"]
"""The registrar lock's client statuses."""


def ds_record(n: int) -> dict[str, Any]:
    """A DS record as the outbox payload carries it, distinct per n."""
    return {"key_tag": 10000 + n, "alg": 13, "digest_type": 2, "digest": f"{n:064X}"}


#: Quick retries and back-off for tests (a retried entry is due again in 5-10 s, not this run).
QUICK = {"retry_wait": 0.01, "retry_wait_max": 0.05, "backoff": 5.0, "backoff_max": 10.0}


async def sync_once(store: Store, regs: RegistryMap, **options: Any) -> Any:
    """One `run_once` of a sync worker (its report), within 30 s."""
    worker = SyncWorker(
        store, regs, SyncOptions(**{**QUICK, **options}), links=PortalLinks(store.settings)
    )
    async with worker:
        async with asyncio.timeout(30):
            return await worker.run_once()
