"""The sandbox registry, a test double and demo tool: a local EPP server like a registry's OT&E."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import secrets
import sqlite3
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree

from domains.vocabulary import RegistryContactPolicy
from publishers.epp.model import (
    HOST_NS,
    SECDNS_NS,
    Command,
    ContactData,
    Dcp,
    Disclose,
    DsData,
    Greeting,
    MsgQ,
)
from publishers.epp.server.commands import parse_command
from publishers.epp.server.responses import build_greeting, build_response
from publishers.epp.transport import DEFAULT_MAX_FRAME
from publishers.epp.xmlsafe import EppParseError
from publishers.sandbox import messages, tls
from publishers.sandbox.faults import FaultPlan
from publishers.sandbox.handlers import contact, domain, host, session
from publishers.sandbox.handlers.common import Context
from publishers.sandbox.handlers.session import EXT_URIS, OBJ_URIS, Connection
from publishers.sandbox.listener import EppListener
from publishers.sandbox.records import SandboxContact, SandboxDomain, SandboxSnapshot
from publishers.sandbox.reply import Refusal, Reply, Value, answer_with_value, sniff_cltrid
from publishers.sandbox.store import SandboxStore, read_snapshot, utc_now

log = logging.getLogger(__name__)

SV_ID = "Interlink EPP sandbox"

Handler = Callable[[Context, Any], Reply]
HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("check", "contact"): contact.check,
    ("create", "contact"): contact.create,
    ("info", "contact"): contact.info,
    ("update", "contact"): contact.update,
    ("delete", "contact"): contact.delete,
    ("check", "domain"): domain.check,
    ("create", "domain"): domain.create,
    ("info", "domain"): domain.info,
    ("update", "domain"): domain.update,
    ("check", "host"): host.check,
    ("create", "host"): host.create,
    ("info", "host"): host.info,
    ("update", "host"): host.update,
    ("delete", "host"): host.delete,
}
"""The object commands the sandbox implements, by (command, object); others answer 2101."""


def normalise_policy(policy: Mapping[str, str]) -> dict[str, str]:
    """A contacts policy by TLD ("*": the whole registry), each "prohibited" or "allowed"."""
    normalised = {}
    for tld, value in policy.items():
        if value not in {RegistryContactPolicy.PROHIBITED, "allowed"}:
            raise ValueError(f'contact policy for {tld!r} must be "prohibited" or "allowed"')
        normalised[tld.strip().strip(".").lower() or "*"] = value
    return normalised


class SandboxRegistry(EppListener):
    """The local EPP registry: start() serves TLS on host:port, stop() closes; state in db_path.

    A test double and demo tool that can inject faults. Its objects live in its own SQLite file
    (WAL); every frame is checked against the EPP schemas (2001 when invalid); the answers are
    the result codes a real registry uses:

    - 2002 for object commands before login, 2200 for a wrong password (2501, close, after 3);
    - 2302 creating what exists, 2303 for an unknown object, 2201 touching another registrar's
      object (info included, unless the right authInfo is given; a wrong one is 2202), 2305
      deleting a contact that a domain still uses, 2304 when a status prohibits the command;
    - 2306 under a contacts-prohibited policy: ``contacts_policy={"tld": "prohibited"}`` refuses
      admin, billing and tech contacts on that TLD's domains (the registrant stays allowed), and
      ``{"*": "prohibited"}`` makes the whole registry refuse contact:create as well;
    - in a domain:update, removing a contact that is not on the domain or adding one that does
      not exist is 2303 (with the handle in <extValue>), adding one that is already there 2302;
    - 2005 for a value of the wrong syntax that the schemas let through: a name not made of
      LDH labels, a country code not in ISO 3166-1, an e-mail address, a phone number that
      E.164 does not allow (handlers/values.py);
    - poll (RFC 5730): 1301 with the oldest message (msgQ count and id, and a domain:trnData
      when a domain was transferred away from the registrar, see `transfer_out`), 1300 when
      none waits; an ack answers 1000 with the count left, 2303 for an id not waiting;
    - host objects (RFC 5732: check, create, info, update, delete): a host under a domain of
      the sandbox needs its addresses (2003 at create; an update may not remove the last one,
      2306) and that domain must be the registrar's (2201), any other host takes none (2306);
      an update adding an address the host has or removing one it lacks is 2306, a bad IP
      2005, renaming an external host that another registrar's domains use 2305; deleting a
      host that a domain still names is 2305; with ``host_objects`` (the default) the name
      servers of a domain must exist as host objects (2303), without it the sandbox offers no
      host service and takes name servers as host attributes with their glue;
    - secDNS-1.1 (RFC 5910, offered unless ``secdns=False``): DS records added and removed in
      a domain:update (2302 adding one present, 2303 removing one absent, 2103 when the
      session did not announce it), all of them removed with ``<secDNS:rem><secDNS:all>``,
      returned in domain:info;
    - 2101 for anything else (renew, transfer), 2307 for host commands without host objects.

    Faults (FaultPlan): a share of object commands answered with error_code before anything is
    applied, a delay before every object command, and a share of successful creates, updates and
    deletes committed and then answered by closing the connection ("sent, answer unknown").
    """

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
        client_ca: str | os.PathLike[str] | None = None,
        obj_uris: Sequence[str] = OBJ_URIS,
        ext_uris: Sequence[str] | None = None,
        clients: Mapping[str, str] | None = None,
        contacts_policy: Mapping[str, str] | None = None,
        faults: FaultPlan | None = None,
        host_objects: bool = True,
        secdns: bool = True,
        sv_id: str = SV_ID,
        dcp: Dcp | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        read_timeout: float = 10.0,
        idle_timeout: float = 600.0,
        max_connections: int = 512,
    ) -> None:
        super().__init__(
            host=host,
            port=port,
            max_frame=max_frame,
            read_timeout=read_timeout,
            idle_timeout=idle_timeout,
            max_connections=max_connections,
        )
        self.db_path = Path(db_path)
        self._ssl_context = ssl_context
        self._certfile = None if certfile is None else str(certfile)
        self._keyfile = None if keyfile is None else str(keyfile)
        self.tls_dir = (
            Path(tls_dir) if tls_dir else self.db_path.with_name(self.db_path.name + ".tls")
        )
        self.server_names = tuple(server_names)
        if client_ca is not None and ssl_context is not None:
            raise ValueError("client_ca needs the sandbox's own TLS context, not a given one")
        self.client_ca = None if client_ca is None else Path(client_ca)
        self.clients = dict(clients or {})
        self.contacts_policy = normalise_policy(contacts_policy or {})
        self.faults = faults or FaultPlan()
        self.host_objects = host_objects
        # The greeting's services: as given, less host objects and secDNS when they are off.
        self.obj_uris = tuple(u for u in obj_uris if host_objects or u != HOST_NS)
        offered = EXT_URIS if ext_uris is None else tuple(ext_uris)
        self.ext_uris = tuple(u for u in offered if secdns or u != SECDNS_NS)
        self.sv_id = sv_id
        self.dcp = dcp or Dcp()
        self.answers: Counter[int] = Counter()
        """Result codes answered, by code."""
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.RLock()
        self._store: SandboxStore | None = None
        self._svtrids = itertools.count(1)
        self._boot = secrets.token_hex(3)
        self._ca_file: Path | None = None
        self._greeting_cache: tuple[datetime, bytes] | None = None
        self._open()

    # ------------------------------------------------------------ lifecycle

    def _open(self) -> None:
        if self._store is not None:
            return
        self._store = SandboxStore(self.db_path)
        with self._lock:
            for client_id, password in self.clients.items():
                # A password changed over EPP (newPW) outlives restarts.
                self._store.keep_registrar(client_id, password)
            self._passwords = self._store.passwords()

    @property
    def store(self) -> SandboxStore:
        if self._store is None:
            raise RuntimeError("the sandbox database is closed")
        return self._store

    @property
    def db(self) -> sqlite3.Connection:
        return self.store.db

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
            self.store.set_registrar(client_id, password)
            self._passwords[client_id] = password

    async def start(self) -> None:
        """Open the database and listen (on the same port again after a stop)."""
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        self._open()
        context = self._ssl_context
        if context is None and self._certfile:
            context = tls.context_from_files(self._certfile, self._keyfile)
        elif context is None:
            context, self._ca_file = tls.context_from_own_ca(
                self.tls_dir, tls.names_for(self.host, self.server_names)
            )
        if self.client_ca is not None:
            tls.require_client_certificates(context, self.client_ca)
        await self._listen(context)

    async def stop(self) -> None:
        """Stop listening, drop every connection and close the database (state stays on disk)."""
        await self._close_listener()
        self.close_db()

    def close_db(self) -> None:
        """Close the database (a final checkpoint folds the WAL into the file)."""
        store = self._store
        if store is not None:
            store.stop_checkpoints()
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    async def __aenter__(self) -> SandboxRegistry:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ state for tests and seeding

    def snapshot(self) -> SandboxSnapshot:
        """Every contact and domain as the sandbox holds them now."""
        with self._lock:
            if self._store is None:
                return read_snapshot(self.db_path)
            return self._store.snapshot()

    def seed_contact(
        self, contact: ContactData, sponsor: str, *, disclose: Disclose | None = None
    ) -> SandboxContact:
        """Store a contact as if sponsor had created it (no policy checks)."""
        with self._lock:
            self.store.insert_contact(contact, disclose, sponsor)
            return self.store.contact_by_id(contact.handle)

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
        ds: Sequence[DsData] = (),
    ) -> SandboxDomain:
        """Store a domain as if sponsor had registered it (no policy checks).

        Contacts (and the registrant) that do not exist yet are made as placeholders sponsored
        by sponsor; contacts are (type, handle) pairs; name servers become host objects (without
        addresses) unless they exist; ds are its DS records.
        """
        name = name.strip().rstrip(".").lower()
        with self._lock:
            return self.store.seed_domain(
                name,
                registrant,
                tuple(contacts),
                sponsor,
                ns=ns,
                auth_info=auth_info,
                statuses=statuses,
                ds=ds,
            )

    def transfer_out(
        self,
        name: str,
        *,
        to: str = messages.DEFAULT_GAINING,
        status: str = "serverApproved",
    ) -> messages.Message:
        """Move a domain to another registrar and queue the notice for the losing one (what
        `interlink registry-sandbox transfer-out` does to a sandbox's file)."""
        with self._lock:
            return messages.transfer_out(self.store.db, name, to=to, status=status)

    # ------------------------------------------------------------ answers

    def _svtrid(self) -> str:
        return f"SBX-{self._boot}-{next(self._svtrids)}"

    def _greeting(self) -> bytes:
        self.stats["greetings"] += 1
        now = utc_now().replace(microsecond=0)
        cached = self._greeting_cache
        if cached is not None and cached[0] == now:
            return cached[1]
        frame = build_greeting(
            Greeting(
                sv_id=self.sv_id,
                sv_date=now,
                obj_uris=self.obj_uris,
                ext_uris=self.ext_uris,
                dcp=self.dcp,
            )
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
        extension: etree._Element | None = None,
        value: Value | None = None,
        reason: str | None = None,
        msgq: MsgQ | None = None,
    ) -> bytes:
        self.answers[code] += 1
        if reason is not None:
            return answer_with_value(code, msg, cltrid, self._svtrid(), value, reason)
        return build_response(
            code, msg, cltrid, self._svtrid(), res_data, msgq=msgq, extension=extension
        )

    def _send_reply(self, reply: Reply, cltrid: str | None) -> tuple[bytes, bool]:
        answer = self._answer(
            reply.code,
            cltrid,
            msg=reply.msg,
            res_data=reply.res_data,
            extension=reply.extension,
            value=reply.value,
            reason=reply.reason,
            msgq=reply.msgq,
        )
        return answer, reply.close

    # ------------------------------------------------------------ commands

    async def _handle(self, state: Connection, frame: bytes) -> tuple[bytes | None, bool]:
        """The answer to one frame (None: no answer) and whether to close afterwards."""
        self.stats["frames"] += 1
        try:
            command = parse_command(frame, max_bytes=self.max_frame)
        except EppParseError as exc:
            self.stats["syntax_errors"] += 1
            return self._answer(2001, sniff_cltrid(frame), reason=str(exc)), False
        name, cltrid = command.name, command.cltrid
        if name == "hello":
            self.stats["hello"] += 1
            return self._greeting(), False
        if name == "login":
            return self._send_reply(self._login(state, command), cltrid)
        if state.client_id is None:
            return self._send_reply(session.not_logged_in(), cltrid)
        if name == "logout":
            return self._send_reply(session.logout(), cltrid)
        if name == "poll":
            self.stats["polls"] += 1
            with self._lock:
                if self._store is None:
                    return self._answer(2500, cltrid), True
                reply = session.poll(self._store, state.client_id, command.payload)
            return self._send_reply(reply, cltrid)
        self.stats["object_commands"] += 1
        handler = HANDLERS.get((name, command.obj))
        if handler is None:
            return self._answer(2101, cltrid), False
        if command.obj == "host" and not self.host_objects:
            return self._answer(2307, cltrid), False
        faults = self.faults
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.error_share and self._rng.random() < faults.error_share:
            self.stats["injected"] += 1
            return self._answer(faults.error_code, cltrid), faults.error_code >= 2500
        with self._lock:
            if self._store is None:
                return self._answer(2500, cltrid), True
            context = Context(
                self._store,
                state.client_id,
                self.contacts_policy,
                host_objects=self.host_objects,
                extensions=state.ext_uris,
            )
            try:
                reply = handler(context, command.payload)
            except Refusal as refusal:
                return self._send_reply(refusal.reply(), cltrid)
            except Exception:
                # A bug or a database error: nothing is committed, the client hears 2400.
                log.exception("EPP sandbox: %s %s failed", name, command.obj)
                if self._store.db.in_transaction:
                    self._store.db.execute("ROLLBACK")
                return self._answer(2400, cltrid), False
        if (
            reply.committed
            and faults.drop_after_commit_share
            and self._rng.random() < faults.drop_after_commit_share
        ):
            self.stats["dropped"] += 1
            return None, True
        return self._send_reply(reply, cltrid)

    def _login(self, state: Connection, command: Command) -> Reply:
        login = command.payload
        with self._lock:
            reply = session.login(
                state, login, self._passwords, services=(self.obj_uris, self.ext_uris)
            )
            if reply.code == 1000 and login.new_pw is not None:
                self.add_client(login.cl_id, login.new_pw)
        if reply.code == 1000:
            state.client_id = login.cl_id
            state.ext_uris = frozenset(login.ext_uris)
        return reply
