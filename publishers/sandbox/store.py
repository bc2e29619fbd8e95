"""The sandbox's SQLite file (WAL): its schema, a checkpointer thread, the shared queries."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from publishers.epp.model import ContactData, Disclose, DsData
from publishers.sandbox.records import (
    SandboxContact,
    SandboxDomain,
    SandboxSnapshot,
    contact_record,
    disclose_text,
    domain_record,
    host_record,
    postal_text,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS registrar (
    cl_id TEXT PRIMARY KEY,
    pw TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contact (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    cl_id TEXT NOT NULL,
    cr_id TEXT NOT NULL,
    up_id TEXT,
    postal_type TEXT NOT NULL,
    name TEXT NOT NULL,
    org TEXT,
    street1 TEXT,
    street2 TEXT,
    street3 TEXT,
    city TEXT NOT NULL,
    sp TEXT,
    pc TEXT,
    cc TEXT NOT NULL,
    voice TEXT,
    voice_ext TEXT,
    fax TEXT,
    fax_ext TEXT,
    email TEXT NOT NULL,
    auth_info TEXT NOT NULL,
    disclose TEXT,
    statuses TEXT NOT NULL DEFAULT '',
    cr_date TEXT NOT NULL,
    up_date TEXT,
    int_form TEXT
);
CREATE TABLE IF NOT EXISTS domain (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    cl_id TEXT NOT NULL,
    cr_id TEXT NOT NULL,
    up_id TEXT,
    registrant TEXT REFERENCES contact(id),
    ns TEXT NOT NULL DEFAULT '',
    statuses TEXT NOT NULL DEFAULT '',
    auth_info TEXT NOT NULL,
    cr_date TEXT NOT NULL,
    ex_date TEXT,
    up_date TEXT
);
CREATE TABLE IF NOT EXISTS domain_contact (
    domain_seq INTEGER NOT NULL REFERENCES domain(seq) ON DELETE CASCADE,
    type TEXT NOT NULL,
    contact TEXT NOT NULL REFERENCES contact(id),
    PRIMARY KEY (domain_seq, type, contact)
);
CREATE INDEX IF NOT EXISTS domain_contact_by_contact ON domain_contact(contact);
CREATE INDEX IF NOT EXISTS domain_by_registrant ON domain(registrant);
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cl_id TEXT NOT NULL,
    q_date TEXT NOT NULL,
    msg TEXT NOT NULL,
    domain TEXT NOT NULL,
    tr_status TEXT NOT NULL,
    re_id TEXT NOT NULL,
    re_date TEXT NOT NULL,
    ac_id TEXT NOT NULL,
    ac_date TEXT NOT NULL,
    ex_date TEXT
);
CREATE INDEX IF NOT EXISTS message_by_client ON message(cl_id, id);
CREATE TABLE IF NOT EXISTS host (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    cl_id TEXT NOT NULL,
    cr_id TEXT NOT NULL,
    up_id TEXT,
    addrs TEXT NOT NULL DEFAULT '',
    cr_date TEXT NOT NULL,
    up_date TEXT
);
CREATE TABLE IF NOT EXISTS domain_ds (
    domain_seq INTEGER NOT NULL REFERENCES domain(seq) ON DELETE CASCADE,
    key_tag INTEGER NOT NULL,
    alg INTEGER NOT NULL,
    digest_type INTEGER NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (domain_seq, key_tag, alg, digest_type, digest)
);
"""

CONTACT_COLUMNS = (
    "seq, id, cl_id, cr_id, up_id, postal_type, name, org, street1, street2, street3, city, sp,"
    " pc, cc, voice, voice_ext, fax, fax_ext, email, auth_info, disclose, statuses, cr_date,"
    " up_date, int_form"
)
DOMAIN_COLUMNS = (
    "seq, name, cl_id, cr_id, up_id, registrant, ns, statuses, auth_info, cr_date, ex_date, up_date"
)
HOST_COLUMNS = "seq, name, cl_id, cr_id, up_id, addrs, cr_date, up_date"


