"""Sandbox handlers of session commands: login (with its three tries), logout and poll."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from publishers.epp.model import CONTACT_NS, DOMAIN_NS, HOST_NS, SECDNS_NS, Login, MsgQ, Poll
from publishers.epp.server.responses import domain_transfer_data
from publishers.sandbox import messages
from publishers.sandbox.reply import Reply
from publishers.sandbox.store import SandboxStore

OBJ_URIS = (DOMAIN_NS, CONTACT_NS, HOST_NS)
"""The object services of a sandbox in host-object mode (without it: no HOST_NS)."""
EXT_URIS = (SECDNS_NS,)
"""The extensions the sandbox can offer: secDNS-1.1 (RFC 5910)."""
MAX_LOGIN_FAILURES = 3


@dataclass
class Connection:
    """What the sandbox knows about one client connection."""

    client_id: str | None = None
    login_failures: int = 0
    ext_uris: frozenset[str] = frozenset()
    """The extensions announced at login."""


def login(
    state: Connection,
    login: Login,
    passwords: Mapping[str, str],
    *,
    services: tuple[Sequence[str], Sequence[str]] = (OBJ_URIS, ()),
) -> Reply:
    """The answer to <login>; 1000 when the registrar may log in (the caller then records it).

    services are the objURIs and extURIs the greeting offered: asking for another is 2307
    (object) or 2103 (extension). A wrong password is 2200, and after three of them on one
    connection 2501 and close.
    """
    offered_objects, offered_extensions = services
    if state.client_id is not None:
        return Reply(code=2002, msg="Command use error: already logged in")
    if login.version != "1.0":
        return Reply(code=2100)
    if login.lang != "en":
        return Reply(code=2102, msg="Unimplemented option: lang")
    unknown = [uri for uri in login.obj_uris if uri not in offered_objects]
    if unknown:
        return Reply(code=2307, reason=f"unknown object service {unknown[0]}")
    unknown = [uri for uri in login.ext_uris if uri not in offered_extensions]
    if unknown:
        return Reply(code=2103, reason=f"unknown extension {unknown[0]}")
    expected = passwords.get(login.cl_id)
    if expected is None or not secrets.compare_digest(expected.encode(), login.pw.encode()):
        state.login_failures += 1
        if state.login_failures >= MAX_LOGIN_FAILURES:
            return Reply(code=2501, close=True)
        return Reply(code=2200)
    return Reply(code=1000)


def logout() -> Reply:
    """<logout>: 1500, and the connection closes."""
    return Reply(code=1500, close=True)


def poll(store: SandboxStore, client_id: str, poll: Poll) -> Reply:
    """<poll>: req gives the oldest message waiting for the registrar (1301, its msgQ and its
    trnData; 1300 when none waits); ack dequeues one by id (1000 with the count left and the id
    acknowledged; 2303 when the registrar has no message of that id)."""
    if poll.op == "req":
        count, message = messages.first(store.db, client_id)
        if message is None:
            return Reply(code=1300)
        queue = MsgQ(count=count, id=message.id, q_date=message.q_date, message=message.text)
        return Reply(code=1301, msgq=queue, res_data=domain_transfer_data(message.transfer))
    left = messages.acknowledge(store.db, client_id, poll.msg_id or "")
    if left is None:
        return Reply(
            code=2303,
            msg="Object does not exist: no such message",
            value=None,
            reason=f"no message {poll.msg_id!r} waits for {client_id}",
        )
    return Reply(code=1000, msgq=MsgQ(count=left, id=poll.msg_id or ""), committed=True)


def not_logged_in() -> Reply:
    """Any command but login before a successful login."""
    return Reply(code=2002, msg="Command use error: not logged in")
