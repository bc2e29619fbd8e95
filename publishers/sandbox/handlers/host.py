"""Sandbox handlers of host commands (RFC 5732): check, create, info, update, delete; and the
name and address rules."""

from __future__ import annotations

import ipaddress
import re
import sqlite3

from publishers.epp.model import HOST_NS, CheckItem, HostCreate, HostInfo, HostUpdate
from publishers.epp.server.responses import host_check_data, host_create_data, host_info_data
from publishers.sandbox.handlers.common import Context
from publishers.sandbox.records import host_record, words
from publishers.sandbox.reply import Refusal, Reply, Value
from publishers.sandbox.store import utc_now

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def host_value(name: str) -> Value:
    """A host name as the offending value."""
    return (HOST_NS, "name", name)


def host_name(name: str) -> str:
    """A host name in lower case without a trailing dot; 2005 unless it is a valid one."""
    cleaned = name.strip().rstrip(".").lower()
    labels = cleaned.split(".")
    if len(labels) < 2 or len(cleaned) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
        raise Refusal(2005, value=host_value(name), reason="not a host name")
    return cleaned


def glue_addresses(ctx: Context, name: str, addrs: tuple[str, ...]) -> tuple[str, ...]:
    """The addresses a host may hold: required (2003) under a domain of this registry, which
    must be the registrar's (2201); refused (2306) for any other host; each a valid IP (2005)."""
    parent = ctx.store.superordinate(name)
    if parent is None:
        if addrs:
            raise Refusal(
                2306,
                value=host_value(name),
                reason="addresses are only taken for hosts under a domain of this registry",
            )
        return ()
    if parent["cl_id"] != ctx.client_id:
        raise Refusal(
            2201, value=host_value(name), reason="its domain is sponsored by another registrar"
        )
    if not addrs:
        raise Refusal(
            2003,
            value=host_value(name),
            reason="a host under a domain of this registry needs its addresses (glue)",
        )
    return ip_addresses(addrs)


def ip_addresses(addrs: tuple[str, ...]) -> tuple[str, ...]:
    """The addresses in their canonical form, without repeats; 2005 for one that is no IP."""
    checked = []
    for address in addrs:
        try:
            checked.append(str(ipaddress.ip_address(address.strip())))
        except ValueError:
            raise Refusal(
                2005, value=(HOST_NS, "addr", address), reason="not an IP address"
            ) from None
    return tuple(dict.fromkeys(checked))


def check(ctx: Context, names: tuple[str, ...]) -> Reply:
    """<host:check>: available unless a host object of that name exists (anyone's)."""
    items = []
    for name in names:
        taken = ctx.store.host_row(name.strip().rstrip(".").lower()) is not None
        items.append(CheckItem(name, not taken, "In use" if taken else None))
    return Reply(code=1000, res_data=host_check_data(items))


def create(ctx: Context, create: HostCreate) -> Reply:
    """<host:create>: a new host, with glue when it is under a domain of this registry."""
    name = host_name(create.name)
    if ctx.store.host_row(name) is not None:
        raise Refusal(2302, value=host_value(create.name), reason="host exists")
    addrs = glue_addresses(ctx, name, create.addrs)
    now = ctx.store.insert_host(name, addrs, ctx.client_id)
    return Reply(code=1000, res_data=host_create_data(name, now), committed=True)


def info(ctx: Context, name: str) -> Reply:
    """<host:info>: any registrar may read a host object."""
    row = ctx.store.host_row(name.strip().rstrip(".").lower())
    if row is None:
        raise Refusal(2303, value=host_value(name), reason="no such host")
    record = host_record(row)
    statuses = ("linked",) if ctx.store.host_is_linked(record.name) else ("ok",)
    answer = HostInfo(
        name=record.name,
        roid=record.roid,
        statuses=statuses,
        addrs=record.addrs,
        cl_id=record.sponsor,
        cr_id=record.creator,
        cr_date=record.cr_date,
        up_id=row["up_id"],
        up_date=record.up_date,
    )
    return Reply(code=1000, res_data=host_info_data(answer))


