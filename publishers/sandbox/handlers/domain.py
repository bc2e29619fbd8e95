"""Sandbox handlers of domain commands: check, create, info, update (name servers as host objects
or attributes, secDNS-1.1 DS records)."""

from __future__ import annotations

import sqlite3

from publishers.epp.model import (
    DOMAIN_NS,
    SECDNS_NS,
    CheckItem,
    DomainCreate,
    DomainInfo,
    DomainInfoQuery,
    DomainUpdate,
    DsData,
    HostAttr,
)
from publishers.epp.server.responses import (
    domain_check_data,
    domain_create_data,
    domain_info_data,
    secdns_info_data,
)
from publishers.sandbox.handlers import values
from publishers.sandbox.handlers.common import Context, check_statuses, refuse_if
from publishers.sandbox.handlers.host import glue_addresses, host_name
from publishers.sandbox.records import domain_record, words
from publishers.sandbox.reply import Refusal, Reply, contact_value, domain_value
from publishers.sandbox.store import add_period, utc_now


def check(ctx: Context, names: tuple[str, ...]) -> Reply:
    """<domain:check>: available unless registered (by anyone)."""
    db = ctx.store.db
    items = []
    for name in names:
        values.domain_name(name)
        taken = db.execute("SELECT 1 FROM domain WHERE name = ?", (name.lower(),)).fetchone()
        items.append(CheckItem(name, taken is None, "In use" if taken else None))
    return Reply(code=1000, res_data=domain_check_data(items))


