"""Public answers rendered ahead: each domain's WHOIS and RDAP bytes, kept in the store.

Building an answer from the store (the record, the policy's view, the rendering) costs a few
hundred microseconds; reading a rendered one costs a few. So the publisher renders every
domain's answers ahead, through the same `PublicationView` as a live answer, and keeps them in
the `published_answer` table, compressed (LZ4) with a dictionary made of a sample answer (the
notices, labels and redaction texts every answer repeats): a few hundred bytes a domain.

A row is only ever served while it is right:

- the database's own triggers (migrations 0004 and 0013) mark a domain's row stale in the same
  transaction as any change to the domain, its role assignments, a contact it uses or its DS
  records, whoever writes, so a row that is not stale was rendered from the data as committed now;
- the publisher reads and writes each batch in one write transaction (SQLite's write lock;
  on PostgreSQL FOR SHARE locks that the triggers wait for), so no change slips in between;
- every row carries the render key: a digest of `RENDER_VERSION`, the packing, every TLD's
  publication (its profile's table, and the registry's RDDS when the registrar runs none) and
  the registrar settings, so answers rendered under other settings or by an older renderer are
  never served and are rendered again.

Each domain is rendered under its own TLD's profile (the view picks it). Answers are rendered
with a sentinel generation time that each served answer replaces with its own (WHOIS's "Last
update of WHOIS database", RDAP's "last update of RDAP database"); an RDAP referral to a
registry's service carries no time, and is served as it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import lz4.block
from sqlalchemy import and_, bindparam, delete, func, insert, select
from sqlalchemy.engine import Connection

from domains.db import writer
from domains.models import Account, Contact, Domain, PublishedAnswer
from domains.settings import Settings
from domains.store import DomainRecord, Store
from publishers import rdap, whois
from publishers.policy import PublicationView, RegistrarView, build_view
from publishers.profiles import Profile, Publications
from publishers.records import DOMAIN, DOMAIN_CONTACT, ds_query, record_from_rows, record_query
from publishers.tld_publication import chosen_publications

log = logging.getLogger(__name__)

#: Rendered with this generation time, which each answer replaces with its own.
SENTINEL = datetime(1111, 11, 11, 11, 11, 11, tzinfo=UTC)
SENTINEL_TEXT = b"1111-11-11T11:11:11Z"
SERVICES = ("whois", "rdap")
RENDERERS: dict[str, Callable[[PublicationView], bytes]] = {
    "whois": whois.whois_bytes,
    "rdap": rdap.rdap_bytes,
}
#: The version of the answers' rendering, part of the render key. Bump it in any change that
#: changes the bytes of an answer (policy.py, profiles.py, records.py, rdap.py, whois.py): every
#: stored answer is then rendered again. A change that renders the same bytes (a comment, a
#: refactoring) leaves it, so a million answers are not rendered again for nothing.
RENDER_VERSION = 3
#: How rows are packed; part of the render key, so rows packed another way are rendered again.
PACKING = "lz4-block+sample-dictionary/1"
BATCH = 200
_ANSWERS = PublishedAnswer.__table__  # type: ignore[attr-defined]


def _sample_record() -> DomainRecord:
    """A made-up domain whose answers seed the compression dictionaries."""
    when = datetime(2020, 1, 1, tzinfo=UTC)
    person: dict[str, Any] = {
        "kind": "person",
        "name": "Sample Person",
        "street": ["1 Sample Street"],
        "city": "Sampleton",
        "state": "Sample",
        "postal_code": "SA1 1MP",
        "country": "GB",
        "voice": "+44.1179000000",
        "email": "sample@example.com",
        "consent_fields": [],
        "created_at": when,
        "updated_at": when,
    }
    contacts = {
        role: Contact(id=index, handle=f"ILC{index}", **person)
        for index, role in enumerate(("registrant", "admin", "tech", "billing"), start=1)
    }
    domain = Domain(
        id=1,
        name="sample.com",
        unicode_name="sample.com",
        tld="com",
        account_id=1,
        roid="D1-SAMPLE",
        statuses=["clientTransferProhibited"],
        nameservers=["ns1.example.net", "ns2.example.net"],
        created_at=when,
        updated_at=when,
        expires_at=when,
    )
    account = Account(id=1)  # type: ignore[call-arg]  # a stub, as in records.py: only its id
    return DomainRecord(domain=domain, account=account, contacts=contacts)


def _canonical(value: Any) -> Any:
    """`value` as plain JSON data in one fixed order (sets sorted), for digests."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _canonical(item) for key, item in sorted(value.items())}
    if isinstance(value, set | frozenset):
        return sorted(_canonical(item) for item in value)
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def render_key(publications: Publications, registrar: RegistrarView) -> str:
    """The digest of everything an answer depends on besides the record itself."""
    digest = hashlib.sha256(f"{RENDER_VERSION}:{PACKING}".encode())
    depends = (publications, publications.profiles(), registrar)
    digest.update(json.dumps(_canonical(depends), sort_keys=True).encode())
    return digest.hexdigest()[:32]


