"""Sandbox handlers of domain commands: check, create, info, update."""

from __future__ import annotations

from publishers.epp.model import (
    DOMAIN_NS,
    CheckItem,
    DomainCreate,
    DomainInfo,
    DomainInfoQuery,
    DomainUpdate,
)
from publishers.epp.server.responses import (
    domain_check_data,
    domain_create_data,
    domain_info_data,
)
from publishers.sandbox.handlers import values
from publishers.sandbox.handlers.common import Context, check_statuses, refuse_if
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
    record = domain_record(row, ctx.store.domain_contacts(row["seq"]))
    answer = DomainInfo(
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
        auth_info=record.auth_info if record.sponsor == ctx.client_id else None,
    )
    return Reply(code=1000, res_data=domain_info_data(answer))


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


def _name_servers(current: str, update: DomainUpdate) -> list[str]:
    """The name servers after the update, refusing removing a missing or adding a present one."""
    ns = list(words(current))
    for host in update.rem_ns:
        if host.lower() not in ns:
            raise Refusal(2303, value=(DOMAIN_NS, "hostObj", host), reason="not a name server")
        ns.remove(host.lower())
    for host in update.add_ns:
        if host.lower() in ns:
            raise Refusal(2302, value=(DOMAIN_NS, "hostObj", host), reason="already a name server")
        ns.append(host.lower())
    return ns


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
    ns = _name_servers(row["ns"], update)
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
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return Reply(code=1000, committed=True)
