"""A local EPP registry (RFC 5730/5731/5733 over RFC 5734 TLS) like a registry's test environment.

The demo syncs to it, the tests use it, and it can inject faults. It keeps its objects in its own
SQLite file (WAL), checks every incoming frame against the EPP schemas (2001 when invalid) and
answers with the result codes a real registry uses:

- 2002 for object commands before login, 2200 for a wrong password (2501 and close after three);
- 2302 creating what exists, 2303 for an unknown object, 2201 touching another registrar's object
  (info included, unless the right authInfo is given; a wrong one is 2202), 2305 deleting a
  contact that a domain still uses, 2304 when a status prohibits the command;
- 2306 under a contacts-prohibited policy: ``contacts_policy={"tld": "prohibited"}`` refuses
  admin, billing and tech contacts on that TLD's domains (the registrant stays allowed), and
  ``{"*": "prohibited"}`` makes the whole registry refuse contact:create as well;
- in a domain:update, removing a contact that is not on the domain or adding one that does not
  exist is 2303 (with the handle in <extValue>), adding one that is already there 2302;
- 2101 for anything else (renew, transfer, host objects).

Faults (FaultPlan): a share of object commands answered with error_code before anything is
applied, a delay before every object command, and a share of successful transform commands
(create, update, delete) committed and then answered by closing the connection: the client sees
"sent, answer unknown".
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import pickle
import random
import re
import secrets
import signal
import sqlite3
import ssl
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from publishers.epp.model import (
    CONTACT_NS,
    DOMAIN_NS,
    EPP_NS,
    HOST_NS,
    Address,
    CheckItem,
    Command,
    ContactCreate,
    ContactData,
    ContactInfo,
    ContactInfoQuery,
    ContactUpdate,
    Dcp,
    Disclose,
    DomainCreate,
    DomainInfo,
    DomainInfoQuery,
    DomainUpdate,
    Greeting,
    Login,
    PostalInfo,
)
from publishers.epp.server.commands import parse_command
from publishers.epp.server.responses import (
    RESULT_MESSAGES,
    build_greeting,
    build_response,
    contact_check_data,
    contact_create_data,
    contact_info_data,
    domain_check_data,
    domain_create_data,
    domain_info_data,
)
from publishers.epp.transport import (
    DEFAULT_MAX_FRAME,
    FramingError,
    TransportError,
    TransportTimeout,
    encode_frame,
    read_frame,
)
from publishers.epp.xmlsafe import EppParseError
from publishers.epp.xmlwrite import epp_root, serialize, sub

log = logging.getLogger(__name__)

SV_ID = "Interlink EPP sandbox"
ROID_SUFFIX = "SBX"
OBJ_URIS = (DOMAIN_NS, CONTACT_NS, HOST_NS)
"""Host objects are announced (clients log in with them) but host commands answer 2101."""
CLIENT_STATUSES = {
    "contact": frozenset(
        {"clientDeleteProhibited", "clientTransferProhibited", "clientUpdateProhibited"}
    ),
    "domain": frozenset(
        {
            "clientDeleteProhibited",
            "clientHold",
            "clientRenewProhibited",
            "clientTransferProhibited",
            "clientUpdateProhibited",
        }
    ),
}
DISCLOSE_ITEMS = ("name", "org", "addr", "voice", "fax", "email")
MAX_LOGIN_FAILURES = 3
_CLTRID = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?clTRID>\s*([A-Za-z0-9._:\-]{3,64})\s*</")


@dataclass(frozen=True)
class FaultPlan:
    """Faults to inject into object commands (check, create, info, update, delete).

    error_share of them are answered with error_code before anything is applied (codes 2500-2502
    also close the connection); each waits delay_ms first; drop_after_commit_share of the
    successful creates, updates and deletes are committed and then answered by closing the
    connection. seed makes the choices repeatable.
    """

    error_share: float = 0.0
    error_code: int = 2400
    delay_ms: int = 0
    drop_after_commit_share: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_share", "drop_after_commit_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.error_code < 2000 or self.error_code not in RESULT_MESSAGES:
            raise ValueError(f"{self.error_code} is not an EPP error code (2000-2502)")
        if self.delay_ms < 0:
            raise ValueError("delay_ms must not be negative")


# ---------------------------------------------------------------- state as tests see it


@dataclass(frozen=True, kw_only=True)
class SandboxContact:
    """A contact as the sandbox holds it."""

    id: str
    roid: str
    sponsor: str
    creator: str
    updater: str | None
    postal_type: str
    name: str
    org: str | None
    street: tuple[str, ...]
    city: str
    sp: str | None
    pc: str | None
    cc: str
    voice: str | None
    voice_ext: str | None
    fax: str | None
    fax_ext: str | None
    email: str
    auth_info: str
    disclose: Disclose | None
    statuses: tuple[str, ...]
    """Client-set statuses only (an empty tuple is status "ok")."""
    cr_date: datetime
    up_date: datetime | None

    def as_contact_data(self) -> ContactData:
        """The contact as the codec's ContactData."""
        return ContactData(
            handle=self.id,
            name=self.name,
            org=self.org,
            street=self.street,
            city=self.city,
            sp=self.sp,
            pc=self.pc,
            cc=self.cc,
            voice=self.voice,
            voice_ext=self.voice_ext,
            fax=self.fax,
            fax_ext=self.fax_ext,
            email=self.email,
            auth_info=self.auth_info,
            postal_type="loc" if self.postal_type == "loc" else "int",
        )


