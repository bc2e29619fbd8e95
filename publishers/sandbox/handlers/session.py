"""Sandbox handlers of session commands: login (with its three tries), logout and poll."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from publishers.epp.model import CONTACT_NS, DOMAIN_NS, HOST_NS, Login, Poll
from publishers.sandbox.reply import Reply

OBJ_URIS = (DOMAIN_NS, CONTACT_NS, HOST_NS)
"""Host objects are announced (clients log in with them) but host commands answer 2101."""
MAX_LOGIN_FAILURES = 3


@dataclass
class Connection:
    """What the sandbox knows about one client connection."""

    client_id: str | None = None
    login_failures: int = 0


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


def poll(poll: Poll) -> Reply:
    """<poll>: the sandbox queues no messages."""
    if poll.op == "req":
        return Reply(code=1300)
    return Reply(code=2303, msg="Object does not exist: no such message")


def not_logged_in() -> Reply:
    """Any command but login before a successful login."""
    return Reply(code=2002, msg="Command use error: not logged in")
