"""Sandbox handlers of host commands (RFC 5732): check, create, info; and the name rules."""

from __future__ import annotations

import ipaddress
import re

from publishers.epp.model import HOST_NS, CheckItem, HostCreate, HostInfo
from publishers.epp.server.responses import host_check_data, host_create_data, host_info_data
from publishers.sandbox.handlers.common import Context
from publishers.sandbox.records import host_record
from publishers.sandbox.reply import Refusal, Reply, Value

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
    checked = []
    for address in dict.fromkeys(addrs):
        try:
            checked.append(str(ipaddress.ip_address(address)))
        except ValueError:
            raise Refusal(
                2005, value=(HOST_NS, "addr", address), reason="not an IP address"
            ) from None
    return tuple(checked)


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
