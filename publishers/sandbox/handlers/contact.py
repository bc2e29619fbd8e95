"""Sandbox handlers of contact commands: check, create, info, update, delete."""

from __future__ import annotations

import sqlite3
from typing import Any

from domains.vocabulary import RegistryContactPolicy
from publishers.epp.model import (
    Address,
    CheckItem,
    ContactCreate,
    ContactInfo,
    ContactInfoQuery,
    ContactUpdate,
    PostalInfo,
)
from publishers.epp.server.responses import (
    contact_check_data,
    contact_create_data,
    contact_info_data,
)
from publishers.sandbox.handlers import values as value_checks
from publishers.sandbox.handlers.common import Context, check_statuses, refuse_if
from publishers.sandbox.records import contact_record, disclose_text, words
from publishers.sandbox.reply import Refusal, Reply, contact_value
from publishers.sandbox.store import utc_now


def check(ctx: Context, handles: tuple[str, ...]) -> Reply:
    """<contact:check>: available unless the id is taken (by anyone)."""
    db = ctx.store.db
    items = []
    for handle in handles:
        taken = db.execute("SELECT 1 FROM contact WHERE id = ?", (handle,)).fetchone()
        items.append(CheckItem(handle, taken is None, "In use" if taken else None))
    return Reply(code=1000, res_data=contact_check_data(items))


def create(ctx: Context, create: ContactCreate) -> Reply:
    """<contact:create>: 2306 when the registry takes no contacts, 2302 when the id is taken."""
    contact = create.contact
    if ctx.contacts_policy.get("*") == RegistryContactPolicy.PROHIBITED:
        raise Refusal(
            2306,
            value=contact_value(contact.handle),
            reason="this registry does not accept contact objects",
        )
    if len(contact.street) > 3:
        raise Refusal(2306, reason="at most 3 street lines")
    value_checks.contact(contact)
    try:
        now = ctx.store.insert_contact(contact, create.disclose, ctx.client_id)
    except sqlite3.IntegrityError:
        raise Refusal(2302, value=contact_value(contact.handle), reason="id is taken") from None
    return Reply(code=1000, res_data=contact_create_data(contact.handle, now), committed=True)


def info(ctx: Context, query: ContactInfoQuery) -> Reply:
    """<contact:info>: ours, or another's with the right authInfo (which is then not shown)."""
    row = ctx.own_contact(query.handle, query.auth_info)
    record = contact_record(row)
    statuses = record.statuses or ("ok",)
    if ctx.store.is_linked(record.id):
        statuses = (*statuses, "linked")
    address = Address(
        street=record.street, city=record.city, sp=record.sp, pc=record.pc, cc=record.cc
    )
    answer = ContactInfo(
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
        auth_info=record.auth_info if record.sponsor == ctx.client_id else None,
        disclose=record.disclose,
    )
    return Reply(code=1000, res_data=contact_info_data(answer))


def update(ctx: Context, update: ContactUpdate) -> Reply:
    """<contact:update> by the sponsor: statuses added and removed, then the chg items."""
    row = ctx.own_contact(update.handle)
    if row["cl_id"] != ctx.client_id:
        raise Refusal(2201, value=contact_value(update.handle), reason="not the sponsor")
    current = words(row["statuses"])
    refuse_if(current, update.rem_statuses, "Update")
    statuses = check_statuses("contact", current, update.add_statuses, update.rem_statuses)
    values: dict[str, Any] = {"statuses": " ".join(statuses)}
    change = update.change
    if change is not None:
        value_checks.contact_change(change)
        if change.name is not None or change.org is not None or change.addr is not None:
            values["postal_type"] = change.postal_type
        if change.name is not None:
            if not change.name.strip():
                raise Refusal(2306, reason="name must not be empty")
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
            values["disclose"] = disclose_text(change.disclose)
    values["up_id"] = ctx.client_id
    values["up_date"] = utc_now().isoformat()
    columns = ", ".join(f"{column} = ?" for column in values)
    ctx.store.db.execute(
        f"UPDATE contact SET {columns} WHERE seq = ?", (*values.values(), row["seq"])
    )
    return Reply(code=1000, committed=True)


def delete(ctx: Context, handle: str) -> Reply:
    """<contact:delete> by the sponsor, unless a status prohibits it or a domain uses it."""
    row = ctx.own_contact(handle)
    if row["cl_id"] != ctx.client_id:
        raise Refusal(2201, value=contact_value(handle), reason="not the sponsor")
    refuse_if(words(row["statuses"]), (), "Delete")
    if ctx.store.is_linked(handle):
        raise Refusal(2305, value=contact_value(handle), reason="contact is linked to a domain")
    ctx.store.db.execute("DELETE FROM contact WHERE seq = ?", (row["seq"],))
    return Reply(code=1000, committed=True)