@dataclass(frozen=True, kw_only=True)
class SandboxDomain:
    """A domain as the sandbox holds it; contacts as (type, handle) in the order they were added."""

    name: str
    roid: str
    sponsor: str
    registrant: str | None
    contacts: tuple[tuple[str, str], ...]
    ns: tuple[str, ...]
    statuses: tuple[str, ...]
    auth_info: str
    cr_date: datetime
    ex_date: datetime | None
    up_date: datetime | None

    def handles(self, role: str) -> tuple[str, ...]:
        """The handles of one contact type (admin, billing, tech)."""
        return tuple(handle for kind, handle in self.contacts if kind == role)


@dataclass(frozen=True)
class SandboxSnapshot:
    """Everything the sandbox holds: contacts by id, domains by name."""

    contacts: dict[str, SandboxContact]
    domains: dict[str, SandboxDomain]


# ---------------------------------------------------------------- storage

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
    up_date TEXT
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
"""

_CONTACT_COLUMNS = (
    "seq, id, cl_id, cr_id, up_id, postal_type, name, org, street1, street2, street3, city, sp,"
    " pc, cc, voice, voice_ext, fax, fax_ext, email, auth_info, disclose, statuses, cr_date,"
    " up_date"
)
_DOMAIN_COLUMNS = (
    "seq, name, cl_id, cr_id, up_id, registrant, ns, statuses, auth_info, cr_date, ex_date, up_date"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _date(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _words(value: str) -> tuple[str, ...]:
    return tuple(value.split())


def _disclose_text(disclose: Disclose | None) -> str | None:
    if disclose is None:
        return None
    return "".join("1" if getattr(disclose, item) else "0" for item in DISCLOSE_ITEMS)


def _disclose_value(text: str | None) -> Disclose | None:
    if text is None:
        return None
    return Disclose(**{item: flag == "1" for item, flag in zip(DISCLOSE_ITEMS, text, strict=True)})


def _contact_record(row: sqlite3.Row) -> SandboxContact:
    return SandboxContact(
        id=row["id"],
        roid=f"C{row['seq']}-{ROID_SUFFIX}",
        sponsor=row["cl_id"],
        creator=row["cr_id"],
        updater=row["up_id"],
        postal_type=row["postal_type"],
        name=row["name"],
        org=row["org"],
        street=tuple(line for line in (row["street1"], row["street2"], row["street3"]) if line),
        city=row["city"],
        sp=row["sp"],
        pc=row["pc"],
        cc=row["cc"],
        voice=row["voice"],
        voice_ext=row["voice_ext"],
        fax=row["fax"],
        fax_ext=row["fax_ext"],
        email=row["email"],
        auth_info=row["auth_info"],
        disclose=_disclose_value(row["disclose"]),
        statuses=_words(row["statuses"]),
        cr_date=datetime.fromisoformat(row["cr_date"]),
        up_date=_date(row["up_date"]),
    )


def _domain_record(row: sqlite3.Row, contacts: tuple[tuple[str, str], ...]) -> SandboxDomain:
    return SandboxDomain(
        name=row["name"],
        roid=f"D{row['seq']}-{ROID_SUFFIX}",
        sponsor=row["cl_id"],
        registrant=row["registrant"],
        contacts=contacts,
        ns=_words(row["ns"]),
        statuses=_words(row["statuses"]),
        auth_info=row["auth_info"],
        cr_date=datetime.fromisoformat(row["cr_date"]),
        ex_date=_date(row["ex_date"]),
        up_date=_date(row["up_date"]),
    )


def _open_db(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
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
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    return db


class _Checkpointer(threading.Thread):
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


def _read_snapshot(db: sqlite3.Connection) -> SandboxSnapshot:
    contacts = {
        row["id"]: _contact_record(row)
        for row in db.execute(f"SELECT {_CONTACT_COLUMNS} FROM contact ORDER BY seq")
    }
    links: dict[int, list[tuple[str, str]]] = {}
    for seq, kind, handle in db.execute(
        "SELECT domain_seq, type, contact FROM domain_contact ORDER BY rowid"
    ):
        links.setdefault(seq, []).append((kind, handle))
    domains = {
        row["name"]: _domain_record(row, tuple(links.get(row["seq"], ())))
        for row in db.execute(f"SELECT {_DOMAIN_COLUMNS} FROM domain ORDER BY seq")
    }
    return SandboxSnapshot(contacts=contacts, domains=domains)


def read_snapshot(db_path: str | os.PathLike[str]) -> SandboxSnapshot:
    """The state of a sandbox database, read-only (works while another process serves it)."""
    db = _open_db(Path(db_path), readonly=True)
    try:
        return _read_snapshot(db)
    finally:
        db.close()


# ---------------------------------------------------------------- answers


class _Refusal(Exception):
    """A command refused with an EPP result code (and optionally the offending value)."""

    def __init__(
        self,
        code: int,
        msg: str | None = None,
        *,
        value: tuple[str, str, str] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg
        self.value = value
        self.reason = reason


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _answer_with_value(
    code: int,
    msg: str | None,
    cltrid: str | None,
    svtrid: str,
    value: tuple[str, str, str] | None,
    reason: str,
) -> bytes:
    """A response whose result carries <extValue> with the offending value and the reason."""
    root = epp_root()
    response = sub(root, EPP_NS, "response")
    result = sub(response, EPP_NS, "result", code=str(code))
    sub(result, EPP_NS, "msg", msg or RESULT_MESSAGES[code])
    ext_value = sub(result, EPP_NS, "extValue")
    holder = sub(ext_value, EPP_NS, "value")
    if value is None:
        sub(holder, EPP_NS, "undef")
    else:
        ns, tag, text = value
        prefix = ns.rsplit(":", 1)[1].split("-", 1)[0]
        element = etree.SubElement(holder, f"{{{ns}}}{tag}", nsmap={prefix: ns})
        element.text = text
    sub(ext_value, EPP_NS, "reason", _one_line(reason))
    tr_id = sub(response, EPP_NS, "trID")
    if cltrid is not None:
        sub(tr_id, EPP_NS, "clTRID", cltrid)
    sub(tr_id, EPP_NS, "svTRID", svtrid)
    return serialize(root)


def _sniff_cltrid(frame: bytes) -> str | None:
    """The clTRID of a frame we could not parse, when it is plainly there (to echo it)."""
    found = _CLTRID.search(frame[:65536])
    return found[1].decode("ascii") if found else None


def _contact_value(handle: str) -> tuple[str, str, str]:
    return (CONTACT_NS, "id", handle)


def _domain_value(name: str) -> tuple[str, str, str]:
    return (DOMAIN_NS, "name", name)


def _add_period(start: datetime, years: int = 0, months: int = 0) -> datetime:
    total = start.month - 1 + months + 12 * years
    year, month = start.year + total // 12, total % 12 + 1
    day = start.day
    while True:
        try:
            return start.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


@dataclass
class _Connection:
    """What the sandbox knows about one client connection."""

    client_id: str | None = None
    login_failures: int = 0


# ---------------------------------------------------------------- the registry


class SandboxRegistry:
    """The local EPP registry: start() serves TLS on host:port, stop() closes; state in db_path."""

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        certfile: str | os.PathLike[str] | None = None,
        keyfile: str | os.PathLike[str] | None = None,
        tls_dir: str | os.PathLike[str] | None = None,
        server_names: Sequence[str] = (),
        clients: Mapping[str, str] | None = None,
        contacts_policy: Mapping[str, str] | None = None,
        faults: FaultPlan | None = None,
        sv_id: str = SV_ID,
        dcp: Dcp | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        read_timeout: float = 10.0,
        idle_timeout: float = 600.0,
        max_connections: int = 512,
    ) -> None:
        self.db_path = Path(db_path)
        self.host = host
        self._port = port
        self._ssl_context = ssl_context
        self._certfile = None if certfile is None else str(certfile)
        self._keyfile = None if keyfile is None else str(keyfile)
        self.tls_dir = (
            Path(tls_dir) if tls_dir else self.db_path.with_name(self.db_path.name + ".tls")
        )
        self.server_names = tuple(server_names)
        self.clients = dict(clients or {})
        self.contacts_policy = self._normalise_policy(contacts_policy or {})
        self.faults = faults or FaultPlan()
        self.sv_id = sv_id
        self.dcp = dcp or Dcp()
        self.max_frame = max_frame
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.stats: Counter[str] = Counter()
        """Events: connections, refused, frames, greetings, hello, syntax_errors, framing_errors,
        timeouts, injected, dropped."""
        self.answers: Counter[int] = Counter()
        """Result codes answered, by code."""
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._checkpointer: _Checkpointer | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._svtrids = itertools.count(1)
        self._boot = secrets.token_hex(3)
        self._ca_file: Path | None = None
        self._greeting_cache: tuple[datetime, bytes] | None = None
        self._handlers: dict[tuple[str, str | None], Callable[..., Any]] = {
            ("check", "contact"): self._contact_check,
            ("create", "contact"): self._contact_create,
            ("info", "contact"): self._contact_info,
            ("update", "contact"): self._contact_update,
            ("delete", "contact"): self._contact_delete,
            ("check", "domain"): self._domain_check,
            ("create", "domain"): self._domain_create,
            ("info", "domain"): self._domain_info,
            ("update", "domain"): self._domain_update,
        }
        self._open()

    # ------------------------------------------------------------ lifecycle

    @staticmethod
    def _normalise_policy(policy: Mapping[str, str]) -> dict[str, str]:
        normalised = {}
        for tld, value in policy.items():
            if value not in {"prohibited", "allowed"}:
                raise ValueError(f'contact policy for {tld!r} must be "prohibited" or "allowed"')
            normalised[tld.strip().strip(".").lower() or "*"] = value
        return normalised

    def _open(self) -> None:
        if self._db is not None:
            return
        self._db = _open_db(self.db_path)
        self._checkpointer = _Checkpointer(self.db_path)
        self._checkpointer.start()
        with self._lock:
            for client_id, password in self.clients.items():
                # A password changed over EPP (newPW) outlives restarts.
                self._db.execute(
                    "INSERT OR IGNORE INTO registrar (cl_id, pw) VALUES (?, ?)",
                    (client_id, password),
                )
            self._passwords = dict(self._db.execute("SELECT cl_id, pw FROM registrar"))

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the sandbox database is closed")
        return self._db

    @property
    def port(self) -> int:
        """The port served (known after start(); kept for a restart)."""
        return self._port

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def ca_file(self) -> str | None:
        """The PEM file of the CA that signed the sandbox's own certificate (None when given)."""
        return None if self._ca_file is None else str(self._ca_file)

    @property
    def ca_pem(self) -> bytes | None:
        return None if self._ca_file is None else self._ca_file.read_bytes()

    def add_client(self, client_id: str, password: str) -> None:
        """Register (or reset) a registrar account."""
        with self._lock:
            self.db.execute(
                "INSERT INTO registrar (cl_id, pw) VALUES (?, ?)"
                " ON CONFLICT (cl_id) DO UPDATE SET pw = excluded.pw",
                (client_id, password),
            )
            self._passwords[client_id] = password

    def _server_ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is not None:
            return self._ssl_context
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self._certfile:
            context.load_cert_chain(self._certfile, self._keyfile)
            return context
        import trustme

        self.tls_dir.mkdir(parents=True, exist_ok=True)
        ca_file, key_file = self.tls_dir / "ca.pem", self.tls_dir / "ca.key"
        if ca_file.exists() and key_file.exists():
            ca = trustme.CA.from_pem(ca_file.read_bytes(), key_file.read_bytes())
        else:
            ca = trustme.CA(organization_name="Interlink EPP sandbox")
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(ca.private_key_pem.bytes())
            ca_file.write_bytes(ca.cert_pem.bytes())
        names = ["localhost", "127.0.0.1", "::1", *self.server_names]
        if self.host not in {"", "0.0.0.0", "::"}:
            names.append(self.host)
        ca.issue_cert(*dict.fromkeys(names)).configure_cert(context)
        self._ca_file = ca_file
        return context

    async def start(self) -> None:
        """Open the database and listen (on the same port again after a stop)."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        self._open()
        context = self._server_ssl_context()
        self._server = await asyncio.start_server(
            self._serve,
            self.host,
            self._port,
            ssl=context,
            ssl_handshake_timeout=self.read_timeout,
            backlog=256,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("EPP sandbox listening on %s:%s", self.host, self._port)

    async def stop(self) -> None:
        """Stop listening, drop every connection and close the database (state stays on disk)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await server.wait_closed()
        self.close_db()

    def close_db(self) -> None:
        """Close the database (a final checkpoint folds the WAL into the file)."""
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stop()
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                self._db.close()
                self._db = None

    async def __aenter__(self) -> SandboxRegistry:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ state for tests and seeding

    def snapshot(self) -> SandboxSnapshot:
        """Every contact and domain as the sandbox holds them now."""
        with self._lock:
            if self._db is None:
                return read_snapshot(self.db_path)
            return _read_snapshot(self._db)

    def seed_contact(
        self, contact: ContactData, sponsor: str, *, disclose: Disclose | None = None
    ) -> SandboxContact:
        """Store a contact as if sponsor had created it (no policy checks)."""
        with self._lock:
            self._insert_contact(contact, disclose, sponsor)
            return self._contact_by_id(contact.handle)

    def seed_domain(
        self,
        name: str,
        registrant: str | None,
        contacts: Iterable[tuple[str, str]],
        sponsor: str,
        *,
        ns: Sequence[str] = (),
        auth_info: str = "domain-pw1",
        statuses: Sequence[str] = (),
    ) -> SandboxDomain:
        """Store a domain as if sponsor had registered it (no policy checks).

        Contacts (and the registrant) that do not exist yet are made as placeholders sponsored
        by sponsor; contacts are (type, handle) pairs.
        """
        contacts = tuple(contacts)
        name = name.strip().rstrip(".").lower()
        now = _now()
        with self._lock:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                for handle in {registrant, *(handle for _, handle in contacts)} - {None}:
                    if self._contact_row(handle) is None:
                        self._insert_contact(self._placeholder(handle), None, sponsor, now=now)
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
                        _add_period(now, years=1).isoformat(),
                    ),
                ).lastrowid
                db.executemany(
                    "INSERT OR IGNORE INTO domain_contact (domain_seq, type, contact)"
                    " VALUES (?, ?, ?)",
                    [(seq, kind, handle) for kind, handle in contacts],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return self._domain_by_name(name)

    @staticmethod
    def _placeholder(handle: str) -> ContactData:
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

    def _contact_by_id(self, handle: str) -> SandboxContact:
        row = self._contact_row(handle)
        if row is None:
            raise KeyError(handle)
        return _contact_record(row)

    def _domain_by_name(self, name: str) -> SandboxDomain:
        row = self._domain_row(name)
        if row is None:
            raise KeyError(name)
        return _domain_record(row, self._domain_contacts(row["seq"]))

    # ------------------------------------------------------------ connections

    def _svtrid(self) -> str:
        return f"SBX-{self._boot}-{next(self._svtrids)}"

    def _greeting(self) -> bytes:
        self.stats["greetings"] += 1
        now = _now().replace(microsecond=0)
        cached = self._greeting_cache
        if cached is not None and cached[0] == now:
            return cached[1]
        frame = build_greeting(
            Greeting(sv_id=self.sv_id, sv_date=now, obj_uris=OBJ_URIS, dcp=self.dcp)
        )
        self._greeting_cache = (now, frame)
        return frame

    def _answer(
        self,
        code: int,
        cltrid: str | None,
        *,
        msg: str | None = None,
        res_data: etree._Element | None = None,
        value: tuple[str, str, str] | None = None,
        reason: str | None = None,
    ) -> bytes:
        self.answers[code] += 1
        if reason is not None:
            return _answer_with_value(code, msg, cltrid, self._svtrid(), value, reason)
        return build_response(code, msg, cltrid, self._svtrid(), res_data)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)  # type: ignore[arg-type]
        self.stats["connections"] += 1
        state = _Connection()
        try:
            if len(self._tasks) > self.max_connections:
                self.stats["refused"] += 1
                await self._send(writer, self._answer(2502, None))
                return
            await self._send(writer, self._greeting())
            while True:
                try:
                    frame = await read_frame(
                        reader,
                        max_frame=self.max_frame,
                        timeout=self.read_timeout,
                        idle_timeout=self.idle_timeout,
                    )
                except FramingError as exc:
                    # The length was a lie, so the stream cannot be resynchronised: say why, close.
                    self.stats["framing_errors"] += 1
                    await self._send(writer, self._answer(2001, None, reason=str(exc)))
                    return
                except TransportTimeout:
                    self.stats["timeouts"] += 1
                    return
                except TransportError:
                    return
                answer, close = await self._handle(state, frame)
                if answer is not None:
                    await self._send(writer, answer)
                if close:
                    return
        except (TransportError, OSError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            # stop() cancels connections. Python 3.11's streams call task.exception() on the
            # handler's task, which raises for a cancelled task, so the task must end normally.
            pass
        except Exception:  # one broken connection must never stop the registry
            log.exception("EPP sandbox: connection failed")
        finally:
            self._tasks.discard(task)  # type: ignore[arg-type]
            with contextlib.suppress(Exception):
                writer.close()

    async def _send(self, writer: asyncio.StreamWriter, payload: bytes) -> None:
        writer.write(encode_frame(payload))
        if writer.transport.get_write_buffer_size() > 65536:
            try:
                async with asyncio.timeout(self.read_timeout):
                    await writer.drain()
            except TimeoutError:
                raise TransportError("client does not read its answers") from None

    async def _handle(self, state: _Connection, frame: bytes) -> tuple[bytes | None, bool]:
        """The answer to one frame (None: no answer) and whether to close afterwards."""
        self.stats["frames"] += 1
        try:
            command = parse_command(frame, max_bytes=self.max_frame)
        except EppParseError as exc:
            self.stats["syntax_errors"] += 1
            return self._answer(2001, _sniff_cltrid(frame), reason=str(exc)), False
        name, cltrid = command.name, command.cltrid
        if name == "hello":
            self.stats["hello"] += 1
            return self._greeting(), False
        if name == "login":
            return self._login(state, command)
        if state.client_id is None:
            return self._answer(2002, cltrid, msg="Command use error: not logged in"), False
        if name == "logout":
            return self._answer(1500, cltrid), True
        if name == "poll":
            if command.payload.op == "req":
                return self._answer(1300, cltrid), False
            return self._answer(2303, cltrid, msg="Object does not exist: no such message"), False
        handler = self._handlers.get((name, command.obj))
        if handler is None:
            return self._answer(2101, cltrid), False
        faults = self.faults
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.error_share and self._rng.random() < faults.error_share:
            self.stats["injected"] += 1
            return self._answer(faults.error_code, cltrid), faults.error_code >= 2500
        with self._lock:
            if self._db is None:
                return self._answer(2500, cltrid), True
            try:
                code, res_data, committed = handler(state.client_id, command.payload)
            except _Refusal as refusal:
                answer = self._answer(
                    refusal.code,
                    cltrid,
                    msg=refusal.msg,
                    value=refusal.value,
                    reason=refusal.reason,
                )
                return answer, False
            except Exception:
                # A bug or a database error: nothing is committed, the client hears 2400.
                log.exception("EPP sandbox: %s %s failed", name, command.obj)
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                return self._answer(2400, cltrid), False
        if (
            committed
            and faults.drop_after_commit_share
            and self._rng.random() < faults.drop_after_commit_share
        ):
            self.stats["dropped"] += 1
            return None, True
        return self._answer(code, cltrid, res_data=res_data), False

    def _login(self, state: _Connection, command: Command) -> tuple[bytes, bool]:
        login: Login = command.payload
        cltrid = command.cltrid
        if state.client_id is not None:
            return self._answer(2002, cltrid, msg="Command use error: already logged in"), False
        if login.version != "1.0":
            return self._answer(2100, cltrid), False
        if login.lang != "en":
            return self._answer(2102, cltrid, msg="Unimplemented option: lang"), False
        unknown = [uri for uri in login.obj_uris if uri not in OBJ_URIS]
        if unknown:
            return self._answer(
                2307, cltrid, reason=f"unknown object service {unknown[0]}", value=None
            ), False
        if login.ext_uris:
            return self._answer(
                2103, cltrid, reason=f"unknown extension {login.ext_uris[0]}", value=None
            ), False
        with self._lock:
            expected = self._passwords.get(login.cl_id)
            if expected is None or not secrets.compare_digest(expected.encode(), login.pw.encode()):
                state.login_failures += 1
                if state.login_failures >= MAX_LOGIN_FAILURES:
                    return self._answer(2501, cltrid), True
                return self._answer(2200, cltrid), False
            if login.new_pw is not None:
                self.add_client(login.cl_id, login.new_pw)
        state.client_id = login.cl_id
        return self._answer(1000, cltrid), False

    # ------------------------------------------------------------ storage helpers

    def _contact_row(self, handle: str) -> sqlite3.Row | None:
        return self.db.execute(
            f"SELECT {_CONTACT_COLUMNS} FROM contact WHERE id = ?", (handle,)
        ).fetchone()

    def _domain_row(self, name: str) -> sqlite3.Row | None:
        return self.db.execute(
            f"SELECT {_DOMAIN_COLUMNS} FROM domain WHERE name = ?", (name,)
        ).fetchone()

    def _domain_contacts(self, seq: int) -> tuple[tuple[str, str], ...]:
        return tuple(
            (kind, handle)
            for kind, handle in self.db.execute(
                "SELECT type, contact FROM domain_contact WHERE domain_seq = ? ORDER BY rowid",
                (seq,),
            )
        )

    def _is_linked(self, handle: str) -> bool:
        db = self.db
        return (
            db.execute(
                "SELECT 1 FROM domain_contact WHERE contact = ? LIMIT 1", (handle,)
            ).fetchone()
            is not None
            or db.execute("SELECT 1 FROM domain WHERE registrant = ? LIMIT 1", (handle,)).fetchone()
            is not None
        )

    def _insert_contact(
        self,
        contact: ContactData,
        disclose: Disclose | None,
        sponsor: str,
        *,
        now: datetime | None = None,
    ) -> datetime:
        now = now or _now()
        street = [*contact.street[:3], None, None, None][:3]
        self.db.execute(
            "INSERT INTO contact (id, cl_id, cr_id, postal_type, name, org, street1, street2,"
            " street3, city, sp, pc, cc, voice, voice_ext, fax, fax_ext, email, auth_info,"
            " disclose, cr_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)",
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
                _disclose_text(disclose),
                now.isoformat(),
            ),
        )
        return now

    def _contacts_prohibited(self, name: str) -> bool:
        """True when the policy of the domain's TLD (or of the whole registry) refuses contacts."""
        policy = self.contacts_policy
        if not policy:
            return False
        labels = name.split(".")
        for index in range(1, len(labels)):
            found = policy.get(".".join(labels[index:]))
            if found is not None:
                return found == "prohibited"
        return policy.get("*") == "prohibited"

    def _own_contact(
        self, client_id: str, handle: str, auth_info: str | None = None
    ) -> sqlite3.Row:
        row = self._contact_row(handle)
        if row is None:
            raise _Refusal(2303, value=_contact_value(handle), reason="no such contact")
        if row["cl_id"] != client_id:
            if auth_info is None:
                raise _Refusal(
                    2201, value=_contact_value(handle), reason="sponsored by another registrar"
                )
            if not secrets.compare_digest(auth_info.encode(), row["auth_info"].encode()):
                raise _Refusal(2202, value=_contact_value(handle), reason="wrong authInfo")
        return row

    def _own_domain(self, client_id: str, name: str, auth_info: str | None = None) -> sqlite3.Row:
        row = self._domain_row(name.lower())
        if row is None:
            raise _Refusal(2303, value=_domain_value(name), reason="no such domain")
        if row["cl_id"] != client_id:
            if auth_info is None:
                raise _Refusal(
                    2201, value=_domain_value(name), reason="sponsored by another registrar"
                )
            if not secrets.compare_digest(auth_info.encode(), row["auth_info"].encode()):
                raise _Refusal(2202, value=_domain_value(name), reason="wrong authInfo")
        return row

    @staticmethod
    def _check_statuses(
        kind: str, current: tuple[str, ...], add: tuple[str, ...], rem: tuple[str, ...]
    ) -> tuple[str, ...]:
        allowed = CLIENT_STATUSES[kind]
        value_ns = CONTACT_NS if kind == "contact" else DOMAIN_NS
        result = [status for status in current if status not in rem]
        for status in rem:
            if status not in current:
                raise _Refusal(2306, value=(value_ns, "status", status), reason="status is not set")
        for status in add:
            if status not in allowed:
                raise _Refusal(
                    2306,
                    value=(value_ns, "status", status),
                    reason="clients may only set client statuses",
                )
            if status in result:
                raise _Refusal(2306, value=(value_ns, "status", status), reason="already set")
            result.append(status)
        return tuple(result)

    @staticmethod
    def _refuse_if(statuses: tuple[str, ...], rem: tuple[str, ...], what: str) -> None:
        server, client = f"server{what}Prohibited", f"client{what}Prohibited"
        if server in statuses or (client in statuses and client not in rem):
            blocking = server if server in statuses else client
            raise _Refusal(2304, msg=f"Object status prohibits operation: {blocking}")

    # ------------------------------------------------------------ contact commands

    def _contact_check(self, client_id: str, handles: tuple[str, ...]) -> tuple:
        db = self.db
        items = []
        for handle in handles:
            taken = db.execute("SELECT 1 FROM contact WHERE id = ?", (handle,)).fetchone()
            items.append(CheckItem(handle, taken is None, "In use" if taken else None))
        return 1000, contact_check_data(items), False

    def _contact_create(self, client_id: str, create: ContactCreate) -> tuple:
        contact = create.contact
        if self.contacts_policy.get("*") == "prohibited":
            raise _Refusal(
                2306,
                value=_contact_value(contact.handle),
                reason="this registry does not accept contact objects",
            )
        if len(contact.street) > 3:
            raise _Refusal(2306, reason="at most 3 street lines")
        try:
            now = self._insert_contact(contact, create.disclose, client_id)
        except sqlite3.IntegrityError:
            raise _Refusal(
                2302, value=_contact_value(contact.handle), reason="id is taken"
            ) from None
        return 1000, contact_create_data(contact.handle, now), True

    def _contact_info(self, client_id: str, query: ContactInfoQuery) -> tuple:
        row = self._own_contact(client_id, query.handle, query.auth_info)
        record = _contact_record(row)
        statuses = record.statuses or ("ok",)
        if self._is_linked(record.id):
            statuses = (*statuses, "linked")
        address = Address(
            street=record.street, city=record.city, sp=record.sp, pc=record.pc, cc=record.cc
        )
        info = ContactInfo(
            handle=record.id,
            roid=record.roid,
            statuses=statuses,
            postal_info=(
                PostalInfo(
                    type="loc" if record.postal_type == "loc" else "int",
                    name=record.name,
                    org=record.org,
                    addr=address,
                ),
            ),
            voice=record.voice,
            voice_ext=record.voice_ext,
            fax=record.fax,
            fax_ext=record.fax_ext,
            email=record.email,
            cl_id=record.sponsor,
            cr_id=record.creator,
            cr_date=record.cr_date,
            up_id=record.updater,
            up_date=record.up_date,
            auth_info=record.auth_info if record.sponsor == client_id else None,
            disclose=record.disclose,
        )
        return 1000, contact_info_data(info), False

    def _contact_update(self, client_id: str, update: ContactUpdate) -> tuple:
        row = self._own_contact(client_id, update.handle)
        if row["cl_id"] != client_id:
            raise _Refusal(2201, value=_contact_value(update.handle), reason="not the sponsor")
        current = _words(row["statuses"])
        self._refuse_if(current, update.rem_statuses, "Update")
        statuses = self._check_statuses(
            "contact", current, update.add_statuses, update.rem_statuses
        )
        values: dict[str, Any] = {"statuses": " ".join(statuses)}
        change = update.change
        if change is not None:
            if change.name is not None or change.org is not None or change.addr is not None:
                values["postal_type"] = change.postal_type
            if change.name is not None:
                if not change.name.strip():
                    raise _Refusal(2306, reason="name must not be empty")
                values["name"] = change.name
            if change.org is not None:
                values["org"] = change.org or None
            if change.addr is not None:
                addr = change.addr
                street = [*addr.street[:3], None, None, None][:3]
                values.update(
                    street1=street[0],
                    street2=street[1],
                    street3=street[2],
                    city=addr.city,
                    sp=addr.sp or None,
                    pc=addr.pc or None,
                    cc=addr.cc,
                )
            if change.voice is not None:
                values["voice"] = change.voice or None
                values["voice_ext"] = change.voice_ext if change.voice else None
            if change.fax is not None:
                values["fax"] = change.fax or None
                values["fax_ext"] = change.fax_ext if change.fax else None
            if change.email is not None:
                values["email"] = change.email
            if change.auth_info is not None:
                values["auth_info"] = change.auth_info
            if change.disclose is not None:
                values["disclose"] = _disclose_text(change.disclose)
        values["up_id"] = client_id
        values["up_date"] = _now().isoformat()
        columns = ", ".join(f"{column} = ?" for column in values)
        self.db.execute(
            f"UPDATE contact SET {columns} WHERE seq = ?", (*values.values(), row["seq"])
        )
        return 1000, None, True

    def _contact_delete(self, client_id: str, handle: str) -> tuple:
        row = self._own_contact(client_id, handle)
        if row["cl_id"] != client_id:
            raise _Refusal(2201, value=_contact_value(handle), reason="not the sponsor")
        self._refuse_if(_words(row["statuses"]), (), "Delete")
        if self._is_linked(handle):
            raise _Refusal(
                2305, value=_contact_value(handle), reason="contact is linked to a domain"
            )
        self.db.execute("DELETE FROM contact WHERE seq = ?", (row["seq"],))
        return 1000, None, True

    # ------------------------------------------------------------ domain commands

    def _domain_check(self, client_id: str, names: tuple[str, ...]) -> tuple:
        db = self.db
        items = []
        for name in names:
            taken = db.execute("SELECT 1 FROM domain WHERE name = ?", (name.lower(),)).fetchone()
            items.append(CheckItem(name, taken is None, "In use" if taken else None))
        return 1000, domain_check_data(items), False

    def _require_contact(self, handle: str) -> None:
        if self.db.execute("SELECT 1 FROM contact WHERE id = ?", (handle,)).fetchone() is None:
            raise _Refusal(2303, value=_contact_value(handle), reason="no such contact")

    def _domain_create(self, client_id: str, create: DomainCreate) -> tuple:
        name = create.name.strip().rstrip(".").lower()
        if "." not in name or any(not label for label in name.split(".")):
            raise _Refusal(2005, value=_domain_value(create.name), reason="not a domain name")
        if self._domain_row(name) is not None:
            raise _Refusal(2302, value=_domain_value(create.name), reason="already registered")
        months = (create.period or 1) * (12 if create.period_unit == "y" else 1)
        if not 1 <= months <= 120:
            raise _Refusal(2004, reason="the period must be 1 to 10 years")
        if create.contacts and self._contacts_prohibited(name):
            raise _Refusal(
                2306,
                value=_contact_value(create.contacts[0][1]),
                reason="contacts are prohibited under this TLD's policy",
            )
        if create.registrant:
            self._require_contact(create.registrant)
        for _, handle in create.contacts:
            self._require_contact(handle)
        now = _now()
        expires = _add_period(now, months=months)
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            seq = db.execute(
                "INSERT INTO domain (name, cl_id, cr_id, registrant, ns, auth_info, cr_date,"
                " ex_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    client_id,
                    client_id,
                    create.registrant or None,
                    " ".join(dict.fromkeys(host.lower() for host in create.ns)),
                    create.auth_info,
                    now.isoformat(),
                    expires.isoformat(),
                ),
            ).lastrowid
            db.executemany(
                "INSERT OR IGNORE INTO domain_contact (domain_seq, type, contact) VALUES (?, ?, ?)",
                [(seq, kind, handle) for kind, handle in create.contacts],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return 1000, domain_create_data(name, now, expires), True

    def _domain_info(self, client_id: str, query: DomainInfoQuery) -> tuple:
        row = self._own_domain(client_id, query.name, query.auth_info)
        record = _domain_record(row, self._domain_contacts(row["seq"]))
        info = DomainInfo(
            name=record.name,
            roid=record.roid,
            statuses=record.statuses or ("ok",),
            registrant=record.registrant,
            contacts=record.contacts,
            ns=record.ns,
            cl_id=record.sponsor,
            cr_id=row["cr_id"],
            cr_date=record.cr_date,
            up_id=row["up_id"],
            up_date=record.up_date,
            ex_date=record.ex_date,
            auth_info=record.auth_info if record.sponsor == client_id else None,
        )
        return 1000, domain_info_data(info), False

    def _domain_update(self, client_id: str, update: DomainUpdate) -> tuple:
        row = self._own_domain(client_id, update.name)
        if row["cl_id"] != client_id:
            raise _Refusal(2201, value=_domain_value(update.name), reason="not the sponsor")
        name = row["name"]
        current_statuses = _words(row["statuses"])
        self._refuse_if(current_statuses, update.rem_statuses, "Update")
        if update.add_contacts and self._contacts_prohibited(name):
            raise _Refusal(
                2306,
                value=_contact_value(update.add_contacts[0][1]),
                reason="contacts are prohibited under this TLD's policy",
            )
        contacts = list(self._domain_contacts(row["seq"]))
        removed = []
        for pair in dict.fromkeys(update.rem_contacts):
            if pair not in contacts:
                raise _Refusal(
                    2303,
                    value=_contact_value(pair[1]),
                    reason=f"not a {pair[0]} contact of this domain",
                )
            contacts.remove(pair)
            removed.append(pair)
        added = []
        for pair in dict.fromkeys(update.add_contacts):
            self._require_contact(pair[1])
            if pair in contacts:
                raise _Refusal(
                    2302,
                    value=_contact_value(pair[1]),
                    reason=f"already a {pair[0]} contact of this domain",
                )
            contacts.append(pair)
            added.append(pair)
        ns = list(_words(row["ns"]))
        for host in update.rem_ns:
            if host.lower() not in ns:
                raise _Refusal(2303, value=(DOMAIN_NS, "hostObj", host), reason="not a name server")
            ns.remove(host.lower())
        for host in update.add_ns:
            if host.lower() in ns:
                raise _Refusal(
                    2302, value=(DOMAIN_NS, "hostObj", host), reason="already a name server"
                )
            ns.append(host.lower())
        statuses = self._check_statuses(
            "domain", current_statuses, update.add_statuses, update.rem_statuses
        )
        registrant = row["registrant"]
        if update.registrant is not None:
            if update.registrant:
                self._require_contact(update.registrant)
            registrant = update.registrant or None
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "DELETE FROM domain_contact WHERE domain_seq = ? AND type = ? AND contact = ?",
                [(row["seq"], kind, handle) for kind, handle in removed],
            )
            db.executemany(
                "INSERT INTO domain_contact (domain_seq, type, contact) VALUES (?, ?, ?)",
                [(row["seq"], kind, handle) for kind, handle in added],
            )
            db.execute(
                "UPDATE domain SET registrant = ?, ns = ?, statuses = ?, up_id = ?, up_date = ?"
                " WHERE seq = ?",
                (
                    registrant,
                    " ".join(ns),
                    " ".join(statuses),
                    client_id,
                    _now().isoformat(),
                    row["seq"],
                ),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return 1000, None, True


# ---------------------------------------------------------------- blocking entry point


def run_sandbox(
    db_path: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 7000,
    clients: Mapping[str, str] | None = None,
    contacts_policy: Mapping[str, str] | None = None,
    faults: FaultPlan | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    on_ready: Callable[[SandboxRegistry], None] | None = None,
    stop_event: threading.Event | None = None,
    **options: Any,
) -> None:
    """Serve until SIGINT or SIGTERM (or stop_event, for a thread), then stop cleanly.

    options are further SandboxRegistry arguments (read_timeout, max_frame, tls_dir...).
    """

    async def main() -> None:
        registry = SandboxRegistry(
            db_path,
            host=host,
            port=port,
            clients=clients,
            contacts_policy=contacts_policy,
            faults=faults,
            certfile=certfile,
            keyfile=keyfile,
            **options,
        )
        try:
            await registry.start()
        except BaseException:
            registry.close_db()
            raise
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        installed = []
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(signum, stop.set)
                    installed.append(signum)
        try:
            if on_ready is not None:
                on_ready(registry)
            while not stop.is_set():
                if stop_event is not None and stop_event.is_set():
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.2):
                        await stop.wait()
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)
            await registry.stop()

    asyncio.run(main())