def utc_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def open_db(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        db = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints (and their fsyncs) run in a background thread, not in the event loop.
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.executescript(_SCHEMA)
        _add_missing_columns(db)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Bring a database made by an older sandbox up to the schema (int_form: the "int"
    postalInfo of a contact that also has a "loc" one, as JSON)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(contact)")}
    if "int_form" not in columns:
        db.execute("ALTER TABLE contact ADD COLUMN int_form TEXT")


class Checkpointer(threading.Thread):
    """Moves the WAL into the database file every interval, off the event loop's thread.

    With synchronous=NORMAL a commit in WAL mode does not sync; checkpoints do, and on slow
    disks their fsyncs would stall every connection if the serving thread ran them.
    """

    def __init__(self, path: Path, interval: float = 0.5) -> None:
        super().__init__(name="sandbox-checkpoint", daemon=True)
        self.path = path
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            db.execute("PRAGMA busy_timeout=1000")
            while not self.stopping.wait(self.interval):
                with contextlib.suppress(sqlite3.Error):
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            db.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def snapshot_of(db: sqlite3.Connection) -> SandboxSnapshot:
    contacts = {
        row["id"]: contact_record(row)
        for row in db.execute(f"SELECT {CONTACT_COLUMNS} FROM contact ORDER BY seq")
    }
    links: dict[int, list[tuple[str, str]]] = {}
    for seq, kind, handle in db.execute(
        "SELECT domain_seq, type, contact FROM domain_contact ORDER BY rowid"
    ):
        links.setdefault(seq, []).append((kind, handle))
    ds: dict[int, list[DsData]] = {}
    for seq, *values in db.execute(
        "SELECT domain_seq, key_tag, alg, digest_type, digest FROM domain_ds ORDER BY rowid"
    ):
        ds.setdefault(seq, []).append(DsData(*values))
    domains = {
        row["name"]: domain_record(
            row, tuple(links.get(row["seq"], ())), tuple(ds.get(row["seq"], ()))
        )
        for row in db.execute(f"SELECT {DOMAIN_COLUMNS} FROM domain ORDER BY seq")
    }
    hosts = {
        row["name"]: host_record(row)
        for row in db.execute(f"SELECT {HOST_COLUMNS} FROM host ORDER BY seq")
    }
    return SandboxSnapshot(contacts=contacts, domains=domains, hosts=hosts)


def read_snapshot(db_path: str | os.PathLike[str]) -> SandboxSnapshot:
    """The state of a sandbox database, read-only (works while another process serves it)."""
    db = open_db(Path(db_path), readonly=True)
    try:
        return snapshot_of(db)
    finally:
        db.close()


def add_period(start: datetime, years: int = 0, months: int = 0) -> datetime:
    total = start.month - 1 + months + 12 * years
    year, month = start.year + total // 12, total % 12 + 1
    day = start.day
    while True:
        try:
            return start.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


class SandboxStore:
    """An open sandbox database: the connection, its checkpointer, and the shared queries.

    Callers hold the registry's lock around every use; the store itself does not lock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = open_db(path)
        self._checkpointer = Checkpointer(path)
        self._checkpointer.start()

    def stop_checkpoints(self) -> None:
        """Stop the checkpointer thread (before close, outside the registry's lock)."""
        self._checkpointer.stop()

    def close(self) -> None:
        """Close the database (a final checkpoint folds the WAL into the file)."""
        with contextlib.suppress(sqlite3.Error):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        self.db.close()

    # ------------------------------------------------------------ registrars

    def keep_registrar(self, client_id: str, password: str) -> None:
        """Register a registrar account unless it exists (a password changed over EPP stays)."""
        self.db.execute(
            "INSERT OR IGNORE INTO registrar (cl_id, pw) VALUES (?, ?)", (client_id, password)
        )

    def set_registrar(self, client_id: str, password: str) -> None:
        """Register (or reset) a registrar account."""
        self.db.execute(
            "INSERT INTO registrar (cl_id, pw) VALUES (?, ?)"
            " ON CONFLICT (cl_id) DO UPDATE SET pw = excluded.pw",
            (client_id, password),
        )

    def passwords(self) -> dict[str, str]:
        """Every registrar's password, by client id."""
        return dict(self.db.execute("SELECT cl_id, pw FROM registrar"))

    # ------------------------------------------------------------ reading

    def snapshot(self) -> SandboxSnapshot:
        """Every contact and domain as the sandbox holds them now."""
        return snapshot_of(self.db)

    def contact_row(self, handle: str) -> sqlite3.Row | None:
        """The contact's row, None when there is none."""
        row: sqlite3.Row | None = self.db.execute(
            f"SELECT {CONTACT_COLUMNS} FROM contact WHERE id = ?", (handle,)
        ).fetchone()
        return row

    def domain_row(self, name: str) -> sqlite3.Row | None:
        """The domain's row, None when there is none."""
        row: sqlite3.Row | None = self.db.execute(
            f"SELECT {DOMAIN_COLUMNS} FROM domain WHERE name = ?", (name,)
        ).fetchone()
        return row

    def host_row(self, name: str) -> sqlite3.Row | None:
        """The host's row, None when there is none."""
        row: sqlite3.Row | None = self.db.execute(
            f"SELECT {HOST_COLUMNS} FROM host WHERE name = ?", (name,)
        ).fetchone()
        return row

    def superordinate(self, host: str) -> sqlite3.Row | None:
        """The registered domain a host name is under (its superordinate domain), if any."""
        labels = host.split(".")
        for index in range(1, len(labels) - 1):
            row = self.domain_row(".".join(labels[index:]))
            if row is not None:
                return row
        return None

    def subordinate_hosts(self, name: str) -> tuple[str, ...]:
        """The host objects under a domain."""
        suffix = "." + name
        return tuple(
            host
            for (host,) in self.db.execute(
                "SELECT name FROM host WHERE substr(name, -?) = ? ORDER BY seq",
                (len(suffix), suffix),
            )
        )

    def host_is_linked(self, name: str) -> bool:
        """True when a domain names the host as a name server."""
        row = self.db.execute(
            "SELECT 1 FROM domain WHERE ' ' || ns || ' ' LIKE ? LIMIT 1", (f"% {name} %",)
        ).fetchone()
        return row is not None

    def domain_ds(self, seq: int) -> tuple[DsData, ...]:
        """The domain's DS records, in the order they were added."""
        return tuple(
            DsData(*values)
            for values in self.db.execute(
                "SELECT key_tag, alg, digest_type, digest FROM domain_ds WHERE domain_seq = ?"
                " ORDER BY rowid",
                (seq,),
            )
        )

    def insert_host(
        self, name: str, addrs: Sequence[str], sponsor: str, *, now: datetime | None = None
    ) -> datetime:
        """Insert the host as created by sponsor; returns its creation time."""
        now = now or utc_now()
        self.db.execute(
            "INSERT INTO host (name, cl_id, cr_id, addrs, cr_date) VALUES (?, ?, ?, ?, ?)",
            (name, sponsor, sponsor, " ".join(addrs), now.isoformat()),
        )
        return now

    def domain_contacts(self, seq: int) -> tuple[tuple[str, str], ...]:
        """The domain's contacts as (type, handle), in the order they were added."""
        return tuple(
            (kind, handle)
            for kind, handle in self.db.execute(
                "SELECT type, contact FROM domain_contact WHERE domain_seq = ? ORDER BY rowid",
                (seq,),
            )
        )

    def is_linked(self, handle: str) -> bool:
        """True when a domain uses the contact (as registrant or in any other role)."""
        db = self.db
        return (
            db.execute(
                "SELECT 1 FROM domain_contact WHERE contact = ? LIMIT 1", (handle,)
            ).fetchone()
            is not None
            or db.execute("SELECT 1 FROM domain WHERE registrant = ? LIMIT 1", (handle,)).fetchone()
            is not None
        )

    def contact_by_id(self, handle: str) -> SandboxContact:
        """The contact as tests see it; KeyError when there is none."""
        row = self.contact_row(handle)
        if row is None:
            raise KeyError(handle)
        return contact_record(row)

    def domain_by_name(self, name: str) -> SandboxDomain:
        """The domain as tests see it; KeyError when there is none."""
        row = self.domain_row(name)
        if row is None:
            raise KeyError(name)
        return domain_record(row, self.domain_contacts(row["seq"]), self.domain_ds(row["seq"]))

    # ------------------------------------------------------------ writing

    def insert_contact(
        self,
        contact: ContactData,
        disclose: Disclose | None,
        sponsor: str,
        *,
        now: datetime | None = None,
    ) -> datetime:
        """Insert the contact as created by sponsor; returns its creation time."""
        now = now or utc_now()
        street = [*contact.street[:3], None, None, None][:3]
        self.db.execute(
            "INSERT INTO contact (id, cl_id, cr_id, postal_type, name, org, street1, street2,"
            " street3, city, sp, pc, cc, voice, voice_ext, fax, fax_ext, email, auth_info,"
            " disclose, cr_date, int_form) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?)",
            (
                contact.handle,
                sponsor,
                sponsor,
                contact.postal_type,
                contact.name,
                contact.org or None,
                *street,
                contact.city,
                contact.sp or None,
                contact.pc or None,
                contact.cc,
                contact.voice or None,
                contact.voice_ext if contact.voice else None,
                contact.fax or None,
                contact.fax_ext if contact.fax else None,
                contact.email,
                contact.auth_info,
                disclose_text(disclose),
                now.isoformat(),
                postal_text(contact.ascii_form),
            ),
        )
        return now

    def seed_domain(
        self,
        name: str,
        registrant: str | None,
        contacts: tuple[tuple[str, str], ...],
        sponsor: str,
        *,
        ns: Sequence[str],
        auth_info: str,
        statuses: Sequence[str],
        ds: Sequence[DsData] = (),
    ) -> SandboxDomain:
        """Store a domain as if sponsor had registered it, with placeholders for absent contacts."""
        now = utc_now()
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            handles = {registrant, *(handle for _, handle in contacts)}
            for handle in {handle for handle in handles if handle is not None}:
                if self.contact_row(handle) is None:
                    self.insert_contact(placeholder(handle), None, sponsor, now=now)
            seq = db.execute(
                "INSERT INTO domain (name, cl_id, cr_id, registrant, ns, statuses,"
                " auth_info, cr_date, ex_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    sponsor,
                    sponsor,
                    registrant,
                    " ".join(host.lower() for host in ns),
                    " ".join(statuses),
                    auth_info,
                    now.isoformat(),
                    add_period(now, years=1).isoformat(),
                ),
            ).lastrowid
            db.executemany(
                "INSERT OR IGNORE INTO domain_contact (domain_seq, type, contact) VALUES (?, ?, ?)",
                [(seq, kind, handle) for kind, handle in contacts],
            )
            db.executemany(
                "INSERT OR IGNORE INTO domain_ds (domain_seq, key_tag, alg, digest_type, digest)"
                " VALUES (?, ?, ?, ?, ?)",
                [(seq, r.key_tag, r.alg, r.digest_type, r.digest) for r in ds],
            )
            # Its name servers as host objects too (without addresses), as if already there.
            db.executemany(
                "INSERT OR IGNORE INTO host (name, cl_id, cr_id, cr_date) VALUES (?, ?, ?, ?)",
                [(host.lower(), sponsor, sponsor, now.isoformat()) for host in ns],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return self.domain_by_name(name)


def placeholder(handle: str) -> ContactData:
    """A stand-in contact for a seeded domain whose contact does not exist yet."""
    return ContactData(
        handle=handle,
        name=f"Placeholder {handle}",
        street=("1 Sandbox Road",),
        city="Sandbox",
        pc="00000",
        cc="DE",
        email=f"{handle.lower()}@sandbox.invalid",
        auth_info="contact-pw1",
    )