def _own_host(ctx: Context, given: str) -> sqlite3.Row:
    """The host's row if it exists (2303) and is the registrar's (2201)."""
    row = ctx.store.host_row(host_name(given))
    if row is None:
        raise Refusal(2303, value=host_value(given), reason="no such host")
    if row["cl_id"] != ctx.client_id:
        raise Refusal(2201, value=host_value(given), reason="sponsored by another registrar")
    return row


def _linking_sponsors(ctx: Context, name: str) -> set[str]:
    """The sponsors of the domains that name the host as a name server."""
    rows = ctx.store.db.execute(
        "SELECT cl_id, ns FROM domain WHERE ' ' || ns || ' ' LIKE ?", (f"% {name} %",)
    )
    return {sponsor for sponsor, ns in rows if name in words(ns)}


def _addresses_after(
    row: sqlite3.Row, name: str, update: HostUpdate, ctx: Context
) -> tuple[str, ...]:
    """The host's addresses after the update: removing one it lacks or adding one it has is
    2306; the result must fit the host (section 3.2.5): addresses only under a domain of this
    registry (2306 otherwise), which must be the registrar's (2201) and keep one at least."""
    current = list(words(row["addrs"]))
    for address in ip_addresses(update.rem_addrs):
        if address not in current:
            reason = "not an address of this host"
            raise Refusal(2306, value=(HOST_NS, "addr", address), reason=reason)
        current.remove(address)
    for address in ip_addresses(update.add_addrs):
        if address in current:
            reason = "already an address of this host"
            raise Refusal(2306, value=(HOST_NS, "addr", address), reason=reason)
        current.append(address)
    parent = ctx.store.superordinate(name)
    if parent is None:
        if current:
            raise Refusal(
                2306,
                value=host_value(name),
                reason="addresses are only taken for hosts under a domain of this registry",
            )
    elif parent["cl_id"] != ctx.client_id:
        raise Refusal(
            2201, value=host_value(name), reason="its domain is sponsored by another registrar"
        )
    elif not current:
        raise Refusal(
            2306,
            value=host_value(name),
            reason="a host under a domain of this registry keeps one address at least",
        )
    return tuple(current)


def update(ctx: Context, update: HostUpdate) -> Reply:
    """<host:update> by the sponsor (RFC 5732 section 3.2.5): addresses added and removed, a
    new name (2305 renaming an external host that another registrar's domains use: section
    3.2.5; 2302 when the new name exists). Host statuses are not implemented (2102)."""
    row = _own_host(ctx, update.name)
    if update.add_statuses or update.rem_statuses:
        raise Refusal(2102, reason="host statuses are not implemented by this sandbox")
    old = row["name"]
    name = old
    if update.new_name is not None:
        name = host_name(update.new_name)
        if name != old and ctx.store.host_row(name) is not None:
            raise Refusal(2302, value=host_value(update.new_name), reason="host exists")
        others = _linking_sponsors(ctx, old) - {ctx.client_id}
        if ctx.store.superordinate(old) is None and others:
            raise Refusal(
                2305,
                value=host_value(update.name),
                reason="an external host that other registrars' domains use cannot be renamed",
            )
    addrs = _addresses_after(row, name, update, ctx)
    now = utc_now().isoformat()
    db = ctx.store.db
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "UPDATE host SET name = ?, addrs = ?, up_id = ?, up_date = ? WHERE seq = ?",
            (name, " ".join(addrs), ctx.client_id, now, row["seq"]),
        )
        if name != old:
            linked = db.execute(
                "SELECT seq, ns FROM domain WHERE ' ' || ns || ' ' LIKE ?", (f"% {old} %",)
            ).fetchall()
            db.executemany(
                "UPDATE domain SET ns = ? WHERE seq = ?",
                [(" ".join(name if h == old else h for h in words(ns)), seq) for seq, ns in linked],
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return Reply(code=1000, committed=True)


def delete(ctx: Context, name: str) -> Reply:
    """<host:delete> by the sponsor; 2305 while a domain names it (RFC 5732 section 3.2.2)."""
    row = _own_host(ctx, name)
    if ctx.store.host_is_linked(row["name"]):
        raise Refusal(
            2305, value=host_value(name), reason="a domain still names it as a name server"
        )
    db = ctx.store.db
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DELETE FROM host WHERE seq = ?", (row["seq"],))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return Reply(code=1000, committed=True)
