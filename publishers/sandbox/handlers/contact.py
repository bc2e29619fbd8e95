"""Sandbox handlers of contact commands: check, create, info, update, delete."""

from __future__ import annotations

import sqlite3
from typing import Any

from domains.vocabulary import RegistryContactPolicy
from publishers.epp.model import (
    CheckItem,
    ContactChange,
    ContactCreate,
    ContactInfo,
    ContactInfoQuery,
    ContactUpdate,
    PostalInfo,
    PostalType,
)
from publishers.epp.server.responses import (
    contact_check_data,
    contact_create_data,
    contact_info_data,
)
from publishers.sandbox.handlers import values as value_checks
from publishers.sandbox.handlers.common import Context, check_statuses, refuse_if
from publishers.sandbox.records import (
    SandboxContact,
    contact_record,
    disclose_text,
    postal_text,
    words,
)
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
    _require_ascii_int(contact.postal("int"))
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
    answer = ContactInfo(
        handle=record.id,
        roid=record.roid,
        statuses=statuses,
        postal_info=record.postal_infos,
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
        if any(not postal.is_empty() for postal in change.postal):
            values.update(_postal_values(contact_record(row), change))
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


def _require_ascii_int(info: PostalInfo | None) -> None:
    """RFC 5733 §2.3: an "int" postalInfo holds 7-bit ASCII only (2005 otherwise)."""
    if info is None:
        return
    addr = info.addr
    values = [info.name, info.org, *addr.street, addr.city, addr.sp, addr.pc, addr.cc]
    if any(value and not value.isascii() for value in values):
        raise Refusal(2005, reason='postalInfo type "int" must be 7-bit ASCII')


def _postal_values(record: SandboxContact, change: ContactChange) -> dict[str, Any]:
    """The contact's postal columns after the change: each postalInfo of the change updates
    the one of its type; a type the contact lacks starts as a copy of the one it has."""
    forms: dict[PostalType, PostalInfo] = {info.type: info for info in record.postal_infos}
    for postal in change.postal:
        if postal.is_empty():
            continue
        base = forms.get(postal.type) or next(iter(forms.values()))
        if postal.name is not None and not postal.name.strip():
            raise Refusal(2306, reason="name must not be empty")
        if postal.addr is not None and len(postal.addr.street) > 3:
            raise Refusal(2306, reason="at most 3 street lines")
        forms[postal.type] = PostalInfo(
            type=postal.type,
            name=base.name if postal.name is None else postal.name,
            org=base.org if postal.org is None else (postal.org or None),
            addr=base.addr if postal.addr is None else postal.addr,
        )
    _require_ascii_int(forms.get("int"))
    given = forms.get("loc") or forms["int"]
    addr = given.addr
    street = [*addr.street[:3], None, None, None][:3]
    return {
        "postal_type": given.type,
        "name": given.name,
        "org": given.org,
        "street1": street[0],
        "street2": street[1],
        "street3": street[2],
        "city": addr.city,
        "sp": addr.sp or None,
        "pc": addr.pc or None,
        "cc": addr.cc,
        "int_form": postal_text(forms.get("int")) if given.type == "loc" else None,
    }


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