class Publication:
    """How answers are rendered and packed under each TLD's publication and the registrar."""

    def __init__(
        self, settings: Settings, profile: Publications | Profile | str | None = None
    ) -> None:
        self.publications = chosen_publications(settings, profile)
        self.registrar = RegistrarView.from_settings(settings.registrar)
        self.key = render_key(self.publications, self.registrar)
        sample = build_view(
            _sample_record(), profile=self.publications.default, registrar=self.registrar
        )
        self._dictionaries = {service: RENDERERS[service](sample) for service in SERVICES}

    def view(self, record: DomainRecord) -> PublicationView:
        """The policy's view of a record under its TLD's profile, with the sentinel time."""
        return build_view(record, profile=self.publications, registrar=self.registrar, now=SENTINEL)

    def pack(self, service: str, body: bytes) -> bytes:
        """`body` compressed with the service's dictionary (LZ4: a read costs microseconds)."""
        return lz4.block.compress(
            body,
            mode="high_compression",
            compression=9,
            dict=self._dictionaries[service],
            store_size=True,
        )

    def unpack(self, service: str, blob: bytes) -> bytes:
        """The body `pack` was given."""
        return lz4.block.decompress(blob, dict=self._dictionaries[service])

    def render(self, record: DomainRecord) -> dict[str, bytes] | None:
        """Both services' packed answers for a record; None if one cannot be stamped later."""
        view = self.view(record)
        bodies = {service: RENDERERS[service](view) for service in SERVICES}
        if any(body.count(SENTINEL_TEXT) > 1 for body in bodies.values()):
            return None  # a stored value holds the sentinel's text: not to be stamped
        return {service: self.pack(service, body) for service, body in bodies.items()}


def lookup_statement(service: str) -> Any:
    """SELECT the packed answer of one service by name and render key (both bound)."""
    return select(_ANSWERS.c[service]).where(
        _ANSWERS.c.name == bindparam("name"), _ANSWERS.c.render_key == bindparam("key")
    )


# -- publishing -------------------------------------------------------------------------


@dataclass
class PublishReport:
    """What one publishing pass did."""

    published: int = 0
    skipped: int = 0
    seconds: float = 0.0


def _missing(conn: Connection, key: str, after: Any, limit: int, column: Any) -> list[Any]:
    """The next (name, `column`) pairs, in `column` order after `after`, without an answer."""
    answers = _ANSWERS.alias("p")
    stmt = (
        select(DOMAIN.c.name, column)
        .outerjoin(answers, and_(answers.c.name == DOMAIN.c.name, answers.c.render_key == key))
        .where(answers.c.name.is_(None), column > after, DOMAIN.c.gone_at.is_(None))
        .order_by(column)
        .limit(limit)
    )
    return list(conn.execute(stmt))


def _stale(conn: Connection, after: str, limit: int) -> list[str]:
    """The next names (in name order, after `after`) whose answer the triggers made stale."""
    stmt = (
        select(_ANSWERS.c.name)
        .where(_ANSWERS.c.render_key == "", _ANSWERS.c.name > after)
        .order_by(_ANSWERS.c.name)
        .limit(limit)
    )
    return list(conn.execute(stmt).scalars())


