"""What every sandbox handler gets (a Context), and the sponsor, status and policy checks."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from domains.vocabulary import RegistryContactPolicy
from publishers.epp.model import CONTACT_NS, DOMAIN_NS
from publishers.sandbox.reply import Refusal, contact_value, domain_value
from publishers.sandbox.store import SandboxStore

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


@dataclass(frozen=True)
class Context:
    """One object command's world: the open store, the logged-in registrar, the contact policy."""

    store: SandboxStore
    client_id: str
    contacts_policy: Mapping[str, str]
    host_objects: bool = True
    """Name servers are host objects that must exist (else host attributes with glue)."""
    extensions: frozenset[str] = frozenset()
    """The extensions the registrar announced at login (and the sandbox offers)."""

    def contacts_prohibited(self, name: str) -> bool:
        """True when the policy of the domain's TLD (or of the whole registry) refuses contacts."""
        policy = self.contacts_policy
        if not policy:
            return False
        labels = name.split(".")
        for index in range(1, len(labels)):
            found = policy.get(".".join(labels[index:]))
            if found is not None:
                return found == RegistryContactPolicy.PROHIBITED
        return policy.get("*") == RegistryContactPolicy.PROHIBITED

    def own_contact(self, handle: str, auth_info: str | None = None) -> sqlite3.Row:
        """The contact's row if it exists and is ours (or auth_info is right), else a Refusal."""
        row = self.store.contact_row(handle)
        if row is None:
            raise Refusal(2303, value=contact_value(handle), reason="no such contact")
        if row["cl_id"] != self.client_id:
            if auth_info is None:
                raise Refusal(
                    2201, value=contact_value(handle), reason="sponsored by another registrar"
                )
            if not secrets.compare_digest(auth_info.encode(), row["auth_info"].encode()):
                raise Refusal(2202, value=contact_value(handle), reason="wrong authInfo")
        return row

    def own_domain(self, name: str, auth_info: str | None = None) -> sqlite3.Row:
        """The domain's row if it exists and is ours (or auth_info is right), else a Refusal."""
        row = self.store.domain_row(name.lower())
        if row is None:
            raise Refusal(2303, value=domain_value(name), reason="no such domain")
        if row["cl_id"] != self.client_id:
            if auth_info is None:
                raise Refusal(
                    2201, value=domain_value(name), reason="sponsored by another registrar"
                )
            if not secrets.compare_digest(auth_info.encode(), row["auth_info"].encode()):
                raise Refusal(2202, value=domain_value(name), reason="wrong authInfo")
        return row

    def require_contact(self, handle: str) -> None:
        """Refuse with 2303 unless the contact exists."""
        db = self.store.db
        if db.execute("SELECT 1 FROM contact WHERE id = ?", (handle,)).fetchone() is None:
            raise Refusal(2303, value=contact_value(handle), reason="no such contact")


def check_statuses(
    kind: str, current: tuple[str, ...], add: tuple[str, ...], rem: tuple[str, ...]
) -> tuple[str, ...]:
    """The statuses after an update's add and rem, refusing what a client may not do (2306)."""
    allowed = CLIENT_STATUSES[kind]
    value_ns = CONTACT_NS if kind == "contact" else DOMAIN_NS
    result = [status for status in current if status not in rem]
    for status in rem:
        if status not in current:
            raise Refusal(2306, value=(value_ns, "status", status), reason="status is not set")
    for status in add:
        if status not in allowed:
            raise Refusal(
                2306,
                value=(value_ns, "status", status),
                reason="clients may only set client statuses",
            )
        if status in result:
            raise Refusal(2306, value=(value_ns, "status", status), reason="already set")
        result.append(status)
    return tuple(result)


def refuse_if(statuses: tuple[str, ...], rem: tuple[str, ...], what: str) -> None:
    """Refuse with 2304 when a server or (not being removed) client status prohibits what."""
    server, client = f"server{what}Prohibited", f"client{what}Prohibited"
    if server in statuses or (client in statuses and client not in rem):
        blocking = server if server in statuses else client
        raise Refusal(2304, msg=f"Object status prohibits operation: {blocking}")