def create(ctx: Context, create: DomainCreate) -> Reply:
    """<domain:create>: a new name, a period of 1 to 10 years, existing contacts the TLD allows."""
    values.domain_name(create.name)
    for host in create.ns:
        values.host_name(host)
    name = create.name.strip().rstrip(".").lower()
    if ctx.store.domain_row(name) is not None:
        raise Refusal(2302, value=domain_value(create.name), reason="already registered")
    months = (create.period or 1) * (12 if create.period_unit == "y" else 1)
    if not 1 <= months <= 120:
        raise Refusal(2004, reason="the period must be 1 to 10 years")
    if create.contacts and ctx.contacts_prohibited(name):
        raise Refusal(
            2306,
            value=contact_value(create.contacts[0][1]),
            reason="contacts are prohibited under this TLD's policy",
        )
    if create.registrant:
        ctx.require_contact(create.registrant)
    for _, handle in create.contacts:
        ctx.require_contact(handle)
    if ctx.host_objects:
        for host in create.ns:
            _require_host(ctx, host)
    now = utc_now()
    expires = add_period(now, months=months)
    db = ctx.store.db
    db.execute("BEGIN IMMEDIATE")
    try:
        seq = db.execute(
            "INSERT INTO domain (name, cl_id, cr_id, registrant, ns, auth_info, cr_date,"
            " ex_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                name,
                ctx.client_id,
                ctx.client_id,
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
    return Reply(code=1000, res_data=domain_create_data(name, now, expires), committed=True)


def info(ctx: Context, query: DomainInfoQuery) -> Reply:
    """<domain:info>: ours, or another's with the right authInfo (which is then not shown)."""
    values.domain_name(query.name)
    row = ctx.own_domain(query.name, query.auth_info)
    store = ctx.store
    record = domain_record(row, store.domain_contacts(row["seq"]), store.domain_ds(row["seq"]))
    ours = record.sponsor == ctx.client_id
    hosts: tuple[str, ...] = ()
    if ctx.host_objects and ours and query.hosts in ("all", "sub"):
        hosts = store.subordinate_hosts(record.name)
    glue: tuple[HostAttr, ...] = ()
    if not ctx.host_objects:
        rows = (store.host_row(host) for host in record.ns)
        glue = tuple(HostAttr(r["name"], words(r["addrs"])) for r in rows if r and r["addrs"])
    answer = DomainInfo(
        name=record.name,
        roid=record.roid,
        statuses=record.statuses or ("ok",),
        registrant=record.registrant,
        contacts=record.contacts,
        ns=record.ns if query.hosts in ("all", "del") else (),
        hosts=hosts,
        host_addrs=glue,
        cl_id=record.sponsor,
        cr_id=row["cr_id"],
        cr_date=record.cr_date,
        up_id=row["up_id"],
        up_date=record.up_date,
        ex_date=record.ex_date,
        auth_info=record.auth_info if ours else None,
    )
    # RFC 5910 section 5.1.2: the DS records, to a registrar that announced secDNS-1.1.
    extension = secdns_info_data(record.ds) if SECDNS_NS in ctx.extensions else None
    return Reply(
        code=1000,
        res_data=domain_info_data(answer, host_attrs=not ctx.host_objects),
        extension=extension,
    )


def _require_host(ctx: Context, host: str) -> None:
    """Refuse with 2303 unless the name server exists as a host object."""
    if ctx.store.host_row(host.strip().rstrip(".").lower()) is None:
        raise Refusal(2303, value=(DOMAIN_NS, "hostObj", host), reason="no such host object")


def _moved_contacts(
    ctx: Context, update: DomainUpdate, contacts: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The contacts an update removes and adds (applied to contacts), refusing impossible ones."""
    removed = []
    for pair in dict.fromkeys(update.rem_contacts):
        if pair not in contacts:
            raise Refusal(
                2303,
                value=contact_value(pair[1]),
                reason=f"not a {pair[0]} contact of this domain",
            )
        contacts.remove(pair)
        removed.append(pair)
    added = []
    for pair in dict.fromkeys(update.add_contacts):
        ctx.require_contact(pair[1])
        if pair in contacts:
            raise Refusal(
                2302,
                value=contact_value(pair[1]),
                reason=f"already a {pair[0]} contact of this domain",
            )
        contacts.append(pair)
        added.append(pair)
    return removed, added


def _name_servers(ctx: Context, current: str, update: DomainUpdate) -> list[str]:
    """The name servers after the update, refusing removing a missing or adding a present one,
    adding a host object that does not exist, or the form (objects, attributes) this registry
    does not take."""
    attrs = bool(update.add_host_attrs or update.rem_host_attrs)
    objects = bool(update.add_ns or update.rem_ns)
    if (attrs and ctx.host_objects) or (objects and not ctx.host_objects):
        wanted, given = ("hostObj", "hostAttr") if ctx.host_objects else ("hostAttr", "hostObj")
        raise Refusal(2306, reason=f"this registry takes name servers as {wanted}, not {given}")
    ns = list(words(current))
    for host in update.all_rem_ns():
        if host.lower() not in ns:
            raise Refusal(2303, value=(DOMAIN_NS, "hostObj", host), reason="not a name server")
        ns.remove(host.lower())
    for host in update.all_add_ns():
        if host.lower() in ns:
            raise Refusal(2302, value=(DOMAIN_NS, "hostObj", host), reason="already a name server")
        if ctx.host_objects:
            _require_host(ctx, host)
        ns.append(host.lower())
    return ns


def _glue(ctx: Context, update: DomainUpdate) -> list[tuple[str, tuple[str, ...]]]:
    """The host attributes' names and glue addresses to keep (registries without host objects)."""
    return [
        (name, glue_addresses(ctx, name, attr.addrs))
        for attr in update.add_host_attrs
        for name in (host_name(attr.name),)
    ]


def _ds_records(ctx: Context, seq: int, update: DomainUpdate) -> tuple[list[DsData], list[DsData]]:
    """The DS records an update removes (every one with rem all) and adds, refusing the
    extension unless announced at login (2103), removing a missing record (2303) or adding a
    present one (2302)."""
    if not update.has_ds:
        return [], []
    if SECDNS_NS not in ctx.extensions:
        raise Refusal(
            2103, reason="secDNS-1.1 is not in use in this session (not offered or not announced)"
        )
    current = list(ctx.store.domain_ds(seq))
    removed = []
    if update.rem_all_ds:
        removed, current = current, []
    for record in dict.fromkeys(update.rem_ds):
        if record not in current:
            raise Refusal(2303, value=_ds_value(record), reason="no such DS record")
        current.remove(record)
        removed.append(record)
    added = []
    for record in dict.fromkeys(update.add_ds):
        if record in current:
            raise Refusal(2302, value=_ds_value(record), reason="DS record exists")
        current.append(record)
        added.append(record)
    if len(current) > 8:
        raise Refusal(2306, reason="at most 8 DS records per domain")
    return removed, added


def _ds_value(record: DsData) -> tuple[str, str, str]:
    return (SECDNS_NS, "keyTag", str(record.key_tag))


def _write_ds(db: sqlite3.Connection, seq: int, removed: list[DsData], added: list[DsData]) -> None:
    db.executemany(
        "DELETE FROM domain_ds WHERE domain_seq = ? AND key_tag = ? AND alg = ?"
        " AND digest_type = ? AND digest = ?",
        [(seq, r.key_tag, r.alg, r.digest_type, r.digest) for r in removed],
    )
    db.executemany(
        "INSERT INTO domain_ds (domain_seq, key_tag, alg, digest_type, digest)"
        " VALUES (?, ?, ?, ?, ?)",
        [(seq, r.key_tag, r.alg, r.digest_type, r.digest) for r in added],
    )


def update(ctx: Context, update: DomainUpdate) -> Reply:
    """<domain:update> by the sponsor: contacts, name servers, statuses and registrant at once."""
    values.domain_name(update.name)
    for host in update.add_ns:
        values.host_name(host)
    row = ctx.own_domain(update.name)
    if row["cl_id"] != ctx.client_id:
        raise Refusal(2201, value=domain_value(update.name), reason="not the sponsor")
    name = row["name"]
    current_statuses = words(row["statuses"])
    refuse_if(current_statuses, update.rem_statuses, "Update")
    if update.add_contacts and ctx.contacts_prohibited(name):
        raise Refusal(
            2306,
            value=contact_value(update.add_contacts[0][1]),
            reason="contacts are prohibited under this TLD's policy",
        )
    contacts = list(ctx.store.domain_contacts(row["seq"]))
    removed, added = _moved_contacts(ctx, update, contacts)
    ns = _name_servers(ctx, row["ns"], update)
    glue = [] if ctx.host_objects else _glue(ctx, update)
    ds_removed, ds_added = _ds_records(ctx, row["seq"], update)
    statuses = check_statuses("domain", current_statuses, update.add_statuses, update.rem_statuses)
    registrant = row["registrant"]
    if update.registrant is not None:
        if update.registrant:
            ctx.require_contact(update.registrant)
        registrant = update.registrant or None
    db = ctx.store.db
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
                ctx.client_id,
                utc_now().isoformat(),
                row["seq"],
            ),
        )
        _write_ds(db, row["seq"], ds_removed, ds_added)
        db.executemany(
            "INSERT INTO host (name, cl_id, cr_id, addrs, cr_date) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET addrs = excluded.addrs",
            [
                (name, ctx.client_id, ctx.client_id, " ".join(addrs), utc_now().isoformat())
                for name, addrs in glue
            ],
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return Reply(code=1000, committed=True)