def _records(conn: Connection, names: list[str], *, lock: bool = False) -> dict[str, list[Any]]:
    """The record rows of each of `names` (one per role), in a fixed order.

    With `lock`, PostgreSQL takes FOR SHARE locks on them: a writer that would change them
    waits until the caller commits, and its trigger then sees (and marks stale) what the
    caller wrote.
    """
    stmt = (
        record_query(outer=False)
        .where(DOMAIN.c.name.in_(names), DOMAIN.c.gone_at.is_(None))
        .order_by(DOMAIN.c.name, DOMAIN_CONTACT.c.role)
    )
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(read=True)
    found: dict[str, list[Any]] = {}
    for row in conn.execute(stmt):
        found.setdefault(row.name, []).append(row)
    return found


def _ds(conn: Connection, records: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The DS rows of the signed ones among `records` (an unsigned domain has none)."""
    signed = [name for name, rows in records.items() if rows[0].dnssec]
    found: dict[str, list[Any]] = {name: [] for name in records}
    if signed:
        for row in conn.execute(ds_query().where(DOMAIN.c.name.in_(signed))):
            found[row.name].append(row)
    return found


def publish_names(store: Store, publication: Publication, names: list[str]) -> int:
    """Render the answers of `names` and store those whose data did not change meanwhile.

    The rendering, the costly part, holds no lock: the record is read, rendered, then read
    again inside the write transaction that stores the answers, and an answer is kept only if
    its record is still the same, row for row. Returns how many answers were stored.
    """
    with store.engine.connect() as conn:
        seen = _records(conn, names)
        seen_ds = _ds(conn, seen)
    rendered = {}
    for name, rows in seen.items():
        packed = publication.render(
            record_from_rows(
                [row._mapping for row in rows], [row._mapping for row in seen_ds[name]]
            )
        )
        if packed is not None:
            rendered[name] = packed
    if not rendered:
        return 0
    with writer(store.engine).begin() as conn:
        now = _records(conn, list(rendered), lock=True)
        now_ds = _ds(conn, now)
        keep = [
            name
            for name in rendered
            if now.get(name) == seen[name] and now_ds.get(name) == seen_ds[name]
        ]
        if keep:
            stamp = datetime.now(UTC)
            conn.execute(delete(_ANSWERS).where(_ANSWERS.c.name.in_(keep)))
            conn.execute(
                insert(_ANSWERS),
                [
                    {"name": name, "render_key": publication.key, "published_at": stamp}
                    | rendered[name]
                    for name in keep
                ],
            )
    return len(keep)


def _batches(
    store: Store, publication: Publication, batch: int, since_id: int | None
) -> Iterator[list[str]]:
    """Names to publish, a batch at a time: the stale ones, then those without an answer:
    of every domain (a sweep in name order), or of the domains with an id over `since_id`."""
    after = ""
    while True:
        with store.engine.connect() as conn:
            names = _stale(conn, after, batch)
        if not names:
            break
        after = names[-1]
        yield names
    column, start = (DOMAIN.c.name, "") if since_id is None else (DOMAIN.c.id, since_id)
    while True:
        with store.engine.connect() as conn:
            found = _missing(conn, publication.key, start, batch, column)
        if not found:
            return
        start = found[-1][1]
        yield [name for name, _ in found]


def last_domain_id(store: Store) -> int:
    """The highest domain id in the store (0 when it has none)."""
    with store.engine.connect() as conn:
        return conn.execute(select(func.max(DOMAIN.c.id))).scalar() or 0


def publish(
    store: Store,
    publication: Publication | None = None,
    *,
    batch: int = BATCH,
    since_id: int | None = None,
    workers: int = 1,
    advance: Callable[[int], None] | None = None,
    pause: Callable[[float], None] | None = None,
) -> PublishReport:
    """Render every answer that is missing, stale or of another render key; a report.

    With `since_id`, only the stale answers and those of domains with a higher id (added
    since) are looked for, which is quick on a large store. `workers` > 1 renders in that many
    processes. `advance(n)` is told of each batch done; `pause(seconds)` is called after each
    batch with the time it took (a background publisher sleeps there to leave the servers the
    processor). A domain changed while its answer was rendered is left for the next pass.
    """
    publication = publication or Publication(store.settings)
    report = PublishReport()
    started = time.perf_counter()

    def done(names: list[str], stored: int) -> None:
        report.published += stored
        report.skipped += len(names) - stored
        if advance is not None:
            advance(len(names))

    batches = _batches(store, publication, batch, since_id)
    if workers > 1:
        with _worker_pool(store, publication, workers) as pool:
            for names, stored in pool.imap_unordered(_publish_in_worker, batches):
                done(names, stored)
    else:
        for names in batches:
            begun = time.perf_counter()
            done(names, publish_names(store, publication, names))
            if pause is not None:
                pause(time.perf_counter() - begun)
    report.seconds = time.perf_counter() - started
    return report


_worker: tuple[Store, Publication] | None = None


def _start_worker(settings: Settings, publications: Publications) -> None:
    global _worker
    store = Store.open(settings=settings)
    _worker = (store, Publication(settings, publications))


def _publish_in_worker(names: list[str]) -> tuple[list[str], int]:
    assert _worker is not None
    store, publication = _worker
    return names, publish_names(store, publication, names)


@contextlib.contextmanager
def _worker_pool(store: Store, publication: Publication, workers: int) -> Iterator[Any]:
    """Processes that each open the store and render with the same publication."""
    context = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    settings = store.settings.model_copy(
        update={"database_url": str(store.engine.url.render_as_string(hide_password=False))}
    )
    pool = context.Pool(workers, _start_worker, (settings, publication.publications))
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


def count_answers(store: Store, publication: Publication) -> tuple[int, int]:
    """(domains, current answers) in the store."""
    with store.engine.connect() as conn:
        domains = conn.execute(select(func.count()).select_from(DOMAIN)).scalar_one()
        current = conn.execute(
            select(func.count()).where(_ANSWERS.c.render_key == publication.key)
        ).scalar_one()
    return domains, current


class BackgroundPublisher:
    """A thread that keeps the published answers complete while the servers run.

    It sweeps every domain at start and every `sweep_interval` seconds; in between, whenever
    the store has changed (SQLite's data_version; every `interval` seconds on PostgreSQL) and
    at most once per `interval`, it publishes the stale answers and the new domains'. After
    each batch it sleeps as long as the batch took, so the servers keep half the processor.
    """

    def __init__(
        self,
        store: Store,
        publication: Publication,
        *,
        interval: float = 5.0,
        sweep_interval: float = 600.0,
    ) -> None:
        self.store = store
        self.publication = publication
        self.interval = interval
        self.sweep_interval = sweep_interval
        self.passes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
        self._probe: Any = None

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        self._thread.join(timeout)

    def _pause(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise _Stopped

    def _version(self) -> Any:
        """What changes when another connection commits (a clock tick on PostgreSQL)."""
        if not self.store.is_sqlite:
            return time.monotonic() // self.interval
        if self._probe is None:
            # data_version is per connection: always ask the same one.
            self._probe = self.store.engine.raw_connection()
        cursor = self._probe.cursor()
        try:
            cursor.execute("PRAGMA data_version")
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    def _run(self) -> None:
        seen: Any = object()
        swept_at = -self.sweep_interval
        since_id = 0
        try:
            while not self._stop.is_set():
                try:
                    version = self._version()
                    sweep = time.monotonic() - swept_at >= self.sweep_interval
                    if sweep or version != seen:
                        # Read before publishing: a commit during the pass calls for another
                        # (our own commits do too; that pass finds nothing and writes nothing).
                        seen = version
                        newest = last_domain_id(self.store)
                        publish(
                            self.store,
                            self.publication,
                            since_id=None if sweep else since_id,
                            pause=self._pause,
                        )
                        since_id = newest
                        if sweep:
                            swept_at = time.monotonic()
                        self.passes += 1
                except _Stopped:
                    return
                except Exception as exc:  # the servers answer live meanwhile; try again later
                    log.warning("publishing answers failed: %s", type(exc).__name__)
                    self._drop_probe()
                self._stop.wait(self.interval)
        finally:
            self._drop_probe()

    def _drop_probe(self) -> None:
        if self._probe is not None:
            probe, self._probe = self._probe, None
            try:
                probe.close()
            except Exception:  # closing a broken connection: it is dropped anyway
                log.debug("closing the publisher's probe failed", exc_info=True)


class _Stopped(Exception):
    """Raised inside a publishing pass when the background publisher is stopped."""