# ---------------------------------------------------------------- in a child process


def _child_entry() -> None:
    """The child side of SandboxProcess: options pickled on stdin, one ready line on stdout."""
    db_path, options = pickle.loads(sys.stdin.buffer.read())

    def ready(registry: SandboxRegistry) -> None:
        print(json.dumps({"port": registry.port, "ca_file": registry.ca_file}), flush=True)

    run_sandbox(db_path, on_ready=ready, **options)


class SandboxProcess:
    """The sandbox in a child process, so that it has a CPU of its own (benchmarks, crash tests).

    ``options`` are SandboxRegistry arguments (clients, contacts_policy, faults, port...; they
    must pickle). start() waits until it listens; stop() ends it with SIGTERM (a clean stop),
    kill() with SIGKILL. A restart listens on the same port. Committed changes survive both:
    every commit is in the WAL before its answer is sent.
    """

    def __init__(self, db_path: str | os.PathLike[str], **options: Any) -> None:
        self.db_path = Path(db_path)
        self.options = {"port": 0, **options}
        self.port: int | None = None
        self.ca_file: str | None = None
        self._process: Any = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Start the child and wait (up to timeout) until it listens."""
        if self.running:
            raise RuntimeError("the sandbox process is already running")
        options = dict(self.options)
        if self.port is not None:
            options["port"] = self.port
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from publishers.epp.sandbox import _child_entry; _child_entry()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        stdin, stdout = process.stdin, process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(pickle.dumps((str(self.db_path), options)))
        stdin.close()
        box: list[bytes] = []
        reader = threading.Thread(target=lambda: box.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = box[0] if box else b""
        if not line:
            process.kill()
            process.wait(5)
            raise RuntimeError("the sandbox process did not start listening")
        ready = json.loads(line)
        self.port, self.ca_file = ready["port"], ready["ca_file"]
        self._process = process

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: the sandbox closes its connections and database, then exits."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except Exception:
            process.kill()
            process.wait(5)
        if process.stdout is not None:
            process.stdout.close()

    def kill(self) -> None:
        """SIGKILL: no goodbye at all."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(5)
            if process.stdout is not None:
                process.stdout.close()

    def snapshot(self) -> SandboxSnapshot:
        """The state in the database file (readable while the process runs)."""
        return read_snapshot(self.db_path)

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
